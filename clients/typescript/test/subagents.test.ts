// Sub-agents against the real daemon: the parent's model spawns a child (`spawn_agent`), and a
// client of the parent sees the child's thread/started and events under the child's id, keeps
// them apart, places the child under its parent, answers the child's approval, lists the
// children, and replays a child after a dropped connection.
//
// The mock model answers requests in arrival order (FIFO), and the parent's request after the
// spawn races the child's first one. So the two answers after the spawn have the same shape
// (both a shell call, or both a long message): whichever thread gets which, each does the same.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { parentThreadId, type ThreadItem } from "../src/index.js";
import { connectNodeWebSocket } from "../src/node.js";
import { messageAnswer, range1, seqRecorder, shellCallAnswer, sleep, startDaemon, startMock, waitIdle, type Daemon, type Mock } from "./harness.js";

function spawnAnswer(callId: string, message: string): unknown {
  return { responses: [{ function_call: { call_id: callId, name: "spawn_agent", arguments: { message } } }, { completed: {} }] };
}

const WORDS = Array.from({ length: 40 }, (_, i) => `w${i} `);

async function until(what: string, ok: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(10);
  }
}

describe("sub-agents", () => {
  let mock: Mock;
  let daemon: Daemon;
  before(async () => {
    mock = await startMock([
      // Test 1: a spawn, then a shell call each (parent and child), then a message each.
      spawnAnswer("s1", "CHILD-A: make a file"),
      shellCallAnswer("x1", ["touch", "one.txt"]),
      shellCallAnswer("x2", ["touch", "two.txt"]),
      messageAnswer(["done", " here"]),
      messageAnswer(["done", " here"]),
      // Test 2: a spawn, then a long stream each.
      spawnAnswer("s2", "CHILD-B: talk"),
      messageAnswer(WORDS, 15),
      messageAnswer(WORDS, 15),
    ]);
    daemon = await startDaemon(mock.url, { approvals: true });
  });
  after(async () => {
    await daemon?.stop();
    await mock?.stop();
  });

  test("a child under its parent: its own state, its approval under its own id, listed and read", async () => {
    const client = await connectNodeWebSocket(daemon.url, { token: daemon.token, clientInfo: { name: "parent-client", version: "1" } });
    try {
      const rec = seqRecorder();
      client.on("*", rec.record);
      const { thread: parent } = await client.startThread({ cwd: daemon.workspace });
      const { turn } = await client.startTurn(parent.id, "delegate");

      // Two commands ask, one in each thread; no handler: both wait in the pending list.
      await until("two approvals", () => client.pendingServerRequests().length === 2);
      const child = client.tree.childrenOf(parent.id)[0];
      assert.ok(child, "the child's thread/started placed it under its parent");
      assert.equal(parentThreadId(child), parent.id);
      assert.equal(client.tree.nickname(child.id), "ada");
      assert.equal(client.tree.role(child.id), "default");
      assert.equal(client.tree.depth(child.id), 1);
      const asks = client.pendingServerRequests();
      assert.deepEqual(asks.map((r) => r.threadId).sort(), [child.id, parent.id].sort());
      const childAsk = client.pendingServerRequests(child.id);
      assert.equal(childAsk.length, 1);
      assert.equal(childAsk[0]!.method, "item/commandExecution/requestApproval");
      assert.equal(client.pendingServerRequests(parent.id).length, 1);
      assert.equal(client.pendingServerRequests(parent.id, { descendants: true }).length, 2);

      // Opening the child (resuming it) makes the daemon ask again under a new id: the new
      // request replaces the first, so the child still has one question waiting.
      const firstId = childAsk[0]!.id;
      await client.resumeThread(child.id);
      await until("the child's question asked again", () => client.pendingServerRequests(child.id).some((r) => r.id !== firstId));
      assert.equal(client.pendingServerRequests(child.id).length, 1);
      assert.ok(childAsk[0]!.signal.aborted);
      const asks2 = client.pendingServerRequests();
      assert.equal(asks2.length, 2);
      for (const r of asks2) if (r.method === "item/commandExecution/requestApproval") r.respond({ decision: "accept" });

      await client.waitForTurn(parent.id, turn.id, 20_000);
      await waitIdle(client, child.id, 20_000);
      assert.ok(existsSync(join(daemon.workspace, "one.txt")) && existsSync(join(daemon.workspace, "two.txt")));

      // Each thread's items are its own.
      const items = (id: string): ThreadItem[] => client.thread(id)?.turns.flatMap((t) => t.items) ?? [];
      const parentItems = items(parent.id);
      const childItems = items(child.id);
      assert.deepEqual(childItems.map((i) => i.type), ["userMessage", "commandExecution", "agentMessage"]);
      const first = childItems[0];
      assert.ok(first?.type === "userMessage" && first.content[0]?.type === "text" && first.content[0].text === "CHILD-A: make a file");
      assert.deepEqual(parentItems.map((i) => i.type), ["userMessage", "collabAgentToolCall", "commandExecution", "agentMessage"]);
      const childIds = new Set(childItems.map((i) => i.id));
      assert.ok(parentItems.every((i) => !childIds.has(i.id)), "no child item in the parent");
      const spawn = parentItems[1];
      assert.ok(spawn?.type === "collabAgentToolCall");
      assert.equal(spawn.tool, "spawnAgent");
      assert.equal(spawn.status, "completed");
      assert.equal(spawn.senderThreadId, parent.id);
      assert.deepEqual(spawn.receiverThreadIds, [child.id]);
      assert.ok(spawn.agentsStates[child.id], "the spawn reports the child's state");

      // Every event of both threads once, in order, each under its own id.
      const readChild = await client.request("thread/read", { threadId: child.id });
      const readParent = await client.request("thread/read", { threadId: parent.id });
      assert.deepEqual(rec.seqs.get(child.id), range1(readChild.thread.lastSeq));
      assert.deepEqual(rec.seqs.get(parent.id), range1(readParent.thread.lastSeq));
      assert.deepEqual(readParent.childThreadIds, [child.id]);
      assert.deepEqual(client.tree.childIdsOf(parent.id), [child.id]);
      assert.deepEqual(client.subscribedThreads().map((s) => s.threadId).sort(), [child.id, parent.id].sort());

      const listed = await client.listChildren(parent.id);
      assert.deepEqual(listed.map((t) => t.id), [child.id]);
      assert.equal(parentThreadId(listed[0]!), parent.id);
      assert.deepEqual(await client.listChildren(child.id), []);

      // Another client resumes the parent later, then the children with their turns.
      const late = await connectNodeWebSocket(daemon.url, { token: daemon.token });
      try {
        await late.resumeThread(parent.id);
        const resumed = await late.resumeChildren(parent.id);
        assert.deepEqual(resumed.map((t) => t.id), [child.id]);
        assert.deepEqual(late.tree.childrenOf(parent.id).map((t) => t.id), [child.id]);
        assert.deepEqual(late.thread(child.id)?.turns.flatMap((t) => t.items).map((i) => i.type), ["userMessage", "commandExecution", "agentMessage"]);
      } finally {
        await late.close();
      }
    } finally {
      await client.close();
    }
  });

  test("a dropped connection mid-stream: parent and child each replayed exactly once", async () => {
    const client = await connectNodeWebSocket(daemon.url, { token: daemon.token });
    try {
      const rec = seqRecorder();
      client.on("*", rec.record);
      const { thread: parent } = await client.startThread({ cwd: daemon.workspace });
      let childId: string | null = null;
      let childDeltas = 0;
      let dropped = false;
      client.on("item/agentMessage/delta", (p) => {
        if (p.threadId !== childId) return;
        childDeltas += 1;
        if (childDeltas === 8 && !dropped) {
          dropped = true;
          client.debugDropConnection();
        }
      });
      client.on("thread/started", (p) => {
        if (parentThreadId(p.thread) === parent.id) childId = p.thread.id;
      });
      const { turn } = await client.startTurn(parent.id, "delegate and talk");
      await client.waitForTurn(parent.id, turn.id, 30_000);
      await until("the child", () => childId !== null);
      const child = childId as unknown as string;
      await waitIdle(client, child, 30_000);
      await waitIdle(client, parent.id, 30_000);
      assert.ok(dropped, "the connection was dropped while the child streamed");
      assert.equal(client.stats.reconnects, 1);

      for (const id of [parent.id, child]) {
        const { thread } = await client.request("thread/read", { threadId: id });
        assert.deepEqual(rec.seqs.get(id), range1(thread.lastSeq), `seqs of ${id === child ? "the child" : "the parent"}`);
      }
      const message = client.thread(child)?.turns[0]?.items.find((i) => i.type === "agentMessage");
      assert.ok(message?.type === "agentMessage");
      assert.equal(message.text, WORDS.join(""), "the child's message whole, nothing doubled");
    } finally {
      await client.close();
    }
  });
});
