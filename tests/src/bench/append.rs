//! Event append throughput: events committed per second on one thread with no subscriber. The
//! primary figure comes from a turn (`turns::append`: a model stream's burst of deltas). The
//! secondary ones, below: through the daemon by pipelined renames over WebSocket (bounded by
//! request round trips, one request at a time per connection), and in-process (the daemon library's
//! `ThreadHub` and `ActorHandle::emit` from many tasks, no transport at all).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use agentd::agent::AgentServices;
use agentd::clock::unix_now;
use agentd::config::Config;
use agentd::store::{Store, ThreadRow};
use agentd::threads::{ThreadHub, ThreadUpdate};
use anyhow::{anyhow, Context, Result};
use serde_json::{json, Value};

use super::daemon::{cpu_line, WsDaemon};
use super::fanout::start_unsubscribed_thread;
use super::stats::{ms, per_s, thousands, Summary};
use super::writers;
use super::Ctx;

/// The turn-driven figure, then the rename-driven and in-process ones.
pub async fn run(ctx: &Ctx) -> Result<Value> {
    let turn = super::turns::append(ctx).await?;
    println!();
    let mut rest = renames(ctx).await?;
    rest["turn"] = turn;
    Ok(rest)
}

/// Secondary: pipelined renames through the daemon, then `ActorHandle::emit` in-process.
async fn renames(ctx: &Ctx) -> Result<Value> {
    let o = &ctx.opts;
    let (n, writers) = (o.append_events, o.writers.max(1));
    println!(
        "== append (secondary, rename-driven and in-process): {n} events on one thread, no \
         subscribers; committed events/s (first send → last answer)"
    );

    let d = WsDaemon::start(&ctx.bin, &[]).await?;
    let mut setup = d.connect("agentd-bench-setup").await?;
    let thread_id = start_unsubscribed_thread(&mut setup).await?;
    let mut conns = Vec::with_capacity(writers);
    for i in 0..writers {
        conns.push(
            d.connect("agentd-bench-writer")
                .await
                .with_context(|| format!("connecting writer {i}"))?,
        );
    }
    let cpu_before = d.cpu_time()?;
    let totals = writers::run_all(conns, &thread_id, 0, n, o.in_flight, ctx.base).await?;
    let cpu = d.cpu_time()?.saturating_sub(cpu_before);
    drop(setup);
    d.stop().await;
    let span = totals.last_answer_ns.saturating_sub(totals.first_send_ns);
    let daemon_rate = per_s(totals.committed(), span);
    let mut request = totals.request_latencies();
    let request = Summary::of(&mut request);
    println!(
        "daemon     {writers} writers × {} in flight : {} events/s ({} committed, {} errors{})",
        o.in_flight,
        thousands(daemon_rate),
        totals.committed(),
        totals.errors,
        totals
            .first_error
            .as_deref()
            .map(|e| format!("; first: {e}"))
            .unwrap_or_default()
    );
    println!(
        "  {}; request send → answer p50 {}  p99 {}",
        cpu_line(cpu, span, totals.committed()),
        ms(request.p50),
        ms(request.p99)
    );

    let mut in_process = serde_json::Map::new();
    for &tasks in &o.emit_tasks {
        let tasks = tasks.max(1);
        let temp = tempfile::tempdir().context("creating a temp dir")?;
        let (events, rate) = emit_in_process(&temp.path().join("agentd.db"), tasks, n)
            .await
            .with_context(|| format!("in-process append with {tasks} tasks"))?;
        println!(
            "in-process {tasks:>3} emitting tasks       : {} events/s ({events} committed)",
            thousands(rate)
        );
        in_process.insert(format!("tasks{tasks}"), json!(rate.round()));
    }
    println!("target: ≥ 50,000 events/s");

    Ok(json!({
        "events": totals.committed(),
        "errors": totals.errors,
        "daemonEventsPerSec": daemon_rate.round(),
        "daemonCpuMs": cpu.as_millis() as u64,
        "requestLatencyMs": request.json_ms(),
        "inProcessEventsPerSec": Value::Object(in_process),
    }))
}

/// The daemon library's thread hub over `store`, with default agent services: nothing here
/// calls a model, the benchmark only emits events. (The one place that follows the library's
/// constructor signatures.)
fn thread_hub(store: Store, config_dir: &Path) -> Result<ThreadHub> {
    let services = AgentServices::new(Config::defaults(), config_dir)
        .map_err(|e| anyhow!("creating agent services: {e}"))?;
    Ok(ThreadHub::new(store, Arc::new(services)))
}

/// Opens the store at `db` (fresh), creates a thread and emits `total` events from `tasks`
/// concurrent tasks, each awaiting its own commit before the next emit. Returns (events,
/// events/s).
pub async fn emit_in_process(db: &Path, tasks: usize, total: u64) -> Result<(u64, f64)> {
    let store = Store::open(db).await?;
    let hub = thread_hub(store.clone(), &db.with_extension("no-config"))?;
    let now = unix_now();
    let id = "bench-thread".to_owned();
    let row = ThreadRow {
        id: id.clone(),
        session_id: id.clone(),
        forked_from_id: None,
        name: None,
        preview: String::new(),
        cwd: "/".into(),
        model: "bench".into(),
        model_provider: "bench".into(),
        settings: json!({}),
        ephemeral: false,
        archived: false,
        created_at: now,
        updated_at: now,
        last_seq: 0,
        source: "\"appServer\"".into(),
        source_kind: "appServer".into(),
        parent_id: None,
    };
    let handle = hub.create(row).await?;
    let per_task = (total / tasks as u64).max(1);
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for t in 0..tasks {
        let h = handle.clone();
        set.spawn(async move {
            for i in 0..per_task {
                h.update(ThreadUpdate::SetName(format!("n{t}-{i}"))).await?;
            }
            Ok::<_, anyhow::Error>(())
        });
    }
    while let Some(r) = set.join_next().await {
        r.map_err(|e| anyhow!("emitting task panicked: {e}"))??;
    }
    let elapsed = started.elapsed().as_nanos() as u64;
    hub.shutdown().await;
    store.close().await;
    let events = per_task * tasks as u64;
    Ok((events, per_s(events, elapsed)))
}
