// A virtual list for the transcript: only the rows within `overscan` px of the viewport are in
// the DOM. Heights are measured once a row has been rendered (an estimate stands in before), and
// the row under the top of the viewport keeps its place when rows above it change height. The
// list follows the end (streaming output) until the reader scrolls up.

import type { Row, RowContext } from "./items.js";

interface Node {
  el: HTMLElement;
  version: unknown[];
}

export interface RenderStats {
  /** Rows in the list. */
  rows: number;
  /** Rows in the DOM after this render. */
  rendered: number;
  /** Rows whose HTML was built in this render. */
  built: number;
}

function sameVersion(a: unknown[], b: unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class VirtualList {
  /** Follow the end of the list (new output) unless the reader scrolled up. */
  stick = true;
  /** Called when something needs a render (a scroll, a row that changed size). */
  onChange: () => void = () => {};

  private rows: Row[] = [];
  private readonly heights = new Map<string, number>();
  private readonly nodes = new Map<string, Node>();
  private offsets = new Float64Array(1);
  private lastSetTop = -1;
  private start = 0;
  private end = 0;
  private readonly ro: ResizeObserver;

  constructor(
    private readonly scroller: HTMLElement,
    private readonly content: HTMLElement,
    private readonly ctx: RowContext,
    private readonly overscan = 800,
  ) {
    scroller.addEventListener("scroll", () => this.onScroll(), { passive: true });
    this.ro = new ResizeObserver((entries) => {
      for (const e of entries) {
        const el = e.target as HTMLElement;
        const key = el.dataset.key;
        if (key === undefined) {
          this.onChange(); // the viewport itself
          return;
        }
        const h = e.borderBoxSize?.[0]?.blockSize ?? el.getBoundingClientRect().height;
        if (Math.abs((this.heights.get(key) ?? -1) - h) > 0.5) {
          this.onChange();
          return;
        }
      }
    });
    this.ro.observe(scroller);
  }

  get length(): number {
    return this.rows.length;
  }

  setRows(rows: Row[]): void {
    this.rows = rows;
  }

  /** Forget everything (another thread): the next render starts at the end. */
  reset(): void {
    for (const node of this.nodes.values()) {
      this.ro.unobserve(node.el);
      node.el.remove();
    }
    this.nodes.clear();
    this.heights.clear();
    this.rows = [];
    this.stick = true;
    this.start = this.end = 0;
    this.content.style.paddingTop = this.content.style.paddingBottom = "0px";
  }

  /** Rebuild every rendered row on the next render (something they show changed). */
  invalidate(): void {
    for (const node of this.nodes.values()) node.version = [Symbol("stale")];
  }

  scrollToEnd(): void {
    this.stick = true;
    this.onChange();
  }

  private onScroll(): void {
    const sc = this.scroller;
    if (Math.abs(sc.scrollTop - this.lastSetTop) < 1) return; // our own write
    this.lastSetTop = -1;
    this.stick = sc.scrollHeight - sc.scrollTop - sc.clientHeight < 32;
    this.onChange();
  }

  private computeOffsets(): void {
    const n = this.rows.length;
    if (this.offsets.length !== n + 1) this.offsets = new Float64Array(n + 1);
    const off = this.offsets;
    off[0] = 0;
    for (let i = 0; i < n; i++) {
      const row = this.rows[i] as Row;
      off[i + 1] = (off[i] as number) + (this.heights.get(row.key) ?? row.estimate);
    }
  }

  /** The row at height `y` (clamped to the list). */
  private indexAt(y: number): number {
    const off = this.offsets;
    let lo = 0;
    let hi = this.rows.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((off[mid] as number) <= y) lo = mid;
      else hi = mid - 1;
    }
    return Math.max(0, lo);
  }

  /** Puts rows [start, end) in the DOM, in order, reusing unchanged ones. */
  private reconcile(start: number, end: number): number {
    const wanted = new Set<string>();
    for (let i = start; i < end; i++) wanted.add((this.rows[i] as Row).key);
    for (const [key, node] of this.nodes) {
      if (!wanted.has(key)) {
        this.ro.unobserve(node.el);
        node.el.remove();
        this.nodes.delete(key);
      }
    }
    let built = 0;
    let cursor: ChildNode | null = this.content.firstChild;
    for (let i = start; i < end; i++) {
      const row = this.rows[i] as Row;
      let node = this.nodes.get(row.key);
      if (!node) {
        const el = document.createElement("div");
        el.className = "row";
        el.dataset.key = row.key;
        el.innerHTML = row.html(this.ctx);
        node = { el, version: row.version };
        this.nodes.set(row.key, node);
        this.ro.observe(el);
        built++;
      } else if (!sameVersion(node.version, row.version)) {
        node.el.innerHTML = row.html(this.ctx);
        node.version = row.version;
        built++;
      }
      if (node.el === cursor) cursor = cursor.nextSibling;
      else this.content.insertBefore(node.el, cursor);
    }
    return built;
  }

  render(): RenderStats {
    const sc = this.scroller;
    const n = this.rows.length;
    this.computeOffsets();
    const viewH = sc.clientHeight || window.innerHeight;
    let anchor = 0;
    let delta = 0;
    if (!this.stick && n > 0) {
      anchor = this.indexAt(sc.scrollTop);
      delta = sc.scrollTop - (this.offsets[anchor] as number);
    }
    let built = 0;
    for (let pass = 0; pass < 4; pass++) {
      const total = this.offsets[n] as number;
      const top = this.stick ? Math.max(0, total - viewH) : (this.offsets[anchor] as number) + delta;
      const start = n === 0 ? 0 : this.indexAt(Math.max(0, top - this.overscan));
      const end = n === 0 ? 0 : Math.min(n, this.indexAt(top + viewH + this.overscan) + 1);
      // Settled: the rows measured in the last pass did not move the window.
      if (pass > 0 && start === this.start && end === this.end) break;
      built += this.reconcile(start, end);
      let changed = false;
      for (let i = start; i < end; i++) {
        const row = this.rows[i] as Row;
        const h = (this.nodes.get(row.key) as Node).el.getBoundingClientRect().height;
        if (Math.abs((this.heights.get(row.key) ?? -1) - h) > 0.5) {
          this.heights.set(row.key, h);
          changed = true;
        }
      }
      if (changed) this.computeOffsets();
      this.content.style.paddingTop = `${this.offsets[start]}px`;
      this.content.style.paddingBottom = `${(this.offsets[n] as number) - (this.offsets[end] as number)}px`;
      const want = this.stick ? sc.scrollHeight : (this.offsets[anchor] as number) + delta;
      if (Math.abs(sc.scrollTop - want) >= 1) {
        sc.scrollTop = want;
        this.lastSetTop = sc.scrollTop;
      }
      this.start = start;
      this.end = end;
      if (!changed) break;
    }
    return { rows: n, rendered: this.end - this.start, built };
  }
}
