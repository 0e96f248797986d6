//! The thread methods of the foundation: `thread/start`, `thread/read`, `thread/archive`,
//! `thread/unarchive`, `thread/unsubscribe` and `thread/name/set` (PROTOCOL.md §4–§6).

use agentd_tests::client::{error_code, seq_of};
use agentd_tests::json::assert_null;
use agentd_tests::{Agentd, Client, Options, TIMEOUT};
use serde_json::{json, Value};

const INVALID_PARAMS: i64 = -32602;
const NOT_FOUND: i64 = -32004;
/// A well-formed id no thread has.
const UNKNOWN_ID: &str = "01900000-0000-7000-8000-000000000000";

/// `thread/name/set`; returns the answer.
async fn set_name(c: &mut Client, id: &str, name: &str) -> Value {
    c.call("thread/name/set", json!({"threadId": id, "name": name}))
        .await
        .unwrap()
}

async fn setup() -> (Agentd, Client, String) {
    let daemon = Agentd::start(Options::default()).await.unwrap();
    let mut c = daemon.client("owner").await.unwrap();
    let id = c.start_thread(json!({})).await.unwrap();
    (daemon, c, id)
}

/// The fields §4 requires of every Thread.
fn assert_thread_shape(t: &Value) {
    for key in [
        "id",
        "sessionId",
        "preview",
        "cwd",
        "modelProvider",
        "model",
        "createdAt",
        "updatedAt",
        "ephemeral",
        "cliVersion",
        "source",
        "projectId",
        "archived",
        "status",
        "lastSeq",
        "turns",
    ] {
        assert!(t.get(key).is_some(), "thread without `{key}`: {t}");
    }
    assert!(t["id"].is_string(), "{t}");
    assert_eq!(t["source"], "appServer", "{t}");
    assert_null(t, "projectId");
    assert_eq!(t["cliVersion"], env!("CARGO_PKG_VERSION"), "{t}");
    assert!(t["createdAt"].is_i64() && t["updatedAt"].is_i64(), "{t}");
    assert!(t["lastSeq"].is_u64(), "{t}");
    assert!(t["turns"].is_array(), "{t}");
}

// ---- thread/start ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_answers_then_sends_thread_started_with_seq_1() {
    let daemon = Agentd::start(Options::default()).await.unwrap();
    let mut c = daemon.client("c").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path().canonicalize().unwrap().display().to_string();
    let rid = c.send_request("thread/start", json!({"cwd": cwd})).unwrap();
    let answer = c.next_message(TIMEOUT).await.unwrap();
    assert_eq!(
        answer["id"], rid,
        "the answer comes before the event: {answer}"
    );
    let r = &answer["result"];
    let t = &r["thread"];
    assert_thread_shape(t);
    let id = t["id"].as_str().unwrap();
    assert_eq!(t["sessionId"], id);
    assert_eq!(t["cwd"], cwd);
    assert_eq!(r["cwd"], cwd);
    assert_eq!(t["archived"], false);
    assert_eq!(t["ephemeral"], false);
    assert_eq!(t["lastSeq"], 1);
    assert_eq!(t["turns"], json!([]));
    assert_eq!(t["status"], json!({"type": "idle"}));
    assert_eq!(r["model"], t["model"]);
    assert_eq!(r["modelProvider"], t["modelProvider"]);
    assert_eq!(r["approvalsReviewer"], "user");
    assert!(r["approvalPolicy"].is_string(), "{r}");
    assert!(r["sandbox"]["type"].is_string(), "{r}");

    let ev = c.next_message(TIMEOUT).await.unwrap();
    assert_eq!(ev["method"], "thread/started", "{ev}");
    assert_eq!(ev["params"]["thread"]["id"], id);
    assert_eq!(ev["params"]["thread"]["cwd"], cwd);
    assert_eq!(seq_of(&ev), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_with_a_missing_cwd_is_invalid_params_naming_cwd() {
    let daemon = Agentd::start(Options::default()).await.unwrap();
    let mut c = daemon.client("c").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("does-not-exist");
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a directory").unwrap();
    for cwd in [missing, file] {
        let m = c
            .request("thread/start", json!({"cwd": cwd.display().to_string()}))
            .await
            .unwrap();
        assert_eq!(error_code(&m), Some(INVALID_PARAMS), "{m}");
        assert_eq!(m["error"]["data"]["field"], "cwd", "{m}");
    }
    // Nothing was created.
    let r = c.call("thread/list", json!({})).await.unwrap();
    assert_eq!(r["data"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_with_null_cwd_and_codex_extra_fields_succeeds() {
    let daemon = Agentd::start(Options::default()).await.unwrap();
    let mut c = daemon.client("codex-tui").await.unwrap();
    // Verbatim from the recorded Codex TUI session: `cwd: null`, `sandbox: "read-only"` and many
    // fields agentd does not know.
    let request = include_str!("../fixtures/codex-thread-start.json").trim();
    let sent: Value = serde_json::from_str(request).unwrap();
    assert_null(&sent["params"], "cwd");
    c.send_raw(request).unwrap();
    let answer = c.response(&sent["id"]).await.unwrap();
    let r = answer
        .get("result")
        .unwrap_or_else(|| panic!("thread/start failed: {answer}"));
    assert_thread_shape(&r["thread"]);
    // `cwd: null` is the daemon's default workspace: its own working directory, which it
    // inherited from this test.
    let default_cwd = std::env::current_dir().unwrap().display().to_string();
    assert_eq!(r["cwd"], default_cwd);
    assert_eq!(r["thread"]["cwd"], default_cwd);
    assert_eq!(
        r["sandbox"],
        json!({"type": "readOnly", "networkAccess": false})
    );
    assert_eq!(r["thread"]["ephemeral"], false);
    let id = r["thread"]["id"].as_str().unwrap();
    let ev = c.wait_for("thread/started").await.unwrap();
    assert_eq!(ev["params"]["thread"]["id"], id);
    let listed = c.call("thread/list", json!({})).await.unwrap();
    assert_eq!(listed["data"][0]["id"], id);
}

// ---- thread/read ----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_returns_the_thread_with_and_without_turns_and_does_not_subscribe() {
    let (daemon, mut owner, id) = setup().await;
    set_name(&mut owner, &id, "named").await;

    let mut reader = daemon.client("reader").await.unwrap();
    let plain = reader
        .call("thread/read", json!({"threadId": id}))
        .await
        .unwrap();
    let with_turns = reader
        .call("thread/read", json!({"threadId": id, "includeTurns": true}))
        .await
        .unwrap();
    let without_turns = reader
        .call(
            "thread/read",
            json!({"threadId": id, "includeTurns": false}),
        )
        .await
        .unwrap();
    for r in [&plain, &with_turns, &without_turns] {
        let t = &r["thread"];
        assert_thread_shape(t);
        assert_eq!(t["id"], id);
        assert_eq!(t["name"], "named");
        assert_eq!(t["lastSeq"], 2);
        assert_eq!(t["archived"], false);
        assert_eq!(t["status"], json!({"type": "idle"}));
        // No turn has run on this thread.
        assert_eq!(t["turns"], json!([]));
    }
    assert_eq!(plain, without_turns);
    assert_eq!(plain, with_turns);

    // Reading did not subscribe: a later change reaches the owner but not the reader.
    set_name(&mut owner, &id, "renamed").await;
    let got = owner.thread_events(&id, 3).await.unwrap();
    assert_eq!(got.last().and_then(seq_of), Some(3));
    let rid = reader.send_request("thread/list", json!({})).unwrap();
    let next = reader.next_message(TIMEOUT).await.unwrap();
    assert_eq!(next["id"], rid, "the reader got an event: {next}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_of_an_unknown_thread_is_not_found() {
    let (_daemon, mut c, _id) = setup().await;
    for params in [
        json!({"threadId": UNKNOWN_ID}),
        json!({"threadId": UNKNOWN_ID, "includeTurns": true}),
        json!({"threadId": "not-even-a-uuid"}),
    ] {
        let m = c.request("thread/read", params).await.unwrap();
        assert_eq!(error_code(&m), Some(NOT_FOUND), "{m}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_thread_method_on_an_unknown_thread_is_not_found() {
    let (daemon, mut c, _id) = setup().await;
    for (method, params) in [
        ("thread/resume", json!({"threadId": UNKNOWN_ID})),
        (
            "thread/resume",
            json!({"threadId": UNKNOWN_ID, "afterSeq": 0}),
        ),
        ("thread/archive", json!({"threadId": UNKNOWN_ID})),
        ("thread/unarchive", json!({"threadId": UNKNOWN_ID})),
        ("thread/unsubscribe", json!({"threadId": UNKNOWN_ID})),
        (
            "thread/name/set",
            json!({"threadId": UNKNOWN_ID, "name": "x"}),
        ),
    ] {
        let m = c.request(method, params).await.unwrap();
        assert_eq!(error_code(&m), Some(NOT_FOUND), "{method}: {m}");
    }
    // The failed resume left no phantom thread behind.
    let r = c.call("thread/list", json!({})).await.unwrap();
    assert_eq!(r["data"].as_array().unwrap().len(), 1);
    let mut other = daemon.client("other").await.unwrap();
    let m = other
        .request("thread/read", json!({"threadId": UNKNOWN_ID}))
        .await
        .unwrap();
    assert_eq!(error_code(&m), Some(NOT_FOUND), "{m}");
}

// ---- thread/archive, thread/unarchive ---------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_and_unarchive_emit_events_and_unarchive_returns_the_thread() {
    let (daemon, mut owner, id) = setup().await;
    let mut watcher = daemon.subscriber("watcher", &id).await.unwrap();

    let r = owner
        .call("thread/archive", json!({"threadId": id}))
        .await
        .unwrap();
    assert_eq!(r, json!({}));
    let read = owner.read_thread(&id).await.unwrap();
    assert_eq!(read["thread"]["archived"], true);
    assert_eq!(read["thread"]["lastSeq"], 2);

    let r = owner
        .call("thread/unarchive", json!({"threadId": id}))
        .await
        .unwrap();
    assert_thread_shape(&r["thread"]);
    assert_eq!(r["thread"]["id"], id);
    assert_eq!(r["thread"]["archived"], false);
    assert_eq!(r["thread"]["lastSeq"], 3);

    let expected = vec![
        json!({"jsonrpc": "2.0", "method": "thread/archived", "params": {"threadId": id, "seq": 2}}),
        json!({"jsonrpc": "2.0", "method": "thread/unarchived", "params": {"threadId": id, "seq": 3}}),
    ];
    assert_eq!(owner.thread_events(&id, 3).await.unwrap(), expected);
    assert_eq!(watcher.thread_events(&id, 3).await.unwrap(), expected);
}

// ---- thread/unsubscribe -----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsubscribe_stops_events_and_reports_whether_it_was_subscribed() {
    let (daemon, mut owner, id) = setup().await;
    let mut leaver = daemon.subscriber("leaver", &id).await.unwrap();
    set_name(&mut owner, &id, "while subscribed").await;
    let got = leaver.thread_events(&id, 2).await.unwrap();
    assert_eq!(got.len(), 1);

    let r = leaver
        .call("thread/unsubscribe", json!({"threadId": id}))
        .await
        .unwrap();
    assert_eq!(r, json!({"status": "unsubscribed"}));
    let r = leaver
        .call("thread/unsubscribe", json!({"threadId": id}))
        .await
        .unwrap();
    assert_eq!(r, json!({"status": "notSubscribed"}));

    // Events after unsubscribing reach the owner but not the leaver. The owner's answer is sent
    // after the event was offered to every subscriber, so a stray event would reach the leaver
    // before the answer to its next request.
    set_name(&mut owner, &id, "after").await;
    owner
        .call("thread/archive", json!({"threadId": id}))
        .await
        .unwrap();
    let at_owner = owner.thread_events(&id, 4).await.unwrap();
    assert_eq!(at_owner.last().and_then(seq_of), Some(4));
    let rid = leaver.send_request("thread/list", json!({})).unwrap();
    let next = leaver.next_message(TIMEOUT).await.unwrap();
    assert_eq!(
        next["id"], rid,
        "an event reached an unsubscribed client: {next}"
    );

    // A client that never subscribed is `notSubscribed`.
    let mut stranger = daemon.client("stranger").await.unwrap();
    let r = stranger
        .call("thread/unsubscribe", json!({"threadId": id}))
        .await
        .unwrap();
    assert_eq!(r, json!({"status": "notSubscribed"}));
}

// ---- thread/name/set ------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn name_set_emits_name_updated_with_seq_and_is_read_back() {
    let (daemon, mut owner, id) = setup().await;
    let mut watcher = daemon.subscriber("watcher", &id).await.unwrap();
    for name in ["first", "second name", "ünïcödé ✓"] {
        assert_eq!(set_name(&mut owner, &id, name).await, json!({}));
    }
    let expected: Vec<Value> = ["first", "second name", "ünïcödé ✓"]
        .iter()
        .enumerate()
        .map(|(i, name)| {
            json!({"jsonrpc": "2.0", "method": "thread/name/updated",
                   "params": {"threadId": id, "threadName": name, "seq": i + 2}})
        })
        .collect();
    assert_eq!(owner.thread_events(&id, 4).await.unwrap(), expected);
    assert_eq!(watcher.thread_events(&id, 4).await.unwrap(), expected);

    let read = owner.read_thread(&id).await.unwrap();
    assert_eq!(read["thread"]["name"], "ünïcödé ✓");
    assert_eq!(read["thread"]["lastSeq"], 4);
    let listed = owner.call("thread/list", json!({})).await.unwrap();
    assert_eq!(listed["data"][0]["name"], "ünïcödé ✓");
}
