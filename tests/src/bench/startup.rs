//! Cold start: from spawning `agentd serve` to holding the `initialize` answer — over stdio and
//! over WebSocket (where the time to the `listening on` line is reported too) on a fresh data
//! dir, so the database is created and migrated every time; then over stdio on an existing data
//! dir holding a history of events (a restart, the common case).

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::append;
use super::daemon::{self, WsDaemon};
use super::stats::{ms, Summary};
use super::Ctx;

const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
/// Concurrent emitters filling the history (enough for large group commits).
const HISTORY_TASKS: usize = 256;
const INITIALIZE: &str = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\
     \"params\":{\"clientInfo\":{\"name\":\"agentd-bench\",\"version\":\"0.0.0\"}}}\n";

pub async fn run(ctx: &Ctx) -> Result<Value> {
    let runs = ctx.opts.runs.max(1);
    println!("== startup: spawn → `initialize` answer; fresh data dir per run; {runs} timed runs after 1 untimed warm-up");

    let mut stdio = Vec::with_capacity(runs);
    for i in 0..=runs {
        let temp = tempfile::tempdir().context("creating a temp dir")?;
        let d = stdio_once(ctx, temp.path())
            .await
            .with_context(|| format!("stdio run {i}"))?;
        if i > 0 {
            stdio.push(d.as_nanos() as u64);
        }
    }
    let stdio = Summary::of(&mut stdio);
    print_line("stdio      spawn → initialize answer", &stdio);

    let mut listen = Vec::with_capacity(runs);
    let mut init = Vec::with_capacity(runs);
    for i in 0..=runs {
        let (l, d) = ws_once(ctx)
            .await
            .with_context(|| format!("websocket run {i}"))?;
        if i > 0 {
            listen.push(l.as_nanos() as u64);
            init.push(d.as_nanos() as u64);
        }
    }
    let listen = Summary::of(&mut listen);
    let init = Summary::of(&mut init);
    print_line("websocket  spawn → `listening on`     ", &listen);
    print_line("websocket  spawn → initialize answer  ", &init);

    let history = ctx.opts.history_events;
    let temp = tempfile::tempdir().context("creating a temp dir")?;
    let made = Instant::now();
    let db_bytes = make_history(&temp.path().join("data"), history).await?;
    println!(
        "existing data dir: {history} events, database {:.1} MiB (made in {:.1} s)",
        db_bytes as f64 / (1024.0 * 1024.0),
        made.elapsed().as_secs_f64()
    );
    let mut restart = Vec::with_capacity(runs);
    for i in 0..=runs {
        let d = stdio_once(ctx, temp.path())
            .await
            .with_context(|| format!("restart run {i}"))?;
        if i > 0 {
            restart.push(d.as_nanos() as u64);
        }
    }
    let restart = Summary::of(&mut restart);
    print_line("stdio, existing data dir → initialize ", &restart);
    println!("target: ≤ 30 ms to the initialize answer");

    Ok(json!({
        "stdioInitializeMs": stdio.json_ms(),
        "wsListeningMs": listen.json_ms(),
        "wsInitializeMs": init.json_ms(),
        "historyEvents": history,
        "historyDbBytes": db_bytes,
        "stdioRestartInitializeMs": restart.json_ms(),
    }))
}

fn print_line(what: &str, s: &Summary) {
    println!(
        "{what}: min {}  median {}  p90 {}  max {}",
        ms(s.min),
        ms(s.p50),
        ms(s.p90),
        ms(s.max)
    );
}

/// One stdio start on the data dir under `root` (created if missing): the request is written as
/// soon as the pipe exists (the daemon reads it when it is ready), and the clock stops at the
/// answer's line on stdout.
async fn stdio_once(ctx: &Ctx, root: &Path) -> Result<Duration> {
    let mut cmd = daemon::command(&ctx.bin, root, &[]);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let t0 = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("spawning {}", ctx.bin.display()))?;
    let mut stdin = child.stdin.take().context("no stdin pipe")?;
    let stdout = child.stdout.take().context("no stdout pipe")?;
    stdin
        .write_all(INITIALIZE.as_bytes())
        .await
        .context("writing initialize")?;
    stdin.flush().await.context("flushing stdin")?;
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(ANSWER_TIMEOUT, lines.next_line())
        .await
        .context("no initialize answer in time")?
        .context("reading stdout")?
        .context("agentd closed stdout without answering")?;
    let elapsed = t0.elapsed();
    let answer: Value = serde_json::from_str(&line)
        .with_context(|| format!("initialize answer is not JSON: {line:.200}"))?;
    if answer.get("id") != Some(&json!(1)) || answer.get("result").is_none() {
        bail!("unexpected initialize answer: {line:.300}");
    }
    // Closing stdin ends a stdio daemon; kill it if it lingers.
    drop(stdin);
    if tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
    Ok(elapsed)
}

/// Fills a data dir with `events` events on one thread through the daemon library; returns the
/// database's size in bytes (with its WAL).
async fn make_history(data_dir: &Path, events: u64) -> Result<u64> {
    std::fs::create_dir_all(data_dir).context("creating the data dir")?;
    let db = data_dir.join("agentd.db");
    append::emit_in_process(&db, HISTORY_TASKS, events).await?;
    let mut bytes = 0;
    for suffix in ["", "-wal"] {
        let mut name = db.clone().into_os_string();
        name.push(suffix);
        bytes += std::fs::metadata(&name).map(|m| m.len()).unwrap_or(0);
    }
    Ok(bytes)
}

/// One WebSocket start: (spawn → `listening on`, spawn → initialize answer).
async fn ws_once(ctx: &Ctx) -> Result<(Duration, Duration)> {
    let d = WsDaemon::start(&ctx.bin, &[]).await?;
    let _conn = d.connect("agentd-bench").await?;
    let init = d.spawned_at.elapsed();
    let listen = d.listening_after;
    d.stop().await;
    Ok((listen, init))
}
