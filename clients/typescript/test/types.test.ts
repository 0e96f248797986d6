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
}

export function narrow(item: ThreadItem, r: ClientRequestResults["thread/list"]): string {
  if (item.type === "commandExecution") return item.command + String(r.data.length);
  return item.id;
}

test("the typed surface compiles", () => {
  assert.equal(typeof typed, "function");
});
