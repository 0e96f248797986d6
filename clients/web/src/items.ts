// The transcript's rows as HTML: one row per item, a plan row and a footer per turn.
//
// Every string that comes from the daemon goes through `esc` or, for agent text, through
// `markdown` (sanitised). Row HTML is cached per item object: the SDK's reducer replaces an item
// only when it changes, so a row scrolled back into view costs no Markdown parse.

import {
  webSearchDetails,
  type AnyThreadItem,
  type CollabAgentTool,
  type McpToolCallItem,
  type ThreadState,
  type TokenUsageBreakdown,
  type TurnPlanStep,
  type TurnState,
  type UserInput,
  type WebSearchThreadItem,
} from "@agentd/client";

import { diffStat, diffStatHtml, renderDiff } from "./diff.js";
import { G } from "./glyphs.js";
import { markdown } from "./markdown.js";
import { compact, duration, esc, pretty, tail } from "./util.js";

/** Every item a row may show: the SDK's `ThreadItem`s and `webSearch` (not in agentd's protocol yet). */
export type AnyItem = AnyThreadItem;

/** One MCP content block as far as the page reads it (the server wrote it: nothing is assumed). */
function asBlock(v: unknown): Record<string, unknown> | null {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

/** What a row needs to know besides its item. */
export interface RowContext {
  /** Is this <details> open? (`def` when the reader never toggled it) */
  isOpen(key: string, def: boolean): boolean;
  /** Token usage reported for a running turn (`thread/tokenUsage/updated`), by turn id. */
  liveUsage(turnId: string): TokenUsageBreakdown | undefined;
  threadLabel(threadId: string): string;
}

export interface Row {
  key: string;
  /** Compared element by element: the row is re-rendered when any differs. */
  version: unknown[];
  /** Height guess (px) until the row has been measured. */
  estimate: number;
  html(ctx: RowContext): string;
}

const OUTPUT_MAX = 64 * 1024;

/** Markdown of an item's text, parsed once per item object (items are immutable). */
const mdCache = new WeakMap<object, string>();
function md(item: object, text: string): string {
  let html = mdCache.get(item);
  if (html === undefined) {
    html = markdown(text);
    mdCache.set(item, html);
  }
  return html;
}

function statusChip(status: string): string {
  return `<span class="status" data-s="${esc(status)}">${esc(status === "inProgress" ? "running" : status)}</span>`;
}

function details(key: string, ctx: RowContext, def: boolean, cls: string, summary: string, body: string, attrs = ""): string {
  const open = ctx.isOpen(key, def) ? " open" : "";
  return `<details class="card ${cls}" data-open-key="${esc(key)}"${open}${attrs}><summary>${summary}</summary><div class="body">${body}</div></details>`;
}

function userInputHtml(c: UserInput): string {
  switch (c.type) {
    case "text":
      return `<div>${esc(c.text)}</div>`;
    case "image":
      if (/^data:image\//i.test(c.url)) return `<img src="${esc(c.url)}" alt="image" data-testid="user-image">`;
      // The CSP (img-src 'self' data:) keeps remote images out; show where it is.
      return `<a class="chip" href="${esc(c.url)}" target="_blank" rel="noopener noreferrer" data-testid="user-image-link">${G.image} ${esc(c.url)}</a>`;
    case "localImage":
      return `<span class="chip" title="an image file on the daemon's machine" data-testid="user-local-image">${G.image} ${esc(c.path)}</span>`;
    default:
      return `<span class="chip">${esc((c as { type: string }).type)}</span>`;
  }
}

function commandHtml(item: Extract<AnyItem, { type: "commandExecution" }>, key: string, ctx: RowContext): string {
  const exit =
    item.exitCode === null || item.exitCode === undefined
      ? ""
      : `<span class="status ${item.exitCode === 0 ? "ok" : "bad"}" data-testid="exit">exit ${item.exitCode}</span>`;
  const out = tail(item.aggregatedOutput ?? "", OUTPUT_MAX);
  const cut = out.cut ? `<div class="note">… ${compact(out.cut)} characters before this are not shown</div>` : "";
  const body = item.aggregatedOutput
    ? `${cut}<pre class="block output" data-testid="output">${esc(out.text)}</pre>`
    : `<div class="note">${item.status === "inProgress" ? "no output yet" : "no output"}</div>`;
  const summary = `<code class="cmd">$ ${esc(item.command)}</code>${statusChip(item.status)}${exit}<span class="dur">${duration(item.durationMs)}</span>`;
  return details(key, ctx, item.status === "inProgress", "command", summary, `${body}<div class="note">in ${esc(item.cwd)}</div>`,
    ` data-testid="command" data-status="${esc(item.status)}"`);
}

function fileChangeHtml(item: Extract<AnyItem, { type: "fileChange" }>, key: string, ctx: RowContext): string {
  const total = { added: 0, removed: 0 };
  const parts = item.changes.map((c) => {
    const s = diffStat(c.diff);
    total.added += s.added;
    total.removed += s.removed;
    const kind = c.kind as { type: string; move_path?: string | null; movePath?: string | null };
    const move = kind.move_path ?? kind.movePath;
    return `<div class="file-head"><code>${esc(kind.type)} ${esc(c.path)}${move ? ` → ${esc(move)}` : ""}</code> ${diffStatHtml(s)}</div>${renderDiff(c.diff)}`;
  });
  const names = item.changes.map((c) => c.path.split("/").pop() ?? c.path).join(", ");
  const summary = `<span class="what">Edited</span><code class="cmd">${esc(names)}</code>${statusChip(item.status)}${diffStatHtml(total)}`;
  return details(key, ctx, true, "files", summary, parts.join(""), ` data-testid="file-change" data-status="${esc(item.status)}"`);
}

function mcpHtml(item: McpToolCallItem, key: string, ctx: RowContext): string {
  const content = (Array.isArray(item.result?.content) ? item.result.content : [])
    .map((raw) => {
      const c = asBlock(raw);
      if (c?.type === "text" && typeof c.text === "string") return `<pre class="block output">${esc(c.text)}</pre>`;
      if (c?.type === "image" && typeof c.data === "string") {
        const mime = String(c.mimeType ?? c.mime_type ?? "image/png");
        if (/^image\/(png|jpe?g|gif|webp)$/i.test(mime)) return `<img src="data:${esc(mime)};base64,${esc(c.data)}" alt="tool image">`;
      }
      return `<pre class="block">${esc(pretty(raw))}</pre>`;
    })
    .join("");
  const structured =
    item.result?.structuredContent !== undefined && item.result?.structuredContent !== null
      ? `<div class="note">structured</div><pre class="block">${esc(pretty(item.result.structuredContent))}</pre>`
      : "";
  const error = item.error ? `<div class="error-box"><b>Error</b>${esc(item.error.message)}</div>` : "";
  const args = item.arguments === undefined || item.arguments === null ? "" : `<div class="note">arguments</div><pre class="block">${esc(pretty(item.arguments))}</pre>`;
  const summary = `<span class="what">${G.tool} ${esc(item.server)} · ${esc(item.tool)}</span>${statusChip(item.status)}<span class="dur">${duration(item.durationMs)}</span>`;
  return details(key, ctx, Boolean(item.error), "mcp", summary, `${args}${error}${content}${structured}`, ` data-testid="mcp-tool-call" data-status="${esc(item.status)}"`);
}

/** What a sub-agent call did, in words. */
const COLLAB_VERB: Record<CollabAgentTool, string> = {
  spawnAgent: "Started a sub-agent",
  sendInput: "Sent to a sub-agent",
  sendMessage: "Sent to a sub-agent",
  followupTask: "Followed up with a sub-agent",
  resumeAgent: "Resumed a sub-agent",
  wait: "Waited for sub-agents",
  closeAgent: "Closed a sub-agent",
  interruptAgent: "Interrupted a sub-agent",
  listAgents: "Listed the sub-agents",
};

/**
 * A sub-agent call: what was done, its status, the prompt it carried, and one line per agent it
 * names (a button that opens the agent's thread, its state, the start of its last message).
 */
function collabHtml(item: Extract<AnyItem, { type: "collabAgentToolCall" }>, ctx: RowContext): string {
  const ids = [...new Set([...item.receiverThreadIds, ...Object.keys(item.agentsStates ?? {})])];
  const agents = ids
    .map((id) => {
      const state = item.agentsStates?.[id];
      const status = state ? `<span class="status" data-s="${esc(state.status)}">${esc(state.status)}</span>` : "";
      const message = state?.message ? `<span class="agent-msg">${esc(state.message.length > 300 ? `${state.message.slice(0, 300)}…` : state.message)}</span>` : "";
      return `<div class="agent" data-testid="collab-agent" data-thread-id="${esc(id)}" data-status="${esc(state?.status ?? "")}"><button class="chip" data-open-thread="${esc(id)}" data-testid="subagent-link">↳ ${esc(ctx.threadLabel(id))}</button>${status}${message}</div>`;
    })
    .join("");
  const prompt = item.prompt ? `<div class="md">${markdown(item.prompt)}</div>` : "";
  const verb = COLLAB_VERB[item.tool] ?? item.tool;
  return `<div class="card collab" data-testid="collab" data-tool="${esc(item.tool)}" data-status="${esc(item.status)}" data-item-id="${esc(item.id)}"><div><span class="what">${G.agents} ${esc(verb)}</span> ${statusChip(item.status)}</div>${prompt}<div class="subagents">${agents}</div></div>`;
}

/** An http(s) URL as a link that opens elsewhere; anything else as text. */
function linkHtml(url: string, testid: string): string {
  return /^https?:\/\//i.test(url)
    ? `<a href="${esc(url)}" target="_blank" rel="noopener noreferrer" data-testid="${testid}">${esc(url)}</a>`
    : `<code data-testid="${testid}">${esc(url)}</code>`;
}

/** A web search: the queries searched, the page opened, or the text looked for in a page. */
function webSearchHtml(item: WebSearchThreadItem): string {
  const d = webSearchDetails(item);
  const q = (text: string) => `<q data-testid="web-search-query">${esc(text)}</q>`;
  let what: string;
  switch (d.kind) {
    case "openPage":
      what = `Opened ${d.url !== null ? linkHtml(d.url, "web-search-url") : "a page"}`;
      break;
    case "findInPage":
      what = `Looked for ${d.pattern !== null ? `<q data-testid="web-search-pattern">${esc(d.pattern)}</q>` : "text"}${d.url !== null ? ` in ${linkHtml(d.url, "web-search-url")}` : ""}`;
      break;
    default:
      what = d.queries.length > 0 ? `Searched the web for ${d.queries.map(q).join(", ")}` : "Searching the web…";
  }
  return `<div class="websearch" data-testid="web-search" data-action="${d.kind}" data-item-id="${esc(item.id)}">${G.search} ${what}</div>`;
}

/** One item's HTML. */
export function itemHtml(item: AnyItem, key: string, ctx: RowContext): string {
  const id = esc(item.id);
  switch (item.type) {
    case "userMessage":
      return `<div class="user-msg" data-testid="user-message" data-item-id="${id}"><div class="bubble">${item.content.map(userInputHtml).join("")}</div></div>`;
    case "agentMessage":
      return `<div class="msg md" data-testid="agent-message" data-item-id="${id}">${md(item, item.text)}</div>`;
    case "reasoning": {
      const text = [...item.summary, ...item.content].join("\n\n");
      const first = (item.summary.find((s) => s.trim()) ?? item.content.find((s) => s.trim()) ?? "").trim().split("\n")[0] ?? "";
      const summary = `<span class="what">Reasoning</span><span class="preview">${esc(first.replace(/[*_`#]/g, ""))}</span>`;
      return details(key, ctx, false, "reasoning", summary, `<div class="md">${md(item, text)}</div>`, ` data-testid="reasoning" data-item-id="${id}"`);
    }
    case "commandExecution":
      return commandHtml(item, key, ctx);
    case "fileChange":
      return fileChangeHtml(item, key, ctx);
    case "plan":
      return `<div class="card plan md" data-testid="plan-item" data-item-id="${id}">${md(item, item.text)}</div>`;
    case "contextCompaction":
      return `<div class="note" data-item-id="${id}">— context compacted —</div>`;
    case "collabAgentToolCall":
      return collabHtml(item, ctx);
    case "mcpToolCall":
      return mcpHtml(item, key, ctx);
    case "webSearch":
      return webSearchHtml(item);
    default: {
      const other = item as { type: string };
      return details(key, ctx, false, "unknown", `<span class="what">${esc(other.type)}</span>`, `<pre class="block">${esc(pretty(other))}</pre>`);
    }
  }
}

function estimateItem(item: AnyItem): number {
  switch (item.type) {
    case "agentMessage":
      return 34 + Math.ceil(item.text.length / 70) * 21 + (item.text.match(/\n/g)?.length ?? 0) * 8;
    case "userMessage":
      return 64;
    case "fileChange":
      return 80 + item.changes.reduce((n, c) => n + c.diff.split("\n").length * 19, 0);
    case "commandExecution":
      return item.status === "inProgress" ? 140 : 56;
    default:
      return 56;
  }
}

function planHtml(turn: TurnState): string {
  const mark: Record<string, string> = { completed: "☑", inProgress: "◐", pending: "☐" };
  const steps = (turn.plan ?? [])
    .map((s: TurnPlanStep) => `<li data-s="${esc(s.status)}"><span class="box">${mark[s.status] ?? "☐"}</span><span class="text">${esc(s.step)}</span></li>`)
    .join("");
  const expl = turn.planExplanation ? `<div class="expl">${esc(turn.planExplanation)}</div>` : "";
  return `<div class="card plan" data-testid="plan"><div class="what">Plan</div>${expl}<ul>${steps}</ul></div>`;
}

function usageText(u: TokenUsageBreakdown): string {
  const cached = u.cachedInputTokens ? ` (${compact(u.cachedInputTokens)} cached)` : "";
  const reasoning = u.reasoningOutputTokens ? ` · ${compact(u.reasoningOutputTokens)} reasoning` : "";
  return `${compact(u.inputTokens)} in${cached} · ${compact(u.outputTokens)} out${reasoning}`;
}

function footerHtml(turn: TurnState, thread: ThreadState, ctx: RowContext): string {
  const usage = turn.usage ?? ctx.liveUsage(turn.id);
  const usageHtml = usage && usage.totalTokens > 0 ? `<span data-testid="usage" title="${esc(`${usage.totalTokens} tokens in total`)}">${G.tokens} ${esc(usageText(usage))}</span>` : "";
  const status = turn.status === "inProgress" ? "running…" : turn.status;
  const error = turn.error
    ? `<div class="error-box" data-testid="turn-error"><b>Turn failed</b>${esc(turn.error.message)}</div>`
    : "";
  const retry =
    turn.status === "inProgress" && thread.lastError && thread.lastError.turnId === turn.id
      ? `<div class="error-box ${thread.lastError.willRetry ? "retry" : ""}" data-testid="turn-warning"><b>${thread.lastError.willRetry ? "Retrying" : "Error"}</b>${esc(thread.lastError.message)}</div>`
      : "";
  const diff = turn.diff
    ? details(`${turn.id}/#diff`, ctx, false, "turn-diff", `<span class="what">Changes in this turn</span>${diffStatHtml(diffStat(turn.diff))}`, renderDiff(turn.diff))
    : "";
  return `<div class="turn-foot" data-testid="turn" data-turn-id="${esc(turn.id)}" data-status="${esc(turn.status)}">
    <span class="st">${esc(status)}</span><span>${duration(turn.durationMs)}</span>${usageHtml}${retry}${error}${diff}</div>`;
}

/**
 * The rows of a thread, in order: each turn's items, its plan (after the first item), its footer.
 * `label` names other threads (a sub-agent call's agents): a row is drawn again when a name it
 * shows changes (a child's preview arrives after its spawn was drawn).
 */
export function threadRows(thread: ThreadState, live: Map<string, TokenUsageBreakdown>, label: (threadId: string) => string): Row[] {
  const rows: Row[] = [];
  for (const turn of thread.turns) {
    turn.items.forEach((raw, i) => {
      const item = raw as AnyItem;
      const key = `${turn.id}/${item.id}`;
      const names = item.type === "collabAgentToolCall" ? [...item.receiverThreadIds, ...Object.keys(item.agentsStates ?? {})].map(label) : [];
      rows.push({ key, version: [item, ...names], estimate: estimateItem(item), html: (ctx) => itemHtml(item, key, ctx) });
      if (i === 0 && turn.plan) rows.push(planRow(turn));
    });
    if (turn.items.length === 0 && turn.plan) rows.push(planRow(turn));
    const usage = live.get(turn.id);
    const lastError = thread.lastError?.turnId === turn.id ? thread.lastError : null;
    rows.push({
      key: `${turn.id}/#footer`,
      version: [turn.status, turn.usage, turn.error, turn.diff, turn.durationMs, usage, lastError],
      estimate: turn.error ? 80 : 34,
      html: (ctx) => footerHtml(turn, thread, ctx),
    });
  }
  return rows;
}

function planRow(turn: TurnState): Row {
  return { key: `${turn.id}/#plan`, version: [turn.plan, turn.planExplanation], estimate: 40 + (turn.plan?.length ?? 0) * 24, html: () => planHtml(turn) };
}
