//! A hostile or broken model stream costs its own turn, never the daemon: numbers from the
//! stream that would size an allocation are refused with a clear error, and the daemon goes on
//! serving every other thread and client.

use agentd_tests::mock_llm::{MockLlm, Scripted, Step, Usage};
use agentd_tests::turns::{daemon_with_mock, of_method};
use agentd_tests::{Agentd, Options};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reasoning_event_with_a_huge_summary_index_fails_only_its_turn() {
    let hostile = Scripted::responses(vec![
        Step::created(),
        Step::raw(
            "response.reasoning_summary_text.delta",
            json!({"type": "response.reasoning_summary_text.delta", "item_id": "r1",
                   "output_index": 0, "summary_index": 4_294_967_295u64, "delta": "x"}),
        ),
        Step::completed(Usage::default()),
    ]);
    let mock = MockLlm::start(vec![hostile, Scripted::responses_text("still here")])
        .await
        .unwrap();
    let d = Agentd::start(Options::default().mock_provider(&mock.base_url(), "responses"))
        .await
        .unwrap();
    let mut c = d.client("t").await.unwrap();
    let thread = c.start_thread(json!({})).await.unwrap();
    let turn = c.start_turn(&thread, "go").await.unwrap();
    let events = c.until_turn_completed(&turn).await.unwrap();
    let done = &events.last().unwrap()["params"]["turn"];
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["error"]["kind"], "responseInvalid", "{done}");
    let message = done["error"]["message"].as_str().unwrap();
    assert!(message.contains("summary index 4294967295"), "{message}");

    // The daemon is fine: another thread (and this one) run the next turn normally.
    let other = c.start_thread(json!({})).await.unwrap();
    let turn = c.start_turn(&other, "again").await.unwrap();
    let events = c.until_turn_completed(&turn).await.unwrap();
    assert_eq!(
        events.last().unwrap()["params"]["turn"]["status"],
        "completed"
    );
}

/// Empty deltas carry nothing: they become no event (stored or sent), so a provider streaming
/// them without end does not fill the thread's log. (Each delta also counts a fixed overhead
/// against the response's byte cap, tested beside the fold: a flood of them ends the turn.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_deltas_become_no_events() {
    let empty = vec![String::new(); 100];
    let (_mock, d) = daemon_with_mock(
        vec![Scripted::responses(vec![
            Step::created(),
            Step::Reasoning(empty.clone()),
            Step::Message(empty),
            Step::message(&["Hel", "", "lo"]),
            Step::completed(Usage::default()),
        ])],
        "responses",
    )
    .await
    .unwrap();
    let mut c = d.client("t").await.unwrap();
    let thread = c.start_thread(json!({})).await.unwrap();
    let events = c.complete_turn(&thread, "go").await.unwrap();
    // The log holds what was sent: a second client replaying it sees no empty delta either.
    let mut late = d.client("late").await.unwrap();
    let last_seq = events.last().unwrap()["params"]["seq"].as_u64().unwrap();
    let stored = late.replayed_log(&thread, last_seq).await.unwrap();
    for log in [&events, &stored] {
        let deltas: Vec<&str> = of_method(log, "item/agentMessage/delta")
            .into_iter()
            .chain(of_method(log, "item/reasoning/summaryTextDelta"))
            .map(|e| e["params"]["delta"].as_str().unwrap())
            .collect();
        assert!(!deltas.is_empty() && !deltas.contains(&""), "{deltas:?}");
        assert_eq!(deltas.concat(), "Hello");
    }
}
