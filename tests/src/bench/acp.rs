//! `agentd acp` as an editor sees it, over its real stdio: the time from sending `session/new`
//! to the first `agent_message_chunk` of the session's first prompt (a new thread, a turn, the
//! model's first delta), and `session/load` of a thread of 1,000 items replayed as updates
//! (request sent → answer received, every update before it).

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use agentd_tests::mock_llm::{MockLlm, Scripted};
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use super::stats::{ms, Summary};
use super::Ctx;

/// Sessions timed from `session/new` to the first chunk.
const SESSIONS: usize = 30;
/// Prompts of the thread loaded (a user and an agent message each).
const PROMPTS: usize = 500;
const LOADS: usize = 10;
const PATIENCE: Duration = Duration::from_secs(60);

pub async fn run(ctx: &Ctx) -> Result<Value> {
    println!(
        "== acp: session/new → first agent_message_chunk ({SESSIONS} sessions); session/load of \
         a {}-item thread ({LOADS} loads)",
        PROMPTS * 2
    );
    let script = vec![Scripted::responses_text("hello from the agent"); SESSIONS + PROMPTS];
    let mock = MockLlm::start(script).await?;
    let temp = tempfile::tempdir()?;
    let mut acp = Acp::start(&ctx.bin, temp.path(), &mock.base_url())?;
    acp.call("initialize", json!({"protocolVersion": 1}))
        .await?;
    let work = temp.path().display().to_string();

    let mut first_chunk = Vec::with_capacity(SESSIONS);
    for _ in 0..SESSIONS {
        let start = Instant::now();
        let session = acp.new_session(&work).await?;
        let id = acp.send("session/prompt", prompt(&session)).await?;
        acp.until_chunk().await?;
        first_chunk.push(start.elapsed().as_nanos() as u64);
        acp.answer(id).await?;
    }
    let first_chunk = Summary::of(&mut first_chunk);
    println!(
        "session/new → first chunk:   p50 {}  p90 {}  max {}",
        ms(first_chunk.p50),
        ms(first_chunk.p90),
        ms(first_chunk.max)
    );

    let session = acp.new_session(&work).await?;
    let built = Instant::now();
    for _ in 0..PROMPTS {
        acp.call("session/prompt", prompt(&session)).await?;
    }
    let per_prompt = built.elapsed() / PROMPTS as u32;
    println!("a prompt's round trip (mean of {PROMPTS}): {per_prompt:.2?}");
    acp.stop().await;

    let mut acp = Acp::start(&ctx.bin, temp.path(), &mock.base_url())?;
    acp.call("initialize", json!({"protocolVersion": 1}))
        .await?;
    let mut loads = Vec::with_capacity(LOADS);
    let mut replayed = 0;
    for _ in 0..LOADS {
        acp.updates = 0;
        let start = Instant::now();
        let params = json!({"sessionId": session, "cwd": work, "mcpServers": []});
        acp.call("session/load", params).await?;
        loads.push(start.elapsed().as_nanos() as u64);
        replayed = acp.updates;
    }
    let loads = Summary::of(&mut loads);
    println!(
        "session/load, {} items ({replayed} updates): p50 {}  max {}",
        PROMPTS * 2,
        ms(loads.p50),
        ms(loads.max)
    );
    acp.stop().await;
    Ok(json!({
        "newSessionToFirstChunkMs": first_chunk.json_ms(),
        "promptRoundTripMeanMs": per_prompt.as_secs_f64() * 1000.0,
        "load1000ItemsMs": loads.json_ms(),
        "loadUpdates": replayed,
    }))
}

fn prompt(session: &str) -> Value {
    json!({"sessionId": session, "prompt": [{"type": "text", "text": "hi"}]})
}

/// `agentd acp` on a data dir under `root`, pointed at the mock model.
struct Acp {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    next_id: i64,
    /// `session/update`s seen.
    updates: usize,
}

impl Acp {
    fn start(bin: &Path, root: &Path, model_url: &str) -> Result<Acp> {
        let mut cmd = Command::new(bin);
        cmd.arg("acp")
            .arg("--data-dir")
            .arg(root.join("data"))
            .args([
                "-c",
                "model=\"mock-model\"",
                "-c",
                "model_provider=\"mock\"",
            ])
            .arg("-c")
            .arg(format!("model_providers.mock.base_url=\"{model_url}\""))
            .args(["-c", "model_providers.mock.wire_api=\"responses\""])
            .env("XDG_CONFIG_HOME", root.join("config"))
            .env("XDG_RUNTIME_DIR", root.join("run"))
            .env_remove("AGENTD_DATA_DIR")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let mut child = cmd.spawn().context("spawning agentd acp")?;
        let stdin = child.stdin.take().context("no stdin")?;
        let lines = BufReader::new(child.stdout.take().context("no stdout")?).lines();
        Ok(Acp {
            child,
            stdin,
            lines,
            next_id: 0,
            updates: 0,
        })
    }

    async fn send(&mut self, method: &str, params: Value) -> Result<i64> {
        self.next_id += 1;
        let msg = json!({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params});
        let mut line = msg.to_string();
        line.push('\n');
        self.stdin.write_all(line.as_bytes()).await?;
        Ok(self.next_id)
    }

    async fn message(&mut self) -> Result<Value> {
        let line = tokio::time::timeout(PATIENCE, self.lines.next_line())
            .await
            .context("agentd acp went quiet")??
            .context("agentd acp exited")?;
        let v: Value = serde_json::from_str(&line)?;
        if v["method"] == "session/update" {
            self.updates += 1;
        }
        Ok(v)
    }

    async fn answer(&mut self, id: i64) -> Result<Value> {
        loop {
            let v = self.message().await?;
            if v["id"] == id && v.get("method").is_none() {
                if let Some(e) = v.get("error") {
                    bail!("request {id} failed: {e}");
                }
                return Ok(v["result"].clone());
            }
        }
    }

    async fn call(&mut self, method: &str, params: Value) -> Result<Value> {
        let id = self.send(method, params).await?;
        self.answer(id).await
    }

    async fn until_chunk(&mut self) -> Result<()> {
        loop {
            let v = self.message().await?;
            if v["params"]["update"]["sessionUpdate"] == "agent_message_chunk" {
                return Ok(());
            }
        }
    }

    async fn new_session(&mut self, cwd: &str) -> Result<String> {
        let r = self
            .call("session/new", json!({"cwd": cwd, "mcpServers": []}))
            .await?;
        r["sessionId"]
            .as_str()
            .map(str::to_owned)
            .context("session/new gave no sessionId")
    }

    async fn stop(mut self) {
        drop(self.stdin);
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
    }
}
