import type { Connector, Transport } from "./transport.js";

/** The prefix of a token carried as a WebSocket subprotocol (PROTOCOL.md §9). */
export const TOKEN_SUBPROTOCOL_PREFIX = "agentd.token.";

/** The part of the standard WebSocket API the client uses (browsers, Node ≥ 22, `ws`). */
export interface WebSocketLike {
  readonly readyState: number;
  readonly protocol: string;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open", listener: () => void): void;
  addEventListener(type: "message", listener: (ev: { data: unknown }) => void): void;
  addEventListener(type: "close", listener: (ev: { code: number; reason: string }) => void): void;
  addEventListener(type: "error", listener: (ev: unknown) => void): void;
  /** `ws` only: drop the TCP connection without a close handshake. */
  terminate?: () => void;
}

/** A WebSocket constructor: the browser's global, or a compatible one. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

export interface WebSocketConnectorOptions {
  /**
   * The daemon's token. Sent as the subprotocol `agentd.token.<token>` (the only way a browser
   * can send it); Node clients should prefer `connectNodeWebSocket` from `@agentd/client/node`,
   * which sends `Authorization: Bearer`.
   */
  token?: string | null;
  /** Defaults to `globalThis.WebSocket`. */
  WebSocket?: WebSocketConstructor;
  /** Give up on an opening handshake after this long (default 10 s). */
  connectTimeoutMs?: number;
}

const textDecoder = new TextDecoder();

/** Turns a message event's payload into text (browsers give strings; `ws` may give Buffers). */
export function frameText(data: unknown): string {
  if (typeof data === "string") return data;
  if (data instanceof ArrayBuffer) return textDecoder.decode(new Uint8Array(data));
  if (ArrayBuffer.isView(data)) {
    return textDecoder.decode(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return String(data);
}

/**
 * Wraps an already-constructed socket (not yet open) as a {@link Transport}, resolving once it
 * is open. Exposed for transports that build the socket themselves (Node: headers).
 */
export function openWebSocketTransport(ws: WebSocketLike, timeoutMs = 10_000): Promise<Transport> {
  return new Promise<Transport>((resolve, reject) => {
    let opened = false;
    let closed = false;
    const transport: Transport = {
      send(text) {
        if (!closed) ws.send(text);
      },
      close() {
        try {
          ws.close(1000, "client closing");
        } catch {
          /* already closing */
        }
      },
      abort() {
        if (ws.terminate) ws.terminate();
        else {
          try {
            ws.close(4000, "dropped");
          } catch {
            /* ignore */
          }
        }
        // A browser only reports the close after its handshake; report it now.
        finish("aborted by the client");
      },
      onMessage: () => {},
      onClose: () => {},
    };
    const finish = (reason: string) => {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      if (opened) transport.onClose(reason);
      else reject(new Error(`websocket connection failed: ${reason}`));
    };
    const timer = setTimeout(() => {
      if (!opened) {
        finish(`no answer within ${timeoutMs} ms`);
        try {
          ws.close();
        } catch {
          /* ignore */
        }
      }
    }, timeoutMs);
    ws.addEventListener("open", () => {
      opened = true;
      clearTimeout(timer);
      resolve(transport);
    });
    ws.addEventListener("message", (ev) => {
      if (!closed) transport.onMessage(frameText(ev.data));
    });
    ws.addEventListener("close", (ev) => finish(`closed (${ev.code}${ev.reason ? ` ${ev.reason}` : ""})`));
    ws.addEventListener("error", (ev) => {
      const msg = (ev as { message?: unknown }).message;
      finish(typeof msg === "string" ? msg : "websocket error");
    });
  });
}

/**
 * A connector for the standard WebSocket API (browsers). The token, if any, travels as the
 * subprotocol `agentd.token.<token>`.
 */
export function webSocketConnector(url: string, options: WebSocketConnectorOptions = {}): Connector {
  return () => {
    const Ctor =
      options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Ctor) {
      return Promise.reject(
        new Error("no global WebSocket: in Node use connectNodeWebSocket from @agentd/client/node"),
      );
    }
    const protocols = options.token ? [TOKEN_SUBPROTOCOL_PREFIX + options.token] : undefined;
    let ws: WebSocketLike;
    try {
      ws = protocols ? new Ctor(url, protocols) : new Ctor(url);
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    return openWebSocketTransport(ws, options.connectTimeoutMs);
  };
}
