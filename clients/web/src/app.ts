// agentd's web page: a thin client over @agentd/client, served by the daemon at `/`.
// List threads, open one, start a turn and watch it stream, answer approvals, interrupt.
//
// The token: open the page as `http://HOST:PORT/#token=<token>` (the daemon prints it on its
// `listening on` line); it is kept in sessionStorage and removed from the address bar. A daemon
// started with --no-auth needs none. `?client=NAME` sets the name other clients see when this
// page answers an approval.

import {
  AgentdClient,
  webSocketConnector,
  type ApprovalDecision,
  type ConnectionState,
  type PendingServerRequest,
  type Thread,
  type ThreadItem,
  type ThreadState,
  type TurnState,
} from "@agentd/client";

const TOKEN_KEY = "agentd.token";
const query = new URLSearchParams(location.search);
const clientName = query.get("client") ?? "web";

function $(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing from the page`);
  return el;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);
}

function takeToken(): string | null {
  const hash = new URLSearchParams(location.hash.slice(1));
  const fromHash = hash.get("token");
  if (fromHash) {
    sessionStorage.setItem(TOKEN_KEY, fromHash);
    history.replaceState(null, "", location.pathname + location.search);
    return fromHash;
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

interface Approval {
  request: PendingServerRequest;
  threadId: string;
  summary: string;
}

interface Resolution {
  threadId: string;
  text: string;
}

const ui = {
  client: null as AgentdClient | null,
  threads: [] as Thread[],
  selected: null as string | null,
  approvals: new Map<string, Approval>(),
  /** Every approval this connection was sent, by request id: to describe its resolution. */
  asked: new Map<string, string>(),
  resolutions: [] as Resolution[],
  renderQueued: false,
};

function setStatus(state: ConnectionState | "error", detail?: string): void {
  const el = $("connection");
  el.dataset.state = state;
  el.textContent = detail ? `${state}: ${detail}` : state;
}

function scheduleRender(): void {
  if (ui.renderQueued) return;
  ui.renderQueued = true;
  requestAnimationFrame(() => {
    ui.renderQueued = false;
    renderThreadList();
    renderThread();
  });
}

function threadLabel(t: Pick<Thread, "id" | "name" | "preview">): string {
  return t.name || t.preview || `thread ${t.id.slice(-8)}`;
}

function renderThreadList(): void {
  const list = $("thread-list");
  list.innerHTML = ui.threads
    .map((t) => {
      const status = ui.client?.thread(t.id)?.status.type ?? t.status.type;
      const sel = t.id === ui.selected ? ' aria-current="true"' : "";
      return `<li><button class="thread" data-testid="thread" data-thread-id="${escapeHtml(t.id)}"${sel}>
        <span class="label">${escapeHtml(threadLabel(t))}</span><span class="badge">${escapeHtml(status)}</span></button></li>`;
    })
    .join("");
}

function renderItem(item: ThreadItem): string {
  const id = escapeHtml(item.id);
  switch (item.type) {
    case "userMessage": {
      const text = item.content.map((c) => (c.type === "text" ? c.text : `[${c.type}]`)).join("\n");
      return `<div class="item user" data-testid="user-message" data-item-id="${id}">${escapeHtml(text)}</div>`;
    }
    case "agentMessage":
      return `<div class="item agent" data-testid="agent-message" data-item-id="${id}">${escapeHtml(item.text)}</div>`;
    case "reasoning":
      return `<div class="item reasoning" data-item-id="${id}">${escapeHtml(item.summary.join("\n"))}</div>`;
    case "commandExecution": {
      const exit = item.exitCode === null ? "" : `<span class="exit">exit ${item.exitCode}</span>`;
      return `<div class="item command" data-testid="command" data-status="${escapeHtml(item.status)}" data-item-id="${id}">
        <div><code>$ ${escapeHtml(item.command)}</code> <span class="badge">${escapeHtml(item.status)}</span> ${exit}</div>
        ${item.aggregatedOutput ? `<pre>${escapeHtml(item.aggregatedOutput)}</pre>` : ""}</div>`;
    }
    case "fileChange":
      return `<div class="item files" data-status="${escapeHtml(item.status)}" data-item-id="${id}">${item.changes
        .map((c) => `<div><code>${escapeHtml(c.kind.type)} ${escapeHtml(c.path)}</code></div><pre>${escapeHtml(c.diff)}</pre>`)
        .join("")}</div>`;
    case "plan":
      return `<div class="item plan" data-item-id="${id}">${escapeHtml(item.text)}</div>`;
    case "contextCompaction":
      return `<div class="item note" data-item-id="${id}">context compacted</div>`;
    case "collabAgentToolCall":
      return `<div class="item note" data-item-id="${id}">${escapeHtml(item.tool)}: ${escapeHtml(item.status)}</div>`;
  }
}

function renderTurn(turn: TurnState): string {
  const error = turn.error ? `<div class="error">${escapeHtml(turn.error.message)}</div>` : "";
  return `<section class="turn" data-testid="turn" data-turn-id="${escapeHtml(turn.id)}" data-status="${escapeHtml(turn.status)}">
    ${turn.items.map(renderItem).join("")}${error}
    <div class="turn-status">${escapeHtml(turn.status)}</div></section>`;
}

function activeTurn(state: ThreadState | undefined): TurnState | undefined {
  return state?.turns.find((t) => t.status === "inProgress");
}

function renderThread(): void {
  const id = ui.selected;
  const main = $("thread");
  main.hidden = id === null;
  if (id === null) return;
  const state = ui.client?.thread(id);
  $("thread-title").textContent = state ? threadLabel(state) : id;
  const status = $("thread-status");
  status.textContent = state?.status.type === "active" && state.status.activeFlags.length > 0
    ? `active (${state.status.activeFlags.join(", ")})`
    : state?.status.type ?? "";
  status.dataset.status = state?.status.type ?? "";

  const turns = $("turns");
  const atBottom = turns.scrollHeight - turns.scrollTop - turns.clientHeight < 40;
  turns.innerHTML = (state?.turns ?? []).map(renderTurn).join("");
  if (atBottom) turns.scrollTop = turns.scrollHeight;

  const approvals = [...ui.approvals.entries()].filter(([, a]) => a.threadId === id);
  $("approvals").innerHTML = approvals
    .map(([key, a]) => `<div class="approval" data-testid="approval" data-key="${escapeHtml(key)}">
      <div>${escapeHtml(a.summary)}</div>
      <div class="buttons">
        <button data-decision="accept" data-testid="approve">Accept</button>
        <button data-decision="acceptForSession">Accept for session</button>
        <button data-decision="decline" data-testid="decline">Decline</button>
        <button data-decision="cancel">Cancel turn</button>
      </div></div>`)
    .join("");
  $("resolutions").innerHTML = ui.resolutions
    .filter((r) => r.threadId === id)
    .map((r) => `<div class="resolution" data-testid="resolution">${escapeHtml(r.text)}</div>`)
    .join("");

  const running = activeTurn(state);
  ($("interrupt") as HTMLButtonElement).disabled = running === undefined;
  $("interrupt").dataset.turnId = running?.id ?? "";
}

async function refreshThreads(): Promise<void> {
  const client = ui.client;
  if (!client) return;
  try {
    const { data } = await client.request("thread/list", { limit: 50 });
    ui.threads = data;
    scheduleRender();
  } catch (e) {
    showError(e);
  }
}

function showError(e: unknown): void {
  const el = $("error");
  el.textContent = e instanceof Error ? e.message : String(e);
  el.hidden = false;
  setTimeout(() => {
    el.hidden = true;
  }, 8000);
}

async function openThread(id: string): Promise<void> {
  const client = ui.client;
  if (!client) return;
  const previous = ui.selected;
  ui.selected = id;
  scheduleRender();
  try {
    if (previous && previous !== id) await client.request("thread/unsubscribe", { threadId: previous });
    await client.resumeThread(id);
    scheduleRender();
  } catch (e) {
    showError(e);
  }
}

async function newThread(): Promise<void> {
  const client = ui.client;
  if (!client) return;
  try {
    if (ui.selected) await client.request("thread/unsubscribe", { threadId: ui.selected });
    const { thread } = await client.startThread({});
    ui.selected = thread.id;
    ui.threads = [thread, ...ui.threads.filter((t) => t.id !== thread.id)];
    scheduleRender();
  } catch (e) {
    showError(e);
  }
}

async function sendPrompt(): Promise<void> {
  const client = ui.client;
  const prompt = $("prompt") as HTMLTextAreaElement;
  const text = prompt.value.trim();
  if (!client || !ui.selected || text.length === 0) return;
  prompt.value = "";
  try {
    await client.startTurn(ui.selected, text);
  } catch (e) {
    prompt.value = text;
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

function describeRequest(r: PendingServerRequest): { threadId: string; summary: string } {
  const p = r.params;
  if ("command" in p) return { threadId: p.threadId, summary: `Run \`${p.command}\` in ${p.cwd}?${p.reason ? ` (${p.reason})` : ""}` };
  return { threadId: p.threadId, summary: `Apply changes to ${p.changes.map((c) => c.path).join(", ")}?` };
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
    const key = `${Date.now()}-${String(request.id)}-${Math.random()}`;
    const { threadId, summary } = describeRequest(request);
    ui.approvals.set(key, { request, threadId, summary });
    ui.asked.set(String(request.id), summary);
    request.signal.addEventListener("abort", () => {
      ui.approvals.delete(key);
      scheduleRender();
    });
    scheduleRender();
  });
  client.on("serverRequest/resolved", (p) => {
    const what = ui.asked.get(String(p.requestId)) ?? "approval";
    ui.resolutions.push({ threadId: p.threadId, text: `${what} → ${p.decision} (by ${p.resolvedBy.clientName})` });
    scheduleRender();
  });
  client.on("thread/started", () => void refreshThreads());
  client.on("turn/completed", () => void refreshThreads());
  client.on("thread/name/updated", () => void refreshThreads());
}

function answer(key: string, decision: ApprovalDecision): void {
  const a = ui.approvals.get(key);
  if (!a) return;
  ui.approvals.delete(key);
  a.request.respond({ decision });
  scheduleRender();
}

function bindUi(): void {
  $("thread-list").addEventListener("click", (ev) => {
    const btn = (ev.target as HTMLElement).closest<HTMLElement>("[data-thread-id]");
    if (btn?.dataset.threadId) void openThread(btn.dataset.threadId);
  });
  $("new-thread").addEventListener("click", () => void newThread());
  $("refresh").addEventListener("click", () => void refreshThreads());
  $("composer").addEventListener("submit", (ev) => {
    ev.preventDefault();
    void sendPrompt();
  });
  $("prompt").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      void sendPrompt();
    }
  });
  $("interrupt").addEventListener("click", () => void interrupt());
  $("approvals").addEventListener("click", (ev) => {
    const btn = (ev.target as HTMLElement).closest<HTMLElement>("[data-decision]");
    const card = btn?.closest<HTMLElement>("[data-key]");
    if (btn?.dataset.decision && card?.dataset.key) answer(card.dataset.key, btn.dataset.decision as ApprovalDecision);
  });
  $("token-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const value = ($("token-input") as HTMLInputElement).value.trim();
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    location.reload();
  });
}

async function main(): Promise<void> {
  bindUi();
  const token = takeToken();
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/`;
  const client = new AgentdClient(webSocketConnector(url, { token }), {
    clientInfo: { name: clientName, title: "agentd web", version: "0.1.0" },
  });
  ui.client = client;
  wire(client);
  setStatus("connecting");
  try {
    await client.connect();
    setStatus("open");
    document.body.dataset.ready = "true";
    await refreshThreads();
    const initial = query.get("thread");
    if (initial) await openThread(initial);
  } catch (e) {
    setStatus("error", token ? "the daemon refused the connection (wrong token?)" : "a token is needed");
    $("token-form").hidden = false;
    showError(e);
  }
}

void main();
