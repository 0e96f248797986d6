// "Add to home screen": the manifest and icons in embed/ make an installable app in Chromium.
// The daemon does not serve them yet (see README), so this serves embed/ itself, as the daemon
// would with them added: the same headers, the CSP plus `manifest-src 'self'`, and index.html
// with its install links kept.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, normalize } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

import { artifacts, chromiumPath, CHROMIUM_ARGS, skip } from "./helpers.mjs";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const CSP = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; " +
  "manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const TYPES = { html: "text/html; charset=utf-8", js: "text/javascript; charset=utf-8", webmanifest: "application/manifest+json", png: "image/png" };

describe("installable", { skip }, () => {
  let server, base, context, profile;

  before(async () => {
    const index = readFileSync(join(web, "static", "index.html"), "utf8").replace(/<!--\/?install-->\n?/g, "");
    server = createServer((req, res) => {
      const path = new URL(req.url, "http://x").pathname;
      let body;
      try {
        body = path === "/" ? index : readFileSync(join(web, "embed", normalize(path).replace(/^(\.\.[/\\])+/, "")));
      } catch {
        res.writeHead(404).end();
        return;
      }
      const ext = path === "/" ? "html" : path.split(".").pop();
      res.writeHead(200, { "content-type": TYPES[ext] ?? "application/octet-stream", "content-security-policy": CSP, "x-content-type-options": "nosniff" });
      res.end(body);
    });
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${server.address().port}`;
    // A profile on disk: Chromium does not offer to install from an incognito context.
    mkdirSync(artifacts, { recursive: true });
    profile = mkdtempSync(join(tmpdir(), "agentd-web-install-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath, args: CHROMIUM_ARGS, headless: true, viewport: { width: 390, height: 844 },
    });
  });
  after(async () => {
    await context?.close();
    await new Promise((r) => server?.close(r));
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  test("the manifest parses, its icons load, and Chromium finds nothing against installing", async () => {
    const page = await context.newPage();
    const csp = [];
    page.on("console", (m) => {
      if (/Content Security Policy|manifest/i.test(m.text())) csp.push(m.text());
    });
    await page.goto(`${base}/`);
    const cdp = await page.context().newCDPSession(page);
    let manifest;
    for (let i = 0; i < 50; i++) {
      manifest = await cdp.send("Page.getAppManifest");
      if (manifest.data) break;
      await page.waitForTimeout(100);
    }
    assert.deepEqual(manifest.errors, [], JSON.stringify(manifest.errors));
    const m = JSON.parse(manifest.data);
    assert.equal(m.display, "standalone");
    assert.equal(m.start_url, "/");
    for (const icon of m.icons) {
      const resp = await fetch(`${base}${icon.src}`);
      assert.equal(resp.status, 200, icon.src);
      const png = Buffer.from(await resp.arrayBuffer());
      assert.equal(png.subarray(1, 4).toString(), "PNG", icon.src);
      const [w, h] = [png.readUInt32BE(16), png.readUInt32BE(20)];
      assert.equal(`${w}x${h}`, icon.sizes, `${icon.src} is ${w}×${h}`);
    }
    assert.ok(m.icons.some((i) => i.purpose === "maskable"), "a maskable icon for Android launchers");
    const { installabilityErrors } = await cdp.send("Page.getInstallabilityErrors");
    assert.deepEqual(installabilityErrors, [], JSON.stringify(installabilityErrors));
    assert.equal(await page.locator('link[rel="apple-touch-icon"]').count(), 1);
    assert.deepEqual(csp, [], "nothing refused by the CSP");
    await page.screenshot({ path: join(artifacts, "install-token-form.png") });
    await page.close();
  });
});
