//! A subscriber that stops reading is not waited for: its queue is dropped, it is told
//! `thread/resyncRequired {threadId, afterSeq}`, and it catches up with `thread/resume`; other
//! subscribers are not slowed (PROTOCOL.md §7).

use std::time::{Duration, Instant};

use agentd_tests::client::seq_of;
use agentd_tests::{Agentd, Client, Options, TIMEOUT};
use serde_json::{json, Value};

/// Renames written while S is paused. The kernel's send buffer towards S autotunes up to
/// `tcp_wmem`'s maximum (4 MiB by default) and swallows events before the daemon's outbound queue
/// sees any back-pressure, so write more bytes than that, plus room for the queue itself.
fn renames() -> u64 {
    let wmem_max: u64 = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem")
        .ok()
        .and_then(|s| s.split_whitespace().nth(2)?.parse().ok())
        .unwrap_or(4 << 20);
    wmem_max / 2048 + 300
}

/// About 2 KB on the wire: 500 four-byte characters (the daemon caps names at 512 characters).
fn long_name(i: u64) -> String {
    format!("{i:06} {}", "🦀".repeat(500))
}

fn seqs(events: &[Value]) -> Vec<u64> {
    events
        .iter()
        .map(|e| seq_of(e).unwrap_or_else(|| panic!("event without seq: {e}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_subscriber_is_told_to_resync_and_catches_up_exactly_while_others_keep_up() {
    let daemon = Agentd::start(Options::default().arg("--outbound-queue").arg("64"))
        .await
        .unwrap();

    // The writer starts the thread and leaves it, so only the two readers are subscribed.
    let mut writer = daemon.client("writer").await.unwrap();
    let id = writer.start_thread(json!({})).await.unwrap();
    let r = writer
        .call("thread/unsubscribe", json!({"threadId": id}))
        .await
        .unwrap();
    assert_eq!(r["status"], "unsubscribed");

    // S: small socket buffer so that, once paused, it pushes back on the daemon quickly.
    let mut slow = Client::connect_ws_request(&daemon.url, vec![], Some(4096))
        .await
        .unwrap();
    slow.initialize("slow").await.unwrap();
    slow.call("thread/resume", json!({"threadId": id, "afterSeq": 0}))
        .await
        .unwrap();
    let started = slow.thread_events(&id, 1).await.unwrap();
    assert_eq!(started[0]["method"], "thread/started");
    // A round trip, so its replay has certainly handed over to live delivery.
    slow.call("thread/read", json!({"threadId": id}))
        .await
        .unwrap();

    let mut fast = daemon.client("fast").await.unwrap();
    fast.call("thread/resume", json!({"threadId": id}))
        .await
        .unwrap();

    slow.set_paused(true);

    let renames = renames();
    let wid = id.clone();
    let produce = tokio::spawn(async move {
        let calls = (0..renames).map(|i| {
            (
                "thread/name/set".to_owned(),
                json!({"threadId": wid, "name": long_name(i)}),
            )
        });
        let t = Instant::now();
        writer.call_pipelined(calls, 64).await.unwrap();
        (writer, t.elapsed())
    });

    // F gets every event, in order, while S is paused.
    let last = 1 + renames;
    let f_events = match fast
        .thread_events_within(&id, last, Duration::from_secs(20))
        .await
    {
        Ok(events) => events,
        Err(e) => panic!("F did not get every event: {e:#}"),
    };
    assert_eq!(seqs(&f_events), (2..=last).collect::<Vec<_>>());
    for (i, e) in f_events.iter().enumerate() {
        assert_eq!(e["params"]["threadName"], long_name(i as u64));
    }
    let (_writer, took) = produce.await.unwrap();
    eprintln!("{renames} renames took {took:?}");

    // Unpaused, S finds what was queued for it, then the resync notice.
    slow.set_paused(false);
    let mut before = Vec::new();
    let resync = loop {
        let m = slow.next_message(TIMEOUT).await.unwrap();
        match m["method"].as_str() {
            Some("thread/resyncRequired") => break m,
            Some("thread/name/updated") => before.push(m),
            _ => panic!("unexpected message before the resync notice: {m}"),
        }
    };
    assert_eq!(resync["params"]["threadId"], id);
    let after_seq = resync["params"]["afterSeq"]
        .as_u64()
        .unwrap_or_else(|| panic!("afterSeq is an integer: {resync}"));
    assert!(after_seq < last, "S was never behind: {resync}");
    eprintln!("S fell behind after seq {after_seq} of {last}");
    // What S got before the notice is exactly the events up to afterSeq (seq 1 came earlier).
    assert_eq!(seqs(&before), (2..=after_seq).collect::<Vec<_>>());
    assert_eq!(before[..], f_events[..before.len()]);

    // Catch up from where it stopped: every remaining event exactly once.
    let resumed = slow
        .call(
            "thread/resume",
            json!({"threadId": id, "afterSeq": after_seq}),
        )
        .await
        .unwrap();
    assert_eq!(resumed["thread"]["lastSeq"], last);
    let replay = slow
        .thread_events_within(&id, last, Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(seqs(&replay), (after_seq + 1..=last).collect::<Vec<_>>());

    let mut all = started;
    all.extend(before);
    all.extend(replay);
    assert_eq!(seqs(&all), (1..=last).collect::<Vec<_>>());
    assert_eq!(all[1..], f_events[..], "S's events differ from F's");
}
