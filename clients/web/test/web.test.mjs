// End to end in headless Chromium: the page the daemon serves at `/`, two pages on one thread.
// Screenshots go to clients/web/test-artifacts/ (gitignored).
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

import { messageAnswer, shellCallAnswer, startDaemon, startMock } from "../../typescript/dist/test/harness.js";

const here = dirname(fileURLToPath(import.meta.url));
const artifacts = join(here, "..", "test-artifacts");
const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];
const SLOW = Array.from({ length: 200 }, (_, i) => `slow${i} `);

const skip = existsSync(chromiumPath) ? false : `no Chromium at ${chromiumPath} (apt-get install chromium, or set CHROMIUM_PATH)`;

describe("web page", { skip }, () => {
  let mock, daemon, browser;
  const httpUrl = () => daemon.url.replace(/^ws/, "http");

  before(async () => {
    mkdirSync(artifacts, { recursive: true });
    mock = await startMock([
      shellCallAnswer("c1", ["touch", "web-approved.txt"]),
      messageAnswer(["The", " file", " is", " there"], 10),
      messageAnswer(SLOW, 50),
    ]);
    daemon = await startDaemon(mock.url, { approvals: true });
    browser = await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS, headless: true });
  });
  after(async () => {
    await browser?.close();
    await daemon?.stop();
    await mock?.stop();
  });

  async function openPage(name, query = "") {
    const page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    await page.goto(`${httpUrl()}/?client=${name}${query}#token=${daemon.token ?? ""}`);
    await page.locator("body[data-ready=true]").waitFor({ timeout: 15_000 });
    page.errors = errors;
    return page;
  }

  test("the daemon serves the page and its modules", async () => {
    for (const path of ["/", "/app.js", "/sdk/index.js", "/sdk/client.js"]) {
      const resp = await fetch(`${httpUrl()}${path}`);
      assert.equal(resp.status, 200, path);
      assert.match(resp.headers.get("content-type") ?? "", path === "/" ? /text\/html/ : /javascript/);
    }
    assert.equal((await fetch(`${httpUrl()}/nope`)).status, 404);
  });

  test("without a token the page asks for one, and connects once given it", async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${httpUrl()}/?client=tokenless`);
      await page.locator("#connection[data-state=error]").waitFor({ timeout: 15_000 });
      assert.ok(await page.locator("#token-form").isVisible());
      await page.fill("#token-input", daemon.token ?? "");
      await page.click("#token-form button[type=submit]");
      await page.locator("body[data-ready=true]").waitFor({ timeout: 15_000 });
      assert.equal(await page.locator("#connection").getAttribute("data-state"), "open");
    } finally {
      await page.close();
    }
  });

  test("two pages on one thread: one starts a turn, the other approves, both see the result; then an interrupt", async () => {
    const a = await openPage("page-a");
    assert.ok(!a.url().includes("token="), "the token is taken out of the address bar");
    await a.click("[data-testid=new-thread]");
    const selected = a.locator("[data-testid=thread][aria-current]");
    await selected.waitFor();
    const threadId = await selected.getAttribute("data-thread-id");
    assert.ok(threadId);

    const b = await openPage("page-b", `&thread=${threadId}`);
    await b.locator(`[data-testid=thread][aria-current][data-thread-id="${threadId}"]`).waitFor();

    await a.fill("[data-testid=prompt]", "please make a file");
    await a.click("[data-testid=send]");

    // Both pages are asked.
    await a.locator("[data-testid=approval]").waitFor({ timeout: 15_000 });
    await b.locator("[data-testid=approval]").waitFor({ timeout: 15_000 });
    assert.match(await b.locator("[data-testid=approval]").innerText(), /touch web-approved\.txt/);
    await a.screenshot({ path: join(artifacts, "1-page-a-asked.png") });
    await b.screenshot({ path: join(artifacts, "1-page-b-asked.png") });

    await b.click("[data-testid=approval] [data-testid=approve]");

    for (const page of [a, b]) {
      await page.locator("[data-testid=command][data-status=completed]").waitFor({ timeout: 15_000 });
      await page.locator("[data-testid=turn][data-status=completed]").waitFor({ timeout: 15_000 });
      await page.locator("[data-testid=resolution]", { hasText: "accept (by page-b)" }).waitFor();
      assert.equal(await page.locator("[data-testid=approval]").count(), 0, "the approval is gone on both pages");
      assert.equal(await page.locator("[data-testid=agent-message]").innerText(), "The file is there");
      assert.match(await page.locator("[data-testid=command]").innerText(), /exit 0/);
    }
    assert.ok(existsSync(join(daemon.workspace, "web-approved.txt")), "the approved command ran");
    await a.screenshot({ path: join(artifacts, "2-page-a-done.png") });
    await b.screenshot({ path: join(artifacts, "2-page-b-done.png") });

    // A slow turn, interrupted from page B while it streams.
    await a.fill("[data-testid=prompt]", "talk slowly");
    await a.click("[data-testid=send]");
    await b.locator("[data-testid=agent-message]", { hasText: "slow3 " }).waitFor({ timeout: 15_000 });
    await b.click("[data-testid=interrupt]");
    for (const page of [a, b]) {
      await page.locator("[data-testid=turn][data-status=interrupted]").waitFor({ timeout: 15_000 });
    }
    const streamed = await a.locator("[data-testid=turn][data-status=interrupted] [data-testid=agent-message]").innerText();
    assert.ok(streamed.startsWith("slow0 slow1 slow2 slow3"), streamed);
    assert.ok(!streamed.includes("slow199"), "the turn stopped before the end of the stream");
    await a.screenshot({ path: join(artifacts, "3-page-a-interrupted.png") });
    await b.screenshot({ path: join(artifacts, "3-page-b-interrupted.png") });

    assert.deepEqual(a.errors, []);
    assert.deepEqual(b.errors, []);
    await a.close();
    await b.close();
  });
});
