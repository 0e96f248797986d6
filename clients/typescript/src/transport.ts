/**
 * A transport carries whole JSON-RPC messages (one per WebSocket text frame, or one per line on
 * stdio). The client owns framing-free strings only; a transport is used for one connection and
 * is replaced by a fresh one from its {@link Connector} on reconnect.
 */
export interface Transport {
  /** Sends one message. Throws or drops silently once closed; the close callback says so. */
  send(text: string): void;
  /** Closes gracefully. `onClose` fires once, afterwards. */
  close(): void;
  /** Drops the connection abruptly (no close handshake), as a network failure would. */
  abort(): void;
  /** Set by the client before any message can arrive. */
  onMessage: (text: string) => void;
  /** Fires exactly once, whatever ended the connection. */
  onClose: (reason: string) => void;
}

/** Opens a new connection; rejects if it cannot (the client then retries with backoff). */
export type Connector = () => Promise<Transport>;

/** Parses the `listening on ws://HOST:PORT [token=T]` line the daemon prints on stderr. */
export function parseListeningLine(line: string): { url: string; token: string | null } | null {
  const m = /listening on (wss?:\/\/\S+)(?:\s+token=(\S+))?/.exec(line);
  if (!m || m[1] === undefined) return null;
  return { url: m[1], token: m[2] ?? null };
}
