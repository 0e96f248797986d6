// The thread-state reducer: folds the daemon's notifications into Thread / Turn / Item objects.
//
// Rules (PROTOCOL.md §6–7): events apply in `seq` order and an event whose `seq` is not newer
// than the state's `lastSeq` is ignored, so a replay that overlaps what is already folded is
// harmless. `item/started` adds an item, deltas append to it, `item/completed` replaces it
// (authoritative), `turn/completed` closes the turn. Updates are immutable: a changed thread,
// turn or item is a new object, unchanged ones are shared, so UIs can compare by identity.

import type {
  McpToolCallResult,
  ServerNotification,
  Thread,
  ThreadItem,
  ThreadTokenUsage,
  Turn,
  TurnError,
  TurnPlanStep,
} from "./protocol/index.js";

/** A turn plus what the daemon says about it outside its items. */
export type TurnState = Turn & {
  /** The latest `turn/diff/updated` diff, if any. */
  diff: string | null;
  /** The latest `turn/plan/updated` plan, if any. */
  plan: TurnPlanStep[] | null;
  planExplanation: string | null;
};

/** A thread as folded from its events. `lastSeq` is the `seq` of the last event applied. */
export type ThreadState = Omit<Thread, "turns"> & {
  turns: TurnState[];
  /** The latest `thread/tokenUsage/updated`. */
  tokenUsage: ThreadTokenUsage | null;
  /** The latest `error` notification about this thread (retries included). */
  lastError: (TurnError & { willRetry: boolean; turnId: string | null }) | null;
};

function turnState(turn: Turn): TurnState {
  const t = turn as Partial<TurnState> & Turn;
  return {
    ...turn,
    diff: t.diff ?? null,
    plan: t.plan ?? null,
    planExplanation: t.planExplanation ?? null,
  };
}

/**
 * A state from a `Thread` snapshot (a `thread/start` / `thread/resume` / `thread/read` result).
 * Events up to `thread.lastSeq` are taken as already included.
 */
export function threadStateFrom(thread: Thread): ThreadState {
  return {
    ...thread,
    turns: thread.turns.map(turnState),
    tokenUsage: null,
    lastError: null,
  };
}

/** An empty state for a thread known only by id: every event from seq 1 on will apply. */
export function emptyThreadState(threadId: string): ThreadState {
  return {
    id: threadId,
    archived: false,
    cliVersion: "",
    createdAt: 0,
    cwd: "",
    ephemeral: false,
    forkedFromId: null,
    lastSeq: 0,
    model: null,
    modelProvider: "",
    name: null,
    preview: "",
    projectId: null,
    sessionId: threadId,
    source: "appServer",
    status: { type: "notLoaded" },
    turns: [],
    updatedAt: 0,
    tokenUsage: null,
    lastError: null,
  };
}

function placeholderTurn(id: string): TurnState {
  return {
    id,
    status: "inProgress",
    items: [],
    startedAt: null,
    completedAt: null,
    durationMs: null,
    error: null,
    usage: null,
    diff: null,
    plan: null,
    planExplanation: null,
  };
}

/** The thread id a notification is about, if any. */
export function notificationThreadId(n: ServerNotification): string | null {
  if (n.method === "thread/started") return n.params.thread.id;
  const p = n.params as { threadId?: string | null };
  return typeof p.threadId === "string" ? p.threadId : null;
}

/**
 * Notifications that are not events of the thread's log: they carry the thread's current
 * `lastSeq` rather than a `seq` of their own, are sent to one connection only and are never
 * replayed. `serverRequest/resolved` names the request id *this* connection was sent.
 */
export const UNLOGGED_NOTIFICATIONS: ReadonlySet<string> = new Set([
  "thread/resyncRequired",
  "serverRequest/resolved",
  // Sent to every connection with `seq: 0`; a per-thread server's carries the thread's id, which
  // must not make the client drop it as an old event of that thread.
  "mcpServer/startupStatus/updated",
]);

/** The `seq` of a logged thread event, or null (see {@link UNLOGGED_NOTIFICATIONS}). */
export function notificationSeq(n: ServerNotification): number | null {
  if (UNLOGGED_NOTIFICATIONS.has(n.method)) return null;
  const seq = (n.params as { seq?: unknown }).seq;
  return typeof seq === "number" ? seq : null;
}

function withTurn(
  state: ThreadState,
  turnId: string,
  f: (turn: TurnState) => TurnState,
): ThreadState {
  const ix = state.turns.findIndex((t) => t.id === turnId);
  const turns = state.turns.slice();
  if (ix < 0) turns.push(f(placeholderTurn(turnId)));
  else turns[ix] = f(turns[ix] as TurnState);
  return { ...state, turns };
}

function withItem(
  turn: TurnState,
  itemId: string,
  f: (item: ThreadItem | undefined) => ThreadItem | undefined,
): TurnState {
  const ix = turn.items.findIndex((i) => i.id === itemId);
  const next = f(ix < 0 ? undefined : turn.items[ix]);
  if (next === undefined) return turn;
  const items = turn.items.slice();
  if (ix < 0) items.push(next);
  else items[ix] = next;
  return { ...turn, items };
}

function appendAt(parts: string[], index: number, delta: string): string[] {
  const out = parts.slice();
  while (out.length <= index) out.push("");
  out[index] = (out[index] ?? "") + delta;
  return out;
}

/**
 * Applies one notification to a thread's state and returns the new state (the same object when
 * nothing changed). `state` may be undefined for a thread not seen yet: a placeholder is made.
 * Notifications about other threads, or without a thread, return `state` unchanged.
 */
export function reduceThread(state: ThreadState | undefined, n: ServerNotification): ThreadState | undefined {
  const threadId = notificationThreadId(n);
  const seq = notificationSeq(n);
  if (threadId === null || seq === null) return state;
  if (state !== undefined && state.id !== threadId) return state;
  if (state !== undefined && seq <= state.lastSeq) return state;
  const base = state ?? emptyThreadState(threadId);
  const next = apply(base, n);
  return { ...next, lastSeq: seq };
}

function apply(s: ThreadState, n: ServerNotification): ThreadState {
  switch (n.method) {
    case "thread/started": {
      const fresh = threadStateFrom(n.params.thread);
      // Keep anything already folded (a snapshot taken after the thread started).
      return s.turns.length > 0 ? { ...fresh, turns: s.turns, tokenUsage: s.tokenUsage } : fresh;
    }
    case "thread/status/changed":
      return { ...s, status: n.params.status };
    case "thread/archived":
      return { ...s, archived: true };
    case "thread/unarchived":
      return { ...s, archived: false };
    case "thread/name/updated":
      return { ...s, name: n.params.threadName };
    case "thread/tokenUsage/updated":
      return { ...s, tokenUsage: n.params.tokenUsage };
    case "thread/rolledBack":
      return { ...s, turns: s.turns.slice(0, Math.max(0, s.turns.length - n.params.numTurns)) };
    case "turn/started": {
      const started = turnState(n.params.turn);
      return withTurn(s, started.id, (old) => ({
        ...started,
        // A snapshot may already hold items of this turn.
        items: old.items.length > 0 ? old.items : started.items,
      }));
    }
    case "turn/completed": {
      const done = n.params.turn;
      return withTurn(s, done.id, (old) => ({
        ...old,
        ...done,
        // `turn/completed` usually carries no items: the item events are authoritative.
        items: done.items.length > 0 ? done.items : old.items,
        diff: old.diff,
        plan: old.plan,
        planExplanation: old.planExplanation,
      }));
    }
    case "turn/diff/updated":
      return withTurn(s, n.params.turnId, (t) => ({ ...t, diff: n.params.diff }));
    case "turn/plan/updated":
      return withTurn(s, n.params.turnId, (t) => ({
        ...t,
        plan: n.params.plan,
        planExplanation: n.params.explanation,
      }));
    case "item/started": {
      const item = n.params.item;
      return withTurn(s, n.params.turnId, (t) =>
        // An item already present (from a snapshot) is not reset by a replayed start.
        withItem(t, item.id, (old) => old ?? item),
      );
    }
    case "item/completed": {
      const item = n.params.item;
      return withTurn(s, n.params.turnId, (t) => withItem(t, item.id, () => item));
    }
    case "item/agentMessage/delta": {
      const { itemId, delta } = n.params;
      return withTurn(s, n.params.turnId, (t) =>
        withItem(t, itemId, (old) => {
          if (old === undefined) return { type: "agentMessage", id: itemId, text: delta };
          if (old.type !== "agentMessage") return old;
          return { ...old, text: old.text + delta };
        }),
      );
    }
    case "item/reasoning/summaryTextDelta": {
      const { itemId, delta, summaryIndex } = n.params;
      return withTurn(s, n.params.turnId, (t) =>
        withItem(t, itemId, (old) => {
          if (old === undefined) {
            return { type: "reasoning", id: itemId, summary: appendAt([], summaryIndex, delta), content: [] };
          }
          if (old.type !== "reasoning") return old;
          return { ...old, summary: appendAt(old.summary, summaryIndex, delta) };
        }),
      );
    }
    case "item/commandExecution/outputDelta": {
      const { itemId, delta } = n.params;
      return withTurn(s, n.params.turnId, (t) =>
        withItem(t, itemId, (old) => {
          // Without its `item/started` the command's fields are unknown: wait for completion.
          if (old === undefined || old.type !== "commandExecution") return old;
          return { ...old, aggregatedOutput: (old.aggregatedOutput ?? "") + delta };
        }),
      );
    }
    case "error":
      return {
        ...s,
        lastError: { ...n.params.error, willRetry: n.params.willRetry, turnId: n.params.turnId ?? null },
      };
    case "serverRequest/resolved":
    case "thread/resyncRequired":
    case "mcpServer/startupStatus/updated":
    case "hook/started":
    case "hook/completed":
      return s;
  }
}

/** The text of every `agentMessage` item of a turn, joined. */
export function turnAgentText(turn: Turn): string {
  return turn.items
    .map((i) => (i.type === "agentMessage" ? i.text : ""))
    .filter((t) => t.length > 0)
    .join("\n\n");
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The text of an MCP tool result for people: text blocks as they are, other blocks (images,
 * audio, resources) as a short placeholder naming their kind.
 */
export function mcpResultText(result: McpToolCallResult | null): string {
  if (!result || !Array.isArray(result.content)) return "";
  const parts: string[] = [];
  for (const block of result.content) {
    if (!isObject(block)) continue;
    if (block.type === "text" && typeof block.text === "string") parts.push(block.text);
    else if (block.type === "image" || block.type === "audio") {
      parts.push(`[${block.type}${typeof block.mimeType === "string" ? ` ${block.mimeType}` : ""}]`);
    } else if (block.type === "resource_link" && typeof block.uri === "string") parts.push(`[resource ${block.uri}]`);
    else if (block.type === "resource" && isObject(block.resource)) {
      const r = block.resource;
      parts.push(typeof r.text === "string" ? r.text : `[resource ${typeof r.uri === "string" ? r.uri : ""}]`);
    } else if (typeof block.type === "string") parts.push(`[${block.type}]`);
  }
  return parts.join("\n");
}

/** Holds the folded state of many threads and tells listeners when one changes. */
export class ThreadStore {
  private readonly threads = new Map<string, ThreadState>();
  private readonly listeners = new Set<(thread: ThreadState, cause: ServerNotification | null) => void>();

  get(threadId: string): ThreadState | undefined {
    return this.threads.get(threadId);
  }

  all(): ThreadState[] {
    return [...this.threads.values()];
  }

  /**
   * Takes a `Thread` snapshot (a start / resume / read result). By default it replaces the
   * state, and events up to `thread.lastSeq` count as included. With `metadataOnly` (a snapshot
   * without turns) the folded turns are kept and only the thread's own fields are refreshed.
   * `lastSeq` overrides the seq after which events still apply (e.g. a resume's `afterSeq`).
   */
  load(thread: Thread, opts: { metadataOnly?: boolean; lastSeq?: number } = {}): ThreadState {
    const old = this.threads.get(thread.id);
    const fresh = threadStateFrom(thread);
    if (opts.metadataOnly && old !== undefined) {
      return this.set(
        {
          ...fresh,
          turns: old.turns,
          tokenUsage: old.tokenUsage,
          lastError: old.lastError,
          lastSeq: opts.lastSeq ?? old.lastSeq,
        },
        null,
      );
    }
    return this.set({ ...fresh, lastSeq: opts.lastSeq ?? thread.lastSeq }, null);
  }

  /** Folds one notification; returns the thread's new state if it changed. */
  apply(n: ServerNotification): ThreadState | undefined {
    const id = notificationThreadId(n);
    if (id === null) return undefined;
    const old = this.threads.get(id);
    const next = reduceThread(old, n);
    if (next === undefined || next === old) return undefined;
    return this.set(next, n);
  }

  delete(threadId: string): void {
    this.threads.delete(threadId);
  }

  /** Called after every change; returns an unsubscribe function. */
  subscribe(listener: (thread: ThreadState, cause: ServerNotification | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private set(state: ThreadState, cause: ServerNotification | null): ThreadState {
    this.threads.set(state.id, state);
    for (const l of this.listeners) {
      try {
        l(state, cause);
      } catch (e) {
        console.error("agentd ThreadStore listener threw", e);
      }
    }
    return state;
  }
}
