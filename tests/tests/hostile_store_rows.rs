//! The database is outside input too: something other than this daemon may have written any
//! row, and a bad row costs its own thread at most. A stored event is spliced into its frame as
//! it is, so one whose payload is not a JSON object could forge a message to the client:
//! replay does not send it, and goes on with the events after it. (A payload of any size could
//! size an allocation: the stores read none past 256 MiB, see the unit tests of
//! `store/sqlite/events.rs`.) A thread row whose head is past its log does not make replay
//! spin, and one that does not decode neither stops the recovery of the other threads at start
//! nor hides them from `thread/list`. The PostgreSQL tables other daemons write — commands,
//! questions, leases — are tested in `multi_daemon.rs`.

use std::time::{Duration, Instant};

use agentd_tests::mock_llm::{MockLlm, Scripted};
use agentd_tests::{Agentd, Client, Options};
use serde_json::{json, Value};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection};

const RENAMED: &str = "thread/name/updated";

fn seq_of(m: &Value) -> Option<u64> {
    m["params"]["seq"].as_u64()
}

async fn insert_event(db: &mut SqliteConnection, thread: &str, seq: u64, payload_sql: &str) {
    let sql = format!(
        "INSERT INTO events (thread_id, seq, kind, payload, created_at) \
         VALUES (?1, ?2, '{RENAMED}', {payload_sql}, 1)"
    );
    sqlx::query(&sql)
        .bind(thread)
        .bind(seq as i64)
        .execute(&mut *db)
        .await
        .unwrap();
}

/// A daemon stopped cleanly, with its SQLite file open for the test to write what something
/// else could have.
struct Stopped {
    data_dir: std::path::PathBuf,
    keep: Option<tempfile::TempDir>,
    db: SqliteConnection,
}

async fn stop(d: Agentd) -> Stopped {
    let (_status, data_dir, keep) = d.terminate().await.unwrap();
    let db = SqliteConnectOptions::new()
        .filename(data_dir.join("agentd.db"))
        .connect()
        .await
        .unwrap();
    Stopped { data_dir, keep, db }
}

impl Stopped {
    /// Closes the file and starts a daemon on it again; the data dir lives as long as the
    /// second value.
    async fn restart(self, opts: Options) -> (Agentd, Option<tempfile::TempDir>) {
        self.db.close().await.unwrap();
        let d = Agentd::start(opts.data_dir(&self.data_dir)).await.unwrap();
        (d, self.keep)
    }
}

async fn renamed(c: &mut Client, thread: &str, name: &str) {
    c.call("thread/name/set", json!({"threadId": thread, "name": name}))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_events_that_are_not_json_objects_are_not_sent() {
    let d = Agentd::start(Options::default()).await.unwrap();
    let mut c = d.client("before").await.unwrap();
    let thread = c.start_thread(json!({})).await.unwrap();
    renamed(&mut c, &thread, "one").await;
    let stored = c.events_after(&thread, 0).await.unwrap();
    let last = stored.iter().filter_map(seq_of).max().unwrap();
    drop(c);
    let mut stopped = stop(d).await;
    let db = &mut stopped.db;
    // A payload that ends the params early and answers request 1.
    insert_event(
        db,
        &thread,
        last + 1,
        r#"'{},"id":1,"result":{"forged":true}'"#,
    )
    .await;
    // Not JSON at all.
    insert_event(db, &thread, last + 2, "'{\"threadId\":'").await;
    // JSON, but not an object.
    insert_event(db, &thread, last + 3, "'[1,2,3]'").await;
    let after = json!({"threadId": thread, "threadName": "after", "seq": last + 4});
    insert_event(db, &thread, last + 4, &format!("'{after}'")).await;
    let (d, _keep) = stopped.restart(Options::default()).await;
    let mut c = d.client("after").await.unwrap();
    let r = c
        .call("thread/resume", json!({"threadId": thread, "afterSeq": 0}))
        .await
        .unwrap();
    assert_eq!(r["thread"]["lastSeq"], last + 4);
    let replayed = c.thread_events(&thread, last + 4).await.unwrap();
    let seqs: Vec<u64> = replayed.iter().filter_map(seq_of).collect();
    let mut expected: Vec<u64> = (1..=last).collect();
    expected.push(last + 4);
    assert_eq!(seqs, expected, "replay: {replayed:?}");
    assert_eq!(
        replayed.last(),
        Some(&json!({"jsonrpc": "2.0", "method": RENAMED, "params": after}))
    );
    // The daemon still answers, and nothing it sent carries the forged result.
    renamed(&mut c, &thread, "two").await;
    let later = c.thread_events(&thread, last + 5).await.unwrap();
    assert_eq!(
        later.iter().filter_map(seq_of).collect::<Vec<_>>(),
        [last + 5]
    );
    let everything: Vec<Value> = stored
        .into_iter()
        .chain(replayed)
        .chain(later)
        .chain(c.take_received())
        .collect();
    assert!(
        everything.iter().all(|m| m["result"]["forged"].is_null()),
        "a forged message reached the client"
    );
}

/// The daemon's CPU time so far (user + system), in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which ends with the last ')'): utime is the 12th, stime
    // the 13th.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// A thread row whose `last_seq` is past its log (written by something else) puts the actor's
/// head ahead of every event a subscriber can read. Replay then waits for the next event
/// instead of asking the actor again and again, and goes live with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_past_the_log_does_not_spin_replay() {
    let d = Agentd::start(Options::default()).await.unwrap();
    let mut c = d.client("before").await.unwrap();
    let thread = c.start_thread(json!({})).await.unwrap();
    renamed(&mut c, &thread, "one").await;
    let last = c
        .events_after(&thread, 0)
        .await
        .unwrap()
        .iter()
        .filter_map(seq_of)
        .max()
        .unwrap();
    drop(c);
    let mut stopped = stop(d).await;
    let db = &mut stopped.db;
    sqlx::query("UPDATE threads SET last_seq = 1000 WHERE id = ?1")
        .bind(&thread)
        .execute(&mut *db)
        .await
        .unwrap();
    let (d, _keep) = stopped.restart(Options::default()).await;
    let pid = d.pid().unwrap();
    let mut c = d.client("after").await.unwrap();
    c.call("thread/resume", json!({"threadId": thread, "afterSeq": 0}))
        .await
        .unwrap();
    let replayed = c.thread_events(&thread, last).await.unwrap();
    assert_eq!(
        replayed.iter().filter_map(seq_of).collect::<Vec<_>>(),
        (1..=last).collect::<Vec<_>>()
    );
    let before = cpu_ticks(pid);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let used = cpu_ticks(pid) - before;
    // Asking the actor in a loop takes a whole core: 200 ticks in these 2 s.
    assert!(used < 50, "replay spun: {used} ticks of CPU in 2 s");

    // The next event is past the head, and the subscriber gets it.
    let mut other = d.client("other").await.unwrap();
    renamed(&mut other, &thread, "two").await;
    let live = c.thread_events(&thread, 1001).await.unwrap();
    assert_eq!(live.iter().filter_map(seq_of).collect::<Vec<_>>(), [1001]);
}

/// A thread whose row does not decode costs its own recovery at start, not the others': the
/// turn of a thread after it in the store is still ended `interrupted`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_that_does_not_load_does_not_stop_the_recovery_of_the_others() {
    let mock = MockLlm::start(vec![
        Scripted::responses_text("one"),
        Scripted::responses_text("two"),
        Scripted::responses_text("three"),
    ])
    .await
    .unwrap();
    let opts = || Options::default().mock_provider(&mock.base_url(), "responses");
    let d = Agentd::start(opts()).await.unwrap();
    let mut c = d.client("before").await.unwrap();
    // Thread ids sort by creation, and a broken thread on each side of the fine one is met
    // first whichever way the store lists them.
    let broken = c.start_thread(json!({})).await.unwrap();
    c.complete_turn(&broken, "one").await.unwrap();
    let fine = c.start_thread(json!({})).await.unwrap();
    c.complete_turn(&fine, "two").await.unwrap();
    let broken_too = c.start_thread(json!({})).await.unwrap();
    c.complete_turn(&broken_too, "three").await.unwrap();
    drop(c);
    let mut stopped = stop(d).await;
    let db = &mut stopped.db;
    // Both turns look cut off by a crash; the first thread's settings are not JSON.
    sqlx::query("UPDATE turns SET status = 'inProgress'")
        .execute(&mut *db)
        .await
        .unwrap();
    sqlx::query("UPDATE threads SET settings = '{not json' WHERE id IN (?1, ?2)")
        .bind(&broken)
        .bind(&broken_too)
        .execute(&mut *db)
        .await
        .unwrap();
    let (d, _keep) = stopped.restart(opts()).await;
    let mut c = d.client("after").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let read = c
            .call(
                "thread/read",
                json!({"threadId": fine, "includeTurns": true}),
            )
            .await
            .unwrap();
        if read["thread"]["turns"][0]["status"] == "interrupted" {
            break;
        }
        assert!(Instant::now() < deadline, "the turn was not ended: {read}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A thread row that does not decode is listed by its id (the page and the pages after it are
/// whole); reading it fails with a clear error, reading the others does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_that_does_not_decode_is_listed_by_its_id_and_the_list_goes_on() {
    let d = Agentd::start(Options::default()).await.unwrap();
    let mut c = d.client("before").await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(c.start_thread(json!({})).await.unwrap());
    }
    drop(c);
    let mut stopped = stop(d).await;
    let db = &mut stopped.db;
    sqlx::query("UPDATE threads SET settings = '{not json' WHERE id = ?1")
        .bind(&ids[1])
        .execute(&mut *db)
        .await
        .unwrap();
    let (d, _keep) = stopped.restart(Options::default()).await;
    let mut c = d.client("after").await.unwrap();
    let mut listed = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let page = c
            .call("thread/list", json!({"limit": 2, "cursor": cursor}))
            .await
            .unwrap();
        for t in page["data"].as_array().unwrap() {
            listed.push(t["id"].as_str().unwrap().to_owned());
        }
        cursor = page["nextCursor"].clone();
        if cursor.is_null() {
            break;
        }
    }
    listed.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(listed, expected);
    let broken = c
        .request("thread/read", json!({"threadId": ids[1]}))
        .await
        .unwrap();
    assert!(broken["error"]["message"].is_string(), "{broken}");
    for id in [&ids[0], &ids[2]] {
        c.call("thread/read", json!({"threadId": id}))
            .await
            .unwrap();
    }
}
