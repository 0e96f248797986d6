//! Many connections subscribed to one thread all see the same events, with consecutive `seq`, in
//! the same order (PROTOCOL.md §7).

use agentd_tests::client::seq_of;
use agentd_tests::{Agentd, Options};
use serde_json::{json, Value};

fn seqs(events: &[Value]) -> Vec<u64> {
    events
        .iter()
        .map(|e| seq_of(e).unwrap_or_else(|| panic!("event without seq: {e}")))
        .collect()
}

fn methods(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["method"].as_str().unwrap_or_default())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_on_one_thread_receive_identical_event_sequences() {
    const RENAMES: u64 = 40;
    let daemon = Agentd::start(Options::default()).await.unwrap();
    let mut a = daemon.client("a").await.unwrap();
    let mut b = daemon.client("b").await.unwrap();

    let id = a.start_thread(json!({})).await.unwrap();
    let resumed = b
        .call("thread/resume", json!({"threadId": id}))
        .await
        .unwrap();
    assert_eq!(resumed["thread"]["id"], id);
    assert_eq!(resumed["thread"]["lastSeq"], 1);

    // Renames pipelined, then archive and unarchive.
    let renames = (0..RENAMES).map(|i| {
        (
            "thread/name/set".to_owned(),
            json!({"threadId": id, "name": format!("name {i}")}),
        )
    });
    let results = a.call_pipelined(renames, 8).await.unwrap();
    assert!(results.iter().all(|r| r == &json!({})), "{results:?}");
    a.call("thread/archive", json!({"threadId": id}))
        .await
        .unwrap();
    a.call("thread/unarchive", json!({"threadId": id}))
        .await
        .unwrap();
    let last = 1 + RENAMES + 2;

    let from_a = a.thread_events(&id, last).await.unwrap();
    let from_b = b.thread_events(&id, last).await.unwrap();
    assert_eq!(seqs(&from_a), (2..=last).collect::<Vec<_>>());
    assert_eq!(from_a, from_b, "A and B saw different events");

    let mut expected_methods = vec!["thread/name/updated"; RENAMES as usize];
    expected_methods.extend(["thread/archived", "thread/unarchived"]);
    assert_eq!(methods(&from_a), expected_methods);
    for (i, e) in from_a.iter().take(RENAMES as usize).enumerate() {
        assert_eq!(
            e["params"],
            json!({"threadId": id, "threadName": format!("name {i}"), "seq": i as u64 + 2})
        );
    }
    assert_eq!(
        from_a[RENAMES as usize]["params"],
        json!({"threadId": id, "seq": last - 1})
    );
    assert_eq!(
        from_a[RENAMES as usize + 1]["params"],
        json!({"threadId": id, "seq": last})
    );

    // Nothing else is buffered: the next message on each is a fresh answer.
    for c in [&mut a, &mut b] {
        assert!(!c.has_buffered());
        let read = c
            .call("thread/read", json!({"threadId": id}))
            .await
            .unwrap();
        // Nothing came before the answer either.
        assert!(!c.has_buffered());
        assert_eq!(read["thread"]["lastSeq"], last);
        assert_eq!(read["thread"]["name"], format!("name {}", RENAMES - 1));
        assert_eq!(read["thread"]["archived"], false);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_are_seen_in_one_order_by_every_subscriber() {
    const EACH: u64 = 60;
    let daemon = Agentd::start(Options::default()).await.unwrap();
    let mut a = daemon.client("a").await.unwrap();
    let mut b = daemon.client("b").await.unwrap();
    let mut watcher = daemon.client("watcher").await.unwrap();

    let id = a.start_thread(json!({})).await.unwrap();
    b.call("thread/resume", json!({"threadId": id}))
        .await
        .unwrap();
    // The watcher joins from the beginning, so it also sees `thread/started` (seq 1).
    watcher
        .call("thread/resume", json!({"threadId": id, "afterSeq": 0}))
        .await
        .unwrap();

    let renames = |who: &'static str| {
        let id = id.clone();
        (0..EACH).map(move |i| {
            (
                "thread/name/set".to_owned(),
                json!({"threadId": id, "name": format!("{who} {i}")}),
            )
        })
    };
    let (ra, rb) = tokio::join!(
        a.call_pipelined(renames("a"), 16),
        b.call_pipelined(renames("b"), 16)
    );
    ra.unwrap();
    rb.unwrap();
    let last = 1 + 2 * EACH;

    let from_a = a.thread_events(&id, last).await.unwrap();
    let from_b = b.thread_events(&id, last).await.unwrap();
    let from_w = watcher.thread_events(&id, last).await.unwrap();
    assert_eq!(seqs(&from_w), (1..=last).collect::<Vec<_>>());
    assert_eq!(from_w[0]["method"], "thread/started");
    assert_eq!(from_a, from_w[1..], "A and the watcher disagree");
    assert_eq!(from_b, from_w[1..], "B and the watcher disagree");

    // Each writer's renames appear in the order it sent them.
    for who in ["a", "b"] {
        let names: Vec<String> = from_w
            .iter()
            .filter_map(|e| e["params"]["threadName"].as_str())
            .filter(|n| n.starts_with(who))
            .map(str::to_owned)
            .collect();
        let expected: Vec<String> = (0..EACH).map(|i| format!("{who} {i}")).collect();
        assert_eq!(names, expected);
    }
}
