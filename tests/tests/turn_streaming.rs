//! A streamed turn end to end: the real daemon, the mock model over loopback SSE.

use std::time::Duration;

use agentd_tests::mock_llm::{MockLlm, Scripted, Step, Usage};
use agentd_tests::turns::{assert_consecutive, daemon_with_mock, of_method};
use agentd_tests::{Agentd, Options};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deltas_concatenate_to_the_completed_item_and_match_what_is_stored() {
    let (mock, d) = daemon_with_mock(
        vec![Scripted::responses(vec![
            Step::created(),
            Step::message(&["Hel", "lo, ", "wor", "ld"]),
            Step::completed(Usage::new(120, 7).cached(20)),
        ])],
        "responses",
    )
    .await
    .unwrap();
    let mut c = d.client("t").await.unwrap();
    let thread = c.start_thread(json!({})).await.unwrap();
    let turn = c.start_turn(&thread, "say hello").await.unwrap();
    let events = c.until_turn_completed(&turn).await.unwrap();
    assert_consecutive(&events);

    let methods: Vec<&str> = events.iter().filter_map(|e| e["method"].as_str()).collect();
    assert_eq!(methods.first(), Some(&"turn/started"));
    assert_eq!(methods.last(), Some(&"turn/completed"));
    let deltas: String = of_method(&events, "item/agentMessage/delta")
        .iter()
        .map(|e| e["params"]["delta"].as_str().unwrap())
        .collect();
    assert_eq!(deltas, "Hello, world");
    let completed: Vec<&Value> = of_method(&events, "item/completed")
        .into_iter()
        .filter(|e| e["params"]["item"]["type"] == "agentMessage")
        .collect();
    assert_eq!(completed.len(), 1);
    assert_eq!(completed[0]["params"]["item"]["text"], "Hello, world");
    let last = events.last().unwrap();
    assert_eq!(last["params"]["turn"]["status"], "completed");
    let usage = of_method(&events, "thread/tokenUsage/updated");
    assert_eq!(usage.len(), 1);
    assert_eq!(usage[0]["params"]["tokenUsage"]["last"]["inputTokens"], 120);
    assert_eq!(
        usage[0]["params"]["tokenUsage"]["last"]["cachedInputTokens"],
        20
    );

    // The stored turn matches what was streamed.
    let read = c
        .call(
            "thread/read",
            json!({"threadId": thread, "includeTurns": true}),
        )
        .await
        .unwrap();
    let turns = read["thread"]["turns"].as_array().unwrap();
    assert_eq!(turns.len(), 1);
    assert_eq!(turns[0]["status"], "completed");
    let items = turns[0]["items"].as_array().unwrap();
    assert_eq!(items[0]["type"], "userMessage");
    assert_eq!(items[0]["content"][0]["text"], "say hello");
    assert_eq!(items[1]["type"], "agentMessage");
    assert_eq!(items[1]["text"], "Hello, world");
    assert_eq!(read["thread"]["preview"], "say hello");

    // The request carried the instructions and the user's message.
    let reqs = mock.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].body["model"], "mock-model");
    assert!(reqs[0].body["instructions"]
        .as_str()
        .unwrap()
        .contains("coding agent"));
    assert_eq!(reqs[0].body["input"][0]["content"][0]["text"], "say hello");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reasoning_then_text() {
    // The mock must outlive the turn: dropping it stops the server.
    let (_mock, d) = daemon_with_mock(
        vec![Scripted::responses(vec![
            Step::created(),
            Step::reasoning(&["Think", "ing"]),
            Step::message(&["Answer"]),
            Step::completed(Usage::new(10, 5).reasoning(3)),
        ])],
        "responses",
    )
    .await
    .unwrap();
    let mut c = d.client("t").await.unwrap();
    let thread = c.start_thread(json!({})).await.unwrap();
    let turn = c.start_turn(&thread, "why").await.unwrap();
    let events = c.until_turn_completed(&turn).await.unwrap();
    let summary: String = of_method(&events, "item/reasoning/summaryTextDelta")
        .iter()
        .map(|e| e["params"]["delta"].as_str().unwrap())
        .collect();
    assert_eq!(summary, "Thinking");
    let kinds: Vec<&str> = of_method(&events, "item/completed")
        .iter()
        .map(|e| e["params"]["item"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["userMessage", "reasoning", "agentMessage"]);
    let reasoning = of_method(&events, "item/completed")[1];
    assert_eq!(reasoning["params"]["item"]["summary"], json!(["Thinking"]));
    let usage = of_method(&events, "thread/tokenUsage/updated")[0];
    assert_eq!(
        usage["params"]["tokenUsage"]["last"]["reasoningOutputTokens"],
        3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_second_turn_sends_the_first_turns_history() {
    let (mock, d) = daemon_with_mock(
        vec![
            Scripted::responses_text("first answer"),
            Scripted::responses_text("second answer"),
        ],
        "responses",
    )
    .await
    .unwrap();
    let mut c = d.client("t").await.unwrap();
    let thread = c.start_thread(json!({})).await.unwrap();
    let t1 = c.start_turn(&thread, "one").await.unwrap();
    c.until_turn_completed(&t1).await.unwrap();
    let t2 = c.start_turn(&thread, "two").await.unwrap();
    c.until_turn_completed(&t2).await.unwrap();
    let reqs = mock
        .wait_for_requests(2, Duration::from_secs(5))
        .await
        .unwrap();
    let input = reqs[1].body["input"].as_array().unwrap();
    let texts: Vec<String> = input
        .iter()
        .map(|i| {
            i["content"][0]["text"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(texts, ["one", "first answer", "two"]);
    assert_eq!(input[1]["role"], "assistant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_call_output_is_paired_in_the_next_request() {
    let (mock, d) = daemon_with_mock(
        vec![
            Scripted::responses(vec![
                Step::created(),
                Step::function_call("call_1", "no_such_tool", r#"{"x":1}"#),
                Step::completed(Usage::default()),
            ]),
            Scripted::responses_text("done"),
        ],
        "responses",
    )
    .await
    .unwrap();
    let mut c = d.client("t").await.unwrap();
    let thread = c.start_thread(json!({})).await.unwrap();
    let turn = c.start_turn(&thread, "use a tool").await.unwrap();
    let events = c.until_turn_completed(&turn).await.unwrap();
    assert_eq!(
        events.last().unwrap()["params"]["turn"]["status"],
        "completed"
    );
    let reqs = mock
        .wait_for_requests(2, Duration::from_secs(5))
        .await
        .unwrap();
    let input = reqs[1].body["input"].as_array().unwrap();
    let output = input
        .iter()
        .find(|i| i["type"] == "function_call_output")
        .expect("tool output in the second request");
    assert_eq!(output["call_id"], "call_1");
    assert!(output["output"].as_str().unwrap().contains("no_such_tool"));
    mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_watch_one_turn_identically() {
    let (_mock, d) = daemon_with_mock(
        vec![Scripted::responses_text(
            "several words streamed to both clients",
        )],
        "responses",
    )
    .await
    .unwrap();
    let mut a = d.client("a").await.unwrap();
    let mut b = d.client("b").await.unwrap();
    let thread = a.start_thread(json!({})).await.unwrap();
    b.call("thread/resume", json!({"threadId": thread}))
        .await
        .unwrap();
    let turn = a.start_turn(&thread, "go").await.unwrap();
    let ea = a.until_turn_completed(&turn).await.unwrap();
    let eb = b.until_turn_completed(&turn).await.unwrap();
    assert_eq!(ea, eb);
    assert_consecutive(&ea);
}

/// A burst of model chunks outruns the commits: deltas that queue behind the commit in flight
/// reach clients merged, as fewer events with the same text in the same order, seqs still
/// consecutive — and a replay from the log gives exactly what was sent live.
///
/// On the default one worker thread the stream is read only while the actor waits, so the
/// actor waits a little for more once a burst is on (`threads/actor.rs`, `gather`): without
/// that, 3,000 chunks became ~2,980 events. The same holds with a worker per core.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_deltas_arrives_merged_with_the_same_text() {
    burst_arrives_merged(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_arrives_merged_with_a_worker_per_core_too() {
    burst_arrives_merged(Some("0")).await;
}

async fn burst_arrives_merged(workers: Option<&str>) {
    let chunks: Vec<String> = (0..3000).map(|i| format!("w{i} ")).collect();
    let chunk_refs: Vec<&str> = chunks.iter().map(String::as_str).collect();
    let mock = MockLlm::start(vec![Scripted::responses(vec![
        Step::created(),
        Step::message(&chunk_refs),
        Step::completed(Usage::default()),
    ])])
    .await
    .unwrap();
    let mut opts = Options::default().mock_provider(&mock.base_url(), "responses");
    if let Some(n) = workers {
        opts = opts.env("AGENTD_WORKER_THREADS", n);
    }
    let d = Agentd::start(opts).await.unwrap();
    let mut c = d.client("t").await.unwrap();
    let thread = c.start_thread(json!({})).await.unwrap();
    let turn = c.start_turn(&thread, "stream a lot").await.unwrap();
    let events = c.until_turn_completed(&turn).await.unwrap();
    assert_consecutive(&events);
    let deltas = of_method(&events, "item/agentMessage/delta");
    let text: String = deltas
        .iter()
        .map(|e| e["params"]["delta"].as_str().unwrap())
        .collect();
    assert_eq!(text, chunks.concat());
    // Here ~60–130 events; 1 in 5 leaves room for a loaded machine (which merges more).
    assert!(
        deltas.len() * 5 <= chunks.len(),
        "{} chunks became {} delta events: hardly anything was merged",
        chunks.len(),
        deltas.len()
    );
    assert!(deltas
        .iter()
        .all(|e| e["params"]["delta"].as_str().unwrap().len() <= 16 * 1024));

    // The log holds the merged events: a second client replaying it sees the same deltas.
    let mut late = d.client("late").await.unwrap();
    let last_seq = events.last().unwrap()["params"]["seq"].as_u64().unwrap();
    let replayed = late.replayed_log(&thread, last_seq).await.unwrap();
    let replayed_deltas: Vec<&Value> = of_method(&replayed, "item/agentMessage/delta");
    assert_eq!(
        replayed_deltas
            .iter()
            .map(|e| (&e["params"]["seq"], &e["params"]["delta"]))
            .collect::<Vec<_>>(),
        deltas
            .iter()
            .map(|e| (&e["params"]["seq"], &e["params"]["delta"]))
            .collect::<Vec<_>>()
    );
}
