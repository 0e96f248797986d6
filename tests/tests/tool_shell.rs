//! The `shell` tool end to end: the model asks for a command, the daemon runs it (or refuses),
//! clients see a `commandExecution` item with its streamed output, and the next model request
//! carries the result.

use std::time::{Duration, Instant};

use agentd_tests::mock_llm::{Scripted, Step};
use agentd_tests::tools::{
    process_gone, read, server_requests, shell_call_with, the_item, tool_calls, turn_status,
    ToolRig, COMMAND_APPROVAL,
};
use agentd_tests::turns::of_method;
use agentd_tests::Options;
use serde_json::{json, Value};

/// A model that calls `shell` once with these arguments, then says "done".
fn shell_then_done(arguments: Value) -> Vec<Scripted> {
    vec![
        tool_calls(vec![shell_call_with("c1", &arguments)]),
        Scripted::responses_text("done"),
    ]
}

/// A rig whose commands simply run (no approvals, no sandbox), its model following `script`.
async fn unconfined_rig(script: Vec<Scripted>) -> ToolRig {
    ToolRig::start(script, Options::default().unconfined())
        .await
        .unwrap()
}

/// Runs one turn and returns everything the client saw.
async fn one_turn(rig: &ToolRig) -> Vec<Value> {
    rig.one_turn("run it").await.unwrap().events
}

/// Concatenates the `outputDelta`s of an item.
fn deltas(events: &[Value], item_id: &Value) -> String {
    of_method(events, "item/commandExecution/outputDelta")
        .into_iter()
        .filter(|e| &e["params"]["itemId"] == item_id)
        .filter_map(|e| e["params"]["delta"].as_str())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_successful_command_reports_output_exit_code_and_duration() {
    let rig = unconfined_rig(shell_then_done(
        json!({"command": ["sh", "-c", "echo hello; echo oops >&2"]}),
    ))
    .await;
    let events = one_turn(&rig).await;
    assert_eq!(turn_status(&events), "completed");

    let started = of_method(&events, "item/started")
        .into_iter()
        .find(|e| e["params"]["item"]["type"] == "commandExecution")
        .expect("item/started for the command");
    assert_eq!(started["params"]["item"]["status"], "inProgress");
    let item = the_item(&events, "commandExecution");
    assert_eq!(item["id"], started["params"]["item"]["id"]);
    assert_eq!(item["status"], "completed");
    assert_eq!(item["exitCode"], 0);
    assert!(item["durationMs"].as_i64().is_some(), "{item}");
    assert_eq!(item["cwd"], rig.cwd());
    assert_eq!(item["command"], "sh -c 'echo hello; echo oops >&2'");
    let aggregated = item["aggregatedOutput"].as_str().unwrap();
    assert!(
        aggregated.contains("hello\n") && aggregated.contains("oops\n"),
        "{aggregated}"
    );
    assert_eq!(deltas(&events, &item["id"]), aggregated);

    let output = rig.model_saw(2, "c1").await.unwrap();
    assert!(output.starts_with("Exit code: 0\n"), "{output}");
    assert!(output.contains("hello"), "{output}");
    rig.mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_command_reports_its_exit_code_and_the_turn_goes_on() {
    let rig = unconfined_rig(shell_then_done(
        json!({"command": ["sh", "-c", "echo broken; exit 3"]}),
    ))
    .await;
    let events = one_turn(&rig).await;
    assert_eq!(turn_status(&events), "completed");
    let item = the_item(&events, "commandExecution");
    assert_eq!(item["status"], "failed");
    assert_eq!(item["exitCode"], 3);
    assert_eq!(item["aggregatedOutput"], "broken\n");
    let output = rig.model_saw(2, "c1").await.unwrap();
    assert!(output.starts_with("Exit code: 3\n"), "{output}");
    assert!(output.contains("broken"), "{output}");
    rig.mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_program_is_an_error_the_model_can_read() {
    let rig = unconfined_rig(shell_then_done(
        json!({"command": ["agentd-no-such-program-xyz"]}),
    ))
    .await;
    let events = one_turn(&rig).await;
    assert_eq!(turn_status(&events), "completed");
    assert_eq!(the_item(&events, "commandExecution")["status"], "failed");
    let output = rig.model_saw(2, "c1").await.unwrap();
    assert!(output.contains("agentd-no-such-program-xyz"), "{output}");
    rig.mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_kills_the_whole_process_group() {
    // The command leaves a background child; its pid goes to a file so the test can check
    // that it died with the rest of the group.
    let rig = unconfined_rig(shell_then_done(json!({
        "command": ["sh", "-c", "sleep 30 & echo $! > bg.pid; echo started; sleep 30"],
        "timeout_ms": 300,
    })))
    .await;
    let clock = Instant::now();
    let events = one_turn(&rig).await;
    assert!(
        clock.elapsed() < Duration::from_secs(5),
        "{:?}",
        clock.elapsed()
    );
    assert_eq!(turn_status(&events), "completed");
    let item = the_item(&events, "commandExecution");
    assert_eq!(item["status"], "failed");
    assert_eq!(item["exitCode"], 124);
    assert_eq!(item["aggregatedOutput"], "started\n");
    let output = rig.model_saw(2, "c1").await.unwrap();
    assert!(output.contains("timed out after 300 ms"), "{output}");

    let pid: u32 = read(&rig.path("bg.pid")).trim().parse().unwrap();
    assert!(
        process_gone(pid, Duration::from_secs(2)).await,
        "the background child {pid} outlived the timeout"
    );
    rig.mock.assert_pairing_ok();
}

/// 100 numbered lines, 792 bytes.
const HUNDRED_LINES: &str = "i=1; while [ $i -le 100 ]; do echo line-$i; i=$((i+1)); done";

fn hundred_lines() -> String {
    (1..=100).map(|i| format!("line-{i}\n")).collect()
}

/// A rig whose model runs [`HUNDRED_LINES`] unconfined, with the output setting `KEY=VALUE`.
async fn hundred_lines_rig(setting: &str) -> ToolRig {
    ToolRig::start(
        shell_then_done(json!({"command": ["sh", "-c", HUNDRED_LINES]})),
        Options::default().unconfined().set(setting),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_model_gets_head_and_tail_while_clients_get_everything() {
    let rig = hundred_lines_rig("shell_model_output_bytes=200").await;
    let events = one_turn(&rig).await;
    let item = the_item(&events, "commandExecution");
    assert_eq!(item["aggregatedOutput"], hundred_lines());
    assert_eq!(deltas(&events, &item["id"]), hundred_lines());

    let output = rig.model_saw(2, "c1").await.unwrap();
    let shown = output.split_once("Output:\n").unwrap().1;
    assert!(shown.starts_with("line-1\nline-2\n"), "{shown}");
    assert!(shown.ends_with("line-99\nline-100\n"), "{shown}");
    assert!(!shown.contains("line-50\n"), "{shown}");
    assert!(shown.contains("omitted"), "{shown}");
    assert!(shown.len() < 400, "{} bytes: {shown}", shown.len());
    rig.mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clients_copy_is_capped_but_the_stream_is_complete() {
    let rig = hundred_lines_rig("shell_output_cap_bytes=300").await;
    let events = one_turn(&rig).await;
    let item = the_item(&events, "commandExecution");
    let aggregated = item["aggregatedOutput"].as_str().unwrap();
    assert!(aggregated.starts_with("line-1\n"), "{aggregated}");
    assert!(aggregated.contains("omitted"), "{aggregated}");
    assert!(!aggregated.contains("line-100"), "{aggregated}");
    assert!(aggregated.len() < 400, "{aggregated}");
    assert_eq!(deltas(&events, &item["id"]), hundred_lines());
}

/// A command that floods streams its first 16 MiB and a note, then nothing more: its output
/// cannot become gigabytes of stored events. The model still gets the head and the tail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_output_stops_streaming_at_16_mib() {
    let rig = unconfined_rig(shell_then_done(json!({
        "command": ["sh", "-c", "head -c 20000000 /dev/zero | tr '\\0' x; echo; echo THE-END"],
    })))
    .await;
    let events = one_turn(&rig).await;
    let item = the_item(&events, "commandExecution");
    assert_eq!(item["exitCode"], 0, "{}", item["status"]);
    let streamed = deltas(&events, &item["id"]);
    assert!(
        streamed.len() <= (16 << 20) + 100,
        "{} bytes",
        streamed.len()
    );
    assert!(streamed.len() >= 16 << 20, "{} bytes", streamed.len());
    assert!(streamed.ends_with("[… the rest of the output is not streamed]\n"));
    let output = rig.model_saw(2, "c1").await.unwrap();
    assert!(
        output.ends_with("THE-END\n"),
        "{}",
        &output[output.len() - 40..]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_character_split_between_two_writes_streams_intact() {
    // "é" is two bytes; the command writes them apart, so they arrive in separate reads.
    let rig = unconfined_rig(shell_then_done(json!({
        "command": ["sh", "-c", "printf 'caf\\303'; sleep 0.2; printf '\\251!\\n'"],
    })))
    .await;
    let events = one_turn(&rig).await;
    let item = the_item(&events, "commandExecution");
    assert_eq!(item["aggregatedOutput"], "café!\n");
    assert_eq!(deltas(&events, &item["id"]), "café!\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sandbox_denial_offers_escalation_and_accepting_runs_the_command() {
    let rig = ToolRig::start(
        shell_then_done(json!({"command": ["touch", "escalated"]})),
        // Read-only: the write is refused whether or not this machine can confine commands
        // (by the sandbox, or by the daemon when confinement is unavailable).
        Options::default().policies("on-failure", "read-only"),
    )
    .await
    .unwrap();
    let (mut c, _thread, turn) = rig.start_turn("t", "touch it").await.unwrap();
    let req = c.server_request(COMMAND_APPROVAL).await.unwrap();
    let reason = req["params"]["reason"].as_str().unwrap();
    assert!(reason.contains("sandbox"), "{reason}");
    assert!(!rig.path("escalated").exists());
    let events = c.decide_and_finish(&req, "accept", &turn).await.unwrap();
    assert_eq!(turn_status(&events), "completed");
    assert!(rig.path("escalated").exists(), "the approved command ran");
    let item = the_item(&events, "commandExecution");
    assert_eq!(item["status"], "completed");
    assert_eq!(item["exitCode"], 0);
    assert_eq!(
        server_requests(&events, COMMAND_APPROVAL).len(),
        0,
        "asked only once"
    );
    rig.mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sandbox_denial_without_approvals_tells_the_model() {
    let rig = ToolRig::start(
        shell_then_done(json!({"command": ["touch", "never-made"]})),
        Options::default().policies("never", "read-only"),
    )
    .await
    .unwrap();
    let events = one_turn(&rig).await;
    assert_eq!(turn_status(&events), "completed");
    assert!(!rig.path("never-made").exists());
    assert!(server_requests(&events, COMMAND_APPROVAL).is_empty());
    let item = the_item(&events, "commandExecution");
    assert_eq!(item["status"], "failed");
    let output = rig.model_saw(2, "c1").await.unwrap();
    assert!(output.contains("sandbox denied"), "{output}");
    rig.mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_arguments_are_answered_not_fatal() {
    let rig = unconfined_rig(vec![
        tool_calls(vec![
            Step::function_call("c1", "shell", r#"{"command": "not an argv"}"#),
            Step::function_call("c2", "shell", r#"{"command": []}"#),
            Step::function_call("c3", "no_such_tool", "{}"),
        ]),
        Scripted::responses_text("done"),
    ])
    .await;
    let events = one_turn(&rig).await;
    assert_eq!(turn_status(&events), "completed");
    let c1 = rig.model_saw(2, "c1").await.unwrap();
    assert!(c1.contains("invalid shell arguments"), "{c1}");
    let c2 = rig.model_saw(2, "c2").await.unwrap();
    assert!(c2.contains("empty"), "{c2}");
    let c3 = rig.model_saw(2, "c3").await.unwrap();
    assert!(c3.contains("no tool named `no_such_tool`"), "{c3}");
    rig.mock.assert_pairing_ok();
}
