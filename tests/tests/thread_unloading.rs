//! Threads nobody uses are unloaded after `thread_idle_unload_secs`, invisibly: the next request
//! loads them again and their seqs continue; memory goes back down.

use std::time::{Duration, Instant};

use agentd_tests::{Agentd, Client, Options};
use serde_json::{json, Value};

fn quick_unloading() -> Options {
    Options::default().config_toml("thread_idle_unload_secs = 1\n")
}

/// Waits (polling `thread/read`) until the thread's status is `notLoaded`.
async fn until_unloaded(c: &mut Client, thread: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = c
            .call("thread/read", json!({"threadId": thread}))
            .await
            .unwrap();
        if r["thread"]["status"]["type"] == "notLoaded" {
            return;
        }
        assert!(Instant::now() < deadline, "never unloaded: {r}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_thread_unloads_and_comes_back_with_its_seqs() {
    let d = Agentd::start(quick_unloading()).await.unwrap();
    let mut c = d.client("t").await.unwrap();
    let thread = c.start_thread(json!({})).await.unwrap();
    c.call(
        "thread/name/set",
        json!({"threadId": thread, "name": "one"}),
    )
    .await
    .unwrap();
    let before = c.events_after(&thread, 0).await.unwrap();
    let last = before
        .iter()
        .filter_map(agentd_tests::client::seq_of)
        .max()
        .unwrap();
    c.call("thread/unsubscribe", json!({"threadId": thread}))
        .await
        .unwrap();
    until_unloaded(&mut c, &thread).await;

    // A second client resumes it: everything is replayed, and the next event continues the seqs.
    let mut other = d.client("other").await.unwrap();
    let resumed = other
        .call("thread/resume", json!({"threadId": thread, "afterSeq": 0}))
        .await
        .unwrap();
    assert_eq!(resumed["thread"]["name"], "one");
    let replay = other.thread_events(&thread, last).await.unwrap();
    assert_eq!(
        replay
            .iter()
            .filter_map(agentd_tests::client::seq_of)
            .collect::<Vec<_>>(),
        (1..=last).collect::<Vec<_>>()
    );
    other
        .call(
            "thread/name/set",
            json!({"threadId": thread, "name": "two"}),
        )
        .await
        .unwrap();
    let next = other.wait_for("thread/name/updated").await.unwrap();
    assert_eq!(next["params"]["seq"], last + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscribed_thread_is_not_unloaded() {
    let d = Agentd::start(quick_unloading()).await.unwrap();
    let mut c = d.client("t").await.unwrap();
    let thread = c.start_thread(json!({})).await.unwrap();
    // A witness started later and left: once it is unloaded, a sweep has passed the subscribed
    // thread by, idle for longer.
    let witness = c.start_thread(json!({})).await.unwrap();
    c.call("thread/unsubscribe", json!({"threadId": witness}))
        .await
        .unwrap();
    until_unloaded(&mut c, &witness).await;
    let r = c
        .call("thread/read", json!({"threadId": thread}))
        .await
        .unwrap();
    assert_eq!(r["thread"]["status"]["type"], "idle", "{r}");
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// 3,000 threads started then unsubscribed leave the daemon within 15 MiB of where it started.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_thousand_unused_threads_give_their_memory_back() {
    let d = Agentd::start(quick_unloading()).await.unwrap();
    let pid = d.pid().unwrap();
    let mut c = d.client("t").await.unwrap();
    // Warm up (allocator arenas, statement caches) before the baseline, and let the warm-up
    // threads unload.
    let mut warm = Vec::new();
    for _ in 0..50 {
        let t = c.start_thread(json!({})).await.unwrap();
        c.call("thread/unsubscribe", json!({"threadId": t}))
            .await
            .unwrap();
        warm.push(t);
    }
    until_unloaded(&mut c, &warm[0]).await;
    until_unloaded(&mut c, &warm[49]).await;
    let baseline = rss_kib(pid);
    let mut ids = Vec::new();
    for _ in 0..3000 {
        let t = c.start_thread(json!({})).await.unwrap();
        c.call("thread/unsubscribe", json!({"threadId": t}))
            .await
            .unwrap();
        ids.push(t);
    }
    let loaded_peak = rss_kib(pid);
    until_unloaded(&mut c, ids.last().unwrap()).await;
    until_unloaded(&mut c, &ids[0]).await;
    // A sweep marks its threads unloaded before it has shut them down, given the page caches
    // back and trimmed the heap; so the RSS is read until it is under the bound, for a while:
    // memory that is leaked never comes back.
    let bound = baseline + 15 * 1024;
    let deadline = Instant::now() + Duration::from_secs(10);
    let after = loop {
        let rss = rss_kib(pid);
        if rss <= bound || Instant::now() >= deadline {
            break rss;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    eprintln!("RSS KiB: baseline {baseline}, 3000 loaded {loaded_peak}, after unloading {after}");
    assert!(
        after <= bound,
        "RSS grew from {baseline} KiB to {after} KiB (peak {loaded_peak})"
    );
    let list: Value = c.call("thread/list", json!({"limit": 5})).await.unwrap();
    assert_eq!(
        list["data"].as_array().unwrap().len(),
        5,
        "the threads are all still there"
    );
}
