//! A sub-agent tree outlives its daemon and its clients: a child whose turn is cut off by
//! SIGKILL ends `interrupted` after the restart, stays listed under its parent, keeps its slot
//! until closed, and a new parent turn can talk to it again; a client that resumes the parent
//! from `afterSeq: 0` gets each child's log too, once, in order, under the child's `threadId`,
//! and then follows the children live.

use std::time::Duration;

use agentd_tests::client::seq_of;
use agentd_tests::mock_llm::{MockLlm, Scripted, Step, Usage};
use agentd_tests::tools::{tool_calls, turn_status, ToolRig};
use agentd_tests::turns::of_method;
use agentd_tests::{Agentd, Client, Options};
use serde_json::{json, Value};

use super::subagents::{call, output, spawn, wait};

/// Reads until a message matching `pred` arrives; returns it (what came before is dropped).
async fn until(c: &mut Client, pred: impl Fn(&Value) -> bool) -> Value {
    loop {
        let m = c.next_message(Duration::from_secs(20)).await.unwrap();
        if pred(&m) {
            return m;
        }
    }
}

fn last_seq(read: &Value) -> u64 {
    read["thread"]["lastSeq"].as_u64().unwrap()
}

/// The events of one thread among `events`, as (seq, method).
fn of_thread<'a>(events: &'a [Value], thread: &str) -> Vec<(u64, &'a str)> {
    events
        .iter()
        .filter(|e| agentd_tests::client::event_thread_id(e) == Some(thread))
        .filter_map(|e| Some((seq_of(e)?, e["method"].as_str()?)))
        .collect()
}

/// Asserts a thread's replayed events are its log from seq 1 through `last`, each once, in order,
/// opening with its `thread/started`.
#[track_caller]
fn whole_log(events: &[Value], thread: &str, last: u64) {
    let seen = of_thread(events, thread);
    let seqs: Vec<u64> = seen.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, (1..=last).collect::<Vec<_>>(), "{thread}: {seen:?}");
    assert_eq!(seen[0].1, "thread/started", "{seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_cut_off_by_kill_9_is_interrupted_and_its_parent_carries_on_after_restart() {
    let mock = MockLlm::start(vec![
        tool_calls(vec![spawn("s1", "CHILD-A: take your time")]),
        tool_calls(vec![wait("w1", &["ada"], "any")]),
    ])
    .await
    .unwrap();
    // The child's stream stalls at a gate that is never opened before the kill.
    mock.push_when_last(
        "CHILD-A",
        Scripted::responses(vec![
            Step::created(),
            Step::message(&["thinking"]),
            Step::gate(),
            Step::completed(Usage::default()),
        ]),
    );
    let workspace = tempfile::tempdir().unwrap();
    let opts = Options::default()
        .unconfined()
        .set("agents.max_threads=2")
        .mock_provider(&mock.base_url(), "responses");
    let d = Agentd::start(opts.clone()).await.unwrap();
    let mut c = d.client("t").await.unwrap();
    let parent = c
        .start_thread(json!({"cwd": workspace.path().display().to_string()}))
        .await
        .unwrap();
    c.start_turn(&parent, "delegate").await.unwrap();
    mock.wait_for_gates(1, Duration::from_secs(10))
        .await
        .unwrap();
    // The parent is waiting on its child when the daemon dies.
    until(&mut c, |m| {
        m["method"] == "item/started"
            && m["params"]["threadId"] == parent
            && m["params"]["item"]["tool"] == "wait"
    })
    .await;
    let child = output(&mock, "s1").await["agent_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (data_dir, _keep) = d.kill().await.unwrap();
    mock.release(1);

    let d = Agentd::start(opts.data_dir(data_dir)).await.unwrap();
    let mut c = d.client("t").await.unwrap();
    // Both turns ended `interrupted`, like any turn cut off by a restart.
    let child_read = c.read_thread_with_turns(&child).await.unwrap();
    assert_eq!(
        child_read["thread"]["turns"][0]["status"], "interrupted",
        "{child_read:#}"
    );
    let parent_read = c.read_thread_with_turns(&parent).await.unwrap();
    assert_eq!(parent_read["thread"]["turns"][0]["status"], "interrupted");
    // The tree is still there.
    assert_eq!(parent_read["childThreadIds"], json!([child]));
    let listed = c
        .call("thread/list", json!({"parentThreadId": parent}))
        .await
        .unwrap();
    let ids: Vec<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [child.as_str()]);

    // A client resuming the parent from the start gets the child's log too (the child is not
    // loaded: the resume loads it), ending with its interrupted turn.
    let child_last = last_seq(&child_read);
    let parent_last = last_seq(&parent_read);
    c.call(
        "thread/resume",
        json!({"threadId": parent, "afterSeq": 0, "excludeTurns": true}),
    )
    .await
    .unwrap();
    let mut replay = c.thread_events(&parent, parent_last).await.unwrap();
    replay.extend(c.thread_events(&child, child_last).await.unwrap());
    whole_log(&replay, &parent, parent_last);
    whole_log(&replay, &child, child_last);

    // A new parent turn: sees the child interrupted, talks to it, waits on it, closes it, and
    // the freed slot lets it open two more (max_threads = 2), not three.
    for step in [
        tool_calls(vec![call("l1", "list_agents", json!({}))]),
        tool_calls(vec![call(
            "m1",
            "send_input",
            json!({"target": "ada", "message": "AGAIN-A: carry on"}),
        )]),
        tool_calls(vec![wait("w2", &["ada"], "any")]),
        tool_calls(vec![call("c1", "close_agent", json!({"target": "ada"}))]),
        tool_calls(vec![
            spawn("s2", "CHILD-B: one"),
            spawn("s3", "CHILD-C: two"),
        ]),
        tool_calls(vec![spawn("s4", "CHILD-D: three")]),
        Scripted::responses_text("carried on"),
    ] {
        mock.push(step);
    }
    mock.push_when_last("AGAIN-A", Scripted::responses_text("done after all"));
    mock.push_when_last("CHILD-B", Scripted::responses_text("b"));
    mock.push_when_last("CHILD-C", Scripted::responses_text("c"));
    let turn = c.start_turn(&parent, "carry on").await.unwrap();
    let events = c.until_turn_completed(&turn).await.unwrap();
    assert_eq!(turn_status(&events), "completed", "{:#?}", events.last());

    let listed = output(&mock, "l1").await;
    assert_eq!(listed["agents"][0]["agent_id"], child.as_str());
    assert_eq!(listed["agents"][0]["status"], "interrupted", "{listed}");
    let sent = output(&mock, "m1").await;
    assert_eq!(sent["agent_id"], child.as_str(), "{sent}");
    let waited = output(&mock, "w2").await;
    assert_eq!(waited["timed_out"], false);
    assert_eq!(waited["status"][&child]["status"], "completed", "{waited}");
    assert_eq!(waited["status"][&child]["message"], "done after all");
    // The client of the parent followed the old child's new turn (its approvals would reach it).
    let child_ends: Vec<&Value> = of_method(&events, "turn/completed")
        .into_iter()
        .filter(|e| e["params"]["threadId"] == child)
        .collect();
    assert_eq!(
        child_ends.len(),
        1,
        "the child's new turn reached the client"
    );
    assert_eq!(seq_of(child_ends[0]).map(|s| s > child_last), Some(true));
    assert_eq!(output(&mock, "c1").await["status"], "shutdown");
    let b = output(&mock, "s2").await;
    let c3 = output(&mock, "s3").await;
    assert!(
        b["agent_id"].is_string() && c3["agent_id"].is_string(),
        "{b} {c3}"
    );
    // A closed child's nickname is not given again: "ada" still names the closed one.
    assert_ne!(b["nickname"], "ada");
    assert_ne!(c3["nickname"], "ada");
    let over = output(&mock, "s4").await;
    assert!(
        over.as_str()
            .unwrap_or_default()
            .contains("at most 2 sub-agents"),
        "{over}"
    );
    let open = c
        .call("thread/list", json!({"parentThreadId": parent}))
        .await
        .unwrap();
    assert_eq!(open["data"].as_array().unwrap().len(), 2, "{open:#}");
    let closed = c
        .call(
            "thread/list",
            json!({"parentThreadId": parent, "archived": true}),
        )
        .await
        .unwrap();
    assert_eq!(closed["data"][0]["id"], child.as_str(), "{closed:#}");
    mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resuming_the_parent_replays_its_children_once_and_follows_them() {
    let rig = ToolRig::start(
        vec![
            tool_calls(vec![
                spawn("s1", "CHILD-A: one"),
                spawn("s2", "CHILD-B: two"),
            ]),
            tool_calls(vec![wait("w1", &["ada", "babbage"], "all")]),
            Scripted::responses_text("both answered"),
        ],
        Options::default().unconfined(),
    )
    .await
    .unwrap();
    rig.mock
        .push_when_last("CHILD-A", Scripted::responses_text("a"));
    rig.mock
        .push_when_last("CHILD-B", Scripted::responses_text("b"));
    let done = rig.one_turn("two children").await.unwrap();
    assert_eq!(turn_status(&done.events), "completed");
    let parent = done.thread;
    let a = output(&rig.mock, "s1").await["agent_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = output(&rig.mock, "s2").await["agent_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // A client that comes after the work: the parent's log and each child's, from seq 1.
    let mut late = rig.client("late").await.unwrap();
    let heads: Vec<u64> = {
        let mut heads = Vec::new();
        for id in [&parent, &a, &b] {
            heads.push(last_seq(&late.read_thread(id).await.unwrap()));
        }
        heads
    };
    // And one that only follows from now on (no afterSeq).
    let mut live = rig.client("live").await.unwrap();
    live.resume(&parent).await.unwrap();
    late.call(
        "thread/resume",
        json!({"threadId": parent, "afterSeq": 0, "excludeTurns": true}),
    )
    .await
    .unwrap();
    let mut replay = Vec::new();
    for (id, head) in [&parent, &a, &b].into_iter().zip(&heads) {
        replay.extend(late.thread_events(id, *head).await.unwrap());
    }
    whole_log(&replay, &parent, heads[0]);
    whole_log(&replay, &a, heads[1]);
    whole_log(&replay, &b, heads[2]);
    // Each child's replay is its own conversation, under its own id.
    let answers: Vec<(String, String)> = replay
        .iter()
        .filter(|e| {
            e["method"] == "item/completed" && e["params"]["item"]["type"] == "agentMessage"
        })
        .map(|e| {
            (
                e["params"]["threadId"].as_str().unwrap().to_owned(),
                e["params"]["item"]["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(answers.contains(&(a.clone(), "a".into())), "{answers:?}");
    assert!(answers.contains(&(b.clone(), "b".into())), "{answers:?}");

    // Both clients then follow a child's new turn live, continuing its seqs with no repeat.
    for step in [
        tool_calls(vec![call(
            "m1",
            "send_input",
            json!({"target": "ada", "message": "MORE-A: again"}),
        )]),
        tool_calls(vec![wait("w2", &["ada"], "any")]),
        Scripted::responses_text("again"),
    ] {
        rig.mock.push(step);
    }
    rig.mock
        .push_when_last("MORE-A", Scripted::responses_text("a again"));
    let turn = late.start_turn(&parent, "once more").await.unwrap();
    let events = late.until_turn_completed(&turn).await.unwrap();
    assert_eq!(turn_status(&events), "completed");
    let a_head = last_seq(&late.read_thread(&a).await.unwrap());
    assert!(a_head > heads[1]);
    let mut followed = events;
    if !of_thread(&followed, &a).iter().any(|(s, _)| *s >= a_head) {
        followed.extend(late.thread_events(&a, a_head).await.unwrap());
    }
    let seqs: Vec<u64> = of_thread(&followed, &a).iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, (heads[1] + 1..=a_head).collect::<Vec<_>>());
    let watched = live.thread_events(&a, a_head).await.unwrap();
    let seqs: Vec<u64> = of_thread(&watched, &a).iter().map(|(s, _)| *s).collect();
    assert_eq!(
        seqs,
        (heads[1] + 1..=a_head).collect::<Vec<_>>(),
        "a client resuming without afterSeq follows from then on"
    );
    // Nothing came twice meanwhile: a round trip after the last event brings no more of theirs.
    for c in [&mut late, &mut live] {
        c.read_thread(&parent).await.unwrap();
        let rest = c.take_received();
        assert!(
            of_thread(&rest, &a).is_empty() && of_thread(&rest, &b).is_empty(),
            "{rest:#?}"
        );
    }
}
