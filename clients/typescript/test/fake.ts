// An in-process fake daemon behind the Transport interface, for unit tests of the client logic.
import type { Connector, Transport } from "../src/index.js";

export interface FakeConnection {
  /** Messages the client sent, parsed. */
  sent: Array<Record<string, unknown>>;
  push(msg: unknown): void;
  drop(): void;
  closed: boolean;
}

export class FakeDaemon {
  connections: FakeConnection[] = [];
  /** Answers a request (return undefined to leave it unanswered). */
  answer: (conn: FakeConnection, req: { id: number; method: string; params: Record<string, unknown> }) => unknown = (_c, req) =>
    req.method === "initialize" ? { protocolVersion: "1", serverInfo: { name: "fake", version: "0" } } : {};
  refuse = false;

  connector: Connector = async () => {
    if (this.refuse) throw new Error("refused");
    let closed = false;
    const conn: FakeConnection = {
      sent: [],
      closed: false,
      push: (msg) => queueMicrotask(() => {
        if (!closed) transport.onMessage(JSON.stringify(msg));
      }),
      drop: () => {
        if (closed) return;
        closed = true;
        conn.closed = true;
        queueMicrotask(() => transport.onClose("dropped by the fake"));
      },
    };
    const transport: Transport = {
      send: (text) => {
        if (closed) return;
        const msg = JSON.parse(text) as Record<string, unknown>;
        conn.sent.push(msg);
        if (typeof msg.method === "string" && typeof msg.id === "number") {
          const result = this.answer(conn, msg as { id: number; method: string; params: Record<string, unknown> });
          if (result !== undefined) conn.push({ jsonrpc: "2.0", id: msg.id, result });
        }
      },
      close: () => conn.drop(),
      abort: () => conn.drop(),
      onMessage: () => {},
      onClose: () => {},
    };
    this.connections.push(conn);
    return transport;
  };

  get last(): FakeConnection {
    return this.connections[this.connections.length - 1]!;
  }

  requests(method: string): Array<Record<string, unknown>> {
    return this.connections.flatMap((c) => c.sent.filter((m) => m.method === method));
  }
}

export function notification(method: string, params: Record<string, unknown>): unknown {
  return { jsonrpc: "2.0", method, params };
}

export function fakeThread(id: string, lastSeq: number): Record<string, unknown> {
  return {
    id, archived: false, cliVersion: "0", createdAt: 0, cwd: "/w", ephemeral: false, forkedFromId: null,
    lastSeq, model: "m", modelProvider: "p", name: null, preview: "", projectId: null, sessionId: id,
    source: "appServer", status: { type: "idle" }, turns: [], updatedAt: 0,
  };
}

export function tick(ms = 0): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
