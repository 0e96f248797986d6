//! `thread/rollback`: the last turns leave the model's history and the turn list (kept in the
//! store, not deleted), every subscriber hears of it, file edits are reported and left alone,
//! and it is refused while a turn runs.

use std::time::Duration;

use agentd_tests::client::error_code;
use agentd_tests::mock_llm::{MockLlm, Scripted, Step, Usage};
use agentd_tests::{Agentd, Client, Options};
use serde_json::{json, Value};

fn inputs(body: &Value) -> Vec<String> {
    body["input"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| match i["content"][0]["text"].as_str() {
            Some(t) => t.to_owned(),
            None => i["type"].as_str().unwrap_or("?").to_owned(),
        })
        .collect()
}

async fn turn(c: &mut Client, thread: &str, text: &str) -> String {
    let t = c.start_turn(thread, text).await.unwrap();
    let events = c.until_turn_completed(&t).await.unwrap();
    assert_eq!(
        events.last().unwrap()["params"]["turn"]["status"],
        "completed"
    );
    t
}

fn turn_texts(thread: &Value) -> Vec<String> {
    thread["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            t["items"][0]["content"][0]["text"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_then_a_new_turn_no_longer_sends_the_rolled_back_turns() {
    let workspace = tempfile::tempdir().unwrap();
    let patch = "*** Begin Patch\n*** Add File: notes.txt\n+hello\n*** End Patch";
    let mock = MockLlm::start(vec![
        Scripted::responses_text("a1"),
        Scripted::responses(vec![
            Step::created(),
            Step::custom_tool_call("p1", "apply_patch", patch),
            Step::completed(Usage::default()),
        ]),
        Scripted::responses_text("a2"),
        Scripted::responses_text("a3"),
        Scripted::responses_text("a4"),
    ])
    .await
    .unwrap();
    let opts = Options::default().mock_provider(&mock.base_url(), "responses");
    let d = Agentd::start(opts.clone()).await.unwrap();
    let mut c = d.client("a").await.unwrap();
    let mut watcher = d.client("b").await.unwrap();
    let thread = c
        .start_thread(json!({"cwd": workspace.path().display().to_string()}))
        .await
        .unwrap();
    turn(&mut c, &thread, "u1").await;
    turn(&mut c, &thread, "u2").await;
    turn(&mut c, &thread, "u3").await;
    assert!(workspace.path().join("notes.txt").exists());
    watcher
        .call("thread/resume", json!({"threadId": thread}))
        .await
        .unwrap();

    let r = c
        .call(
            "thread/rollback",
            json!({"threadId": thread, "numTurns": 2}),
        )
        .await
        .unwrap();
    assert_eq!(r["changedFiles"], json!(["notes.txt"]));
    assert_eq!(turn_texts(&r["thread"]), ["u1"]);
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
    let reqs = mock
        .wait_for_requests(5, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(inputs(&reqs[4].body), ["u1", "a1", "u4"]);

    // After a restart the rolled-back turns are still gone from the history and the list.
    let (_, data_dir, temp) = d.terminate().await.unwrap();
    let d = Agentd::start(opts.data_dir(&data_dir)).await.unwrap();
    let mut c = d.client("a").await.unwrap();
    let read = c
        .call(
            "thread/read",
            json!({"threadId": thread, "includeTurns": true}),
        )
        .await
        .unwrap();
    assert_eq!(turn_texts(&read["thread"]), ["u1", "u4"]);
    // The event stays in the log for replay.
    let replay = c
        .call("thread/resume", json!({"threadId": thread, "afterSeq": 0}))
        .await
        .unwrap();
    assert_eq!(replay["thread"]["turns"].as_array().unwrap().len(), 2);
    let ev = c.wait_for("thread/rolledBack").await.unwrap();
    assert_eq!(ev["params"]["numTurns"], 2);
    drop(temp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_is_refused_while_a_turn_runs() {
    let mock = MockLlm::start(vec![
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
    let d = Agentd::start(Options::default().mock_provider(&mock.base_url(), "responses"))
        .await
        .unwrap();
    let mut c = d.client("t").await.unwrap();
    let thread = c.start_thread(json!({})).await.unwrap();
    turn(&mut c, &thread, "u1").await;
    let running = c.start_turn(&thread, "u2").await.unwrap();
    mock.wait_for_gates(1, Duration::from_secs(5))
        .await
        .unwrap();
    let r = c
        .request(
            "thread/rollback",
            json!({"threadId": thread, "numTurns": 1}),
        )
        .await
        .unwrap();
    assert_eq!(error_code(&r), Some(-32005), "{r}");
    mock.release(1);
    c.until_turn_completed(&running).await.unwrap();

    let r = c
        .request(
            "thread/rollback",
            json!({"threadId": thread, "numTurns": 3}),
        )
        .await
        .unwrap();
    assert_eq!(error_code(&r), Some(-32602), "{r}");
    let r = c
        .request(
            "thread/rollback",
            json!({"threadId": thread, "numTurns": 0}),
        )
        .await
        .unwrap();
    assert_eq!(error_code(&r), Some(-32602), "{r}");
    let r = c
        .call(
            "thread/rollback",
            json!({"threadId": thread, "numTurns": 2}),
        )
        .await
        .unwrap();
    assert_eq!(r["thread"]["turns"], json!([]));
    assert_eq!(r["changedFiles"], json!([]));
}
