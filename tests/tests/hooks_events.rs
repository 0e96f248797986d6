//! The session-level hook events fire at the right moments with their documented input:
//! SessionStart (start, resume, fork — with context for the next turn), SessionEnd (archive,
//! shutdown — not when an idle thread is unloaded), PreModelRequest (context for one request),
//! PreCompact / PostCompact, Notification (an unanswered approval, a finished turn), and Stop's
//! `decision: "block"`.

use std::time::Duration;

use agentd_tests::mock_llm::Scripted;
use agentd_tests::tools::{completed_items, tool_calls, turn_status, ToolRig, COMMAND_APPROVAL};
use agentd_tests::turns::of_method;
use agentd_tests::Options;
use serde_json::{json, Value};

use crate::hooks_support::{developer_texts, hook, json_hook, shell, Spy};

async fn wait_for_lines(spy: &Spy, name: &str, n: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let all = spy.saw_all(name);
        if all.len() >= n || tokio::time::Instant::now() > deadline {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_start_fires_on_start_resume_and_fork_and_its_context_reaches_the_model() {
    let spy = Spy::new();
    let command = format!(
        "{}; echo '{}'",
        spy.append("start.jsonl"),
        json!({"hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": "branch: main"}})
    );
    let r = ToolRig::start(
        vec![
            Scripted::responses_text("a1"),
            Scripted::responses_text("a2"),
        ],
        Options::default()
            .unconfined()
            .config_toml(hook("SessionStart", &command, "")),
    )
    .await
    .unwrap();
    let mut c = r.client("t").await.unwrap();
    let thread = r.thread(&mut c).await.unwrap();
    let saw = wait_for_lines(&spy, "start.jsonl", 1).await;
    assert_eq!(saw[0]["hook_event_name"], "SessionStart");
    assert_eq!(saw[0]["source"], "startup");
    assert_eq!(saw[0]["session_id"], thread);
    assert_eq!(saw[0]["model"], "mock-model");
    assert!(saw[0]["turnId"].is_null());
    let run = c.wait_for("hook/completed").await.unwrap();
    assert!(run["params"]["turnId"].is_null());
    assert_eq!(run["params"]["run"]["scope"], "thread");

    let turn = c.start_turn(&thread, "hi").await.unwrap();
    let events = c.until_turn_completed(&turn).await.unwrap();
    assert_eq!(turn_status(&events), "completed");
    assert_eq!(completed_items(&events, "hookPrompt").len(), 1);
    assert_eq!(
        developer_texts(&r.mock.requests()[0].body),
        ["branch: main"]
    );

    let mut c2 = r.client("t2").await.unwrap();
    c2.resume(&thread).await.unwrap();
    let forked = c2
        .call("thread/fork", json!({"threadId": thread}))
        .await
        .unwrap();
    let saw = wait_for_lines(&spy, "start.jsonl", 3).await;
    let sources: Vec<&str> = saw.iter().map(|s| s["source"].as_str().unwrap()).collect();
    assert_eq!(sources, ["startup", "resume", "fork"]);
    assert_eq!(saw[2]["session_id"], forked["thread"]["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_end_fires_on_archive_and_shutdown_but_not_on_unloading() {
    let spy = Spy::new();
    let r = ToolRig::start(
        Vec::new(),
        Options::default()
            .unconfined()
            .set("thread_idle_unload_secs=1")
            .config_toml(hook("SessionEnd", &spy.append("end.jsonl"), "")),
    )
    .await
    .unwrap();
    let mut c = r.client("t").await.unwrap();
    let archived = r.thread(&mut c).await.unwrap();
    c.call("thread/archive", json!({"threadId": archived}))
        .await
        .unwrap();
    let saw = spy.saw_all("end.jsonl");
    assert_eq!(saw.len(), 1, "SessionEnd ran before the archive answered");
    assert_eq!(saw[0]["reason"], "archived");
    assert_eq!(saw[0]["session_id"], archived);

    let idle = r.thread(&mut c).await.unwrap();
    c.call("thread/unsubscribe", json!({"threadId": idle}))
        .await
        .unwrap();
    let kept = r.thread(&mut c).await.unwrap();
    // Long enough for the idle thread to be unloaded (1 s idle, swept every second).
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        spy.saw_all("end.jsonl").len(),
        1,
        "unloading is not the end of a session"
    );
    let ToolRig { daemon, .. } = r;
    let (status, _, _) = daemon.terminate().await.unwrap();
    assert!(status.success());
    let saw = spy.saw_all("end.jsonl");
    let ended: Vec<(&str, &str)> = saw
        .iter()
        .map(|s| {
            (
                s["session_id"].as_str().unwrap(),
                s["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(ended.contains(&(kept.as_str(), "shutdown")), "{ended:?}");
    assert!(!ended.iter().any(|(id, _)| *id == idle), "{ended:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_model_request_context_goes_to_each_request_and_is_not_kept() {
    let context = json!({"hookSpecificOutput": {"hookEventName": "PreModelRequest",
        "additionalContext": "now: 12:00"}});
    let r = ToolRig::start(
        vec![
            tool_calls(vec![shell("c1", &["true"])]),
            Scripted::responses_text("ok"),
            Scripted::responses_text("ok2"),
        ],
        Options::default()
            .unconfined()
            .config_toml(json_hook("PreModelRequest", &context, "")),
    )
    .await
    .unwrap();
    let (mut c, thread, turn) = r.start_turn("t", "go").await.unwrap();
    c.until_turn_completed(&turn).await.unwrap();
    let turn2 = c.start_turn(&thread, "again").await.unwrap();
    c.until_turn_completed(&turn2).await.unwrap();
    for req in r.mock.requests() {
        assert_eq!(
            developer_texts(&req.body),
            ["now: 12:00"],
            "exactly once per request"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_runs_pre_compact_and_post_compact_and_a_block_skips_it() {
    let spy = Spy::new();
    let config = format!(
        "{}{}",
        hook("PreCompact", &spy.record("pre.json"), ""),
        hook("PostCompact", &spy.record("post.json"), "")
    );
    let r = ToolRig::start(
        vec![
            Scripted::responses_text("a1"),
            Scripted::responses_text("SUMMARY"),
        ],
        Options::default().unconfined().config_toml(config),
    )
    .await
    .unwrap();
    let (mut c, thread, turn) = r.start_turn("t", "u1").await.unwrap();
    c.until_turn_completed(&turn).await.unwrap();
    c.call("thread/compact/start", json!({"threadId": thread}))
        .await
        .unwrap();
    let started = c.wait_for("turn/started").await.unwrap();
    let id = started["params"]["turn"]["id"].as_str().unwrap().to_owned();
    let events = c.until_turn_completed(&id).await.unwrap();
    assert_eq!(completed_items(&events, "contextCompaction").len(), 1);
    assert_eq!(spy.saw("pre.json")["trigger"], "manual");
    let post = spy.saw("post.json");
    assert_eq!(post["trigger"], "manual");
    assert!(
        post["compact_summary"]
            .as_str()
            .unwrap()
            .contains("SUMMARY"),
        "{post}"
    );

    let r = ToolRig::start(
        vec![Scripted::responses_text("a1")],
        Options::default().unconfined().config_toml(hook(
            "PreCompact",
            "echo 'keep everything' >&2; exit 2",
            "",
        )),
    )
    .await
    .unwrap();
    let (mut c, thread, turn) = r.start_turn("t", "u1").await.unwrap();
    c.until_turn_completed(&turn).await.unwrap();
    c.call("thread/compact/start", json!({"threadId": thread}))
        .await
        .unwrap();
    let started = c.wait_for("turn/started").await.unwrap();
    let id = started["params"]["turn"]["id"].as_str().unwrap().to_owned();
    let events = c.until_turn_completed(&id).await.unwrap();
    assert!(completed_items(&events, "contextCompaction").is_empty());
    assert_eq!(r.mock.requests().len(), 1, "no summarisation request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notification_fires_for_an_unanswered_approval_and_a_finished_turn() {
    let spy = Spy::new();
    let r = ToolRig::start(
        vec![
            tool_calls(vec![shell("c1", &["touch", "x"])]),
            Scripted::responses_text("ok"),
        ],
        Options::default()
            .policies("untrusted", "workspace-write")
            .config_toml(format!(
                "[hooks]\nnotification_after_secs = 1\n{}",
                hook("Notification", &spy.append("notes.jsonl"), "")
            )),
    )
    .await
    .unwrap();
    let (mut c, _, turn) = r.start_turn("t", "go").await.unwrap();
    let question = c.server_request(COMMAND_APPROVAL).await.unwrap();
    let saw = wait_for_lines(&spy, "notes.jsonl", 1).await;
    assert_eq!(saw[0]["notification_type"], "permission_prompt");
    assert!(saw[0]["message"].as_str().unwrap().contains("shell"));
    let events = c
        .decide_and_finish(&question, "accept", &turn)
        .await
        .unwrap();
    assert_eq!(turn_status(&events), "completed");
    let saw = wait_for_lines(&spy, "notes.jsonl", 2).await;
    assert_eq!(saw[1]["notification_type"], "idle_prompt");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_hooks_block_decision_sends_the_agent_on_once() {
    let block = json!({"decision": "block", "reason": "run the tests first"});
    let r = ToolRig::start(
        vec![
            Scripted::responses_text("done"),
            Scripted::responses_text("tests pass"),
        ],
        Options::default()
            .unconfined()
            .config_toml(json_hook("Stop", &block, "")),
    )
    .await
    .unwrap();
    let done = r.one_turn("fix it").await.unwrap();
    assert_eq!(turn_status(&done.events), "completed");
    let reqs = r.mock.requests();
    assert_eq!(reqs.len(), 2, "continued once, then the turn ended");
    assert!(reqs[1].body["input"]
        .to_string()
        .contains("run the tests first"));
    assert_eq!(of_method(&done.events, "hook/completed").len(), 2);
}
