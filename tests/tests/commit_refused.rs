//! A commit the store refuses — here triggers the test adds to the daemon's SQLite file — costs
//! only its own batch: none of its events reach a client, the events after it continue from the
//! last committed seq with no gap, and the thread row keeps what was committed (the actor
//! rewinds its copy). Streamed deltas take the progress-only row path, a rename the full-row
//! path; each is refused for one marked content, and accepted again for the rest.
//!
//! No other process may open the file while the daemon runs (decision 019), so the triggers
//! go in while it is stopped, and pick the events to refuse by their content.

use agentd_tests::mock_llm::{MockLlm, Scripted, Step, Usage};
use agentd_tests::turns::{assert_consecutive, of_method};
use agentd_tests::{Agentd, Client, Options};
use serde_json::{json, Value};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};
use std::path::Path;
use std::time::Duration;

const DELTA: &str = "item/agentMessage/delta";
const RENAMED: &str = "thread/name/updated";
/// What the refused events carry (and no other event does).
const MARK: &str = "REFUSED";

fn answer(text: &[&str]) -> Scripted {
    Scripted::responses(vec![
        Step::created(),
        Step::message(text),
        Step::completed(Usage::new(10, 3)),
    ])
}

/// Makes the store refuse every event of these kinds whose payload holds [`MARK`] (a SQL error
/// inside the commit).
async fn refuse_marked(db: &Path, kinds: &[&str]) {
    let mut db = SqliteConnectOptions::new()
        .filename(db)
        .connect()
        .await
        .unwrap();
    for kind in kinds {
        let name = kind.replace('/', "_");
        let sql = format!(
            "CREATE TRIGGER refuse_{name} BEFORE INSERT ON events \
             WHEN NEW.kind = '{kind}' AND instr(NEW.payload, '{MARK}') > 0 \
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        );
        sqlx::query(&sql).execute(&mut db).await.unwrap();
    }
    db.close().await.unwrap();
}

/// The thread's own events among `messages`.
fn thread_events(messages: &[Value], thread: &str) -> Vec<Value> {
    messages
        .iter()
        .filter(|m| m["params"]["threadId"] == thread && m["params"]["seq"].is_u64())
        .cloned()
        .collect()
}

fn last_seq(events: &[Value]) -> u64 {
    events
        .last()
        .and_then(|e| e["params"]["seq"].as_u64())
        .unwrap_or(0)
}

async fn rename(c: &mut Client, thread: &str, name: &str) -> anyhow::Result<Value> {
    c.call("thread/name/set", json!({"threadId": thread, "name": name}))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_commit_reaches_no_client_and_leaves_no_gap() {
    // The refused turn's stream is paced, so its deltas commit apart from the events that end
    // the turn (a burst could put the last delta and `turn/completed` in one refused batch).
    let mock = MockLlm::start(vec![
        answer(&["on", "e"]),
        answer(&["REFUSED-tw", "REFUSED-o"]).with_chunk_delay(Duration::from_millis(50)),
        answer(&["thr", "ee"]),
    ])
    .await
    .unwrap();
    let options = Options::default().mock_provider(&mock.base_url(), "responses");
    let first = Agentd::start(options.clone()).await.unwrap();
    let (_, data, _keep) = first.terminate().await.unwrap();
    refuse_marked(&data.join("agentd.db"), &[DELTA, RENAMED]).await;
    let mut d = Agentd::start(options.data_dir(&data)).await.unwrap();
    let mut c = d.client("c").await.unwrap();
    let thread = c.start_thread(json!({})).await.unwrap();
    let mut seen = c.complete_turn(&thread, "one").await.unwrap();
    assert!(!of_method(&seen, DELTA).is_empty());

    let second = c.run_turn(&thread, "two").await.unwrap();
    assert!(
        of_method(&second, DELTA).is_empty(),
        "a refused delta reached a client: {second:#?}"
    );
    d.wait_for_log("commit failed; events dropped", Duration::from_secs(10))
        .await
        .unwrap();
    seen.extend(second);

    // A refused rename: the caller gets an error, and the row keeps its old name.
    let refused = rename(&mut c, &thread, MARK).await;
    assert!(
        refused.is_err(),
        "the refused rename succeeded: {refused:?}"
    );
    let read = c.read_thread(&thread).await.unwrap();
    assert_ne!(read["thread"]["name"], MARK);

    let third = c.complete_turn(&thread, "three").await.unwrap();
    let text: String = of_method(&third, DELTA)
        .iter()
        .filter_map(|e| e["params"]["delta"].as_str())
        .collect();
    assert_eq!(text, "three");
    seen.extend(third);
    // The actor's own copy of the row was rewound too: turn three's commits did not store the
    // refused name.
    let read = c.read_thread(&thread).await.unwrap();
    assert_ne!(read["thread"]["name"], MARK);
    rename(&mut c, &thread, "accepted").await.unwrap();
    let read = c.read_thread(&thread).await.unwrap();
    assert_eq!(read["thread"]["name"], "accepted");
    let head = read["thread"]["lastSeq"].as_u64().unwrap();
    seen.extend(c.thread_events(&thread, head).await.unwrap());

    // Every event the client saw, in one gap-free run up to the rename, which the store holds
    // byte for byte.
    let seen = thread_events(&seen, &thread);
    assert_consecutive(&seen);
    assert_eq!(last_seq(&seen), head);
    let renamed = &seen[seen.len() - 1]["params"];
    assert_eq!(renamed["threadName"], "accepted");
    let first = seen[0]["params"]["seq"].as_u64().unwrap();
    let mut back = d.client("back").await.unwrap();
    back.call(
        "thread/resume",
        json!({"threadId": thread, "afterSeq": first - 1}),
    )
    .await
    .unwrap();
    let replay = back.thread_events(&thread, head).await.unwrap();
    assert_eq!(replay, seen, "the log differs from what was sent live");
}
