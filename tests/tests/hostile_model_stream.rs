//! A hostile or broken model stream costs its own turn, never the daemon: numbers from the
//! stream that would size an allocation are refused with a clear error, and the daemon goes on
//! serving every other thread and client.

use agentd_tests::mock_llm::{MockLlm, Scripted, Step, Usage};
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
