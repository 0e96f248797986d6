import type { JsonValue } from "./protocol/index.js";

/** A JSON-RPC error answer from the daemon (PROTOCOL.md §2). */
export class RpcError extends Error {
  readonly code: number;
  readonly data: JsonValue | undefined;
  readonly method: string;

  constructor(method: string, code: number, message: string, data?: JsonValue) {
    super(`${method}: ${message} (${code})`);
    this.name = "RpcError";
    this.method = method;
    this.code = code;
    this.data = data;
  }
}

/** The well-known error codes of the protocol. */
export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  Internal: -32603,
  Overloaded: -32001,
  NotInitialized: -32002,
  Forbidden: -32003,
  NotFound: -32004,
  Conflict: -32005,
} as const;

/**
 * The connection dropped while this request was in flight and the request is not safe to send
 * again (e.g. `thread/start`): whether the daemon acted on it is unknown.
 */
export class ConnectionLostError extends Error {
  readonly method: string;
  constructor(method: string) {
    super(`${method}: the connection was lost before the answer arrived`);
    this.name = "ConnectionLostError";
    this.method = method;
  }
}

/** The client was closed (by `close()` or because reconnecting gave up). */
export class ClientClosedError extends Error {
  constructor(reason: string) {
    super(`agentd client closed: ${reason}`);
    this.name = "ClientClosedError";
  }
}

/** A request got no answer within its timeout. */
export class RequestTimeoutError extends Error {
  readonly method: string;
  constructor(method: string, ms: number) {
    super(`${method}: no answer within ${ms} ms`);
    this.name = "RequestTimeoutError";
    this.method = method;
  }
}
