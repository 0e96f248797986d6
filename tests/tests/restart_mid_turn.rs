//! A daemon killed while a turn runs ends that turn `interrupted` when it comes back, with the
//! `turn/completed` in the thread's log like any other event.

use agentd_tests::mock_llm::{MockLlm, Scripted, Step, Usage};
use agentd_tests::{Agentd, Options};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_cut_off_by_kill_9_is_interrupted_after_restart() {
    let mock = MockLlm::start(vec![Scripted::responses(vec![
        Step::created(),
        Step::message(&["started"]),
        Step::gate(),
        Step::completed(Usage::default()),
    ])])
    .await
    .unwrap();
    let opts = Options::default().mock_provider(&mock.base_url(), "responses");
    let d = Agentd::start(opts.clone()).await.unwrap();
    let mut c = d.client("t").await.unwrap();
    let thread = c.start_thread(json!({})).await.unwrap();
    let turn = c.start_turn(&thread, "go").await.unwrap();
    c.wait_for("item/agentMessage/delta").await.unwrap();
    let (data_dir, _keep) = d.kill().await.unwrap();

    let d = Agentd::start(opts.data_dir(data_dir)).await.unwrap();
    let mut c = d.client("t").await.unwrap();
    let read = c
        .call(
            "thread/read",
            json!({"threadId": thread, "includeTurns": true}),
        )
        .await
        .unwrap();
    let t = &read["thread"]["turns"][0];
    assert_eq!(t["id"], turn);
    assert_eq!(t["status"], "interrupted");
    // The replay ends with the turn's one turn/completed: read through the thread's last seq.
    let last = read["thread"]["lastSeq"].as_u64().unwrap();
    c.call("thread/resume", json!({"threadId": thread, "afterSeq": 0}))
        .await
        .unwrap();
    let events = c.thread_events(&thread, last).await.unwrap();
    let completed: Vec<_> = events
        .iter()
        .filter(|e| e["method"] == "turn/completed")
        .collect();
    assert_eq!(completed.len(), 1);
    assert_eq!(completed[0]["params"]["turn"]["status"], "interrupted");
    let seqs: Vec<u64> = events
        .iter()
        .filter_map(|e| e["params"]["seq"].as_u64())
        .collect();
    assert_eq!(seqs, (1..=last).collect::<Vec<_>>());
}
