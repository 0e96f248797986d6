// End to end in headless Chromium: the page the daemon serves at `/`, at desktop (1400×900) and
// phone (390×844) sizes, several pages on one thread: approvals answered on the phone, interrupt,
// steer, a dropped connection that resumes with nothing lost or doubled, the token kept or
// forgotten, thread actions and search. Screenshots go to clients/web/test-artifacts/.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { messageAnswer, shellCallAnswer, startDaemon, startMock } from "../../typescript/dist/test/harness.js";
import { assertInViewport, assertNoOverflow, DESKTOP, httpUrl, launch, openPage, PHONE, pickThread, shot, skip } from "./helpers.mjs";

const SLOW = Array.from({ length: 200 }, (_, i) => `slow${i} `);
const STEER = Array.from({ length: 60 }, (_, i) => `steer${i} `);
const COUNT = Array.from({ length: 80 }, (_, i) => `n${i} `);

describe("web page", { skip }, () => {
  let mock, daemon, browser;

  before(async () => {
    mock = await startMock([
      shellCallAnswer("c1", ["touch", "web-approved.txt"]),
      messageAnswer(["The", " file", " is", " there"], 10),
      messageAnswer(SLOW, 50),
      messageAnswer(STEER, 40),
      messageAnswer(["steered", " ok"], 10),
      messageAnswer(COUNT, 30),
    ]);
    daemon = await startDaemon(mock.url, { approvals: true });
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await daemon?.stop();
    await mock?.stop();
  });

  test("the daemon serves the page and its modules; the manifest is linked only if it is served", async () => {
    for (const path of ["/", "/app.js", "/sdk/index.js", "/sdk/client.js"]) {
      const resp = await fetch(`${httpUrl(daemon)}${path}`);
      assert.equal(resp.status, 200, path);
      assert.match(resp.headers.get("content-type") ?? "", path === "/" ? /text\/html/ : /javascript/);
    }
    assert.equal((await fetch(`${httpUrl(daemon)}/nope`)).status, 404);
    const html = await (await fetch(`${httpUrl(daemon)}/`)).text();
    const manifest = await fetch(`${httpUrl(daemon)}/manifest.webmanifest`);
    assert.equal(html.includes('rel="manifest"'), manifest.status === 200, "index.html links the manifest exactly when the daemon serves it");
    if (manifest.status === 200) {
      const m = await manifest.json();
      assert.equal(m.display, "standalone");
      for (const icon of m.icons) assert.equal((await fetch(`${httpUrl(daemon)}${icon.src}`)).status, 200, icon.src);
    }
  });

  test("without a token the page asks for one; it can be kept on the device, and forgotten", async () => {
    const page = await openPage(browser, daemon, { name: "tokenless", viewport: PHONE, token: "", ready: false });
    try {
      await page.locator("#connection[data-state=error]").waitFor({ timeout: 15_000 });
      assert.ok(await page.locator("#token-form").isVisible());
      await assertNoOverflow(page, "token form on a phone");
      await shot(page, "token-form-phone");
      await page.fill("#token-input", daemon.token ?? "");
      await page.check("#token-remember");
      await page.click("#token-form button[type=submit]");
      await page.locator("body[data-ready=true]").waitFor({ timeout: 15_000 });
      assert.equal(await page.locator("#connection").getAttribute("data-state"), "open");
      assert.equal(await page.evaluate(() => localStorage.getItem("agentd.token")), daemon.token);

      // Forget it: both storages and the address bar are cleared, the connection closes.
      await page.click("[data-testid=actions]");
      await page.click("[data-testid=forget-token]");
      await page.locator("#token-card:not([hidden])").waitFor();
      const left = await page.evaluate(() => ({
        local: localStorage.getItem("agentd.token"),
        session: sessionStorage.getItem("agentd.token"),
        hash: location.hash,
      }));
      assert.deepEqual(left, { local: null, session: null, hash: "" });
      assert.equal(await page.locator("#connection").getAttribute("data-state"), "closed");
      await page.reload();
      await page.locator("#connection[data-state=error]").waitFor({ timeout: 15_000 });
      assert.ok(await page.locator("#token-form").isVisible(), "after a reload it asks again");
      assert.deepEqual(page.errors.filter((e) => !/websocket|WebSocket|401|403/.test(e)), []);
    } finally {
      await page.closeAll();
    }
  });

  test("desktop and phone on one thread: the phone answers the approval, the desktop sees it resolved; interrupt, steer, reconnect", async () => {
    const a = await openPage(browser, daemon, { name: "desktop", viewport: DESKTOP });
    assert.ok(!a.url().includes("token="), "the token is taken out of the address bar");
    await a.click("[data-testid=new-thread]");
    const selected = a.locator("[data-testid=thread][aria-current]");
    await selected.waitFor();
    const threadId = await selected.getAttribute("data-thread-id");
    assert.ok(threadId);

    const b = await openPage(browser, daemon, { name: "phone", viewport: PHONE, query: `&thread=${threadId}&debug=1` });
    await b.locator(`[data-testid=thread][aria-current][data-thread-id="${threadId}"]`).waitFor({ state: "attached" });
    assert.notEqual(await b.evaluate(() => document.body.dataset.drawer), "open", "on a phone an open thread hides the list");
    assert.ok(await b.locator("[data-testid=turns]").isVisible(), "the transcript is visible");
    assert.ok(await b.locator("[data-testid=prompt]").isVisible(), "the composer is visible");

    await a.fill("[data-testid=prompt]", "please make a file");
    await a.click("[data-testid=send]");

    // Both pages are asked; on the phone the card and its four big buttons are on screen.
    await a.locator("[data-testid=approval]").waitFor({ timeout: 15_000 });
    const card = b.locator("[data-testid=approval]");
    await card.waitFor({ timeout: 15_000 });
    assert.match(await card.innerText(), /touch web-approved\.txt/);
    await assertInViewport(card, "the approval card on the phone");
    for (const id of ["approve", "approve-session", "decline", "cancel"]) {
      const box = await card.locator(`[data-testid=${id}]`).boundingBox();
      assert.ok(box && box.height >= 44 && box.width >= 100, `${id} is a big button: ${JSON.stringify(box)}`);
    }
    for (const [p, what] of [[a, "desktop"], [b, "phone"]]) await assertNoOverflow(p, `${what}, asked`);
    await shot(a, "1-desktop-asked");
    await shot(b, "1-phone-asked");

    // It stays until answered.
    await b.waitForTimeout(500);
    assert.equal(await card.count(), 1);
    await card.locator("[data-testid=approve]").tap();

    for (const page of [a, b]) {
      await page.locator("[data-testid=command][data-status=completed]").waitFor({ timeout: 15_000 });
      await page.locator("[data-testid=turn][data-status=completed]").waitFor({ timeout: 15_000 });
      await page.locator("[data-testid=resolution]", { hasText: "accept (by phone)" }).waitFor();
      assert.equal(await page.locator("[data-testid=approval]").count(), 0, "the approval is gone on both pages");
      assert.equal(await page.locator("[data-testid=agent-message]").innerText(), "The file is there");
      assert.match(await page.locator("[data-testid=command]").innerText(), /exit 0/);
    }
    assert.ok(existsSync(join(daemon.workspace, "web-approved.txt")), "the approved command ran");
    await shot(a, "2-desktop-resolved");
    await shot(b, "2-phone-resolved");

    // A slow turn, interrupted from the phone while it streams.
    await a.fill("[data-testid=prompt]", "talk slowly");
    await a.click("[data-testid=send]");
    await b.locator("[data-testid=agent-message]", { hasText: "slow3 " }).waitFor({ timeout: 15_000 });
    await b.locator("[data-testid=interrupt]").tap();
    for (const page of [a, b]) await page.locator("[data-testid=turn][data-status=interrupted]").waitFor({ timeout: 15_000 });
    const streamed = await a.locator("[data-testid=agent-message]").last().innerText();
    assert.ok(streamed.startsWith("slow0 slow1 slow2 slow3"), streamed);
    assert.ok(!streamed.includes("slow199"), "the turn stopped before the end of the stream");
    await shot(b, "3-phone-interrupted");

    // Steer from the phone while a turn runs: the input joins the turn, the model answers it.
    await b.fill("[data-testid=prompt]", "talk, then listen");
    await b.locator("[data-testid=send]").tap();
    await a.locator("[data-testid=agent-message]", { hasText: "steer3 " }).waitFor({ timeout: 15_000 });
    await b.locator("[data-testid=send][data-mode=steer]").waitFor();
    await b.fill("[data-testid=prompt]", "also say ok");
    await shot(b, "4-phone-steering");
    await b.locator("[data-testid=send]").tap();
    for (const page of [a, b]) {
      await page.locator("[data-testid=agent-message]", { hasText: "steered ok" }).waitFor({ timeout: 15_000 });
      await page.locator("[data-testid=user-message]", { hasText: "also say ok" }).waitFor();
      await page.locator("[data-testid=send][data-mode=start]").waitFor({ timeout: 15_000 });
    }

    // The phone's connection drops mid-stream; it resumes after the last seq it saw.
    await a.fill("[data-testid=prompt]", "count for me");
    await a.click("[data-testid=send]");
    await b.locator("[data-testid=agent-message]", { hasText: "n5 " }).waitFor({ timeout: 15_000 });
    await b.evaluate(() => window.agentdDebug.client.debugDropConnection());
    await b.locator("#connection[data-state=reconnecting]").waitFor({ timeout: 5_000 });
    await shot(b, "5-phone-reconnecting");
    await b.locator("#connection[data-state=open]").waitFor({ timeout: 15_000 });
    const full = COUNT.join("");
    for (const page of [a, b]) {
      await page.locator("[data-testid=agent-message]", { hasText: "n79 " }).waitFor({ timeout: 15_000 });
      await page.locator("[data-testid=send][data-mode=start]").waitFor({ timeout: 15_000 });
      assert.equal((await page.locator("[data-testid=agent-message]").last().innerText()).trim(), full.trim(), "nothing lost, nothing doubled");
    }
    const stats = await b.evaluate(() => window.agentdDebug.client.stats);
    assert.ok(stats.reconnects >= 1, JSON.stringify(stats));
    for (const [p, what] of [[a, "desktop"], [b, "phone"]]) await assertNoOverflow(p, `${what}, after the turns`);
    await shot(a, "6-desktop-after");
    await shot(b, "6-phone-after");

    assert.deepEqual(a.errors, []);
    assert.deepEqual(b.errors.filter((e) => !/reconnect|websocket/i.test(e)), []);
    await a.closeAll();
    await b.closeAll();
  });

  test("thread actions and search: rename, search, fork, roll back, archive; the phone's list is a drawer", async () => {
    const a = await openPage(browser, daemon, { name: "actions", viewport: DESKTOP, query: "&debug=1" });
    const first = a.locator("[data-testid=thread]", { hasText: "please make a file" });
    await first.first().waitFor();
    const threadId = await first.first().getAttribute("data-thread-id");
    await pickThread(a, threadId);
    await a.locator("[data-testid=turn]").first().waitFor();

    await a.click("[data-testid=actions]");
    await a.click("[data-action=rename]");
    await a.fill("[data-testid=dialog-input]", "web test thread");
    await a.click("[data-testid=dialog-ok]");
    await a.locator("[data-testid=thread-title]", { hasText: "web test thread" }).waitFor();
    await a.locator(`[data-testid=thread][data-thread-id="${threadId}"]`, { hasText: "web test thread" }).waitFor();

    await a.fill("[data-testid=search]", "steered");
    const hit = a.locator(`[data-testid=search-results] [data-thread-id="${threadId}"]`);
    await hit.waitFor({ timeout: 10_000 });
    await shot(a, "7-desktop-search");
    await a.fill("[data-testid=search]", "");
    await a.locator("[data-testid=thread-list]:not([hidden])").waitFor();

    const turns = (id) => window.agentdDebug.client.thread(id)?.turns.length ?? -1;
    const turnsBefore = await a.evaluate(turns, threadId);
    await a.click("[data-testid=actions]");
    await a.click("[data-action=rollback]");
    await a.fill("[data-testid=dialog-input]", "1");
    await a.click("[data-testid=dialog-ok]");
    await a.waitForFunction(([id, n]) => window.agentdDebug.client.thread(id)?.turns.length === n - 1, [threadId, turnsBefore], { timeout: 10_000 });
    await a.locator("[data-testid=agent-message]", { hasText: "n79" }).waitFor({ state: "detached" });

    await a.click("[data-testid=actions]");
    await a.click("[data-action=fork]");
    await a.waitForFunction((id) => {
      const cur = document.querySelector("[data-testid=thread][aria-current]");
      return cur && cur.getAttribute("data-thread-id") !== id;
    }, threadId, { timeout: 10_000 });
    const forkId = await a.locator("[data-testid=thread][aria-current]").getAttribute("data-thread-id");
    await a.locator("[data-testid=agent-message]", { hasText: "steered ok" }).waitFor({ timeout: 10_000 });

    await a.click("[data-testid=actions]");
    await a.click("[data-action=archive]");
    await a.click("[data-testid=dialog-ok]");
    await a.locator("[data-testid=thread-status]", { hasText: "archived" }).waitFor({ timeout: 10_000 });
    await a.locator(`[data-testid=thread-list] [data-thread-id="${forkId}"]`).waitFor({ state: "detached" });
    await a.check("#show-archived");
    await a.locator(`[data-testid=thread-list] [data-thread-id="${forkId}"]`).waitFor();
    await a.uncheck("#show-archived");
    await a.click("[data-testid=actions]");
    await a.click("[data-action=unarchive]");
    await a.locator(`[data-testid=thread-list] [data-thread-id="${forkId}"]`).waitFor({ timeout: 10_000 });
    await assertNoOverflow(a, "desktop, actions");
    assert.deepEqual(a.errors, []);
    await a.closeAll();

    // On a phone with no thread open, the list is a drawer, open; picking a thread closes it.
    const b = await openPage(browser, daemon, { name: "phone-list", viewport: PHONE });
    assert.equal(await b.evaluate(() => document.body.dataset.drawer), "open");
    await b.waitForFunction(() => document.getElementById("sidebar").getBoundingClientRect().left >= 0); // it slides in
    await assertInViewport(b.locator("#sidebar [data-testid=thread]").first(), "a thread in the drawer");
    await assertNoOverflow(b, "phone, drawer");
    await shot(b, "8-phone-drawer");
    await b.locator(`[data-testid=thread][data-thread-id="${threadId}"]`).tap();
    await b.waitForFunction(() => document.body.dataset.drawer === "closed");
    await b.locator("[data-testid=agent-message]").first().waitFor();
    await b.click("[data-testid=actions]");
    await shot(b, "8-phone-menu");
    await assertNoOverflow(b, "phone, menu");
    assert.deepEqual(b.errors, []);
    await b.closeAll();
  });
});
