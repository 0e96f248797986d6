// Shared by the browser tests: Chromium (Debian's, headless), pages at phone and desktop sizes,
// the overflow check, screenshots under clients/web/test-artifacts/ (gitignored).
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const artifacts = join(here, "..", "test-artifacts");
export const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];
export const skip = existsSync(chromiumPath) ? false : `no Chromium at ${chromiumPath} (apt-get install chromium, or set CHROMIUM_PATH)`;

/** See `routeEmbed`. */
const serveEmbed = process.env.WEB_TEST_SERVE_EMBED === "1";

export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1400, height: 900 };

export async function launch() {
  mkdirSync(artifacts, { recursive: true });
  // A page fulfilled by the test (WEB_TEST_SERVE_EMBED) has no address of its own, so Chromium
  // would take its WebSocket to 127.0.0.1 for a public page reaching into the local network.
  const args = serveEmbed ? [...CHROMIUM_ARGS, "--disable-features=LocalNetworkAccessChecks"] : CHROMIUM_ARGS;
  return chromium.launch({ executablePath: chromiumPath, args, headless: true });
}

export const httpUrl = (daemon) => daemon.url.replace(/^ws/, "http");

/**
 * `WEB_TEST_SERVE_EMBED=1`: the page's files come from clients/web/embed/ on disk instead of the
 * daemon's binary (which embeds them when it is built), with the daemon's headers; the WebSocket
 * still goes to the daemon. For testing a rebuilt page against a daemon binary built before it
 * (`npm run check` still proves embed/ matches the sources); `make web-test` does not set it.
 */
const embedDir = join(here, "..", "embed");
const EMBED_CSP = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; " +
  "manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const EMBED_TYPES = { html: "text/html; charset=utf-8", js: "text/javascript; charset=utf-8", webmanifest: "application/manifest+json", png: "image/png" };

async function routeEmbed(context, daemon) {
  const origin = new URL(httpUrl(daemon)).origin;
  await context.route((url) => url.origin === origin, (route) => {
    const path = new URL(route.request().url()).pathname;
    const file = path === "/" ? "index.html" : normalize(path).replace(/^([/\\]|\.\.[/\\])+/, "");
    let body;
    try {
      body = readFileSync(join(embedDir, file));
    } catch {
      return route.fulfill({ status: 404, body: "" });
    }
    const type = EMBED_TYPES[file.split(".").pop()] ?? "application/octet-stream";
    return route.fulfill({ status: 200, body, headers: { "content-type": type, "content-security-policy": EMBED_CSP, "x-content-type-options": "nosniff", "cache-control": "no-cache" } });
  });
}

/**
 * A page on the daemon's web page, connected. `viewport` PHONE emulates a phone (touch, mobile
 * viewport); `query` is appended to `?client=NAME`. The page's errors are collected in
 * `page.errors` (console errors and uncaught exceptions).
 */
export async function openPage(browser, daemon, { name, query = "", viewport = DESKTOP, token = daemon.token ?? "", ready = true } = {}) {
  const phone = viewport.width < 600;
  const context = await browser.newContext({ viewport, isMobile: phone, hasTouch: phone, deviceScaleFactor: 1 });
  if (serveEmbed) await routeEmbed(context, daemon);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.errors = errors;
  page.closeAll = () => context.close();
  await page.goto(`${httpUrl(daemon)}/?client=${name}${query}${token ? `#token=${token}` : ""}`);
  if (ready) await page.locator("body[data-ready=true]").waitFor({ timeout: 15_000 });
  return page;
}

/** No horizontal page scroll: the document is no wider than the viewport. */
export async function assertNoOverflow(page, what) {
  const { scrollWidth, clientWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
  }));
  assert.ok(scrollWidth <= clientWidth, `${what}: horizontal overflow (${scrollWidth} > ${clientWidth})`);
}

export async function shot(page, name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`) });
}

/** The element is inside the viewport (fully). */
export async function assertInViewport(locator, what) {
  const box = await locator.boundingBox();
  assert.ok(box, `${what}: not laid out`);
  const vp = locator.page().viewportSize();
  assert.ok(box.x >= 0 && box.y >= 0 && box.x + box.width <= vp.width + 0.5 && box.y + box.height <= vp.height + 0.5,
    `${what}: outside the viewport (${JSON.stringify(box)} in ${vp.width}×${vp.height})`);
}

/** On a phone the thread list is a drawer: open it, tap the thread. */
export async function pickThread(page, threadId) {
  const drawer = await page.evaluate(() => document.body.dataset.drawer);
  if (page.viewportSize().width < 821 && drawer !== "open") {
    await page.click("[data-testid=menu]");
    await page.waitForTimeout(300); // the drawer slides in
  }
  await page.click(`[data-testid=thread][data-thread-id="${threadId}"]`);
}
