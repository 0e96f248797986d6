//! Several daemons on one PostgreSQL database (docs/decisions/018-several-daemons-on-postgres.md):
//! what following a thread another daemon holds costs a client, and how long a take-over takes.
//!
//! Each figure runs on a database of its own in one throwaway PostgreSQL server
//! (`agentd_tests::postgres`), with daemons started as every benchmark starts them:
//!
//! - latency: daemons A and B. A client on A starts a thread and a paced turn (the `turn`
//!   bench's plan and [`StampSource`]); a client on B follows it (`thread/resume` before the
//!   turn). Model delta → receipt for each client, against the direct-read baseline.
//! - fan-out: daemons A, B and C with 20 clients each, all subscribed to one thread A holds;
//!   one burst turn. Logged events delivered per second over every client, the last delta's
//!   latency per client, and a check that every client got every seq once, in order.
//! - take-over: daemons A and B with a 1 s lease. A runs a turn whose model stream waits
//!   (`mock_llm`'s gate), a client on B follows it; kill -9 of A → that client's
//!   `turn/completed` with status `interrupted`. Five times, a fresh A and thread each time.
//!
//! A figure that cannot be measured says why in its JSON (`error`); the others are still
//! measured. The fan-out figure is withheld (`ok: false`) when any client missed, repeated or
//! reordered an event: a rate of wrong deliveries is not a figure.

use std::time::{Duration, Instant};

use agentd_tests::mock_llm::{MockLlm, Scripted, Step, Usage};
use agentd_tests::postgres::TestPostgres;
use anyhow::{anyhow, bail, Context, Result};
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use super::daemon::{cpu_line, WsDaemon};
use super::fanout::percentile_i64;
use super::sse_source::{stamps_of, Plan, StampSource, StreamLog};
use super::stats::{ms, ms_f, per_s, thousands, Summary};
use super::turns::{baseline, provider_args, us_signed};
use super::ws::{self, Ws};
use super::{now_ns, Ctx};

const SEQ_KEY: &str = "\"seq\":";
const DELTA_METHOD: &str = "\"item/agentMessage/delta\"";
/// A reader gives up when nothing arrives for this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// The user's message of every turn.
const PROMPT: &str = "hello";
/// Deltas of the warm-up turn run before anything is timed.
const WARMUP_DELTAS: usize = 20;
/// Daemons of the fan-out figure (the first holds the thread) and clients on each.
const FANOUT_DAEMONS: [&str; 3] = ["A", "B", "C"];
const CLIENTS_PER_DAEMON: usize = 20;
/// The lease of the take-over figure: a daemon gives a dead holder's thread to itself once
/// this lapses, so the take-over time is about this plus the sweep that notices it.
const TAKEOVER_LEASE_MS: u64 = 1000;
const TAKEOVER_RUNS: usize = 5;

/// The `cluster` benchmark: follower latency, fan-out over three daemons, take-over time.
pub async fn run(ctx: &Ctx) -> Result<Value> {
    let pg = tokio::task::spawn_blocking(TestPostgres::start)
        .await
        .map_err(|e| anyhow!("starting PostgreSQL panicked: {e}"))?
        .context("starting a throwaway PostgreSQL server")?;
    let cwd = tempfile::tempdir().context("creating the threads' cwd")?;
    let cwd = cwd.path().display().to_string();

    let latency = figure("latency", latency(ctx, &pg, &cwd).await);
    println!();
    let fanout = figure("fanout", fanout(ctx, &pg, &cwd).await);
    println!();
    let takeover = figure("takeover", takeover(ctx, &pg, &cwd).await);
    // Stopping the server waits for `pg_ctl`.
    let _ = tokio::task::spawn_blocking(move || drop(pg)).await;
    Ok(json!({"latency": latency, "fanout": fanout, "takeover": takeover}))
}

/// A figure's JSON, or why it could not be measured.
fn figure(name: &str, result: Result<Value>) -> Value {
    result.unwrap_or_else(|e| {
        println!("cluster {name}: FAILED: {e:#}");
        json!({"error": format!("{e:#}")})
    })
}

/// `agentd serve` arguments: the model at `model_url`, the shared database, and the lease.
fn daemon_args(model_url: &str, store: &str, lease_ms: Option<u64>) -> Vec<String> {
    let mut args = provider_args(model_url);
    args.extend(["--store".to_string(), store.to_string()]);
    if let Some(lease) = lease_ms {
        args.extend(["-c".to_string(), format!("store_lease_ms={lease}")]);
    }
    args
}

/// Figure 1: a paced turn on A, one client on A and one following on B.
async fn latency(ctx: &Ctx, pg: &TestPostgres, cwd: &str) -> Result<Value> {
    let o = &ctx.opts;
    let paced = Plan {
        deltas: o.turn_deltas,
        delta_bytes: o.delta_bytes,
        pace: Some(Duration::from_micros(o.turn_pace_us)),
    };
    println!(
        "== cluster latency: daemons A and B on one PostgreSQL database (default lease); a \
         client on A starts a thread and a turn of {} deltas of {} bytes paced 1 per {} µs, a \
         client on B follows it; model delta → client `item/agentMessage/delta`; baseline: a \
         client reading the model stream directly",
        o.turn_deltas, o.delta_bytes, o.turn_pace_us
    );
    let source = StampSource::start(ctx.base, paced)?;
    let base = baseline(&source, paced, ctx.base).await?;
    let store = pg.create_database("bench_latency").await?;
    let args = daemon_args(&source.base_url(), &store, None);
    let a = WsDaemon::start(&ctx.bin, &args).await.context("daemon A")?;
    let b = WsDaemon::start(&ctx.bin, &args).await.context("daemon B")?;
    println!("(daemons A pid {}, B pid {})", a.pid, b.pid);
    let warm = Plan {
        deltas: WARMUP_DELTAS,
        pace: None,
        ..paced
    };
    followed_turn(&a, &b, &source, warm, cwd, ctx.base)
        .await
        .context("warm-up turn")?;
    let (on_a, on_b) = followed_turn(&a, &b, &source, paced, cwd, ctx.base).await?;
    a.stop().await;
    b.stop().await;

    println!(
        "baseline (direct read of the stream): p50 {}  p99 {}",
        ms(base.p50),
        ms(base.p99)
    );
    let mut figures = serde_json::Map::new();
    figures.insert("deltas".into(), json!(o.turn_deltas));
    figures.insert("paceUs".into(), json!(o.turn_pace_us));
    figures.insert("baselineMs".into(), base.json_ms());
    for (key, label, seen) in [
        ("holder", "client on A (holder)   ", &on_a),
        ("follower", "client on B (following)", &on_b),
    ] {
        let lat = Summary::of(&mut seen.latencies.clone());
        let added_p50 = lat.p50 as i64 - base.p50 as i64;
        let added_p99 = lat.p99 as i64 - base.p99 as i64;
        println!(
            "{label}: delta → client p50 {}  p99 {}  max {}; added p50 {}  p99 {}",
            ms(lat.p50),
            ms(lat.p99),
            ms(lat.max),
            us_signed(added_p50),
            us_signed(added_p99),
        );
        println!("  {}", seen.check_line(o.turn_deltas));
        figures.insert(
            key.into(),
            json!({
                "latencyMs": lat.json_ms(),
                "addedP50Us": added_p50 as f64 / 1e3,
                "addedP99Us": added_p99 as f64 / 1e3,
                "deliveries": seen.latencies.len(),
                "deltaEvents": seen.delta_events,
                "gaps": seen.gaps,
                "duplicates": seen.duplicates,
                "resyncRequired": seen.resyncs,
            }),
        );
    }
    // Both clients received the same deltas in the same order: their receipts pair up.
    if on_a.latencies.len() == o.turn_deltas && on_b.latencies.len() == o.turn_deltas {
        let mut behind: Vec<i64> = on_b
            .latencies
            .iter()
            .zip(&on_a.latencies)
            .map(|(b, a)| *b as i64 - *a as i64)
            .collect();
        behind.sort_unstable();
        let (p50, p99) = (percentile_i64(&behind, 50.0), percentile_i64(&behind, 99.0));
        println!(
            "B's receipt − A's receipt of the same delta: p50 {}  p99 {}",
            us_signed(p50),
            us_signed(p99)
        );
        figures.insert(
            "followerBehindHolderUs".into(),
            json!({"p50": p50 as f64 / 1e3, "p99": p99 as f64 / 1e3}),
        );
    }
    Ok(Value::Object(figures))
}

/// A fresh thread started on A by the holder's client, followed by a client on B; one turn
/// whose model answer follows `plan`, started by the holder's client. Returns what each saw.
async fn followed_turn(
    a: &WsDaemon,
    b: &WsDaemon,
    source: &StampSource,
    plan: Plan,
    cwd: &str,
    base: Instant,
) -> Result<(Seen, Seen)> {
    source.set_plan(plan);
    let mut holder = a.connect("agentd-bench-holder").await?;
    let started = ws::call(&mut holder, 1, "thread/start", json!({"cwd": cwd})).await?;
    let thread_id = thread_id_of(&started)?;
    let mut follower = b.connect("agentd-bench-follower").await?;
    ws::call(
        &mut follower,
        1,
        "thread/resume",
        json!({"threadId": thread_id}),
    )
    .await
    .context("resuming the thread on B")?;
    let (live_tx, live_rx) = oneshot::channel();
    let marks = Marks {
        live: Some(live_tx),
        first_delta: None,
    };
    let mut on_b = tokio::spawn(watch_turn(follower, base, marks));
    // One event B's client must see before the turn starts: it follows the thread.
    set_name(&mut holder, 2, &thread_id).await?;
    until_marked(live_rx, &mut on_b, "B's client going live").await?;
    // The holder's client reads from the moment it asks for the turn (the answer is skipped).
    let request = json!({"jsonrpc": "2.0", "id": 3, "method": "turn/start",
                         "params": turn_params(&thread_id)});
    ws::send_json(&mut holder, &request).await?;
    let on_a = tokio::spawn(watch_turn(holder, base, Marks::default()));
    let on_a = joined(on_a, "A's client").await?;
    let on_b = joined(on_b, "B's client").await?;
    check_stream(source, plan)?;
    Ok((on_a, on_b))
}

/// Figure 2: three daemons, 20 clients on each, one burst turn on the thread A holds.
async fn fanout(ctx: &Ctx, pg: &TestPostgres, cwd: &str) -> Result<Value> {
    let o = &ctx.opts;
    let clients = FANOUT_DAEMONS.len() * CLIENTS_PER_DAEMON;
    let plan = Plan {
        deltas: o.turn_fanout_deltas,
        delta_bytes: o.delta_bytes,
        pace: None,
    };
    println!(
        "== cluster fanout: daemons A, B, C on one database (default lease), \
         {CLIENTS_PER_DAEMON} WebSocket clients on each ({clients} in all) subscribed to one \
         thread A holds; one turn streaming a burst of {} deltas",
        plan.deltas
    );
    let source = StampSource::start(ctx.base, plan)?;
    let store = pg.create_database("bench_fanout").await?;
    let args = daemon_args(&source.base_url(), &store, None);
    let mut daemons = Vec::with_capacity(FANOUT_DAEMONS.len());
    for name in FANOUT_DAEMONS {
        let d = WsDaemon::start(&ctx.bin, &args)
            .await
            .with_context(|| format!("daemon {name}"))?;
        daemons.push(d);
    }
    println!(
        "(daemons {})",
        FANOUT_DAEMONS
            .iter()
            .zip(&daemons)
            .map(|(n, d)| format!("{n} pid {}", d.pid))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let warm = Plan {
        deltas: WARMUP_DELTAS,
        ..plan
    };
    shared_turn(&daemons, &source, warm, cwd, ctx.base)
        .await
        .context("warm-up turn")?;
    let cpu_before = daemons
        .iter()
        .map(WsDaemon::cpu_time)
        .collect::<Result<Vec<_>>>()?;
    let r = shared_turn(&daemons, &source, plan, cwd, ctx.base).await?;
    let cpu: Vec<Duration> = daemons
        .iter()
        .zip(&cpu_before)
        .map(|(d, before)| d.cpu_time().map(|c| c.saturating_sub(*before)))
        .collect::<Result<_>>()?;
    for d in daemons {
        d.stop().await;
    }

    // Every client should end at the same seq, having received each one after it went live.
    let last_seq = r.clients.iter().map(|(_, s)| s.last_seq).max().unwrap_or(0);
    let missing: u64 = r
        .clients
        .iter()
        .map(|(_, s)| (last_seq.saturating_sub(s.live_seq)).saturating_sub(s.events))
        .sum();
    let gaps: u64 = r.clients.iter().map(|(_, s)| s.gaps).sum();
    let duplicates: u64 = r.clients.iter().map(|(_, s)| s.duplicates).sum();
    let resyncs: u64 = r.clients.iter().map(|(_, s)| s.resyncs).sum();
    let timed_out = r.clients.iter().filter(|(_, s)| s.timed_out).count();
    let short = r
        .clients
        .iter()
        .filter(|(_, s)| s.latencies.len() != plan.deltas)
        .count();
    let not_completed = r
        .clients
        .iter()
        .filter(|(_, s)| !s.timed_out && s.status != "completed")
        .count();
    let events: u64 = r.clients.iter().map(|(_, s)| s.events).sum();
    let deliveries: u64 = r
        .clients
        .iter()
        .map(|(_, s)| s.latencies.len() as u64)
        .sum();
    let last_completed = r
        .clients
        .iter()
        .map(|(_, s)| s.completed_ns)
        .max()
        .unwrap_or(0);
    let last_receipt = r
        .clients
        .iter()
        .map(|(_, s)| s.last_delta_ns)
        .max()
        .unwrap_or(0);
    let event_span = last_completed.saturating_sub(r.sent_ns);
    let delta_span = last_receipt.saturating_sub(r.stream.first_delta_ns);
    let event_rate = per_s(events, event_span);
    let delta_rate = per_s(deliveries, delta_span);
    let mut last_delta: Vec<u64> = r
        .clients
        .iter()
        .filter_map(|(_, s)| s.latencies.last().copied())
        .collect();
    let last_delta = Summary::of(&mut last_delta);
    let mut all: Vec<u64> = r
        .clients
        .iter()
        .flat_map(|(_, s)| s.latencies.iter().copied())
        .collect();
    let all = Summary::of(&mut all);
    let stream_ns = r
        .stream
        .last_delta_ns
        .saturating_sub(r.stream.first_delta_ns);

    let problems = [
        (gaps, "seqs skipped"),
        (duplicates, "events repeated or out of order"),
        (missing, "events missing"),
        (resyncs, "resyncRequired"),
        (timed_out as u64, "clients timed out"),
        (short as u64, "clients short of deltas"),
        (
            not_completed as u64,
            "clients whose turn did not end `completed`",
        ),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect::<Vec<_>>();
    let ok = problems.is_empty();
    println!(
        "{clients} clients, each from going live to turn/completed (seq {last_seq}): seqs \
         skipped {gaps}, repeated or out of order {duplicates}, missing {missing}; \
         resyncRequired {resyncs}; timed out {timed_out}; model deltas received {deliveries} of \
         {}",
        plan.deltas * clients
    );
    if !ok {
        println!(
            "cluster fanout: FAILED (figures withheld): {}",
            problems.join(", ")
        );
    }
    println!(
        "event deliveries/s {} ({events} logged events over {clients} clients ÷ turn/start \
         sent → last client's turn/completed, {}); model-delta deliveries/s {} ({deliveries} ÷ \
         first delta sent → last receipt, {}); the model stream wrote its deltas in {}",
        thousands(event_rate),
        ms(event_span),
        thousands(delta_rate),
        ms(delta_span),
        ms(stream_ns)
    );
    println!(
        "last delta model send → receipt, one per client: p50 {}  p99 {}  max {}; every \
         delta: p50 {}  p99 {}",
        ms(last_delta.p50),
        ms(last_delta.p99),
        ms(last_delta.max),
        ms(all.p50),
        ms(all.p99)
    );
    let mut per_daemon = serde_json::Map::new();
    for (i, name) in FANOUT_DAEMONS.iter().enumerate() {
        let mut last: Vec<u64> = r
            .clients
            .iter()
            .filter(|(d, _)| *d == i)
            .filter_map(|(_, s)| s.latencies.last().copied())
            .collect();
        let last = Summary::of(&mut last);
        let role = if i == 0 { "holder" } else { "follower" };
        println!(
            "  clients on {name} ({role}): last delta p50 {}  max {}; {}",
            ms(last.p50),
            ms(last.max),
            cpu_line(cpu[i], delta_span, plan.deltas as u64)
        );
        per_daemon.insert(
            (*name).to_string(),
            json!({
                "role": role,
                "lastDeltaLatencyMs": last.json_ms(),
                "daemonCpuMs": cpu[i].as_millis() as u64,
            }),
        );
    }
    let withheld = |v: Value| if ok { v } else { Value::Null };
    Ok(json!({
        "ok": ok,
        "error": (!ok).then(|| problems.join(", ")),
        "daemons": FANOUT_DAEMONS.len(),
        "clients": clients,
        "deltas": plan.deltas,
        "lastSeq": last_seq,
        "gaps": gaps,
        "duplicates": duplicates,
        "missing": missing,
        "resyncRequired": resyncs,
        "timedOut": timed_out,
        "eventDeliveries": events,
        "deltaDeliveries": deliveries,
        "eventDeliveriesPerSec": withheld(json!(event_rate.round())),
        "deltaDeliveriesPerSec": withheld(json!(delta_rate.round())),
        "lastDeltaLatencyMs": withheld(last_delta.json_ms()),
        "deltaLatencyMs": withheld(all.json_ms()),
        "streamWriteMs": ms_f(stream_ns),
        "perDaemon": per_daemon,
    }))
}

/// One burst turn as every client of the fan-out figure saw it.
struct SharedTurn {
    /// Index of the client's daemon in [`FANOUT_DAEMONS`], and what it saw.
    clients: Vec<(usize, Seen)>,
    /// When `turn/start` was sent.
    sent_ns: u64,
    stream: StreamLog,
}

/// A fresh thread on the first daemon, [`CLIENTS_PER_DAEMON`] clients on each daemon following
/// it, then one turn whose model answer follows `plan`, started by a connection that is not
/// subscribed; returns once every client has seen turn/completed.
async fn shared_turn(
    daemons: &[WsDaemon],
    source: &StampSource,
    plan: Plan,
    cwd: &str,
    base: Instant,
) -> Result<SharedTurn> {
    source.set_plan(plan);
    let mut setup = daemons[0].connect("agentd-bench-setup").await?;
    let started = ws::call(&mut setup, 1, "thread/start", json!({"cwd": cwd})).await?;
    let thread_id = thread_id_of(&started)?;
    let mut readers = Vec::new();
    let mut lives = Vec::new();
    for (di, d) in daemons.iter().enumerate() {
        for i in 0..CLIENTS_PER_DAEMON {
            let name = FANOUT_DAEMONS[di];
            let mut c = d
                .connect("agentd-bench-subscriber")
                .await
                .with_context(|| format!("connecting client {i} on {name}"))?;
            ws::call(&mut c, 1, "thread/resume", json!({"threadId": thread_id}))
                .await
                .with_context(|| format!("client {i} on {name} resuming"))?;
            let (tx, rx) = oneshot::channel();
            let marks = Marks {
                live: Some(tx),
                first_delta: None,
            };
            readers.push((di, tokio::spawn(watch_turn(c, base, marks))));
            lives.push(rx);
        }
    }
    // The setup connection kept the thread loaded on A while the clients came; only they count.
    ws::call(
        &mut setup,
        2,
        "thread/unsubscribe",
        json!({"threadId": thread_id}),
    )
    .await?;
    set_name(&mut setup, 3, &thread_id).await?;
    for (i, (rx, (di, reader))) in lives.into_iter().zip(readers.iter_mut()).enumerate() {
        let what = format!("client {i} on {} going live", FANOUT_DAEMONS[*di]);
        until_marked(rx, reader, &what).await?;
    }
    let sent_ns = now_ns(base);
    let answer = ws::call(&mut setup, 4, "turn/start", turn_params(&thread_id)).await?;
    answer["turn"]["id"]
        .as_str()
        .context("turn/start answer without turn.id")?;
    let mut clients = Vec::with_capacity(readers.len());
    for (i, (di, reader)) in readers.into_iter().enumerate() {
        let what = format!("client {i} on {}", FANOUT_DAEMONS[di]);
        clients.push((di, joined(reader, &what).await?));
    }
    let stream = check_stream(source, plan)?;
    Ok(SharedTurn {
        clients,
        sent_ns,
        stream,
    })
}

/// Figure 3: kill -9 of the holder mid-turn → a follower's client sees the turn end.
async fn takeover(ctx: &Ctx, pg: &TestPostgres, cwd: &str) -> Result<Value> {
    println!(
        "== cluster takeover: daemons A and B on one database, lease {TAKEOVER_LEASE_MS} ms \
         (store_lease_ms); A runs a turn whose model stream waits, a client on B follows it; \
         kill -9 of A → B's client receives turn/completed `interrupted`; {TAKEOVER_RUNS} runs, \
         a fresh A and thread each, the kill staggered over one lease"
    );
    let mock = MockLlm::start(Vec::new()).await?;
    let store = pg.create_database("bench_takeover").await?;
    let args = daemon_args(&mock.base_url(), &store, Some(TAKEOVER_LEASE_MS));
    let b = WsDaemon::start(&ctx.bin, &args).await.context("daemon B")?;
    println!("(daemon B pid {})", b.pid);
    let mut samples = Vec::with_capacity(TAKEOVER_RUNS);
    for run in 0..TAKEOVER_RUNS {
        let ns = one_takeover(ctx, &b, &mock, &args, cwd, run)
            .await
            .with_context(|| format!("take-over run {}", run + 1))?;
        println!(
            "  run {}: kill {} ms after the turn was under way → {}",
            run + 1,
            kill_delay(run).as_millis(),
            ms(ns)
        );
        samples.push(ns);
    }
    b.stop().await;
    let runs: Vec<f64> = samples.iter().map(|ns| ms_f(*ns)).collect();
    let delays: Vec<u64> = (0..TAKEOVER_RUNS)
        .map(|r| kill_delay(r).as_millis() as u64)
        .collect();
    let s = Summary::of(&mut samples);
    println!(
        "kill -9 of the holder → follower's client has turn/completed `interrupted`: min {}  \
         p50 {}  max {} (lease {TAKEOVER_LEASE_MS} ms)",
        ms(s.min),
        ms(s.p50),
        ms(s.max)
    );
    Ok(json!({
        "leaseMs": TAKEOVER_LEASE_MS,
        "runs": TAKEOVER_RUNS,
        "takeoverMs": {"min": ms_f(s.min), "p50": ms_f(s.p50), "max": ms_f(s.max)},
        "runsMs": runs,
        "killDelaysMs": delays,
    }))
}

/// How long run `run` waits between the turn being under way and the kill: the runs spread
/// over one lease (0, 1/5, … 4/5 of it), so the kill falls at different points of the holder's
/// renewal cycle (every third of a lease).
fn kill_delay(run: usize) -> Duration {
    Duration::from_millis(TAKEOVER_LEASE_MS * run as u64 / TAKEOVER_RUNS as u64)
}

/// A fresh A holding a fresh thread whose turn waits on the model, followed from `b`; kills A
/// after [`kill_delay`] and returns the time from the kill to B's client receiving the turn's
/// end.
async fn one_takeover(
    ctx: &Ctx,
    b: &WsDaemon,
    mock: &MockLlm,
    args: &[String],
    cwd: &str,
    run: usize,
) -> Result<u64> {
    mock.push(Scripted::responses(vec![
        Step::created(),
        Step::message(&["started"]),
        Step::gate(),
        Step::completed(Usage::default()),
    ]));
    let a = WsDaemon::start(&ctx.bin, args).await.context("daemon A")?;
    let mut holder = a.connect("agentd-bench-holder").await?;
    let started = ws::call(&mut holder, 1, "thread/start", json!({"cwd": cwd})).await?;
    let thread_id = thread_id_of(&started)?;
    let mut follower = b.connect("agentd-bench-follower").await?;
    ws::call(
        &mut follower,
        1,
        "thread/resume",
        json!({"threadId": thread_id}),
    )
    .await
    .context("resuming the thread on B")?;
    let (live_tx, live_rx) = oneshot::channel();
    let (delta_tx, delta_rx) = oneshot::channel();
    let marks = Marks {
        live: Some(live_tx),
        first_delta: Some(delta_tx),
    };
    let mut reader = tokio::spawn(watch_turn(follower, ctx.base, marks));
    set_name(&mut holder, 2, &thread_id).await?;
    until_marked(live_rx, &mut reader, "B's client going live").await?;
    ws::call(&mut holder, 3, "turn/start", turn_params(&thread_id)).await?;
    // The turn is under way on A (its first delta reached B's client) and its model stream
    // waits at the gate.
    until_marked(
        delta_rx,
        &mut reader,
        "B's client receiving the first delta",
    )
    .await?;
    mock.wait_for_gates(run + 1, IDLE_TIMEOUT).await?;
    // Every run follows the same script from A's start, so without this the kill would land
    // at the same point of A's renewal cycle each time and the runs would not show the spread.
    tokio::time::sleep(kill_delay(run)).await;

    let killed_ns = now_ns(ctx.base);
    a.stop().await;
    drop(holder);
    let seen = joined(reader, "B's client").await?;
    if seen.timed_out {
        bail!("B's client heard nothing for {IDLE_TIMEOUT:?} and no end of the turn");
    }
    if seen.status != "interrupted" {
        bail!("the turn ended {:?} on B, not \"interrupted\"", seen.status);
    }
    Ok(seen.completed_ns.saturating_sub(killed_ns))
}

/// What one client saw of a turn, from the moment it went live to the turn's end.
#[derive(Debug, Default)]
struct Seen {
    /// Model send → receipt of each model delta, ns, in the order the model sent them.
    latencies: Vec<u64>,
    /// `item/agentMessage/delta` events (the holder merges deltas that queue behind a commit).
    delta_events: u64,
    /// The seq the client went live at (`thread/name/updated`, or the first seq it read).
    live_seq: u64,
    /// Logged events received after going live, each counted once.
    events: u64,
    /// Seqs skipped over.
    gaps: u64,
    /// Events whose seq was not above the last one received: repeated or out of order.
    duplicates: u64,
    resyncs: u64,
    /// The seq of `turn/completed`.
    last_seq: u64,
    last_delta_ns: u64,
    completed_ns: u64,
    /// The turn's status in `turn/completed`.
    status: String,
    /// Nothing arrived for [`IDLE_TIMEOUT`] before the turn ended.
    timed_out: bool,
}

impl Seen {
    fn check_line(&self, deltas: usize) -> String {
        format!(
            "{}/{deltas} deltas in {} delta events; seqs skipped {}, repeated {}; resyncs {}",
            self.latencies.len(),
            self.delta_events,
            self.gaps,
            self.duplicates,
            self.resyncs
        )
    }
}

/// How a client's reader tells the bench how far it got.
#[derive(Default)]
struct Marks {
    /// When set, frames before `thread/name/updated` are skipped, then this is sent; when not,
    /// the client is live from its first frame.
    live: Option<oneshot::Sender<()>>,
    /// Sent at the first model delta.
    first_delta: Option<oneshot::Sender<()>>,
}

/// Reads a client's frames until the first `turn/completed`: times every model delta and
/// checks that logged events arrive each once, in order. Answers are skipped (an error answer
/// fails the reader); the notices that are not logged events carry no seq of their own.
async fn watch_turn(mut ws: Ws, base: Instant, mut marks: Marks) -> Result<Seen> {
    let mut seen = Seen::default();
    let mut is_live = marks.live.is_none();
    let mut last_seq: Option<u64> = None;
    loop {
        let msg = match tokio::time::timeout(IDLE_TIMEOUT, ws.next()).await {
            Err(_) => {
                seen.timed_out = true;
                return Ok(seen);
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
        if !text.contains("\"method\":") {
            // An answer (a few per client): parsed, so that `"error":null` in a result is not
            // taken for an error.
            let answer: Value = serde_json::from_str(text).context("an answer is not JSON")?;
            if let Some(error) = answer.get("error") {
                bail!("the daemon answered with an error: {error}");
            }
            continue;
        }
        if !is_live {
            if text.contains("\"thread/name/updated\"") {
                is_live = true;
                last_seq = ws::u64_after(text, SEQ_KEY);
                seen.live_seq = last_seq.unwrap_or(0);
                if let Some(tx) = marks.live.take() {
                    let _ = tx.send(());
                }
            }
            continue;
        }
        if text.contains("\"thread/resyncRequired\"") {
            seen.resyncs += 1;
            continue;
        }
        if text.contains("\"serverRequest/resolved\"") {
            continue;
        }
        if let Some(seq) = ws::u64_after(text, SEQ_KEY) {
            match last_seq {
                Some(prev) if seq <= prev => {
                    seen.duplicates += 1;
                    continue;
                }
                Some(prev) => seen.gaps += seq - prev - 1,
                None => seen.live_seq = seq.saturating_sub(1),
            }
            last_seq = Some(seq);
            seen.events += 1;
        }
        if text.contains(DELTA_METHOD) {
            for stamp in stamps_of(text) {
                seen.latencies.push(now.saturating_sub(stamp));
                seen.last_delta_ns = now;
            }
            seen.delta_events += 1;
            if let Some(tx) = marks.first_delta.take() {
                let _ = tx.send(());
            }
        } else if text.contains("\"turn/completed\"") {
            seen.completed_ns = now;
            seen.last_seq = last_seq.unwrap_or(0);
            let v: Value = serde_json::from_str(text).context("turn/completed is not JSON")?;
            seen.status = v["params"]["turn"]["status"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            return Ok(seen);
        }
    }
}

/// Waits for a reader's mark; when the reader stopped first, says why.
async fn until_marked(
    mark: oneshot::Receiver<()>,
    reader: &mut JoinHandle<Result<Seen>>,
    what: &str,
) -> Result<()> {
    match tokio::time::timeout(IDLE_TIMEOUT, mark).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => {
            let why = match reader.await {
                Ok(Err(e)) => format!("{e:#}"),
                Ok(Ok(seen)) if seen.timed_out => "it heard nothing for a while".into(),
                Ok(Ok(_)) => "the turn ended first".into(),
                Err(e) => format!("it panicked: {e}"),
            };
            bail!("{what}: the client's reader stopped first: {why}")
        }
        Err(_) => bail!("{what}: not within {IDLE_TIMEOUT:?}"),
    }
}

async fn joined(reader: JoinHandle<Result<Seen>>, what: &str) -> Result<Seen> {
    reader
        .await
        .map_err(|e| anyhow!("{what} panicked: {e}"))?
        .with_context(|| what.to_owned())
}

/// Renames the thread: an event every subscriber must receive, on every daemon.
async fn set_name(c: &mut Ws, id: u64, thread_id: &str) -> Result<()> {
    ws::call(
        c,
        id,
        "thread/name/set",
        json!({"threadId": thread_id, "name": "live"}),
    )
    .await?;
    Ok(())
}

fn turn_params(thread_id: &str) -> Value {
    json!({"threadId": thread_id, "input": [{"type": "text", "text": PROMPT}]})
}

fn thread_id_of(started: &Value) -> Result<String> {
    started["thread"]["id"]
        .as_str()
        .map(str::to_owned)
        .context("thread/start answer without thread.id")
}

/// The model stream of the last turn, which must have written every delta of `plan`.
fn check_stream(source: &StampSource, plan: Plan) -> Result<StreamLog> {
    let stream = source.last_stream().unwrap_or_default();
    if stream.deltas != plan.deltas || !stream.completed {
        bail!(
            "the model stream wrote {} of {} deltas (completed: {})",
            stream.deltas,
            plan.deltas,
            stream.completed
        );
    }
    Ok(stream)
}
