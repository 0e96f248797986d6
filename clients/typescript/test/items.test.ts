// Item kinds beyond text, without a daemon: web searches (Codex's `webSearch`, which agentd's
// protocol does not define yet) and sub-agent calls (`collabAgentToolCall`) folded by the
// reducer, a spawn placing the child in the tree, a deleted thread forgotten; and turn input
// with images (`userInput`, `imageDataUrl`, `imageFileInput`) as sent on the wire.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

import {
  AgentdClient,
  imageDataUrl,
  isWebSearchItem,
  reduceThread,
  sniffImageType,
  ThreadStore,
  ThreadTree,
  userInput,
  webSearchDetails,
  webSearchText,
  type AnyThreadItem,
  type ServerNotification,
  type ThreadState,
  type WebSearchThreadItem,
} from "../src/index.js";
import { imageFileInput } from "../src/node.js";
import { FakeDaemon, fakeThread, tick } from "./fake.js";

const T = "p";
const quiet = { log: () => {}, reconnect: { initialDelayMs: 1, maxDelayMs: 5 } };
const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);

/** An item event as the daemon sends it (the item typed loosely: webSearch is not a generated type). */
function itemEvent(method: "item/started" | "item/completed", seq: number, item: unknown): ServerNotification {
  const at = method === "item/started" ? { startedAtMs: 1 } : { completedAtMs: 2 };
  return { method, params: { seq, threadId: T, turnId: "u1", item, ...at } } as unknown as ServerNotification;
}

function fold(events: ServerNotification[]): ThreadState {
  let s: ThreadState | undefined;
  for (const e of events) s = reduceThread(s, e);
  assert.ok(s);
  return s;
}

const items = (s: ThreadState): AnyThreadItem[] => s.turns.flatMap((t) => t.items as AnyThreadItem[]);

test("webSearch items: started then completed replace by id, and read as what they did", () => {
  const started: WebSearchThreadItem = { type: "webSearch", id: "w1", query: "" };
  const done: WebSearchThreadItem = {
    type: "webSearch", id: "w1", query: "agentd replay",
    action: { type: "search", query: "agentd replay", queries: ["agentd replay", "afterSeq resume"] },
  };
  const s = fold([itemEvent("item/started", 1, started), itemEvent("item/completed", 2, done)]);
  const [only, ...rest] = items(s);
  assert.equal(rest.length, 0, "one item: the completion replaced the start");
  assert.ok(isWebSearchItem(only));
  assert.deepEqual(only, done);
  assert.equal(webSearchText(started), "Searching the web…", "no query yet");
  assert.equal(webSearchText(only), "Searched the web for “agentd replay”, “afterSeq resume”");
  assert.deepEqual(webSearchDetails(only), { kind: "search", queries: ["agentd replay", "afterSeq resume"], url: null, pattern: null });

  const open: WebSearchThreadItem = { type: "webSearch", id: "w2", query: "docs", action: { type: "openPage", url: "https://example.com/docs" } };
  assert.equal(webSearchText(open), "Opened https://example.com/docs");
  const find: WebSearchThreadItem = { type: "webSearch", id: "w3", query: "", action: { type: "findInPage", url: "https://example.com/a", pattern: "afterSeq" } };
  assert.equal(webSearchText(find), "Looked for “afterSeq” in https://example.com/a");
  assert.deepEqual(webSearchDetails(find), { kind: "findInPage", queries: [], url: "https://example.com/a", pattern: "afterSeq" });
  // No action (older Codex) or an unknown one: the query says it all.
  assert.equal(webSearchText({ type: "webSearch", id: "w4", query: "rust ratatui" }), "Searched the web for “rust ratatui”");
  assert.equal(webSearchText({ type: "webSearch", id: "w5", query: "x", action: { type: "other" } }), "Searched the web for “x”");
  // Off the wire: a malformed action is read without throwing.
  const odd = { type: "webSearch", id: "w6", query: "q", action: { type: "search", queries: [3, null, "ok"] } } as unknown as WebSearchThreadItem;
  assert.deepEqual(webSearchDetails(odd).queries, ["ok"]);
  for (const other of [null, "webSearch", { type: "webSearch" }, { type: "agentMessage", id: "m", text: "" }]) {
    assert.equal(isWebSearchItem(other), false, JSON.stringify(other));
  }
});

test("collabAgentToolCall items fold like any item, and a spawn names the child to the tree", () => {
  const call = (status: string, receivers: string[], states: Record<string, unknown>) => ({
    type: "collabAgentToolCall", id: "call-1", tool: "spawnAgent", status, senderThreadId: T,
    receiverThreadIds: receivers, agentsStates: states, prompt: "CHILD-A: count the files", model: null,
  });
  const events = [
    itemEvent("item/started", 1, call("inProgress", [], {})),
    itemEvent("item/completed", 2, call("completed", ["c1"], { c1: { status: "running", message: null } })),
    itemEvent("item/completed", 3, { ...call("completed", ["c1"], { c1: { status: "completed", message: "42 files" } }), id: "call-2", tool: "wait" }),
  ];
  const s = fold(events);
  const calls = items(s);
  assert.deepEqual(calls.map((i) => i.id), ["call-1", "call-2"]);
  const [spawn, wait] = calls;
  assert.ok(spawn?.type === "collabAgentToolCall" && wait?.type === "collabAgentToolCall");
  assert.equal(spawn.status, "completed");
  assert.deepEqual(spawn.receiverThreadIds, ["c1"]);
  assert.deepEqual(wait.agentsStates, { c1: { status: "completed", message: "42 files" } });

  const tree = new ThreadTree();
  const changed: string[] = [];
  tree.subscribe((id) => changed.push(id));
  assert.equal(tree.apply(events[0]!), false, "a spawn in progress names no child yet");
  assert.equal(tree.apply(events[1]!), true);
  assert.deepEqual(tree.childIdsOf(T), ["c1"], "the child by id, before its thread/started");
  assert.deepEqual(changed, [T]);
  assert.equal(tree.apply(events[2]!), false, "a wait names no new child");
  assert.equal(tree.apply(events[1]!), false, "nor does the same spawn again");
  assert.deepEqual(tree.childIdsOf(T), ["c1"]);
});

test("thread/deleted: the state and the tree forget the thread, even though its seq is 0", () => {
  const store = new ThreadStore();
  const tree = new ThreadTree();
  const thread = fakeThread("gone", 4) as never;
  store.load(thread);
  tree.upsert(thread);
  const deleted = { method: "thread/deleted", params: { threadId: "gone", seq: 0 } } as ServerNotification;
  store.apply(deleted);
  assert.equal(tree.apply(deleted), true);
  assert.equal(store.get("gone"), undefined);
  assert.equal(tree.get("gone"), undefined);
});

test("images in turn input: userInput pieces and strings mixed, data: URLs from bytes", async () => {
  assert.equal(sniffImageType(PNG), "image/png");
  assert.equal(sniffImageType(Uint8Array.from([0xff, 0xd8, 0xff, 0xe0])), "image/jpeg");
  assert.equal(sniffImageType(new TextEncoder().encode("GIF89a")), "image/gif");
  assert.equal(sniffImageType(new TextEncoder().encode("RIFF....WEBP")), "image/webp");
  assert.equal(sniffImageType(new TextEncoder().encode("%PDF-1.7")), null);
  const url = imageDataUrl(PNG);
  assert.equal(url, `data:image/png;base64,${Buffer.from(PNG).toString("base64")}`);
  assert.throws(() => imageDataUrl(new TextEncoder().encode("not an image")), TypeError);
  // A large image is encoded whole (built in slices).
  const big = new Uint8Array(200_000);
  big.set(PNG);
  for (let i = PNG.length; i < big.length; i++) big[i] = i % 251;
  assert.equal(imageDataUrl(big), `data:image/png;base64,${Buffer.from(big).toString("base64")}`);

  const dir = mkdtempSync(join(tmpdir(), "agentd-images-"));
  try {
    writeFileSync(join(dir, "shot.png"), PNG);
    writeFileSync(join(dir, "notes.txt"), "hello");
    assert.deepEqual(await imageFileInput(join(dir, "shot.png")), { type: "image", url });
    await assert.rejects(imageFileInput(join(dir, "notes.txt")), /notes\.txt: not a PNG, JPEG, GIF or WebP image/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const fake = new FakeDaemon();
  fake.answer = (_c, req) =>
    req.method === "initialize" ? { protocolVersion: "1" } : req.method === "turn/start" ? { turn: { id: "u1", status: "inProgress", items: [] } } : {};
  const client = await AgentdClient.connect(fake.connector, quiet);
  await client.startTurn("t1", ["What is in these?", userInput.localImage("/home/me/shot.png"), userInput.image(url)]);
  await client.startTurn("t1", "just text");
  await tick();
  const [first, second] = fake.requests("turn/start").map((m) => (m.params as { input: unknown }).input);
  assert.deepEqual(first, [
    { type: "text", text: "What is in these?" },
    { type: "localImage", path: "/home/me/shot.png" },
    { type: "image", url },
  ]);
  assert.deepEqual(second, [{ type: "text", text: "just text" }]);
  await client.close();
});
