// @agentd/client: browser-safe entry point (no Node modules). Node transports (ws with an
// Authorization header, stdio) are in "@agentd/client/node", which re-exports all of this.
export * from "./client.js";
export * from "./errors.js";
export * from "./reducer.js";
export * from "./transport.js";
export * from "./websocket.js";
export { PROTOCOL_VERSION } from "./protocol/index.js";
import { AgentdClient } from "./client.js";
import { webSocketConnector } from "./websocket.js";
/** Connects a client with the standard WebSocket API (browsers; the token goes as a subprotocol). */
export function connectWebSocket(url, options = {}) {
    return AgentdClient.connect(webSocketConnector(url, options), options);
}
