//! Helpers shared by the `model_*` tests: a fast-retrying client for a mock server, and
//! ways to pick apart the events a call sent.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use agentd::model::{
    Backoff, HistoryItem, ModelClient, ModelError, ModelEvent, ModelRequest, OutputItem,
    ProviderSettings, ToolSpec, Usage, WireApi,
};
use agentd_tests::mock_llm::MockLlm;
use tokio::sync::mpsc;

pub type Outcome = Result<ModelEvent, ModelError>;

/// Two request and two stream retries, a 5 s idle timeout, no key.
pub fn settings(base_url: String, wire_api: WireApi) -> ProviderSettings {
    ProviderSettings {
        id: "mock".into(),
        name: "Mock".into(),
        base_url,
        env_key: None,
        wire_api,
        http_headers: BTreeMap::new(),
        query_params: BTreeMap::new(),
        request_max_retries: 2,
        stream_max_retries: 2,
        stream_idle_timeout_ms: 5_000,
    }
}

/// A client whose backoff is milliseconds, so only server hints make a test wait.
pub fn client(settings: ProviderSettings) -> ModelClient {
    let fast = Backoff {
        base: Duration::from_millis(10),
        max: Duration::from_millis(50),
    };
    ModelClient::new(settings).unwrap().with_backoff(fast)
}

/// One user message ("hello") with these tools.
pub fn request(tools: Vec<ToolSpec>) -> ModelRequest {
    ModelRequest {
        model: "gpt-test".into(),
        instructions: "You are a test.".into(),
        input: vec![HistoryItem::user("hello")],
        tools,
        reasoning_effort: None,
        output_schema: None,
    }
}

/// Everything the call sends until its channel closes.
pub async fn collect(mut rx: mpsc::Receiver<Outcome>) -> Vec<Outcome> {
    let mut out = Vec::new();
    let drain = async {
        while let Some(event) = rx.recv().await {
            out.push(event);
        }
    };
    tokio::time::timeout(Duration::from_secs(10), drain)
        .await
        .expect("the call did not finish within 10 s");
    out
}

/// Runs `request` against the mock with the default settings.
pub async fn run(mock: &MockLlm, wire_api: WireApi, request: ModelRequest) -> Vec<Outcome> {
    collect(client(settings(mock.base_url(), wire_api)).stream(request)).await
}

pub fn text_deltas(events: &[Outcome]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            Ok(ModelEvent::TextDelta { delta, .. }) => Some(delta.as_str()),
            _ => None,
        })
        .collect()
}

/// The finished items with their output indices.
pub fn items(events: &[Outcome]) -> Vec<(u32, OutputItem)> {
    events
        .iter()
        .filter_map(|e| match e {
            Ok(ModelEvent::ItemDone { output_index, item }) => Some((*output_index, item.clone())),
            _ => None,
        })
        .collect()
}

/// The `attempt` of every `Retrying` event.
pub fn retries(events: &[Outcome]) -> Vec<u32> {
    events
        .iter()
        .filter_map(|e| match e {
            Ok(ModelEvent::Retrying { attempt, .. }) => Some(*attempt),
            _ => None,
        })
        .collect()
}

pub fn last(events: &[Outcome]) -> &Outcome {
    events.last().expect("the call sent nothing")
}

/// The usage of the final `Completed` (panics if the call did not complete).
pub fn completed_usage(events: &[Outcome]) -> Option<Usage> {
    match last(events) {
        Ok(ModelEvent::Completed { usage }) => *usage,
        other => panic!("expected Completed, got {other:?} in {events:#?}"),
    }
}

pub fn function_call(call_id: &str, name: &str, arguments: &str) -> OutputItem {
    OutputItem::FunctionCall {
        call_id: call_id.into(),
        name: name.into(),
        arguments: arguments.into(),
    }
}
