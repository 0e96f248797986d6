//! One connection flooding requests (PROTOCOL.md §2, -32001): once its bounded request queue is
//! full its requests are answered -32001 at once, every request still gets exactly one answer,
//! and another connection's requests keep succeeding meanwhile. Timings (p99 under a flood) are
//! the benchmark's business; this checks behaviour.

use std::collections::HashSet;
use std::time::Duration;

use agentd_tests::{Agentd, Options};
use serde_json::json;

const FLOOD: usize = 20_000;

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_gets_overloaded_answers_while_another_connection_is_served() {
    let d = Agentd::start(Options::default().arg("--request-queue").arg("4"))
        .await
        .unwrap();
    let pid = d.pid().unwrap();
    let mut calm = d.client("calm").await.unwrap();
    let thread = calm.start_thread(json!({})).await.unwrap();
    let mut flood = d.client("flood").await.unwrap();
    let rss_before = rss_kib(pid);

    // Mixed ids (numbers and strings), all sent without waiting.
    let mut ids = Vec::with_capacity(FLOOD);
    for i in 0..FLOOD {
        let id = if i % 2 == 0 {
            json!(i)
        } else {
            json!(format!("s{i}"))
        };
        flood
            .send_json(&json!({"id": id, "method": "thread/list", "params": {"limit": 5}}))
            .unwrap();
        ids.push(id);
    }

    // Meanwhile the other connection is served, each answer a real result.
    for i in 0..50 {
        let r = calm
            .request("thread/read", json!({"threadId": thread}))
            .await
            .unwrap();
        assert!(r.get("result").is_some(), "calm request {i}: {r}");
    }

    let mut seen = HashSet::new();
    let (mut ok, mut overloaded) = (0usize, 0usize);
    while seen.len() < FLOOD {
        let m = flood.next_message(Duration::from_secs(30)).await.unwrap();
        let id = m["id"].to_string();
        assert!(seen.insert(id.clone()), "answered twice: {m}");
        if m.get("result").is_some() {
            ok += 1;
        } else {
            assert_eq!(m["error"]["code"], -32001, "{m}");
            overloaded += 1;
        }
    }
    let expected: HashSet<String> = ids.iter().map(|v| v.to_string()).collect();
    assert_eq!(seen, expected);
    assert!(overloaded > 0, "a 4-deep queue never filled ({ok} ok)");
    assert!(ok > 0);

    // The flooder's connection is still usable, and so is the daemon.
    flood.call("thread/list", json!({})).await.unwrap();
    calm.call("thread/list", json!({})).await.unwrap();
    let growth = rss_kib(pid).saturating_sub(rss_before);
    assert!(growth < 200 * 1024, "RSS grew by {growth} KiB");
}
