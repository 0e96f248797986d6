//! Provider-hosted web search (`web_search = "live"`, Codex's key): the Responses request offers
//! the hosted tool, the provider's `web_search_call` items become `webSearch` thread items in
//! Codex's shape and go back to the model in the next request; a Chat Completions provider
//! cannot have it (a config error naming the provider, or a failed turn for a thread's own
//! setting); off by default.

use agentd_tests::mock_llm::{MockLlm, Scripted, Step, Usage};
use agentd_tests::tools::completed_items;
use agentd_tests::{Agentd, Options};
use serde_json::{json, Value};

use crate::codex_support::assert_codex_valid;

fn searched_then_answered() -> Scripted {
    let item = json!({"type": "web_search_call", "id": "ws_1", "status": "completed",
                      "action": {"type": "search", "query": "rust release 2026"}});
    Scripted::responses(vec![
        Step::created(),
        Step::Raw {
            event: "response.output_item.done".into(),
            data: json!({"type": "response.output_item.done", "output_index": 0, "item": item}),
        },
        Step::Message(vec!["Rust 1.99".into(), " is out".into()]),
        Step::completed(Usage::default()),
    ])
}

fn web_search_tools(body: &Value) -> Vec<Value> {
    body["tools"]
        .as_array()
        .map(|tools| {
            tools
                .iter()
                .filter(|t| t["type"] == "web_search")
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_search_is_offered_shown_as_a_web_search_item_and_kept_in_history() {
    let mock = MockLlm::start(vec![
        searched_then_answered(),
        Scripted::responses_text("ok"),
    ])
    .await
    .unwrap();
    let d = Agentd::start(
        Options::default()
            .mock_provider(&mock.base_url(), "responses")
            .config_toml("web_search = \"live\"\n"),
    )
    .await
    .unwrap();
    let mut c = d.client("t").await.unwrap();
    let thread = c.start_thread(json!({})).await.unwrap();
    let turn = c.start_turn(&thread, "what is new in rust?").await.unwrap();
    let events = c.until_turn_completed(&turn).await.unwrap();

    let first = &mock.requests()[0].body;
    assert_eq!(
        web_search_tools(first),
        [json!({"type": "web_search", "external_web_access": true})]
    );
    let searches = completed_items(&events, "webSearch");
    assert_eq!(searches.len(), 1, "{events:#?}");
    let item = &searches[0];
    assert_eq!(item["query"], "rust release 2026");
    assert_eq!(item["action"]["type"], "search");
    assert_codex_valid("ThreadItem", item);
    let started = events
        .iter()
        .any(|e| e["method"] == "item/started" && e["params"]["item"]["type"] == "webSearch");
    assert!(started, "the search has its item/started");

    let turn = c.start_turn(&thread, "and then?").await.unwrap();
    c.until_turn_completed(&turn).await.unwrap();
    let input = mock.requests()[1].body["input"].clone();
    let carried = input
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["type"] == "web_search_call" && i["id"] == "ws_1");
    assert!(carried, "the next request carries the search back: {input}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_by_default_and_a_thread_may_turn_it_on() {
    let mock = MockLlm::start(vec![
        Scripted::responses_text("a"),
        Scripted::responses_text("b"),
    ])
    .await
    .unwrap();
    let d = Agentd::start(Options::default().mock_provider(&mock.base_url(), "responses"))
        .await
        .unwrap();
    let mut c = d.client("t").await.unwrap();
    let plain = c.start_thread(json!({})).await.unwrap();
    let turn = c.start_turn(&plain, "hi").await.unwrap();
    c.until_turn_completed(&turn).await.unwrap();
    assert!(web_search_tools(&mock.requests()[0].body).is_empty());

    let cached = c
        .start_thread(json!({"config": {"web_search": "cached"}}))
        .await
        .unwrap();
    let turn = c.start_turn(&cached, "hi").await.unwrap();
    c.until_turn_completed(&turn).await.unwrap();
    assert_eq!(
        web_search_tools(&mock.requests()[1].body),
        [json!({"type": "web_search", "external_web_access": false})]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_provider_cannot_search() {
    let mock = MockLlm::start(vec![]).await.unwrap();
    let (status, stderr) = Agentd::start_failing(
        Options::default()
            .mock_provider(&mock.base_url(), "chat")
            .config_toml("web_search = \"live\"\n"),
    )
    .await
    .unwrap();
    assert!(!status.success());
    assert!(
        stderr.contains("web_search") && stderr.contains("mock"),
        "names the key and the provider: {stderr}"
    );

    let d = Agentd::start(Options::default().mock_provider(&mock.base_url(), "chat"))
        .await
        .unwrap();
    let mut c = d.client("t").await.unwrap();
    let thread = c
        .start_thread(json!({"config": {"web_search": "live"}}))
        .await
        .unwrap();
    let turn = c.start_turn(&thread, "search").await.unwrap();
    let events = c.until_turn_completed(&turn).await.unwrap();
    let done = events
        .iter()
        .find(|e| e["method"] == "turn/completed")
        .unwrap();
    assert_eq!(done["params"]["turn"]["status"], "failed");
    let message = done["params"]["turn"]["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("web_search") && message.contains("mock"),
        "{message}"
    );
    assert!(mock.requests().is_empty(), "nothing was sent");
}
