//! Every way a message can be wrong gets its JSON-RPC answer (PROTOCOL.md §1–§2), and the daemon
//! keeps serving: the same connection still works, and so does every other connection.
//!
//! Each case is its own test, over WebSocket, and the key ones over stdio too.

use agentd_tests::client::error_code;
use agentd_tests::{Agentd, Client, Options, StdioAgentd, TIMEOUT};
use serde_json::{json, Value};

const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;
const NOT_INITIALIZED: i64 = -32002;

/// A daemon with two initialized WebSocket clients: `a` misbehaves, `b` is a bystander.
struct Ws {
    daemon: Agentd,
    a: Client,
    b: Client,
}

async fn ws(opts: Options) -> Ws {
    let daemon = Agentd::start(opts).await.unwrap();
    let a = daemon.client("a").await.unwrap();
    let b = daemon.client("b").await.unwrap();
    Ws { daemon, a, b }
}

impl Ws {
    /// The misbehaving connection, the bystander and the daemon all still work.
    async fn assert_still_serving(mut self) {
        assert_serves(&mut self.a).await;
        assert_serves(&mut self.b).await;
        let mut fresh = self.daemon.client("fresh").await.unwrap();
        assert_serves(&mut fresh).await;
        assert!(self.daemon.is_running());
    }
}

async fn stdio(opts: Options) -> StdioAgentd {
    let mut d = StdioAgentd::start(opts).await.unwrap();
    d.client.initialize("stdio").await.unwrap();
    d
}

async fn assert_stdio_still_serving(mut d: StdioAgentd) {
    assert_serves(&mut d.client).await;
    assert!(
        matches!(d.child.try_wait(), Ok(None)),
        "agentd exited on client input"
    );
}

/// A `thread/list` round trip whose answer is the very next message.
async fn assert_serves(c: &mut Client) {
    let id = c.send_request("thread/list", json!({})).unwrap();
    let m = c.next_message(TIMEOUT).await.unwrap();
    assert_eq!(m["id"], id, "expected the thread/list answer, got {m}");
    assert!(m["result"]["data"].is_array(), "{m}");
}

/// Sends `text` as one frame and returns the next message, which must be its answer.
async fn answer(c: &mut Client, text: &str) -> Value {
    c.send_raw(text).unwrap();
    let m = c.next_message(TIMEOUT).await.unwrap();
    if m.is_object() {
        assert_eq!(m["jsonrpc"], "2.0", "{m}");
    }
    m
}

/// Asserts an error answer's code and id (`Value::Null` for "could not be read").
fn assert_error(m: &Value, code: i64, id: Value) {
    assert_eq!(error_code(m), Some(code), "{m}");
    assert_eq!(m.get("id"), Some(&id), "{m}");
    assert!(m["error"]["message"].is_string(), "{m}");
    assert!(m.get("result").is_none(), "{m}");
}

fn invalid_params_field(m: &Value) -> &str {
    assert_eq!(error_code(m), Some(INVALID_PARAMS), "{m}");
    m["error"]["data"]["field"]
        .as_str()
        .unwrap_or_else(|| panic!("-32602 without data.field: {m}"))
}

// ---- malformed JSON -------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_json_is_a_parse_error_with_null_id_and_the_connection_stays_open() {
    let mut f = ws(Options::default()).await;
    let m = answer(
        &mut f.a,
        r#"{"jsonrpc":"2.0","id":1,"method":"thread/list""#,
    )
    .await;
    assert_error(&m, PARSE_ERROR, Value::Null);
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_invalid_json_is_a_parse_error_with_null_id() {
    let mut d = stdio(Options::default()).await;
    let m = answer(&mut d.client, "{not json at all").await;
    assert_error(&m, PARSE_ERROR, Value::Null);
    assert_stdio_still_serving(d).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_nesting_is_a_parse_error_and_the_daemon_keeps_serving() {
    let mut f = ws(Options::default()).await;
    let deep = "[".repeat(10_000);
    let m = answer(&mut f.a, &deep).await;
    assert_error(&m, PARSE_ERROR, Value::Null);
    // Balanced, and hidden inside an otherwise valid request.
    let nested = format!(
        r#"{{"id":1,"method":"thread/list","params":{{"x":{}{}}}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let m = answer(&mut f.a, &nested).await;
    assert_error(&m, PARSE_ERROR, Value::Null);
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_deep_nesting_is_a_parse_error() {
    let mut d = stdio(Options::default()).await;
    let m = answer(&mut d.client, &"{\"a\":".repeat(10_000)).await;
    assert_error(&m, PARSE_ERROR, Value::Null);
    assert_stdio_still_serving(d).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_a_line_that_is_not_utf8_is_a_parse_error() {
    let mut d = stdio(Options::default()).await;
    d.client
        .send_binary(b"{\"id\":1,\"method\":\"\xff\xfe\"}".to_vec())
        .unwrap();
    let m = d.client.next_message(TIMEOUT).await.unwrap();
    assert_error(&m, PARSE_ERROR, Value::Null);
    assert_stdio_still_serving(d).await;
}

// ---- not a request object -------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_number_is_not_a_request() {
    let mut f = ws(Options::default()).await;
    let m = answer(&mut f.a, "42").await;
    assert_error(&m, INVALID_REQUEST, Value::Null);
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_string_is_not_a_request() {
    let mut f = ws(Options::default()).await;
    let m = answer(&mut f.a, r#""x""#).await;
    assert_error(&m, INVALID_REQUEST, Value::Null);
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn null_and_booleans_are_not_requests() {
    let mut f = ws(Options::default()).await;
    for text in ["null", "true", "false"] {
        let m = answer(&mut f.a, text).await;
        assert_error(&m, INVALID_REQUEST, Value::Null);
    }
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_a_non_object_is_not_a_request() {
    let mut d = stdio(Options::default()).await;
    let m = answer(&mut d.client, "42").await;
    assert_error(&m, INVALID_REQUEST, Value::Null);
    let m = answer(&mut d.client, r#""x""#).await;
    assert_error(&m, INVALID_REQUEST, Value::Null);
    assert_stdio_still_serving(d).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_without_method_is_invalid_and_the_readable_id_is_echoed() {
    let mut f = ws(Options::default()).await;
    let m = answer(&mut f.a, r#"{"jsonrpc":"2.0","id":7,"params":{}}"#).await;
    assert_error(&m, INVALID_REQUEST, json!(7));
    let m = answer(&mut f.a, r#"{"jsonrpc":"2.0","id":"seven"}"#).await;
    assert_error(&m, INVALID_REQUEST, json!("seven"));
    let m = answer(&mut f.a, r#"{"jsonrpc":"2.0","params":{}}"#).await;
    assert_error(&m, INVALID_REQUEST, Value::Null);
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_a_message_without_method_is_invalid() {
    let mut d = stdio(Options::default()).await;
    let m = answer(&mut d.client, r#"{"id":7}"#).await;
    assert_error(&m, INVALID_REQUEST, json!(7));
    assert_stdio_still_serving(d).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_method_that_is_not_a_string_is_invalid() {
    let mut f = ws(Options::default()).await;
    let m = answer(&mut f.a, r#"{"id":3,"method":7}"#).await;
    assert_error(&m, INVALID_REQUEST, json!(3));
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_that_is_neither_string_nor_integer_is_invalid() {
    let mut f = ws(Options::default()).await;
    for id in ["1.5", "{\"a\":1}", "[1]", "true"] {
        let text = format!(r#"{{"id":{id},"method":"thread/list","params":{{}}}}"#);
        let m = answer(&mut f.a, &text).await;
        assert_error(&m, INVALID_REQUEST, Value::Null);
    }
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn params_that_are_neither_object_nor_array_are_invalid() {
    let mut f = ws(Options::default()).await;
    let m = answer(&mut f.a, r#"{"id":4,"method":"thread/list","params":3}"#).await;
    assert_error(&m, INVALID_REQUEST, json!(4));
    let m = answer(&mut f.a, r#"{"id":5,"method":"thread/list","params":"x"}"#).await;
    assert_error(&m, INVALID_REQUEST, json!(5));
    f.assert_still_serving().await;
}

// ---- unknown methods ------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_method_is_method_not_found() {
    let mut f = ws(Options::default()).await;
    let m = answer(
        &mut f.a,
        r#"{"jsonrpc":"2.0","id":11,"method":"no/such/method"}"#,
    )
    .await;
    assert_error(&m, METHOD_NOT_FOUND, json!(11));
    let m = answer(
        &mut f.a,
        r#"{"jsonrpc":"2.0","id":"x-12","method":"","params":{}}"#,
    )
    .await;
    assert_error(&m, METHOD_NOT_FOUND, json!("x-12"));
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_an_unknown_method_is_method_not_found() {
    let mut d = stdio(Options::default()).await;
    let m = answer(&mut d.client, r#"{"id":11,"method":"no/such/method"}"#).await;
    assert_error(&m, METHOD_NOT_FOUND, json!(11));
    assert_stdio_still_serving(d).await;
}

/// Codex requests agentd does not implement: the two of
/// `shared/reference/codex-app-server/tui-client-session.ndjson` that are still unanswered,
/// verbatim (no `"jsonrpc"`, string ids), and methods of Codex's `ClientRequest.json` agentd
/// does not serve, in Codex's shapes. (The TUI's skills, plugins, collaboration modes and loaded
/// threads are answered now: `codex_surface.rs`.)
const CODEX_ONLY_REQUESTS: &[&str] = &[
    r#"{"id": "097bd3fd-6328-4edb-adde-20d2af7ce287", "method": "account/bedrock/checkGovCloudRequirements", "params": {}}"#,
    r#"{"id": "18aa8104-b738-4ed6-ba43-264fbe2e1e80", "method": "thread/readState/update", "params": {"threadId": "01a20a1f-9940-7d20-9102-536f953a2322", "operation": {"type": "read"}, "expectedRevision": "52134fdb-431b-4fdf-9966-cf1b4f6edab6"}}"#,
    r#"{"id": "fuzzy-1", "method": "fuzzyFileSearch", "params": {"query": "main", "roots": ["/home/user/project"], "cancellationToken": null}}"#,
    r#"{"id": 5, "method": "thread/goal/set", "params": {"threadId": "01a20a1f-9940-7d20-9102-536f953a2322", "objective": "ship it"}}"#,
    r#"{"id": "review-1", "method": "review/start", "params": {"threadId": "01a20a1f-9940-7d20-9102-536f953a2322", "target": {"type": "uncommittedChanges"}}}"#,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_only_methods_each_get_method_not_found_never_silence() {
    let mut f = ws(Options::default()).await;
    // All at once, as the TUI does, then every answer in order.
    for text in CODEX_ONLY_REQUESTS {
        f.a.send_raw(*text).unwrap();
    }
    for text in CODEX_ONLY_REQUESTS {
        let sent: Value = serde_json::from_str(text).unwrap();
        let m = f.a.next_message(TIMEOUT).await.unwrap();
        assert_error(&m, METHOD_NOT_FOUND, sent["id"].clone());
    }
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_codex_only_methods_each_get_method_not_found() {
    let mut d = stdio(Options::default()).await;
    for text in CODEX_ONLY_REQUESTS {
        let sent: Value = serde_json::from_str(text).unwrap();
        let m = answer(&mut d.client, text).await;
        assert_error(&m, METHOD_NOT_FOUND, sent["id"].clone());
    }
    assert_stdio_still_serving(d).await;
}

// ---- invalid params -------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thread_list_limit_of_the_wrong_type_names_limit() {
    let mut f = ws(Options::default()).await;
    let m =
        f.a.request("thread/list", json!({"limit": "x"}))
            .await
            .unwrap();
    assert_eq!(invalid_params_field(&m), "limit");
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thread_list_archived_of_the_wrong_type_names_archived() {
    let mut f = ws(Options::default()).await;
    let m =
        f.a.request("thread/list", json!({"archived": "yes"}))
            .await
            .unwrap();
    assert_eq!(invalid_params_field(&m), "archived");
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thread_read_without_thread_id_names_thread_id() {
    let mut f = ws(Options::default()).await;
    let m = f.a.request("thread/read", json!({})).await.unwrap();
    assert_eq!(invalid_params_field(&m), "threadId");
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thread_read_with_a_numeric_thread_id_names_thread_id() {
    let mut f = ws(Options::default()).await;
    let m =
        f.a.request("thread/read", json!({"threadId": 12}))
            .await
            .unwrap();
    assert_eq!(invalid_params_field(&m), "threadId");
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thread_start_ephemeral_of_the_wrong_type_names_ephemeral() {
    let mut f = ws(Options::default()).await;
    let m =
        f.a.request("thread/start", json!({"ephemeral": "no"}))
            .await
            .unwrap();
    assert_eq!(invalid_params_field(&m), "ephemeral");
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thread_start_and_resume_override_fields_of_the_wrong_type_are_named() {
    let mut f = ws(Options::default()).await;
    let id = f.a.start_thread(json!({})).await.unwrap();
    for (method, params, field) in [
        ("thread/start", json!({"cwd": 5}), "cwd"),
        ("thread/start", json!({"sandbox": "bogus"}), "sandbox"),
        (
            "thread/start",
            json!({"approvalPolicy": 3}),
            "approvalPolicy",
        ),
        ("thread/start", json!({"model": ["m"]}), "model"),
        ("thread/resume", json!({"threadId": id, "cwd": 5}), "cwd"),
    ] {
        let m = f.a.request(method, params).await.unwrap();
        assert_eq!(invalid_params_field(&m), field, "{method}: {m}");
    }
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thread_resume_after_seq_of_the_wrong_type_names_after_seq() {
    let mut f = ws(Options::default()).await;
    let id = f.a.start_thread(json!({})).await.unwrap();
    let m =
        f.a.request("thread/resume", json!({"threadId": id, "afterSeq": "zero"}))
            .await
            .unwrap();
    assert_eq!(invalid_params_field(&m), "afterSeq");
    let m =
        f.a.request("thread/resume", json!({"threadId": id, "afterSeq": -1}))
            .await
            .unwrap();
    assert_eq!(invalid_params_field(&m), "afterSeq");
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thread_name_set_with_a_numeric_name_names_name() {
    let mut f = ws(Options::default()).await;
    let id = f.a.start_thread(json!({})).await.unwrap();
    let m =
        f.a.request("thread/name/set", json!({"threadId": id, "name": 3}))
            .await
            .unwrap();
    assert_eq!(invalid_params_field(&m), "name");
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initialize_without_client_info_names_client_info_and_does_not_count() {
    let f = ws(Options::default()).await;
    let mut c = f.daemon.raw_client().await.unwrap();
    let m = c.request("initialize", json!({})).await.unwrap();
    assert_eq!(invalid_params_field(&m), "clientInfo");
    // The failed initialize did not initialize the connection.
    let m = c.request("thread/list", json!({})).await.unwrap();
    assert_eq!(error_code(&m), Some(NOT_INITIALIZED), "{m}");
    c.initialize("second-try").await.unwrap();
    assert_serves(&mut c).await;
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_invalid_params_name_the_field() {
    let mut d = stdio(Options::default()).await;
    let m = d
        .client
        .request("thread/list", json!({"limit": "x"}))
        .await
        .unwrap();
    assert_eq!(invalid_params_field(&m), "limit");
    let m = d.client.request("thread/read", json!({})).await.unwrap();
    assert_eq!(invalid_params_field(&m), "threadId");
    assert_stdio_still_serving(d).await;
}

// ---- handshake order ------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_before_initialize_is_not_initialized() {
    let mut f = ws(Options::default()).await;
    let mut c = f.daemon.raw_client().await.unwrap();
    for method in [
        "thread/list",
        "thread/start",
        "account/read",
        "no/such/method",
    ] {
        let id = c.send_request(method, json!({})).unwrap();
        let m = c.next_message(TIMEOUT).await.unwrap();
        assert_error(&m, NOT_INITIALIZED, json!(id));
    }
    // A notification before initialize gets no answer either.
    c.send_json(&json!({"method": "initialized"})).unwrap();
    // Nothing was started by the refused thread/start.
    let listed = f.b.call("thread/list", json!({})).await.unwrap();
    assert_eq!(listed["data"], json!([]));
    let id = c
        .send_request(
            "initialize",
            json!({"clientInfo": {"name": "late", "version": "1"}}),
        )
        .unwrap();
    let m = c.next_message(TIMEOUT).await.unwrap();
    assert_eq!(m["id"], id, "{m}");
    assert_eq!(m["result"]["serverInfo"]["name"], "agentd", "{m}");
    assert_serves(&mut c).await;
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_a_request_before_initialize_is_not_initialized() {
    let mut d = StdioAgentd::start(Options::default()).await.unwrap();
    let m = d.client.request("thread/list", json!({})).await.unwrap();
    assert_error(&m, NOT_INITIALIZED, m["id"].clone());
    d.client.initialize("late").await.unwrap();
    assert_stdio_still_serving(d).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_initialize_is_rejected_and_the_connection_stays_usable() {
    let mut f = ws(Options::default()).await;
    let m =
        f.a.request(
            "initialize",
            json!({"clientInfo": {"name": "again", "version": "1"}}),
        )
        .await
        .unwrap();
    assert_error(&m, NOT_INITIALIZED, m["id"].clone());
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_a_second_initialize_is_rejected() {
    let mut d = stdio(Options::default()).await;
    let m = d
        .client
        .request(
            "initialize",
            json!({"clientInfo": {"name": "again", "version": "1"}}),
        )
        .await
        .unwrap();
    assert_error(&m, NOT_INITIALIZED, m["id"].clone());
    assert_stdio_still_serving(d).await;
}

// ---- frame limits ---------------------------------------------------------------------------

/// A valid `thread/list` request of about `len` bytes.
fn request_of_size(id: i64, len: usize) -> String {
    let head = format!(r#"{{"id":{id},"method":"thread/list","params":{{"searchTerm":""#);
    let tail = r#""}}"#;
    let pad = len.saturating_sub(head.len() + tail.len());
    format!("{head}{}{tail}", "x".repeat(pad))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_over_the_size_limit_is_rejected_and_the_connection_stays_usable() {
    let mut f = ws(Options::default().arg("--max-frame-bytes").arg("2048")).await;
    // Just under the limit: an ordinary request.
    let m = answer(&mut f.a, &request_of_size(1000, 2000)).await;
    assert_eq!(m["id"], 1000, "{m}");
    assert_eq!(m["result"]["data"], json!([]), "{m}");
    // Over it: dropped unread, so its id is unknown.
    let m = answer(&mut f.a, &request_of_size(1001, 3000)).await;
    assert_error(&m, INVALID_REQUEST, Value::Null);
    let m = answer(&mut f.a, &request_of_size(1002, 6 * 1024)).await;
    assert_error(&m, INVALID_REQUEST, Value::Null);
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_far_over_the_size_limit_is_rejected_and_the_connection_stays_usable() {
    let mut f = ws(Options::default().arg("--max-frame-bytes").arg("2048")).await;
    let m = answer(&mut f.a, &request_of_size(1001, 10 * 1024)).await;
    assert_error(&m, INVALID_REQUEST, Value::Null);
    let m = answer(&mut f.a, &request_of_size(1002, 100 * 1024)).await;
    assert_error(&m, INVALID_REQUEST, Value::Null);
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_a_line_over_the_size_limit_is_rejected_and_the_next_line_is_read() {
    let mut d = stdio(Options::default().arg("--max-frame-bytes").arg("2048")).await;
    let m = answer(&mut d.client, &request_of_size(1001, 10 * 1024)).await;
    assert_error(&m, INVALID_REQUEST, Value::Null);
    let m = answer(&mut d.client, &request_of_size(1002, 2000)).await;
    assert_eq!(m["id"], 1002, "{m}");
    assert!(m["result"]["data"].is_array(), "{m}");
    assert_stdio_still_serving(d).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binary_frame_is_invalid_and_the_connection_stays_usable() {
    let mut f = ws(Options::default()).await;
    f.a.send_binary(br#"{"id":1,"method":"thread/list"}"#.to_vec())
        .unwrap();
    let m = f.a.next_message(TIMEOUT).await.unwrap();
    assert_error(&m, INVALID_REQUEST, Value::Null);
    f.assert_still_serving().await;
}

// ---- batches --------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_answered_with_one_entry_per_request_in_order() {
    let mut f = ws(Options::default()).await;
    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "thread/list", "params": {}},
        {"jsonrpc": "2.0", "method": "initialized"},
        {"id": "two", "method": "no/such/method"},
        {"jsonrpc": "2.0", "id": 3, "method": "thread/read", "params": {}},
        {"id": 4, "method": "account/read"},
    ]);
    let m = answer(&mut f.a, &batch.to_string()).await;
    let entries = m
        .as_array()
        .unwrap_or_else(|| panic!("a batch is answered with an array: {m}"));
    assert_eq!(entries.len(), 4, "{m}");
    assert_eq!(entries[0]["id"], 1);
    assert!(entries[0]["result"]["data"].is_array(), "{m}");
    assert_error(&entries[1], METHOD_NOT_FOUND, json!("two"));
    assert_error(&entries[2], INVALID_PARAMS, json!(3));
    assert_eq!(entries[2]["error"]["data"]["field"], "threadId");
    assert_eq!(entries[3]["id"], 4);
    assert_eq!(
        entries[3]["result"],
        json!({"account": null, "requiresOpenaiAuth": false})
    );
    for e in entries {
        assert_eq!(e["jsonrpc"], "2.0", "{e}");
    }
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_with_invalid_entries_answers_each_of_them() {
    let mut f = ws(Options::default()).await;
    let m = answer(
        &mut f.a,
        r#"[42, {"id": 5, "method": "thread/list"}, {"foo": 1}, {"id": 6}]"#,
    )
    .await;
    let entries = m.as_array().unwrap_or_else(|| panic!("{m}"));
    assert_eq!(entries.len(), 4, "{m}");
    assert_error(&entries[0], INVALID_REQUEST, Value::Null);
    assert_eq!(entries[1]["id"], 5);
    assert!(entries[1]["result"]["data"].is_array(), "{m}");
    assert_error(&entries[2], INVALID_REQUEST, Value::Null);
    assert_error(&entries[3], INVALID_REQUEST, json!(6));
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_only_notifications_gets_no_answer() {
    let mut f = ws(Options::default()).await;
    f.a.send_raw(r#"[{"method":"initialized"},{"jsonrpc":"2.0","method":"some/notification"}]"#)
        .unwrap();
    // Nothing for the batch: the next message is the answer to the next request.
    assert_serves(&mut f.a).await;
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_batch_is_a_single_invalid_request() {
    let mut f = ws(Options::default()).await;
    let m = answer(&mut f.a, "[]").await;
    assert!(m.is_object(), "an empty batch gets one error object: {m}");
    assert_error(&m, INVALID_REQUEST, Value::Null);
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_batches_are_answered_in_order() {
    let mut d = stdio(Options::default()).await;
    let m = answer(
        &mut d.client,
        r#"[{"id":1,"method":"thread/list"},{"method":"initialized"},{"id":2,"method":"nope"}]"#,
    )
    .await;
    let entries = m.as_array().unwrap_or_else(|| panic!("{m}"));
    assert_eq!(entries.len(), 2, "{m}");
    assert_eq!(entries[0]["id"], 1);
    assert!(entries[0]["result"]["data"].is_array(), "{m}");
    assert_error(&entries[1], METHOD_NOT_FOUND, json!(2));
    let m = answer(&mut d.client, "[]").await;
    assert_error(&m, INVALID_REQUEST, Value::Null);
    assert_stdio_still_serving(d).await;
}

// ---- envelope leniency ----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_with_and_without_jsonrpc_are_both_accepted() {
    let mut f = ws(Options::default()).await;
    let with = answer(
        &mut f.a,
        r#"{"jsonrpc":"2.0","id":1,"method":"thread/list","params":{}}"#,
    )
    .await;
    let without = answer(&mut f.a, r#"{"id":2,"method":"thread/list","params":{}}"#).await;
    assert_eq!(with["id"], 1);
    assert_eq!(without["id"], 2);
    assert_eq!(with["result"], without["result"]);
    assert_eq!(without["jsonrpc"], "2.0", "the daemon always sends jsonrpc");
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn string_and_integer_ids_are_echoed_verbatim() {
    let mut f = ws(Options::default()).await;
    let ids = [
        json!("abc"),
        json!(""),
        json!("ünïcödé \" \\ /"),
        json!("0"),
        json!(0),
        json!(-17),
        json!(9_007_199_254_740_993_i64),
        json!(i64::MAX),
        json!(i64::MIN),
    ];
    for id in ids {
        let m =
            f.a.request_with_id(id.clone(), "thread/list", json!({}))
                .await
                .unwrap();
        assert_eq!(m["id"], id, "{m}");
        assert!(m["result"].is_object(), "{m}");
        // Errors echo the id too.
        let m =
            f.a.request_with_id(id.clone(), "no/such/method", json!({}))
                .await
                .unwrap();
        assert_error(&m, METHOD_NOT_FOUND, id);
    }
    f.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_string_and_integer_ids_are_echoed_verbatim() {
    let mut d = stdio(Options::default()).await;
    for id in [json!("req-1"), json!(42), json!(-1)] {
        let m = d
            .client
            .request_with_id(id.clone(), "thread/list", json!({}))
            .await
            .unwrap();
        assert_eq!(m["id"], id, "{m}");
        assert!(m["result"].is_object(), "{m}");
    }
    assert_stdio_still_serving(d).await;
}
