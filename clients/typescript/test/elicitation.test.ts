// The elicitation helpers on their own: telling a tool approval from a server's question,
// reading a form's fields, turning typed text into content, and the typed answers.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  elicitationAnswer,
  elicitationContent,
  elicitationFields,
  mcpToolApproval,
  type McpServerElicitationRequestParams,
} from "../src/index.js";

const approval: McpServerElicitationRequestParams = {
  threadId: "t",
  turnId: "u",
  serverName: "mock",
  mode: "form",
  message: "Allow mock.write?",
  requestedSchema: { type: "object", properties: { remember: { type: "boolean", title: "Don't ask again" } } },
  _meta: { "agentd/toolApproval": { server: "mock", tool: "write", arguments: { path: "a" }, itemId: "i1" } },
};

const form: McpServerElicitationRequestParams = {
  threadId: "t",
  turnId: null,
  serverName: "srv",
  mode: "form",
  message: "Tell me",
  requestedSchema: {
    type: "object",
    properties: {
      name: { type: "string", title: "Name" },
      age: { type: "integer" },
      ratio: { type: "number", default: 0.5 },
      colour: { type: "string", enum: ["red", "green"] },
      ok: { type: "boolean", default: true },
      nested: { type: "object" },
      junk: 3,
    },
    required: ["name", "age"],
  },
};

test("mcpToolApproval reads agentd's _meta and nothing else", () => {
  assert.deepEqual(mcpToolApproval(approval), { server: "mock", tool: "write", arguments: { path: "a" }, itemId: "i1" });
  assert.equal(mcpToolApproval(form), null);
  assert.equal(mcpToolApproval({ ...approval, _meta: { "agentd/toolApproval": { server: 1, tool: "x" } } }), null);
  assert.equal(mcpToolApproval({ ...approval, _meta: "nonsense" }), null);
  const url: McpServerElicitationRequestParams = { threadId: "t", turnId: null, serverName: "s", mode: "url", message: "go", url: "https://example.invalid", elicitationId: "e" };
  assert.equal(mcpToolApproval(url), null);
  assert.deepEqual(elicitationFields(url), []);
});

test("elicitationFields keeps primitive fields in order with their details", () => {
  const fields = elicitationFields(form);
  assert.deepEqual(fields.map((f) => [f.name, f.type, f.required]), [
    ["name", "string", true],
    ["age", "integer", true],
    ["ratio", "number", false],
    ["colour", "string", false],
    ["ok", "boolean", false],
  ]);
  assert.equal(fields[0]!.title, "Name");
  assert.deepEqual(fields[3]!.options, ["red", "green"]);
  assert.equal(fields[2]!.defaultValue, 0.5);
  assert.equal(fields[4]!.defaultValue, true);
});

test("elicitationContent converts and checks what a person typed", () => {
  const fields = elicitationFields(form);
  assert.deepEqual(elicitationContent(fields, { name: " Ada ", age: "36", ratio: "", colour: "red", ok: false }), {
    content: { name: "Ada", age: 36, colour: "red", ok: false },
  });
  assert.deepEqual(elicitationContent(fields, { name: "", age: "1" }), { error: "Name is required" });
  assert.deepEqual(elicitationContent(fields, { name: "x", age: "1.5" }), { error: "age must be a whole number" });
  assert.deepEqual(elicitationContent(fields, { name: "x", age: "1", ratio: "abc" }), { error: "ratio must be a number" });
  assert.deepEqual(elicitationContent(fields, { name: "x", age: "1", colour: "blue" }), { error: "colour must be one of red, green" });
  assert.deepEqual(elicitationContent(fields, { name: "x", age: "2", ok: "true" }), { content: { name: "x", age: 2, ok: true } });
});

test("the typed answers", () => {
  assert.deepEqual(elicitationAnswer.approve(), { action: "accept" });
  assert.deepEqual(elicitationAnswer.approveForSession(), { action: "accept", content: { remember: true } });
  assert.deepEqual(elicitationAnswer.decline(), { action: "decline" });
  assert.deepEqual(elicitationAnswer.cancel(), { action: "cancel" });
  assert.deepEqual(elicitationAnswer.submit({ name: "Ada" }), { action: "accept", content: { name: "Ada" } });
});
