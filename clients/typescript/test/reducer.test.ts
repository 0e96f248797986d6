// The reducer on its own: synthetic event streams, no daemon.
import assert from "node:assert/strict";
import { test } from "node:test";

import { mcpResultText, reduceThread, ThreadStore, turnAgentText, UNLOGGED_NOTIFICATIONS, type ServerNotification, type ThreadState, type Turn } from "../src/index.js";

const T = "th-1";
const turn = (status: Turn["status"], items: Turn["items"] = []): Turn => ({
  id: "tu-1", status, items, startedAt: 1, completedAt: null, durationMs: null, error: null, usage: null,
});

function stream(): ServerNotification[] {
  return [
    { method: "turn/started", params: { seq: 2, threadId: T, turn: turn("inProgress") } },
    { method: "item/started", params: { seq: 3, threadId: T, turnId: "tu-1", startedAtMs: 0, item: { type: "agentMessage", id: "i1", text: "" } } },
    { method: "item/agentMessage/delta", params: { seq: 4, threadId: T, turnId: "tu-1", itemId: "i1", delta: "Hel" } },
    { method: "item/agentMessage/delta", params: { seq: 5, threadId: T, turnId: "tu-1", itemId: "i1", delta: "lo" } },
    { method: "item/started", params: { seq: 6, threadId: T, turnId: "tu-1", startedAtMs: 0, item: { type: "commandExecution", id: "c1", command: "ls", cwd: "/", commandActions: [], status: "inProgress", aggregatedOutput: null, exitCode: null, durationMs: null } } },
    { method: "item/commandExecution/outputDelta", params: { seq: 7, threadId: T, turnId: "tu-1", itemId: "c1", delta: "a\n" } },
    { method: "item/commandExecution/outputDelta", params: { seq: 8, threadId: T, turnId: "tu-1", itemId: "c1", delta: "b\n" } },
    { method: "item/reasoning/summaryTextDelta", params: { seq: 9, threadId: T, turnId: "tu-1", itemId: "r1", delta: "think", summaryIndex: 1 } },
    { method: "item/completed", params: { seq: 10, threadId: T, turnId: "tu-1", completedAtMs: 0, item: { type: "agentMessage", id: "i1", text: "Hello" } } },
    { method: "turn/plan/updated", params: { seq: 11, threadId: T, turnId: "tu-1", explanation: null, plan: [{ step: "a", status: "completed" }] } },
    // As agentd (and Codex) send it: a summary holding the final agent message only.
    { method: "turn/completed", params: { seq: 12, threadId: T, turn: { ...turn("completed", [{ type: "agentMessage", id: "i1", text: "Hello" }]), itemsView: "summary", completedAt: 2 } } },
    { method: "thread/status/changed", params: { seq: 13, threadId: T, status: { type: "idle" } } },
  ];
}

function fold(events: ServerNotification[], from?: ThreadState): ThreadState {
  let s = from;
  for (const e of events) s = reduceThread(s, e);
  assert.ok(s);
  return s;
}

test("folds a turn: deltas appended, item/completed authoritative, turn/completed keeps items", () => {
  const s = fold(stream());
  assert.equal(s.lastSeq, 13);
  assert.equal(s.status.type, "idle");
  const t = s.turns[0]!;
  assert.equal(t.status, "completed");
  assert.equal(t.completedAt, 2);
  assert.equal(turnAgentText(t), "Hello");
  const cmd = t.items.find((i) => i.id === "c1");
  assert.ok(cmd?.type === "commandExecution");
  assert.equal(cmd.aggregatedOutput, "a\nb\n");
  const r = t.items.find((i) => i.id === "r1");
  assert.ok(r?.type === "reasoning");
  assert.deepEqual(r.summary, ["", "think"]);
  assert.deepEqual(t.plan, [{ step: "a", status: "completed" }]);
});

test("a replay overlapping what was folded changes nothing", () => {
  const events = stream();
  const s = fold(events);
  const again = fold(events, s);
  assert.equal(again, s, "same object: nothing applied");
  // Folding half, then everything again (a resume with an older afterSeq), gives the same result.
  const half = fold(events.slice(0, 3));
  assert.deepEqual(fold(events, half), s);
});

test("a completed item makes up for deltas a replay left out", () => {
  const events = stream().filter((e) => e.method !== "item/agentMessage/delta");
  assert.equal(turnAgentText(fold(events).turns[0]!), "Hello");
});

test("updates are immutable and share what did not change", () => {
  const events = stream();
  const before = fold(events.slice(0, 5));
  const after = reduceThread(before, events[5]!)!;
  assert.notEqual(after, before);
  assert.equal(before.turns[0]!.items.find((i) => i.id === "c1")?.type, "commandExecution");
  const cmdBefore = before.turns[0]!.items.find((i) => i.id === "c1");
  assert.ok(cmdBefore?.type === "commandExecution" && cmdBefore.aggregatedOutput === null);
  assert.equal(after.turns[0]!.items[0], before.turns[0]!.items[0], "the untouched item is shared");
});

test("notifications without a log seq and about other threads are ignored", () => {
  const s = fold(stream());
  assert.equal(reduceThread(s, { method: "thread/resyncRequired", params: { seq: 99, threadId: T, afterSeq: 3 } }), s);
  assert.equal(
    reduceThread(s, { method: "serverRequest/resolved", params: { seq: 99, threadId: T, requestId: 1, decision: "accept", resolvedBy: { clientName: "x" } } }),
    s,
  );
  assert.equal(reduceThread(s, { method: "thread/status/changed", params: { seq: 99, threadId: "other", status: { type: "idle" } } }), s);
});

test("rollback drops turns; store snapshots keep folded turns when metadata-only", () => {
  const store = new ThreadStore();
  const changes: number[] = [];
  store.subscribe((t) => changes.push(t.lastSeq));
  for (const e of stream()) store.apply(e);
  assert.equal(store.get(T)!.turns.length, 1);
  const meta = { ...store.get(T)!, name: "named", turns: [], lastSeq: 40 };
  store.load(meta, { metadataOnly: true });
  assert.equal(store.get(T)!.name, "named");
  assert.equal(store.get(T)!.turns.length, 1);
  assert.equal(store.get(T)!.lastSeq, 13, "a metadata snapshot does not skip events");
  store.apply({ method: "thread/rolledBack", params: { seq: 14, threadId: T, numTurns: 1, changedFiles: [] } });
  assert.equal(store.get(T)!.turns.length, 0);
  assert.ok(changes.length >= stream().length);
});

test("mcpToolCall items: started then completed replace by id; the startup status is not a thread event", () => {
  const call = {
    id: "m1", server: "mock", tool: "echo", arguments: { text: "hi" }, result: null, error: null, durationMs: null, readOnlyHint: true,
  };
  const s = fold([
    ...stream().slice(0, 1),
    { method: "item/started", params: { seq: 3, threadId: T, turnId: "tu-1", startedAtMs: 0, item: { type: "mcpToolCall", ...call, status: "inProgress" } } },
  ]);
  const started = s.turns[0]!.items.find((i) => i.id === "m1");
  assert.ok(started?.type === "mcpToolCall");
  assert.equal(started.status, "inProgress");
  const done = reduceThread(s, {
    method: "item/completed",
    params: {
      seq: 4, threadId: T, turnId: "tu-1", completedAtMs: 0,
      item: { type: "mcpToolCall", ...call, status: "completed", durationMs: 7, result: { content: [{ type: "text", text: "echo: hi" }], structuredContent: null } },
    },
  })!;
  const items = done.turns[0]!.items;
  assert.equal(items.length, 1, "replaced, not appended");
  const m = items[0]!;
  assert.ok(m.type === "mcpToolCall");
  assert.equal(m.status, "completed");
  assert.equal(m.durationMs, 7);
  assert.equal(mcpResultText(m.result), "echo: hi");
  // `mcpServer/startupStatus/updated` has seq 0 and is not folded (nor dropped as a duplicate).
  assert.ok(UNLOGGED_NOTIFICATIONS.has("mcpServer/startupStatus/updated"));
  assert.equal(
    reduceThread(done, { method: "mcpServer/startupStatus/updated", params: { seq: 0, threadId: T, name: "mock", status: "ready", error: null } }),
    done,
  );
});

test("mcpResultText: text as is, other blocks named", () => {
  assert.equal(mcpResultText(null), "");
  assert.equal(
    mcpResultText({
      content: [
        { type: "text", text: "a" },
        { type: "image", data: "AAAA", mimeType: "image/png" },
        { type: "resource_link", uri: "file:///x", name: "x" },
        { type: "resource", resource: { uri: "file:///y", text: "inline" } },
        { type: "audio", data: "", mimeType: "audio/wav" },
        "not a block",
      ],
      structuredContent: null,
    }),
    "a\n[image image/png]\n[resource file:///x]\ninline\n[audio audio/wav]",
  );
});
