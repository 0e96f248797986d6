//! Resident memory: idle (started, one initialized connection), then with N more idle
//! initialized WebSocket connections.

use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::{json, Value};

use super::daemon::WsDaemon;
use super::Ctx;

/// Time left for allocations to settle before each reading.
const SETTLE: Duration = Duration::from_secs(1);

pub async fn run(ctx: &Ctx) -> Result<Value> {
    let n = ctx.opts.connections.max(1);
    println!("== rss: VmRSS of the daemon, idle and with {n} more idle initialized WebSocket connections");
    let d = WsDaemon::start(&ctx.bin, &[]).await?;
    let first = d.connect("agentd-bench-idle").await?;
    tokio::time::sleep(SETTLE).await;
    let idle = d.rss_kib()?;
    println!(
        "{:<28}: {idle} KiB = {:.1} MiB",
        "idle (1 connection)",
        idle as f64 / 1024.0
    );

    let mut conns = Vec::with_capacity(n);
    for i in 0..n {
        let c = d
            .connect("agentd-bench-idle")
            .await
            .with_context(|| format!("opening connection {} of {n}", i + 1))?;
        conns.push(c);
    }
    tokio::time::sleep(SETTLE).await;
    let loaded = d.rss_kib()?;
    let per_conn = (loaded as f64 - idle as f64) / n as f64;
    println!(
        "{:<28}: {loaded} KiB = {:.1} MiB",
        format!("with {n} more connections"),
        loaded as f64 / 1024.0
    );
    println!("{:<28}: {per_conn:.1} KiB", "per extra connection");
    println!("targets: idle ≤ 18 MB, ≤ 100 KB per idle connection");

    drop(conns);
    drop(first);
    d.stop().await;
    Ok(json!({
        "idleKiB": idle,
        "connections": n,
        "withConnectionsKiB": loaded,
        "perConnectionKiB": (per_conn * 10.0).round() / 10.0,
    }))
}
