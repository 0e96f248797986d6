//! Flood on one connection: what a client that sends requests as fast as its socket takes them
//! does to another connection's latency.
//!
//! A calm connection does sequential `thread/read`s of one named thread, quiet and then during
//! the flood. The flood is one WebSocket connection sending `thread/list` requests without
//! waiting; the daemon queues 256 of them for the connection's worker and answers the rest
//! -32001 at once. So that the flooding client costs as little as possible and does not share the
//! bench's scheduler, it runs on its own OS thread with its own single-threaded tokio runtime,
//! sends frames serialised before the clock starts, and only scans its answers for `"result"` or
//! `-32001`. It starts before the calm connection's second measurement (once the first -32001
//! shows the queue is full) and keeps sending until that measurement is done.
//!
//! Besides the latencies it prints, for the daemon and for the bench process, CPU time and time
//! spent runnable but waiting for a CPU (`/proc/…/task/…/schedstat`) by thread name: the
//! daemon's tokio workers vs the store's SQLite worker, the flooding thread vs the calm client.
//! On a small machine that tells where the calm connection's time goes.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;

use super::daemon::WsDaemon;
use super::stats::{ms, per_s, thousands, Summary};
use super::ws::{self, Ws};
use super::{load_average, Ctx};

/// Untimed `thread/read`s before the quiet measurement.
const WARMUP_READS: usize = 1000;
/// Timed `thread/read`s quiet, and again during the flood.
const TIMED_READS: usize = 20_000;
/// Distinct pre-serialised flood frames, sent round and round (request ids repeat every this
/// many; the daemon does not track client request ids, and the flood only counts its answers).
const FLOOD_FRAMES: usize = 65_536;
/// Frames fed to the socket between two flushes (and two looks at the stop flag).
const FLOOD_BATCH: usize = 256;
/// How long the flood may take to fill the daemon's request queue (first -32001).
const SATURATION_TIMEOUT: Duration = Duration::from_secs(30);
/// The flood's reader gives up when nothing arrives for this long while answers are missing.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the flood's reader looks whether the sender has finished.
const POLL: Duration = Duration::from_millis(50);

pub async fn run(ctx: &Ctx) -> Result<Value> {
    println!(
        "== flood: one connection sends pre-serialised thread/list requests as fast as its socket \
         takes them (own OS thread and runtime); another does {TIMED_READS} sequential \
         thread/read quiet, then {TIMED_READS} during the flood"
    );
    let load_start = load_average();
    let d = WsDaemon::start(&ctx.bin, &[]).await?;
    let thread_id = named_thread(&d).await?;
    let mut calm = d.connect("agentd-bench-flood-calm").await?;
    let mut next_id = 1000;
    reads(&mut calm, &thread_id, &mut next_id, WARMUP_READS).await?;

    let quiet_cpu = CpuWindow::start(d.pid)?;
    let quiet_own = CpuWindow::start(std::process::id())?;
    let mut quiet = reads(&mut calm, &thread_id, &mut next_id, TIMED_READS).await?;
    let (quiet_cpu, quiet_own) = (quiet_cpu.finish()?, quiet_own.finish()?);
    let quiet = Summary::of(&mut quiet);

    let stop = Arc::new(AtomicBool::new(false));
    let (saturated_tx, saturated_rx) = oneshot::channel();
    let flood = {
        let (url, token, stop) = (d.url.clone(), d.token.clone(), stop.clone());
        std::thread::Builder::new()
            .name("agentd-bench-flood".into())
            .spawn(move || flood_thread(&url, token.as_deref(), &stop, saturated_tx))
            .context("spawning the flood thread")?
    };
    let saturated = tokio::time::timeout(SATURATION_TIMEOUT, saturated_rx).await;
    if !matches!(saturated, Ok(Ok(()))) {
        stop.store(true, Ordering::Relaxed);
        let outcome = join_flood(flood).await;
        bail!(
            "the flood did not fill the request queue within {SATURATION_TIMEOUT:?} ({})",
            match outcome {
                Ok(r) => format!("{} sent, {} answered -32001", r.sent, r.overloaded),
                Err(e) => format!("{e:#}"),
            }
        );
    }
    let flood_cpu = CpuWindow::start(d.pid)?;
    let flood_own = CpuWindow::start(std::process::id())?;
    let during = reads(&mut calm, &thread_id, &mut next_id, TIMED_READS).await;
    let (flood_cpu, flood_own) = (flood_cpu.finish(), flood_own.finish());
    stop.store(true, Ordering::Relaxed);
    let report = join_flood(flood).await?;
    let mut during = during?;
    let (flood_cpu, flood_own) = (flood_cpu?, flood_own?);
    let during = Summary::of(&mut during);
    let load_end = load_average();
    d.stop().await;

    let ratio = |a: u64, b: u64| a as f64 / b.max(1) as f64;
    let (p50_ratio, p99_ratio) = (ratio(during.p50, quiet.p50), ratio(during.p99, quiet.p99));
    let answered = report.results + report.overloaded + report.other;
    let rate = per_s(report.sent, report.sending_ns);
    println!(
        "thread/read quiet          p50 {}  p99 {}",
        ms(quiet.p50),
        ms(quiet.p99)
    );
    println!("  daemon {}", quiet_cpu.line());
    println!("  bench  {}", quiet_own.line());
    println!(
        "thread/read during flood   p50 {}  p99 {}",
        ms(during.p50),
        ms(during.p99)
    );
    println!("  daemon {}", flood_cpu.line());
    println!("  bench  {}", flood_own.line());
    println!("ratio during / quiet: p50 {p50_ratio:.1}×  p99 {p99_ratio:.1}×   target p99 ≤ 2×");
    println!(
        "flood: {} requests in {:.2} s ({}/s), answered {} ({} results, {} -32001, {} other); \
         last answer {} after the last send; flooding thread CPU {:.0}% of one core",
        thousands(report.sent as f64),
        report.sending_ns as f64 / 1e9,
        thousands(rate),
        thousands(answered as f64),
        thousands(report.results as f64),
        thousands(report.overloaded as f64),
        report.other,
        ms(report.drain_ns),
        report.cpu.as_nanos() as f64 / report.sending_ns.max(1) as f64 * 100.0
    );
    println!("load average {load_start} → {load_end}");
    Ok(json!({
        "timedReads": TIMED_READS,
        "quietMs": quiet.json_ms(),
        "duringFloodMs": during.json_ms(),
        "p50Ratio": p50_ratio,
        "p99Ratio": p99_ratio,
        "flood": {
            "sent": report.sent,
            "answered": answered,
            "results": report.results,
            "overloaded": report.overloaded,
            "other": report.other,
            "seconds": report.sending_ns as f64 / 1e9,
            "requestsPerSecond": rate,
            "drainMs": report.drain_ns as f64 / 1e6,
            "clientThreadCpuMs": report.cpu.as_secs_f64() * 1e3,
        },
        "daemonCpu": {"quiet": quiet_cpu.json(), "duringFlood": flood_cpu.json()},
        "benchCpu": {"quiet": quiet_own.json(), "duringFlood": flood_own.json()},
        "loadAverage": {"start": load_start, "end": load_end},
    }))
}

/// A thread with a name, started and named on a connection that then goes away, so the calm
/// connection is subscribed to nothing and reads only answers.
async fn named_thread(d: &WsDaemon) -> Result<String> {
    let mut setup = d.connect("agentd-bench-flood-setup").await?;
    let started = ws::call(&mut setup, 1, "thread/start", json!({})).await?;
    let thread_id = started["thread"]["id"]
        .as_str()
        .context("thread/start answer without thread.id")?
        .to_owned();
    ws::call(
        &mut setup,
        2,
        "thread/name/set",
        json!({"threadId": thread_id, "name": "flood bench"}),
    )
    .await?;
    setup.close(None).await.ok();
    Ok(thread_id)
}

/// `n` sequential `thread/read`s: request sent → answer frame received, in ns. The answer is
/// checked (a result, not an error) outside the timed span.
async fn reads(c: &mut Ws, thread_id: &str, next_id: &mut u64, n: usize) -> Result<Vec<u64>> {
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        *next_id += 1;
        let id = *next_id;
        let request = json!({"jsonrpc": "2.0", "id": id, "method": "thread/read",
            "params": {"threadId": thread_id}});
        let started = Instant::now();
        ws::send_json(c, &request).await?;
        let answer = loop {
            let text = ws::next_text(c, ws::CALL_TIMEOUT)
                .await
                .context("waiting for a thread/read answer")?;
            if ws::u64_after(&text, "\"id\":") == Some(id) {
                break text;
            }
        };
        samples.push(started.elapsed().as_nanos() as u64);
        if !answer.contains("\"result\":") {
            bail!("thread/read failed: {answer:.300}");
        }
    }
    Ok(samples)
}

/// What the flooding connection did.
#[derive(Debug, Default)]
struct FloodReport {
    sent: u64,
    results: u64,
    overloaded: u64,
    other: u64,
    /// First send → the stop flag seen.
    sending_ns: u64,
    /// Last send → last answer.
    drain_ns: u64,
    /// CPU time of the flooding OS thread while it sent.
    cpu: Duration,
}

async fn join_flood(flood: std::thread::JoinHandle<Result<FloodReport>>) -> Result<FloodReport> {
    tokio::task::spawn_blocking(move || flood.join())
        .await
        .context("joining the flood thread")?
        .map_err(|_| anyhow!("the flood thread panicked"))?
}

/// The flooding client: its own current-thread runtime on the calling OS thread.
fn flood_thread(
    url: &str,
    token: Option<&str>,
    stop: &AtomicBool,
    saturated: oneshot::Sender<()>,
) -> Result<FloodReport> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("building the flood's runtime")?
        .block_on(flood(url, token, stop, saturated))
}

async fn flood(
    url: &str,
    token: Option<&str>,
    stop: &AtomicBool,
    saturated: oneshot::Sender<()>,
) -> Result<FloodReport> {
    let mut c = ws::connect(url, token).await?;
    ws::initialize(&mut c, "agentd-bench-flood").await?;
    let frames: Vec<Message> = (0..FLOOD_FRAMES)
        .map(|i| {
            Message::text(
                json!({"jsonrpc": "2.0", "id": i, "method": "thread/list",
                    "params": {"limit": 1}})
                .to_string(),
            )
        })
        .collect();
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let own_stat = format!("/proc/self/task/{tid}/schedstat");
    let (mut sink, mut stream) = c.split();
    let sent = Cell::new(0u64);
    let last_send: Cell<Option<Instant>> = Cell::new(None);
    let cpu_before = schedstat(&own_stat)?.on_cpu;
    let started = Instant::now();

    let send = async {
        let mut n = 0usize;
        while !stop.load(Ordering::Relaxed) {
            for _ in 0..FLOOD_BATCH {
                sink.feed(frames[n % FLOOD_FRAMES].clone())
                    .await
                    .context("flood send")?;
                n += 1;
            }
            sink.flush().await.context("flood flush")?;
            sent.set(n as u64);
            // Lets the reader drain answers on this one-thread runtime.
            tokio::task::yield_now().await;
        }
        last_send.set(Some(Instant::now()));
        Ok::<_, anyhow::Error>(started.elapsed().as_nanos() as u64)
    };
    let receive = async {
        let mut report = FloodReport::default();
        let mut saturated = Some(saturated);
        let mut last_answer = Instant::now();
        loop {
            let answered = report.results + report.overloaded + report.other;
            if last_send.get().is_some() && answered >= sent.get() {
                return Ok::<_, anyhow::Error>(report);
            }
            let msg = match tokio::time::timeout(POLL, stream.next()).await {
                Err(_) if last_answer.elapsed() > IDLE_TIMEOUT => bail!(
                    "the flood's answers stopped at {answered} of {} sent",
                    sent.get()
                ),
                Err(_) => continue,
                Ok(None) => bail!("the daemon closed the flooding connection"),
                Ok(Some(msg)) => msg.context("flood read")?,
            };
            let Message::Text(text) = msg else { continue };
            last_answer = Instant::now();
            if text.contains("\"result\":") {
                report.results += 1;
            } else if text.contains("-32001") {
                report.overloaded += 1;
                if let Some(tx) = saturated.take() {
                    let _ = tx.send(());
                }
            } else {
                report.other += 1;
            }
        }
    };
    let (sending_ns, mut report) = tokio::try_join!(send, receive)?;
    report.sent = sent.get();
    report.sending_ns = sending_ns;
    report.drain_ns = last_send.get().map_or(0, |t| t.elapsed().as_nanos() as u64);
    report.cpu = schedstat(&own_stat)?.on_cpu.saturating_sub(cpu_before);
    Ok(report)
}

/// A process's CPU time over a window, and the time its threads spent runnable but waiting for
/// a CPU, in all and by thread name (`comm`: the daemon's tokio workers are `tokio-rt-worker`,
/// the store's SQLite workers `sqlx-sqlite-wor`). Both from `/proc/PID/task/TID/schedstat`.
struct CpuWindow {
    pid: u32,
    started: Instant,
    before: BTreeMap<String, Sched>,
}

/// On a CPU, and runnable but waiting for one.
#[derive(Debug, Clone, Copy, Default)]
struct Sched {
    on_cpu: Duration,
    waiting: Duration,
}

struct CpuUsed {
    wall: Duration,
    by_name: BTreeMap<String, Sched>,
}

impl CpuWindow {
    fn start(pid: u32) -> Result<CpuWindow> {
        Ok(CpuWindow {
            pid,
            started: Instant::now(),
            before: sched_by_thread_name(pid)?,
        })
    }

    fn finish(self) -> Result<CpuUsed> {
        let wall = self.started.elapsed();
        let mut by_name = sched_by_thread_name(self.pid)?;
        for (name, used) in by_name.iter_mut() {
            let before = self.before.get(name).copied().unwrap_or_default();
            used.on_cpu = used.on_cpu.saturating_sub(before.on_cpu);
            used.waiting = used.waiting.saturating_sub(before.waiting);
        }
        by_name.retain(|_, used| !used.on_cpu.is_zero() || !used.waiting.is_zero());
        Ok(CpuUsed { wall, by_name })
    }
}

impl CpuUsed {
    fn share(&self, d: Duration) -> f64 {
        d.as_secs_f64() / self.wall.as_secs_f64().max(1e-9) * 100.0
    }

    fn total(&self) -> Sched {
        self.by_name.values().fold(Sched::default(), |a, s| Sched {
            on_cpu: a.on_cpu + s.on_cpu,
            waiting: a.waiting + s.waiting,
        })
    }

    /// "CPU 150% of one core (waited 40%): tokio-rt-worker 112% (30%), sqlx-sqlite-wor …".
    fn line(&self) -> String {
        let total = self.total();
        let parts: Vec<String> = self
            .by_name
            .iter()
            .map(|(name, s)| {
                format!(
                    "{name} {:.0}% ({:.0}%)",
                    self.share(s.on_cpu),
                    self.share(s.waiting)
                )
            })
            .collect();
        format!(
            "CPU {:.0}% of one core (waiting for a CPU {:.0}%): {}",
            self.share(total.on_cpu),
            self.share(total.waiting),
            parts.join(", ")
        )
    }

    fn json(&self) -> Value {
        let by_name: serde_json::Map<String, Value> = self
            .by_name
            .iter()
            .map(|(name, s)| {
                let v = json!({"cpuPercent": self.share(s.on_cpu),
                    "waitingPercent": self.share(s.waiting)});
                (name.clone(), v)
            })
            .collect();
        let total = self.total();
        json!({"cpuPercent": self.share(total.on_cpu),
            "waitingPercent": self.share(total.waiting),
            "byThreadName": by_name, "seconds": self.wall.as_secs_f64()})
    }
}

/// [`Sched`] so far of each thread of `pid`, summed by thread name.
fn sched_by_thread_name(pid: u32) -> Result<BTreeMap<String, Sched>> {
    let dir = format!("/proc/{pid}/task");
    let mut by_name: BTreeMap<String, Sched> = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {dir}"))? {
        let task = entry.with_context(|| format!("reading {dir}"))?.path();
        // A thread that ended between the listing and the read is skipped.
        let (Ok(comm), Ok(s)) = (
            std::fs::read_to_string(task.join("comm")),
            schedstat(&task.join("schedstat").to_string_lossy()),
        ) else {
            continue;
        };
        let sum = by_name.entry(comm.trim().to_owned()).or_default();
        sum.on_cpu += s.on_cpu;
        sum.waiting += s.waiting;
    }
    Ok(by_name)
}

/// A `/proc/…/schedstat` file: nanoseconds on a CPU, nanoseconds runnable on a run queue, and
/// the number of time slices.
fn schedstat(path: &str) -> Result<Sched> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    let mut fields = text.split_whitespace().map(str::parse::<u64>);
    let mut next = || -> Result<Duration> {
        let ns = fields
            .next()
            .and_then(|f| f.ok())
            .with_context(|| format!("unexpected {path}: {text}"))?;
        Ok(Duration::from_nanos(ns))
    };
    Ok(Sched {
        on_cpu: next()?,
        waiting: next()?,
    })
}
