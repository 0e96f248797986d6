//! Approvals end to end (PROTOCOL.md §8): every decision for both request kinds, answers from
//! several clients, a request outliving its client's connection, and the approval timeout.

use std::time::Duration;

use agentd_tests::mock_llm::{Scripted, Step};
use agentd_tests::tools::{
    completed_items, read, server_requests, shell_call, the_item, tool_calls, turn_status, ToolRig,
    COMMAND_APPROVAL, FILE_APPROVAL,
};
use agentd_tests::turns::of_method;
use agentd_tests::{Client, Options};
use serde_json::{json, Value};

fn patch_call(call_id: &str, patch: &str) -> Step {
    Step::custom_tool_call(call_id, "apply_patch", patch)
}

/// A model that makes these tool calls in one response, then says "ok" once it has their
/// outputs: the script of most tests here.
fn calls_then_ok(steps: Vec<Step>) -> Vec<Scripted> {
    vec![tool_calls(steps), Scripted::responses_text("ok")]
}

/// Everything asks: `untrusted`, and no sandbox to get in the way.
fn asking() -> Options {
    Options::default().policies("untrusted", "danger-full-access")
}

/// A rig where everything asks (see [`asking`]), its model following `script`.
async fn asking_rig(script: Vec<Scripted>) -> ToolRig {
    ToolRig::start(script, asking()).await.unwrap()
}

const ADD_A: &str = "*** Begin Patch\n*** Add File: a.txt\n+first\n*** End Patch";
const UPDATE_A: &str =
    "*** Begin Patch\n*** Update File: a.txt\n@@\n-first\n+second\n*** End Patch";

/// Starts a thread and a turn; returns the client, thread id and turn id.
async fn turn(rig: &ToolRig, name: &str) -> (Client, String, String) {
    rig.start_turn(name, "go").await.unwrap()
}

/// The `serverRequest/resolved` a client got for `request`.
fn resolved_for<'a>(events: &'a [Value], request: &Value) -> &'a Value {
    of_method(events, "serverRequest/resolved")
        .into_iter()
        .find(|e| e["params"]["requestId"] == request["id"])
        .unwrap_or_else(|| panic!("no serverRequest/resolved for {request}: {events:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_accept_runs_it_and_everyone_learns_the_outcome() {
    let rig = asking_rig(calls_then_ok(vec![shell_call("c1", &["touch", "x"])])).await;
    let (mut c, thread, turn) = turn(&rig, "alice").await;
    let req = c.server_request(COMMAND_APPROVAL).await.unwrap();
    let p = &req["params"];
    assert_eq!(p["threadId"], thread);
    assert_eq!(p["turnId"], turn);
    assert_eq!(p["command"], "touch x");
    assert_eq!(p["cwd"], rig.cwd());
    assert!(p["startedAtMs"].as_i64().is_some(), "{req}");
    assert!(p["reason"].as_str().is_some_and(|r| !r.is_empty()), "{req}");
    assert!(!rig.path("x").exists(), "nothing runs before the answer");

    let events = c.decide_and_finish(&req, "accept", &turn).await.unwrap();
    assert_eq!(turn_status(&events), "completed");
    assert!(rig.path("x").exists());
    let item = the_item(&events, "commandExecution");
    assert_eq!(item["id"], p["itemId"]);
    assert_eq!(item["status"], "completed");
    let resolved = resolved_for(&events, &req);
    assert_eq!(resolved["params"]["threadId"], thread);
    assert_eq!(resolved["params"]["decision"], "accept");
    assert_eq!(resolved["params"]["resolvedBy"]["clientName"], "alice");
    rig.mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_accept_for_session_is_remembered_for_that_exact_command() {
    let rig = asking_rig(vec![
        tool_calls(vec![shell_call("c1", &["touch", "x"])]),
        Scripted::responses_text("first done"),
        // The same command again is not asked about; a longer one is.
        tool_calls(vec![
            shell_call("c2", &["touch", "x"]),
            shell_call("c3", &["touch", "x", "y"]),
        ]),
        Scripted::responses_text("second done"),
    ])
    .await;
    let (mut c, thread, t1) = turn(&rig, "alice").await;
    let req = c.server_request(COMMAND_APPROVAL).await.unwrap();
    let events = c
        .decide_and_finish(&req, "acceptForSession", &t1)
        .await
        .unwrap();
    assert_eq!(turn_status(&events), "completed");
    assert_eq!(
        resolved_for(&events, &req)["params"]["decision"],
        "acceptForSession"
    );

    std::fs::remove_file(rig.path("x")).unwrap();
    let t2 = c.start_turn(&thread, "again").await.unwrap();
    let req = c.server_request(COMMAND_APPROVAL).await.unwrap();
    assert_eq!(
        req["params"]["command"], "touch x y",
        "only the new command is asked"
    );
    assert!(
        rig.path("x").exists(),
        "the remembered command ran without asking"
    );
    let events = c.decide_and_finish(&req, "decline", &t2).await.unwrap();
    assert_eq!(turn_status(&events), "completed");
    assert!(server_requests(&events, COMMAND_APPROVAL).is_empty());
    assert!(!rig.path("y").exists());
    rig.mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_decline_tells_the_model_and_the_turn_goes_on() {
    let rig = asking_rig(calls_then_ok(vec![shell_call("c1", &["touch", "x"])])).await;
    let (mut c, _thread, turn) = turn(&rig, "alice").await;
    let req = c.server_request(COMMAND_APPROVAL).await.unwrap();
    let events = c.decide_and_finish(&req, "decline", &turn).await.unwrap();
    assert_eq!(turn_status(&events), "completed");
    assert!(!rig.path("x").exists());
    assert_eq!(the_item(&events, "commandExecution")["status"], "declined");
    assert_eq!(resolved_for(&events, &req)["params"]["decision"], "decline");
    let output = rig.model_saw(2, "c1").await.unwrap();
    assert!(output.contains("declined"), "{output}");
    rig.mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_cancel_interrupts_the_turn() {
    let rig = asking_rig(vec![tool_calls(vec![shell_call("c1", &["touch", "x"])])]).await;
    let (mut c, thread, turn) = turn(&rig, "alice").await;
    let req = c.server_request(COMMAND_APPROVAL).await.unwrap();
    let events = c.decide_and_finish(&req, "cancel", &turn).await.unwrap();
    assert_eq!(turn_status(&events), "interrupted");
    assert!(!rig.path("x").exists());
    assert_eq!(the_item(&events, "commandExecution")["status"], "declined");
    assert_eq!(resolved_for(&events, &req)["params"]["decision"], "cancel");
    // The interrupted call still got an output, so the next request is well paired.
    rig.mock.push(Scripted::responses_text("fine"));
    let t2 = c.start_turn(&thread, "next").await.unwrap();
    assert_eq!(
        turn_status(&c.until_turn_completed(&t2).await.unwrap()),
        "completed"
    );
    rig.mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_change_accept_applies_the_patch() {
    let rig = asking_rig(calls_then_ok(vec![patch_call("p1", ADD_A)])).await;
    let (mut c, thread, turn) = turn(&rig, "alice").await;
    let req = c.server_request(FILE_APPROVAL).await.unwrap();
    let p = &req["params"];
    assert_eq!(p["threadId"], thread);
    assert_eq!(p["turnId"], turn);
    assert!(p["startedAtMs"].as_i64().is_some(), "{req}");
    assert_eq!(p["changes"][0]["path"], "a.txt");
    assert_eq!(p["changes"][0]["kind"]["type"], "add");
    assert!(
        p["changes"][0]["diff"].as_str().unwrap().contains("+first"),
        "{req}"
    );
    assert!(
        !rig.path("a.txt").exists(),
        "nothing is written before the answer"
    );
    let events = c.decide_and_finish(&req, "accept", &turn).await.unwrap();
    assert_eq!(turn_status(&events), "completed");
    assert_eq!(read(&rig.path("a.txt")), "first\n");
    let item = the_item(&events, "fileChange");
    assert_eq!(item["id"], p["itemId"]);
    assert_eq!(item["status"], "completed");
    assert_eq!(resolved_for(&events, &req)["params"]["decision"], "accept");
    rig.mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_change_accept_for_session_covers_the_same_files() {
    let rig = asking_rig(vec![
        tool_calls(vec![patch_call("p1", ADD_A)]),
        Scripted::responses_text("added"),
        tool_calls(vec![patch_call("p2", UPDATE_A)]),
        Scripted::responses_text("updated"),
    ])
    .await;
    let (mut c, thread, t1) = turn(&rig, "alice").await;
    let req = c.server_request(FILE_APPROVAL).await.unwrap();
    c.decide_and_finish(&req, "acceptForSession", &t1)
        .await
        .unwrap();
    let t2 = c.start_turn(&thread, "again").await.unwrap();
    let events = c.until_turn_completed(&t2).await.unwrap();
    assert_eq!(turn_status(&events), "completed");
    assert!(
        server_requests(&events, FILE_APPROVAL).is_empty(),
        "{events:#?}"
    );
    assert_eq!(read(&rig.path("a.txt")), "second\n");
    rig.mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_change_decline_leaves_the_files_and_the_turn_goes_on() {
    let rig = asking_rig(calls_then_ok(vec![patch_call("p1", ADD_A)])).await;
    let (mut c, _thread, turn) = turn(&rig, "alice").await;
    let req = c.server_request(FILE_APPROVAL).await.unwrap();
    let events = c.decide_and_finish(&req, "decline", &turn).await.unwrap();
    assert_eq!(turn_status(&events), "completed");
    assert!(!rig.path("a.txt").exists());
    assert_eq!(the_item(&events, "fileChange")["status"], "declined");
    let output = rig.model_saw(2, "p1").await.unwrap();
    assert!(output.contains("declined"), "{output}");
    rig.mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_change_cancel_interrupts_the_turn() {
    let rig = asking_rig(vec![tool_calls(vec![patch_call("p1", ADD_A)])]).await;
    let (mut c, _thread, turn) = turn(&rig, "alice").await;
    let req = c.server_request(FILE_APPROVAL).await.unwrap();
    let events = c.decide_and_finish(&req, "cancel", &turn).await.unwrap();
    assert_eq!(turn_status(&events), "interrupted");
    assert!(!rig.path("a.txt").exists());
    assert_eq!(the_item(&events, "fileChange")["status"], "declined");
    assert_eq!(resolved_for(&events, &req)["params"]["decision"], "cancel");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_answer_wins_and_every_client_learns_it_under_its_own_id() {
    let rig = asking_rig(vec![
        tool_calls(vec![Step::gate(), shell_call("c1", &["touch", "x"])]),
        Scripted::responses_text("ok"),
    ])
    .await;
    let (mut a, thread, turn) = turn(&rig, "alice").await;
    let mut b = rig.daemon.subscriber("bob", &thread).await.unwrap();
    rig.mock
        .wait_for_gates(1, Duration::from_secs(5))
        .await
        .unwrap();
    rig.mock.release(1);

    let req_a = a.server_request(COMMAND_APPROVAL).await.unwrap();
    let req_b = b.server_request(COMMAND_APPROVAL).await.unwrap();
    assert_eq!(req_a["params"]["itemId"], req_b["params"]["itemId"]);
    a.decide(&req_a, "accept").unwrap();
    let resolved_b = b.wait_for("serverRequest/resolved").await.unwrap();
    // Bob's answer comes too late and changes nothing.
    b.decide(&req_b, "decline").unwrap();
    assert_eq!(resolved_b["params"]["requestId"], req_b["id"]);
    assert_eq!(resolved_b["params"]["decision"], "accept");
    assert_eq!(resolved_b["params"]["resolvedBy"]["clientName"], "alice");

    let events = a.until_turn_completed(&turn).await.unwrap();
    assert_eq!(turn_status(&events), "completed");
    let resolved_a = resolved_for(&events, &req_a);
    assert_eq!(resolved_a["params"]["decision"], "accept");
    assert_eq!(resolved_a["params"]["resolvedBy"]["clientName"], "alice");
    assert_eq!(the_item(&events, "commandExecution")["status"], "completed");
    assert!(rig.path("x").exists());
    let events_b = b.until_turn_completed(&turn).await.unwrap();
    assert!(
        of_method(&events_b, "serverRequest/resolved").is_empty(),
        "resolved once: {events_b:#?}"
    );
    rig.mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_approval_survives_its_clients_disconnect() {
    let rig = asking_rig(calls_then_ok(vec![shell_call("c1", &["touch", "x"])])).await;
    let (mut a, thread, turn) = turn(&rig, "alice").await;
    a.server_request(COMMAND_APPROVAL).await.unwrap();
    let status = a.wait_for("thread/status/changed").await.unwrap();
    let mut status = status;
    while status["params"]["status"]["activeFlags"] != json!(["waitingOnApproval"]) {
        status = a.wait_for("thread/status/changed").await.unwrap();
    }
    a.close();
    drop(a);

    let mut b = rig.client("bob").await.unwrap();
    let read = b.read_thread(&thread).await.unwrap();
    assert_eq!(
        read["thread"]["status"],
        json!({"type": "active", "activeFlags": ["waitingOnApproval"]})
    );
    b.resume(&thread).await.unwrap();
    let req = b.server_request(COMMAND_APPROVAL).await.unwrap();
    assert_eq!(req["params"]["turnId"], turn);
    let events = b.decide_and_finish(&req, "accept", &turn).await.unwrap();
    assert_eq!(turn_status(&events), "completed");
    let resolved = resolved_for(&events, &req);
    assert_eq!(resolved["params"]["resolvedBy"]["clientName"], "bob");
    assert!(rig.path("x").exists());
    let read = b.read_thread(&thread).await.unwrap();
    assert_eq!(read["thread"]["status"], json!({"type": "idle"}));
    rig.mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_approval_times_out_as_decline() {
    let rig = ToolRig::start(
        calls_then_ok(vec![shell_call("c1", &["touch", "x"])]),
        asking().set("approval_timeout_ms=300"),
    )
    .await
    .unwrap();
    let (mut a, thread, turn) = turn(&rig, "alice").await;
    let mut b = rig.daemon.subscriber("bob", &thread).await.unwrap();
    let req_a = a.server_request(COMMAND_APPROVAL).await.unwrap();
    let req_b = b.server_request(COMMAND_APPROVAL).await.unwrap();
    let events = a.until_turn_completed(&turn).await.unwrap();
    assert_eq!(turn_status(&events), "completed");
    assert_eq!(
        resolved_for(&events, &req_a)["params"]["decision"],
        "decline"
    );
    let events_b = b.until_turn_completed(&turn).await.unwrap();
    assert_eq!(
        resolved_for(&events_b, &req_b)["params"]["decision"],
        "decline"
    );
    assert!(!rig.path("x").exists());
    assert_eq!(the_item(&events, "commandExecution")["status"], "declined");
    let output = rig.model_saw(2, "c1").await.unwrap();
    assert!(output.contains("declined"), "{output}");
    rig.mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupting_a_turn_that_waits_on_approval_ends_it_at_once() {
    let rig = asking_rig(vec![tool_calls(vec![shell_call("c1", &["touch", "x"])])]).await;
    let (mut c, thread, turn) = turn(&rig, "alice").await;
    let req = c.server_request(COMMAND_APPROVAL).await.unwrap();
    let events = c
        .interrupt_within(&thread, &turn, Duration::from_secs(3))
        .await
        .unwrap();
    assert_eq!(turn_status(&events), "interrupted");
    assert_eq!(resolved_for(&events, &req)["params"]["decision"], "cancel");
    assert!(!rig.path("x").exists());
    let items = completed_items(&events, "commandExecution");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["status"], "declined");
    // A late answer to the ended request is ignored.
    c.decide(&req, "accept").unwrap();
    let read = c.read_thread(&thread).await.unwrap();
    assert_eq!(read["thread"]["status"], json!({"type": "idle"}));
    assert!(!rig.path("x").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_command_is_not_asked_about_again_when_the_sandbox_refuses_it() {
    // Untrusted asks first; the read-only sandbox then refuses the write. The person already
    // said yes to this command, so it runs outside the sandbox without a second question.
    let rig = ToolRig::start(
        calls_then_ok(vec![shell_call("c1", &["touch", "x"])]),
        Options::default().policies("untrusted", "read-only"),
    )
    .await
    .unwrap();
    let (mut c, _thread, turn) = turn(&rig, "alice").await;
    let req = c.server_request(COMMAND_APPROVAL).await.unwrap();
    let events = c.decide_and_finish(&req, "accept", &turn).await.unwrap();
    assert_eq!(turn_status(&events), "completed");
    assert!(
        server_requests(&events, COMMAND_APPROVAL).is_empty(),
        "asked twice: {events:#?}"
    );
    assert!(rig.path("x").exists());
    assert_eq!(the_item(&events, "commandExecution")["status"], "completed");
    rig.mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_arrives_after_the_item_it_is_about() {
    let rig = asking_rig(calls_then_ok(vec![
        shell_call("c1", &["touch", "x"]),
        patch_call("p1", ADD_A),
    ]))
    .await;
    let (mut c, _thread, turn) = turn(&rig, "alice").await;
    let mut started_items = Vec::new();
    for _ in 0..2 {
        let req = loop {
            let m = c.next_message(Duration::from_secs(10)).await.unwrap();
            if m["method"] == "item/started" {
                started_items.push(m["params"]["item"]["id"].clone());
            }
            if m.get("id").is_some() {
                break m;
            }
        };
        assert!(
            started_items.contains(&req["params"]["itemId"]),
            "{req} before its item/started"
        );
        c.decide(&req, "accept").unwrap();
    }
    let events = c.until_turn_completed(&turn).await.unwrap();
    assert_eq!(turn_status(&events), "completed");
}
