//! Helpers for tests that run turns against the mock model, and for tests about what a thread's
//! history holds afterwards (fork, rollback, compaction): running a turn to its end, reading the
//! thread back, restarting the daemon on its data and reading what the model was sent.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::harness::Options;
use crate::mock_llm::{MockLlm, RecordedRequest, Scripted};
use crate::{Agentd, Client};

impl Options {
    /// Points the daemon at a mock model server: provider `mock` with the given wire API, short
    /// retry delays and a short idle timeout so fault tests stay fast.
    pub fn mock_provider(self, base_url: &str, wire_api: &str) -> Self {
        let mut o = self;
        for kv in mock_provider_settings(base_url, wire_api) {
            o = o.arg("-c").arg(kv);
        }
        o
    }
}

/// The `-c KEY=VALUE` settings of [`Options::mock_provider`], for a daemon started some other
/// way (e.g. spawned by a client on stdio).
pub fn mock_provider_settings(base_url: &str, wire_api: &str) -> Vec<String> {
    vec![
        "model=\"mock-model\"".to_string(),
        "model_provider=\"mock\"".to_string(),
        "model_providers.mock.name=\"Mock\"".to_string(),
        format!("model_providers.mock.base_url=\"{base_url}\""),
        format!("model_providers.mock.wire_api=\"{wire_api}\""),
        "model_providers.mock.request_max_retries=2".to_string(),
        "model_providers.mock.stream_max_retries=2".to_string(),
        "model_providers.mock.stream_idle_timeout_ms=1500".to_string(),
    ]
}

impl Client {
    /// Starts a turn with one text input; returns the turn id.
    pub async fn start_turn(&mut self, thread_id: &str, text: &str) -> Result<String> {
        let r = self
            .call(
                "turn/start",
                json!({"threadId": thread_id, "input": [{"type": "text", "text": text}]}),
            )
            .await?;
        r["turn"]["id"]
            .as_str()
            .map(str::to_owned)
            .context("turn/start without turn.id")
    }

    /// Collects notifications until this turn's `turn/completed`; returns them all (the last one
    /// is the `turn/completed`).
    pub async fn until_turn_completed(&mut self, turn_id: &str) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        loop {
            let m = self
                .next_message(std::time::Duration::from_secs(20))
                .await?;
            if m.get("method").is_none() {
                bail!("unexpected answer while waiting for the turn: {m}");
            }
            let done = m["method"] == "turn/completed" && m["params"]["turn"]["id"] == turn_id;
            out.push(m);
            if done {
                return Ok(out);
            }
        }
    }

    /// Starts a turn with one text input and collects its notifications to its
    /// `turn/completed` (the last one), whatever the outcome.
    pub async fn run_turn(&mut self, thread_id: &str, text: &str) -> Result<Vec<Value>> {
        let turn = self.start_turn(thread_id, text).await?;
        self.until_turn_completed(&turn).await
    }

    /// As [`Client::run_turn`], and fails unless the turn completed: for turns that only build
    /// up the history a test is about.
    pub async fn complete_turn(&mut self, thread_id: &str, text: &str) -> Result<Vec<Value>> {
        let events = self.run_turn(thread_id, text).await?;
        let status = &events.last().context("no turn/completed")?["params"]["turn"]["status"];
        if status != "completed" {
            bail!("the turn ended {status}: {events:#?}");
        }
        Ok(events)
    }

    /// Subscribes to a thread with `thread/resume`; returns the answer.
    pub async fn resume(&mut self, thread_id: &str) -> Result<Value> {
        self.call("thread/resume", json!({"threadId": thread_id}))
            .await
    }

    /// `thread/read` without turns; returns the answer.
    pub async fn read_thread(&mut self, thread_id: &str) -> Result<Value> {
        self.call("thread/read", json!({"threadId": thread_id}))
            .await
    }

    /// `thread/read` with `includeTurns: true`; returns the answer.
    pub async fn read_thread_with_turns(&mut self, thread_id: &str) -> Result<Value> {
        self.call(
            "thread/read",
            json!({"threadId": thread_id, "includeTurns": true}),
        )
        .await
    }
}

impl Agentd {
    /// A new initialized client subscribed to `thread_id`: a second client that watches what
    /// another one does.
    pub async fn subscriber(&self, name: &str, thread_id: &str) -> Result<Client> {
        let mut c = self.client(name).await?;
        c.resume(thread_id).await?;
        Ok(c)
    }
}

/// The text of each turn's first item (its prompt) in a `Thread` read with its turns; panics
/// when the thread has no turn list or a turn no prompt.
#[track_caller]
pub fn turn_prompts(thread: &Value) -> Vec<String> {
    let turns = thread["turns"]
        .as_array()
        .unwrap_or_else(|| panic!("a thread without turns: {thread}"));
    turns
        .iter()
        .map(|t| {
            t["items"][0]["content"][0]["text"]
                .as_str()
                .unwrap_or_else(|| panic!("a turn without a prompt: {t}"))
                .to_owned()
        })
        .collect()
}

/// Each input entry of a recorded Responses request as one line of text: message texts as is,
/// anything else by its type — what the model was shown, in order, to compare with a list.
/// Panics when the body has no `input` list.
#[track_caller]
pub fn input_texts(body: &Value) -> Vec<String> {
    body["input"]
        .as_array()
        .unwrap_or_else(|| panic!("a request without input: {body}"))
        .iter()
        .map(|i| match i["content"][0]["text"].as_str() {
            Some(t) => t.to_owned(),
            None => i["type"].as_str().unwrap_or("?").to_owned(),
        })
        .collect()
}

/// A mock model (Responses API) and a daemon wired to it that can be restarted on its data dir:
/// the setup of tests about what a thread's history holds across turns and restarts.
pub struct HistoryRig {
    pub mock: MockLlm,
    pub daemon: Agentd,
    /// What the daemon was started with, to start it again on the same data.
    opts: Options,
    /// The first daemon's temporary directory, kept alive across restarts.
    _temp: Option<tempfile::TempDir>,
}

impl HistoryRig {
    /// Starts the mock with `script` and a daemon with the mock as its provider.
    pub async fn start(script: Vec<Scripted>) -> Result<HistoryRig> {
        Self::start_with(script, Options::default()).await
    }

    /// As [`HistoryRig::start`], the daemon started with `opts` too.
    pub async fn start_with(script: Vec<Scripted>, opts: Options) -> Result<HistoryRig> {
        let mock = MockLlm::start(script).await?;
        let opts = opts.mock_provider(&mock.base_url(), "responses");
        let daemon = Agentd::start(opts.clone()).await?;
        Ok(HistoryRig {
            mock,
            daemon,
            opts,
            _temp: None,
        })
    }

    /// Stops the daemon with SIGTERM and starts it again on the same data dir.
    pub async fn restart(self) -> Result<HistoryRig> {
        let HistoryRig {
            mock,
            daemon,
            opts,
            _temp,
        } = self;
        let (_, data_dir, temp) = daemon.terminate().await?;
        let daemon = Agentd::start(opts.clone().data_dir(&data_dir)).await?;
        Ok(HistoryRig {
            mock,
            daemon,
            opts,
            _temp: _temp.or(temp),
        })
    }

    /// A new initialized client.
    pub async fn client(&self, name: &str) -> Result<Client> {
        self.daemon.client(name).await
    }

    /// A new initialized client named `name` and a thread it started with default settings.
    pub async fn client_with_thread(&self, name: &str) -> Result<(Client, String)> {
        let mut c = self.client(name).await?;
        let thread = c.start_thread(json!({})).await?;
        Ok((c, thread))
    }

    /// The first `n` requests the model was sent, waiting up to 5 s for them to arrive.
    pub async fn requests(&self, n: usize) -> Result<Vec<RecordedRequest>> {
        self.mock.wait_for_requests(n, Duration::from_secs(5)).await
    }
}

/// The notifications of a list with this method.
pub fn of_method<'a>(events: &'a [Value], method: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["method"] == method).collect()
}

/// Asserts the seqs of these notifications are strictly consecutive.
pub fn assert_consecutive(events: &[Value]) {
    let seqs: Vec<u64> = events
        .iter()
        .filter_map(|e| e["params"]["seq"].as_u64())
        .collect();
    for w in seqs.windows(2) {
        assert_eq!(w[1], w[0] + 1, "seq gap or reorder in {seqs:?}");
    }
}

/// A mock model serving `script` and a daemon wired to it over `wire` (`responses` or `chat`):
/// the setup nearly every turn test starts with.
pub async fn daemon_with_mock(
    script: Vec<crate::mock_llm::Scripted>,
    wire: &str,
) -> Result<(crate::mock_llm::MockLlm, crate::Agentd)> {
    let mock = crate::mock_llm::MockLlm::start(script).await?;
    let daemon =
        crate::Agentd::start(Options::default().mock_provider(&mock.base_url(), wire)).await?;
    Ok((mock, daemon))
}
