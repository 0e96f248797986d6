//! Fan-out: one thread, many WebSocket subscribers. The primary figures come from a turn
//! (`turns::fanout`: a model stream's burst of deltas, the daemon's real hot path). The secondary
//! ones, below, produce events by pipelined renames instead; a connection handles its requests
//! one at a time, so those figures measure request round trips as much as fan-out.
//!
//! Each subscriber is a bare WebSocket stream reading only `seq` and the name (send time and
//! slot); it checks that its seqs are strictly consecutive and records send → receipt latency
//! for every event. That latency includes the request path, its queueing and the commit, so it
//! bounds commit → receipt from above; two more figures separate the parts: each receipt against
//! the writer's answer (sent right after the fan-out), and a paced run with one request in
//! flight (latency without queueing).

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::daemon::{cpu_line, cpu_time, WsDaemon};
use super::stats::{ms, per_s, thousands, Summary};
use super::writers;
use super::ws::{self, Ws};
use super::{now_ns, Ctx};

const SEQ_KEY: &str = "\"seq\":";
const WARMUP_NAME: &str = "warmup";
/// A subscriber stops when nothing arrives for this long (events went missing).
const IDLE_TIMEOUT: Duration = Duration::from_secs(15);

/// The turn-driven figures, then the rename-driven ones.
pub async fn run(ctx: &Ctx) -> Result<Value> {
    let turn = super::turns::fanout(ctx).await?;
    println!();
    let renames = renames(ctx).await?;
    Ok(json!({"turn": turn, "renames": renames}))
}

/// Secondary: events produced by pipelined `thread/name/set` requests.
async fn renames(ctx: &Ctx) -> Result<Value> {
    let o = &ctx.opts;
    let (subs, events, writers) = (o.subscribers.max(1), o.fanout_events, o.writers.max(1));
    let paced = o.paced_events;
    println!(
        "== fanout (secondary, rename-driven): 1 thread, {subs} WebSocket subscribers, {events} \
         renames from {writers} \
         writers × {} in flight, then {paced} renames one at a time; daemon --outbound-queue {}",
        o.in_flight, o.outbound_queue
    );
    let d = WsDaemon::start(
        &ctx.bin,
        &["--outbound-queue".into(), o.outbound_queue.to_string()],
    )
    .await?;

    let mut setup = d.connect("agentd-bench-setup").await?;
    let thread_id = start_unsubscribed_thread(&mut setup).await?;

    let slots = events + paced;
    let (live_tx, mut live_rx) = mpsc::channel::<()>(subs);
    let (loaded_tx, mut loaded_rx) = mpsc::channel::<()>(subs);
    let mut tasks = Vec::with_capacity(subs);
    for i in 0..subs {
        let mut c = d
            .connect("agentd-bench-subscriber")
            .await
            .with_context(|| format!("connecting subscriber {i}"))?;
        ws::call(&mut c, 1, "thread/resume", json!({"threadId": thread_id}))
            .await
            .with_context(|| format!("subscriber {i} resuming"))?;
        let signals = Signals {
            live: live_tx.clone(),
            loaded: loaded_tx.clone(),
        };
        tasks.push(tokio::spawn(subscriber(
            c, events, slots, ctx.base, signals,
        )));
    }
    let mut writer_conns = Vec::with_capacity(writers);
    for i in 0..writers {
        let c = d
            .connect("agentd-bench-writer")
            .await
            .with_context(|| format!("connecting writer {i}"))?;
        writer_conns.push(c);
    }
    let paced_conn = d.connect("agentd-bench-paced-writer").await?;

    // One event every subscriber must see before the clock starts: all are live.
    ws::call(
        &mut setup,
        2,
        "thread/name/set",
        json!({"threadId": thread_id, "name": WARMUP_NAME}),
    )
    .await?;
    wait_all(&mut live_rx, subs, "see the warm-up event").await?;

    let cpu_before = d.cpu_time()?;
    let own_before = cpu_time(std::process::id())?;
    let loaded =
        writers::run_all(writer_conns, &thread_id, 0, events, o.in_flight, ctx.base).await?;
    // The paced run starts once every subscriber has drained the loaded one.
    wait_all(&mut loaded_rx, subs, "receive every loaded event")
        .await
        .ok();
    let cpu = d.cpu_time()?.saturating_sub(cpu_before);
    let own_cpu = cpu_time(std::process::id())?.saturating_sub(own_before);
    let paced_run =
        writers::run_all(vec![paced_conn], &thread_id, events, paced, 1, ctx.base).await?;

    let mut results = Vec::with_capacity(subs);
    for (i, t) in tasks.into_iter().enumerate() {
        let r = t
            .await
            .map_err(|e| anyhow!("subscriber {i} panicked: {e}"))?
            .with_context(|| format!("subscriber {i}"))?;
        results.push(r);
    }
    drop(setup);
    d.stop().await;

    let committed = loaded.committed();
    let expected = committed * subs as u64;
    let delivered: u64 = results
        .iter()
        .map(|r| r.loaded_latencies.len() as u64)
        .sum();
    let seq_breaks: u64 = results.iter().map(|r| r.seq_breaks).sum();
    let resyncs: u64 = results.iter().map(|r| r.resyncs).sum();
    let short = results.iter().filter(|r| r.timed_out).count();
    let last_receipt = results.iter().map(|r| r.last_loaded_ns).max().unwrap_or(0);
    let span = last_receipt.saturating_sub(loaded.first_send_ns);
    let rate = per_s(delivered, span);
    let produce_rate = per_s(
        committed,
        loaded.last_answer_ns.saturating_sub(loaded.first_send_ns),
    );
    // Each receipt against the moment the writer had its answer (sent after the fan-out):
    // what fan-out adds beyond the request's own path, without the request queueing.
    let mut after_answer: Vec<i64> = Vec::with_capacity(delivered as usize);
    for r in &results {
        for (slot, &got) in r.receipts.iter().enumerate().take(events as usize) {
            let answered = loaded.answer_ns.get(slot).copied().unwrap_or(0);
            if got != 0 && answered != 0 {
                after_answer.push(got as i64 - answered as i64);
            }
        }
    }
    after_answer.sort_unstable();
    let mut request = loaded.request_latencies();
    let request = Summary::of(&mut request);
    let mut paced_request = paced_run.request_latencies();
    let paced_request = Summary::of(&mut paced_request);
    let mut paced_lat: Vec<u64> = results
        .iter_mut()
        .flat_map(|r| std::mem::take(&mut r.paced_latencies))
        .collect();
    let paced_delivered = paced_lat.len();
    let paced_lat = Summary::of(&mut paced_lat);
    let mut lat: Vec<u64> = results
        .into_iter()
        .flat_map(|r| r.loaded_latencies)
        .collect();
    let lat = Summary::of(&mut lat);

    println!(
        "renames sent {}, answered {} ({} errors{}), events produced at {} /s",
        loaded.sent,
        loaded.answered,
        loaded.errors,
        loaded
            .first_error
            .as_deref()
            .map(|e| format!("; first: {e}"))
            .unwrap_or_default(),
        thousands(produce_rate)
    );
    println!(
        "deliveries {delivered} of {expected} expected ({} missing); seq breaks {seq_breaks}; \
         resyncRequired {resyncs}; subscribers that timed out {short}",
        expected.saturating_sub(delivered)
    );
    println!(
        "deliveries/s {} (deliveries ÷ first send → last receipt, {})",
        thousands(rate),
        ms(span)
    );
    println!(
        "  {}; the bench's own clients used {:.0}% of one core",
        cpu_line(cpu, span, committed),
        own_cpu.as_nanos() as f64 / span.max(1) as f64 * 100.0
    );
    println!(
        "latency send → receipt: p50 {}  p99 {}  max {}",
        ms(lat.p50),
        ms(lat.p99),
        ms(lat.max)
    );
    println!(
        "  (an upper bound of commit → receipt: it includes the rename request's path, its \
         queueing behind up to {} in-flight requests, and the commit)",
        o.in_flight * writers
    );
    println!(
        "  request send → answer : p50 {}  p99 {}  (the same queueing, no fan-out)",
        ms(request.p50),
        ms(request.p99)
    );
    println!(
        "  receipt − writer's answer: p50 {}  p99 {}  max {}  (fan-out's own delay)",
        signed_ms(percentile_i64(&after_answer, 50.0)),
        signed_ms(percentile_i64(&after_answer, 99.0)),
        signed_ms(after_answer.last().copied().unwrap_or(0))
    );
    println!(
        "unloaded, 1 rename in flight ({} events, {paced_delivered} deliveries): send → receipt \
         p50 {}  p99 {}  max {}; send → answer p50 {}",
        paced_run.committed(),
        ms(paced_lat.p50),
        ms(paced_lat.p99),
        ms(paced_lat.max),
        ms(paced_request.p50)
    );
    println!("targets: ≥ 200,000 deliveries/s, p99 ≤ 5 ms");

    Ok(json!({
        "subscribers": subs,
        "events": committed,
        "renameErrors": loaded.errors,
        "deliveries": delivered,
        "expectedDeliveries": expected,
        "missing": expected.saturating_sub(delivered),
        "seqBreaks": seq_breaks,
        "resyncRequired": resyncs,
        "deliveriesPerSec": rate.round(),
        "eventsPerSec": produce_rate.round(),
        "daemonCpuMs": cpu.as_millis() as u64,
        "benchCpuMs": own_cpu.as_millis() as u64,
        "latencyMs": lat.json_ms(),
        "requestLatencyMs": request.json_ms(),
        "receiptAfterAnswerMs": {
            "p50": ms_f_signed(percentile_i64(&after_answer, 50.0)),
            "p99": ms_f_signed(percentile_i64(&after_answer, 99.0)),
        },
        "unloadedLatencyMs": paced_lat.json_ms(),
    }))
}

async fn wait_all(rx: &mut mpsc::Receiver<()>, n: usize, what: &str) -> Result<()> {
    for _ in 0..n {
        tokio::time::timeout(IDLE_TIMEOUT, rx.recv())
            .await
            .with_context(|| format!("a subscriber did not {what} in time"))?
            .with_context(|| format!("a subscriber ended before it could {what}"))?;
    }
    Ok(())
}

pub(super) fn percentile_i64(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn signed_ms(ns: i64) -> String {
    format!("{:.3} ms", ns as f64 / 1e6)
}

fn ms_f_signed(ns: i64) -> f64 {
    (ns as f64 / 1_000.0).round() / 1_000.0
}

/// Starts a thread on `setup` and unsubscribes it, so only the benchmark's subscribers count.
pub async fn start_unsubscribed_thread(setup: &mut Ws) -> Result<String> {
    let started = ws::call(setup, 100, "thread/start", json!({})).await?;
    let thread_id = started["thread"]["id"]
        .as_str()
        .context("thread/start answer without thread.id")?
        .to_owned();
    ws::call(
        setup,
        101,
        "thread/unsubscribe",
        json!({"threadId": thread_id}),
    )
    .await?;
    Ok(thread_id)
}

#[derive(Debug, Default)]
struct SubscriberResult {
    /// Send → receipt, ns, of each event of the loaded run, then of the paced run.
    loaded_latencies: Vec<u64>,
    paced_latencies: Vec<u64>,
    /// Receipt time by slot (0 = not received).
    receipts: Vec<u64>,
    seq_breaks: u64,
    resyncs: u64,
    last_loaded_ns: u64,
    timed_out: bool,
}

struct Signals {
    /// Sent once the warm-up event arrived.
    live: mpsc::Sender<()>,
    /// Sent once every event of the loaded run arrived.
    loaded: mpsc::Sender<()>,
}

/// Reads until every slot's event arrived (or nothing arrives for a while). Slots below
/// `loaded` belong to the loaded run, the rest to the paced one.
async fn subscriber(
    mut ws: Ws,
    loaded: u64,
    slots: u64,
    base: Instant,
    signals: Signals,
) -> Result<SubscriberResult> {
    let mut r = SubscriberResult {
        loaded_latencies: Vec::with_capacity(loaded as usize),
        paced_latencies: Vec::with_capacity((slots - loaded) as usize),
        receipts: vec![0; slots as usize],
        ..Default::default()
    };
    let mut last_seq: Option<u64> = None;
    let mut received = 0u64;
    if loaded == 0 {
        let _ = signals.loaded.try_send(());
    }
    while received < slots {
        let msg = match tokio::time::timeout(IDLE_TIMEOUT, ws.next()).await {
            Err(_) => {
                r.timed_out = true;
                break;
            }
            Ok(None) => bail!("connection closed"),
            Ok(Some(m)) => m.context("websocket read")?,
        };
        let now = now_ns(base);
        let text = match &msg {
            Message::Text(t) => t.as_str(),
            Message::Close(c) => bail!("connection closed by the daemon: {c:?}"),
            _ => continue,
        };
        if text.contains("\"thread/name/updated\"") {
            let seq = ws::u64_after(text, SEQ_KEY)
                .with_context(|| format!("event without seq: {text:.200}"))?;
            if last_seq.is_some_and(|prev| seq != prev + 1) {
                r.seq_breaks += 1;
            }
            last_seq = Some(seq);
            if let Some((sent, slot)) = writers::name_fields(text) {
                let Some(receipt) = r.receipts.get_mut(slot as usize) else {
                    bail!("event for an unknown slot {slot}: {text:.200}");
                };
                *receipt = now;
                received += 1;
                if slot < loaded {
                    r.loaded_latencies.push(now.saturating_sub(sent));
                    r.last_loaded_ns = now;
                    if r.loaded_latencies.len() as u64 == loaded {
                        let _ = signals.loaded.try_send(());
                    }
                } else {
                    r.paced_latencies.push(now.saturating_sub(sent));
                }
            } else if text.contains(WARMUP_NAME) {
                let _ = signals.live.try_send(());
            }
        } else if text.contains("\"thread/resyncRequired\"") {
            r.resyncs += 1;
        }
    }
    Ok(r)
}
