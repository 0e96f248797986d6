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
  ThreadSpawnSource,
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
  // `seq: 0`: the thread's log is gone with it.
  "thread/deleted",
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
        // The item events are authoritative: `turn/completed` carries a summary (the final
        // agent message, `itemsView: "summary"`), which must not replace the turn's items.
        items: (done.itemsView ?? "full") === "full" && done.items.length > 0 ? done.items : old.items,
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
    case "thread/deleted":
    case "hook/started":
    case "hook/completed":
    case "memory/updated":
    case "warning":
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

// ---------------------------------------------------------------------------------------------
// Web searches: Codex's `webSearch` item. agentd's protocol does not define it yet, so it is not
// in the generated `ThreadItem`; the reducer folds it like any item (`item/started` adds,
// `item/completed` replaces) and these read it.

/** What a web search did (Codex's `WebSearchAction`, tagged by `type`). */
export type WebSearchThreadAction =
  | { type: "search"; query?: string | null; queries?: string[] | null }
  | { type: "openPage"; url?: string | null }
  | { type: "findInPage"; url?: string | null; pattern?: string | null }
  | { type: "other" };

/** Codex's `webSearch` thread item. */
export interface WebSearchThreadItem {
  type: "webSearch";
  id: string;
  query: string;
  action?: WebSearchThreadAction | null;
  /** Results a standalone search returned, opaque. */
  results?: unknown[] | null;
}

/** Any item a turn may hold: the generated `ThreadItem`s and the ones agentd does not define yet. */
export type AnyThreadItem = ThreadItem | WebSearchThreadItem;

/** Whether an item (off the wire, so typed loosely) is a `webSearch`. */
export function isWebSearchItem(item: unknown): item is WebSearchThreadItem {
  return isObject(item) && item.type === "webSearch" && typeof item.id === "string";
}

/** A web search's action read defensively: what kind, the queries, the page and the pattern. */
export interface WebSearchDetails {
  kind: "search" | "openPage" | "findInPage" | "other";
  /** The queries searched (the item's `query` when the action names none). */
  queries: string[];
  url: string | null;
  pattern: string | null;
}

export function webSearchDetails(item: WebSearchThreadItem): WebSearchDetails {
  const a: unknown = item.action;
  const str = (v: unknown): string | null => (typeof v === "string" && v.trim() !== "" ? v : null);
  const query = str(item.query);
  const kind = isObject(a) && (a.type === "search" || a.type === "openPage" || a.type === "findInPage") ? a.type : isObject(a) ? "other" : "search";
  const listed = isObject(a) && Array.isArray(a.queries) ? a.queries.map(str).filter((q): q is string => q !== null) : [];
  const single = isObject(a) ? str(a.query) : null;
  const queries = listed.length > 0 ? listed : single !== null ? [single] : query !== null ? [query] : [];
  return {
    kind,
    queries: kind === "search" || kind === "other" ? queries : query !== null ? [query] : [],
    url: isObject(a) ? str(a.url) : null,
    pattern: isObject(a) ? str(a.pattern) : null,
  };
}

/**
 * A web search in words: `Searched the web for “q”`, `Opened URL`, `Looked for “p” in URL`, or
 * `Searching the web…` while its query is not known yet.
 */
export function webSearchText(item: WebSearchThreadItem): string {
  const d = webSearchDetails(item);
  const quoted = (q: string) => `“${q}”`;
  switch (d.kind) {
    case "openPage":
      return d.url !== null ? `Opened ${d.url}` : "Opened a page";
    case "findInPage":
      return `Looked for ${d.pattern !== null ? quoted(d.pattern) : "text"}${d.url !== null ? ` in ${d.url}` : ""}`;
    default:
      return d.queries.length > 0 ? `Searched the web for ${d.queries.map(quoted).join(", ")}` : "Searching the web…";
  }
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
    if (n.method === "thread/deleted") {
      this.threads.delete(id);
      return undefined;
    }
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

// ---------------------------------------------------------------------------------------------
// The thread tree: sub-agents under the thread that spawned them.
//
// A sub-agent is an ordinary thread whose `source` is `{"subAgent": {"thread_spawn": {…}}}`; its
// parent is only named there. The daemon sends a new child's `thread/started` (and then its
// events, under the child's own `threadId`) to every connection subscribed to the parent, lists
// a thread's children with `thread/list {parentThreadId}` and names them in `thread/read`'s
// `childThreadIds`. (These helpers live in this module rather than one of their own so the
// browser bundle the daemon embeds keeps its list of files.)

/** What a sub-agent thread's `source` says of its spawn, or null for any other thread. */
export function threadSpawnSource(thread: Pick<Thread, "source">): ThreadSpawnSource | null {
  // The source comes off the wire: read it defensively rather than trust its shape.
  const source: unknown = thread.source;
  if (!isObject(source) || !isObject(source.subAgent)) return null;
  const spawn = source.subAgent.thread_spawn;
  if (!isObject(spawn) || typeof spawn.parent_thread_id !== "string") return null;
  return {
    parent_thread_id: spawn.parent_thread_id,
    depth: typeof spawn.depth === "number" ? spawn.depth : 1,
    agent_nickname: typeof spawn.agent_nickname === "string" ? spawn.agent_nickname : null,
    agent_role: typeof spawn.agent_role === "string" ? spawn.agent_role : null,
  };
}

/** The thread that spawned this one, or null for a thread no agent spawned. */
export function parentThreadId(thread: Pick<Thread, "source">): string | null {
  return threadSpawnSource(thread)?.parent_thread_id ?? null;
}

/** A sub-agent's nickname (`ada`, `babbage`, …: what the parent's model calls it), or null. */
export function agentNickname(thread: Pick<Thread, "source">): string | null {
  return threadSpawnSource(thread)?.agent_nickname ?? null;
}

/** A sub-agent's role (`default`, or a configured agent type), or null. */
export function agentRole(thread: Pick<Thread, "source">): string | null {
  return threadSpawnSource(thread)?.agent_role ?? null;
}

/** A thread as the tree knows it: what a list, a snapshot or `thread/started` said, without turns. */
export type ThreadSummary = Omit<Thread, "turns">;

/** Spawn order: oldest first, ties by id (as the daemon orders `childThreadIds`). */
function bySpawnOrder(a: ThreadSummary, b: ThreadSummary): number {
  return a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Bound on walks up and down the tree, so a cycle in what the daemon sent cannot hang a UI. */
const MAX_TREE_DEPTH = 64;

/**
 * Every thread seen, with each sub-agent under its parent. Fed by `thread/started` and the
 * other thread notifications (status, name, archive), by a parent's `spawnAgent` call items
 * (the child by id), and by whatever lists or snapshots threads (`thread/list`, `thread/start`,
 * `thread/resume`, `thread/read`, `thread/fork`): `AgentdClient.tree` is kept this way. Children are found by their `source`, so a child seen
 * before its parent (or whose parent is never listed) still lands under it once it is.
 */
export class ThreadTree {
  private readonly nodes = new Map<string, ThreadSummary>();
  /** Children known only by id so far (`childThreadIds`, `spawnAgent` calls), by parent. */
  private readonly namedChildren = new Map<string, Set<string>>();
  private readonly listeners = new Set<(threadId: string) => void>();

  /** Adds or refreshes threads (turns, if any, are not kept). */
  upsert(...threads: ReadonlyArray<Thread | ThreadSummary>): void {
    for (const t of threads) {
      const { turns: _turns, ...summary } = t as Thread;
      this.nodes.set(t.id, summary);
      this.changed(t.id);
    }
  }

  /**
   * Notes children known by id only (`thread/read`'s `childThreadIds`, closed ones included; a
   * `spawnAgent` call's receivers). True when one was new.
   */
  noteChildren(parentId: string, childIds: readonly string[]): boolean {
    const set = this.namedChildren.get(parentId) ?? new Set<string>();
    const before = set.size;
    for (const id of childIds) set.add(id);
    if (set.size === before) return false;
    this.namedChildren.set(parentId, set);
    this.changed(parentId);
    return true;
  }

  /** Folds a notification in; true when the tree changed. */
  apply(n: ServerNotification): boolean {
    const update = (id: string, f: (t: ThreadSummary) => ThreadSummary): boolean => {
      const old = this.nodes.get(id);
      if (!old) return false;
      this.nodes.set(id, f(old));
      this.changed(id);
      return true;
    };
    switch (n.method) {
      case "thread/started":
        this.upsert(n.params.thread);
        return true;
      case "thread/status/changed":
        return update(n.params.threadId, (t) => ({ ...t, status: n.params.status }));
      case "thread/name/updated":
        return update(n.params.threadId, (t) => ({ ...t, name: n.params.threadName }));
      case "thread/archived":
        return update(n.params.threadId, (t) => ({ ...t, archived: true }));
      case "thread/unarchived":
        return update(n.params.threadId, (t) => ({ ...t, archived: false }));
      case "thread/deleted":
        return this.nodes.delete(n.params.threadId);
      case "item/started":
      case "item/completed": {
        // A parent's `spawn_agent` call names the child it made, maybe before the child's own
        // `thread/started` reaches this client (or, for a client that only reads the parent,
        // at all): the child is known by id from then on (`childIdsOf`).
        const item = n.params.item;
        if (item.type !== "collabAgentToolCall" || item.tool !== "spawnAgent") return false;
        const ids = Array.isArray(item.receiverThreadIds) ? item.receiverThreadIds.filter((id) => typeof id === "string" && id !== item.senderThreadId) : [];
        if (ids.length === 0 || typeof item.senderThreadId !== "string") return false;
        return this.noteChildren(item.senderThreadId, ids);
      }
      default:
        return false;
    }
  }

  get(threadId: string): ThreadSummary | undefined {
    return this.nodes.get(threadId);
  }

  all(): ThreadSummary[] {
    return [...this.nodes.values()];
  }

  /** The thread that spawned this one (null for a root, or a thread not seen). */
  parentOf(threadId: string): string | null {
    const t = this.nodes.get(threadId);
    return t ? parentThreadId(t) : null;
  }

  /**
   * The known children of a thread, oldest first. Closed (archived) children are left out
   * unless `closed` is set.
   */
  childrenOf(threadId: string, opts: { closed?: boolean } = {}): ThreadSummary[] {
    const out: ThreadSummary[] = [];
    for (const t of this.nodes.values()) {
      if (t.id !== threadId && parentThreadId(t) === threadId && (opts.closed || !t.archived)) out.push(t);
    }
    return out.sort(bySpawnOrder);
  }

  /**
   * The ids of a thread's children: the ones seen, and those only named by `thread/read`
   * (closed ones included), oldest first where known.
   */
  childIdsOf(threadId: string): string[] {
    const seen = this.childrenOf(threadId, { closed: true }).map((t) => t.id);
    const named = [...(this.namedChildren.get(threadId) ?? [])].filter((id) => !seen.includes(id));
    return [...seen, ...named];
  }

  /** Every descendant of a thread seen so far (children, their children, …), depth first. */
  descendantsOf(threadId: string, opts: { closed?: boolean } = {}): ThreadSummary[] {
    const out: ThreadSummary[] = [];
    const seen = new Set([threadId]);
    const walk = (id: string, depth: number): void => {
      if (depth > MAX_TREE_DEPTH) return;
      for (const c of this.childrenOf(id, opts)) {
        if (seen.has(c.id)) continue;
        seen.add(c.id);
        out.push(c);
        walk(c.id, depth + 1);
      }
    };
    walk(threadId, 0);
    return out;
  }

  /** The thread's parent, grandparent, … up to the root, nearest first. */
  ancestorsOf(threadId: string): string[] {
    const out: string[] = [];
    let id = this.parentOf(threadId);
    while (id !== null && !out.includes(id) && id !== threadId && out.length < MAX_TREE_DEPTH) {
      out.push(id);
      id = this.parentOf(id);
    }
    return out;
  }

  /** The thread no agent spawned that this one descends from (itself for a root). */
  rootOf(threadId: string): string {
    const up = this.ancestorsOf(threadId);
    return up[up.length - 1] ?? threadId;
  }

  /** Whether `threadId` is `ancestorId` or one of its descendants. */
  isWithin(threadId: string, ancestorId: string): boolean {
    return threadId === ancestorId || this.ancestorsOf(threadId).includes(ancestorId);
  }

  /** The sub-agent's nickname, if the thread is one and has been seen. */
  nickname(threadId: string): string | null {
    const t = this.nodes.get(threadId);
    return t ? agentNickname(t) : null;
  }

  /** The sub-agent's role, if the thread is one and has been seen. */
  role(threadId: string): string | null {
    const t = this.nodes.get(threadId);
    return t ? agentRole(t) : null;
  }

  /** How deep a sub-agent is (1 for a child of a root thread); 0 for a root or an unseen thread. */
  depth(threadId: string): number {
    const t = this.nodes.get(threadId);
    return t ? (threadSpawnSource(t)?.depth ?? 0) : 0;
  }

  /** Called with the id of each thread that changes; returns an unsubscribe function. */
  subscribe(listener: (threadId: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(threadId: string): void {
    for (const l of this.listeners) {
      try {
        l(threadId);
      } catch (e) {
        console.error("agentd ThreadTree listener threw", e);
      }
    }
  }
}

/**
 * A list of threads (e.g. a `thread/list` page) in tree order: each thread followed by its
 * sub-agents, indented one `depth` further, in the list's own order. A child whose parent is not
 * in the list is a root; so is anything left in a cycle, rather than lost.
 */
export function threadTreeOrder<T extends Pick<Thread, "id" | "source">>(threads: readonly T[]): Array<{ thread: T; depth: number }> {
  const ids = new Set(threads.map((t) => t.id));
  const children = new Map<string, T[]>();
  const roots: T[] = [];
  for (const t of threads) {
    const parent = parentThreadId(t);
    if (parent !== null && parent !== t.id && ids.has(parent)) {
      const list = children.get(parent) ?? [];
      list.push(t);
      children.set(parent, list);
    } else roots.push(t);
  }
  const out: Array<{ thread: T; depth: number }> = [];
  const placed = new Set<string>();
  const visit = (t: T, depth: number): void => {
    if (placed.has(t.id)) return;
    placed.add(t.id);
    out.push({ thread: t, depth });
    if (depth >= MAX_TREE_DEPTH) return;
    for (const c of children.get(t.id) ?? []) visit(c, depth + 1);
  };
  for (const t of roots) visit(t, 0);
  for (const t of threads) visit(t, 0);
  return out;
}
