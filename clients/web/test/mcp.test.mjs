// MCP from the page, in headless Chromium against the real daemon, the mock model and
// `mock-mcp stdio`: a tool approval (server, tool, arguments; accept for the session) answered
// on the phone while the desktop sees it resolved, the tool not asked about again, then the
// server's own question (a form: name) filled in and submitted on the phone, and declined on
// the desktop; the mcpToolCall items with their results.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { mcpCallAnswer, messageAnswer, mockMcpConfig, startDaemon, startMock } from "../../typescript/dist/test/harness.js";
import { assertInViewport, assertNoOverflow, DESKTOP, launch, openPage, PHONE, shot, skip } from "./helpers.mjs";

describe("MCP approvals and questions on the page", { skip }, () => {
  let mock, daemon, browser;
  const out = mkdtempSync(join(tmpdir(), "agentd-web-mcp-"));
  const fileA = join(out, "a.txt");
  const fileB = join(out, "b.txt");

  before(async () => {
    mock = await startMock([
      // Turn 1: a write, approved for the session from the phone.
      mcpCallAnswer("w1", "write", { path: fileA, text: "from the phone" }),
      messageAnswer(["Wrote", " it"], 5),
      // Turn 2: another write: not asked again; then the server's own question, answered.
      mcpCallAnswer("w2", "write", { path: fileB, text: "again" }),
      mcpCallAnswer("a1", "ask", {}),
      messageAnswer(["Nice", " to meet you"], 5),
      // Turn 3: the question declined from the desktop.
      mcpCallAnswer("a2", "ask", {}),
      messageAnswer(["No", " name then"], 5),
    ]);
    daemon = await startDaemon(mock.url, { approvals: true, configToml: mockMcpConfig() });
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await daemon?.stop();
    await mock?.stop();
    rmSync(out, { recursive: true, force: true });
  });

  test("a tool approval and a server's form, answered from the phone; a decline from the desktop", async () => {
    const a = await openPage(browser, daemon, { name: "desktop", viewport: DESKTOP });
    await a.click("[data-testid=new-thread]");
    const selected = a.locator("[data-testid=thread][aria-current]");
    await selected.waitFor();
    const threadId = await selected.getAttribute("data-thread-id");
    assert.ok(threadId);
    const b = await openPage(browser, daemon, { name: "phone", viewport: PHONE, query: `&thread=${threadId}&debug=1` });
    try {
      await b.locator(`[data-testid=thread][aria-current][data-thread-id="${threadId}"]`).waitFor({ state: "attached" });

      // 1. The tool approval: server, tool and arguments, the four buttons, on the phone's screen.
      await a.fill("[data-testid=prompt]", "write a file");
      await a.click("[data-testid=send]");
      const card = b.locator("[data-testid=approval][data-method='mcpServer/elicitation/request']");
      await card.waitFor({ timeout: 15_000 });
      await a.locator("[data-testid=approval]").waitFor({ timeout: 15_000 });
      assert.match(await card.innerText(), /Run this MCP tool\?/);
      assert.equal(await card.locator("[data-testid=approval-mcp-tool]").innerText(), "mock · write");
      const args = JSON.parse(await card.locator("[data-testid=approval-mcp-arguments]").innerText());
      assert.deepEqual(args, { path: fileA, text: "from the phone" });
      await assertInViewport(card, "the MCP approval card on the phone");
      for (const id of ["approve", "approve-session", "decline", "cancel"]) {
        const box = await card.locator(`[data-testid=${id}]`).boundingBox();
        assert.ok(box && box.height >= 44 && box.width >= 100, `${id} is a big button: ${JSON.stringify(box)}`);
      }
      await assertNoOverflow(b, "phone, MCP approval");
      await shot(b, "mcp-1-phone-tool-approval");
      await card.locator("[data-testid=approve-session]").tap();

      for (const page of [a, b]) {
        await page.locator("[data-testid=mcp-tool-call][data-status=completed]").waitFor({ timeout: 15_000 });
        await page.locator("[data-testid=turn][data-status=completed]").waitFor({ timeout: 15_000 });
        await page.locator("[data-testid=resolution]", { hasText: "mock · write → acceptForSession (by phone)" }).waitFor();
        assert.equal(await page.locator("[data-testid=approval]").count(), 0, "the card is gone on both pages");
        assert.match(await page.locator("[data-testid=mcp-tool-call]").innerText(), /mock · write/);
      }
      assert.equal(readFileSync(fileA, "utf8"), "from the phone");

      // 2. The write is remembered; `ask` is asked about (a tool approval), then the server asks.
      await b.fill("[data-testid=prompt]", "write again, then ask my name");
      await b.locator("[data-testid=send]").tap();
      const askCard = b.locator("[data-testid=approval]", { hasText: "mock · ask" });
      await askCard.waitFor({ timeout: 15_000 });
      assert.equal(readFileSync(fileB, "utf8"), "again", "the remembered tool ran without a question");
      await askCard.locator("[data-testid=approve]").tap();

      const form = b.locator("[data-testid=approval]", { has: b.locator("[data-testid=elicitation-form]") });
      await form.waitFor({ timeout: 15_000 });
      assert.match(await form.innerText(), /mock asks/);
      assert.equal(await form.locator("[data-testid=elicitation-message]").innerText(), "What is your name?");
      assert.equal(await form.locator("[data-testid=approve-session]").count(), 0, "no session-wide answer to a question");
      const input = form.locator("[data-testid=elicitation-field][data-field=name]");
      await assertInViewport(form, "the question on the phone");
      await assertNoOverflow(b, "phone, MCP form");
      await shot(b, "mcp-2-phone-form");

      // The field is required: an empty Submit says so and keeps the card.
      await form.locator("[data-testid=approve]").tap();
      assert.match(await form.locator("[data-testid=elicitation-error]").innerText(), /required/);
      assert.equal(await form.count(), 1);

      // What was typed survives the card being drawn anew (here: marked stale and back).
      await input.tap();
      await input.fill("Ada");
      await b.evaluate(async () => {
        const d = window.agentdDebug;
        const [approval] = [...d.ui.approvals.values()];
        approval.stale = true;
        d.render();
        await new Promise((r) => setTimeout(r, 100));
        approval.stale = false;
        d.render();
        await new Promise((r) => setTimeout(r, 100));
      });
      assert.equal(await input.inputValue(), "Ada");
      assert.equal(await form.locator("[data-testid=elicitation-error]").innerText(), "", "typing cleared the error");
      await form.locator("[data-testid=approve]").tap();

      for (const page of [a, b]) {
        await page.locator("[data-testid=agent-message]", { hasText: "Nice to meet you" }).waitFor({ timeout: 15_000 });
        await page.locator("[data-testid=resolution]", { hasText: "mock's question → accept (by phone)" }).waitFor();
        assert.equal(await page.locator("[data-testid=approval]").count(), 0);
      }
      const asked = a.locator("[data-testid=mcp-tool-call]", { hasText: "mock · ask" });
      await asked.locator("summary").click();
      await asked.locator(".body", { hasText: 'answer: accept {"name":"Ada"}' }).waitFor();
      await shot(b, "mcp-3-phone-answered");

      // 3. Declined from the desktop: the phone's card goes away too.
      await a.fill("[data-testid=prompt]", "ask again");
      await a.click("[data-testid=send]");
      await b.locator("[data-testid=approval]", { hasText: "mock · ask" }).locator("[data-testid=approve]").tap();
      const question = a.locator("[data-testid=approval]", { has: a.locator("[data-testid=elicitation-form]") });
      await question.waitFor({ timeout: 15_000 });
      await b.locator("[data-testid=elicitation-form]").waitFor({ timeout: 15_000 });
      await question.locator("[data-testid=decline]").click();
      for (const page of [a, b]) {
        await page.locator("[data-testid=agent-message]", { hasText: "No name then" }).waitFor({ timeout: 15_000 });
        await page.locator("[data-testid=resolution]", { hasText: "mock's question → decline (by desktop)" }).waitFor();
        assert.equal(await page.locator("[data-testid=approval]").count(), 0);
      }
      const declined = a.locator("[data-testid=mcp-tool-call]", { hasText: "mock · ask" }).last();
      await declined.locator("summary").click();
      await declined.locator(".body", { hasText: "answer: decline null" }).waitFor();
      for (const page of [a, b]) {
        assert.deepEqual(page.errors.filter((e) => !/websocket|WebSocket/.test(e)), [], "no page errors");
      }
    } finally {
      await a.closeAll();
      await b.closeAll();
    }
  });
});
