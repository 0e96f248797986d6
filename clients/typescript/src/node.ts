// Node-only transports: WebSocket through the `ws` package (with `Authorization: Bearer`), and
// stdio, spawning `agentd serve` and speaking NDJSON on its stdin/stdout.

import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import WebSocket from "ws";

import { AgentdClient, imageDataUrl, type ClientOptions } from "./client.js";
import type { UserInput } from "./protocol/index.js";
import type { Connector, Transport } from "./transport.js";
import { openWebSocketTransport, TOKEN_SUBPROTOCOL_PREFIX, type WebSocketLike } from "./websocket.js";

export * from "./index.js";

/**
 * An image file on *this* machine as turn input: read here and sent as a `data:` URL `image`
 * (for a daemon elsewhere; on the daemon's machine `userInput.localImage(path)` sends the path
 * only). Throws for a file that is not a PNG, JPEG, GIF or WebP image.
 */
export async function imageFileInput(path: string): Promise<UserInput> {
  const bytes = await readFile(path);
  try {
    return { type: "image", url: imageDataUrl(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)) };
  } catch (e) {
    throw new TypeError(`${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export interface NodeWebSocketOptions {
  /** The daemon's token (printed on its `listening on … token=…` line). */
  token?: string | null;
  /**
   * How to present the token: `header` (`Authorization: Bearer`, the default) or `subprotocol`
   * (`agentd.token.<token>`, as a browser must).
   */
  tokenVia?: "header" | "subprotocol";
  /** Extra handshake headers. */
  headers?: Record<string, string>;
  connectTimeoutMs?: number;
}

/** A connector over the `ws` package. */
export function nodeWebSocketConnector(url: string, options: NodeWebSocketOptions = {}): Connector {
  return () => {
    const headers: Record<string, string> = { ...options.headers };
    let protocols: string[] | undefined;
    if (options.token) {
      if (options.tokenVia === "subprotocol") protocols = [TOKEN_SUBPROTOCOL_PREFIX + options.token];
      else headers.Authorization = `Bearer ${options.token}`;
    }
    const ws = new WebSocket(url, protocols, {
      headers,
      perMessageDeflate: false,
      handshakeTimeout: options.connectTimeoutMs ?? 10_000,
    });
    return openWebSocketTransport(ws as unknown as WebSocketLike, options.connectTimeoutMs);
  };
}

/** Connects a client over WebSocket from Node. */
export function connectNodeWebSocket(
  url: string,
  options: NodeWebSocketOptions & ClientOptions = {},
): Promise<AgentdClient> {
  return AgentdClient.connect(nodeWebSocketConnector(url, options), options);
}

export interface StdioOptions {
  /** The agentd binary (default `agentd` on PATH, or $AGENTD_BIN). */
  bin?: string;
  /** Arguments after `serve --listen stdio://` (e.g. `--data-dir`, `-c key=value`). */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Where the daemon's stderr goes (default: inherited). */
  stderr?: "inherit" | "ignore" | "pipe";
  /** Called with each child as it is spawned (e.g. to read its stderr). */
  onSpawn?: (child: ChildProcess) => void;
}

/**
 * A connector that spawns `agentd serve --listen stdio://` per connection. Reconnecting spawns a
 * new daemon over the same data directory, so threads resume where they were (the previous one
 * is waited for first: the data directory is locked while a daemon runs).
 */
export function stdioConnector(options: StdioOptions = {}): Connector {
  let previous: Promise<void> = Promise.resolve();
  return async () => {
    await previous;
    const bin = options.bin ?? process.env.AGENTD_BIN ?? "agentd";
    const spawnOptions: SpawnOptions = {
      stdio: ["pipe", "pipe", options.stderr ?? "inherit"],
      env: options.env ?? process.env,
    };
    if (options.cwd !== undefined) spawnOptions.cwd = options.cwd;
    const child = spawn(bin, ["serve", "--listen", "stdio://", ...(options.args ?? [])], spawnOptions);
    options.onSpawn?.(child);
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once("exit", () => resolve());
    });
    previous = exited;
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", () => resolve());
      child.once("error", (e) => reject(e));
    });
    let closed = false;
    const finish = (reason: string) => {
      if (closed) return;
      closed = true;
      transport.onClose(reason);
    };
    // Writing to a daemon that just died fails with EPIPE; the exit reports the close.
    child.stdin?.on("error", () => {});
    const transport: Transport = {
      send(text) {
        if (!closed && child.stdin?.writable) child.stdin.write(`${text}\n`);
      },
      close() {
        // End of input is the daemon's cue to drain and exit.
        child.stdin?.end();
        const t = setTimeout(() => child.kill("SIGTERM"), 3000);
        void exited.then(() => clearTimeout(t));
      },
      abort() {
        child.kill("SIGKILL");
        finish("agentd killed by the client");
      },
      onMessage: () => {},
      onClose: () => {},
    };
    const lines = createInterface({ input: child.stdout!, crlfDelay: Infinity });
    lines.on("line", (line) => {
      if (!closed && line.trim().length > 0) transport.onMessage(line);
    });
    void exited.then(() => finish(`agentd exited (${child.exitCode ?? child.signalCode})`));
    return transport;
  };
}

/** Spawns `agentd serve` on stdio and connects a client to it. */
export function connectStdio(options: StdioOptions & ClientOptions = {}): Promise<AgentdClient> {
  return AgentdClient.connect(stdioConnector(options), options);
}
