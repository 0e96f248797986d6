//! `thread/rollback`: the last turns leave the model's history and the turn list (kept in the
//! store, not deleted), every subscriber hears of it, file edits are reported and left alone,
//! and it is refused while a turn runs.

use std::time::Duration;

use agentd_tests::client::error_code;
use agentd_tests::mock_llm::{Scripted, Step, Usage};
use agentd_tests::tools::tool_calls;
use agentd_tests::turns::{input_texts, turn_prompts, HistoryRig};
use agentd_tests::Client;
use serde_json::{json, Value};

/// `thread/rollback` params dropping the last `n` turns of `thread`.
fn last_turns(thread: &str, n: u64) -> Value {
    json!({"threadId": thread, "numTurns": n})
}

/// Runs a turn that must complete.
async fn turn(c: &mut Client, thread: &str, text: &str) {
    c.complete_turn(thread, text).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_then_a_new_turn_no_longer_sends_the_rolled_back_turns() {
    let workspace = tempfile::tempdir().unwrap();
    let patch = "*** Begin Patch\n*** Add File: notes.txt\n+hello\n*** End Patch";
    let rig = HistoryRig::start(vec![
        Scripted::responses_text("a1"),
        tool_calls(vec![Step::custom_tool_call("p1", "apply_patch", patch)]),
        Scripted::responses_text("a2"),
        Scripted::responses_text("a3"),
        Scripted::responses_text("a4"),
    ])
    .await
    .unwrap();
    let mut c = rig.client("a").await.unwrap();
    let mut watcher = rig.client("b").await.unwrap();
    let thread = c
        .start_thread(json!({"cwd": workspace.path().display().to_string()}))
        .await
        .unwrap();
    turn(&mut c, &thread, "u1").await;
    turn(&mut c, &thread, "u2").await;
    turn(&mut c, &thread, "u3").await;
    assert!(workspace.path().join("notes.txt").exists());
    watcher.resume(&thread).await.unwrap();

    let r = c
        .call("thread/rollback", last_turns(&thread, 2))
        .await
        .unwrap();
    assert_eq!(r["changedFiles"], json!(["notes.txt"]));
    assert_eq!(turn_prompts(&r["thread"]), ["u1"]);
    // Reported, not reverted.
    assert!(workspace.path().join("notes.txt").exists());
    for client in [&mut c, &mut watcher] {
        let ev = client.wait_for("thread/rolledBack").await.unwrap();
        assert_eq!(ev["params"]["threadId"], thread.as_str());
        assert_eq!(ev["params"]["numTurns"], 2);
        assert_eq!(ev["params"]["changedFiles"], json!(["notes.txt"]));
        assert!(ev["params"]["seq"].as_u64().unwrap() > 1);
    }

    turn(&mut c, &thread, "u4").await;
    let reqs = rig.requests(5).await.unwrap();
    assert_eq!(input_texts(&reqs[4].body), ["u1", "a1", "u4"]);

    // After a restart the rolled-back turns are still gone from the history and the list.
    let rig = rig.restart().await.unwrap();
    let mut c = rig.client("a").await.unwrap();
    let read = c.read_thread_with_turns(&thread).await.unwrap();
    assert_eq!(turn_prompts(&read["thread"]), ["u1", "u4"]);
    // The event stays in the log for replay.
    let replay = c
        .call("thread/resume", json!({"threadId": thread, "afterSeq": 0}))
        .await
        .unwrap();
    assert_eq!(replay["thread"]["turns"].as_array().unwrap().len(), 2);
    let ev = c.wait_for("thread/rolledBack").await.unwrap();
    assert_eq!(ev["params"]["numTurns"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_is_refused_while_a_turn_runs() {
    let rig = HistoryRig::start(vec![
        Scripted::responses_text("a1"),
        Scripted::responses(vec![
            Step::created(),
            Step::gate(),
            Step::message(&["a2"]),
            Step::completed(Usage::default()),
        ]),
    ])
    .await
    .unwrap();
    let (mut c, thread) = rig.client_with_thread("t").await.unwrap();
    turn(&mut c, &thread, "u1").await;
    let running = c.start_turn(&thread, "u2").await.unwrap();
    rig.mock
        .wait_for_gates(1, Duration::from_secs(5))
        .await
        .unwrap();
    let r = c
        .request("thread/rollback", last_turns(&thread, 1))
        .await
        .unwrap();
    assert_eq!(error_code(&r), Some(-32005), "{r}");
    rig.mock.release(1);
    c.until_turn_completed(&running).await.unwrap();

    let r = c
        .request("thread/rollback", last_turns(&thread, 3))
        .await
        .unwrap();
    assert_eq!(error_code(&r), Some(-32602), "{r}");
    let r = c
        .request("thread/rollback", last_turns(&thread, 0))
        .await
        .unwrap();
    assert_eq!(error_code(&r), Some(-32602), "{r}");
    let r = c
        .call("thread/rollback", last_turns(&thread, 2))
        .await
        .unwrap();
    assert_eq!(r["thread"]["turns"], json!([]));
    assert_eq!(r["changedFiles"], json!([]));
}
