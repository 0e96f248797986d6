// Codex's own TypeScript SDK (`@openai/codex-sdk`, from the npm registry) driving agentd: it runs
// `codex exec --experimental-json …` with the prompt on stdin and parses the JSON Lines, so
// pointing its `codexPathOverride` at agentd is what a user of the SDK would do.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { Codex } from "@openai/codex-sdk";

import { agentdBin, messageAnswer, mockConfigHome, shellCallAnswer, startMock, tempDir } from "./harness.mjs";

let mock;
before(async () => {
  mock = await startMock([
    shellCallAnswer("c1", ["echo", "from the sdk"], { input_tokens: 10, output_tokens: 2 }),
    messageAnswer(["Hello", " from agentd"], { input_tokens: 40, output_tokens: 7 }),
    messageAnswer(["second turn"]),
  ]);
});
after(() => mock?.stop());

test("the Codex SDK runs a thread on agentd and reads its streamed events", async () => {
  const root = tempDir("sdk");
  const workdir = join(root, "work");
  mkdirSync(workdir);
  const env = {
    ...process.env,
    XDG_CONFIG_HOME: mockConfigHome(mock.url, 'sandbox_mode = "danger-full-access"'),
    AGENTD_DATA_DIR: join(root, "data"),
  };
  const codex = new Codex({ codexPathOverride: agentdBin, env });
  const thread = codex.startThread({ workingDirectory: workdir, skipGitRepoCheck: true });
  const { events } = await thread.runStreamed("say hello");
  const seen = [];
  for await (const event of events) seen.push(event);
  const types = seen.map((e) => e.type);
  assert.equal(types[0], "thread.started");
  assert.equal(types.at(-1), "turn.completed", JSON.stringify(seen));
  const command = seen.find((e) => e.type === "item.completed" && e.item.type === "command_execution");
  assert.equal(command.item.aggregated_output, "from the sdk\n");
  assert.equal(command.item.exit_code, 0);
  const message = seen.find((e) => e.type === "item.completed" && e.item.type === "agent_message");
  assert.equal(message.item.text, "Hello from agentd");
  // The thread's running total, as `codex exec` reports it: both model calls of the turn.
  assert.equal(seen.at(-1).usage.input_tokens, 50);
  assert.equal(seen.at(-1).usage.output_tokens, 9);
  assert.ok(thread.id, "the SDK took the thread id from thread.started");

  // A second turn on the same thread (the SDK runs `exec … resume <id>`).
  const second = await thread.run("and again");
  assert.equal(second.finalResponse, "second turn");
});
