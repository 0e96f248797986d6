//! Load, bounded and on loopback only: 200 WebSocket clients across 20 threads (10 subscribers
//! each, one of which drives turns back to back) with streaming turns from the mock model, for
//! `AGENTD_LOAD_SECS` seconds (default 8; `docs/benchmarks.md` records a 60 s run). Asserts
//! that no subscriber lost or reordered an event (every seq is the previous one plus one, up to
//! the thread's `lastSeq`) and that no turn is stuck; prints throughput, p99 latencies and the
//! daemon's peak RSS as one JSON line.
//!
//! A second test measures what a 100k-request flood on one connection does to another
//! connection's p99 request latency (printed, not asserted: timings are the benchmark's
//! business; `overload_flood.rs` asserts the behaviour).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use agentd_tests::mock_llm::{MockConfig, MockLlm, Scripted, Step, Usage};
use agentd_tests::{Agentd, Client, Options};
use serde_json::{json, Value};
use tokio::sync::watch;

const THREADS: usize = 20;
const CLIENTS_PER_THREAD: usize = 10;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn vm_kib(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(|a, b| a.total_cmp(b));
    v
}

/// A streamed answer: 20 deltas of 32 bytes, one every 5 ms (about 100 ms of streaming).
fn answer() -> Scripted {
    Scripted::responses(vec![
        Step::created(),
        Step::message(&["x".repeat(32).as_str(); 20]),
        Step::completed(Usage::new(10, 20)),
    ])
    .with_chunk_delay(Duration::from_millis(5))
}

/// What one subscriber saw.
#[derive(Default)]
struct Seen {
    events: u64,
    /// item/completed: server `completedAtMs` → receipt, ms.
    delivery_ms: Vec<f64>,
    resyncs: u64,
}

/// Reads a thread's events until `last_seq` (from `done`) has been seen, checking that each
/// seq follows the previous one.
async fn subscriber(
    mut c: Client,
    thread: String,
    mut done: watch::Receiver<Option<u64>>,
) -> Result<Seen, String> {
    let mut seen = Seen::default();
    let mut last = 0u64;
    loop {
        if let Some(target) = *done.borrow() {
            if last >= target {
                return Ok(seen);
            }
        }
        let m = tokio::select! {
            m = c.next_message(Duration::from_secs(30)) => m.map_err(|e| format!("{thread}: {e:#} after seq {last}"))?,
            _ = done.changed() => continue,
        };
        let p = &m["params"];
        if m["method"] == "thread/resyncRequired" {
            seen.resyncs += 1;
            continue;
        }
        let Some(seq) = p["seq"].as_u64() else {
            continue;
        };
        if m["method"] == "serverRequest/resolved" {
            continue;
        }
        if seq != last + 1 {
            return Err(format!("{thread}: seq {seq} after {last}"));
        }
        last = seq;
        seen.events += 1;
        if m["method"] == "item/completed" {
            if let Some(at) = p["completedAtMs"].as_i64() {
                seen.delivery_ms.push((now_ms() - at) as f64);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_clients_on_twenty_threads_lose_and_reorder_nothing() {
    let secs = env_u64("AGENTD_LOAD_SECS", 8);
    let mock = MockLlm::start_with(MockConfig {
        script: vec![answer()],
        cycle: true,
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let d = Arc::new(
        Agentd::start(Options::default().mock_provider(&mock.base_url(), "responses"))
            .await
            .unwrap(),
    );
    let pid = d.pid().unwrap();

    // 20 threads, each with 10 clients subscribed from seq 0 (one of them drives).
    let mut drivers = Vec::new();
    let mut subs = Vec::new();
    for t in 0..THREADS {
        let mut driver = d.client(&format!("driver-{t}")).await.unwrap();
        let thread = driver.start_thread(json!({})).await.unwrap();
        let (done_tx, done_rx) = watch::channel(None);
        for s in 1..CLIENTS_PER_THREAD {
            let mut c = d.client(&format!("sub-{t}-{s}")).await.unwrap();
            c.call("thread/resume", json!({"threadId": thread, "afterSeq": 0}))
                .await
                .unwrap();
            subs.push(tokio::spawn(subscriber(c, thread.clone(), done_rx.clone())));
        }
        drivers.push((driver, thread, done_tx));
    }
    let rss_before = vm_kib(pid, "VmRSS:");

    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let mut handles = Vec::new();
    for (mut driver, thread, done_tx) in drivers {
        handles.push(tokio::spawn(async move {
            let mut turn_ms = Vec::new();
            let mut start_ms = Vec::new();
            let mut last = 1u64; // thread/started
            let mut turns = 0u64;
            while Instant::now() < deadline {
                let t0 = Instant::now();
                let id = driver
                    .send_request(
                        "turn/start",
                        json!({"threadId": thread, "input": [{"type": "text", "text": "go"}]}),
                    )
                    .unwrap();
                let mut turn_id = None;
                // The driver is a subscriber too: check its seqs while it waits.
                loop {
                    let m = driver
                        .next_message(Duration::from_secs(30))
                        .await
                        .map_err(|e| format!("{thread}: stuck turn? {e:#}"))?;
                    if m["id"] == id {
                        if m.get("error").is_some() {
                            return Err(format!("{thread}: turn/start failed: {m}"));
                        }
                        start_ms.push(t0.elapsed().as_secs_f64() * 1e3);
                        turn_id = m["result"]["turn"]["id"].as_str().map(str::to_owned);
                        continue;
                    }
                    let Some(seq) = m["params"]["seq"].as_u64() else {
                        continue;
                    };
                    if m["method"] == "serverRequest/resolved" {
                        continue;
                    }
                    if seq != last + 1 {
                        return Err(format!("{thread}: driver saw seq {seq} after {last}"));
                    }
                    last = seq;
                    if m["method"] == "turn/completed"
                        && turn_id.is_some()
                        && m["params"]["turn"]["id"].as_str() == turn_id.as_deref()
                    {
                        if m["params"]["turn"]["status"] != "completed" {
                            return Err(format!("{thread}: turn ended {m}"));
                        }
                        break;
                    }
                }
                turns += 1;
                turn_ms.push(t0.elapsed().as_secs_f64() * 1e3);
            }
            let read = driver
                .call("thread/read", json!({"threadId": thread}))
                .await
                .map_err(|e| e.to_string())?;
            let last_seq = read["thread"]["lastSeq"].as_u64().unwrap_or(0);
            if read["thread"]["status"]["type"] != "idle" {
                return Err(format!("{thread}: not idle at the end: {read}"));
            }
            // The thread's return to idle is an event of its own, committed right after
            // `turn/completed`; the driver must still receive it, in order.
            while last < last_seq {
                let m = driver
                    .next_message(Duration::from_secs(10))
                    .await
                    .map_err(|e| {
                        format!("{thread}: driver saw {last}, lastSeq {last_seq}: {e:#}")
                    })?;
                let Some(seq) = m["params"]["seq"].as_u64() else {
                    continue;
                };
                if m["method"] == "serverRequest/resolved" {
                    continue;
                }
                if seq != last + 1 {
                    return Err(format!("{thread}: driver saw seq {seq} after {last}"));
                }
                last = seq;
            }
            if last_seq != last {
                return Err(format!("{thread}: driver saw {last}, lastSeq {last_seq}"));
            }
            let _ = done_tx.send(Some(last_seq));
            Ok::<_, String>((turns, last_seq, turn_ms, start_ms))
        }));
    }

    let mut turns = 0;
    let mut turn_ms = Vec::new();
    let mut start_ms = Vec::new();
    let mut thread_events = 0;
    for h in handles {
        let (n, last_seq, t, s) = h.await.unwrap().unwrap();
        turns += n;
        thread_events += last_seq;
        turn_ms.extend(t);
        start_ms.extend(s);
    }
    let elapsed = started.elapsed();
    let mut deliveries = thread_events; // what the drivers received
    let mut delivery_ms = Vec::new();
    for s in subs {
        let seen = s.await.unwrap().unwrap();
        assert_eq!(seen.resyncs, 0, "a subscriber had to resync");
        deliveries += seen.events;
        delivery_ms.extend(seen.delivery_ms);
    }
    let peak_rss = vm_kib(pid, "VmHWM:");
    let turn_ms = sorted(turn_ms);
    let start_ms = sorted(start_ms);
    let delivery_ms = sorted(delivery_ms);
    let secs_f = elapsed.as_secs_f64();
    let figures = json!({
        "seconds": secs_f,
        "clients": THREADS * CLIENTS_PER_THREAD,
        "threads": THREADS,
        "turns": turns,
        "turns_per_s": turns as f64 / secs_f,
        "events_per_thread_total": thread_events,
        "deliveries": deliveries,
        "deliveries_per_s": deliveries as f64 / secs_f,
        "turn_ms_p50": percentile(&turn_ms, 0.5),
        "turn_ms_p99": percentile(&turn_ms, 0.99),
        "turn_start_answer_ms_p50": percentile(&start_ms, 0.5),
        "turn_start_answer_ms_p99": percentile(&start_ms, 0.99),
        "item_completed_delivery_ms_p50": percentile(&delivery_ms, 0.5),
        "item_completed_delivery_ms_p99": percentile(&delivery_ms, 0.99),
        "rss_kib_before": rss_before,
        "peak_rss_kib": peak_rss,
        "lost_or_reordered": 0,
        "stuck_turns": 0,
    });
    println!("load: {figures}");
    assert!(turns >= THREADS as u64, "every thread ran a turn");
}

/// One connection's p99 `thread/read` latency over `n` sequential requests, in ms.
async fn p99_reads(c: &mut Client, thread: &str, n: usize) -> f64 {
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = Instant::now();
        let r = c
            .request("thread/read", json!({"threadId": thread}))
            .await
            .unwrap();
        assert!(r.get("result").is_some(), "{r}");
        v.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    percentile(&sorted(v), 0.99)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_on_one_connection_and_another_connections_p99() {
    let flood_n = env_u64("AGENTD_FLOOD_REQUESTS", 100_000) as usize;
    let d = Agentd::start(Options::default()).await.unwrap();
    let pid = d.pid().unwrap();
    let mut calm = d.client("calm").await.unwrap();
    let thread = calm.start_thread(json!({})).await.unwrap();
    let quiet_p99 = p99_reads(&mut calm, &thread, 500).await;

    let mut flood = d.client("flood").await.unwrap();
    let rss_before = vm_kib(pid, "VmRSS:");
    let sender = tokio::spawn(async move {
        for i in 0..flood_n {
            flood
                .send_json(&json!({"id": i, "method": "thread/list", "params": {"limit": 1}}))
                .unwrap();
        }
        let (mut ok, mut overloaded) = (0u64, 0u64);
        for _ in 0..flood_n {
            let m = flood.next_message(Duration::from_secs(60)).await.unwrap();
            if m.get("result").is_some() {
                ok += 1;
            } else {
                assert_eq!(m["error"]["code"], -32001, "{m}");
                overloaded += 1;
            }
        }
        (ok, overloaded)
    });
    let flooded_p99 = p99_reads(&mut calm, &thread, 500).await;
    let (ok, overloaded) = sender.await.unwrap();
    let peak = vm_kib(pid, "VmHWM:");
    let figures = json!({
        "flood_requests": flood_n,
        "flood_answered_ok": ok,
        "flood_answered_overloaded": overloaded,
        "other_connection_p99_ms_quiet": quiet_p99,
        "other_connection_p99_ms_during_flood": flooded_p99,
        "ratio": flooded_p99 / quiet_p99.max(1e-3),
        "rss_kib_before_flood": rss_before,
        "peak_rss_kib": peak,
    });
    println!("flood: {figures}");
    assert_eq!(ok + overloaded, flood_n as u64);
    let _: Value = figures;
}
