//! Exec policy rules (`$XDG_CONFIG_HOME/agentd/rules/*.rules`) as the daemon applies them, and
//! `agentd execpolicy check`.

use agentd_tests::harness::agentd_bin;
use agentd_tests::mock_llm::{Scripted, Step, Usage};
use agentd_tests::tools::{completed_items, server_requests, the_item, turn_status, ToolRig};
use agentd_tests::{Agentd, Options};
use serde_json::json;

const FORBID_TOUCH: &str =
    r#"prefix_rule(pattern=["touch"], decision="forbidden", justification="no touching")"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forbidden_command_is_not_run_and_the_model_is_told_why() {
    let rig = ToolRig::start(
        vec![
            Scripted::responses(vec![
                Step::created(),
                Step::function_call("c1", "shell", r#"{"command":["touch","x"]}"#),
                // Hidden in a shell script, it is still found.
                Step::function_call(
                    "c2",
                    "shell",
                    r#"{"command":["bash","-lc","echo hi && touch y"]}"#,
                ),
                Step::completed(Usage::default()),
            ]),
            Scripted::responses_text("ok"),
        ],
        Options::default()
            .unconfined()
            .rules_file("x.rules", FORBID_TOUCH),
    )
    .await
    .unwrap();
    let mut c = rig.client("t").await.unwrap();
    let thread = rig.thread(&mut c).await.unwrap();
    let turn = c.start_turn(&thread, "touch").await.unwrap();
    let events = c.until_turn_completed(&turn).await.unwrap();
    assert_eq!(turn_status(&events), "completed");
    assert!(!rig.path("x").exists() && !rig.path("y").exists());
    assert!(completed_items(&events, "commandExecution").is_empty());
    for call in ["c1", "c2"] {
        let output = rig.model_saw(2, call).await.unwrap();
        assert!(output.contains("forbidden"), "{output}");
        assert!(output.contains("no touching"), "{output}");
        assert!(output.contains("x.rules:1"), "{output}");
    }
    rig.mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prompt_rule_asks_even_under_on_request() {
    let rig = ToolRig::start(
        vec![
            Scripted::responses_tool_call("c1", "shell", r#"{"command":["touch","x"]}"#),
            Scripted::responses_text("ok"),
        ],
        Options::default()
            .policies("on-request", "danger-full-access")
            .rules_file(
                "x.rules",
                r#"prefix_rule(pattern=["touch"], decision="prompt", justification="ask first")"#,
            ),
    )
    .await
    .unwrap();
    let mut c = rig.client("t").await.unwrap();
    let thread = rig.thread(&mut c).await.unwrap();
    let turn = c.start_turn(&thread, "touch").await.unwrap();
    let req = c
        .server_request("item/commandExecution/requestApproval")
        .await
        .unwrap();
    let reason = req["params"]["reason"].as_str().unwrap();
    assert!(reason.contains("ask first"), "{reason}");
    c.respond(&req, json!({"decision": "accept"})).unwrap();
    let events = c.until_turn_completed(&turn).await.unwrap();
    assert_eq!(turn_status(&events), "completed");
    assert_eq!(the_item(&events, "commandExecution")["status"], "completed");
    assert!(rig.path("x").exists());
    assert!(server_requests(&events, "item/commandExecution/requestApproval").is_empty());
    rig.mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prompt_rule_with_approvals_off_refuses_instead_of_running_unasked() {
    let rig = ToolRig::start(
        vec![
            Scripted::responses_tool_call("c1", "shell", r#"{"command":["touch","x"]}"#),
            Scripted::responses_text("ok"),
        ],
        Options::default().unconfined().rules_file(
            "x.rules",
            r#"prefix_rule(pattern=["touch"], decision="prompt", justification="ask first")"#,
        ),
    )
    .await
    .unwrap();
    let mut c = rig.client("t").await.unwrap();
    let thread = rig.thread(&mut c).await.unwrap();
    let turn = c.start_turn(&thread, "touch").await.unwrap();
    let events = c.until_turn_completed(&turn).await.unwrap();
    assert_eq!(turn_status(&events), "completed");
    assert!(!rig.path("x").exists());
    assert!(server_requests(&events, "item/commandExecution/requestApproval").is_empty());
    let output = rig.model_saw(2, "c1").await.unwrap();
    assert!(output.contains("requires approval: ask first"), "{output}");
    assert!(output.contains("approval_policy = never"), "{output}");
    rig.mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_rules_file_stops_the_daemon_at_start() {
    let (status, stderr) = Agentd::start_failing(Options::default().rules_file(
        "broken.rules",
        "prefix_rule(pattern=[\"ls\"], decision=\"allow\")\nprefix_rule(pattern=[\"rm\"], decision=\"sometimes\")\n",
    ))
    .await
    .unwrap();
    assert!(!status.success(), "{status:?}");
    assert!(stderr.contains("broken.rules:2"), "{stderr}");
}

#[test]
fn execpolicy_check_calls_rm_rf_root_dangerous() {
    let home = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(agentd_bin().unwrap())
        .args(["execpolicy", "check", "--", "rm", "-rf", "/"])
        .env("XDG_CONFIG_HOME", home.path())
        .current_dir(home.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("dangerous"), "{stdout}");

    let out = std::process::Command::new(agentd_bin().unwrap())
        .args(["execpolicy", "check", "--", "ls", "-la"])
        .env("XDG_CONFIG_HOME", home.path())
        .current_dir(home.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("known-safe"), "{stdout}");
}
