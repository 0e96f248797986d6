// Hand-written: type-checks the way a client uses the generated bindings (`make schema-tsc`).
// Not generated, not shipped; it fails to compile when the bindings stop narrowing as clients
// expect (tagged unions by `method` and `type`, result maps by method).

import type {
  ClientRequest,
  ClientRequestResults,
  JSONRPCMessage,
  ServerNotification,
  ServerRequest,
  ServerRequestResults,
  ThreadItem,
} from "./typescript";
import { PROTOCOL_VERSION } from "./typescript";

export const start: ClientRequest = {
  method: "thread/start",
  id: 1,
  params: { cwd: null, approvalPolicy: "untrusted", sandbox: "workspace-write" },
};

export const turn: ClientRequest = {
  method: "turn/start",
  id: "t-1",
  params: { threadId: "th", input: [{ type: "text", text: "hi" }], clientRequestId: "r1" },
};

export const requirements: ClientRequest = {
  method: "configRequirements/read",
  id: 2,
  params: {},
};

export function turnId(result: ClientRequestResults["turn/start"]): string {
  return result.turn.id;
}

export function itemText(item: ThreadItem): string {
  switch (item.type) {
    case "agentMessage":
      return item.text;
    case "reasoning":
      return item.summary.join("");
    case "commandExecution":
      return `${item.command} -> ${item.exitCode ?? "running"}`;
    case "fileChange":
      return item.changes.map((c) => c.path).join(", ");
    default:
      return item.id;
  }
}

export function describe(n: ServerNotification): string {
  switch (n.method) {
    case "item/agentMessage/delta":
      return n.params.delta;
    case "turn/completed":
      return `${n.params.turn.status} at seq ${n.params.seq}`;
    case "thread/started":
      return n.params.thread.id;
    case "item/completed":
      return itemText(n.params.item);
    default:
      return n.method;
  }
}

export function answer(
  r: ServerRequest,
): ServerRequestResults[ServerRequest["method"]] {
  switch (r.method) {
    case "item/commandExecution/requestApproval":
      return { decision: r.params.command.startsWith("rm") ? "decline" : "accept" };
    case "item/fileChange/requestApproval":
      return { decision: r.params.changes.length > 3 ? "cancel" : "acceptForSession" };
    case "mcpServer/elicitation/request":
      return r.params.mode === "form"
        ? { action: "accept", content: { remember: "remember" in r.params.requestedSchema.properties } }
        : { action: "decline" };
  }
}

export const hello: JSONRPCMessage = {
  jsonrpc: "2.0",
  id: 0,
  method: "initialize",
  params: { clientInfo: { name: "sdk", version: PROTOCOL_VERSION } },
};
