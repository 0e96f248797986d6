//! Token scopes (PROTOCOL.md §9): `observe` reads, lists, resumes and subscribes but changes
//! nothing (-32003), is not asked approvals and cannot answer them; `control` drives turns and
//! approvals; `admin` everything.

use agentd_tests::access::{connect_with_token, create_token};
use agentd_tests::mock_llm::Scripted;
use agentd_tests::tools::{shell_call, tool_calls, ToolRig, COMMAND_APPROVAL};
use agentd_tests::turns::of_method;
use agentd_tests::{Agentd, Client, Options};
use serde_json::{json, Value};

async fn connect(d: &Agentd, token: &str, name: &str) -> Client {
    connect_with_token(d, token, name).await.unwrap()
}

fn code(resp: &Value) -> i64 {
    resp["error"]["code"].as_i64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observe_reads_and_subscribes_but_changes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let watch = create_token(home.path(), "watch", "observe");
    let drive = create_token(home.path(), "drive", "control");
    let d = Agentd::start(Options::default().config_home(home.path()))
        .await
        .unwrap();
    let mut ctl = connect(&d, &drive, "driver").await;
    let thread = ctl.start_thread(json!({})).await.unwrap();

    let mut obs = connect(&d, &watch, "watcher").await;
    for (method, params) in [
        ("thread/list", json!({})),
        (
            "thread/read",
            json!({"threadId": thread, "includeTurns": true}),
        ),
        ("thread/resume", json!({"threadId": thread, "afterSeq": 0})),
        ("model/list", json!({})),
        ("config/read", json!({})),
        ("account/read", json!({})),
    ] {
        let r = obs.request(method, params).await.unwrap();
        assert!(r.get("result").is_some(), "{method}: {r}");
    }
    for (method, params) in [
        ("thread/start", json!({})),
        (
            "turn/start",
            json!({"threadId": thread, "input": [{"type": "text", "text": "hi"}]}),
        ),
        (
            "thread/name/set",
            json!({"threadId": thread, "name": "mine"}),
        ),
        ("thread/archive", json!({"threadId": thread})),
        ("turn/interrupt", json!({"threadId": thread, "turnId": "t"})),
        ("thread/fork", json!({"threadId": thread})),
    ] {
        let r = obs.request(method, params).await.unwrap();
        assert_eq!(code(&r), -32003, "{method}: {r}");
        assert_eq!(r["error"]["data"]["scope"], "observe", "{r}");
    }
    // The observer is subscribed: it sees what the controller does.
    ctl.call(
        "thread/name/set",
        json!({"threadId": thread, "name": "shared"}),
    )
    .await
    .unwrap();
    let n = obs.wait_for("thread/name/updated").await.unwrap();
    assert_eq!(n["params"]["threadName"], "shared");
    // Nothing the observer tried happened.
    let t = ctl.read_thread(&thread).await.unwrap();
    assert_eq!(t["thread"]["archived"], false);
    let listed = ctl.call("thread/list", json!({})).await.unwrap();
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);

    // The one-time token is not made when tokens exist, and control may not do admin-only
    // things (an unknown method needs admin).
    assert_eq!(d.token(), None);
    let r = ctl.request("no/such/method", json!({})).await.unwrap();
    assert_eq!(code(&r), -32003, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_observer_is_not_asked_and_its_answer_is_ignored() {
    let home = tempfile::tempdir().unwrap();
    let watch = create_token(home.path(), "watch", "observe");
    let drive = create_token(home.path(), "drive", "control");
    let rig = ToolRig::start(
        vec![
            tool_calls(vec![shell_call("c1", &["touch", "x"])]),
            Scripted::responses_text("ok"),
        ],
        Options::default()
            .config_home(home.path())
            .policies("untrusted", "danger-full-access"),
    )
    .await
    .unwrap();
    let mut ctl = connect(&rig.daemon, &drive, "driver").await;
    let thread = rig.thread(&mut ctl).await.unwrap();
    let mut obs = connect(&rig.daemon, &watch, "watcher").await;
    obs.resume(&thread).await.unwrap();

    let turn = ctl.start_turn(&thread, "go").await.unwrap();
    let req = ctl.server_request(COMMAND_APPROVAL).await.unwrap();
    // The observer answers anyway, with every id it could guess.
    for id in 0..4 {
        obs.send_json(&json!({"id": id, "result": {"decision": "accept"}}))
            .unwrap();
    }
    obs.send_json(&json!({"id": req["id"], "result": {"decision": "accept"}}))
        .unwrap();
    // The daemon reads a connection's frames in order: once the observer's next request is
    // answered, its answers before it have been handled.
    let t = obs.read_thread(&thread).await.unwrap();
    assert_eq!(
        t["thread"]["status"]["activeFlags"],
        json!(["waitingOnApproval"]),
        "{t}"
    );
    assert!(!rig.path("x").exists(), "the observer's answer did nothing");

    let events = ctl.decide_and_finish(&req, "accept", &turn).await.unwrap();
    let resolved = of_method(&events, "serverRequest/resolved");
    assert_eq!(resolved[0]["params"]["resolvedBy"]["clientName"], "driver");
    assert!(rig.path("x").exists());

    let seen = obs.until_turn_completed(&turn).await.unwrap();
    assert!(
        !seen.iter().any(|m| m["method"] == COMMAND_APPROVAL),
        "an observer is not asked: {seen:#?}"
    );
}
