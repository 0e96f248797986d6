//! Compaction: the history is summarised by the model (a request with no tools) and the turn
//! continues from the summary plus recent user messages — when a response reports a context
//! near the limit, when the provider answers `context_length_exceeded`, and on
//! `thread/compact/start`. The next request carries the summary, not the old history.

use agentd_tests::client::seq_of;
use agentd_tests::mock_llm::{Scripted, Step, Usage};
use agentd_tests::turns::{input_texts, of_method, HistoryRig};
use agentd_tests::{Client, Options};
use serde_json::{json, Value};

/// The daemon's header before a summary (see the Responses client).
const SUMMARY_HEADER: &str = "Summary of the earlier conversation";

/// Asserts `body` is a summarisation request: no tools, the conversation, then the prompt.
fn assert_summarisation(body: &Value, conversation: &[&str]) {
    assert_eq!(
        body["tools"],
        json!([]),
        "a summarisation request has no tools"
    );
    let input = input_texts(body);
    let (prompt, rest) = input.split_last().unwrap();
    assert!(prompt.starts_with("Summarise the conversation"), "{prompt}");
    assert_eq!(rest, conversation);
}

fn assert_summary(entry: &str, summary: &str) {
    assert!(
        entry.starts_with(SUMMARY_HEADER) && entry.ends_with(summary),
        "{entry}"
    );
}

/// Options for a daemon that compacts once the context a response reports passes `tokens`.
fn limit(tokens: u64) -> Options {
    Options::default()
        .arg("-c")
        .arg(format!("model_auto_compact_token_limit={tokens}"))
}

/// Runs a turn to its end and returns its events; asserts exactly one `turn/completed`.
async fn turn(c: &mut Client, thread: &str, text: &str) -> Vec<Value> {
    let events = c.run_turn(thread, text).await.unwrap();
    let completed = events.last().unwrap();
    let t = &completed["params"]["turn"]["id"];
    // Nothing of this turn may follow its turn/completed: of every event the thread committed
    // after it by the time a later thread/read is answered, none is the turn's.
    let late = c
        .events_after(thread, seq_of(completed).unwrap())
        .await
        .unwrap();
    assert!(
        late.iter()
            .all(|m| &m["params"]["turn"]["id"] != t && &m["params"]["turnId"] != t),
        "events after turn/completed: {late:?}"
    );
    events
}

fn compaction_items(events: &[Value]) -> usize {
    let started = of_method(events, "item/started")
        .iter()
        .filter(|e| e["params"]["item"]["type"] == "contextCompaction")
        .count();
    let completed = of_method(events, "item/completed")
        .iter()
        .filter(|e| e["params"]["item"]["type"] == "contextCompaction")
        .count();
    assert_eq!(started, completed);
    completed
}

fn status(events: &[Value]) -> &str {
    events.last().unwrap()["params"]["turn"]["status"]
        .as_str()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reported_context_near_the_limit_compacts_before_the_next_request() {
    let script = vec![
        Scripted::responses(vec![
            Step::created(),
            Step::function_call("c1", "no_such_tool", "{}"),
            Step::completed(Usage::new(1500, 10)),
        ]),
        Scripted::responses_text("SUMMARY-ONE"),
        Scripted::responses_text("done"),
    ];
    let rig = HistoryRig::start_with(script, limit(1000)).await.unwrap();
    let (mut c, thread) = rig.client_with_thread("t").await.unwrap();
    let events = turn(&mut c, &thread, "first").await;
    assert_eq!(status(&events), "completed");
    assert_eq!(of_method(&events, "turn/completed").len(), 1);
    assert_eq!(compaction_items(&events), 1);

    let reqs = rig.requests(3).await.unwrap();
    assert_summarisation(
        &reqs[1].body,
        &["first", "function_call", "function_call_output"],
    );
    let next = input_texts(&reqs[2].body);
    assert_eq!(next.len(), 2, "{next:?}");
    assert_eq!(next[0], "first");
    assert_summary(&next[1], "SUMMARY-ONE");
    assert!(!reqs[2].body["tools"].as_array().unwrap().is_empty());

    let read = c.read_thread_with_turns(&thread).await.unwrap();
    let kinds: Vec<&str> = read["thread"]["turns"][0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["userMessage", "contextCompaction", "agentMessage"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_turn_compacts_first_even_after_a_restart() {
    let script = vec![
        Scripted::responses(vec![
            Step::created(),
            Step::message(&["a1"]),
            Step::completed(Usage::new(1500, 10)),
        ]),
        Scripted::responses_text("SUMMARY-TWO"),
        Scripted::responses_text("a2"),
        Scripted::responses_text("a3"),
    ];
    let rig = HistoryRig::start_with(script, limit(1000)).await.unwrap();
    let (mut c, thread) = rig.client_with_thread("t").await.unwrap();
    let events = turn(&mut c, &thread, "first").await;
    assert_eq!(compaction_items(&events), 0);

    let rig = rig.restart().await.unwrap();
    let mut c = rig.client("t").await.unwrap();
    c.resume(&thread).await.unwrap();
    let events = turn(&mut c, &thread, "second").await;
    assert_eq!(status(&events), "completed");
    assert_eq!(compaction_items(&events), 1);
    // The summary's size is the new figure: the turn after does not compact again.
    let events = turn(&mut c, &thread, "third").await;
    assert_eq!(compaction_items(&events), 0);

    let reqs = rig.requests(4).await.unwrap();
    assert_summarisation(&reqs[1].body, &["first", "a1", "second"]);
    let next = input_texts(&reqs[2].body);
    assert_eq!(next[..2], ["first", "second"]);
    assert_summary(&next[2], "SUMMARY-TWO");
    assert_eq!(next.len(), 3);
    let after = input_texts(&reqs[3].body);
    assert_eq!(after[..2], ["first", "second"]);
    assert_summary(&after[2], "SUMMARY-TWO");
    assert_eq!(after[3..], ["a2", "third"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_length_exceeded_compacts_and_retries_once() {
    let script = vec![
        Scripted::responses_text("a1"),
        Scripted::context_length_exceeded(),
        Scripted::responses_text("SUMMARY-THREE"),
        Scripted::responses_text("a2"),
    ];
    let rig = HistoryRig::start(script).await.unwrap();
    let (mut c, thread) = rig.client_with_thread("t").await.unwrap();
    turn(&mut c, &thread, "u1").await;
    let events = turn(&mut c, &thread, "u2").await;
    assert_eq!(status(&events), "completed");
    assert_eq!(of_method(&events, "turn/completed").len(), 1);
    assert_eq!(compaction_items(&events), 1);
    assert!(of_method(&events, "error").is_empty(), "{events:?}");

    let reqs = rig.requests(4).await.unwrap();
    assert_eq!(input_texts(&reqs[1].body), ["u1", "a1", "u2"]);
    assert_summarisation(&reqs[2].body, &["u1", "a1", "u2"]);
    let retried = input_texts(&reqs[3].body);
    assert_eq!(retried[..2], ["u1", "u2"]);
    assert_summary(&retried[2], "SUMMARY-THREE");
    assert!(!retried.contains(&"a1".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_overflow_after_compacting_fails_the_turn_once() {
    let script = vec![
        Scripted::context_length_exceeded(),
        Scripted::responses_text("SUMMARY"),
        Scripted::context_length_exceeded(),
    ];
    let rig = HistoryRig::start(script).await.unwrap();
    let (mut c, thread) = rig.client_with_thread("t").await.unwrap();
    let events = turn(&mut c, &thread, "huge").await;
    assert_eq!(status(&events), "failed");
    assert_eq!(of_method(&events, "turn/completed").len(), 1);
    let turn_completed = events.last().unwrap();
    assert_eq!(
        turn_completed["params"]["turn"]["error"]["kind"],
        "contextWindowExceeded"
    );
    assert_eq!(rig.mock.requests().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_compaction_is_a_turn_and_the_next_request_starts_from_the_summary() {
    let script = vec![
        Scripted::responses_text("a1"),
        Scripted::responses_text("a2"),
        Scripted::responses_text("SUMMARY-MANUAL"),
        Scripted::responses_text("a3"),
    ];
    let rig = HistoryRig::start(script).await.unwrap();
    let (mut c, thread) = rig.client_with_thread("t").await.unwrap();
    turn(&mut c, &thread, "u1").await;
    turn(&mut c, &thread, "u2").await;

    let r = c
        .call("thread/compact/start", json!({"threadId": thread}))
        .await
        .unwrap();
    assert_eq!(r, json!({}));
    let started = c.wait_for("turn/started").await.unwrap();
    let compaction_turn = started["params"]["turn"]["id"].as_str().unwrap().to_owned();
    let events = c.until_turn_completed(&compaction_turn).await.unwrap();
    assert_eq!(status(&events), "completed");
    assert_eq!(compaction_items(&events), 1);

    // Restarting in between changes nothing: the compaction is stored.
    let rig = rig.restart().await.unwrap();
    let mut c = rig.client("t").await.unwrap();
    c.resume(&thread).await.unwrap();
    turn(&mut c, &thread, "u3").await;

    let reqs = rig.requests(4).await.unwrap();
    assert_summarisation(&reqs[2].body, &["u1", "a1", "u2", "a2"]);
    let next = input_texts(&reqs[3].body);
    assert_eq!(next[..2], ["u1", "u2"]);
    assert_summary(&next[2], "SUMMARY-MANUAL");
    assert_eq!(next[3..], ["u3"]);
    let read = c.read_thread_with_turns(&thread).await.unwrap();
    let turns = read["thread"]["turns"].as_array().unwrap();
    assert_eq!(turns.len(), 4);
    assert_eq!(turns[2]["items"][0]["type"], "contextCompaction");
}
