// One streamed turn through @agentd/client, as `make demo` runs it (tests/src/bin/agentd-demo.rs):
// connect with the daemon's token, start a thread, send a prompt, print what streams in, and
// accept the approvals the daemon asks for. It imports the built SDK (`npm run build` makes
// ../dist), so it doubles as a check that the published entry point works from plain Node.
//
//   AGENTD_TOKEN=… node examples/demo.mjs ws://127.0.0.1:PORT [PROMPT]
//
// Environment: AGENTD_URL (instead of the first argument), AGENTD_TOKEN (the token stays off the
// command line, where other users of the machine could read it), AGENTD_CWD (the thread's
// working directory; default: the current directory).

import { connectNodeWebSocket } from "../dist/src/node.js";

const url = process.argv[2] ?? process.env.AGENTD_URL;
const prompt = process.argv[3] ?? "Say hello, then show me what is in this workspace.";
const cwd = process.env.AGENTD_CWD ?? process.cwd();
const token = process.env.AGENTD_TOKEN ?? null;
if (!url) {
  console.error("usage: AGENTD_TOKEN=… node examples/demo.mjs ws://HOST:PORT [PROMPT]");
  process.exit(2);
}

// Dim text (reasoning, command output) only on a terminal, so piped output stays plain.
const dim = process.stdout.isTTY ? (s) => `\x1b[2m${s}\x1b[0m` : (s) => s;
const out = (s) => process.stdout.write(s);

// No reconnect: this is a one-shot script, and a dropped daemon should fail it, not stall it.
const client = await connectNodeWebSocket(url, {
  token,
  clientInfo: { name: "ts-demo", version: "1" },
  reconnect: false,
  requestTimeoutMs: 10_000,
});

try {
  client.on("item/reasoning/summaryTextDelta", (p) => out(dim(p.delta)));
  client.on("item/agentMessage/delta", (p) => out(p.delta));
  client.on("item/started", (p) => {
    if (p.item.type === "commandExecution") out(`\n\n$ ${p.item.command}\n`);
  });
  client.on("item/commandExecution/outputDelta", (p) => out(dim(p.delta)));
  client.on("item/completed", (p) => {
    if (p.item.type === "reasoning") out("\n\n");
    if (p.item.type === "commandExecution") out(`[exit ${p.item.exitCode ?? "?"}, ${p.item.status}]\n\n`);
  });

  // The daemon asks before running what its approval policy does not trust. A real client
  // would show the request to a person; the demo accepts, and says so.
  client.onServerRequest("item/commandExecution/requestApproval", async (p) => {
    out(`\n[approval] run \`${p.command}\` in ${p.cwd}? -> accept (answered by this TypeScript client)\n`);
    return { decision: "accept" };
  });
  client.onServerRequest("item/fileChange/requestApproval", async (p) => {
    out(`\n[approval] change ${p.changes.map((c) => c.path).join(", ")}? -> accept\n`);
    return { decision: "accept" };
  });

  const { thread } = await client.startThread({ cwd });
  out(`[ts-demo] thread ${thread.id} in ${cwd}\n\n> ${prompt}\n\n`);
  const turn = await client.runTurn(thread.id, prompt, {}, 60_000);
  out(`\n\n[ts-demo] turn ${turn.id} ${turn.status}; thread ${thread.id} is at seq ${client.lastSeq(thread.id)}\n`);
  if (turn.status !== "completed") process.exitCode = 1;
} finally {
  await client.close();
}
