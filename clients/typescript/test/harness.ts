// Test harness: the real agentd binary against the scripted mock model (tests/src/mock_llm).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

import { parseListeningLine, UNLOGGED_NOTIFICATIONS, type AgentdClient, type ServerNotification } from "../src/index.js";

/** The repository root (this file runs from clients/typescript/dist/test/). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..");
export const agentdBin = process.env.AGENTD_BIN ?? join(repoRoot, "target", "debug", "agentd");
export const mockLlmBin = process.env.MOCK_LLM_BIN ?? join(repoRoot, "target", "debug", "mock-llm");
/** The scripted MCP server (`cargo build -p agentd-tests --bin mock-mcp`); only the MCP tests need it. */
export const mockMcpBin = process.env.MOCK_MCP_BIN ?? join(repoRoot, "target", "debug", "mock-mcp");

for (const bin of [agentdBin, mockLlmBin]) {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`cargo build --workspace --bins\` (make build) first`);
}

/** Every directory `tempDir` made; removed when the test process exits, pass or fail. */
const madeDirs: string[] = [];
process.on("exit", () => {
  for (const dir of madeDirs) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `agentd-ts-${prefix}-`));
  madeDirs.push(dir);
  return dir;
}

function firstLine(child: ChildProcess, stream: "stdout" | "stderr", match: (line: string) => boolean, what: string, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolveLine, reject) => {
    const src = child[stream];
    if (!src) return reject(new Error(`${what}: no ${stream}`));
    const rl = createInterface({ input: src });
    const timer = setTimeout(() => reject(new Error(`${what}: no matching ${stream} line within ${timeoutMs} ms`)), timeoutMs);
    rl.on("line", (line) => {
      if (match(line)) {
        clearTimeout(timer);
        resolveLine(line);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}) before it was ready`));
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once("exit", () => done());
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 3000).unref();
  });
}

export interface Mock {
  url: string;
  stop(): Promise<void>;
}

/** Starts `mock-llm --script` with these scripted answers (consumed in order). */
export async function startMock(script: unknown[]): Promise<Mock> {
  const dir = tempDir("mock");
  const file = join(dir, "script.json");
  writeFileSync(file, JSON.stringify(script));
  const child = spawn(mockLlmBin, ["--script", file], { stdio: ["ignore", "pipe", "pipe"] });
  child.stderr?.resume();
  const url = (await firstLine(child, "stdout", (l) => l.startsWith("http"), "mock-llm")).trim();
  child.stdout?.resume();
  return {
    url,
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `-c` overrides pointing the daemon at the mock (approvals: ask before every unknown command). */
export function mockConfigArgs(mockUrl: string, opts: { approvals?: boolean } = {}): string[] {
  const args = [
    "-c", 'model_provider="mock"',
    "-c", `model_providers.mock.base_url="${mockUrl}"`,
    "-c", 'model_providers.mock.wire_api="responses"',
    "-c", 'model_providers.mock.name="Mock"',
    "-c", 'model="mock-model"',
  ];
  if (opts.approvals) args.push("-c", 'approval_policy="untrusted"', "-c", 'sandbox_mode="danger-full-access"');
  return args;
}

export interface Daemon {
  url: string;
  /** The one-time token from the `listening on` line, if the daemon printed one. */
  token: string | null;
  dataDir: string;
  workspace: string;
  /** Arguments after `serve --listen …` that reproduce this daemon's setup (for stdio). */
  args: string[];
  stderr(): string;
  stop(): Promise<void>;
}

export interface DaemonOptions {
  approvals?: boolean;
  noAuth?: boolean;
  extraArgs?: string[];
  /** Written to the daemon's `config.toml` (`$XDG_CONFIG_HOME/agentd/`), e.g. `mockMcpConfig()`. */
  configToml?: string;
}

/** A `[mcp_servers.NAME]` table running `mock-mcp stdio` (tools echo, write, ask, …). */
export function mockMcpConfig(name = "mock"): string {
  if (!existsSync(mockMcpBin)) {
    throw new Error(`${mockMcpBin} is missing: run \`cargo build -p agentd-tests --bin mock-mcp\` (make build) first`);
  }
  return `[mcp_servers.${name}]\ncommand = ${JSON.stringify(mockMcpBin)}\nargs = ["stdio"]\n`;
}

/** Starts `agentd serve --listen ws://127.0.0.1:0` against the mock; parses its URL and token. */
export async function startDaemon(mockUrl: string, opts: DaemonOptions = {}): Promise<Daemon> {
  const root = tempDir("daemon");
  const dataDir = join(root, "data");
  const workspace = join(root, "workspace");
  mkdirSync(workspace, { recursive: true });
  if (opts.configToml !== undefined) {
    mkdirSync(join(root, "config", "agentd"), { recursive: true });
    writeFileSync(join(root, "config", "agentd", "config.toml"), opts.configToml);
  }
  const args = ["--data-dir", dataDir, ...mockConfigArgs(mockUrl, opts), ...(opts.extraArgs ?? [])];
  const env = { ...process.env, XDG_RUNTIME_DIR: root, XDG_CONFIG_HOME: join(root, "config"), RUST_LOG: process.env.RUST_LOG ?? "warn" };
  const child = spawn(agentdBin, ["serve", "--listen", "ws://127.0.0.1:0", ...(opts.noAuth ? ["--no-auth"] : []), ...args], {
    cwd: workspace,
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  child.stderr?.on("data", (d: Buffer) => {
    log += d.toString();
  });
  const line = await firstLine(child, "stderr", (l) => l.includes("listening on "), "agentd");
  const parsed = parseListeningLine(line);
  if (!parsed) throw new Error(`cannot parse ${JSON.stringify(line)}`);
  return {
    url: parsed.url,
    token: parsed.token,
    dataDir,
    workspace,
    args,
    stderr: () => log,
    stop: async () => {
      await stopChild(child);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Records every notification's seq for one thread, in arrival order. */
export function seqRecorder(): { seqs: Map<string, number[]>; methods: Map<string, string[]>; record: (n: ServerNotification) => void } {
  const seqs = new Map<string, number[]>();
  const methods = new Map<string, string[]>();
  return {
    seqs,
    methods,
    record(n) {
      if (UNLOGGED_NOTIFICATIONS.has(n.method)) return;
      const p = n.params as { threadId?: string; seq?: number; thread?: { id: string } };
      const id = p.threadId ?? p.thread?.id;
      if (!id || typeof p.seq !== "number") return;
      if (!seqs.has(id)) {
        seqs.set(id, []);
        methods.set(id, []);
      }
      seqs.get(id)!.push(p.seq);
      methods.get(id)!.push(n.method);
    },
  };
}

/** 1..=n */
export function range1(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

/** A Responses answer streaming `chunks` as one message, `delayMs` before each event. */
export function messageAnswer(chunks: string[], delayMs = 0): unknown {
  const steps = ["created", { message: chunks }, { completed: {} }];
  return { responses: delayMs > 0 ? { steps, chunk_delay_ms: delayMs } : steps };
}

/** A Responses answer asking for one shell call. */
export function shellCallAnswer(callId: string, command: string[]): unknown {
  return {
    responses: [{ function_call: { call_id: callId, name: "shell", arguments: { command } } }, { completed: {} }],
  };
}

/** A Responses answer asking for one MCP tool call (`mcp__<server>__<tool>`). */
export function mcpCallAnswer(callId: string, tool: string, args: Record<string, unknown>, server = "mock"): unknown {
  return {
    responses: [{ function_call: { call_id: callId, name: `mcp__${server}__${tool}`, arguments: args } }, { completed: {} }],
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolves once the client's folded state of the thread is idle (after turn/completed). */
export async function waitIdle(client: AgentdClient, threadId: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (client.thread(threadId)?.status.type !== "idle") {
    if (Date.now() > deadline) throw new Error(`thread ${threadId} not idle within ${timeoutMs} ms`);
    await sleep(10);
  }
}
