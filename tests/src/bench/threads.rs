//! Memory per thread: resident size with N threads loaded (started, then unsubscribed), and
//! after the idle ones are unloaded; then the WebSocket connection cap: how the daemon answers
//! connections beyond it.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use super::daemon::WsDaemon;
use super::{ws, Ctx};

/// Threads started (and left) for the memory figure.
const THREADS: usize = 3000;
/// Seconds an idle thread stays loaded in this benchmark (the default is 300).
const IDLE_SECS: u64 = 2;

pub async fn run(ctx: &Ctx) -> Result<Value> {
    let memory = memory(ctx).await?;
    let cap = cap(ctx).await?;
    Ok(json!({"memory": memory, "connectionCap": cap}))
}

async fn memory(ctx: &Ctx) -> Result<Value> {
    println!("== threads: VmRSS with {THREADS} threads loaded, and after they are unloaded");
    let args = vec![
        "-c".to_owned(),
        format!("thread_idle_unload_secs={IDLE_SECS}"),
    ];
    let d = WsDaemon::start(&ctx.bin, &args).await?;
    let mut c = d.connect("agentd-bench-threads").await?;
    let mut id = 1;
    for _ in 0..50 {
        start_and_leave(&mut c, &mut id).await?;
    }
    tokio::time::sleep(Duration::from_secs(IDLE_SECS + 2)).await;
    let idle = d.rss_kib()?;
    let clock = Instant::now();
    for _ in 0..THREADS {
        start_and_leave(&mut c, &mut id).await?;
    }
    let per_start = clock.elapsed() / THREADS as u32;
    let loaded = d.rss_kib()?;
    tokio::time::sleep(Duration::from_secs(IDLE_SECS * 3 + 2)).await;
    let unloaded = d.rss_kib()?;
    let per_loaded = (loaded as f64 - idle as f64) / THREADS as f64;
    let per_unloaded = (unloaded as f64 - idle as f64) / THREADS as f64;
    println!("{:<30}: {idle} KiB", "before (warmed up)");
    println!(
        "{:<30}: {loaded} KiB = {per_loaded:.1} KiB per thread",
        format!("{THREADS} threads loaded")
    );
    println!(
        "{:<30}: {unloaded} KiB = {per_unloaded:.2} KiB per thread",
        "after unloading"
    );
    println!(
        "{:<30}: {per_start:?} (thread/start + unsubscribe)",
        "per thread started"
    );
    println!("target: after unloading, within 15 MiB of before");
    d.stop().await;
    Ok(json!({
        "threads": THREADS,
        "beforeKiB": idle,
        "loadedKiB": loaded,
        "unloadedKiB": unloaded,
        "perLoadedThreadKiB": (per_loaded * 10.0).round() / 10.0,
        "perUnloadedThreadKiB": (per_unloaded * 100.0).round() / 100.0,
    }))
}

/// `thread/start`, then `thread/unsubscribe`: a thread nobody uses any more.
async fn start_and_leave(c: &mut ws::Ws, id: &mut u64) -> Result<()> {
    *id += 2;
    let r = ws::call(c, *id, "thread/start", json!({})).await?;
    let thread = r["thread"]["id"]
        .as_str()
        .context("no thread id")?
        .to_owned();
    ws::call(
        c,
        *id + 1,
        "thread/unsubscribe",
        json!({"threadId": thread}),
    )
    .await?;
    Ok(())
}

/// Opens twice the cap: the first `cap` are admitted, the rest refused with 503, each refusal
/// timed; closing the admitted ones lets new ones in.
async fn cap(ctx: &Ctx) -> Result<Value> {
    const CAP: usize = 100;
    println!(
        "== connection cap: --max-connections {CAP}, {} connection attempts",
        2 * CAP
    );
    let args = vec!["--max-connections".to_owned(), CAP.to_string()];
    let d = WsDaemon::start(&ctx.bin, &args).await?;
    let mut admitted = Vec::new();
    let mut refusals = Vec::new();
    for _ in 0..2 * CAP {
        let clock = Instant::now();
        match d.connect("agentd-bench-cap").await {
            Ok(c) => admitted.push(c),
            Err(e) if format!("{e:#}").contains("503") => refusals.push(clock.elapsed()),
            Err(e) => return Err(e).context("a connection failed other than with 503"),
        }
    }
    if admitted.len() != CAP {
        bail!(
            "{} connections admitted under a cap of {CAP}",
            admitted.len()
        );
    }
    refusals.sort();
    let p50 = refusals[refusals.len() / 2];
    let max = refusals[refusals.len() - 1];
    drop(admitted);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let again = d.connect("agentd-bench-cap").await.is_ok();
    println!("admitted {CAP}, refused {} with HTTP 503 (p50 {p50:?}, max {max:?}); a slot freed is reusable: {again}", refusals.len());
    d.stop().await;
    Ok(json!({
        "cap": CAP,
        "refused": refusals.len(),
        "refusalP50Us": p50.as_micros() as u64,
        "refusalMaxUs": max.as_micros() as u64,
        "reusable": again,
    }))
}
