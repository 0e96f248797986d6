// `agentd app-server` behind Codex's own ACP adapter, `@agentclientprotocol/codex-acp` from the
// npm registry: the adapter runs `$CODEX_PATH app-server` and speaks Codex's app-server protocol
// to it, so with CODEX_PATH=agentd an editor's ACP client drives agentd exactly as it would drive
// `codex app-server`. The official ACP client SDK drives the adapter (its schema checks every
// message the adapter sends). Proven here: initialize; session/new (account/read,
// permissionProfile/list, config/read, thread/start, model/list, skills/list); a prompt whose
// shell call asks permission through the adapter and runs once allowed, with streamed output
// and answer; the adapter's title turn on an ephemeral thread (its answer read from
// turn/completed) naming the session; session/close (background terminals); and after a
// restart session/list, session/load replaying the history, session/cancel and session/delete.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { Readable, Writable } from "node:stream";
import { test } from "node:test";

import * as acp from "@agentclientprotocol/sdk";

import { agentdBin, messageAnswer, mockConfigHome, repoRoot, startMock, tempDir } from "./harness.mjs";

const adapter = resolve(repoRoot, "tests/node/node_modules/@agentclientprotocol/codex-acp/dist/index.js");

/** The adapter as an editor starts it, with agentd as its Codex, and an SDK client on it. */
function startAdapter(env) {
  // The adapter passes its environment on to `agentd app-server`: the mock config and the
  // data directory reach agentd through it.
  const child = spawn(process.execPath, [adapter], { env, stdio: ["pipe", "pipe", "inherit"] });
  const updates = [];
  const questions = [];
  const conn = acp
    .client({ name: "agentd-codex-acp-test" })
    .onNotification(acp.methods.client.session.update, ({ params }) => {
      updates.push(params.update);
    })
    .onRequest(acp.methods.client.session.requestPermission, ({ params }) => {
      questions.push(params);
      const option = params.options.find((o) => o.kind === "allow_once");
      return { outcome: { outcome: "selected", optionId: option.optionId } };
    })
    .connect(acp.ndJsonStream(Writable.toWeb(child.stdin), Readable.toWeb(child.stdout)));
  const agent = conn.agent;
  return {
    agent,
    updates,
    questions,
    initialize() {
      return agent.request(acp.methods.agent.initialize, {
        protocolVersion: acp.PROTOCOL_VERSION,
        clientCapabilities: { fs: { readTextFile: false, writeTextFile: false }, terminal: false },
        clientInfo: { name: "test", version: "0" },
      });
    },
    /** Waits for an update `pick` accepts (the adapter sends some after its answers). */
    async until(pick, what) {
      const started = Date.now();
      for (;;) {
        const found = updates.find(pick);
        if (found) return found;
        assert.ok(Date.now() - started < 15_000, `no ${what} arrived: ${JSON.stringify(updates)}`);
        await new Promise((ok) => setTimeout(ok, 20));
      }
    },
    /** Closes the adapter's stdin, as an editor does; the adapter stops agentd at once but
     * lingers itself for seconds, so it gets a SIGTERM after one. */
    async stop() {
      conn.close();
      child.stdin.end();
      await new Promise((ok) => {
        if (child.exitCode !== null) return ok();
        const term = setTimeout(() => child.kill("SIGTERM"), 1_000);
        child.once("exit", () => {
          clearTimeout(term);
          ok();
        });
      });
    },
  };
}

async function setup(script) {
  const root = tempDir("codex-acp");
  const work = join(root, "work");
  mkdirSync(work);
  const mock = await startMock(script);
  const env = {
    ...process.env,
    CODEX_PATH: agentdBin,
    XDG_CONFIG_HOME: mockConfigHome(mock.url),
    AGENTD_DATA_DIR: join(root, "data"),
    NO_BROWSER: "1",
  };
  // Nothing of the user's may steer the adapter.
  for (const k of ["CODEX_CONFIG", "MODEL_PROVIDER", "DEFAULT_AUTH_REQUEST", "INITIAL_AGENT_MODE", "APP_SERVER_LOGS"]) {
    delete env[k];
  }
  return { mock, work, env };
}

/** Calls agentd directly (`agentd app-server` on stdio, as Codex's clients speak it). */
async function appServer(env, calls) {
  const child = spawn(agentdBin, ["app-server"], { env, stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout });
  const answers = new Map();
  const waiting = new Map();
  lines.on("line", (line) => {
    const m = JSON.parse(line);
    if (m.id === undefined || m.method !== undefined) return;
    answers.set(m.id, m);
    waiting.get(m.id)?.(m);
  });
  const call = (id, method, params) =>
    new Promise((ok) => {
      waiting.set(id, ok);
      child.stdin.write(`${JSON.stringify({ id, method, params })}\n`);
    });
  try {
    await call(0, "initialize", { clientInfo: { name: "check", version: "0" } });
    const out = [];
    for (const [i, [method, params]] of calls.entries()) {
      const m = await call(i + 1, method, params);
      assert.equal(m.error, undefined, `${method}: ${JSON.stringify(m.error)}`);
      out.push(m.result);
    }
    return out;
  } finally {
    child.stdin.end();
    await new Promise((ok) => (child.exitCode !== null ? ok() : child.once("exit", ok)));
  }
}

const titleAnswer = (title) => messageAnswer([`{"title": "${title}"}`]);
const text = (updates, tag) =>
  updates.filter((u) => u.sessionUpdate === tag).map((u) => u.content.text).join("");

test("codex-acp runs a session on agentd: a shell call allowed through the adapter, the answer, a generated title", async () => {
  const { mock, work, env } = await setup([
    {
      responses: [
        { function_call: { call_id: "c1", name: "shell", arguments: { command: ["echo", "codex-acp-ok"], escalate: true } } },
        { completed: {} },
      ],
    },
    messageAnswer(["All", " done"]),
    // The adapter's title turn, on an ephemeral thread, after the first prompt.
    titleAnswer("Echo check"),
  ]);
  const a = startAdapter(env);
  let sessionId;
  try {
    const init = await a.initialize();
    assert.equal(init.protocolVersion, 1);
    assert.equal(init.agentInfo.name, "@agentclientprotocol/codex-acp");

    // account/read says no OpenAI login is needed, model/list has the configured model, and
    // agentd's permission profiles are Codex's built-ins (`:`-ids), so the modes are the
    // adapter's four and no duplicates.
    const session = await a.agent.request(acp.methods.agent.session.new, { cwd: work, mcpServers: [] });
    sessionId = session.sessionId;
    assert.ok(sessionId);
    assert.match(session.models.currentModelId, /^mock-model/);
    assert.deepEqual(
      session.modes.availableModes.map((m) => m.id),
      ["read-only", "workspace-write", "agent", "agent-full-access"],
    );

    const answer = await a.agent.request(acp.methods.agent.session.prompt, {
      sessionId,
      prompt: [{ type: "text", text: "run it" }],
    });
    assert.equal(answer.stopReason, "end_turn");
    assert.equal(text(a.updates, "agent_message_chunk"), "All done");

    // agentd's item/commandExecution/requestApproval became session/request_permission.
    const call = a.updates.find((u) => u.sessionUpdate === "tool_call" && u.kind === "execute");
    assert.ok(call, JSON.stringify(a.updates));
    assert.equal(call.title, "echo codex-acp-ok");
    assert.equal(a.questions.length, 1);
    assert.equal(a.questions[0].toolCall.toolCallId, call.toolCallId);
    const progress = a.updates.filter((u) => u.sessionUpdate === "tool_call_update" && u.toolCallId === call.toolCallId);
    const output = progress.map((u) => u._meta?.terminal_output_delta?.data ?? "").join("");
    assert.equal(output, "codex-acp-ok\n");
    const done = progress.find((u) => u.status);
    assert.equal(done.status, "completed");
    assert.equal(done._meta.terminal_exit.exit_code, 0);

    // The title the adapter's title turn wrote (thread/name/set) comes back as the session's.
    await a.until((u) => u.sessionUpdate === "session_info_update" && u.title === "Echo check", "generated title");

    await a.agent.request(acp.methods.agent.session.close, { sessionId });
  } finally {
    await a.stop();
    mock.stop();
  }

  // agentd's store has the session, named, with its shell call; the title thread is not listed.
  const [list, read] = await appServer(env, [
    ["thread/list", {}],
    ["thread/read", { threadId: sessionId, includeTurns: true }],
  ]);
  assert.deepEqual(list.data.map((t) => t.id), [sessionId]);
  assert.equal(read.thread.name, "Echo check");
  const items = read.thread.turns.flatMap((t) => t.items);
  const command = items.find((i) => i.type === "commandExecution");
  assert.equal(command.aggregatedOutput, "codex-acp-ok\n");
  assert.equal(command.exitCode, 0);
});

test("after a restart codex-acp lists and loads the session from agentd, cancels a prompt and deletes the session", async () => {
  const { mock, work, env } = await setup([
    messageAnswer(["Hello", " there"]),
    titleAnswer("Greeting"),
    { responses: ["created", { message: ["Partial"] }, { stall_ms: 30000 }, { completed: {} }] },
  ]);
  let sessionId;
  const first = startAdapter(env);
  try {
    await first.initialize();
    ({ sessionId } = await first.agent.request(acp.methods.agent.session.new, { cwd: work, mcpServers: [] }));
    const answer = await first.agent.request(acp.methods.agent.session.prompt, {
      sessionId,
      prompt: [{ type: "text", text: "say hello" }],
    });
    assert.equal(answer.stopReason, "end_turn");
    await first.until((u) => u.sessionUpdate === "session_info_update" && u.title === "Greeting", "generated title");
  } finally {
    await first.stop();
  }

  const second = startAdapter(env);
  try {
    await second.initialize();
    const list = await second.agent.request(acp.methods.agent.session.list, { cwd: work });
    assert.deepEqual(list.sessions.map((s) => [s.sessionId, s.title]), [[sessionId, "Greeting"]]);

    await second.agent.request(acp.methods.agent.session.load, { sessionId, cwd: work, mcpServers: [] });
    assert.equal(text(second.updates, "user_message_chunk"), "say hello");
    // The history, then (as agent text) the `warning` agentd sends to thread/resume naming the
    // config keys the adapter sent that agentd does not apply (features, projects, skills).
    const replayed = second.updates.filter((u) => u.sessionUpdate === "agent_message_chunk");
    assert.equal(replayed[0].content.text, "Hello there");

    // session/cancel is turn/interrupt: the stalled answer ends at once.
    second.updates.length = 0;
    const started = Date.now();
    const prompt = second.agent.request(acp.methods.agent.session.prompt, {
      sessionId,
      prompt: [{ type: "text", text: "go slowly" }],
    });
    await second.until((u) => u.sessionUpdate === "agent_message_chunk", "streamed chunk");
    await second.agent.notify(acp.methods.agent.session.cancel, { sessionId });
    assert.equal((await prompt).stopReason, "cancelled");
    assert.ok(Date.now() - started < 15_000, "the cancel did not cut the stall short");

    await second.agent.request(acp.methods.agent.session.delete, { sessionId });
    const after = await second.agent.request(acp.methods.agent.session.list, { cwd: work });
    assert.deepEqual(after.sessions, []);
  } finally {
    await second.stop();
    mock.stop();
  }
});
