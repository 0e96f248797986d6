// Compile-time checks: the client's methods are typed by the generated protocol unions. If the
// bindings stop narrowing, `tsc` fails (the runtime part of this file is trivial).
import assert from "node:assert/strict";
import { test } from "node:test";

import type { AgentdClient, ClientRequestResults, ThreadItem } from "../src/index.js";

export function typed(client: AgentdClient): void {
  void client.request("thread/start", { cwd: null, approvalPolicy: "untrusted" }).then((r) => r.thread.id.toUpperCase());
  void client.request("turn/interrupt", { threadId: "t", turnId: "u" });
  // @ts-expect-error: unknown method
  void client.request("thread/nope", {});
  // @ts-expect-error: missing threadId
  void client.request("turn/start", { input: [] });
  // @ts-expect-error: wrong enum value
  void client.request("thread/start", { approvalPolicy: "sometimes" });
  client.on("item/agentMessage/delta", (p) => p.delta.length + p.seq);
  // @ts-expect-error: deltas have no `turn`
  client.on("item/agentMessage/delta", (p) => p.turn);
  client.on("turn/completed", (p) => p.turn.status === "interrupted");
  client.onServerRequest("item/commandExecution/requestApproval", (p) => ({ decision: p.command ? "accept" : "decline" }));
  // @ts-expect-error: not a decision
  client.onServerRequest("item/fileChange/requestApproval", () => ({ decision: "maybe" }));
  client.onServerRequest("mcpServer/elicitation/request", (p) => (p.mode === "url" ? { action: "decline" } : { action: "accept", content: {} }));
  // @ts-expect-error: elicitations are answered with an action, not a decision
  client.onServerRequest("mcpServer/elicitation/request", () => ({ decision: "accept" }));
  for (const r of client.pendingServerRequests()) {
    if (r.method === "mcpServer/elicitation/request") r.respond({ action: "cancel" });
    // @ts-expect-error: a command approval does not take an elicitation answer
    else if (r.method === "item/commandExecution/requestApproval") r.respond({ action: "cancel" });
  }
  void client.listMcpServerStatus({ serverName: "x" }).then((r) => r.data.map((s) => s.runtimeStatus));
  void client.request("config/mcpServer/reload", {});
}

export function narrow(item: ThreadItem, r: ClientRequestResults["thread/list"]): string {
  if (item.type === "commandExecution") return item.command + String(r.data.length);
  if (item.type === "mcpToolCall") return `${item.server}.${item.tool} ${item.status}`;
  return item.id;
}

test("the typed surface compiles", () => {
  assert.equal(typeof typed, "function");
});
