//! Provider faults end each turn in the right terminal state after the configured retries.

use std::time::Duration;

use agentd_tests::mock_llm::{
    ChatQuirks, ChatStep, MockLlm, ReasoningField, Scripted, Step, Usage,
};
use agentd_tests::turns::of_method;
use agentd_tests::{Agentd, Options};
use serde_json::{json, Value};

async fn run_turn(script: Vec<Scripted>, wire: &str) -> (MockLlm, Vec<Value>) {
    let mock = MockLlm::start(script).await.unwrap();
    let d = Agentd::start(Options::default().mock_provider(&mock.base_url(), wire))
        .await
        .unwrap();
    let mut c = d.client("t").await.unwrap();
    let thread = c.start_thread(json!({})).await.unwrap();
    let turn = c.start_turn(&thread, "go").await.unwrap();
    let events = c.until_turn_completed(&turn).await.unwrap();
    (mock, events)
}

fn ending(events: &[Value]) -> (String, Option<String>) {
    let turn = &events.last().unwrap()["params"]["turn"];
    (
        turn["status"].as_str().unwrap().to_owned(),
        turn["error"]["kind"].as_str().map(str::to_owned),
    )
}

fn final_text(events: &[Value]) -> String {
    of_method(events, "item/completed")
        .into_iter()
        .rfind(|e| e["params"]["item"]["type"] == "agentMessage")
        .map(|e| e["params"]["item"]["text"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_500_then_success() {
    let (mock, events) = run_turn(
        vec![
            Scripted::http_error(500, json!({"error": {"message": "boom"}})),
            Scripted::responses_text("recovered"),
        ],
        "responses",
    )
    .await;
    assert_eq!(ending(&events).0, "completed");
    assert_eq!(final_text(&events), "recovered");
    assert_eq!(mock.requests().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_with_retry_hint_then_success() {
    let (mock, events) = run_turn(
        vec![
            Scripted::rate_limited_with_hint(0.05),
            Scripted::responses_text("ok"),
        ],
        "responses",
    )
    .await;
    assert_eq!(ending(&events).0, "completed");
    assert_eq!(mock.requests().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_500s_fail_after_the_configured_retries() {
    let err = || Scripted::http_error(500, json!({"error": {"message": "down"}}));
    let (mock, events) = run_turn(vec![err(), err(), err(), err()], "responses").await;
    assert_eq!(ending(&events), ("failed".into(), Some("httpError".into())));
    assert_eq!(
        mock.requests().len(),
        3,
        "1 request + request_max_retries=2"
    );
    assert_eq!(of_method(&events, "error").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_length_exceeded_is_not_retried() {
    // The request is not sent again as is: the turn compacts the history (one summarisation
    // request) and retries once (see compaction.rs); a second overflow fails the turn.
    let (mock, events) = run_turn(
        vec![
            Scripted::context_length_exceeded(),
            Scripted::responses_text("summary"),
            Scripted::context_length_exceeded(),
        ],
        "responses",
    )
    .await;
    assert_eq!(
        ending(&events),
        ("failed".into(), Some("contextWindowExceeded".into()))
    );
    assert_eq!(mock.requests().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_exceeded_is_not_retried() {
    let (mock, events) = run_turn(vec![Scripted::quota_exceeded()], "responses").await;
    assert_eq!(
        ending(&events),
        ("failed".into(), Some("usageLimitExceeded".into()))
    );
    assert_eq!(mock.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hang_up_mid_stream_is_retried_and_the_partial_item_closed() {
    let (mock, events) = run_turn(
        vec![
            Scripted::responses(vec![Step::created(), Step::message(&["half"])]),
            Scripted::responses_text("whole answer"),
        ],
        "responses",
    )
    .await;
    assert_eq!(ending(&events).0, "completed");
    assert_eq!(final_text(&events), "whole answer");
    let retry = of_method(&events, "error");
    assert_eq!(retry.len(), 1);
    assert_eq!(retry[0]["params"]["willRetry"], true);
    assert_eq!(mock.requests().len(), 2);
    // Every started item was completed.
    assert_eq!(
        of_method(&events, "item/started").len(),
        of_method(&events, "item/completed").len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_longer_than_the_idle_timeout_fails_after_stream_retries() {
    let stall = || {
        Scripted::responses(vec![
            Step::created(),
            Step::stall(Duration::from_secs(5)),
            Step::completed(Usage::default()),
        ])
    };
    let (mock, events) = run_turn(vec![stall(), stall(), stall()], "responses").await;
    assert_eq!(
        ending(&events),
        ("failed".into(), Some("responseStreamDisconnected".into()))
    );
    assert_eq!(mock.requests().len(), 3, "1 request + stream_max_retries=2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_event_is_retried() {
    let (_mock, events) = run_turn(
        vec![
            Scripted::responses(vec![Step::created(), Step::malformed()]),
            Scripted::responses_text("fine"),
        ],
        "responses",
    )
    .await;
    assert_eq!(ending(&events).0, "completed");
    assert_eq!(final_text(&events), "fine");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_failed_fails_the_turn() {
    let (_mock, events) = run_turn(
        vec![Scripted::responses(vec![
            Step::created(),
            Step::failed("server_error", "it broke"),
        ])],
        "responses",
    )
    .await;
    assert_eq!(
        ending(&events),
        ("failed".into(), Some("responseFailed".into()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_completions_text_and_reasoning_content() {
    let (mock, events) = run_turn(
        vec![Scripted::chat(vec![
            ChatStep::reasoning(&["pon", "der"], ReasoningField::ReasoningContent),
            ChatStep::content(&["Hi ", "there"]),
            ChatStep::finish("stop"),
            ChatStep::usage(11, 4, 0),
            ChatStep::done(),
        ])],
        "chat",
    )
    .await;
    assert_eq!(ending(&events).0, "completed");
    assert_eq!(final_text(&events), "Hi there");
    let reasoning = of_method(&events, "item/completed")
        .into_iter()
        .find(|e| e["params"]["item"]["type"] == "reasoning")
        .unwrap();
    assert_eq!(reasoning["params"]["item"]["summary"], json!(["ponder"]));
    assert!(mock.requests()[0].is_chat());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_reasoning_field_and_fragmented_tool_calls() {
    let (mock, events) = run_turn(
        vec![
            Scripted::chat(vec![
                ChatStep::reasoning(&["hm"], ReasoningField::Reasoning),
                ChatStep::tool_call(0, "call_a", "probe", &["{\"a\":", "1}"]),
                ChatStep::finish("tool_calls"),
                ChatStep::done(),
            ]),
            Scripted::chat_text("after the tool"),
        ],
        "chat",
    )
    .await;
    assert_eq!(ending(&events).0, "completed");
    assert_eq!(final_text(&events), "after the tool");
    let reqs = mock
        .wait_for_requests(2, Duration::from_secs(5))
        .await
        .unwrap();
    let msgs = reqs[1].body["messages"].as_array().unwrap();
    let call = msgs.iter().find(|m| m["tool_calls"].is_array()).unwrap();
    assert_eq!(call["tool_calls"][0]["function"]["arguments"], "{\"a\":1}");
    assert!(msgs
        .iter()
        .any(|m| m["role"] == "tool" && m["tool_call_id"] == "call_a"));
    mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_ollama_whole_tool_calls_at_index_zero() {
    let (mock, events) = run_turn(
        vec![
            Scripted::chat_with_quirks(
                vec![
                    ChatStep::tool_call(0, "call_1", "probe", &["{}"]),
                    ChatStep::tool_call(1, "call_2", "probe", &["{\"b\":2}"]),
                    ChatStep::finish("tool_calls"),
                    ChatStep::done(),
                ],
                ChatQuirks {
                    ollama_whole_tool_calls: true,
                },
            ),
            Scripted::chat_text("done"),
        ],
        "chat",
    )
    .await;
    assert_eq!(ending(&events).0, "completed");
    let reqs = mock
        .wait_for_requests(2, Duration::from_secs(5))
        .await
        .unwrap();
    let tool_msgs: Vec<&Value> = reqs[1].body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .collect();
    assert_eq!(tool_msgs.len(), 2, "both calls answered");
    mock.assert_pairing_ok();
}
