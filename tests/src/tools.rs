//! Helpers for tests of tool calls, approvals and hooks: a daemon pointed at the mock model with
//! a workspace directory of its own, what the model was told about each call, and the items and
//! requests clients saw.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::harness::{Agentd, Options};
use crate::mock_llm::{MockLlm, RecordedRequest, Scripted, Step, Usage};
use crate::Client;

/// The server→client request asking whether a command may run (PROTOCOL.md §8).
pub const COMMAND_APPROVAL: &str = "item/commandExecution/requestApproval";
/// The server→client request asking whether a patch may be applied.
pub const FILE_APPROVAL: &str = "item/fileChange/requestApproval";

/// One model response made of these steps (tool calls, a gate…) between `created` and
/// `completed`: how a script makes the model call tools.
pub fn tool_calls(steps: Vec<Step>) -> Scripted {
    let mut all = vec![Step::created()];
    all.extend(steps);
    all.push(Step::completed(Usage::default()));
    Scripted::responses(all)
}

/// A `shell` call running `argv`.
pub fn shell_call(call_id: &str, argv: &[&str]) -> Step {
    shell_call_with(call_id, &json!({ "command": argv }))
}

/// A `shell` call with these arguments (`command`, and `timeout_ms` or other options).
pub fn shell_call_with(call_id: &str, arguments: &Value) -> Step {
    Step::function_call(call_id, "shell", &arguments.to_string())
}

/// A turn run to its end by a new client: its thread, its id and every message the client saw
/// (the last one is the `turn/completed`).
pub struct FinishedTurn {
    pub thread: String,
    pub turn: String,
    pub events: Vec<Value>,
}

/// A mock model, a daemon using it, and a workspace directory for threads to run in.
pub struct ToolRig {
    pub mock: MockLlm,
    pub daemon: Agentd,
    pub workspace: tempfile::TempDir,
}

impl ToolRig {
    /// Starts the mock with `script` and a daemon with `opts` plus the mock as its provider
    /// (Responses API).
    pub async fn start(script: Vec<Scripted>, opts: Options) -> Result<ToolRig> {
        Self::start_wire(script, opts, "responses").await
    }

    /// As [`ToolRig::start`], with the provider speaking `wire_api` (`responses` or `chat`).
    pub async fn start_wire(
        script: Vec<Scripted>,
        opts: Options,
        wire_api: &str,
    ) -> Result<ToolRig> {
        let mock = MockLlm::start(script).await?;
        let daemon = Agentd::start(opts.mock_provider(&mock.base_url(), wire_api)).await?;
        Ok(ToolRig {
            mock,
            daemon,
            workspace: tempfile::tempdir()?,
        })
    }

    /// A new initialized client.
    pub async fn client(&self, name: &str) -> Result<Client> {
        self.daemon.client(name).await
    }

    /// A path inside the workspace.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.workspace.path().join(rel)
    }

    /// The workspace as a string, for `thread/start {cwd}`.
    pub fn cwd(&self) -> String {
        self.workspace.path().display().to_string()
    }

    /// Starts a thread in the workspace with `client` and returns its id.
    pub async fn thread(&self, client: &mut Client) -> Result<String> {
        client.start_thread(json!({"cwd": self.cwd()})).await
    }

    /// Starts a thread in the workspace and a turn on it with a new client named `name`; returns
    /// the client, thread id and turn id, for tests that act while the turn runs.
    pub async fn start_turn(&self, name: &str, prompt: &str) -> Result<(Client, String, String)> {
        let mut c = self.client(name).await?;
        let thread = self.thread(&mut c).await?;
        let turn = c.start_turn(&thread, prompt).await?;
        Ok((c, thread, turn))
    }

    /// Runs one turn on a new thread to its end with a new client: for tests that only look at
    /// the outcome.
    pub async fn one_turn(&self, prompt: &str) -> Result<FinishedTurn> {
        let (mut c, thread, turn) = self.start_turn("t", prompt).await?;
        let events = c.until_turn_completed(&turn).await?;
        Ok(FinishedTurn {
            thread,
            turn,
            events,
        })
    }

    /// What the model was sent as the output of `call_id`, from the `n`th request (1-based),
    /// waiting for that request to arrive.
    pub async fn model_saw(&self, n: usize, call_id: &str) -> Result<String> {
        let reqs = self
            .mock
            .wait_for_requests(n, Duration::from_secs(10))
            .await?;
        tool_output(&reqs[n - 1], call_id).with_context(|| {
            format!(
                "request {n} carries no output for {call_id}: {}",
                reqs[n - 1].body
            )
        })
    }
}

impl Client {
    /// Answers an approval request with `decision` (`accept`, `decline`, …).
    pub fn decide(&self, request: &Value, decision: &str) -> Result<()> {
        self.respond(request, json!({ "decision": decision }))
    }

    /// Answers an approval request with `decision` and collects the turn's notifications to its
    /// end.
    pub async fn decide_and_finish(
        &mut self,
        request: &Value,
        decision: &str,
        turn_id: &str,
    ) -> Result<Vec<Value>> {
        self.decide(request, decision)?;
        self.until_turn_completed(turn_id).await
    }

    /// Interrupts a turn and collects its notifications to its end; fails when that took
    /// `within` or longer, since an interrupt must not wait for what it interrupts (a hook, an
    /// approval, a command).
    pub async fn interrupt_within(
        &mut self,
        thread_id: &str,
        turn_id: &str,
        within: Duration,
    ) -> Result<Vec<Value>> {
        let clock = Instant::now();
        self.call(
            "turn/interrupt",
            json!({"threadId": thread_id, "turnId": turn_id}),
        )
        .await?;
        let events = self.until_turn_completed(turn_id).await?;
        if clock.elapsed() >= within {
            bail!("the interrupted turn took {:?}", clock.elapsed());
        }
        Ok(events)
    }
}

impl Options {
    /// `-c approval_policy=…` and `-c sandbox_mode=…`.
    pub fn policies(self, approval: &str, sandbox: &str) -> Self {
        self.arg("-c")
            .arg(format!("approval_policy=\"{approval}\""))
            .arg("-c")
            .arg(format!("sandbox_mode=\"{sandbox}\""))
    }

    /// Commands simply run: no approvals, no sandbox.
    pub fn unconfined(self) -> Self {
        self.policies("never", "danger-full-access")
    }

    /// `-c KEY=VALUE`.
    pub fn set(self, kv: &str) -> Self {
        self.arg("-c").arg(kv)
    }
}

/// The output a request carries for `call_id`: a Responses `function_call_output` or
/// `custom_tool_call_output`, or a Chat Completions `tool` message.
pub fn tool_output(req: &RecordedRequest, call_id: &str) -> Option<String> {
    let body = &req.body;
    if let Some(items) = body.get("input").and_then(Value::as_array) {
        return items
            .iter()
            .find(|i| {
                (i["type"] == "function_call_output" || i["type"] == "custom_tool_call_output")
                    && i["call_id"] == call_id
            })
            .and_then(|i| i["output"].as_str().map(str::to_owned));
    }
    body.get("messages")?
        .as_array()?
        .iter()
        .find(|m| m["role"] == "tool" && m["tool_call_id"] == call_id)
        .and_then(|m| m["content"].as_str().map(str::to_owned))
}

/// The `item/completed` items of this type, in order.
pub fn completed_items<'a>(events: &'a [Value], item_type: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["method"] == "item/completed" && e["params"]["item"]["type"] == item_type)
        .map(|e| &e["params"]["item"])
        .collect()
}

/// The one completed item of this type; panics when there is not exactly one.
#[track_caller]
pub fn the_item<'a>(events: &'a [Value], item_type: &str) -> &'a Value {
    let items = completed_items(events, item_type);
    assert_eq!(
        items.len(),
        1,
        "expected one completed {item_type}: {events:#?}"
    );
    items[0]
}

/// The server→client requests (approvals) among received messages.
pub fn server_requests<'a>(events: &'a [Value], method: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e.get("id").is_some() && e["method"] == method)
        .collect()
}

/// The status a `turn/completed` (the last of `events`) reports.
pub fn turn_status(events: &[Value]) -> &str {
    events
        .last()
        .and_then(|e| e["params"]["turn"]["status"].as_str())
        .unwrap_or("<no turn/completed>")
}

/// Whether a process is running: it exists and is not a zombie waiting to be reaped.
pub fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state is the first field after the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Waits up to `within` for `pid` to stop running; returns whether it did.
pub async fn process_gone(pid: u32, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    while process_alive(pid) {
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

/// Reads a file the test expects to exist.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}
