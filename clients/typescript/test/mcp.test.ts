// MCP tools through the SDK, against the real daemon, the mock model and `mock-mcp stdio`:
// `mcpToolCall` items folded by the reducer, tool approvals and a server's own question
// (`mcpServer/elicitation/request`) answered with the typed helpers, and the MCP requests.
import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import {
  elicitationAnswer,
  elicitationContent,
  elicitationFields,
  mcpResultText,
  mcpToolApproval,
  type McpServerStatusUpdatedNotification,
  type McpToolCallItem,
  type PendingElicitation,
  type ServerRequestResolvedNotification,
  type ThreadItem,
  type TurnState,
} from "../src/index.js";
import { connectNodeWebSocket } from "../src/node.js";
import { mcpCallAnswer, messageAnswer, mockMcpConfig, sleep, startDaemon, startMock, tempDir, type Daemon, type Mock } from "./harness.js";

function mcpItems(turn: TurnState): McpToolCallItem[] {
  return turn.items.filter((i): i is Extract<ThreadItem, { type: "mcpToolCall" }> => i.type === "mcpToolCall");
}

async function nextPending(list: () => PendingElicitation[], timeoutMs = 15_000): Promise<PendingElicitation> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const first = list()[0];
    if (first) return first;
    if (Date.now() > deadline) throw new Error(`no elicitation pending within ${timeoutMs} ms`);
    await sleep(10);
  }
}

describe("MCP tool approvals (approval_policy untrusted)", () => {
  let mock: Mock;
  let daemon: Daemon;
  // Where `write` writes: absolute paths, known before the script is written.
  const out = tempDir("mcp-out");
  const fileA = join(out, "a.txt");
  const fileB = join(out, "b.txt");
  before(async () => {
    mock = await startMock([
      // Turn 1: approved for the session.
      mcpCallAnswer("w1", "write", { path: fileA, text: "first" }),
      messageAnswer(["wrote a"]),
      // Turn 2: the same tool, not asked again.
      mcpCallAnswer("w2", "write", { path: fileB, text: "second" }),
      messageAnswer(["wrote b"]),
    ]);
    daemon = await startDaemon(mock.url, { approvals: true, configToml: mockMcpConfig() });
  });
  after(async () => {
    await daemon?.stop();
    await mock?.stop();
    rmSync(out, { recursive: true, force: true });
  });

  test("approveForSession: the call runs, resolved says acceptForSession, the tool is not asked about again", async () => {
    const client = await connectNodeWebSocket(daemon.url, { token: daemon.token, clientInfo: { name: "mcp-approver", version: "1" } });
    try {
      const asked: Array<{ server: string; tool: string; args: unknown; itemId: string | null; fields: string[] }> = [];
      client.onServerRequest("mcpServer/elicitation/request", (params) => {
        const call = mcpToolApproval(params);
        assert.ok(call, "agentd's own approval carries _meta[agentd/toolApproval]");
        asked.push({ ...call, args: call.arguments, fields: elicitationFields(params).map((f) => `${f.name}:${f.type}`) });
        return elicitationAnswer.approveForSession();
      });
      const resolved: ServerRequestResolvedNotification[] = [];
      client.on("serverRequest/resolved", (p) => resolved.push(p));
      const { thread } = await client.startThread({ cwd: daemon.workspace });

      const t1 = await client.runTurn(thread.id, "write a", {}, 30_000);
      assert.equal(t1.status, "completed");
      assert.equal(asked.length, 1);
      assert.equal(asked[0]!.server, "mock");
      assert.equal(asked[0]!.tool, "write");
      assert.deepEqual(asked[0]!.args, { path: fileA, text: "first" });
      assert.deepEqual(asked[0]!.fields, ["remember:boolean"]);
      assert.equal(resolved.length, 1);
      assert.equal(resolved[0]!.decision, "acceptForSession");
      assert.equal(resolved[0]!.resolvedBy.clientName, "mcp-approver");
      const [item] = mcpItems(t1);
      assert.ok(item, "the reducer folded the mcpToolCall item");
      assert.equal(item.id, asked[0]!.itemId, "the approval names the item the call became");
      assert.equal(item.status, "completed");
      assert.equal(item.server, "mock");
      assert.equal(item.tool, "write");
      assert.deepEqual(item.arguments, { path: fileA, text: "first" });
      assert.equal(item.error, null);
      assert.ok(typeof item.durationMs === "number");
      assert.equal(readFileSync(fileA, "utf8"), "first");

      const t2 = await client.runTurn(thread.id, "write b", {}, 30_000);
      assert.equal(t2.status, "completed");
      assert.equal(asked.length, 1, "remembered for the thread: not asked again");
      assert.equal(mcpItems(t2)[0]?.status, "completed");
      assert.equal(readFileSync(fileB, "utf8"), "second");
    } finally {
      await client.close();
    }
  });
});

describe("MCP elicitations answered from pendingElicitations()", () => {
  let mock: Mock;
  let daemon: Daemon;
  before(async () => {
    mock = await startMock([
      // Turn 1: declined by one client; the observer's copy is withdrawn.
      mcpCallAnswer("e1", "echo", { text: "hello" }),
      messageAnswer(["told no"]),
      // Turn 2: the server's own question, after the tool approval.
      mcpCallAnswer("a1", "ask", {}),
      messageAnswer(["asked"]),
      // Turn 3: cancel interrupts the turn.
      mcpCallAnswer("e2", "echo", { text: "again" }),
    ]);
    daemon = await startDaemon(mock.url, { approvals: true, configToml: mockMcpConfig() });
  });
  after(async () => {
    await daemon?.stop();
    await mock?.stop();
  });

  test("decline: the item fails, the model carries on, an observer's pending copy is withdrawn", async () => {
    const answerer = await connectNodeWebSocket(daemon.url, { token: daemon.token, clientInfo: { name: "answerer", version: "1" } });
    const observer = await connectNodeWebSocket(daemon.url, { token: daemon.token, clientInfo: { name: "observer", version: "1" } });
    try {
      const { thread } = await answerer.startThread({ cwd: daemon.workspace });
      await observer.resumeThread(thread.id);
      const { turn } = await answerer.startTurn(thread.id, "echo hello");

      const ask = await nextPending(() => answerer.pendingElicitations(thread.id));
      assert.equal(ask.params.threadId, thread.id);
      assert.equal(ask.params.turnId, turn.id);
      assert.equal(ask.params.serverName, "mock");
      assert.equal(ask.params.mode, "form");
      const call = mcpToolApproval(ask.params);
      assert.deepEqual(call && { tool: call.tool, args: call.arguments }, { tool: "echo", args: { text: "hello" } });
      const seen = await nextPending(() => observer.pendingElicitations(thread.id));
      assert.equal(observer.pendingElicitations("another-thread").length, 0);

      ask.respond(elicitationAnswer.decline());
      const done = await answerer.waitForTurn(thread.id, turn.id, 30_000);
      assert.equal(done.status, "completed");
      const [item] = mcpItems(done);
      assert.equal(item?.status, "failed");
      assert.match(item?.error?.message ?? "", /declined/);
      await observer.waitForTurn(thread.id, turn.id, 5000);
      assert.ok(seen.signal.aborted, "the observer's copy was withdrawn");
      assert.equal(observer.pendingElicitations().length, 0);
      // The observer folded the same item.
      assert.deepEqual(mcpItems(observer.thread(thread.id)!.turns.at(-1)!), mcpItems(done));
    } finally {
      await answerer.close();
      await observer.close();
    }
  });

  test("a server's own form: fields read from the schema, answered with submit(content)", async () => {
    const client = await connectNodeWebSocket(daemon.url, { token: daemon.token });
    try {
      const { thread } = await client.startThread({ cwd: daemon.workspace });
      const { turn } = await client.startTurn(thread.id, "ask me");
      // First agentd's approval of the `ask` call (untrusted asks about every tool).
      const approval = await nextPending(() => client.pendingElicitations(thread.id));
      assert.equal(mcpToolApproval(approval.params)?.tool, "ask");
      approval.respond(elicitationAnswer.approve());
      // Then the server's own question.
      const question = await nextPending(() => client.pendingElicitations(thread.id).filter((r) => r.id !== approval.id));
      assert.equal(mcpToolApproval(question.params), null, "a server's question is not a tool approval");
      assert.equal(question.params.mode, "form");
      assert.equal(question.params.mode === "form" ? question.params.message : "", "What is your name?");
      const fields = elicitationFields(question.params);
      assert.deepEqual(fields.map((f) => [f.name, f.type]), [["name", "string"]]);
      const typed = elicitationContent(fields, { name: "  Ada " });
      assert.ok("content" in typed, JSON.stringify(typed));
      question.respond(elicitationAnswer.submit(typed.content));

      const done = await client.waitForTurn(thread.id, turn.id, 30_000);
      assert.equal(done.status, "completed");
      const [item] = mcpItems(done);
      assert.equal(item?.status, "completed");
      assert.equal(mcpResultText(item?.result ?? null), 'answer: accept {"name":"Ada"}');
    } finally {
      await client.close();
    }
  });

  test("cancel interrupts the turn", async () => {
    const client = await connectNodeWebSocket(daemon.url, { token: daemon.token });
    try {
      client.onServerRequest("mcpServer/elicitation/request", () => elicitationAnswer.cancel());
      const { thread } = await client.startThread({ cwd: daemon.workspace });
      const done = await client.runTurn(thread.id, "echo again", {}, 30_000);
      assert.equal(done.status, "interrupted");
    } finally {
      await client.close();
    }
  });
});

describe("MCP server status and reload", () => {
  let mock: Mock;
  let daemon: Daemon;
  before(async () => {
    mock = await startMock([]);
    daemon = await startDaemon(mock.url, { configToml: mockMcpConfig() });
  });
  after(async () => {
    await daemon?.stop();
    await mock?.stop();
  });

  test("mcpServerStatus/list lists mock's tools; config/mcpServer/reload restarts it and says so", async () => {
    const client = await connectNodeWebSocket(daemon.url, { token: daemon.token });
    try {
      const updates: McpServerStatusUpdatedNotification[] = [];
      client.on("mcpServer/startupStatus/updated", (p) => updates.push(p));
      const deadline = Date.now() + 15_000;
      let status = (await client.listMcpServerStatus()).data;
      while (status.find((s) => s.name === "mock")?.runtimeStatus !== "connected" && Date.now() < deadline) {
        await sleep(50);
        status = (await client.listMcpServerStatus({ serverName: "mock" })).data;
      }
      const mockStatus = status.find((s) => s.name === "mock");
      assert.ok(mockStatus, JSON.stringify(status));
      assert.equal(mockStatus.runtimeStatus, "connected");
      for (const tool of ["echo", "write", "ask"]) assert.ok(mockStatus.tools[tool], `tool ${tool} listed`);
      assert.equal(mockStatus.serverInfo?.name !== undefined, true);

      assert.deepEqual(await client.reloadMcpServers(), {});
      const ready = await client.waitFor("mcpServer/startupStatus/updated", (p) => p.name === "mock" && p.status === "ready", 15_000);
      assert.equal(ready.error, null);
      assert.ok(updates.some((u) => u.status === "starting"), JSON.stringify(updates));
    } finally {
      await client.close();
    }
  });
});
