// The transcript, in headless Chromium at desktop and phone sizes: Markdown (sanitised: a
// <script> shows as text, nothing runs), highlighted code, reasoning collapsed, a plan as a
// checklist, a file change as a coloured diff (approved from its card), a command with its
// output collapsed and its exit status, token usage per turn, a failed turn, an image sent from
// the composer; and, from a state the test loads into the page's store, what the daemon cannot
// produce yet: MCP tool calls, web searches (queries, a page opened, text looked for), sub-agent
// calls (each agent's state), sub-agent threads as a tree.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

import { messageAnswer, shellCallAnswer, startDaemon, startMock } from "../../typescript/dist/test/harness.js";
import { assertNoOverflow, DESKTOP, launch, openPage, PHONE, shot, skip } from "./helpers.mjs";

const here = dirname(fileURLToPath(import.meta.url));

const MARKDOWN = [
  "# Results\n\nSome **bold** text, a `span` and a [link](https://example.com/docs).\n\n",
  "<script>window.__pwned = 1</script>\n\n",
  'Inline <img src=x onerror="window.__pwned = 2"> and [bad](javascript:window.__pwned=3).\n\n',
  "```rust\nfn main() {\n    let answer = 42;\n    println!(\"{answer}\");\n}\n```\n\n",
  "| file | lines |\n|---|---|\n| a.rs | 10 |\n\n",
  "- [x] parsed\n- [ ] tested\n\n",
  "A very long unbroken token: ", "x".repeat(300), "\n",
];

const PATCH = [
  "*** Begin Patch",
  "*** Update File: greet.py",
  "@@",
  " def greet(name):",
  '-    return "hi " + name',
  '+    return f"Hello, {name}!"',
  "*** Add File: NOTES.md",
  "+# Notes",
  "+greet() now says Hello.",
  "*** End Patch",
].join("\n");

const PLAN = {
  explanation: "Three steps",
  plan: [
    { step: "Read greet.py", status: "completed" },
    { step: "Change the greeting", status: "inProgress" },
    { step: "Run the check", status: "pending" },
  ],
};

describe("transcript", { skip }, () => {
  let mock, daemon, browser;

  before(async () => {
    mock = await startMock([
      { responses: ["created", { reasoning: ["Considering **how** to answer"] }, { message: MARKDOWN }, { completed: { input_tokens: 1234, cached_tokens: 300, output_tokens: 256, reasoning_tokens: 64 } }] },
      { responses: [{ function_call: { call_id: "p1", name: "update_plan", arguments: PLAN } }, { completed: {} }] },
      { responses: [{ custom_tool_call: { call_id: "e1", name: "apply_patch", input: PATCH } }, { completed: {} }] },
      shellCallAnswer("s1", ["sh", "-c", "echo building; echo oops >&2; exit 3"]),
      messageAnswer(["Done: ", "the check ", "failed (exit 3)."]),
      { http_error: { status: 400, body: { error: { message: "the model refused this request", type: "invalid_request_error", code: "bad_request" } } } },
      messageAnswer(["A ", "tidy ", "icon."]),
    ]);
    daemon = await startDaemon(mock.url, { approvals: true });
    writeFileSync(join(daemon.workspace, "greet.py"), 'def greet(name):\n    return "hi " + name\n');
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await daemon?.stop();
    await mock?.stop();
  });

  test("what a turn shows, at desktop and phone sizes", async () => {
    const a = await openPage(browser, daemon, { name: "desktop", viewport: DESKTOP });
    await a.click("[data-testid=new-thread]");
    const threadId = await a.locator("[data-testid=thread][aria-current]").getAttribute("data-thread-id");
    const b = await openPage(browser, daemon, { name: "phone", viewport: PHONE, query: `&thread=${threadId}` });
    await b.locator("[data-testid=turns]").waitFor();

    // 1. Markdown, sanitised; code highlighted; reasoning collapsed; usage.
    await a.fill("[data-testid=prompt]", "show me some markdown");
    await a.click("[data-testid=send]");
    for (const page of [a, b]) {
      await page.locator("[data-testid=turn][data-status=completed]").waitFor({ timeout: 15_000 });
      const msg = page.locator("[data-testid=agent-message]");
      const text = await msg.innerText();
      assert.match(text, /<script>window\.__pwned = 1<\/script>/, "raw HTML shows as text");
      assert.equal(await msg.locator("script").count(), 0);
      assert.equal(await msg.locator("img").count(), 0, "no <img> from raw HTML");
      assert.equal(await msg.locator("[onerror]").count(), 0);
      assert.equal(await msg.locator('a[href^="javascript"]').count(), 0, "no javascript: link");
      assert.equal(await msg.locator('a[href="https://example.com/docs"][target=_blank][rel~=noopener]').count(), 1);
      assert.equal(await msg.locator("h1").innerText(), "Results");
      assert.ok((await msg.locator("pre code.language-rust .hljs-keyword").count()) >= 2, "the code is highlighted");
      assert.equal(await msg.locator("table td").first().innerText(), "a.rs");
      assert.equal(await msg.locator("input[type=checkbox][checked]").count(), 1, "a task list");
      assert.equal(await page.evaluate(() => window.__pwned), undefined, "nothing ran");
      const reasoning = page.locator("[data-testid=reasoning]");
      assert.equal(await reasoning.getAttribute("open"), null, "reasoning is collapsed");
      assert.match(await reasoning.innerText(), /Considering/);
      assert.match(await page.locator("[data-testid=usage]").innerText(), /1\.2k in \(300 cached\) · 256 out · 64 reasoning/);
    }
    await a.locator("[data-testid=reasoning] summary").click();
    await a.locator("[data-testid=reasoning] .body", { hasText: "how to answer" }).waitFor();
    for (const [p, what] of [[a, "desktop"], [b, "phone"]]) await assertNoOverflow(p, `${what}, markdown`);
    await shot(a, "t1-desktop-markdown");
    await shot(b, "t1-phone-markdown");

    // 2. A plan, a file change (approved on the phone, from a card showing the diff), a failing command.
    await b.fill("[data-testid=prompt]", "fix the greeting and run the check");
    await b.locator("[data-testid=send]").tap();
    const patchCard = b.locator("[data-testid=approval]", { hasText: "Apply these changes?" });
    await patchCard.waitFor({ timeout: 15_000 });
    await patchCard.locator("summary").first().tap();
    await patchCard.locator(".dl.add").first().waitFor();
    await assertNoOverflow(b, "phone, patch approval");
    await shot(b, "t2-phone-patch-approval");
    await patchCard.locator("[data-testid=approve]").tap();
    const cmdCard = b.locator("[data-testid=approval]", { hasText: "Run this command?" });
    await cmdCard.waitFor({ timeout: 15_000 });
    await cmdCard.locator("[data-testid=approve]").tap();
    for (const page of [a, b]) {
      await page.locator("[data-testid=agent-message]", { hasText: "failed (exit 3)" }).waitFor({ timeout: 15_000 });
      await page.locator("[data-testid=send][data-mode=start]").waitFor({ timeout: 15_000 });
    }
    for (const page of [a, b]) {
      const plan = page.locator("[data-testid=plan]");
      await plan.waitFor();
      assert.deepEqual(await plan.locator("li").evaluateAll((lis) => lis.map((li) => li.dataset.s)), ["completed", "inProgress", "pending"]);
      const files = page.locator("[data-testid=file-change]");
      await files.waitFor();
      assert.equal(await files.getAttribute("open"), "", "a file change shows its diff");
      const added = files.locator(".dl.add");
      const removed = files.locator(".dl.del");
      assert.ok((await added.count()) >= 3 && (await removed.count()) >= 1, "added and removed lines");
      assert.match(await added.first().innerText(), /^\+/);
      const colours = await page.evaluate(() => {
        const bg = (sel) => getComputedStyle(document.querySelector(sel)).backgroundColor;
        return { add: bg("[data-testid=file-change] .dl.add"), del: bg("[data-testid=file-change] .dl.del"), ctx: bg("[data-testid=file-change] .dl.ctx") };
      });
      assert.notEqual(colours.add, colours.ctx, "added lines are coloured");
      assert.notEqual(colours.del, colours.ctx, "removed lines are coloured");
      assert.notEqual(colours.add, colours.del);
      const cmd = page.locator("[data-testid=command]");
      assert.match(await cmd.locator("[data-testid=exit]").innerText(), /exit 3/);
      assert.equal(await cmd.getAttribute("open"), null, "a finished command is collapsed");
      assert.ok(!(await cmd.locator("[data-testid=output]").isVisible()));
    }
    assert.match(readFileSync(join(daemon.workspace, "greet.py"), "utf8"), /Hello/);
    await a.locator("[data-testid=command] summary").click();
    const output = await a.locator("[data-testid=command] [data-testid=output]").innerText();
    assert.ok(output.includes("building") && output.includes("oops"), output); // stdout and stderr, in either order
    for (const [p, what] of [[a, "desktop"], [b, "phone"]]) await assertNoOverflow(p, `${what}, diff`);
    await a.locator("[data-testid=file-change]").scrollIntoViewIfNeeded();
    await shot(a, "t2-desktop-diff");
    await b.locator("[data-testid=file-change]").scrollIntoViewIfNeeded();
    await shot(b, "t2-phone-diff");

    // 3. A failed turn: the error is its own box.
    await a.fill("[data-testid=prompt]", "this one fails");
    await a.click("[data-testid=send]");
    for (const page of [a, b]) {
      const err = page.locator("[data-testid=turn][data-status=failed] [data-testid=turn-error]");
      await err.waitFor({ timeout: 20_000 });
      assert.match(await err.innerText(), /refused/);
    }
    await shot(b, "t3-phone-failed");

    // 4. An image from the phone's picker (and one pasted on the desktop, then removed).
    await b.setInputFiles("#file-input", { name: "icon.png", mimeType: "image/png", buffer: readFileSync(join(here, "..", "static", "icons", "icon-192.png")) });
    await b.locator("[data-testid=attachment]").waitFor();
    await b.fill("[data-testid=prompt]", "what is this?");
    await shot(b, "t4-phone-attachment");
    await b.locator("[data-testid=send]").tap();
    for (const page of [a, b]) {
      const img = page.locator("[data-testid=user-message] img[data-testid=user-image]");
      await img.waitFor({ timeout: 15_000 });
      assert.match(await img.getAttribute("src"), /^data:image\/png;base64,/);
      await page.locator("[data-testid=agent-message]", { hasText: "A tidy icon." }).waitFor({ timeout: 15_000 });
    }
    assert.equal(await b.locator("[data-testid=attachment]").count(), 0, "sent attachments leave the composer");
    await a.evaluate(async () => {
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = 8;
      const blob = await new Promise((r) => canvas.toBlob(r, "image/png"));
      const dt = new DataTransfer();
      dt.items.add(new File([blob], "pasted.png", { type: "image/png" }));
      document.querySelector("#prompt").dispatchEvent(new ClipboardEvent("paste", { clipboardData: dt, bubbles: true, cancelable: true }));
    });
    await a.locator("[data-testid=attachment]").waitFor();
    await a.locator("[data-testid=attachment] button").click();
    await a.locator("[data-testid=attachment]").waitFor({ state: "detached" });
    for (const [p, what] of [[a, "desktop"], [b, "phone"]]) await assertNoOverflow(p, `${what}, image`);
    await shot(a, "t4-desktop-image");
    await shot(b, "t4-phone-image");

    assert.deepEqual(a.errors, []);
    assert.deepEqual(b.errors, []);
    await a.closeAll();
    await b.closeAll();
  });

  test("items the daemon cannot produce yet, and sub-agents as a tree (from a state loaded into the page)", async () => {
    for (const [viewport, size] of [[DESKTOP, "desktop"], [PHONE, "phone"]]) {
      const page = await openPage(browser, daemon, { name: `synthetic-${size}`, viewport, query: "&debug=1" });
      await page.locator("#thread-list li").first().waitFor({ state: "attached" });
      await page.evaluate(async () => {
        const now = Math.floor(Date.now() / 1000);
        const thread = (id, name, source, turns = []) => ({
          id, name, preview: name, source, turns, archived: false, cliVersion: "0", createdAt: now, updatedAt: now, cwd: "/w",
          ephemeral: false, forkedFromId: null, lastSeq: 1, model: null, modelProvider: "mock", projectId: null, sessionId: id,
          status: { type: "idle" },
        });
        const spawn = (parent, nick, depth) => ({ subAgent: { thread_spawn: { parent_thread_id: parent, depth, agent_nickname: nick, agent_role: "worker" } } });
        const items = [
          { type: "userMessage", id: "u1", content: [{ type: "text", text: "look things up" }, { type: "image", url: "https://example.com/cat.png" }, { type: "localImage", path: "/home/me/shot.png" }] },
          { type: "webSearch", id: "w1", query: "agentd websocket replay", action: { type: "search", query: "agentd websocket replay", queries: ["agentd websocket replay", "codex app-server afterSeq"] } },
          { type: "webSearch", id: "w2", query: "", action: { type: "openPage", url: "https://example.com/protocol" } },
          { type: "webSearch", id: "w3", query: "", action: { type: "findInPage", url: "https://example.com/protocol", pattern: "resyncRequired" } },
          { type: "webSearch", id: "w4", query: "javascript link", action: { type: "openPage", url: "javascript:window.__pwned=4" } },
          { type: "mcpToolCall", id: "m1", server: "docs", tool: "lookup", status: "completed", arguments: { q: "afterSeq" }, durationMs: 42,
            result: { content: [{ type: "text", text: "afterSeq resumes after the last event seen" }], structuredContent: { hits: 1 } }, error: null },
          { type: "mcpToolCall", id: "m2", server: "docs", tool: "fetch", status: "failed", arguments: "{\"url\":\"x\"}", durationMs: 7, result: null, error: { message: "server unreachable" } },
          { type: "collabAgentToolCall", id: "c1", tool: "spawnAgent", status: "completed", senderThreadId: "p", receiverThreadIds: ["child-1"], prompt: "Check **the tests**", agentsStates: {}, model: null },
          { type: "collabAgentToolCall", id: "c2", tool: "wait", status: "completed", senderThreadId: "p", receiverThreadIds: ["child-1", "gone-thread-12345678"], prompt: null, model: null,
            agentsStates: { "child-1": { status: "completed", message: "All 12 tests pass <b>ok</b>" }, "gone-thread-12345678": { status: "notFound", message: null } } },
          { type: "contextCompaction", id: "k1" },
        ];
        const turn = { id: "t1", status: "completed", items, error: null, startedAt: now, completedAt: now, durationMs: 1200, usage: null };
        const d = window.agentdDebug;
        const listed = [
          thread("p", "parent thread", "appServer"),
          thread("child-1", "check tests", spawn("p", "scout", 1)),
          thread("grandchild", "run one test", spawn("child-1", "runner", 2)),
          thread("orphan", "lost child", spawn("not-listed", "stray", 1)),
        ];
        // The daemon has no such threads: list these instead.
        const request = d.client.request.bind(d.client);
        d.client.request = (method, params, opts) =>
          method === "thread/list" ? Promise.resolve({ data: listed, nextCursor: null }) : request(method, params, opts);
        d.ui.threads = listed;
        await new Promise((r) => setTimeout(r, 300)); // a list request already under way lands
        d.ui.threads = listed;
        d.client.threads.load(thread("p", "parent thread", "appServer", [turn]));
        d.select("p");
      });
      await page.locator("[data-testid=mcp-tool-call]").first().waitFor();
      // The tree: child under parent, grandchild under child; a child whose parent is not listed is a root.
      const nested = await page.evaluate(() => {
        const parentOf = (id) => document.querySelector(`#thread-list [data-thread-id="${id}"]`)?.closest("ul")?.closest("li")?.querySelector(":scope > button")?.dataset.threadId ?? null;
        return { child: parentOf("child-1"), grandchild: parentOf("grandchild"), orphan: parentOf("orphan"), p: parentOf("p") };
      });
      assert.deepEqual(nested, { child: "p", grandchild: "child-1", orphan: null, p: null });
      assert.match(await page.locator('#thread-list [data-thread-id="child-1"]').innerText(), /scout: check tests|check tests/);
      // Web searches: the queries, the page opened, the text looked for (a javascript: URL as text).
      const search = page.locator("[data-testid=web-search]");
      assert.deepEqual(await search.evaluateAll((els) => els.map((e) => e.dataset.action)), ["search", "openPage", "findInPage", "openPage"]);
      assert.deepEqual(await search.nth(0).locator("[data-testid=web-search-query]").allInnerTexts(), ["agentd websocket replay", "codex app-server afterSeq"]);
      assert.match(await search.nth(0).innerText(), /Searched the web for/);
      const opened = search.nth(1).locator("a[data-testid=web-search-url]");
      assert.equal(await opened.getAttribute("href"), "https://example.com/protocol");
      assert.equal(await opened.getAttribute("rel"), "noopener noreferrer");
      assert.match(await search.nth(2).innerText(), /Looked for “?resyncRequired”? in https:\/\/example\.com\/protocol/);
      assert.equal(await search.nth(2).locator("[data-testid=web-search-pattern]").innerText(), "resyncRequired");
      assert.equal(await search.nth(3).locator("a").count(), 0, "a javascript: URL is no link");
      assert.match(await search.nth(3).innerText(), /javascript:window\.__pwned=4/);
      // Sub-agent calls: what was done, each agent with its state and last message (as text).
      const [spawnCall, waitCall] = [page.locator("[data-testid=collab]").nth(0), page.locator("[data-testid=collab]").nth(1)];
      assert.equal(await spawnCall.getAttribute("data-tool"), "spawnAgent");
      assert.match(await spawnCall.innerText(), /Started a sub-agent[\s\S]*Check the tests/);
      assert.match(await waitCall.innerText(), /Waited for sub-agents/);
      const agents = waitCall.locator("[data-testid=collab-agent]");
      assert.deepEqual(await agents.evaluateAll((els) => els.map((e) => [e.dataset.threadId, e.dataset.status])), [["child-1", "completed"], ["gone-thread-12345678", "notFound"]]);
      assert.match(await agents.nth(0).innerText(), /check tests[\s\S]*completed[\s\S]*All 12 tests pass <b>ok<\/b>/);
      assert.equal(await agents.nth(0).locator("b").count(), 0, "an agent's message is text");
      assert.match(await agents.nth(1).innerText(), /thread 12345678[\s\S]*notFound/);
      const [ok, failed] = [page.locator("[data-testid=mcp-tool-call]").nth(0), page.locator("[data-testid=mcp-tool-call]").nth(1)];
      assert.match(await ok.innerText(), /docs · lookup[\s\S]*completed[\s\S]*42 ms/);
      assert.equal(await ok.getAttribute("open"), null);
      await ok.locator("summary").click();
      assert.match(await ok.innerText(), /afterSeq resumes[\s\S]*"hits": 1/);
      assert.equal(await failed.getAttribute("open"), "", "a failed tool call shows its error");
      assert.match(await failed.innerText(), /server unreachable/);
      assert.match(await page.locator("[data-testid=user-image-link]").innerText(), /https:\/\/example\.com\/cat\.png/);
      assert.match(await page.locator("[data-testid=user-local-image]").innerText(), /shot\.png/);
      assert.match(await page.locator("[data-testid=subagent-link]").first().innerText(), /check tests/);
      assert.equal(await page.evaluate(() => window.__pwned), undefined, "nothing ran");
      if (size === "phone") {
        await page.click("[data-testid=menu]");
        await page.waitForTimeout(300); // the drawer slides in
      }
      await assertNoOverflow(page, `${size}, synthetic items`);
      await shot(page, `t5-${size}-synthetic`);
      assert.deepEqual(page.errors, []);
      await page.closeAll();
    }
  });
});
