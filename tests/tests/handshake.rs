//! The `initialize` handshake over stdio and WebSocket (PROTOCOL.md §3), and that stdout carries
//! only protocol messages (§1).

use std::path::Path;

use agentd_tests::client::{error_code, event_thread_id};
use agentd_tests::{Agentd, Client, Options, StdioAgentd, TIMEOUT};
use serde_json::{json, Value};

/// Checks every field §3 promises in the `initialize` result.
fn assert_initialize_result(r: &Value) {
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(r["serverInfo"]["name"], "agentd", "{r}");
    assert_eq!(r["serverInfo"]["version"], version, "{r}");
    assert_eq!(r["protocolVersion"], "1", "{r}");
    assert_eq!(r["platformFamily"], std::env::consts::FAMILY, "{r}");
    assert_eq!(r["platformOs"], std::env::consts::OS, "{r}");
    let ua = r["userAgent"].as_str().expect("userAgent is a string");
    assert!(
        ua.starts_with(&format!("agentd/{version}")),
        "userAgent {ua:?}"
    );
    // The harness points XDG_CONFIG_HOME at `<temp>/config`; agentd's config dir is `agentd` in it.
    let home = r["codexHome"].as_str().expect("codexHome is a string");
    assert!(Path::new(home).is_absolute(), "codexHome {home:?}");
    assert!(home.ends_with("/config/agentd"), "codexHome {home:?}");
}

/// A message is a JSON-RPC 2.0 response (id + exactly one of result/error) or notification.
fn assert_json_rpc(m: &Value) {
    assert_eq!(m["jsonrpc"], "2.0", "{m}");
    let obj = m.as_object().expect("a JSON object");
    if obj.contains_key("method") {
        assert!(m["method"].is_string(), "{m}");
        assert!(
            !obj.contains_key("result") && !obj.contains_key("error"),
            "{m}"
        );
    } else {
        assert!(obj.contains_key("id"), "{m}");
        assert!(
            obj.contains_key("result") ^ obj.contains_key("error"),
            "a response has exactly one of result and error: {m}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_initialize_returns_the_server_identity() {
    let daemon = Agentd::start(Options::default()).await.unwrap();
    let mut c = daemon.raw_client().await.unwrap();
    let resp = c
        .request(
            "initialize",
            json!({"clientInfo": {"name": "handshake-test", "title": "T", "version": "1.2.3"}}),
        )
        .await
        .unwrap();
    assert_json_rpc(&resp);
    assert_eq!(resp["id"], 1);
    assert_initialize_result(&resp["result"]);
    c.send_json(&json!({"jsonrpc": "2.0", "method": "initialized"}))
        .unwrap();
    // The `initialized` notification gets no answer: the next message is the list's answer.
    let id = c.send_request("thread/list", json!({})).unwrap();
    let next = c.next_message(TIMEOUT).await.unwrap();
    assert_eq!(next["id"], id, "{next}");
    assert_eq!(next["result"]["data"], json!([]), "{next}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_style_initialize_with_string_id_and_no_jsonrpc_field() {
    let daemon = Agentd::start(Options::default()).await.unwrap();
    let mut c = daemon.raw_client().await.unwrap();
    // Verbatim from the recorded Codex TUI session.
    c.send_raw(
        r#"{"id": "initialize", "method": "initialize", "params": {"clientInfo": {"name": "codex-tui", "title": null, "version": "0.169.0"}, "capabilities": {"requiredHumanApproval": true, "experimentalApi": true, "requestAttestation": false, "optOutNotificationMethods": null}}}"#,
    )
    .unwrap();
    let resp = c.next_message(TIMEOUT).await.unwrap();
    assert_json_rpc(&resp);
    assert_eq!(resp["id"], "initialize", "{resp}");
    assert_initialize_result(&resp["result"]);
    c.send_raw(r#"{"method": "initialized"}"#).unwrap();
    let resp = c
        .request_with_id(json!(1), "account/read", json!({}))
        .await
        .unwrap();
    assert_eq!(
        resp["result"],
        json!({"account": null, "requiresOpenaiAuth": false})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_initialize_returns_the_server_identity_and_stdout_is_only_protocol() {
    // Debug logging on, so that a log line leaking to stdout would show up.
    let mut opts = Options::default();
    opts.env.push(("RUST_LOG".into(), "debug".into()));
    let d = StdioAgentd::start(opts).await.unwrap();
    let (mut client, mut child) = (d.client, d.child);

    let resp = client
        .request(
            "initialize",
            json!({"clientInfo": {"name": "stdio-test", "version": "0.0.1"}}),
        )
        .await
        .unwrap();
    assert_json_rpc(&resp);
    assert_initialize_result(&resp["result"]);
    client
        .send_json(&json!({"jsonrpc": "2.0", "method": "initialized"}))
        .unwrap();

    // Exercise a little of everything that writes: answers, events, errors.
    let id = client.start_thread(json!({})).await.unwrap();
    client
        .call("thread/name/set", json!({"threadId": id, "name": "hello"}))
        .await
        .unwrap();
    let listed = client.call("thread/list", json!({})).await.unwrap();
    assert_eq!(listed["data"][0]["id"], id);
    let unknown = client.request("no/such/method", json!({})).await.unwrap();
    assert_eq!(error_code(&unknown), Some(-32601));
    client.send_raw("{oops").unwrap();
    // Answered after the parse error, so everything has been written before stdin closes.
    client.call("thread/list", json!({})).await.unwrap();

    // Closing stdin ends the daemon; everything it wrote to stdout must be protocol.
    client.close();
    let rest = client.read_until_closed(TIMEOUT).await.unwrap();
    let methods: Vec<&str> = rest.iter().filter_map(|m| m["method"].as_str()).collect();
    assert_eq!(
        methods,
        vec!["thread/name/updated"],
        "unexpected messages: {rest:?}"
    );
    assert_eq!(event_thread_id(&rest[0]), Some(id.as_str()));
    let parse_error = rest.last().unwrap();
    assert_eq!(error_code(parse_error), Some(-32700), "{parse_error}");
    for m in &rest {
        assert_json_rpc(m);
    }
    let status = tokio::time::timeout(TIMEOUT, child.wait())
        .await
        .expect("agentd exits when stdin closes")
        .unwrap();
    assert!(status.success(), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opted_out_notification_methods_are_not_sent() {
    let daemon = Agentd::start(Options::default()).await.unwrap();
    let mut writer = daemon.client("writer").await.unwrap();
    let id = writer.start_thread(json!({})).await.unwrap();

    let mut quiet = Client::connect_ws(&daemon.url).await.unwrap();
    quiet
        .call(
            "initialize",
            json!({"clientInfo": {"name": "quiet", "version": "1"},
                   "capabilities": {"optOutNotificationMethods": ["thread/name/updated"]}}),
        )
        .await
        .unwrap();
    quiet
        .call("thread/resume", json!({"threadId": id}))
        .await
        .unwrap();

    writer
        .call("thread/name/set", json!({"threadId": id, "name": "one"}))
        .await
        .unwrap();
    writer
        .call("thread/archive", json!({"threadId": id}))
        .await
        .unwrap();
    // The rename (seq 2) is left out; the archive (seq 3) arrives.
    let got = quiet.thread_events(&id, 3).await.unwrap();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["method"], "thread/archived");
    assert_eq!(got[0]["params"]["seq"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_answers_every_request_sent_before_stdin_closes() {
    // `printf '...' | agentd`: the requests and the end of input arrive together, and every
    // request must still be answered before the daemon exits.
    const REQUESTS: i64 = 20;
    let d = StdioAgentd::start(Options::default()).await.unwrap();
    let (mut client, mut child) = (d.client, d.child);
    client
        .send_json(&json!({"id": 0, "method": "initialize",
                           "params": {"clientInfo": {"name": "pipe", "version": "1"}}}))
        .unwrap();
    client.send_json(&json!({"method": "initialized"})).unwrap();
    for id in 1..=REQUESTS {
        client
            .send_json(&json!({"id": id, "method": "thread/list", "params": {}}))
            .unwrap();
    }
    client.send_raw("{oops").unwrap();
    client.close();
    let got = client.read_until_closed(TIMEOUT).await.unwrap();
    // Request answers in request order; the parse error (answered without queueing) anywhere.
    let ids: Vec<Value> = got
        .iter()
        .filter_map(|m| m.get("id").filter(|id| !id.is_null()).cloned())
        .collect();
    let expected: Vec<Value> = (0..=REQUESTS).map(Value::from).collect();
    assert_eq!(ids, expected, "answers lost at exit: {got:?}");
    // Answered with `"id": null` (present, not just indexing as null).
    let parse_errors: Vec<&Value> = got
        .iter()
        .filter(|m| m.get("id") == Some(&Value::Null))
        .collect();
    assert_eq!(parse_errors.len(), 1, "{got:?}");
    assert_eq!(error_code(parse_errors[0]), Some(-32700));
    let status = tokio::time::timeout(TIMEOUT, child.wait())
        .await
        .expect("agentd exits when stdin closes")
        .unwrap();
    assert!(status.success(), "{status}");
}
