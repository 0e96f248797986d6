// A full turn against the real daemon and the mock model, over each transport.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { AgentdClient, RpcError, turnAgentText, type ServerNotification } from "../src/index.js";
import { connectNodeWebSocket, connectStdio, nodeWebSocketConnector } from "../src/node.js";
import { agentdBin, waitIdle, messageAnswer, mockConfigArgs, range1, seqRecorder, startDaemon, startMock, tempDir, type Daemon, type Mock } from "./harness.js";

const CHUNKS = ["Hello", " there", ",", " how", " are", " you", " today", "?"];

describe("a full turn over WebSocket", () => {
  let mock: Mock;
  let daemon: Daemon;
  before(async () => {
    mock = await startMock([messageAnswer(CHUNKS, 5), messageAnswer(["Second", " answer"]), messageAnswer(["Third"])]);
    daemon = await startDaemon(mock.url);
  });
  after(async () => {
    await daemon?.stop();
    await mock?.stop();
  });

  test("the daemon printed a token and refuses a client without it", async () => {
    assert.ok(daemon.token, `expected a token on the listening line: ${daemon.stderr()}`);
    const bare = new AgentdClient(nodeWebSocketConnector(daemon.url), { reconnect: false });
    await assert.rejects(bare.connect(), /401|Unexpected server response|failed/);
  });

  test("the reducer's text equals the deltas and the completed item (Bearer header)", async () => {
    const client = await connectNodeWebSocket(daemon.url, { token: daemon.token, clientInfo: { name: "ts-test", version: "0" } });
    try {
      assert.equal(client.serverInfo?.protocolVersion, "1");
      const rec = seqRecorder();
      client.on("*", rec.record);
      const deltas: string[] = [];
      client.on("item/agentMessage/delta", (p) => deltas.push(p.delta));
      const completed: string[] = [];
      client.on("item/completed", (p) => {
        if (p.item.type === "agentMessage") completed.push(p.item.text);
      });
      const turnMethods: string[] = [];
      client.on("*", (n: ServerNotification) => {
        if (n.method.startsWith("turn/")) turnMethods.push(n.method);
      });

      const { thread } = await client.startThread({ cwd: daemon.workspace });
      const turn = await client.runTurn(thread.id, "hi", {}, 20_000);

      assert.equal(turn.status, "completed");
      assert.deepEqual(deltas, CHUNKS);
      const text = CHUNKS.join("");
      assert.deepEqual(completed, [text]);
      assert.equal(turnAgentText(turn), text);
      const agentItems = turn.items.filter((i) => i.type === "agentMessage");
      assert.equal(agentItems.length, 1);
      const user = turn.items.find((i) => i.type === "userMessage");
      assert.ok(user && user.type === "userMessage");
      assert.deepEqual(user.content, [{ type: "text", text: "hi" }]);
      assert.deepEqual(turnMethods, ["turn/started", "turn/completed"]);

      // Wait for the idle status that follows turn/completed, then check the sequence.
      await waitIdle(client, thread.id);
      const { thread: read } = await client.request("thread/read", { threadId: thread.id, includeTurns: true });
      const seqs = rec.seqs.get(thread.id) ?? [];
      assert.deepEqual(seqs, range1(read.lastSeq), "every event once, in order, from thread/started on");
      assert.equal(client.lastSeq(thread.id), read.lastSeq);
      assert.equal(client.thread(thread.id)?.lastSeq, read.lastSeq);
      // The folded state matches the daemon's own account of the thread.
      const folded = client.thread(thread.id)!;
      assert.equal(folded.status.type, "idle");
      assert.equal(folded.turns.length, 1);
      assert.deepEqual(folded.turns[0]!.items, read.turns[0]!.items);
      assert.ok(folded.tokenUsage && folded.tokenUsage.total.totalTokens > 0);
    } finally {
      await client.close();
    }
  });

  test("a second client resumes the thread, sees its turns, and follows the next turn (subprotocol token)", async () => {
    const a = await connectNodeWebSocket(daemon.url, { token: daemon.token });
    const b = await connectNodeWebSocket(daemon.url, { token: daemon.token, tokenVia: "subprotocol" });
    try {
      const { thread } = await a.startThread({ cwd: daemon.workspace });
      await a.runTurn(thread.id, "one", {}, 20_000);
      const resumed = await b.resumeThread(thread.id);
      assert.equal(resumed.thread.turns.length, 1);
      assert.equal(b.thread(thread.id)?.turns.length, 1);
      assert.equal(turnAgentText(b.thread(thread.id)!.turns[0]!), "Second answer");

      const bSaw = b.waitFor("turn/completed", (p) => p.threadId === thread.id, 20_000);
      const turn = await a.runTurn(thread.id, "two", {}, 20_000);
      const done = await bSaw;
      assert.equal(done.turn.id, turn.id);
      const bTurn = b.thread(thread.id)!.turns[1]!;
      assert.equal(turnAgentText(bTurn), "Third");
      assert.deepEqual(bTurn.items, turn.items, "both clients fold the same turn");
    } finally {
      await a.close();
      await b.close();
    }
  });

  test("errors come back as RpcError with the protocol's code", async () => {
    const client = await connectNodeWebSocket(daemon.url, { token: daemon.token });
    try {
      await assert.rejects(client.request("thread/read", { threadId: "no-such-thread" }), (e: unknown) => {
        assert.ok(e instanceof RpcError);
        assert.equal(e.code, -32004);
        return true;
      });
    } finally {
      await client.close();
    }
  });
});

describe("a full turn over stdio", () => {
  let mock: Mock;
  before(async () => {
    mock = await startMock([messageAnswer(["Over", " stdio", " too"]), messageAnswer(["After", " a", " restart"])]);
  });
  after(async () => {
    await mock?.stop();
  });

  test("spawns agentd serve on stdio and runs a turn", async () => {
    const dir = tempDir("stdio");
    const client = await connectStdio({
      bin: agentdBin,
      args: ["--data-dir", `${dir}/data`, ...mockConfigArgs(mock.url)],
      env: { ...process.env, XDG_CONFIG_HOME: `${dir}/config`, RUST_LOG: "warn" },
      cwd: dir,
      stderr: "ignore",
    });
    try {
      const rec = seqRecorder();
      client.on("*", rec.record);
      const { thread } = await client.startThread({ cwd: dir });
      const turn = await client.runTurn(thread.id, "hi", {}, 20_000);
      assert.equal(turn.status, "completed");
      assert.equal(turnAgentText(turn), "Over stdio too");
      const seqs = rec.seqs.get(thread.id)!;
      assert.deepEqual(seqs, range1(seqs.length));

      // Killing the daemon is a dropped connection: the client spawns a new one over the same
      // data directory and resumes the thread where it was.
      client.debugDropConnection();
      const second = await client.runTurn(thread.id, "again", {}, 20_000);
      assert.equal(client.stats.reconnects, 1);
      assert.equal(turnAgentText(second), "After a restart");
      assert.equal(client.thread(thread.id)!.turns.length, 2);
      const { thread: read } = await client.request("thread/read", { threadId: thread.id });
      await waitIdle(client, thread.id);
      const all = rec.seqs.get(thread.id)!;
      assert.deepEqual(all, range1(all.length));
      assert.ok(all.length <= read.lastSeq + 1);
    } finally {
      await client.close();
    }
  });
});
