// Client logic against an in-process fake daemon: dedupe by seq, resume after a drop,
// thread/resyncRequired, retries, server requests. The real-daemon tests cover the same paths
// end to end; these pin the edge cases.
import assert from "node:assert/strict";
import { test } from "node:test";

import { AgentdClient, ClientClosedError, ConnectionLostError, elicitationAnswer } from "../src/index.js";
import { FakeDaemon, fakeThread, notification, tick } from "./fake.js";

const quiet = { log: () => {}, reconnect: { initialDelayMs: 1, maxDelayMs: 5 } };

function delta(seq: number, text: string): unknown {
  return notification("item/agentMessage/delta", { seq, threadId: "t1", turnId: "u1", itemId: "i1", delta: text });
}

test("drops notifications whose seq was already seen; passes others' through", async () => {
  const fake = new FakeDaemon();
  fake.answer = (_c, req) => (req.method === "thread/resume" ? { thread: fakeThread("t1", 3) } : {});
  const client = await AgentdClient.connect(fake.connector, quiet);
  await client.resumeThread("t1");
  assert.equal(client.lastSeq("t1"), 3);
  const seen: number[] = [];
  client.on("item/agentMessage/delta", (p) => seen.push(p.seq));
  for (const seq of [2, 3, 4, 4, 5, 3, 6]) fake.last.push(delta(seq, "x"));
  await tick();
  assert.deepEqual(seen, [4, 5, 6]);
  assert.equal(client.stats.duplicatesDropped, 4);
  await client.close();
});

test("after a drop it re-initializes and resumes every thread with afterSeq = last seen", async () => {
  const fake = new FakeDaemon();
  fake.answer = (_c, req) => {
    if (req.method === "initialize") return { protocolVersion: "1" };
    if (req.method === "thread/resume") return { thread: fakeThread(String(req.params.threadId), 10) };
    return {};
  };
  const client = await AgentdClient.connect(fake.connector, quiet);
  await client.resumeThread("t1");
  fake.last.push(delta(11, "a"));
  fake.last.push(delta(12, "b"));
  await tick();
  fake.last.drop();
  await tick(30);
  assert.equal(client.connectionState, "open");
  assert.equal(fake.connections.length, 2);
  const second = fake.last.sent.map((m) => m.method);
  assert.deepEqual(second.slice(0, 3), ["initialize", "initialized", "thread/resume"]);
  assert.deepEqual(fake.last.sent[2]!.params, { threadId: "t1", afterSeq: 12, excludeTurns: true });
  assert.equal(client.stats.reconnects, 1);
  await client.close();
});

test("thread/resyncRequired triggers one resume from the last seen seq", async () => {
  const fake = new FakeDaemon();
  fake.answer = (_c, req) => (req.method === "thread/resume" ? { thread: fakeThread("t1", 5) } : {});
  const client = await AgentdClient.connect(fake.connector, quiet);
  await client.resumeThread("t1");
  fake.last.push(delta(6, "a"));
  fake.last.push(notification("thread/resyncRequired", { threadId: "t1", afterSeq: 6, seq: 20 }));
  await tick();
  const resumes = fake.requests("thread/resume");
  assert.equal(resumes.length, 2);
  assert.deepEqual(resumes[1]!.params, { threadId: "t1", afterSeq: 6, excludeTurns: true });
  assert.equal(client.stats.resyncs, 1);
  await client.close();
});

test("in-flight turn/start is re-sent with the same clientRequestId; thread/start fails with ConnectionLostError", async () => {
  const fake = new FakeDaemon();
  let hold = true;
  fake.answer = (_c, req) => {
    if (req.method === "initialize") return { protocolVersion: "1" };
    if (hold && (req.method === "turn/start" || req.method === "thread/start")) return undefined;
    if (req.method === "turn/start") return { turn: { id: "u1", status: "inProgress", items: [] } };
    return {};
  };
  const client = await AgentdClient.connect(fake.connector, quiet);
  const turn = client.startTurn("t1", "hi");
  const start = client.startThread({});
  await tick();
  hold = false;
  fake.last.drop();
  await assert.rejects(start, ConnectionLostError);
  const result = await turn;
  assert.equal(result.turn.id, "u1");
  const sends = fake.requests("turn/start");
  assert.equal(sends.length, 2);
  const ids = sends.map((m) => (m.params as { clientRequestId: string }).clientRequestId);
  assert.ok(ids[0]);
  assert.equal(ids[0], ids[1], "the retry is recognisable as the same request");
  await client.close();
});

test("server requests: the handler's answer is sent; a resolved notification aborts a pending one", async () => {
  const fake = new FakeDaemon();
  const client = await AgentdClient.connect(fake.connector, quiet);
  let signal: AbortSignal | undefined;
  client.onServerRequest("item/commandExecution/requestApproval", (params, ctx) => {
    if (params.command === "fast") return { decision: "accept" };
    signal = ctx.signal;
    return new Promise(() => {});
  });
  const base = { threadId: "t1", turnId: "u1", itemId: "c", startedAtMs: 1, cwd: "/", reason: null };
  fake.last.push({ jsonrpc: "2.0", id: 7, method: "item/commandExecution/requestApproval", params: { ...base, command: "fast" } });
  fake.last.push({ jsonrpc: "2.0", id: 8, method: "item/commandExecution/requestApproval", params: { ...base, itemId: "c2", command: "slow" } });
  await tick();
  assert.deepEqual(fake.last.sent.find((m) => m.id === 7), { jsonrpc: "2.0", id: 7, result: { decision: "accept" } });
  assert.equal(client.pendingServerRequests().length, 1);
  fake.last.push(notification("serverRequest/resolved", { threadId: "t1", requestId: 8, decision: "decline", resolvedBy: { clientName: "other" }, seq: 4 }));
  await tick();
  assert.ok(signal?.aborted);
  assert.equal(client.pendingServerRequests().length, 0);
  assert.equal(fake.last.sent.find((m) => m.id === 8), undefined, "nothing is sent for a request another client answered");
  // An unknown server request is answered -32601 (every request gets an answer).
  fake.last.push({ jsonrpc: "2.0", id: 9, method: "item/tool/call", params: {} });
  await tick();
  assert.equal((fake.last.sent.find((m) => m.id === 9)?.error as { code: number }).code, -32601);
  await client.close();
});

test("elicitations reach handlers and pendingElicitations(); a thread's startup status is never dropped as old", async () => {
  const fake = new FakeDaemon();
  fake.answer = (_c, req) => (req.method === "thread/resume" ? { thread: fakeThread("t1", 5) } : {});
  const client = await AgentdClient.connect(fake.connector, quiet);
  await client.resumeThread("t1");
  const params = {
    threadId: "t1", turnId: "u1", serverName: "mock", mode: "form", message: "Allow?",
    requestedSchema: { type: "object", properties: { remember: { type: "boolean" } } },
    _meta: { "agentd/toolApproval": { server: "mock", tool: "write", arguments: {}, itemId: "m1" } },
  };
  fake.last.push({ jsonrpc: "2.0", id: 3, method: "mcpServer/elicitation/request", params });
  await tick();
  const pending = client.pendingElicitations("t1");
  assert.equal(pending.length, 1);
  assert.equal(client.pendingElicitations("t2").length, 0);
  const [p] = client.pendingServerRequests();
  assert.ok(p && p.method === "mcpServer/elicitation/request");
  p.respond(elicitationAnswer.approveForSession());
  await tick();
  assert.deepEqual(fake.last.sent.find((m) => m.id === 3), { jsonrpc: "2.0", id: 3, result: { action: "accept", content: { remember: true } } });
  assert.equal(client.pendingElicitations().length, 0);
  // With a handler, the handler answers.
  client.onServerRequest("mcpServer/elicitation/request", () => elicitationAnswer.decline());
  fake.last.push({ jsonrpc: "2.0", id: 4, method: "mcpServer/elicitation/request", params });
  await tick();
  assert.deepEqual(fake.last.sent.find((m) => m.id === 4)?.result, { action: "decline" });

  const statuses: string[] = [];
  client.on("mcpServer/startupStatus/updated", (s) => statuses.push(s.status));
  fake.last.push(notification("mcpServer/startupStatus/updated", { seq: 0, threadId: "t1", name: "mine", status: "ready", error: null }));
  await tick();
  assert.deepEqual(statuses, ["ready"]);
  assert.equal(client.stats.duplicatesDropped, 0);
  assert.equal(client.lastSeq("t1"), 5);
  await client.close();
});

test("gives up after maxAttempts and fails queued requests", async () => {
  const fake = new FakeDaemon();
  const client = await AgentdClient.connect(fake.connector, { log: () => {}, reconnect: { initialDelayMs: 1, maxDelayMs: 2, maxAttempts: 3 } });
  fake.refuse = true;
  fake.last.drop();
  await tick();
  const queued = client.request("thread/list", {});
  await assert.rejects(queued, ClientClosedError);
  assert.equal(client.connectionState, "closed");
});
