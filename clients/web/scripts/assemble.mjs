// Assembles embed/ — the files the daemon embeds (daemon/src/transport/web_assets.rs) — from the
// tsc output in build/, static/index.html, and the browser-safe modules of the SDK
// (clients/typescript/dist/src, followed from its index.js through relative imports, so Node-only
// modules never ship). embed/ is checked in so building the daemon needs no Node.
//
// `--check` compares instead of writing: it fails when the checked-in embed/ is stale.
// Either way it fails when web_assets.rs does not embed exactly the files of embed/.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, posix, relative } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const web = join(here, "..");
const sdkDist = join(web, "..", "typescript", "dist", "src");
const out = join(web, "embed");
const assetsRs = join(web, "..", "..", "daemon", "src", "transport", "web_assets.rs");
const check = process.argv.includes("--check");

function fail(msg) {
  console.error(`web assemble: ${msg}`);
  process.exit(1);
}

if (!existsSync(join(sdkDist, "index.js"))) fail(`${sdkDist}/index.js missing: build clients/typescript first`);
if (!existsSync(join(web, "build", "app.js"))) fail("build/app.js missing: run tsc first");

const stripMap = (s) => s.replace(/\n\/\/# sourceMappingURL=.*\n?$/, "\n");
const files = new Map(); // path under embed/ -> content

files.set("index.html", readFileSync(join(web, "static", "index.html"), "utf8"));
const app = readFileSync(join(web, "build", "app.js"), "utf8");
if (!app.includes('from "@agentd/client"')) fail('build/app.js does not import "@agentd/client"');
files.set("app.js", stripMap(app.replaceAll('from "@agentd/client"', 'from "./sdk/index.js"')));

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

// The daemon must embed exactly these files.
const rs = existsSync(assetsRs) ? readFileSync(assetsRs, "utf8") : "";
const embedded = new Set([...rs.matchAll(/embed!\("([^"]+)"\)/g)].map((m) => m[1]));
const wanted = new Set(files.keys());
const missing = [...wanted].filter((f) => !embedded.has(f));
const extra = [...embedded].filter((f) => !wanted.has(f));
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

if (check) {
  const stale = [...files].filter(([f, text]) => !existsSync(join(out, f)) || readFileSync(join(out, f), "utf8") !== text).map(([f]) => f);
  const leftover = listDist(out).filter((f) => !files.has(f));
  if (stale.length || leftover.length) fail(`clients/web/embed is stale (${[...stale, ...leftover].join(", ")}): run \`make web-build\` and commit it`);
  console.log(`web assemble: embed/ is up to date (${files.size} files)`);
} else {
  rmSync(out, { recursive: true, force: true });
  for (const [f, text] of files) {
    mkdirSync(dirname(join(out, f)), { recursive: true });
    writeFileSync(join(out, f), text);
  }
  console.log(`web assemble: wrote ${files.size} files to clients/web/embed/`);
}
