//! Hooks with Claude Code's JSON control on stdout (exit 0): `permissionDecision` allow / deny
//! / ask, `updatedInput` (checked again by the tool and the policy), `continue: false`,
//! `systemMessage`, `decision: "block"`, `additionalContext`; PermissionRequest answering a
//! question; PostToolUseFailure; and hooks that print garbage.

use agentd_tests::mock_llm::Scripted;
use agentd_tests::tools::{
    completed_items, server_requests, tool_calls, turn_status, ToolRig, COMMAND_APPROVAL,
};
use agentd_tests::turns::of_method;
use agentd_tests::Options;
use serde_json::{json, Value};

use crate::hooks_support::{developer_texts, hook, json_hook, shell, Spy};

async fn rig(config: String, opts: Options, script: Vec<Scripted>) -> ToolRig {
    ToolRig::start(script, opts.config_toml(config))
        .await
        .unwrap()
}

fn completed_runs(events: &[Value]) -> Vec<&Value> {
    of_method(events, "hook/completed")
        .into_iter()
        .map(|e| &e["params"])
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_blocks_allow_skips_the_question_and_ask_asks() {
    let deny = json!({"hookSpecificOutput": {"hookEventName": "PreToolUse",
        "permissionDecision": "deny", "permissionDecisionReason": "not on fridays"}});
    let rig1 = rig(
        json_hook("PreToolUse", &deny, "matcher = \"shell\""),
        Options::default().unconfined(),
        vec![
            tool_calls(vec![shell("c1", &["touch", "x"])]),
            Scripted::responses_text("ok"),
        ],
    )
    .await;
    let done = rig1.one_turn("go").await.unwrap();
    assert_eq!(turn_status(&done.events), "completed");
    assert!(!rig1.path("x").exists());
    assert_eq!(
        rig1.model_saw(2, "c1").await.unwrap(),
        "blocked by hook: not on fridays"
    );
    assert_eq!(completed_runs(&done.events)[0]["outcome"], "blocked");

    // untrusted would ask about `touch`; the hook's allow skips the question.
    let allow = json!({"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "allow"}});
    let rig2 = rig(
        json_hook("PreToolUse", &allow, ""),
        Options::default().policies("untrusted", "workspace-write"),
        vec![
            tool_calls(vec![shell("c1", &["touch", "y"])]),
            Scripted::responses_text("ok"),
        ],
    )
    .await;
    let done = rig2.one_turn("go").await.unwrap();
    assert_eq!(turn_status(&done.events), "completed");
    assert!(server_requests(&done.events, COMMAND_APPROVAL).is_empty());
    assert!(rig2.path("y").exists());

    // on-request runs `ls` unasked; the hook's ask makes a person decide.
    let ask = json!({"hookSpecificOutput": {"hookEventName": "PreToolUse",
        "permissionDecision": "ask", "permissionDecisionReason": "double-check"}});
    let rig3 = rig(
        json_hook("PreToolUse", &ask, ""),
        Options::default().policies("on-request", "workspace-write"),
        vec![
            tool_calls(vec![shell("c1", &["ls"])]),
            Scripted::responses_text("ok"),
        ],
    )
    .await;
    let (mut c, _, turn) = rig3.start_turn("t", "go").await.unwrap();
    let question = c.server_request(COMMAND_APPROVAL).await.unwrap();
    assert_eq!(question["params"]["reason"], "double-check");
    let events = c
        .decide_and_finish(&question, "decline", &turn)
        .await
        .unwrap();
    assert_eq!(turn_status(&events), "completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updated_input_runs_instead_and_is_judged_again() {
    let spy = Spy::new();
    let rewrite = json!({"hookSpecificOutput": {"hookEventName": "PreToolUse",
        "permissionDecision": "allow", "updatedInput": {"command": ["touch", "rewritten"]}}});
    let forbidden = json!({"hookSpecificOutput": {"hookEventName": "PreToolUse",
        "updatedInput": {"command": ["rm", "-rf", "precious"]}}});
    let broken = json!({"hookSpecificOutput": {"hookEventName": "PreToolUse",
        "updatedInput": {"command": "not an argv"}}});
    let config = format!(
        "{}{}{}",
        json_hook("PreToolUse", &rewrite, "matcher = \"shell\""),
        "",
        ""
    );
    let r = rig(
        config,
        Options::default().unconfined(),
        vec![
            tool_calls(vec![shell("c1", &["touch", "original"])]),
            Scripted::responses_text("ok"),
        ],
    )
    .await;
    let done = r.one_turn("go").await.unwrap();
    assert_eq!(turn_status(&done.events), "completed");
    assert!(r.path("rewritten").exists() && !r.path("original").exists());
    let item = &completed_items(&done.events, "commandExecution")[0];
    assert_eq!(item["command"], "touch rewritten");

    // The exec policy still forbids what it forbids, whoever wrote the input.
    let r = ToolRig::start(
        vec![
            tool_calls(vec![shell("c1", &["ls"])]),
            Scripted::responses_text("ok"),
        ],
        Options::default()
            .unconfined()
            .config_toml(json_hook("PreToolUse", &forbidden, ""))
            .rules_file(
                "deny.rules",
                "prefix_rule(pattern=[\"rm\"], decision=\"forbidden\")\n",
            ),
    )
    .await
    .unwrap();
    std::fs::create_dir(r.path("precious")).unwrap();
    let done = r.one_turn("go").await.unwrap();
    assert_eq!(turn_status(&done.events), "completed");
    assert!(r.path("precious").exists());
    assert!(r.model_saw(2, "c1").await.unwrap().contains("forbidden"));

    // An input the tool cannot parse is the model's to hear about, like its own.
    let r = rig(
        json_hook("PreToolUse", &broken, ""),
        Options::default().unconfined(),
        vec![
            tool_calls(vec![shell("c1", &["ls"])]),
            Scripted::responses_text("ok"),
        ],
    )
    .await;
    let done = r.one_turn("go").await.unwrap();
    assert_eq!(turn_status(&done.events), "completed");
    assert!(r.model_saw(2, "c1").await.unwrap().contains("invalid"));
    drop(spy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continue_false_ends_the_turn_with_its_reason_and_system_message_is_a_warning() {
    let stop = json!({"continue": false, "stopReason": "enough for today",
        "systemMessage": "the build is red"});
    let r = rig(
        json_hook("PreToolUse", &stop, ""),
        Options::default().unconfined(),
        vec![
            tool_calls(vec![shell("c1", &["touch", "x"])]),
            Scripted::responses_text("never"),
        ],
    )
    .await;
    let done = r.one_turn("go").await.unwrap();
    assert_eq!(turn_status(&done.events), "failed");
    let turn = &done.events.last().unwrap()["params"]["turn"];
    assert_eq!(turn["error"]["message"], "enough for today");
    assert_eq!(turn["error"]["kind"], "hookStopped");
    assert!(!r.path("x").exists());
    let run = completed_runs(&done.events)[0];
    assert_eq!(run["outcome"], "stopped");
    let entries = run["run"]["entries"].as_array().unwrap();
    assert!(entries
        .iter()
        .any(|e| e["kind"] == "warning" && e["text"] == "the build is red"));
    assert!(entries.iter().any(|e| e["kind"] == "stop"));
    // The model's call still got an output (history stays paired).
    r.mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_tool_use_block_and_context_reach_the_model() {
    let post = json!({"decision": "block", "reason": "tests failed",
        "hookSpecificOutput": {"hookEventName": "PostToolUse", "additionalContext": "see CI run 42"}});
    let r = rig(
        json_hook("PostToolUse", &post, ""),
        Options::default().unconfined(),
        vec![
            tool_calls(vec![shell("c1", &["echo", "hi"])]),
            Scripted::responses_text("ok"),
        ],
    )
    .await;
    let done = r.one_turn("go").await.unwrap();
    assert_eq!(turn_status(&done.events), "completed");
    let saw = r.model_saw(2, "c1").await.unwrap();
    assert!(saw.contains("hi"), "{saw}");
    assert!(saw.contains("PostToolUse hook: tests failed"), "{saw}");
    assert!(saw.contains("see CI run 42"), "{saw}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_context_is_a_hook_prompt_item_and_reaches_the_model() {
    let context = json!({"hookSpecificOutput": {"hookEventName": "UserPromptSubmit",
        "additionalContext": "the user prefers tabs"}});
    let config = format!(
        "{}{}",
        json_hook("UserPromptSubmit", &context, ""),
        hook("UserPromptSubmit", "echo plain text is context too", "")
    );
    let r = rig(
        config,
        Options::default().unconfined(),
        vec![Scripted::responses_text("ok")],
    )
    .await;
    let done = r.one_turn("indent my code").await.unwrap();
    assert_eq!(turn_status(&done.events), "completed");
    let items = completed_items(&done.events, "hookPrompt");
    assert_eq!(items.len(), 1);
    let texts: Vec<&str> = items[0]["fragments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        ["the user prefers tabs", "plain text is context too"]
    );
    let body = &r.mock.requests()[0].body;
    assert_eq!(
        developer_texts(body),
        ["the user prefers tabs", "plain text is context too"]
    );

    let block = json!({"decision": "block", "reason": "no secrets in prompts"});
    let r = rig(
        json_hook("UserPromptSubmit", &block, ""),
        Options::default().unconfined(),
        vec![],
    )
    .await;
    let done = r.one_turn("my password is hunter2").await.unwrap();
    assert_eq!(turn_status(&done.events), "failed");
    let turn = &done.events.last().unwrap()["params"]["turn"];
    assert_eq!(turn["error"]["kind"], "hookBlocked");
    assert!(r.mock.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permission_request_hook_answers_the_question() {
    let allow = json!({"hookSpecificOutput": {"hookEventName": "PermissionRequest",
        "decision": {"behavior": "allow"}}});
    let r = rig(
        json_hook("PermissionRequest", &allow, "matcher = \"shell\""),
        Options::default().policies("untrusted", "workspace-write"),
        vec![
            tool_calls(vec![shell("c1", &["touch", "a"])]),
            Scripted::responses_text("ok"),
        ],
    )
    .await;
    let done = r.one_turn("go").await.unwrap();
    assert_eq!(turn_status(&done.events), "completed");
    assert!(server_requests(&done.events, COMMAND_APPROVAL).is_empty());
    assert!(r.path("a").exists());

    let deny = json!({"hookSpecificOutput": {"hookEventName": "PermissionRequest",
        "decision": {"behavior": "deny", "message": "ask Bob first"}}});
    let r = rig(
        json_hook("PermissionRequest", &deny, ""),
        Options::default().policies("untrusted", "workspace-write"),
        vec![
            tool_calls(vec![shell("c1", &["touch", "b"])]),
            Scripted::responses_text("ok"),
        ],
    )
    .await;
    let done = r.one_turn("go").await.unwrap();
    assert_eq!(turn_status(&done.events), "completed");
    assert!(!r.path("b").exists());
    assert!(r
        .model_saw(2, "c1")
        .await
        .unwrap()
        .contains("ask Bob first"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_calls_go_to_post_tool_use_failure_with_the_error() {
    let spy = Spy::new();
    let config = format!(
        "{}{}",
        hook("PostToolUseFailure", &spy.record("failure.json"), ""),
        hook("PostToolUse", &spy.record("success.json"), "")
    );
    let r = rig(
        config,
        Options::default().unconfined(),
        vec![
            tool_calls(vec![shell("c1", &["false"])]),
            Scripted::responses_text("ok"),
        ],
    )
    .await;
    let done = r.one_turn("go").await.unwrap();
    assert_eq!(turn_status(&done.events), "completed");
    let saw = spy.saw("failure.json");
    assert_eq!(saw["hook_event_name"], "PostToolUseFailure");
    assert_eq!(saw["error"], "Exit code 1");
    assert_eq!(saw["tool_name"], "shell");
    assert!(!spy.path("success.json").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_stdout_is_a_failed_hook_and_the_turn_goes_on() {
    let r = rig(
        hook("PreToolUse", "echo '{this is not json'", ""),
        Options::default().unconfined(),
        vec![
            tool_calls(vec![shell("c1", &["touch", "ran"])]),
            Scripted::responses_text("ok"),
        ],
    )
    .await;
    let done = r.one_turn("go").await.unwrap();
    assert_eq!(turn_status(&done.events), "completed");
    assert!(r.path("ran").exists());
    let run = completed_runs(&done.events)[0];
    assert_eq!(run["outcome"], "failed");
    assert!(
        run["reason"].as_str().unwrap().contains("invalid JSON"),
        "{run}"
    );
}
