// A long thread stays fast: 2,000 items (messages with Markdown and code, reasoning) in ten
// turns (the daemon takes at most 256 output items from one model response), made through the
// mock model, opened at desktop and phone sizes. Prints the time to the first
// painted frame and what scrolling costs per frame; checks that only rows near the viewport are
// in the DOM and that the viewport never shows a blank gap.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { startDaemon, startMock } from "../../typescript/dist/test/harness.js";
import { connectNodeWebSocket } from "../../typescript/dist/src/node.js";
import { assertNoOverflow, DESKTOP, launch, openPage, PHONE, shot, skip } from "./helpers.mjs";

const ITEMS = 2000;
const TURNS = 10;

function longAnswer(turn) {
  const steps = ["created"];
  const per = ITEMS / TURNS;
  for (let i = turn * per; i < (turn + 1) * per; i++) {
    if (i % 10 === 9) steps.push({ reasoning: [`Step ${i}: weighing **option ${i % 7}** against the others.`] });
    else if (i % 50 === 0) steps.push({ message: [`### Part ${i}\n\n\`\`\`python\ndef part_${i}(x):\n    return x * ${i}  # scaled\n\`\`\`\n`] });
    else if (i % 7 === 0) steps.push({ message: [`Item ${i}:\n\n- first point about ${i}\n- second point with \`code_${i}\`\n- third point, a little longer so that it wraps on a phone screen`] });
    else steps.push({ message: [`Item ${i}: ${"lorem ipsum dolor sit amet ".repeat(1 + (i % 5))}**done**.`] });
  }
  steps.push({ completed: {} });
  return { responses: steps };
}

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN;
};
const ms = (x) => `${x.toFixed(1)} ms`;

describe("a 2,000-item thread", { skip }, () => {
  let mock, daemon, browser, threadId;

  before(async () => {
    mock = await startMock(Array.from({ length: TURNS }, (_, t) => longAnswer(t)));
    daemon = await startDaemon(mock.url);
    const client = await connectNodeWebSocket(daemon.url, { token: daemon.token, clientInfo: { name: "maker", version: "1" } });
    try {
      const { thread } = await client.startThread({});
      threadId = thread.id;
      const t0 = Date.now();
      let items = 0;
      for (let t = 0; t < TURNS; t++) {
        const turn = await client.runTurn(threadId, `generate part ${t}`, {}, 120_000);
        assert.equal(turn.status, "completed", JSON.stringify(turn.error));
        items += turn.items.length - 1;
      }
      assert.equal(items, ITEMS);
      console.log(`# made ${items} items (and ${TURNS} user messages) through the mock model in ${Date.now() - t0} ms`);
    } finally {
      await client.close();
    }
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await daemon?.stop();
    await mock?.stop();
  });

  for (const [viewport, size] of [[DESKTOP, "desktop"], [PHONE, "phone"]]) {
    test(`opens and scrolls smoothly at ${size} size (${viewport.width}×${viewport.height})`, async () => {
      const page = await openPage(browser, daemon, { name: `long-${size}`, viewport, query: `&thread=${threadId}&debug=1` });
      await page.waitForFunction(() => window.agentdPerf.opens.length > 0, null, { timeout: 30_000 });
      const open = await page.evaluate(() => window.agentdPerf.opens[0]);
      const rows = await page.evaluate(() => window.agentdDebug.transcript.length);
      assert.ok(rows > ITEMS, `${rows} rows`);
      console.log(`# ${size}: first paint of ${rows} rows ${ms(open.paintMs)} after the tap (thread/resume answered after ${ms(open.resumeMs)}); ${ms(open.sinceNavigationMs)} after navigation`);
      assert.ok(open.paintMs < 10_000, `first paint took ${open.paintMs} ms`);
      await assertNoOverflow(page, `${size}, long thread`);
      await shot(page, `long-${size}-end`);

      // Scroll from the end towards the start, 240 px per frame (14,400 px/s), as a flick would.
      const run = await page.evaluate(async () => {
        const sc = document.getElementById("transcript");
        const perf = window.agentdPerf;
        const from = perf.renders.length;
        const frames = [];
        const rendered = [];
        const gaps = [];
        let longFrames = 0;
        const obs = "PerformanceObserver" in window && PerformanceObserver.supportedEntryTypes.includes("long-animation-frame")
          ? new PerformanceObserver((l) => { longFrames += l.getEntries().length; })
          : null;
        obs?.observe({ type: "long-animation-frame" });
        let last = await new Promise((r) => requestAnimationFrame(r));
        for (let i = 0; i < 300; i++) {
          sc.scrollTop -= 240;
          const now = await new Promise((r) => requestAnimationFrame(r));
          frames.push(now - last);
          last = now;
          rendered.push(document.querySelectorAll("#rows > .row").length);
          if (i % 15 === 0) {
            // What the reader sees mid-viewport is a row, not the padding that stands for the rest.
            await new Promise((r) => requestAnimationFrame(r));
            const box = sc.getBoundingClientRect();
            for (const y of [box.top + 10, box.top + box.height / 2, box.bottom - 10]) {
              const el = document.elementFromPoint(box.left + box.width / 2, y);
              if (!el?.closest(".row")) gaps.push({ i, y, scrollTop: sc.scrollTop, el: el?.id || el?.className || String(el) });
            }
            last = performance.now();
          }
        }
        obs?.disconnect();
        const top = sc.scrollTop;
        sc.scrollTop = 0;
        await new Promise((r) => requestAnimationFrame(r));
        await new Promise((r) => requestAnimationFrame(r));
        const firstRow = document.querySelector("#rows > .row [data-testid=user-message]")?.textContent ?? null;
        const renders = perf.renders.slice(from).map((r) => r.ms);
        return { frames, renders, maxRendered: Math.max(...rendered), gaps, longFrames, top, firstRow, total: sc.scrollHeight };
      });
      const f = run.frames;
      console.log(
        `# ${size}: scrolled ${f.length} frames (${(240 * f.length / 1000).toFixed(0)}k px): frame interval median ${ms(quantile(f, 0.5))}, p95 ${ms(quantile(f, 0.95))}, max ${ms(Math.max(...f))};` +
          ` page render per frame median ${ms(quantile(run.renders, 0.5))}, p95 ${ms(quantile(run.renders, 0.95))}, max ${ms(Math.max(...run.renders))};` +
          ` long animation frames (>50 ms): ${run.longFrames}; rows in the DOM at most ${run.maxRendered} of ${rows}; list height ${run.total} px`,
      );
      assert.deepEqual(run.gaps, [], "no blank gap in the viewport while scrolling");
      assert.ok(run.maxRendered < 150, `only rows near the viewport are in the DOM (${run.maxRendered})`);
      assert.ok(quantile(run.renders, 0.5) < 16, `a render fits in a frame (median ${quantile(run.renders, 0.5)} ms)`);
      assert.match(run.firstRow ?? "", /generate part 0/, "the start of the thread is reachable");
      await shot(page, `long-${size}-start`);

      // The reader scrolled away from the end: a button brings them back.
      await page.locator("#to-bottom").click();
      await page.locator("[data-testid=turn][data-status=completed]").waitFor();
      assert.deepEqual(page.errors, []);
      await page.closeAll();
    });
  }
});
