//! A client that goes away and comes back with `thread/resume {afterSeq}` gets exactly the events
//! it missed — no gap, no duplicate, in order — and then live ones (PROTOCOL.md §7).

use agentd_tests::client::seq_of;
use agentd_tests::{Agentd, Client, Options, TIMEOUT};
use serde_json::{json, Value};

fn seqs(events: &[Value]) -> Vec<u64> {
    events
        .iter()
        .map(|e| seq_of(e).unwrap_or_else(|| panic!("event without seq: {e}")))
        .collect()
}

async fn rename(c: &mut Client, id: &str, name: &str) {
    let r = c
        .call("thread/name/set", json!({"threadId": id, "name": name}))
        .await
        .unwrap();
    assert_eq!(r, json!({}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_after_seq_replays_exactly_the_missed_events_then_streams_live() {
    let daemon = Agentd::start(Options::default()).await.unwrap();
    // The writer started the thread, so it is subscribed and sees every event live.
    let mut writer = daemon.client("writer").await.unwrap();
    let id = writer.start_thread(json!({})).await.unwrap();

    let mut viewer = daemon.client("viewer").await.unwrap();
    viewer
        .call("thread/resume", json!({"threadId": id}))
        .await
        .unwrap();
    for i in 0..5 {
        rename(&mut writer, &id, &format!("before {i}")).await;
    }
    let seen = viewer.thread_events(&id, 6).await.unwrap();
    assert_eq!(seqs(&seen), vec![2, 3, 4, 5, 6]);
    viewer.close();
    drop(viewer);

    // Missed while away: 10 renames, an archive and an unarchive (seq 7..=18).
    for i in 0..10 {
        rename(&mut writer, &id, &format!("away {i}")).await;
    }
    writer
        .call("thread/archive", json!({"threadId": id}))
        .await
        .unwrap();
    writer
        .call("thread/unarchive", json!({"threadId": id}))
        .await
        .unwrap();
    let live_at_writer = writer.thread_events(&id, 18).await.unwrap();
    assert_eq!(seqs(&live_at_writer), (2..=18).collect::<Vec<_>>());
    let missed = &live_at_writer[5..];

    let mut back = daemon.client("viewer-again").await.unwrap();
    let rid = back
        .send_request("thread/resume", json!({"threadId": id, "afterSeq": 6}))
        .unwrap();
    // The answer comes first, then the replay.
    let answer = back.next_message(TIMEOUT).await.unwrap();
    assert_eq!(
        answer["id"], rid,
        "expected the resume answer first: {answer}"
    );
    assert_eq!(answer["result"]["thread"]["lastSeq"], 18);
    assert_eq!(answer["result"]["thread"]["name"], "away 9");
    assert_eq!(answer["result"]["thread"]["archived"], false);
    let replay = back.thread_events(&id, 18).await.unwrap();
    assert_eq!(seqs(&replay), (7..=18).collect::<Vec<_>>());
    assert_eq!(replay, missed, "the replay differs from what was sent live");

    // Then live events, with nothing in between.
    rename(&mut writer, &id, "live 0").await;
    rename(&mut writer, &id, "live 1").await;
    let live = back.thread_events(&id, 20).await.unwrap();
    assert_eq!(seqs(&live), vec![19, 20]);
    assert_eq!(live[1]["params"]["threadName"], "live 1");
    let at_writer = writer.thread_events(&id, 20).await.unwrap();
    assert_eq!(live, at_writer);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_while_events_are_being_written_has_no_gap_and_no_duplicate() {
    const RENAMES: u64 = 400;
    let daemon = Agentd::start(Options::default()).await.unwrap();
    let mut writer = daemon.client("writer").await.unwrap();
    let id = writer.start_thread(json!({})).await.unwrap();
    for i in 0..20 {
        rename(&mut writer, &id, &format!("early {i}")).await;
    }

    // The writer keeps writing while a second client resumes from seq 5: the hand-over from the
    // stored replay to live delivery happens in the middle of the burst.
    let mut watcher = daemon.client("watcher").await.unwrap();
    watcher
        .call("thread/resume", json!({"threadId": id}))
        .await
        .unwrap();
    let mut back = daemon.client("resumer").await.unwrap();
    let wid = id.clone();
    let burst = tokio::spawn(async move {
        let calls = (0..RENAMES).map(|i| {
            (
                "thread/name/set".to_owned(),
                json!({"threadId": wid, "name": format!("burst {i}")}),
            )
        });
        writer.call_pipelined(calls, 4).await.unwrap();
        writer
    });
    // Resume as soon as the burst is under way.
    watcher.wait_for("thread/name/updated").await.unwrap();
    let r = back
        .call("thread/resume", json!({"threadId": id, "afterSeq": 5}))
        .await
        .unwrap();
    let last = 1 + 20 + RENAMES;
    let head = r["thread"]["lastSeq"].as_u64().unwrap();
    assert!(
        head > 21 && head < last,
        "the resume did not land inside the burst (lastSeq {head})"
    );
    let got = back.thread_events(&id, last).await.unwrap();
    assert_eq!(seqs(&got), (6..=last).collect::<Vec<_>>());
    let mut writer = burst.await.unwrap();
    let at_writer = writer.thread_events(&id, last).await.unwrap();
    assert_eq!(seqs(&at_writer), (2..=last).collect::<Vec<_>>());
    assert_eq!(got, at_writer[4..], "replayed and live events differ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_at_the_head_or_without_after_seq_replays_nothing() {
    let daemon = Agentd::start(Options::default()).await.unwrap();
    let mut writer = daemon.client("writer").await.unwrap();
    let id = writer.start_thread(json!({})).await.unwrap();
    rename(&mut writer, &id, "one").await;
    rename(&mut writer, &id, "two").await;

    let mut at_head = daemon.client("at-head").await.unwrap();
    let r = at_head
        .call("thread/resume", json!({"threadId": id, "afterSeq": 3}))
        .await
        .unwrap();
    assert_eq!(r["thread"]["lastSeq"], 3);
    let mut no_after = daemon.client("no-after").await.unwrap();
    no_after
        .call("thread/resume", json!({"threadId": id}))
        .await
        .unwrap();

    rename(&mut writer, &id, "three").await;
    for c in [&mut at_head, &mut no_after] {
        let got = c.thread_events(&id, 4).await.unwrap();
        assert_eq!(seqs(&got), vec![4], "{got:?}");
        assert_eq!(got[0]["params"]["threadName"], "three");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_after_seq_zero_replays_the_whole_history() {
    let daemon = Agentd::start(Options::default()).await.unwrap();
    let mut writer = daemon.client("writer").await.unwrap();
    let started = writer.call("thread/start", json!({})).await.unwrap();
    let id = started["thread"]["id"].as_str().unwrap().to_owned();
    let first = writer.thread_events(&id, 1).await.unwrap();
    rename(&mut writer, &id, "a").await;
    writer
        .call("thread/archive", json!({"threadId": id}))
        .await
        .unwrap();
    let rest = writer.thread_events(&id, 3).await.unwrap();

    let mut late = daemon.client("late").await.unwrap();
    late.call("thread/resume", json!({"threadId": id, "afterSeq": 0}))
        .await
        .unwrap();
    let replay = late.thread_events(&id, 3).await.unwrap();
    assert_eq!(seqs(&replay), vec![1, 2, 3]);
    assert_eq!(replay[0], first[0]);
    assert_eq!(replay[0]["method"], "thread/started");
    assert_eq!(replay[0]["params"]["thread"]["id"], id);
    assert_eq!(replay[1..], rest[..]);
}
