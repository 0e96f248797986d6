//! A corpus of malformed and hostile messages (PROTOCOL.md §1, §2): deep nesting, huge strings,
//! invalid UTF-8, wrong types for every method, ids of every JSON type, unknown fields, path
//! traversal in every path parameter. Each gets its one right answer, and after each the same
//! connection still serves and the daemon keeps running.

use std::time::Duration;

use agentd_tests::json::assert_null;
use agentd_tests::{Agentd, Client, Options, StdioAgentd};
use serde_json::{json, Value};

/// What a case must be answered with.
#[derive(Debug, Clone)]
enum Expect {
    /// One error with this code, answered to this id (`Value::Null` for "could not be read").
    Error(i64, Value),
    /// One successful result for this id.
    Ok(Value),
    /// No answer at all (a notification, or a response to nothing we asked).
    Nothing,
}

struct Case {
    name: String,
    text: String,
    expect: Expect,
}

fn case(name: impl Into<String>, text: impl Into<String>, expect: Expect) -> Case {
    Case {
        name: name.into(),
        text: text.into(),
        expect,
    }
}

fn req(id: impl Into<Value>, method: &str, params: Value) -> String {
    json!({"id": id.into(), "method": method, "params": params}).to_string()
}

fn nested(depth: usize, open: &str, close: &str, inner: &str) -> String {
    format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
}

fn corpus(thread: &str, workspace: &str) -> Vec<Case> {
    use Expect::*;
    let mut cases = vec![
        // Nesting: beyond the parser's limit is -32700 with a null id, wherever it is.
        case("deep arrays", nested(100_000, "[", "]", ""), Error(-32700, Value::Null)),
        case("deep objects", nested(5_000, "{\"a\":", "}", "1"), Error(-32700, Value::Null)),
        case(
            "deep params of a real request",
            format!(
                "{{\"id\":1,\"method\":\"thread/list\",\"params\":{}}}",
                nested(1_000, "{\"x\":", "}", "1")
            ),
            Error(-32700, Value::Null),
        ),
        case(
            "shallow unknown nesting in params is ignored",
            format!(
                "{{\"id\":2,\"method\":\"thread/list\",\"params\":{{\"extra\":{}}}}}",
                nested(50, "[", "]", "1")
            ),
            Ok(json!(2)),
        ),
        // Huge strings.
        case(
            "1 MiB method name",
            req(3, &"m".repeat(1 << 20), json!({})),
            Error(-32601, json!(3)),
        ),
        case(
            "1 MiB thread name",
            req(4, "thread/name/set", json!({"threadId": thread, "name": "n".repeat(1 << 20)})),
            Error(-32602, json!(4)),
        ),
        case(
            "1 MiB thread id",
            req(5, "thread/read", json!({"threadId": "t".repeat(1 << 20)})),
            Error(-32004, json!(5)),
        ),
        case(
            "1 MiB string id is echoed",
            req("i".repeat(1 << 20), "no/such", json!({})),
            Error(-32601, json!("i".repeat(1 << 20))),
        ),
        case(
            "1 MiB search query",
            req(6, "thread/search", json!({"query": "q".repeat(1 << 20)})),
            Ok(json!(6)),
        ),
        case(
            "a million-element array param",
            format!(
                "{{\"id\":7,\"method\":\"turn/start\",\"params\":{{\"threadId\":\"{thread}\",\"input\":[{}]}}}}",
                vec!["1"; 1_000_000].join(",")
            ),
            Error(-32602, json!(7)),
        ),
        // Escapes that are not Unicode, and control characters.
        case("lone surrogate escape", r#"{"id":8,"method":"thread/list","params":{"cursor":"\ud800"}}"#, Error(-32700, Value::Null)),
        case("raw control character in a string", "{\"id\":9,\"method\":\"thread/list\",\"params\":{\"cursor\":\"a\u{1}b\"}}", Error(-32700, Value::Null)),
        case("NUL escape in a thread id", r#"{"id":10,"method":"thread/read","params":{"threadId":"a\u0000b"}}"#, Error(-32004, json!(10))),
        case("truncated JSON", r#"{"id":11,"method":"thread/li"#, Error(-32700, Value::Null)),
        case("trailing garbage", r#"{"id":12,"method":"thread/list"} x"#, Error(-32700, Value::Null)),
        case("two objects in one frame", r#"{"id":13,"method":"thread/list"}{"id":14}"#, Error(-32700, Value::Null)),
        case("NaN", r#"{"id":NaN,"method":"thread/list"}"#, Error(-32700, Value::Null)),
        case("empty frame", "", Error(-32700, Value::Null)),
        case("BOM then JSON", "\u{feff}{\"id\":15,\"method\":\"thread/list\"}", Error(-32700, Value::Null)),
        // Ids of every JSON type.
        case("integer id", req(16, "thread/list", json!({})), Ok(json!(16))),
        case("negative id", req(-17, "thread/list", json!({})), Ok(json!(-17))),
        case("zero id", req(0, "thread/list", json!({})), Ok(json!(0))),
        case("i64::MAX id", req(i64::MAX, "thread/list", json!({})), Ok(json!(i64::MAX))),
        case("empty string id", req("", "thread/list", json!({})), Ok(json!(""))),
        case("unicode string id", req("ïd-☃", "thread/list", json!({})), Ok(json!("ïd-☃"))),
        case("float id", r#"{"id":1.5,"method":"thread/list"}"#, Error(-32600, Value::Null)),
        case("exponent id", r#"{"id":1e3,"method":"thread/list"}"#, Error(-32600, Value::Null)),
        case("id beyond i64", r#"{"id":36893488147419103232,"method":"thread/list"}"#, Error(-32600, Value::Null)),
        case("bool id", r#"{"id":true,"method":"thread/list"}"#, Error(-32600, Value::Null)),
        case("object id", r#"{"id":{"a":1},"method":"thread/list"}"#, Error(-32600, Value::Null)),
        case("array id", r#"{"id":[1],"method":"thread/list"}"#, Error(-32600, Value::Null)),
        case("null id", r#"{"id":null,"method":"thread/list"}"#, Error(-32600, Value::Null)),
        // Envelope oddities.
        case("unknown envelope fields are ignored", r#"{"id":18,"method":"thread/list","params":{},"extra":[1,2],"jsonrpc":"2.0"}"#, Ok(json!(18))),
        case("a wrong jsonrpc version", r#"{"id":19,"method":"thread/list","jsonrpc":"1.0"}"#, Error(-32600, json!(19))),
        case("method of the wrong type", r#"{"id":20,"method":7}"#, Error(-32600, json!(20))),
        case("params a string", r#"{"id":21,"method":"thread/list","params":"x"}"#, Error(-32600, json!(21))),
        case("a notification of an unknown method", r#"{"method":"no/such"}"#, Nothing),
        case("a response to nothing we asked", r#"{"id":999,"result":{"decision":"accept"}}"#, Nothing),
        case("an error response to nothing we asked", r#"{"id":"x","error":{"code":1,"message":"m"}}"#, Nothing),
        // A response cannot be answered, however malformed.
        case("a response with both result and error", r#"{"id":22,"result":1,"error":{"code":1,"message":"m"}}"#, Nothing),
        // Unknown fields inside params are ignored (Codex clients send many).
        case("unknown params fields", req(23, "thread/read", json!({"threadId": thread, "zzz": {"a": [1]}, "includeTurns": false})), Ok(json!(23))),
        // Path traversal in every path parameter: a thread id is a key, never a path; a cwd
        // must be an existing directory; nothing outside answers differently.
        case("thread id traversal on read", req(24, "thread/read", json!({"threadId": "../../../etc/passwd"})), Error(-32004, json!(24))),
        case("thread id traversal on resume", req(25, "thread/resume", json!({"threadId": "../agentd.db"})), Error(-32004, json!(25))),
        case("thread id traversal on archive", req(26, "thread/archive", json!({"threadId": "/etc/passwd"})), Error(-32004, json!(26))),
        case("thread id traversal on turn/start", req(27, "turn/start", json!({"threadId": "..", "input": [{"type": "text", "text": "x"}]})), Error(-32004, json!(27))),
        case("thread id traversal on fork", req(28, "thread/fork", json!({"threadId": "../../x"})), Error(-32004, json!(28))),
        case("cwd that does not exist", req(29, "thread/start", json!({"cwd": format!("{workspace}/../../no/such/dir/../..")})), Error(-32602, json!(29))),
        case("cwd with a NUL byte", req(30, "thread/start", json!({"cwd": "/tmp\u{0}/etc"})), Error(-32602, json!(30))),
        case("cwd that is a file", req(31, "thread/start", json!({"cwd": "/etc/passwd"})), Error(-32602, json!(31))),
        case("turn cwd that does not exist", req(32, "turn/start", json!({"threadId": thread, "cwd": "/no/such/../../dir", "input": [{"type": "text", "text": "x"}]})), Error(-32602, json!(32))),
        case("thread/list cwd filter with traversal matches nothing", req(33, "thread/list", json!({"cwd": "../../../../"})), Ok(json!(33))),
        case("config/read cwd with traversal", req(34, "config/read", json!({"cwd": "../../../../../../etc"})), Ok(json!(34))),
    ];
    // Wrong types for every method.
    let wrong: Vec<(&str, Value)> = vec![
        ("thread/start", json!({"cwd": 5})),
        ("thread/start", json!({"ephemeral": "yes"})),
        ("thread/resume", json!({"threadId": []})),
        (
            "thread/resume",
            json!({"threadId": thread, "afterSeq": "0"}),
        ),
        ("thread/fork", json!({"threadId": {}})),
        ("thread/list", json!({"limit": "ten"})),
        ("thread/list", json!({"archived": 1})),
        ("thread/read", json!({"threadId": true})),
        ("thread/read", json!({})),
        ("thread/archive", json!({"threadId": 1.5})),
        ("thread/unarchive", json!({"threadId": null})),
        ("thread/unsubscribe", json!({"threadId": 7})),
        ("thread/name/set", json!({"threadId": thread, "name": 3})),
        (
            "thread/rollback",
            json!({"threadId": thread, "numTurns": "two"}),
        ),
        (
            "thread/rollback",
            json!({"threadId": thread, "numTurns": -1}),
        ),
        ("thread/search", json!({"query": 9})),
        ("thread/compact/start", json!({"threadId": false})),
        ("turn/start", json!({"threadId": thread, "input": "hello"})),
        (
            "turn/start",
            json!({"threadId": thread, "input": [{"type": "bogus"}]}),
        ),
        (
            "turn/steer",
            json!({"threadId": thread, "input": [{"type": "text"}], "expectedTurnId": "t"}),
        ),
        ("turn/interrupt", json!({"threadId": thread, "turnId": 5})),
        ("model/list", json!({"limit": -1})),
        ("config/read", json!({"cwd": 5})),
        ("account/read", json!({"refreshToken": "yes"})),
        ("configRequirements/read", json!([1, 2])),
        ("initialize", json!({"clientInfo": "me"})),
    ];
    for (i, (method, params)) in wrong.into_iter().enumerate() {
        let id = 1000 + i as i64;
        cases.push(case(
            format!("{method} with wrong types {params}"),
            req(id, method, params),
            Error(-32602, json!(id)),
        ));
    }
    cases
}

/// Sends each case, then a health request; checks the answers that came before the health
/// answer (notifications aside) are exactly the expected ones.
async fn run(c: &mut Client, cases: &[Case]) {
    let mut failures = Vec::new();
    for (n, case) in cases.iter().enumerate() {
        c.send_raw(case.text.clone()).unwrap();
        let health = format!("health-{n}");
        c.send_json(&json!({"id": health, "method": "thread/list", "params": {"limit": 1}}))
            .unwrap();
        let mut got = Vec::new();
        loop {
            let m = c
                .next_message(Duration::from_secs(20))
                .await
                .unwrap_or_else(|e| panic!("case {:?}: {e:#}", case.name));
            if m.get("method").is_some() && m.get("id").is_none() {
                continue; // a thread notification
            }
            if m["id"] == health {
                assert!(
                    m.get("result").is_some(),
                    "case {:?}: health {m}",
                    case.name
                );
                break;
            }
            got.push(m);
        }
        if let Err(why) = check(&case.expect, &got) {
            failures.push(format!("case {:?}: {why}", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Whether the answers to one case are the expected ones.
fn check(expect: &Expect, got: &[Value]) -> Result<(), String> {
    let one = || match got {
        [m] => Ok(m),
        _ => Err(format!("expected one answer, got {}: {got:?}", got.len())),
    };
    match expect {
        Expect::Nothing if got.is_empty() => Ok(()),
        Expect::Nothing => Err(format!("expected no answer, got {got:?}")),
        Expect::Ok(id) => {
            let m = one()?;
            if m.get("id") == Some(id) && m.get("result").is_some() {
                Ok(())
            } else {
                Err(format!("expected a result for {id}, got {m}"))
            }
        }
        Expect::Error(code, id) => {
            let m = one()?;
            let field_ok = *code != -32602 || m["error"]["data"]["field"].is_string();
            // `get`: an id of `null` must be there, not just index as null.
            let id_ok = m.get("id") == Some(id);
            if m["error"]["code"] == *code && id_ok && m["jsonrpc"] == "2.0" && field_ok {
                Ok(())
            } else {
                Err(format!("expected {code} for {id}, got {m}"))
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hostile_message_gets_its_answer_and_the_daemon_stays_healthy() {
    let workspace = tempfile::tempdir().unwrap();
    let mut d = Agentd::start(Options::default()).await.unwrap();
    let mut c = d.client("hostile").await.unwrap();
    let thread = c
        .start_thread(json!({"cwd": workspace.path().display().to_string()}))
        .await
        .unwrap();
    let cases = corpus(&thread, &workspace.path().display().to_string());
    assert!(cases.len() >= 50, "only {} cases", cases.len());
    run(&mut c, &cases).await;

    // Binary frames are not the protocol; the connection stays usable.
    c.send_binary(vec![0xff, 0xfe, 0x00]).unwrap();
    let m = c.next_message(Duration::from_secs(10)).await.unwrap();
    assert_eq!(m["error"]["code"], -32600, "{m}");

    // The daemon is healthy: same connection, a new one, the process itself.
    c.call("thread/read", json!({"threadId": thread}))
        .await
        .unwrap();
    let mut fresh = d.client("after").await.unwrap();
    let list = fresh.call("thread/list", json!({})).await.unwrap();
    assert_eq!(
        list["data"].as_array().unwrap().len(),
        1,
        "no stray threads: {list}"
    );
    assert!(d.is_running());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_corpus_over_stdio_plus_bytes_that_are_not_utf8() {
    let workspace = tempfile::tempdir().unwrap();
    let mut d = StdioAgentd::start(Options::default()).await.unwrap();
    d.client.initialize("hostile").await.unwrap();
    let thread = d
        .client
        .start_thread(json!({"cwd": workspace.path().display().to_string()}))
        .await
        .unwrap();
    let mut cases = corpus(&thread, &workspace.path().display().to_string());
    // An empty line is no message on stdio (blank lines are skipped).
    cases.retain(|c| !c.text.is_empty());
    run(&mut d.client, &cases).await;

    for bytes in [
        vec![0xff, 0xfe],
        b"{\"id\":1,\"method\":\"thread/list\",\"params\":{\"cursor\":\"\xc3\x28\"}}".to_vec(),
        vec![0xed, 0xa0, 0x80], // an encoded surrogate
        vec![0xc0, 0xaf],       // an overlong '/'
    ] {
        d.client.send_binary(bytes).unwrap();
        let m = d
            .client
            .next_message(Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(m["error"]["code"], -32700, "{m}");
        assert_null(&m, "id");
    }
    d.client
        .call("thread/read", json!({"threadId": thread}))
        .await
        .unwrap();
    assert!(d.child.try_wait().unwrap().is_none());
}
