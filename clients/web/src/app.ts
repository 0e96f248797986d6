// agentd's web page: a thin client over @agentd/client, served by the daemon at `/`, usable from
// a phone. Threads (a tree: sub-agents under their parent), a virtualised transcript, approvals
// as cards, a composer that starts or steers turns (text and images), thread actions.
//
// The token: open the page as `http://HOST:PORT/#token=<token>`; it is kept in sessionStorage
// (or, when asked, localStorage, for the home-screen app) and taken out of the address bar, so it
// never reaches a server log or the history. "Forget token" clears it everywhere.
// `?client=NAME` sets the name other clients see when this page answers an approval;
// `?thread=ID` opens a thread; `?debug=1` exposes `window.agentdDebug` (tests).

import {
  AgentdClient,
  ConnectionLostError,
  elicitationAnswer,
  elicitationContent,
  elicitationFields,
  mcpToolApproval,
  RequestTimeoutError,
  threadSpawnSource,
  webSocketConnector,
  type ApprovalDecision,
  type ElicitationField,
  type McpServerElicitationRequestResponse,
  type ConnectionState,
  type FileUpdateChange,
  type PendingServerRequest,
  type Thread,
  type ThreadState,
  type TokenUsageBreakdown,
  type TurnState,
  type UserInput,
} from "@agentd/client";

import { diffStat, diffStatHtml, renderDiff } from "./diff.js";
import { threadRows, type RowContext } from "./items.js";
import { $, esc, pretty, setData, setHtml, setText, show } from "./util.js";
import { VirtualList } from "./virtual.js";

const TOKEN_KEY = "agentd.token";
const query = new URLSearchParams(location.search);
const clientName = query.get("client") ?? "web";
const debug = query.has("debug");
const narrow = window.matchMedia("(max-width: 820px)");

// ---------------------------------------------------------------------------------------------
// The token

function storage(kind: "local" | "session"): Storage | null {
  try {
    return kind === "local" ? window.localStorage : window.sessionStorage;
  } catch {
    return null; // storage disabled
  }
}

function storedToken(): string | null {
  return storage("session")?.getItem(TOKEN_KEY) ?? storage("local")?.getItem(TOKEN_KEY) ?? null;
}

function isRemembered(): boolean {
  return storage("local")?.getItem(TOKEN_KEY) != null;
}

/** The token from `#token=…` (then removed from the address bar), else the stored one. */
function takeToken(): string | null {
  const hash = new URLSearchParams(location.hash.slice(1));
  const fromHash = hash.get("token");
  if (fromHash) {
    storage("session")?.setItem(TOKEN_KEY, fromHash);
    if (isRemembered()) storage("local")?.setItem(TOKEN_KEY, fromHash);
    history.replaceState(null, "", location.pathname + location.search);
    return fromHash;
  }
  return storedToken();
}

function setRemembered(on: boolean): void {
  const token = storedToken();
  if (on && token) storage("local")?.setItem(TOKEN_KEY, token);
  else storage("local")?.removeItem(TOKEN_KEY);
}

// ---------------------------------------------------------------------------------------------
// State

interface Approval {
  key: string;
  request: PendingServerRequest;
  threadId: string;
  /** The connection that carried it dropped: shown, not answerable, until the daemon asks again. */
  stale: boolean;
  /**
   * An MCP server's form: what the person typed so far, by field name. Kept out of the card's
   * HTML (which then stays the same while typing, so renders leave focus alone) and put back
   * into the inputs whenever the card is drawn anew.
   */
  typed: Record<string, string | boolean>;
}

interface Resolution {
  threadId: string;
  text: string;
  at: number;
}

/** How long "… → accept (by phone)" stays under the transcript. */
const RESOLUTION_MS = 120_000;

interface OpenTiming {
  threadId: string;
  start: number;
  resumedAt: number | null;
}

/** Figures the tests read (and anyone curious, in the console). */
const perf = {
  /** Per thread opened: ms from the tap to the first frame painted with its transcript. */
  opens: [] as Array<{ threadId: string; rows: number; resumeMs: number; paintMs: number; sinceNavigationMs: number }>,
  /** The last 600 renders: ms spent, rows in the DOM, rows built. */
  renders: [] as Array<{ ms: number; rendered: number; built: number }>,
};
(window as unknown as { agentdPerf: typeof perf }).agentdPerf = perf;

const ui = {
  client: null as AgentdClient | null,
  threads: [] as Thread[],
  showArchived: false,
  search: null as null | { query: string; hits: Array<{ thread: Thread; snippet: string }> | null },
  selected: null as string | null,
  approvals: new Map<string, Approval>(),
  /** Every approval this connection was sent, by request id: to describe its resolution. */
  asked: new Map<string, string>(),
  resolutions: [] as Resolution[],
  /** <details> the reader opened or closed, by key. */
  open: new Map<string, boolean>(),
  /** Token usage of running turns, summed from `thread/tokenUsage/updated`. */
  liveUsage: new Map<string, TokenUsageBreakdown>(),
  attachments: [] as Array<{ url: string; name: string }>,
  lastState: undefined as ThreadState | undefined,
  rowsDirty: true,
  opening: null as OpenTiming | null,
  renderQueued: false,
};

const rowContext: RowContext = {
  isOpen: (key, def) => ui.open.get(key) ?? def,
  liveUsage: (turnId) => ui.liveUsage.get(turnId),
  threadLabel: (id) => {
    const t = known(id);
    return t ? threadLabel(t) : `thread ${id.slice(-8)}`;
  },
};

const transcript = new VirtualList($("transcript"), $("rows"), rowContext);
transcript.onChange = () => scheduleRender();

// ---------------------------------------------------------------------------------------------
// Threads: labels and the tree

type Source = Thread["source"];

/** The parent of a sub-agent thread (`source.subAgent.thread_spawn`) and what to call it. */
function spawnOf(source: Source): { parent: string; name: string | null } | null {
  const spawn = threadSpawnSource({ source });
  return spawn ? { parent: spawn.parent_thread_id, name: spawn.agent_nickname ?? spawn.agent_role ?? null } : null;
}

function threadLabel(t: Pick<Thread, "id" | "name" | "preview" | "source">): string {
  const spawn = spawnOf(t.source);
  const base = t.name || t.preview || `thread ${t.id.slice(-8)}`;
  return spawn?.name && !t.name ? `${spawn.name}: ${base}` : base;
}

function statusText(s: ThreadState["status"]): string {
  if (s.type === "active") return s.activeFlags.includes("waitingOnApproval") ? "needs approval" : "running";
  if (s.type === "notLoaded") return "";
  return s.type;
}

function ago(unixSeconds: number): string {
  const s = Math.max(0, Date.now() / 1000 - unixSeconds);
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(unixSeconds * 1000).toLocaleDateString();
}

/** What is known of a thread: the folded state (live) over the listed one (fresher preview). */
function known(id: string): Pick<Thread, "id" | "name" | "preview" | "source"> | null {
  const listed = ui.threads.find((x) => x.id === id);
  const live = ui.client?.thread(id);
  if (!listed && !live) return null;
  return {
    id,
    name: live?.name ?? listed?.name ?? null,
    preview: live?.preview || listed?.preview || firstUserText(live),
    source: listed?.source ?? live?.source ?? "unknown",
  };
}

/** The first thing the user (or a parent agent) said in a thread, as its preview until the
 * thread list has one: a sub-agent's question can arrive before the list knows its preview. */
function firstUserText(t: ThreadState | undefined): string {
  for (const turn of t?.turns ?? []) {
    for (const item of turn.items) {
      if (item.type !== "userMessage") continue;
      const text = item.content.map((c) => (c.type === "text" ? c.text : "")).join(" ").trim();
      if (text) return text;
    }
  }
  return "";
}

function threadButton(t: Thread, extra = ""): string {
  const live = ui.client?.thread(t.id);
  const status = live?.status ?? t.status;
  const waiting = status.type === "active" && status.activeFlags.includes("waitingOnApproval");
  const spawn = spawnOf(t.source);
  return `<button class="thread" data-testid="thread" data-thread-id="${esc(t.id)}"${t.id === ui.selected ? ' aria-current="true"' : ""}${waiting ? " data-waiting" : ""}${spawn ? ` data-parent-id="${esc(spawn.parent)}"` : ""}>
    <span class="label">${spawn ? "↳ " : ""}${esc(threadLabel(known(t.id) ?? t))}</span>
    <span class="meta"><span class="st">${esc(statusText(status))}</span><span>${esc(ago(t.updatedAt))}</span>${t.archived || live?.archived ? "<span>archived</span>" : ""}</span>${extra}</button>`;
}

/** The list as a tree: a thread's sub-agents (by `source`) nested under it. */
function threadTreeHtml(threads: Thread[]): string {
  const byId = new Map(threads.map((t) => [t.id, t]));
  const children = new Map<string, Thread[]>();
  const roots: Thread[] = [];
  for (const t of threads) {
    const parent = spawnOf(t.source)?.parent;
    if (parent && parent !== t.id && byId.has(parent)) {
      const list = children.get(parent) ?? [];
      list.push(t);
      children.set(parent, list);
    } else roots.push(t);
  }
  const seen = new Set<string>();
  const node = (t: Thread, depth: number): string => {
    seen.add(t.id);
    const kids = (children.get(t.id) ?? []).filter((k) => !seen.has(k.id));
    const sub = kids.length > 0 && depth < 12 ? `<ul data-testid="subagents">${kids.map((k) => node(k, depth + 1)).join("")}</ul>` : "";
    return `<li>${threadButton(t)}${sub}</li>`;
  };
  let html = roots.map((t) => node(t, 0)).join("");
  // A cycle has no root: show what is left flat rather than lose it.
  for (const t of threads) if (!seen.has(t.id)) html += node(t, 0);
  return html;
}

// ---------------------------------------------------------------------------------------------
// Rendering

function setStatus(state: ConnectionState | "error", detail?: string): void {
  const el = $("connection");
  el.dataset.state = state;
  const words: Record<string, string> = {
    open: "connected",
    connecting: "connecting…",
    reconnecting: "reconnecting…",
    closed: "disconnected",
    idle: "idle",
    error: "not connected",
  };
  el.textContent = words[state] ?? state;
  el.title = detail ?? "";
}

function scheduleRender(): void {
  if (ui.renderQueued) return;
  ui.renderQueued = true;
  requestAnimationFrame(render);
}

function render(): void {
  ui.renderQueued = false;
  const t0 = performance.now();
  renderHeader();
  renderSidebar();
  renderBottom();
  const stats = renderTranscript();
  const ms = performance.now() - t0;
  perf.renders.push({ ms, rendered: stats.rendered, built: stats.built });
  if (perf.renders.length > 600) perf.renders.splice(0, perf.renders.length - 600);
  const o = ui.opening;
  if (o && o.resumedAt !== null && o.threadId === ui.selected) {
    ui.opening = null;
    // The next frame starts after this one was painted.
    requestAnimationFrame(() => {
      const now = performance.now();
      perf.opens.push({ threadId: o.threadId, rows: stats.rows, resumeMs: (o.resumedAt as number) - o.start, paintMs: now - o.start, sinceNavigationMs: now });
    });
  }
}

function selectedState(): ThreadState | undefined {
  return ui.selected ? ui.client?.thread(ui.selected) : undefined;
}

function activeTurn(state: ThreadState | undefined): TurnState | undefined {
  return state?.turns.find((t) => t.status === "inProgress");
}

function renderHeader(): void {
  const state = selectedState();
  const listed = ui.threads.find((t) => t.id === ui.selected);
  const k = ui.selected ? known(ui.selected) : null;
  setText($("thread-title"), k ? threadLabel(k) : ui.selected ? "…" : "agentd");
  // A sub-agent's header leads back to the thread that spawned it.
  const parentId = k ? spawnOf(k.source)?.parent ?? null : null;
  const parentLink = $("parent-link");
  show(parentLink, parentId !== null);
  setData(parentLink, "openThread", parentId ?? "");
  if (parentId !== null) {
    const p = known(parentId);
    setText(parentLink, `↰ ${p ? threadLabel(p) : `thread ${parentId.slice(-8)}`}`);
    const title = "The thread that started this sub-agent";
    if (parentLink.title !== title) parentLink.title = title;
  }
  const status = $("thread-status");
  setText(status, state ? statusText(state.status) + (state.archived ? " · archived" : "") : "");
  setData(status, "status", state?.status.type ?? "");
  const menu = $("actions-menu");
  for (const b of menu.querySelectorAll<HTMLButtonElement>("[data-needs-thread]")) if (b.disabled !== !ui.selected) b.disabled = !ui.selected;
  const archived = Boolean(state?.archived ?? listed?.archived);
  show(menu.querySelector("[data-action=archive]") as HTMLElement, !archived);
  show(menu.querySelector("[data-action=unarchive]") as HTMLElement, archived);
  setText(menu.querySelector("[data-action=remember]") as HTMLElement, isRemembered() ? "✓ Token kept on this device" : "Keep token on this device");
  show($("empty"), ui.selected === null);
  show($("transcript-wrap"), ui.selected !== null);
}

/** A search hit's context; the daemon marks the matching words with `**`. */
function snippetHtml(snippet: string): string {
  return esc(snippet).replace(/\*\*(.+?)\*\*/g, "<mark>$1</mark>");
}

function renderSidebar(): void {
  const s = ui.search;
  show($("thread-list"), s === null);
  show($("search-results"), s !== null);
  if (s === null) {
    const html = ui.threads.length
      ? threadTreeHtml(ui.threads)
      : `<li class="sidebar-note">${ui.showArchived ? "No archived threads." : "No threads yet."}</li>`;
    setHtml($("thread-list"), html);
    setHtml($("search-results"), "");
  } else {
    const html =
      s.hits === null
        ? `<div class="sidebar-note">Searching…</div>`
        : s.hits.length === 0
          ? `<div class="sidebar-note">Nothing matches “${esc(s.query)}”.</div>`
          : s.hits.map((h) => threadButton(h.thread, `<span class="hit-snippet">${snippetHtml(h.snippet)}</span>`)).join("");
    setHtml($("search-results"), html);
  }
}

/** One input of an MCP server's form (the schema's default pre-filled; what was typed is put back later). */
function fieldHtml(f: ElicitationField, disabled: string): string {
  const label = `${esc(f.title ?? f.name)}${f.required ? ` <span class="req" title="required">*</span>` : ""}`;
  const hint = f.description ? `<span class="sub">${esc(f.description)}</span>` : "";
  const attrs = `name="${esc(f.name)}" data-field="${esc(f.name)}" data-testid="elicitation-field"${f.required ? " required" : ""}${disabled}`;
  if (f.type === "boolean") {
    return `<label class="field check"><input type="checkbox" ${attrs}${f.defaultValue === true ? " checked" : ""}><span>${label}</span>${hint}</label>`;
  }
  let input: string;
  if (f.options) {
    const none = f.required ? "" : `<option value="">—</option>`;
    const options = f.options.map((o) => `<option value="${esc(o)}"${o === f.defaultValue ? " selected" : ""}>${esc(o)}</option>`).join("");
    input = `<select ${attrs}>${none}${options}</select>`;
  } else {
    const numeric = f.type === "number" || f.type === "integer";
    const type = numeric ? `type="text" inputmode="${f.type === "integer" ? "numeric" : "decimal"}"` : `type="text"`;
    const value = f.defaultValue === null ? "" : ` value="${esc(f.defaultValue)}"`;
    input = `<input ${type} ${attrs}${value} autocomplete="off">`;
  }
  return `<label class="field"><span>${label}</span>${input}${hint}</label>`;
}

/** The card's question and the choices it offers, by kind of request. */
function approvalBody(a: Approval, dis: string): { body: string; buttons: Array<[ApprovalDecision, string, string]> } {
  const ALL: Array<[ApprovalDecision, string, string]> = [
    ["accept", "approve", "Accept"],
    ["acceptForSession", "approve-session", "Accept for session"],
    ["decline", "decline", "Decline"],
    ["cancel", "cancel", "Cancel turn"],
  ];
  const r = a.request;
  switch (r.method) {
    case "item/commandExecution/requestApproval": {
      const p = r.params;
      const body = `<div class="ask">Run this command?</div><pre class="block" data-testid="approval-command">${esc(p.command)}</pre>
      <div class="sub">in ${esc(p.cwd)}${p.reason ? ` — ${esc(p.reason)}` : ""}</div>`;
      return { body, buttons: ALL };
    }
    case "item/fileChange/requestApproval": {
      const p = r.params;
      const changes: FileUpdateChange[] = p.changes ?? [];
      const files = changes
        .map((c) => `<details class="card"><summary><code class="cmd">${esc(c.kind.type)} ${esc(c.path)}</code>${diffStatHtml(diffStat(c.diff))}</summary><div class="body">${renderDiff(c.diff)}</div></details>`)
        .join("");
      return { body: `<div class="ask">Apply these changes?</div>${files}${p.reason ? `<div class="sub">${esc(p.reason)}</div>` : ""}`, buttons: ALL };
    }
    case "mcpServer/elicitation/request": {
      const p = r.params;
      const call = mcpToolApproval(p);
      if (call) {
        const body = `<div class="ask">Run this MCP tool?</div>
      <div><code class="cmd" data-testid="approval-mcp-tool">${esc(call.server)} · ${esc(call.tool)}</code></div>
      <pre class="block args" data-testid="approval-mcp-arguments">${esc(pretty(call.arguments))}</pre>`;
        return { body, buttons: ALL };
      }
      const from = `<div class="ask">${esc(p.serverName)} asks</div><div class="msg-text" data-testid="elicitation-message">${esc(p.message)}</div>`;
      const three = ALL.filter(([d]) => d !== "acceptForSession");
      if (p.mode === "url") {
        const safe = /^https?:\/\//i.test(p.url);
        const link = safe
          ? `<a href="${esc(p.url)}" target="_blank" rel="noopener noreferrer" data-testid="elicitation-url">${esc(p.url)}</a>`
          : `<code>${esc(p.url)}</code>`;
        return { body: `${from}<div class="sub">${link}</div>`, buttons: [["accept", "approve", "I opened it"], ...three.slice(1)] };
      }
      const fields = elicitationFields(p);
      const inputs = fields.map((f) => fieldHtml(f, dis)).join("");
      const form = `<form class="elicitation" data-testid="elicitation-form" novalidate>${inputs}<div class="form-error" data-testid="elicitation-error" role="alert"></div></form>`;
      return { body: `${from}${form}`, buttons: [["accept", "approve", "Submit"], ...three.slice(1)] };
    }
  }
}

/** Whether `threadId` is the open thread `selected` or one of its sub-agents. */
function withinSelected(threadId: string, selected: string): boolean {
  return threadId === selected || (ui.client?.tree.isWithin(threadId, selected) ?? false);
}

function approvalHtml(a: Approval): string {
  const dis = a.stale ? " disabled" : "";
  const { body: question, buttons } = approvalBody(a, dis);
  // A sub-agent's question under its parent: say whose, and offer to open it.
  let body = question;
  if (a.threadId !== ui.selected) {
    const k = known(a.threadId);
    const label = k ? threadLabel(k) : `thread ${a.threadId.slice(-8)}`;
    body = `<div class="from" data-testid="approval-from"><span>↳ Sub-agent <b>${esc(label)}</b> asks</span><button type="button" data-open-thread="${esc(a.threadId)}" data-testid="open-asking-thread">Open</button></div>${question}`;
  }
  const buttonHtml = buttons.map(([d, id, text]) => `<button type="button" data-decision="${d}" data-testid="${id}"${dis}>${esc(text)}</button>`).join("");
  return `<div class="approval" data-testid="approval" data-method="${esc(a.request.method)}" data-key="${esc(a.key)}" data-thread-id="${esc(a.threadId)}"${a.stale ? " data-stale" : ""}>${body}
    ${a.stale ? `<div class="sub">Connection lost: waiting for the daemon to ask again…</div>` : ""}
    <div class="buttons${buttons.length === 3 ? " three" : ""}">${buttonHtml}</div></div>`;
}

/** Puts what was typed into a form back after its card was drawn anew. */
function restoreTyped(container: HTMLElement): void {
  for (const card of container.querySelectorAll<HTMLElement>("[data-key]")) {
    const a = ui.approvals.get(card.dataset.key ?? "");
    if (!a) continue;
    for (const el of card.querySelectorAll<HTMLInputElement | HTMLSelectElement>("[data-field]")) {
      const v = a.typed[el.dataset.field ?? ""];
      if (v === undefined) continue;
      if (el instanceof HTMLInputElement && el.type === "checkbox") el.checked = v === true;
      else el.value = String(v);
    }
  }
}

function renderBottom(): void {
  const id = ui.selected;
  const state = selectedState();
  // A stale card whose thread no longer waits was answered while this page was away.
  if (ui.client?.connectionState === "open") {
    for (const [key, a] of ui.approvals) {
      const s = ui.client.thread(a.threadId)?.status;
      if (a.stale && s && !(s.type === "active" && s.activeFlags.includes("waitingOnApproval"))) ui.approvals.delete(key);
    }
  }
  // The open thread's own questions, then its sub-agents' (however deep): a parent's page is
  // where a person watches its children work.
  const approvals = [...ui.approvals.values()]
    .filter((a) => id !== null && withinSelected(a.threadId, id))
    .sort((a, b) => Number(a.threadId !== id) - Number(b.threadId !== id));
  if (setHtml($("approvals"), approvals.map(approvalHtml).join(""))) restoreTyped($("approvals"));
  setHtml(
    $("resolutions"),
    ui.resolutions
      .filter((r) => r.threadId === id && Date.now() - r.at < RESOLUTION_MS)
      .slice(-3)
      .map((r) => `<div class="resolution" data-testid="resolution">${esc(r.text)}</div>`)
      .join(""),
  );
  const running = activeTurn(state);
  const send = $("send") as HTMLButtonElement;
  setText(send, running ? "Steer" : "Send");
  setData(send, "mode", running ? "steer" : "start");
  const title = running ? "Add this to the running turn (turn/steer)" : "Start a turn";
  if (send.title !== title) send.title = title;
  const stop = $("interrupt") as HTMLButtonElement;
  show(stop, running !== undefined);
  if (stop.disabled !== (running === undefined)) stop.disabled = running === undefined;
  setData(stop, "turnId", running?.id ?? "");
  setHtml(
    $("attachments"),
    ui.attachments
      .map((a, i) => `<div class="att" data-testid="attachment"><img src="${esc(a.url)}" alt="${esc(a.name)}"><button type="button" data-remove="${i}" aria-label="Remove">✕</button></div>`)
      .join(""),
  );
}

function renderTranscript(): { rows: number; rendered: number; built: number } {
  const state = selectedState();
  if (state !== ui.lastState || ui.rowsDirty) {
    transcript.setRows(state ? threadRows(state, ui.liveUsage, rowContext.threadLabel) : []);
    ui.lastState = state;
    ui.rowsDirty = false;
  }
  const stats = ui.selected ? transcript.render() : { rows: 0, rendered: 0, built: 0 };
  show($("to-bottom"), !(transcript.stick || transcript.length === 0 || ui.selected === null));
  return stats;
}

// ---------------------------------------------------------------------------------------------
// Talking to the daemon

let errorTimer: ReturnType<typeof setTimeout> | undefined;

function showError(e: unknown): void {
  const el = $("error");
  el.textContent = e instanceof Error ? e.message : String(e);
  el.hidden = false;
  clearTimeout(errorTimer);
  errorTimer = setTimeout(() => {
    el.hidden = true;
  }, 8000);
}

async function refreshThreads(): Promise<void> {
  const client = ui.client;
  if (!client || client.connectionState !== "open") return;
  try {
    const { data } = await client.request("thread/list", { limit: 100, archived: ui.showArchived });
    ui.threads = data;
    // Rows naming other threads (sub-agent calls) may show a fresher name.
    ui.rowsDirty = true;
    scheduleRender();
  } catch (e) {
    showError(e);
  }
}

let searchSeq = 0;

async function runSearch(q: string): Promise<void> {
  const client = ui.client;
  const mine = ++searchSeq;
  if (!q.trim()) {
    ui.search = null;
    scheduleRender();
    return;
  }
  ui.search = { query: q, hits: ui.search?.hits ?? null };
  scheduleRender();
  if (!client) return;
  try {
    const { data } = await client.request("thread/search", { query: q.trim(), limit: 30, archived: ui.showArchived });
    if (mine === searchSeq) ui.search = { query: q, hits: data };
  } catch (e) {
    if (mine === searchSeq) ui.search = { query: q, hits: [] };
    showError(e);
  }
  scheduleRender();
}

function setDrawer(open: boolean): void {
  document.body.dataset.drawer = open ? "open" : "closed";
  $("menu-button").setAttribute("aria-expanded", String(open));
  if (open) void refreshThreads();
}

function rememberSelection(id: string | null): void {
  const q = new URLSearchParams(location.search);
  if (id) q.set("thread", id);
  else q.delete("thread");
  const s = q.toString();
  history.replaceState(null, "", location.pathname + (s ? `?${s}` : ""));
}

/**
 * Leaves the open thread: unsubscribes from it and from the sub-agents the daemon subscribed
 * this page to through it, and forgets their approvals (a resume asks again). Whatever lies
 * within `next` (the thread opened instead: one of those sub-agents, say) is kept.
 */
async function leave(id: string | null, next: string | null = null): Promise<void> {
  const client = ui.client;
  if (!id || !client) return;
  const followed = new Set(client.subscribedThreads().map((s) => s.threadId));
  const family = [id, ...client.tree.descendantsOf(id, { closed: true }).map((t) => t.id)];
  const going = family.filter((t) => (t === id || followed.has(t)) && (next === null || !client.tree.isWithin(t, next)));
  for (const [key, a] of ui.approvals) if (going.includes(a.threadId)) ui.approvals.delete(key);
  await Promise.all(
    going.map(async (threadId) => {
      try {
        await client.request("thread/unsubscribe", { threadId });
      } catch {
        /* gone already */
      }
    }),
  );
}

function select(id: string | null): void {
  ui.selected = id;
  ui.rowsDirty = true;
  transcript.reset();
  rememberSelection(id);
  if (narrow.matches) setDrawer(false);
  scheduleRender();
}

async function openThread(id: string): Promise<void> {
  const client = ui.client;
  if (!client) return;
  if (id === ui.selected) {
    if (narrow.matches) setDrawer(false);
    return;
  }
  const previous = ui.selected;
  const timing: OpenTiming = { threadId: id, start: performance.now(), resumedAt: null };
  ui.opening = timing;
  select(id);
  try {
    await leave(previous, id);
    await client.resumeThread(id);
    timing.resumedAt = performance.now();
    if (ui.selected !== id) await leave(id); // another thread was picked meanwhile
    scheduleRender();
  } catch (e) {
    showError(e);
  }
}

async function newThread(): Promise<string | null> {
  const client = ui.client;
  if (!client) return null;
  try {
    const previous = ui.selected;
    const { thread } = await client.startThread({});
    await leave(previous);
    ui.threads = [thread, ...ui.threads.filter((t) => t.id !== thread.id)];
    select(thread.id);
    return thread.id;
  } catch (e) {
    showError(e);
    return null;
  }
}

function growPrompt(): void {
  const prompt = $("prompt") as HTMLTextAreaElement;
  prompt.style.height = "auto";
  prompt.style.height = `${prompt.scrollHeight + 2}px`;
}

async function sendPrompt(): Promise<void> {
  const client = ui.client;
  const prompt = $("prompt") as HTMLTextAreaElement;
  const text = prompt.value.trim();
  const images = ui.attachments;
  if (!client || (text.length === 0 && images.length === 0)) return;
  const input: UserInput[] = [];
  if (text) input.push({ type: "text", text });
  for (const a of images) input.push({ type: "image", url: a.url });
  prompt.value = "";
  ui.attachments = [];
  growPrompt();
  transcript.scrollToEnd();
  scheduleRender();
  try {
    const threadId = ui.selected ?? (await newThread());
    if (!threadId) throw new Error("no thread to send to");
    const running = activeTurn(client.thread(threadId));
    if (running) await client.request("turn/steer", { threadId, input, expectedTurnId: running.id });
    else await client.startTurn(threadId, input);
  } catch (e) {
    if (!prompt.value) prompt.value = text;
    if (ui.attachments.length === 0) ui.attachments = images;
    growPrompt();
    scheduleRender();
    showError(e);
  }
}

async function interrupt(): Promise<void> {
  const client = ui.client;
  const turnId = $("interrupt").dataset.turnId;
  if (!client || !ui.selected || !turnId) return;
  try {
    await client.request("turn/interrupt", { threadId: ui.selected, turnId });
  } catch (e) {
    showError(e);
  }
}

/**
 * Which thread a request belongs to, what identifies it across a re-ask (the daemon asks again
 * after a resume, under a new request id), and how its resolution is told.
 */
function describeRequest(r: PendingServerRequest): { threadId: string; itemId: string; summary: string } {
  switch (r.method) {
    case "item/commandExecution/requestApproval":
      return { threadId: r.params.threadId, itemId: r.params.itemId, summary: `\`${r.params.command}\`` };
    case "item/fileChange/requestApproval":
      return { threadId: r.params.threadId, itemId: r.params.itemId, summary: `changes to ${(r.params.changes ?? []).map((c) => c.path).join(", ")}` };
    case "mcpServer/elicitation/request": {
      const p = r.params;
      const call = mcpToolApproval(p);
      if (call) return { threadId: p.threadId, itemId: call.itemId ?? `mcp-${String(r.id)}`, summary: `${call.server} · ${call.tool}` };
      // A server's question has no item: the same question from the same server is the same card.
      return { threadId: p.threadId, itemId: `question/${p.serverName}/${p.message}`, summary: `${p.serverName}'s question` };
    }
  }
}

/**
 * The answer to an MCP elicitation for a button, or null (with the reason shown on the card)
 * when a form's values do not fit its schema.
 */
function elicitationResponse(a: Approval, decision: ApprovalDecision): McpServerElicitationRequestResponse | null {
  const r = a.request;
  if (r.method !== "mcpServer/elicitation/request") return null;
  if (decision === "decline") return elicitationAnswer.decline();
  if (decision === "cancel") return elicitationAnswer.cancel();
  if (mcpToolApproval(r.params)) return decision === "acceptForSession" ? elicitationAnswer.approveForSession() : elicitationAnswer.approve();
  if (r.params.mode !== "form") return elicitationAnswer.approve();
  const card = document.querySelector<HTMLElement>(`#approvals [data-key="${CSS.escape(a.key)}"]`);
  const typed: Record<string, string | boolean> = { ...a.typed };
  for (const el of card?.querySelectorAll<HTMLInputElement | HTMLSelectElement>("[data-field]") ?? []) {
    typed[el.dataset.field ?? ""] = el instanceof HTMLInputElement && el.type === "checkbox" ? el.checked : el.value;
  }
  const out = elicitationContent(elicitationFields(r.params), typed);
  if ("error" in out) {
    const box = card?.querySelector<HTMLElement>("[data-testid=elicitation-error]");
    if (box) box.textContent = out.error;
    return null;
  }
  return elicitationAnswer.submit(out.content);
}

function answer(key: string, decision: ApprovalDecision): void {
  const a = ui.approvals.get(key);
  if (!a || a.stale) return;
  const r = a.request;
  if (r.method === "mcpServer/elicitation/request") {
    const response = elicitationResponse(a, decision);
    if (!response) return;
    ui.approvals.delete(key);
    r.respond(response);
  } else {
    ui.approvals.delete(key);
    r.respond({ decision });
  }
  scheduleRender();
}

function wire(client: AgentdClient): void {
  client.onConnectionState((state, detail) => {
    setStatus(state, state === "open" ? undefined : detail);
    if (state === "open") void refreshThreads();
    scheduleRender();
  });
  client.threads.subscribe((thread) => {
    if (thread.id === ui.selected) scheduleRender();
  });
  client.onServerRequestPending((request) => {
    const { threadId, itemId, summary } = describeRequest(request);
    const key = `${threadId}/${itemId}`;
    // A re-ask keeps what was typed into the form it replaces.
    ui.approvals.set(key, { key, request, threadId, stale: false, typed: ui.approvals.get(key)?.typed ?? {} });
    ui.asked.set(String(request.id), summary);
    request.signal.addEventListener("abort", () => {
      const a = ui.approvals.get(key);
      if (a?.request !== request) return;
      // A dropped connection voids the request, but the daemon asks again after the resume:
      // keep the card in sight meanwhile.
      if (request.signal.reason instanceof ConnectionLostError) a.stale = true;
      else ui.approvals.delete(key);
      scheduleRender();
    });
    scheduleRender();
  });
  client.on("serverRequest/resolved", (p) => {
    const what = ui.asked.get(String(p.requestId)) ?? "approval";
    ui.resolutions.push({ threadId: p.threadId, text: `${what} → ${p.decision} (by ${p.resolvedBy.clientName})`, at: Date.now() });
    if (ui.resolutions.length > 50) ui.resolutions.shift();
    setTimeout(scheduleRender, RESOLUTION_MS + 100);
    scheduleRender();
  });
  client.on("thread/tokenUsage/updated", (p) => {
    const prev = ui.liveUsage.get(p.turnId);
    const last = p.tokenUsage.last;
    ui.liveUsage.set(
      p.turnId,
      prev
        ? {
            totalTokens: prev.totalTokens + last.totalTokens,
            inputTokens: prev.inputTokens + last.inputTokens,
            cachedInputTokens: prev.cachedInputTokens + last.cachedInputTokens,
            outputTokens: prev.outputTokens + last.outputTokens,
            reasoningOutputTokens: prev.reasoningOutputTokens + last.reasoningOutputTokens,
          }
        : last,
    );
    ui.rowsDirty = true;
    scheduleRender();
  });
  for (const m of ["thread/started", "turn/completed", "thread/name/updated", "thread/archived", "thread/unarchived"] as const) {
    client.on(m, () => void refreshThreads());
  }
}

// ---------------------------------------------------------------------------------------------
// Images in the composer (paste, drop, or the clip button): sent as data: URLs

const MAX_SIDE = 2048;

async function imageDataUrl(file: File): Promise<string> {
  const small = file.size < 1_500_000 && /^image\/(png|jpeg|gif|webp)$/.test(file.type);
  if (!small) {
    // A phone photo: scale it down so the frame stays well under the daemon's limit.
    try {
      const bmp = await createImageBitmap(file);
      const scale = Math.min(1, MAX_SIDE / Math.max(bmp.width, bmp.height));
      const canvas = document.createElement("canvas");
      canvas.width = Math.round(bmp.width * scale);
      canvas.height = Math.round(bmp.height * scale);
      canvas.getContext("2d")?.drawImage(bmp, 0, 0, canvas.width, canvas.height);
      bmp.close();
      return canvas.toDataURL("image/jpeg", 0.85);
    } catch {
      /* not decodable here: send it as it is */
    }
  }
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result));
    r.onerror = () => reject(r.error ?? new Error("cannot read the image"));
    r.readAsDataURL(file);
  });
}

async function addImages(files: Iterable<File>): Promise<void> {
  for (const f of files) {
    if (!f.type.startsWith("image/")) continue;
    try {
      ui.attachments.push({ url: await imageDataUrl(f), name: f.name || "pasted image" });
    } catch (e) {
      showError(e);
    }
  }
  scheduleRender();
}

// ---------------------------------------------------------------------------------------------
// Dialogs and thread actions

function ask(text: string, opts: { value?: string; type?: "text" | "number"; input?: boolean; ok?: string } = {}): Promise<string | null> {
  const dialog = $("dialog") as HTMLDialogElement;
  const input = $("dialog-input") as HTMLInputElement;
  $("dialog-text").textContent = text;
  input.hidden = opts.input === false;
  input.type = opts.type ?? "text";
  input.value = opts.value ?? "";
  $("dialog-ok").textContent = opts.ok ?? "OK";
  dialog.returnValue = "";
  dialog.showModal();
  if (!input.hidden) input.select();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok" ? input.value : null), { once: true });
  });
}

async function threadAction(action: string): Promise<void> {
  const client = ui.client;
  const id = ui.selected;
  if (action === "forget") return forgetToken();
  if (action === "remember") {
    setRemembered(!isRemembered());
    scheduleRender();
    return;
  }
  if (!client || !id) return;
  const state = client.thread(id);
  try {
    switch (action) {
      case "rename": {
        const name = await ask("Name this thread", { value: state?.name ?? "" });
        if (name !== null) await client.request("thread/name/set", { threadId: id, name: name.trim() });
        break;
      }
      case "fork": {
        const { thread } = await client.request("thread/fork", { threadId: id });
        await leave(id);
        ui.threads = [thread, ...ui.threads];
        select(thread.id);
        void refreshThreads();
        break;
      }
      case "rollback": {
        const n = await ask("Roll back how many of the last turns? The model forgets them; file edits are not undone.", { value: "1", type: "number", ok: "Roll back" });
        const numTurns = n === null ? 0 : Math.floor(Number(n));
        if (numTurns >= 1) {
          const { changedFiles } = await client.request("thread/rollback", { threadId: id, numTurns });
          if (changedFiles.length) showError(`Rolled back. Files those turns changed (not reverted): ${changedFiles.join(", ")}`);
        }
        break;
      }
      case "archive":
        if ((await ask("Archive this thread?", { input: false, ok: "Archive" })) !== null) await client.request("thread/archive", { threadId: id });
        break;
      case "unarchive":
        await client.request("thread/unarchive", { threadId: id });
        break;
    }
  } catch (e) {
    showError(e);
  }
  void refreshThreads();
  scheduleRender();
}

function showTokenCard(why?: string): void {
  $("token-card").hidden = false;
  if (why) $("token-why").textContent = why;
  ($("token-remember") as HTMLInputElement).checked = isRemembered();
  ($("token-input") as HTMLInputElement).focus();
}

function forgetToken(): void {
  storage("session")?.removeItem(TOKEN_KEY);
  storage("local")?.removeItem(TOKEN_KEY);
  history.replaceState(null, "", location.pathname + location.search);
  const client = ui.client;
  ui.client = null;
  void client?.close();
  ui.approvals.clear();
  setStatus("closed", "token forgotten");
  showTokenCard("The token was forgotten on this device. Enter one to connect again.");
}

function toggleMenu(open?: boolean): void {
  const menu = $("actions-menu");
  const show = open ?? menu.hidden;
  if (show && narrow.matches) setDrawer(false);
  menu.hidden = !show;
  $("actions-button").setAttribute("aria-expanded", String(show));
}

// ---------------------------------------------------------------------------------------------
// Events

function bindUi(): void {
  const onThreadClick = (ev: Event) => {
    const btn = (ev.target as HTMLElement).closest<HTMLElement>("[data-thread-id]");
    if (btn?.dataset.threadId) void openThread(btn.dataset.threadId);
  };
  $("thread-list").addEventListener("click", onThreadClick);
  $("search-results").addEventListener("click", onThreadClick);
  $("new-thread").addEventListener("click", () => void newThread());
  $("refresh").addEventListener("click", () => void refreshThreads());
  $("show-archived").addEventListener("change", (ev) => {
    ui.showArchived = (ev.target as HTMLInputElement).checked;
    void refreshThreads();
    if (ui.search) void runSearch(ui.search.query);
  });
  let searchTimer: ReturnType<typeof setTimeout> | undefined;
  const search = $("search") as HTMLInputElement;
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => void runSearch(search.value), 250);
  });
  $("search-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    clearTimeout(searchTimer);
    void runSearch(search.value);
  });

  $("menu-button").addEventListener("click", () => setDrawer(document.body.dataset.drawer !== "open"));
  $("backdrop").addEventListener("click", () => setDrawer(false));
  $("actions-button").addEventListener("click", (ev) => {
    ev.stopPropagation();
    toggleMenu();
  });
  $("actions-menu").addEventListener("click", (ev) => {
    const btn = (ev.target as HTMLElement).closest<HTMLElement>("[data-action]");
    if (!btn?.dataset.action) return;
    toggleMenu(false);
    void threadAction(btn.dataset.action);
  });
  document.addEventListener("click", (ev) => {
    if (!$("actions-menu").hidden && !(ev.target as HTMLElement).closest("#actions-menu")) toggleMenu(false);
  });
  document.addEventListener("keydown", (ev) => {
    if (ev.key !== "Escape") return;
    toggleMenu(false);
    if (narrow.matches) setDrawer(false);
  });

  const rows = $("rows");
  rows.addEventListener("click", (ev) => {
    const target = ev.target as HTMLElement;
    const open = target.closest<HTMLElement>("[data-open-thread]");
    if (open?.dataset.openThread) {
      void openThread(open.dataset.openThread);
      return;
    }
    // Remember what the reader opened or closed (the row may be rebuilt or scrolled away).
    const summary = target.closest("summary");
    const details = summary?.parentElement as HTMLDetailsElement | null | undefined;
    if (details?.dataset.openKey) ui.open.set(details.dataset.openKey, !details.open);
  });
  $("to-bottom").addEventListener("click", () => transcript.scrollToEnd());

  const composer = $("composer");
  composer.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void sendPrompt();
  });
  const prompt = $("prompt") as HTMLTextAreaElement;
  prompt.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      void sendPrompt();
    }
  });
  prompt.addEventListener("input", growPrompt);
  prompt.addEventListener("paste", (ev) => {
    const files = [...(ev.clipboardData?.files ?? [])].filter((f) => f.type.startsWith("image/"));
    if (files.length) {
      ev.preventDefault();
      void addImages(files);
    }
  });
  composer.addEventListener("dragover", (ev) => {
    if ([...(ev.dataTransfer?.items ?? [])].some((i) => i.kind === "file")) {
      ev.preventDefault();
      composer.classList.add("drop");
    }
  });
  composer.addEventListener("dragleave", () => composer.classList.remove("drop"));
  composer.addEventListener("drop", (ev) => {
    composer.classList.remove("drop");
    if (!ev.dataTransfer?.files.length) return;
    ev.preventDefault();
    void addImages(ev.dataTransfer.files);
  });
  const fileInput = $("file-input") as HTMLInputElement;
  fileInput.addEventListener("change", () => {
    void addImages([...(fileInput.files ?? [])]);
    fileInput.value = "";
  });
  $("attachments").addEventListener("click", (ev) => {
    const i = (ev.target as HTMLElement).closest<HTMLElement>("[data-remove]")?.dataset.remove;
    if (i === undefined) return;
    ui.attachments.splice(Number(i), 1);
    scheduleRender();
  });
  $("interrupt").addEventListener("click", () => void interrupt());
  $("parent-link").addEventListener("click", () => {
    const id = $("parent-link").dataset.openThread;
    if (id) void openThread(id);
  });
  $("approvals").addEventListener("click", (ev) => {
    const open = (ev.target as HTMLElement).closest<HTMLElement>("[data-open-thread]");
    if (open?.dataset.openThread) {
      void openThread(open.dataset.openThread);
      return;
    }
    const btn = (ev.target as HTMLElement).closest<HTMLElement>("[data-decision]");
    const card = btn?.closest<HTMLElement>("[data-key]");
    if (btn?.dataset.decision && card?.dataset.key) answer(card.dataset.key, btn.dataset.decision as ApprovalDecision);
  });
  // What is typed into an MCP server's form is kept (not re-rendered: the input has it).
  const keepTyped = (ev: Event): void => {
    const el = ev.target as HTMLInputElement | HTMLSelectElement;
    const key = el.closest<HTMLElement>("[data-key]")?.dataset.key;
    const a = key ? ui.approvals.get(key) : undefined;
    const field = el.dataset.field;
    if (!a || field === undefined) return;
    a.typed[field] = el instanceof HTMLInputElement && el.type === "checkbox" ? el.checked : el.value;
    const box = el.closest("form")?.querySelector<HTMLElement>("[data-testid=elicitation-error]");
    if (box) box.textContent = "";
  };
  $("approvals").addEventListener("input", keepTyped);
  $("approvals").addEventListener("change", keepTyped);
  // Enter in a form field submits it, as the Submit button does.
  $("approvals").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const key = (ev.target as HTMLElement).closest<HTMLElement>("[data-key]")?.dataset.key;
    if (key) answer(key, "accept");
  });
  $("token-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const value = ($("token-input") as HTMLInputElement).value.trim();
    if (value) {
      storage("session")?.setItem(TOKEN_KEY, value);
      if (($("token-remember") as HTMLInputElement).checked) storage("local")?.setItem(TOKEN_KEY, value);
      else storage("local")?.removeItem(TOKEN_KEY);
    }
    location.reload();
  });
}

/**
 * A phone that wakes up may hold a socket that died while it slept, and learn it only much later:
 * when the page becomes visible again, ask something small; no answer in 5 s means the
 * connection is dead, so drop it and let the client reconnect and resume.
 */
async function checkAlive(): Promise<void> {
  const client = ui.client;
  if (document.visibilityState !== "visible" || !client || client.connectionState !== "open") return;
  try {
    await client.request("thread/list", { limit: 1 }, { timeoutMs: 5000 });
  } catch (e) {
    if (e instanceof RequestTimeoutError && ui.client === client) client.debugDropConnection();
  }
}

async function main(): Promise<void> {
  document.addEventListener("visibilitychange", () => void checkAlive());
  bindUi();
  const token = takeToken();
  const initial = query.get("thread");
  setDrawer(narrow.matches && !initial);
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/`;
  const client = new AgentdClient(webSocketConnector(url, { token }), {
    clientInfo: { name: clientName, title: "agentd web", version: "0.2.0" },
  });
  ui.client = client;
  if (debug) {
    (window as unknown as { agentdDebug: unknown }).agentdDebug = { client, ui, transcript, select, render: scheduleRender };
  }
  wire(client);
  setStatus("connecting");
  try {
    await client.connect();
    setStatus("open");
    document.body.dataset.ready = "true";
    await refreshThreads();
    if (initial) await openThread(initial);
  } catch (e) {
    setStatus("error", token ? "the daemon refused the connection (wrong token?)" : "a token is needed");
    showTokenCard(token ? "The daemon refused this token (or cannot be reached). Enter another one." : undefined);
    if (token) showError(e);
  }
}

void main();
