// Unified diffs, coloured line by line: `+` added, `-` removed, `@@` hunk headers.

import { esc } from "./util.js";

const MAX_LINES = 3000;

export interface DiffStat {
  added: number;
  removed: number;
}

export function diffStat(diff: string): DiffStat {
  let added = 0;
  let removed = 0;
  for (const line of diff.split("\n")) {
    if (line.startsWith("+++") || line.startsWith("---")) continue;
    if (line.startsWith("+")) added++;
    else if (line.startsWith("-")) removed++;
  }
  return { added, removed };
}

export function diffStatHtml(s: DiffStat): string {
  return `<span class="diffstat"><span class="a">+${s.added}</span> <span class="d">−${s.removed}</span></span>`;
}

function lineClass(line: string): string {
  if (line.startsWith("+++") || line.startsWith("---") || line.startsWith("diff ") || line.startsWith("index ")) return "file";
  if (line.startsWith("+")) return "add";
  if (line.startsWith("-")) return "del";
  if (line.startsWith("@@")) return "hunk";
  return "ctx";
}

export function renderDiff(diff: string): string {
  const lines = diff.replace(/\n$/, "").split("\n");
  const shown = lines.length > MAX_LINES ? lines.slice(0, MAX_LINES) : lines;
  const body = shown.map((l) => `<span class="dl ${lineClass(l)}">${esc(l) || " "}</span>`).join("");
  const more = lines.length > shown.length ? `<span class="dl file">… ${lines.length - shown.length} more lines</span>` : "";
  return `<pre class="block diff" data-testid="diff">${body}${more}</pre>`;
}
