//! Threads and their events survive a restart, clean (SIGTERM) or not (SIGKILL): list, read and
//! resume return the same data, and nothing a client was told about is lost (ARCHITECTURE.md,
//! "events before effects").

use agentd_tests::client::seq_of;
use agentd_tests::json::assert_null;
use agentd_tests::{Agentd, Client, Options};
use serde_json::{json, Value};

/// A thread object without `status`, which legitimately changes on restart (a thread is
/// `notLoaded` until someone uses it).
fn durable(thread: &Value) -> Value {
    let mut t = thread.clone();
    t.as_object_mut().unwrap().remove("status");
    t
}

async fn list_all(c: &mut Client, archived: bool) -> Vec<Value> {
    let r = c
        .call("thread/list", json!({"archived": archived, "limit": 100}))
        .await
        .unwrap();
    assert_null(&r, "nextCursor");
    r["data"].as_array().unwrap().iter().map(durable).collect()
}

async fn read(c: &mut Client, id: &str) -> Value {
    let r = c
        .call("thread/read", json!({"threadId": id, "includeTurns": true}))
        .await
        .unwrap();
    durable(&r["thread"])
}

/// Every stored event of a thread, via a fresh subscription from seq 0.
async fn history(daemon: &Agentd, id: &str) -> Vec<Value> {
    let mut c = daemon.client("history").await.unwrap();
    let r = c
        .call("thread/resume", json!({"threadId": id, "afterSeq": 0}))
        .await
        .unwrap();
    let last = r["thread"]["lastSeq"].as_u64().unwrap();
    let events = c.thread_events(id, last).await.unwrap();
    let seqs: Vec<u64> = events.iter().filter_map(seq_of).collect();
    assert_eq!(seqs, (1..=last).collect::<Vec<_>>());
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threads_names_archives_and_events_survive_a_clean_restart() {
    let daemon = Agentd::start(Options::default()).await.unwrap();
    let mut c = daemon.client("before").await.unwrap();
    let mut ids = Vec::new();
    for i in 0..3 {
        let id = c.start_thread(json!({})).await.unwrap();
        for n in 0..=i {
            c.call(
                "thread/name/set",
                json!({"threadId": id, "name": format!("thread {i} name {n}")}),
            )
            .await
            .unwrap();
        }
        ids.push(id);
    }
    c.call("thread/archive", json!({"threadId": ids[1]}))
        .await
        .unwrap();

    let listed = list_all(&mut c, false).await;
    let archived = list_all(&mut c, true).await;
    assert_eq!(listed.len(), 2);
    assert_eq!(archived.len(), 1);
    assert_eq!(archived[0]["id"], ids[1]);
    assert_eq!(archived[0]["archived"], true);
    let mut reads = Vec::new();
    let mut histories = Vec::new();
    for id in &ids {
        reads.push(read(&mut c, id).await);
        histories.push(history(&daemon, id).await);
    }
    assert_eq!(reads[0]["lastSeq"], 2);
    assert_eq!(reads[1]["lastSeq"], 4);
    assert_eq!(reads[2]["lastSeq"], 4);
    assert_eq!(reads[2]["name"], "thread 2 name 2");
    drop(c);

    let (status, data_dir, _keep) = daemon.terminate().await.unwrap();
    assert!(
        status.success(),
        "SIGTERM should end agentd cleanly: {status}"
    );

    let daemon = Agentd::start(Options::default().data_dir(&data_dir))
        .await
        .unwrap();
    let mut c = daemon.client("after").await.unwrap();
    let listed_after = list_all(&mut c, false).await;
    assert_eq!(listed_after, listed);
    assert_eq!(list_all(&mut c, true).await, archived);
    let raw = c.call("thread/list", json!({})).await.unwrap();
    for t in raw["data"].as_array().unwrap() {
        assert_eq!(t["status"], json!({"type": "notLoaded"}), "{t}");
    }
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(read(&mut c, id).await, reads[i], "thread {id} changed");
        assert_eq!(
            history(&daemon, id).await,
            histories[i],
            "events of {id} changed"
        );
    }
    // Resuming works and continues the sequence where it stopped.
    let r = c
        .call("thread/resume", json!({"threadId": ids[0]}))
        .await
        .unwrap();
    assert_eq!(r["thread"]["lastSeq"], 2);
    assert_eq!(r["thread"]["name"], "thread 0 name 0");
    c.call(
        "thread/name/set",
        json!({"threadId": ids[0], "name": "after restart"}),
    )
    .await
    .unwrap();
    let next = c.thread_events(&ids[0], 3).await.unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(
        next[0]["params"],
        json!({"threadId": ids[0], "threadName": "after restart", "seq": 3})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_a_client_received_survives_sigkill() {
    let daemon = Agentd::start(Options::default()).await.unwrap();
    let mut c = daemon.client("before").await.unwrap();
    let started = c.call("thread/start", json!({})).await.unwrap();
    let id = started["thread"]["id"].as_str().unwrap().to_owned();
    let calls = (0..100).map(|i| {
        (
            "thread/name/set".to_owned(),
            json!({"threadId": id, "name": format!("n{i}")}),
        )
    });
    c.call_pipelined(calls, 16).await.unwrap();
    c.call("thread/archive", json!({"threadId": id}))
        .await
        .unwrap();
    let received = c.thread_events(&id, 102).await.unwrap();
    let seqs: Vec<u64> = received.iter().filter_map(seq_of).collect();
    assert_eq!(seqs, (1..=102).collect::<Vec<_>>());

    let (data_dir, _keep) = daemon.kill().await.unwrap();
    let daemon = Agentd::start(Options::default().data_dir(&data_dir))
        .await
        .unwrap();
    assert_eq!(history(&daemon, &id).await, received);
    let mut c = daemon.client("after").await.unwrap();
    let t = c
        .call("thread/read", json!({"threadId": id}))
        .await
        .unwrap();
    assert_eq!(t["thread"]["lastSeq"], 102);
    assert_eq!(t["thread"]["name"], "n99");
    assert_eq!(t["thread"]["archived"], true);
    let archived = c
        .call("thread/list", json!({"archived": true}))
        .await
        .unwrap();
    assert_eq!(archived["data"][0]["id"], id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_right_after_listening_is_a_clean_shutdown() {
    // A supervisor may stop the daemon the moment it reports it is listening.
    for _ in 0..20 {
        let daemon = Agentd::start(Options::default()).await.unwrap();
        let (status, _dir, _keep) = daemon.terminate().await.unwrap();
        assert!(status.success(), "SIGTERM right after start: {status}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ephemeral_threads_are_not_kept_after_the_daemon_stops() {
    let daemon = Agentd::start(Options::default()).await.unwrap();
    let mut c = daemon.client("before").await.unwrap();
    let kept = c.start_thread(json!({})).await.unwrap();
    let gone = c.start_thread(json!({"ephemeral": true})).await.unwrap();
    let (_status, data_dir, _keep) = daemon.terminate().await.unwrap();

    let daemon = Agentd::start(Options::default().data_dir(&data_dir))
        .await
        .unwrap();
    let mut c = daemon.client("after").await.unwrap();
    c.call("thread/read", json!({"threadId": kept}))
        .await
        .unwrap();
    let m = c
        .request("thread/read", json!({"threadId": gone}))
        .await
        .unwrap();
    assert_eq!(
        m["error"]["code"], -32004,
        "the ephemeral thread is gone: {m}"
    );
}
