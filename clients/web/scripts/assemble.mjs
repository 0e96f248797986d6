// Assembles embed/ — the files the daemon embeds (daemon/src/transport/web_assets.rs):
// - app.js: src/app.ts and the libraries it imports (marked, DOMPurify, highlight.js core), bundled
//   and minified by esbuild (pinned by package-lock.json); `@agentd/client` stays an import of
//   ./sdk/index.js;
// - sdk/: the browser-safe modules of the SDK (clients/typescript/dist/src, followed from its
//   index.js through relative imports, so Node-only modules never ship);
// - index.html (static/), and the install files: manifest.webmanifest and icons/*.png (static/;
//   the PNGs are drawn by scripts/icons.mjs and checked in).
// embed/ is checked in so building the daemon needs no Node.
//
// `--check` compares instead of writing: it fails when the checked-in embed/ is stale. Either way
// it fails when web_assets.rs embeds a file embed/ lacks, or leaves out one the page needs. The
// install files are the exception while the daemon does not serve them yet: index.html then goes
// without the links to them (no request the CSP would refuse), and a notice says what to add.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, posix, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const web = join(here, "..");
const sdkDist = join(web, "..", "typescript", "dist", "src");
const out = join(web, "embed");
const assetsRs = join(web, "..", "..", "daemon", "src", "transport", "web_assets.rs");
const check = process.argv.includes("--check");
const quiet = process.argv.includes("--quiet");

/** Files for "add to home screen"; served once web_assets.rs lists them. */
const INSTALL_FILES = [
  "manifest.webmanifest",
  "icons/icon-192.png",
  "icons/icon-512.png",
  "icons/icon-maskable-512.png",
  "icons/apple-touch-icon.png",
];

function fail(msg) {
  console.error(`web assemble: ${msg}`);
  process.exit(1);
}

if (!existsSync(join(sdkDist, "index.js"))) fail(`${sdkDist}/index.js missing: build clients/typescript first`);

const stripMap = (s) => s.replace(/\n\/\/# sourceMappingURL=.*\n?$/, "\n");
/** path under embed/ -> content (string, or Buffer for binary files) */
const files = new Map();

// What the daemon embeds now.
const rs = existsSync(assetsRs) ? readFileSync(assetsRs, "utf8") : "";
const embedded = new Set([...rs.matchAll(/embed(?:_bytes)?!\("([^"]+)"\)/g)].map((m) => m[1]));
const installServed = INSTALL_FILES.filter((f) => embedded.has(f));
if (installServed.length !== 0 && installServed.length !== INSTALL_FILES.length) {
  fail(`web_assets.rs serves some install files but not all: add ${JSON.stringify(INSTALL_FILES.filter((f) => !embedded.has(f)))}`);
}
const installOn = installServed.length === INSTALL_FILES.length;

// index.html: the install links only when the daemon serves their targets.
let html = readFileSync(join(web, "static", "index.html"), "utf8");
if (!/<!--install-->[\s\S]*?<!--\/install-->\n?/.test(html)) fail("static/index.html lacks its <!--install--> … <!--/install--> block");
html = html.replace(/<!--install-->\n?([\s\S]*?)<!--\/install-->\n?/, installOn ? "$1" : "");
files.set("index.html", html);
files.set("manifest.webmanifest", readFileSync(join(web, "static", "manifest.webmanifest"), "utf8"));
for (const f of INSTALL_FILES.filter((f) => f.endsWith(".png"))) {
  const p = join(web, "static", f);
  if (!existsSync(p)) fail(`static/${f} missing: run \`npm run icons\``);
  files.set(f, readFileSync(p));
}

// app.js: the page and its libraries in one module; the SDK stays separate (web_assets.rs).
const bundle = await build({
  entryPoints: [join(web, "src", "app.ts")],
  bundle: true,
  format: "esm",
  target: ["es2022", "chrome100", "safari15.4", "firefox100"],
  platform: "browser",
  minify: true,
  legalComments: "eof",
  charset: "utf8",
  external: ["@agentd/client"],
  write: false,
  logLevel: "warning",
});
const app = bundle.outputFiles[0].text;
if (!/from\s*"@agentd\/client"/.test(app)) fail('the bundle does not import "@agentd/client"');
files.set("app.js", app.replace(/from\s*"@agentd\/client"/g, 'from"./sdk/index.js"'));

// Follow the SDK's runtime imports from index.js.
const pending = ["index.js"];
while (pending.length > 0) {
  const rel = pending.pop();
  const key = `sdk/${rel}`;
  if (files.has(key)) continue;
  const text = readFileSync(join(sdkDist, rel), "utf8");
  if (/from\s+["'](node:|ws["'])/.test(text) || /import\s*\(\s*["']node:/.test(text)) fail(`${rel} imports a Node module; it cannot run in a browser`);
  files.set(key, stripMap(text));
  for (const m of text.matchAll(/(?:from|import)\s+["'](\.{1,2}\/[^"']+)["']/g)) {
    pending.push(posix.normalize(posix.join(posix.dirname(rel), m[1])));
  }
}

// The daemon must embed exactly these files (the install files: all of them or, for now, none).
const wanted = new Set([...files.keys()].filter((f) => installOn || !INSTALL_FILES.includes(f)));
const missing = [...wanted].filter((f) => !embedded.has(f));
const extra = [...embedded].filter((f) => !files.has(f));
if (missing.length || extra.length) {
  fail(`daemon/src/transport/web_assets.rs is out of step with embed/: add ${JSON.stringify(missing)}, remove ${JSON.stringify(extra)}`);
}

function listDist(dir, base = dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? listDist(p, base) : [relative(base, p).split("\\").join("/")];
  });
}

const same = (f, content) => {
  const p = join(out, f);
  if (!existsSync(p)) return false;
  const now = readFileSync(p);
  return Buffer.isBuffer(content) ? now.equals(content) : now.toString("utf8") === content;
};

function sizes() {
  const rows = [...files].filter(([f]) => !INSTALL_FILES.includes(f) || f === "manifest.webmanifest").map(([f, c]) => {
    const raw = Buffer.isBuffer(c) ? c : Buffer.from(c, "utf8");
    return [f, raw.length, gzipSync(raw, { level: 9 }).length];
  });
  const total = rows.reduce((a, [, r, g]) => [a[0] + r, a[1] + g], [0, 0]);
  const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
  const page = rows.filter(([f]) => f !== "manifest.webmanifest");
  const pageTotal = page.reduce((a, [, r, g]) => [a[0] + r, a[1] + g], [0, 0]);
  console.log("web assemble: sizes (raw, gzip -9):");
  for (const [f, r, g] of rows) console.log(`  ${f.padEnd(24)} ${kb(r).padStart(10)} ${kb(g).padStart(10)}`);
  console.log(`  ${"page load (html+js)".padEnd(24)} ${kb(pageTotal[0]).padStart(10)} ${kb(pageTotal[1]).padStart(10)}`);
  void total;
}

if (!installOn) {
  console.log(
    "web assemble: note: the daemon does not serve the install files yet, so index.html goes without its manifest link;" +
      " to serve them, add to web_assets.rs (binary files with include_bytes!) and allow `manifest-src 'self'` in its CSP: " +
      INSTALL_FILES.join(", "),
  );
}

if (check) {
  const stale = [...files].filter(([f, content]) => !same(f, content)).map(([f]) => f);
  const leftover = listDist(out).filter((f) => !files.has(f));
  if (stale.length || leftover.length) fail(`clients/web/embed is stale (${[...stale, ...leftover].join(", ")}): run \`make web-build\` and commit it`);
  console.log(`web assemble: embed/ is up to date (${files.size} files)`);
} else {
  rmSync(out, { recursive: true, force: true });
  for (const [f, content] of files) {
    mkdirSync(dirname(join(out, f)), { recursive: true });
    writeFileSync(join(out, f), content);
  }
  console.log(`web assemble: wrote ${files.size} files to clients/web/embed/`);
}
if (!quiet) sizes();
