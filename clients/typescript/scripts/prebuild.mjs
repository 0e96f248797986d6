// Runs before tsc: empties dist/ (so no stale output is tested) and copies the generated protocol bindings (schema/typescript, made by `make schema` from the Rust
// types) into src/protocol/, so the SDK never hand-writes a protocol type. The only change is to
// relative import specifiers: `./Thread` becomes `./Thread.js`, as ESM under NodeNext needs.
// src/protocol/ is a build product (gitignored); edit the Rust types and run `make schema`.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const from = join(here, "..", "..", "..", "schema", "typescript");
const to = join(here, "..", "src", "protocol");
rmSync(join(here, "..", "dist"), { recursive: true, force: true });

const files = readdirSync(from).filter((f) => f.endsWith(".ts"));
if (!files.includes("index.ts")) {
  console.error(`prebuild: no generated bindings in ${from} (run \`make schema\`)`);
  process.exit(1);
}
rmSync(to, { recursive: true, force: true });
mkdirSync(to, { recursive: true });
for (const f of files) {
  const text = readFileSync(join(from, f), "utf8").replace(
    /(from\s+["'])(\.\.?\/[^"']+?)(["'])/g,
    (_m, a, spec, b) => (spec.endsWith(".js") ? `${a}${spec}${b}` : `${a}${spec}.js${b}`),
  );
  writeFileSync(join(to, f), text);
}
console.log(`prebuild: ${files.length} files from schema/typescript into src/protocol/`);
