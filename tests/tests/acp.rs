//! `agentd acp` over its real stdio, with raw NDJSON: what an editor cannot be trusted to send
//! (broken JSON, unknown methods, oversized lines, audio, unknown sessions and modes) each gets
//! its own error and the agent keeps serving; a turn that fails answers the prompt with an
//! error (or `max_tokens`), never a hang; and `agentd acp` attaches to the daemon already
//! serving the data directory, whose other clients see the session's thread. The official
//! ACP SDK drives the main flows in tests/node/test/acp.test.mjs.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use agentd_tests::harness::agentd_command;
use agentd_tests::mock_llm::{MockLlm, Scripted};
use agentd_tests::turns::mock_provider_settings;
use agentd_tests::{Agentd, Options};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

const PATIENCE: Duration = Duration::from_secs(20);

struct Acp {
    _child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    /// Notifications seen while waiting for answers.
    updates: Vec<Value>,
}

impl Acp {
    fn start(home: &Path, data: &Path, mock: &MockLlm) -> Acp {
        let mut std_cmd = agentd_command(home).unwrap();
        std_cmd.arg("acp").arg("--data-dir").arg(data);
        for kv in mock_provider_settings(&mock.base_url(), "responses") {
            std_cmd.arg("-c").arg(kv);
        }
        let mut cmd = Command::from(std_cmd);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = cmd.spawn().unwrap();
        let stdin = child.stdin.take().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Acp {
            _child: child,
            stdin,
            lines,
            updates: Vec::new(),
        }
    }

    async fn send_raw(&mut self, line: &str) {
        self.stdin.write_all(line.as_bytes()).await.unwrap();
        self.stdin.write_all(b"\n").await.unwrap();
    }

    /// The next message that is not a `session/update`.
    async fn next(&mut self) -> Value {
        loop {
            let line = tokio::time::timeout(PATIENCE, self.lines.next_line())
                .await
                .expect("agentd acp answers in time")
                .unwrap()
                .expect("agentd acp is still running");
            let v: Value = serde_json::from_str(&line).unwrap();
            if v["method"] == "session/update" {
                self.updates.push(v["params"]["update"].clone());
                continue;
            }
            return v;
        }
    }

    async fn request(&mut self, id: i64, method: &str, params: Value) -> Value {
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.send_raw(&msg.to_string()).await;
        let answer = self.next().await;
        assert_eq!(answer["id"], id, "{answer}");
        answer
    }

    async fn new_session(&mut self, id: i64, cwd: &Path) -> String {
        let a = self
            .request(id, "session/new", json!({"cwd": cwd, "mcpServers": []}))
            .await;
        a["result"]["sessionId"].as_str().unwrap().to_owned()
    }
}

fn code(answer: &Value) -> i64 {
    answer["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("{answer}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_costs_only_its_own_request() {
    let mock = MockLlm::start(vec![]).await.unwrap();
    let (home, data, work) = (tempdir(), tempdir(), tempdir());
    let mut a = Acp::start(home.path(), data.path(), &mock);

    a.send_raw("{not json").await;
    let m = a.next().await;
    assert_eq!(code(&m), -32700);
    assert!(m["id"].is_null());
    assert_eq!(code(&a.request(1, "nope/never", json!({})).await), -32601);
    let huge = format!(
        r#"{{"id":2,"method":"initialize","params":{{"x":"{}"}}}}"#,
        "a".repeat(17 << 20)
    );
    a.send_raw(&huge).await;
    assert_eq!(code(&a.next().await), -32600);
    assert_eq!(
        code(&a.request(3, "session/new", json!({"cwd": 5})).await),
        -32602
    );
    let prompt = json!({"sessionId": "nobody", "prompt": [{"type": "text", "text": "hi"}]});
    assert_eq!(code(&a.request(4, "session/prompt", prompt).await), -32002);
    let sse = json!({"cwd": work.path(), "mcpServers": [
        {"type": "sse", "name": "old", "url": "http://127.0.0.1:1/sse", "headers": []}]});
    let m = a.request(5, "session/new", sse).await;
    assert_eq!(code(&m), -32602);
    assert!(
        m["error"]["message"].as_str().unwrap().contains("SSE"),
        "{m}"
    );

    let session = a.new_session(6, work.path()).await;
    let audio = json!({"sessionId": session, "prompt": [
        {"type": "audio", "data": "AAAA", "mimeType": "audio/wav"}]});
    let m = a.request(7, "session/prompt", audio).await;
    assert_eq!(code(&m), -32602);
    assert!(
        m["error"]["message"].as_str().unwrap().contains("audio"),
        "{m}"
    );
    let mode = json!({"sessionId": session, "modeId": "yolo"});
    assert_eq!(code(&a.request(8, "session/set_mode", mode).await), -32602);
    let html = json!({"sessionId": session, "prompt": [
        {"type": "image", "data": "AAAA", "mimeType": "text/html"}]});
    assert_eq!(code(&a.request(10, "session/prompt", html).await), -32602);
    let gone = json!({"sessionId": "no-such-thread", "cwd": work.path(), "mcpServers": []});
    assert_eq!(code(&a.request(11, "session/load", gone).await), -32002);

    let init = a
        .request(9, "initialize", json!({"protocolVersion": 1}))
        .await;
    assert_eq!(
        init["result"]["protocolVersion"], 1,
        "still serving: {init}"
    );
    assert!(mock.requests().is_empty(), "nothing reached the model");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_turn_answers_the_prompt_with_its_error_and_a_full_context_is_max_tokens() {
    let mock = MockLlm::start(vec![
        Scripted::http_error(400, json!({"error": {"message": "model says no"}})),
        // The turn's request, then the compaction that tries to make room: both too big.
        Scripted::context_length_exceeded(),
        Scripted::context_length_exceeded(),
        Scripted::context_length_exceeded(),
    ])
    .await
    .unwrap();
    let (home, data, work) = (tempdir(), tempdir(), tempdir());
    let mut a = Acp::start(home.path(), data.path(), &mock);
    let session = a.new_session(1, work.path()).await;
    let prompt =
        |text: &str| json!({"sessionId": session, "prompt": [{"type": "text", "text": text}]});

    let failed = a.request(2, "session/prompt", prompt("one")).await;
    assert!(
        failed["error"]["message"]
            .as_str()
            .unwrap()
            .contains("model says no"),
        "{failed}"
    );
    let full = a.request(3, "session/prompt", prompt("two")).await;
    assert_eq!(full["result"]["stopReason"], "max_tokens", "{full}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acp_attaches_to_the_daemon_serving_the_data_directory() {
    let mock = MockLlm::start(vec![Scripted::responses_text("from the shared daemon")])
        .await
        .unwrap();
    let (home, data, work) = (tempdir(), tempdir(), tempdir());
    let mut toml = String::new();
    for kv in mock_provider_settings(&mock.base_url(), "responses") {
        toml.push_str(&kv);
        toml.push('\n');
    }
    let d = Agentd::start(
        Options::default()
            .data_dir(data.path())
            .config_home(home.path())
            .config_toml(toml),
    )
    .await
    .unwrap();
    let mut watcher = d.client("watcher").await.unwrap();

    let mut a = Acp::start(home.path(), data.path(), &mock);
    let session = a.new_session(1, work.path()).await;
    let prompt = json!({"sessionId": session, "prompt": [{"type": "text", "text": "hello"}]});
    let done = a.request(2, "session/prompt", prompt).await;
    assert_eq!(done["result"]["stopReason"], "end_turn", "{done}");
    let said: String = a
        .updates
        .iter()
        .filter(|u| u["sessionUpdate"] == "agent_message_chunk")
        .map(|u| u["content"]["text"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(said, "from the shared daemon");

    let read = watcher
        .call(
            "thread/read",
            json!({"threadId": session, "includeTurns": true}),
        )
        .await
        .unwrap();
    assert!(
        read["thread"]["source"].to_string().contains("acp"),
        "{read}"
    );
    assert_eq!(read["thread"]["turns"].as_array().unwrap().len(), 1);
}

/// One editor may keep 64 sessions open; the 65th is refused as overloaded before its thread
/// is made, so a refused session leaves nothing behind in the daemon.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_past_the_limit_is_refused_and_leaves_no_thread() {
    let mock = MockLlm::start(vec![]).await.unwrap();
    let (home, data, work) = (tempdir(), tempdir(), tempdir());
    let d = Agentd::start(
        Options::default()
            .data_dir(data.path())
            .config_home(home.path()),
    )
    .await
    .unwrap();
    let mut watcher = d.client("watcher").await.unwrap();
    let mut a = Acp::start(home.path(), data.path(), &mock);
    for id in 1..=64 {
        a.new_session(id, work.path()).await;
    }
    let refused = a
        .request(
            65,
            "session/new",
            json!({"cwd": work.path(), "mcpServers": []}),
        )
        .await;
    assert_eq!(code(&refused), -32001, "{refused}");
    let listed = watcher
        .call("thread/list", json!({"limit": 100}))
        .await
        .unwrap();
    assert_eq!(listed["data"].as_array().unwrap().len(), 64, "{listed}");
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}
