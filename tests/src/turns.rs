//! Helpers for tests that run turns against the mock model.

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::harness::Options;
use crate::Client;

impl Options {
    /// Points the daemon at a mock model server: provider `mock` with the given wire API, short
    /// retry delays and a short idle timeout so fault tests stay fast.
    pub fn mock_provider(self, base_url: &str, wire_api: &str) -> Self {
        let mut o = self;
        for kv in [
            "model=\"mock-model\"".to_string(),
            "model_provider=\"mock\"".to_string(),
            "model_providers.mock.name=\"Mock\"".to_string(),
            format!("model_providers.mock.base_url=\"{base_url}\""),
            format!("model_providers.mock.wire_api=\"{wire_api}\""),
            "model_providers.mock.request_max_retries=2".to_string(),
            "model_providers.mock.stream_max_retries=2".to_string(),
            "model_providers.mock.stream_idle_timeout_ms=1500".to_string(),
        ] {
            o = o.arg("-c").arg(kv);
        }
        o
    }
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
