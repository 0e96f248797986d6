// `agentd acp` driven by the official ACP client SDK (`@agentclientprotocol/sdk` from the npm
// registry, its stable v1 API over `ndJsonStream`), as an editor would drive it: prompts with
// streamed chunks, tool calls with permission (allowed and rejected), plans, cancel mid-stream,
// an MCP server given to `session/new`, and `session/load` after a restart replaying the whole
// history, tool calls included. The SDK validates every message agentd sends against its schema.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { Readable, Writable } from "node:stream";
import { test } from "node:test";

import * as acp from "@agentclientprotocol/sdk";

import { agentdBin, messageAnswer, mockConfigHome, repoRoot, startMock, tempDir } from "./harness.mjs";

const everything = resolve(repoRoot, "tests/node/node_modules/@modelcontextprotocol/server-everything/dist/index.js");

/** One `agentd acp` process and an SDK client connected to it. `choose` picks the permission
 * option for each question (by kind); every update and question is recorded. */
function startAcp(env, choose = () => "allow_once") {
  const child = spawn(agentdBin, ["acp"], { env, stdio: ["pipe", "pipe", "inherit"] });
  const updates = [];
  const questions = [];
  const stream = acp.ndJsonStream(Writable.toWeb(child.stdin), Readable.toWeb(child.stdout));
  const conn = acp
    .client({ name: "agentd-acp-test" })
    .onNotification(acp.methods.client.session.update, ({ params }) => {
      updates.push(params.update);
    })
    .onRequest(acp.methods.client.session.requestPermission, ({ params }) => {
      questions.push(params);
      const kind = choose(params);
      const option = params.options.find((o) => o.kind === kind);
      return { outcome: { outcome: "selected", optionId: option.optionId } };
    })
    .connect(stream);
  const agent = conn.agent;
  return {
    agent,
    updates,
    questions,
    async initialize() {
      return agent.request(acp.methods.agent.initialize, {
        protocolVersion: acp.PROTOCOL_VERSION,
        clientCapabilities: { fs: { readTextFile: false, writeTextFile: false }, terminal: false },
        clientInfo: { name: "test", version: "0" },
      });
    },
    async stop() {
      conn.close();
      child.stdin.end();
      await new Promise((ok) => {
        if (child.exitCode !== null) return ok();
        child.once("exit", ok);
        setTimeout(() => child.kill("SIGKILL"), 10_000);
      });
    },
  };
}

function setup(script, extraToml = "") {
  const root = tempDir("acp");
  const work = join(root, "work");
  mkdirSync(work);
  return startMock(script).then((mock) => ({
    mock,
    work,
    env: {
      ...process.env,
      XDG_CONFIG_HOME: mockConfigHome(mock.url, extraToml),
      AGENTD_DATA_DIR: join(root, "data"),
    },
  }));
}

const shell = (callId, command, escalate = true) => ({
  responses: [
    { function_call: { call_id: callId, name: "shell", arguments: { command, escalate } } },
    { completed: {} },
  ],
});
const plan = (callId, steps) => ({
  responses: [{ function_call: { call_id: callId, name: "update_plan", arguments: { plan: steps } } }, { completed: {} }],
});
const text = (updates, tag) =>
  updates.filter((u) => u.sessionUpdate === tag).map((u) => u.content.text).join("");

test("a prompt streams its answer, a plan and a shell call the user allows; a rejected one never runs", async () => {
  const { mock, work, env } = await setup([
    plan("p1", [{ step: "look", status: "in_progress" }, { step: "fix", status: "pending" }]),
    shell("c1", ["echo", "acp-ok"]),
    messageAnswer(["All", " done"]),
    shell("c2", ["touch", "rejected.txt"]),
    messageAnswer(["not run"]),
  ]);
  const decisions = ["allow_once", "reject_once"];
  const a = startAcp(env, () => decisions.shift());
  try {
    const init = await a.initialize();
    assert.equal(init.protocolVersion, 1);
    assert.equal(init.agentCapabilities.loadSession, true);
    assert.equal(init.agentCapabilities.promptCapabilities.image, true);
    assert.equal(init.agentCapabilities.promptCapabilities.embeddedContext, true);

    const session = await a.agent.request(acp.methods.agent.session.new, { cwd: work, mcpServers: [] });
    assert.ok(session.sessionId);
    assert.deepEqual(
      session.modes.availableModes.map((m) => m.id),
      ["read-only", "auto", "full-access"],
    );

    const first = await a.agent.request(acp.methods.agent.session.prompt, {
      sessionId: session.sessionId,
      prompt: [{ type: "text", text: "say hi" }],
    });
    assert.equal(first.stopReason, "end_turn");
    assert.equal(text(a.updates, "agent_message_chunk"), "All done");
    const planUpdate = a.updates.find((u) => u.sessionUpdate === "plan");
    assert.deepEqual(
      planUpdate.entries.map((e) => [e.content, e.status]),
      [["look", "in_progress"], ["fix", "pending"]],
    );
    const call = a.updates.find((u) => u.sessionUpdate === "tool_call" && u.kind === "execute");
    assert.match(call.title, /echo acp-ok/);
    assert.equal(a.questions.length, 1);
    assert.equal(a.questions[0].toolCall.toolCallId, call.toolCallId);
    assert.deepEqual(
      a.questions[0].options.map((o) => o.kind),
      ["allow_once", "allow_always", "reject_once", "reject_always"],
    );
    const done = a.updates.find((u) => u.sessionUpdate === "tool_call_update" && u.toolCallId === call.toolCallId);
    assert.equal(done.status, "completed");
    assert.equal(done.content[0].content.text, "acp-ok\n");

    a.updates.length = 0;
    const second = await a.agent.request(acp.methods.agent.session.prompt, {
      sessionId: session.sessionId,
      prompt: [{ type: "text", text: "touch it" }],
    });
    assert.equal(second.stopReason, "end_turn");
    assert.equal(a.questions.length, 2);
    const refused = a.updates.find((u) => u.sessionUpdate === "tool_call_update" && u.status);
    assert.equal(refused.status, "failed");
    assert.equal(existsSync(join(work, "rejected.txt")), false);
  } finally {
    await a.stop();
    mock.stop();
  }
});

test("session/cancel ends a streaming prompt with stopReason cancelled", async () => {
  const { mock, work, env } = await setup([
    { responses: ["created", { message: ["Partial"] }, { stall_ms: 30000 }, { completed: {} }] },
  ]);
  const a = startAcp(env);
  try {
    await a.initialize();
    const { sessionId } = await a.agent.request(acp.methods.agent.session.new, { cwd: work, mcpServers: [] });
    const prompt = a.agent.request(acp.methods.agent.session.prompt, {
      sessionId,
      prompt: [{ type: "text", text: "go slowly" }],
    });
    const started = Date.now();
    while (!a.updates.some((u) => u.sessionUpdate === "agent_message_chunk")) {
      assert.ok(Date.now() - started < 20_000, "no chunk arrived");
      await new Promise((ok) => setTimeout(ok, 20));
    }
    await a.agent.notify(acp.methods.agent.session.cancel, { sessionId });
    const answer = await prompt;
    assert.equal(answer.stopReason, "cancelled");
    assert.ok(Date.now() - started < 20_000, "the cancel did not cut the stall short");
  } finally {
    await a.stop();
    mock.stop();
  }
});

test("an MCP server given to session/new serves the session's tool calls", async () => {
  const { mock, work, env } = await setup([
    {
      responses: [
        { function_call: { call_id: "m1", name: "mcp__everything__echo", arguments: { message: "hi from acp" } } },
        { completed: {} },
      ],
    },
    messageAnswer(["echoed"]),
  ]);
  const a = startAcp(env);
  try {
    await a.initialize();
    const { sessionId } = await a.agent.request(acp.methods.agent.session.new, {
      cwd: work,
      mcpServers: [{ name: "everything", command: process.execPath, args: [everything, "stdio"], env: [] }],
    });
    const answer = await a.agent.request(acp.methods.agent.session.prompt, {
      sessionId,
      prompt: [{ type: "text", text: "echo something" }],
    });
    assert.equal(answer.stopReason, "end_turn");
    const call = a.updates.find((u) => u.sessionUpdate === "tool_call" && u.title === "everything: echo");
    assert.ok(call, JSON.stringify(a.updates));
    const done = a.updates.find((u) => u.sessionUpdate === "tool_call_update" && u.toolCallId === call.toolCallId);
    assert.equal(done.status, "completed", JSON.stringify(done));
    assert.match(JSON.stringify(done.content), /hi from acp/);
    assert.equal(text(a.updates, "agent_message_chunk"), "echoed");
  } finally {
    await a.stop();
    mock.stop();
  }
});

test("after a restart, session/list finds the session and session/load replays all of it", async () => {
  const { mock, work, env } = await setup([
    plan("p1", [{ step: "run it", status: "completed" }]),
    shell("c1", ["echo", "replayed"], false),
    messageAnswer(["Finished", " the job"]),
  ]);
  let sessionId;
  let live;
  const first = startAcp(env);
  try {
    await first.initialize();
    ({ sessionId } = await first.agent.request(acp.methods.agent.session.new, { cwd: work, mcpServers: [] }));
    await first.agent.request(acp.methods.agent.session.setMode, {
      sessionId,
      modeId: "full-access",
    });
    const answer = await first.agent.request(acp.methods.agent.session.prompt, {
      sessionId,
      prompt: [{ type: "text", text: "run the job" }],
    });
    assert.equal(answer.stopReason, "end_turn");
    assert.equal(first.questions.length, 0, "full-access asks nothing");
    live = first.updates.filter((u) => u.sessionUpdate !== "current_mode_update");
    assert.deepEqual(
      [...new Set(live.map((u) => u.sessionUpdate))],
      ["plan", "tool_call", "tool_call_update", "agent_message_chunk"],
    );
  } finally {
    await first.stop();
  }

  const second = startAcp(env);
  try {
    await second.initialize();
    const list = await second.agent.request(acp.methods.agent.session.list, { cwd: work });
    assert.deepEqual(list.sessions.map((s) => s.sessionId), [sessionId]);
    assert.match(list.sessions[0].updatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    await second.agent.request(acp.methods.agent.session.load, { sessionId, cwd: work, mcpServers: [] });
    const replay = second.updates;
    assert.equal(replay[0].sessionUpdate, "user_message_chunk");
    assert.equal(replay[0].content.text, "run the job");
    // Everything the live prompt showed comes back, in the same order.
    assert.deepEqual(replay.slice(1), live);
    const done = replay.find((u) => u.sessionUpdate === "tool_call_update");
    assert.equal(done.status, "completed");
    assert.equal(done.content[0].content.text, "replayed\n");

    await assert.rejects(
      second.agent.request(acp.methods.agent.session.load, { sessionId: "no-such-thread", cwd: work, mcpServers: [] }),
      (e) => e.code === -32002,
    );
  } finally {
    await second.stop();
    mock.stop();
  }
});
