//! `thread/fork`: a new thread with the source's history up to a turn, its own event log, and
//! no connection to the source afterwards — proved by what the model is sent on each side.

use std::time::Duration;

use agentd_tests::client::error_code;
use agentd_tests::mock_llm::{Scripted, Step, Usage};
use agentd_tests::turns::{input_texts, turn_prompts, HistoryRig};
use agentd_tests::{Agentd, Client, Options};
use serde_json::{json, Value};

/// Runs a turn that must complete.
async fn turn(c: &mut Client, thread: &str, text: &str) {
    c.complete_turn(thread, text).await.unwrap();
}

async fn turn_ids(c: &mut Client, thread: &str) -> Vec<String> {
    let r = c.read_thread_with_turns(thread).await.unwrap();
    r["thread"]["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Forks and returns (fork id, the fork result), consuming the fork's `thread/started`.
async fn fork(c: &mut Client, params: Value) -> (String, Value) {
    let r = c.call("thread/fork", params).await.unwrap();
    let id = r["thread"]["id"].as_str().unwrap().to_owned();
    let started = c.wait_for("thread/started").await.unwrap();
    assert_eq!(started["params"]["thread"]["id"], id.as_str());
    assert_eq!(started["params"]["seq"], 1, "a fork's log starts at seq 1");
    (id, r)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fork_at_each_turn_then_continue_both_sides() {
    let mut script: Vec<Scripted> = ["a1", "a2", "a3"]
        .iter()
        .map(|t| Scripted::responses_text(t))
        .collect();
    // One continuation per fork, then the source's own.
    script.extend(
        ["f1", "f2", "f3", "s4"]
            .iter()
            .map(|t| Scripted::responses_text(t)),
    );
    let rig = HistoryRig::start(script).await.unwrap();
    let (mut c, source) = rig.client_with_thread("t").await.unwrap();
    for text in ["u1", "u2", "u3"] {
        turn(&mut c, &source, text).await;
    }
    let source_turns = turn_ids(&mut c, &source).await;
    assert_eq!(source_turns.len(), 3);

    let mut forks = Vec::new();
    for (k, last) in source_turns.iter().enumerate() {
        let (id, r) = fork(&mut c, json!({"threadId": source, "lastTurnId": last})).await;
        let thread = &r["thread"];
        assert_eq!(thread["forkedFromId"], source.as_str());
        assert_eq!(thread["sessionId"], source.as_str());
        assert_ne!(id, source);
        let turns = thread["turns"].as_array().unwrap();
        assert_eq!(turns.len(), k + 1, "fork after turn {k}");
        // Copied turns have ids of their own, and their items too.
        assert!(turns
            .iter()
            .all(|t| !source_turns.contains(&t["id"].as_str().unwrap().to_owned())));
        assert_eq!(
            turns[k]["items"][0]["content"][0]["text"],
            format!("u{}", k + 1)
        );
        assert_eq!(turns[k]["items"][1]["text"], format!("a{}", k + 1));
        forks.push(id);
    }

    // Each fork continues from exactly its cut.
    for (k, id) in forks.iter().enumerate() {
        turn(&mut c, id, &format!("fork{}", k + 1)).await;
    }
    turn(&mut c, &source, "u4").await;
    let reqs = rig.requests(7).await.unwrap();
    assert_eq!(input_texts(&reqs[3].body), ["u1", "a1", "fork1"]);
    assert_eq!(
        input_texts(&reqs[4].body),
        ["u1", "a1", "u2", "a2", "fork2"]
    );
    assert_eq!(
        input_texts(&reqs[5].body),
        ["u1", "a1", "u2", "a2", "u3", "a3", "fork3"]
    );
    // The source never sees what happened in its forks.
    assert_eq!(
        input_texts(&reqs[6].body),
        ["u1", "a1", "u2", "a2", "u3", "a3", "u4"]
    );
    assert_eq!(turn_ids(&mut c, &source).await.len(), 4);
    assert_eq!(turn_ids(&mut c, &forks[0]).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forking_a_fork_keeps_the_root_as_session_and_survives_a_restart() {
    let rig = HistoryRig::start(vec![
        Scripted::responses_text("a1"),
        Scripted::responses_text("b1"),
        Scripted::responses_text("c1"),
    ])
    .await
    .unwrap();
    let (mut c, root) = rig.client_with_thread("t").await.unwrap();
    turn(&mut c, &root, "u1").await;
    let (first, _) = fork(&mut c, json!({"threadId": root})).await;
    turn(&mut c, &first, "v1").await;
    let (second, r) = fork(&mut c, json!({"threadId": first})).await;
    assert_eq!(r["thread"]["forkedFromId"], first.as_str());
    assert_eq!(r["thread"]["sessionId"], root.as_str());
    assert_eq!(r["thread"]["turns"].as_array().unwrap().len(), 2);

    let rig = rig.restart().await.unwrap();
    let mut c = rig.client("t").await.unwrap();
    let read = c.read_thread_with_turns(&second).await.unwrap();
    assert_eq!(read["thread"]["forkedFromId"], first.as_str());
    assert_eq!(read["thread"]["sessionId"], root.as_str());
    assert_eq!(read["thread"]["lastSeq"], 1);
    assert_eq!(turn_prompts(&read["thread"]), ["u1", "v1"]);
    c.resume(&second).await.unwrap();
    turn(&mut c, &second, "w1").await;
    let reqs = rig.requests(3).await.unwrap();
    assert_eq!(input_texts(&reqs[2].body), ["u1", "a1", "v1", "b1", "w1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fork_while_a_turn_runs_copies_only_finished_turns() {
    let rig = HistoryRig::start(vec![
        Scripted::responses_text("a1"),
        Scripted::responses(vec![
            Step::created(),
            Step::message(&["still "]),
            Step::gate(),
            Step::message(&["going"]),
            Step::completed(Usage::default()),
        ]),
        Scripted::responses_text("f2"),
    ])
    .await
    .unwrap();
    let (mut c, source) = rig.client_with_thread("t").await.unwrap();
    turn(&mut c, &source, "u1").await;
    let running = c.start_turn(&source, "u2").await.unwrap();
    rig.mock
        .wait_for_gates(1, Duration::from_secs(5))
        .await
        .unwrap();

    // Forking after the running turn is refused; the default cut leaves it out.
    let refused = c
        .request(
            "thread/fork",
            json!({"threadId": source, "lastTurnId": running}),
        )
        .await
        .unwrap();
    assert_eq!(error_code(&refused), Some(-32005), "{refused}");
    let (forked, r) = fork(&mut c, json!({"threadId": source})).await;
    let turns = r["thread"]["turns"].as_array().unwrap();
    assert_eq!(turns.len(), 1);
    assert_eq!(turns[0]["status"], "completed");
    assert_eq!(r["thread"]["status"]["type"], "idle");

    // The fork runs a turn of its own while the source's is still going.
    let fork_turn = c.start_turn(&forked, "f-u2").await.unwrap();
    rig.mock.release(1);
    let mut source_done = false;
    let mut fork_done = false;
    while !(source_done && fork_done) {
        let m = c.next_message(Duration::from_secs(10)).await.unwrap();
        let Some(method) = m["method"].as_str() else {
            continue;
        };
        let thread = m["params"]["threadId"].as_str().unwrap_or_default();
        let turn_id = m["params"]["turnId"]
            .as_str()
            .or(m["params"]["turn"]["id"].as_str())
            .unwrap_or_default();
        if thread == forked {
            assert_ne!(turn_id, running, "a source event reached the fork: {m}");
        }
        if thread == source {
            assert_ne!(turn_id, fork_turn, "a fork event reached the source: {m}");
        }
        if method == "turn/completed" {
            source_done |= turn_id == running;
            fork_done |= turn_id == fork_turn;
        }
    }
    let reqs = rig.requests(3).await.unwrap();
    let fork_req = reqs
        .iter()
        .find(|r| input_texts(&r.body).last().map(String::as_str) == Some("f-u2"))
        .expect("the fork's request");
    assert_eq!(input_texts(&fork_req.body), ["u1", "a1", "f-u2"]);
    assert_eq!(turn_ids(&mut c, &forked).await.len(), 2);
    assert_eq!(turn_ids(&mut c, &source).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forking_an_unknown_thread_or_turn_is_not_found() {
    let d = Agentd::start(Options::default()).await.unwrap();
    let mut c = d.client("t").await.unwrap();
    let thread = c.start_thread(json!({})).await.unwrap();
    let r = c
        .request("thread/fork", json!({"threadId": "no-such-thread"}))
        .await
        .unwrap();
    assert_eq!(error_code(&r), Some(-32004), "{r}");
    let r = c
        .request(
            "thread/fork",
            json!({"threadId": thread, "lastTurnId": "no-such-turn"}),
        )
        .await
        .unwrap();
    assert_eq!(error_code(&r), Some(-32004), "{r}");
    // A thread with no turns forks into an empty thread.
    let (_, r) = fork(&mut c, json!({"threadId": thread})).await;
    assert_eq!(r["thread"]["turns"], json!([]));
    assert_eq!(r["thread"]["preview"], "");
}
