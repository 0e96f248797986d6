//! `thread/read {includeTurns}` and `thread/resume` send each turn's stored items as they are:
//! the daemon splices the stored JSON text into the answer instead of parsing and re-serialising
//! it (docs/benchmarks.md, "History"). These tests prove the answers still carry exactly the
//! stored items — unicode, quotes, backslashes, newlines, control characters, a megabyte of
//! command output — in order, rolled-back turns left out, and that a damaged stored payload
//! costs only its own turn's items, never the answer's JSON.

use std::path::Path;

use agentd::clock::unix_now;
use agentd::store::TurnState;
use agentd::store::{CommitBatch, ItemRow, NewEvent, Projection, Store, ThreadRow, TurnRow};
use agentd::threads::turns_from_rows;
use agentd_tests::{Agentd, Client, Options};
use serde_json::{json, Value};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::ConnectOptions;

const THREAD: &str = "0193a000-0000-7000-8000-00000000abcd";

fn thread_row() -> ThreadRow {
    let now = unix_now();
    ThreadRow {
        id: THREAD.into(),
        session_id: THREAD.into(),
        forked_from_id: None,
        name: Some("quotes \" and \\ backslashes".into()),
        preview: "héllo \"wörld\"\n".into(),
        cwd: "/".into(),
        model: "test".into(),
        model_provider: "test".into(),
        settings: json!({"approvalPolicy": "never", "sandbox": {"type": "dangerFullAccess"}}),
        ephemeral: false,
        archived: false,
        created_at: now,
        updated_at: now,
        last_seq: 1,
        source: "\"appServer\"".into(),
        source_kind: "appServer".into(),
        parent_id: None,
    }
}

fn turn_row(id: &str, position: i64, rolled_back: bool) -> TurnRow {
    TurnRow {
        id: id.into(),
        thread_id: THREAD.into(),
        position,
        status: if position == 2 {
            TurnState::Failed
        } else {
            TurnState::Completed
        },
        error: (position == 2).then(|| json!({"message": "model said \"no\"\n\tbye"})),
        started_at: Some(1_700_000_000 + position),
        completed_at: Some(1_700_000_010 + position),
        duration_ms: Some(1234),
        usage: Some(
            json!({"totalTokens": 12, "inputTokens": 10, "cachedInputTokens": 0,
                           "outputTokens": 2, "reasoningOutputTokens": 0}),
        ),
        client_request_id: None,
        rolled_back,
    }
}

/// Items that exercise every escaping rule JSON has, plus one large output.
fn awkward_items(turn: &str) -> Vec<Value> {
    let big: String = (0..20_000)
        .map(|i| format!("line {i}: \"quoted\" \\ tab\t ünïcødé 🦀\n"))
        .collect();
    vec![
        json!({"type": "userMessage", "id": format!("{turn}-u"),
               "content": [{"type": "text", "text": "héllo \"wörld\"\n\t\\ </script> \u{2028} 🦀 \u{0001}"}]}),
        json!({"type": "reasoning", "id": format!("{turn}-r"), "summary": ["a\r\nb", ""], "content": []}),
        json!({"type": "commandExecution", "id": format!("{turn}-c"), "command": "printf '%s\\n' \"$X\"",
               "cwd": "/tmp/dïr with space", "status": "completed", "commandActions": [],
               "aggregatedOutput": big, "exitCode": 0, "durationMs": 800}),
        json!({"type": "agentMessage", "id": format!("{turn}-a"), "text": "日本語のテキスト, 1.5e300, -0, null"}),
    ]
}

/// Three turns (the middle one rolled back), written through the daemon's own `Store::commit`;
/// returns the visible turns as the answer must carry them.
async fn populate(db: &Path) -> Vec<Value> {
    let store = Store::open(db).await.unwrap();
    let mut projections = Vec::new();
    let mut expected = Vec::new();
    for (position, rolled_back) in [(0, false), (1, true), (2, false)] {
        let turn_id = format!("{THREAD}-t{position}");
        let turn = turn_row(&turn_id, position, rolled_back);
        projections.push(Projection::Turn(turn.clone()));
        let items = awkward_items(&turn_id);
        for (i, payload) in items.iter().enumerate() {
            projections.push(Projection::Item(ItemRow {
                id: payload["id"].as_str().unwrap().to_owned(),
                thread_id: THREAD.into(),
                turn_id: turn_id.clone(),
                position: i as i64,
                kind: payload["type"].as_str().unwrap().to_owned(),
                payload: payload.clone(),
            }));
        }
        if !rolled_back {
            // The turn's other fields as the daemon has always shaped them.
            let mut want =
                serde_json::to_value(turns_from_rows(vec![turn], Vec::new())).unwrap()[0].clone();
            want["items"] = Value::Array(items);
            expected.push(want);
        }
    }
    store
        .commit(&CommitBatch {
            thread: thread_row(),
            events: vec![NewEvent {
                seq: 1,
                kind: "thread/started".into(),
                payload: json!({"thread": {"id": THREAD}, "seq": 1}).to_string(),
                created_at: unix_now(),
            }],
            projections,
        })
        .await
        .unwrap();
    store.close().await;
    expected
}

async fn read(c: &mut Client) -> Value {
    c.call(
        "thread/read",
        json!({"threadId": THREAD, "includeTurns": true}),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_and_resume_carry_the_stored_items_exactly() {
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let expected = populate(&data.join("agentd.db")).await;
    let daemon = Agentd::start(Options::default().data_dir(&data))
        .await
        .unwrap();
    let mut c = daemon.client("verbatim").await.unwrap();

    let read = read(&mut c).await;
    assert_eq!(read["thread"]["turns"], Value::Array(expected.clone()));
    // The rest of the thread is what a read without turns says.
    let bare = c
        .call("thread/read", json!({"threadId": THREAD}))
        .await
        .unwrap();
    assert_eq!(bare["thread"]["turns"], json!([]));
    let mut without_turns = read.clone();
    without_turns["thread"]["turns"] = json!([]);
    assert_eq!(without_turns, bare);

    let resumed = c
        .call("thread/resume", json!({"threadId": THREAD}))
        .await
        .unwrap();
    assert_eq!(resumed["thread"]["turns"], Value::Array(expected));
    assert_eq!(resumed["thread"]["id"], THREAD);
    assert_eq!(resumed["model"], "test");
    let excluded = c
        .call(
            "thread/resume",
            json!({"threadId": THREAD, "excludeTurns": true}),
        )
        .await
        .unwrap();
    assert_eq!(excluded["thread"]["turns"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_stored_item_drops_its_turns_items_not_the_answer() {
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let db = data.join("agentd.db");
    let mut expected = populate(&db).await;
    // Cut one payload of the first turn short, as a disk or a hand edit might.
    let mut conn = SqliteConnectOptions::new()
        .filename(&db)
        .connect()
        .await
        .unwrap();
    let done =
        sqlx::query("UPDATE items SET payload = '{\"type\": \"agentMessage\", \"te' WHERE id = ?")
            .bind(format!("{THREAD}-t0-a"))
            .execute(&mut conn)
            .await
            .unwrap();
    assert_eq!(done.rows_affected(), 1);
    drop(conn);
    expected[0]["items"] = json!([]);

    let daemon = Agentd::start(Options::default().data_dir(&data))
        .await
        .unwrap();
    let mut c = daemon.client("damaged").await.unwrap();
    // `call` parses the answer frame: broken JSON would fail here.
    let read = read(&mut c).await;
    assert_eq!(read["thread"]["turns"], Value::Array(expected.clone()));
    let resumed = c
        .call("thread/resume", json!({"threadId": THREAD}))
        .await
        .unwrap();
    assert_eq!(resumed["thread"]["turns"], Value::Array(expected));
}
