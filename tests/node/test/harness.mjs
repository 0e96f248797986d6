// Shared setup for the interop tests: the real agentd binary and the scripted mock model
// (tests/src/mock_llm, the `mock-llm` binary), started the way a user would.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const agentdBin = process.env.AGENTD_BIN ?? join(repoRoot, "target", "debug", "agentd");
export const mockLlmBin = process.env.MOCK_LLM_BIN ?? join(repoRoot, "target", "debug", "mock-llm");

for (const bin of [agentdBin, mockLlmBin]) {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`make build\` first`);
}

/** Every directory `tempDir` made; removed when the test process exits, pass or fail. */
const madeDirs = [];
process.on("exit", () => {
  for (const dir of madeDirs) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), `agentd-interop-${prefix}-`));
  madeDirs.push(dir);
  return dir;
}

/** Starts `mock-llm --script` with these answers (consumed in order); resolves its base URL. */
export async function startMock(script) {
  const dir = tempDir("mock");
  const file = join(dir, "script.json");
  writeFileSync(file, JSON.stringify(script));
  const child = spawn(mockLlmBin, ["--script", file], { stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise((ok, fail) => {
    const rl = createInterface({ input: child.stdout });
    rl.once("line", (line) => ok(line.trim()));
    child.once("exit", (code) => fail(new Error(`mock-llm exited (${code})`)));
  });
  child.stdout.resume();
  return {
    url,
    stop() {
      child.kill("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A config home whose config.toml points agentd at the mock. */
export function mockConfigHome(mockUrl, extra = "") {
  const home = tempDir("config");
  mkdirSync(join(home, "agentd"), { recursive: true });
  writeFileSync(
    join(home, "agentd", "config.toml"),
    [
      'model = "mock-model"',
      'model_provider = "mock"',
      extra,
      "[model_providers.mock]",
      'name = "Mock"',
      `base_url = "${mockUrl}"`,
      'wire_api = "responses"',
    ].join("\n"),
  );
  return home;
}

export function messageAnswer(chunks, usage = {}) {
  return { responses: ["created", { message: chunks }, { completed: usage }] };
}

export function shellCallAnswer(callId, command, usage = {}) {
  return { responses: [{ function_call: { call_id: callId, name: "shell", arguments: { command } } }, { completed: usage }] };
}
