// Approvals: server→client requests answered by onServerRequest handlers (PROTOCOL.md §8).
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import type { ServerRequestResolvedNotification } from "../src/index.js";
import { connectNodeWebSocket } from "../src/node.js";
import { messageAnswer, shellCallAnswer, startDaemon, startMock, type Daemon, type Mock } from "./harness.js";

describe("approvals", () => {
  let mock: Mock;
  let daemon: Daemon;
  before(async () => {
    mock = await startMock([
      // Turn 1: one client accepts.
      shellCallAnswer("c1", ["touch", "approved.txt"]),
      messageAnswer(["Created", " it"]),
      // Turn 2: declined.
      shellCallAnswer("c2", ["touch", "declined.txt"]),
      messageAnswer(["Not", " created"]),
    ]);
    daemon = await startDaemon(mock.url, { approvals: true });
  });
  after(async () => {
    await daemon?.stop();
    await mock?.stop();
  });

  test("the handler accepts, the command runs, serverRequest/resolved names the decision; an observer's pending request is withdrawn", async () => {
    const approver = await connectNodeWebSocket(daemon.url, { token: daemon.token, clientInfo: { name: "approver", version: "1" } });
    const observer = await connectNodeWebSocket(daemon.url, { token: daemon.token, clientInfo: { name: "observer", version: "1" } });
    try {
      const { thread } = await approver.startThread({ cwd: daemon.workspace });
      await observer.resumeThread(thread.id);

      const asked: Array<{ command: string; id: unknown }> = [];
      approver.onServerRequest("item/commandExecution/requestApproval", async (params, ctx) => {
        asked.push({ command: params.command, id: ctx.id });
        assert.equal(params.threadId, thread.id);
        assert.ok(params.startedAtMs > 0);
        // Let the observer see the request too before answering.
        await new Promise((r) => setTimeout(r, 50));
        return { decision: "accept" };
      });
      // The observer has no handler: the request waits in pendingServerRequests().
      const observerSignals: AbortSignal[] = [];
      observer.onServerRequestPending((r) => observerSignals.push(r.signal));

      const resolvedA: ServerRequestResolvedNotification[] = [];
      const resolvedB: ServerRequestResolvedNotification[] = [];
      approver.on("serverRequest/resolved", (p) => resolvedA.push(p));
      observer.on("serverRequest/resolved", (p) => resolvedB.push(p));

      const turn = await approver.runTurn(thread.id, "make a file", {}, 20_000);
      assert.equal(turn.status, "completed");
      assert.deepEqual(asked.map((a) => a.command), ["touch approved.txt"]);
      assert.ok(existsSync(join(daemon.workspace, "approved.txt")), "the approved command ran");

      const cmd = turn.items.find((i) => i.type === "commandExecution");
      assert.ok(cmd && cmd.type === "commandExecution");
      assert.equal(cmd.status, "completed");
      assert.equal(cmd.exitCode, 0);

      assert.equal(resolvedA.length, 1);
      assert.equal(resolvedA[0]!.decision, "accept");
      assert.equal(resolvedA[0]!.requestId, asked[0]!.id, "resolved carries the id this connection was sent");
      assert.equal(resolvedA[0]!.resolvedBy.clientName, "approver");

      await observer.waitForTurn(thread.id, turn.id, 5000);
      assert.equal(resolvedB.length, 1);
      assert.equal(resolvedB[0]!.resolvedBy.clientName, "approver");
      assert.equal(observerSignals.length, 1, "the observer was asked too");
      assert.ok(observerSignals[0]!.aborted, "and its pending request was withdrawn when another client answered");
      assert.equal(observer.pendingServerRequests().length, 0);
    } finally {
      await approver.close();
      await observer.close();
    }
  });

  test("a declined command does not run and the turn carries on", async () => {
    const client = await connectNodeWebSocket(daemon.url, { token: daemon.token });
    try {
      client.onServerRequest("item/commandExecution/requestApproval", () => ({ decision: "decline" }));
      const { thread } = await client.startThread({ cwd: daemon.workspace });
      const turn = await client.runTurn(thread.id, "make another", {}, 20_000);
      assert.equal(turn.status, "completed");
      assert.ok(!existsSync(join(daemon.workspace, "declined.txt")));
      const cmd = turn.items.find((i) => i.type === "commandExecution");
      assert.ok(cmd && cmd.type === "commandExecution");
      assert.equal(cmd.status, "declined");
    } finally {
      await client.close();
    }
  });
});
