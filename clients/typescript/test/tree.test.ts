// The thread tree without a daemon: sub-agents placed under their parent from `thread/started`
// and listed threads, nickname and role read from `source`, a child's events kept in its own
// state, its approvals listed under its own id, and a reconnect that replays a child only after
// its parent's resume (with the fake daemon of fake.ts).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  AgentdClient,
  agentNickname,
  agentRole,
  parentThreadId,
  threadSpawnSource,
  ThreadTree,
  threadTreeOrder,
  type ServerNotification,
  type Thread,
} from "../src/index.js";
import { FakeDaemon, fakeThread, notification, tick } from "./fake.js";

const quiet = { log: () => {}, reconnect: { initialDelayMs: 1, maxDelayMs: 5 } };

/** A thread as the daemon sends it; a sub-agent of `parent` when given (the daemon's shape). */
function thread(id: string, parent?: { id: string; nickname: string; depth?: number; createdAt?: number }): Thread {
  const t = fakeThread(id, 0) as unknown as Thread;
  if (!parent) return t;
  return {
    ...t,
    createdAt: parent.createdAt ?? 0,
    source: {
      subAgent: {
        thread_spawn: { parent_thread_id: parent.id, depth: parent.depth ?? 1, agent_nickname: parent.nickname, agent_role: "default" },
      },
    },
  };
}

function started(t: Thread, seq = 1): ServerNotification {
  return { method: "thread/started", params: { seq, thread: t } };
}

test("source accessors read a sub-agent's spawn and refuse anything else", () => {
  const child = thread("c1", { id: "p1", nickname: "ada" });
  assert.equal(parentThreadId(child), "p1");
  assert.equal(agentNickname(child), "ada");
  assert.equal(agentRole(child), "default");
  assert.equal(threadSpawnSource(child)?.depth, 1);
  for (const source of ["appServer", { custom: "x" }, { subAgent: "review" }, { subAgent: { thread_spawn: { depth: 1 } } }, null, 7]) {
    assert.equal(threadSpawnSource({ source } as unknown as Thread), null, JSON.stringify(source));
  }
});

test("the tree: children under their parent, oldest first, closed ones on request, ancestors and roots", () => {
  const tree = new ThreadTree();
  const changed: string[] = [];
  tree.subscribe((id) => changed.push(id));
  // A child seen before its parent still lands under it.
  assert.ok(tree.apply(started(thread("c2", { id: "p", nickname: "babbage", createdAt: 20 }))));
  tree.upsert(thread("p"), thread("c1", { id: "p", nickname: "ada", createdAt: 10 }), thread("g1", { id: "c1", nickname: "curie", depth: 2 }));
  tree.upsert(thread("other"));
  assert.deepEqual(tree.childrenOf("p").map((t) => t.id), ["c1", "c2"]);
  assert.deepEqual(tree.childrenOf("c1").map((t) => t.id), ["g1"]);
  assert.deepEqual(tree.childrenOf("other"), []);
  assert.equal(tree.parentOf("g1"), "c1");
  assert.equal(tree.parentOf("p"), null);
  assert.deepEqual(tree.ancestorsOf("g1"), ["c1", "p"]);
  assert.equal(tree.rootOf("g1"), "p");
  assert.equal(tree.rootOf("p"), "p");
  assert.ok(tree.isWithin("g1", "p") && tree.isWithin("p", "p") && !tree.isWithin("other", "p"));
  assert.deepEqual(tree.descendantsOf("p").map((t) => t.id), ["c1", "g1", "c2"]);
  assert.equal(tree.nickname("c2"), "babbage");
  assert.equal(tree.role("c2"), "default");
  assert.equal(tree.depth("g1"), 2);
  assert.equal(tree.depth("p"), 0);
  assert.ok(changed.includes("c2") && changed.includes("g1"));

  // Status, name and archive follow the notifications; a closed child leaves the open list.
  tree.apply({ method: "thread/status/changed", params: { seq: 3, threadId: "c1", status: { type: "active", activeFlags: ["waitingOnApproval"] } } });
  assert.deepEqual(tree.get("c1")?.status, { type: "active", activeFlags: ["waitingOnApproval"] });
  tree.apply({ method: "thread/archived", params: { seq: 9, threadId: "c2" } });
  assert.deepEqual(tree.childrenOf("p").map((t) => t.id), ["c1"]);
  assert.deepEqual(tree.childrenOf("p", { closed: true }).map((t) => t.id), ["c1", "c2"]);
  // `thread/read`'s childThreadIds: known by id before they are listed.
  tree.noteChildren("p", ["c1", "c2", "c3"]);
  assert.deepEqual(tree.childIdsOf("p"), ["c1", "c2", "c3"]);
  assert.equal(tree.apply({ method: "thread/status/changed", params: { seq: 1, threadId: "nobody", status: { type: "idle" } } }), false);
});

test("a cycle in what was sent cannot hang the walks", () => {
  const tree = new ThreadTree();
  tree.upsert(thread("a", { id: "b", nickname: "x" }), thread("b", { id: "a", nickname: "y" }));
  assert.deepEqual(tree.ancestorsOf("a"), ["b"]);
  assert.deepEqual(tree.descendantsOf("a").map((t) => t.id), ["b"]);
  assert.deepEqual(threadTreeOrder(tree.all()).map((e) => e.thread.id).sort(), ["a", "b"]);
});

test("threadTreeOrder: a list in tree order, children indented under their parent, orphans as roots", () => {
  const list = [
    thread("c1", { id: "p", nickname: "ada" }),
    thread("p"),
    thread("orphan", { id: "gone", nickname: "lost" }),
    thread("g1", { id: "c1", nickname: "curie", depth: 2 }),
    thread("q"),
  ];
  assert.deepEqual(
    threadTreeOrder(list).map((e) => `${"  ".repeat(e.depth)}${e.thread.id}`),
    ["p", "  c1", "    g1", "orphan", "q"],
  );
});

test("a child's events reaching a client of its parent are kept apart, followed, and its approvals carry its id", async () => {
  const fake = new FakeDaemon();
  fake.answer = (_c, req) => {
    if (req.method === "initialize") return { protocolVersion: "1" };
    if (req.method === "thread/start") return { thread: fakeThread("p", 0) };
    return {};
  };
  const client = await AgentdClient.connect(fake.connector, quiet);
  await client.startThread({});
  const conn = fake.last;
  const child = thread("c", { id: "p", nickname: "ada" });
  const user = { type: "userMessage", id: "u-c", content: [{ type: "text", text: "CHILD: go" }] };
  conn.push(notification("thread/started", { seq: 1, thread: fakeThread("p", 0) }));
  conn.push(notification("turn/started", { seq: 2, threadId: "p", turn: { id: "tp", status: "inProgress", items: [] } }));
  conn.push(notification("thread/started", { seq: 1, thread: child }));
  conn.push(notification("turn/started", { seq: 2, threadId: "c", turn: { id: "tc", status: "inProgress", items: [] } }));
  conn.push(notification("item/completed", { seq: 3, threadId: "c", turnId: "tc", completedAtMs: 1, item: user }));
  conn.push({ jsonrpc: "2.0", id: 7, method: "item/commandExecution/requestApproval", params: { threadId: "c", turnId: "tc", itemId: "x1", command: "touch f", cwd: "/w", reason: null, startedAtMs: 1 } });
  await tick();

  assert.deepEqual(client.tree.childrenOf("p").map((t) => t.id), ["c"]);
  assert.equal(client.tree.nickname("c"), "ada");
  const parentState = client.thread("p");
  const childState = client.thread("c");
  assert.deepEqual(parentState?.turns.map((t) => t.id), ["tp"]);
  assert.deepEqual(childState?.turns.map((t) => t.id), ["tc"]);
  assert.deepEqual(childState?.turns[0]?.items.map((i) => i.id), ["u-c"]);
  assert.equal(parentState?.turns[0]?.items.length, 0, "nothing of the child in the parent");
  assert.deepEqual(
    client.subscribedThreads().map((s) => [s.threadId, s.lastSeq]),
    [["p", 2], ["c", 3]],
    "the child is followed like a subscribed thread",
  );

  const [asked] = client.pendingServerRequests();
  assert.equal(asked?.threadId, "c");
  assert.equal(client.pendingServerRequests("c").length, 1);
  assert.equal(client.pendingServerRequests("p").length, 0, "not the parent's own");
  assert.equal(client.pendingServerRequests("p", { descendants: true }).length, 1, "but within its tree");
  await client.close();
});

test("after a drop a child is resumed only once its parent's resume is answered; its early live events come again in its replay", async () => {
  const fake = new FakeDaemon();
  let holdParent = false;
  fake.answer = (_c, req) => {
    if (req.method === "initialize") return { protocolVersion: "1" };
    if (req.method === "thread/start") return { thread: fakeThread("p", 0) };
    if (req.method === "thread/resume" && req.params.threadId === "p" && holdParent) return undefined;
    if (req.method === "thread/resume") return { thread: fakeThread(String(req.params.threadId), 0) };
    return {};
  };
  const client = await AgentdClient.connect(fake.connector, quiet);
  await client.startThread({});
  const d = (seq: number, text: string) =>
    notification("item/agentMessage/delta", { seq, threadId: "c", turnId: "tc", itemId: "m", delta: text });
  fake.last.push(notification("thread/started", { seq: 1, thread: fakeThread("p", 0) }));
  fake.last.push(notification("thread/started", { seq: 1, thread: thread("c", { id: "p", nickname: "ada" }) }));
  fake.last.push(d(2, "a"));
  await tick();
  holdParent = true;
  fake.last.drop();
  await tick(30);
  const conn = fake.last;
  assert.equal(fake.connections.length, 2);
  const resumes = () => conn.sent.filter((m) => m.method === "thread/resume").map((m) => (m.params as { threadId: string }).threadId);
  assert.deepEqual(resumes(), ["p"], "the child waits for its parent");

  // Resuming the parent made the daemon follow the child live: events from its head on arrive
  // before the child's own resume. They are dropped, not taken as the next ones.
  conn.push(d(5, "e"));
  const parentResume = conn.sent.find((m) => m.method === "thread/resume")!;
  conn.push({ jsonrpc: "2.0", id: parentResume.id, result: { thread: fakeThread("p", 1) } });
  await tick();
  const childResume = conn.sent.filter((m) => m.method === "thread/resume")[1];
  assert.deepEqual(childResume?.params, { threadId: "c", afterSeq: 2, excludeTurns: true });
  // The replay after the child's resume answer: every event after 2, in order, once.
  for (const [seq, text] of [[3, "b"], [4, "c"], [5, "d"], [6, "f"]] as const) conn.push(d(seq, text));
  await tick();
  const text = client.thread("c")?.turns[0]?.items[0];
  assert.ok(text?.type === "agentMessage");
  assert.equal(text.text, "abcdf");
  assert.equal(client.lastSeq("c"), 6);
  await client.close();
});

test("a question asked again under a new id (a sub-agent resumed after its parent) replaces the first", async () => {
  const fake = new FakeDaemon();
  const client = await AgentdClient.connect(fake.connector, quiet);
  const ask = (id: number, itemId: string) => ({
    jsonrpc: "2.0", id, method: "item/commandExecution/requestApproval",
    params: { threadId: "c", turnId: "tc", itemId, command: "touch f", cwd: "/w", reason: null, startedAtMs: 1 },
  });
  fake.last.push(ask(1, "x1"));
  fake.last.push(ask(2, "x2"));
  await tick();
  const first = client.pendingServerRequests().find((r) => r.id === 1)!;
  fake.last.push(ask(3, "x1"));
  await tick();
  assert.ok(first.signal.aborted, "the first is void");
  assert.deepEqual(client.pendingServerRequests("c").map((r) => r.id), [2, 3]);
  await client.close();
});
