// @agentd/client: browser-safe entry point (no Node modules). Node transports (ws with an
// Authorization header, stdio) are in "@agentd/client/node", which re-exports all of this.

export * from "./client.js";
export * from "./errors.js";
export * from "./reducer.js";
export * from "./transport.js";
export * from "./websocket.js";
export type * from "./protocol/index.js";
export { PROTOCOL_VERSION } from "./protocol/index.js";

import { AgentdClient, type ClientOptions } from "./client.js";
import { webSocketConnector, type WebSocketConnectorOptions } from "./websocket.js";

/** Connects a client with the standard WebSocket API (browsers; the token goes as a subprotocol). */
export function connectWebSocket(
  url: string,
  options: WebSocketConnectorOptions & ClientOptions = {},
): Promise<AgentdClient> {
  return AgentdClient.connect(webSocketConnector(url, options), options);
}
