//! Turns against a model stream: what agentd adds between a model's delta and a client's
//! `item/agentMessage/delta`, a long turn's wall time, the size of the first model request, and
//! the turn-driven fan-out and append figures (the daemon's real hot path).
//!
//! The model is [`StampSource`] (see `sse_source.rs`): each delta's text carries the moment it
//! was written, on the bench's clock, so every receipt gives a latency. The baseline is a client
//! reading the same stream straight from the source (reqwest + eventsource-stream, as the
//! daemon reads it); the daemon's overhead is the difference of the two distributions.
//! The daemon commits every delta before it sends it: that is how it works, nothing is switched
//! off here.

use std::time::{Duration, Instant};

use agentd_tests::mock_llm::{MockLlm, Scripted};
use anyhow::{anyhow, bail, Context, Result};
use eventsource_stream::Eventsource as _;
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use super::daemon::{cpu_line, cpu_time, WsDaemon};
use super::relay::TcpRelay;
use super::sse_source::{stamp_of, stamps_of, Plan, StampSource, StreamLog};
use super::stats::{ms, per_s, thousands, Summary};
use super::ws::{self, Ws};
use super::{now_ns, Ctx};

const SEQ_KEY: &str = "\"seq\":";
const DELTA_METHOD: &str = "\"item/agentMessage/delta\"";
/// A reader gives up when nothing arrives for this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// The user's message of every turn: a one-liner.
const PROMPT: &str = "hello";
/// Deltas of the warm-up turn run on every daemon before anything is timed.
const WARMUP_DELTAS: usize = 20;

/// `-c` settings pointing the daemon at a model server (as `Options::mock_provider` does for
/// the tests), with no retries: a broken stream should fail the figure, not hide in it.
pub(super) fn provider_args(base_url: &str) -> Vec<String> {
    [
        "model=\"mock-model\"".to_string(),
        "model_provider=\"mock\"".to_string(),
        "model_providers.mock.name=\"Mock\"".to_string(),
        format!("model_providers.mock.base_url=\"{base_url}\""),
        "model_providers.mock.wire_api=\"responses\"".to_string(),
        "model_providers.mock.request_max_retries=0".to_string(),
        "model_providers.mock.stream_max_retries=0".to_string(),
        "model_providers.mock.stream_idle_timeout_ms=30000".to_string(),
    ]
    .into_iter()
    .flat_map(|kv| ["-c".to_string(), kv])
    .collect()
}

/// The `turn` benchmark: delta latency (1 and many clients, paced and burst, against the
/// direct-read baseline), a long turn's wall time, and the first request's size.
pub async fn run(ctx: &Ctx) -> Result<Value> {
    let o = &ctx.opts;
    let many = o.subscribers.max(1);
    let pace = Duration::from_micros(o.turn_pace_us);
    let paced = Plan {
        deltas: o.turn_deltas,
        delta_bytes: o.delta_bytes,
        pace: Some(pace),
    };
    let burst = Plan {
        pace: None,
        ..paced
    };
    println!(
        "== turn: model delta → client `item/agentMessage/delta`, {} deltas of {} bytes, paced \
         1 per {} µs and as a burst, 1 and {many} WebSocket clients; baseline: a client reading \
         the model stream directly",
        o.turn_deltas, o.delta_bytes, o.turn_pace_us
    );
    let cwd = tempfile::tempdir().context("creating the threads' cwd")?;
    let cwd = cwd.path().display().to_string();
    let source = StampSource::start(ctx.base, paced)?;

    let base_paced = baseline(&source, paced, ctx.base).await?;
    let base_burst = baseline(&source, burst, ctx.base).await?;
    let floor = relay_floor(&source, paced, ctx.base).await?;

    let d = WsDaemon::start(&ctx.bin, &provider_args(&source.base_url())).await?;
    println!("(daemon pid {})", d.pid);
    let mut setup = Setup::connect(&d, None).await?;
    warm_up(&d, &mut setup, &source, o.delta_bytes, &cwd, ctx.base).await?;
    let mut runs = Vec::new();
    for (label, plan) in [("paced", paced), ("burst", burst)] {
        for clients in [1, many] {
            let r = turn_with_subscribers(&d, &mut setup, &source, plan, clients, &cwd, ctx.base)
                .await
                .with_context(|| format!("{label} turn with {clients} clients"))?;
            runs.push((label, clients, r));
        }
    }

    let wall_plan = Plan {
        deltas: o.turn_wall_deltas,
        pace: None,
        ..paced
    };
    let wall = turn_with_subscribers(&d, &mut setup, &source, wall_plan, 1, &cwd, ctx.base)
        .await
        .context("the long turn")?;
    // The warm-up's request: the first one the daemon sent (the baselines' come before it).
    let first_raw = source
        .streams()
        .iter()
        .find(|s| s.body.windows(8).any(|w| w == b"\"tools\":"))
        .map_or(0, |s| s.body.len());
    drop(setup);
    d.stop().await;
    drop(source);

    let mut figures = serde_json::Map::new();
    println!(
        "baseline (direct read of the stream): paced p50 {}  p99 {}; burst p50 {}  p99 {}",
        ms(base_paced.p50),
        ms(base_paced.p99),
        ms(base_burst.p50),
        ms(base_burst.p99)
    );
    figures.insert(
        "baselineMs".into(),
        json!({"paced": base_paced.json_ms(), "burst": base_burst.json_ms()}),
    );
    let floor_p50 = floor.p50 as i64 - base_paced.p50 as i64;
    println!(
        "relay floor (the paced read through tcp-relay, a process that only copies bytes): \
         p50 {}  p99 {}; added p50 {}  p99 {}",
        ms(floor.p50),
        ms(floor.p99),
        us_signed(floor_p50),
        us_signed(floor.p99 as i64 - base_paced.p99 as i64)
    );
    figures.insert(
        "relayFloor".into(),
        json!({"latencyMs": floor.json_ms(), "addedP50Us": floor_p50 as f64 / 1e3}),
    );
    let mut latency = serde_json::Map::new();
    for (label, clients, r) in &runs {
        let base = if *label == "paced" {
            &base_paced
        } else {
            &base_burst
        };
        let mut lat: Vec<u64> = r.subs.iter().flat_map(|s| s.latencies.clone()).collect();
        let lat = Summary::of(&mut lat);
        let added_p50 = lat.p50 as i64 - base.p50 as i64;
        let added_p99 = lat.p99 as i64 - base.p99 as i64;
        let over_floor = if *label == "paced" {
            format!(
                "; over the relay floor p50 {}",
                us_signed(lat.p50 as i64 - floor.p50 as i64)
            )
        } else {
            String::new()
        };
        println!(
            "agentd {label}, {clients:>2} client(s): delta → client p50 {}  p99 {}  max {}; \
             added p50 {}  p99 {}{over_floor}",
            ms(lat.p50),
            ms(lat.p99),
            ms(lat.max),
            us_signed(added_p50),
            us_signed(added_p99),
        );
        println!(
            "  {}; {} delta events carried them; daemon CPU {:.0} µs per delta",
            r.check_line(o.turn_deltas),
            r.delta_events(),
            r.daemon_cpu.as_nanos() as f64 / 1e3 / o.turn_deltas.max(1) as f64
        );
        latency.insert(
            format!("{label}Clients{clients}"),
            json!({
                "latencyMs": lat.json_ms(),
                "addedP50Us": added_p50 as f64 / 1e3,
                "addedP99Us": added_p99 as f64 / 1e3,
                "deliveries": r.deltas_received(),
                "deltaEvents": r.delta_events(),
                "seqBreaks": r.seq_breaks(),
                "resyncRequired": r.resyncs(),
                "daemonCpuMs": r.daemon_cpu.as_millis() as u64,
            }),
        );
    }
    figures.insert("latency".into(), Value::Object(latency));
    println!("targets: added p50 ≤ 50 µs, p99 ≤ 300 µs");

    let wall_ns = wall.completed_ns().saturating_sub(wall.answer_ns);
    let stream_ns = wall
        .stream
        .last_delta_ns
        .saturating_sub(wall.stream.first_delta_ns);
    println!(
        "{}-delta turn, 1 client: turn/start answer → turn/completed {} (the model stream's \
         deltas took {} to write); {} events in the turn; {}",
        o.turn_wall_deltas,
        ms(wall_ns),
        ms(stream_ns),
        wall.turn_events(),
        cpu_line(wall.daemon_cpu, wall_ns, wall.turn_events())
    );
    figures.insert(
        "longTurn".into(),
        json!({
            "deltas": o.turn_wall_deltas,
            "wallMs": super::stats::ms_f(wall_ns),
            "streamWriteMs": super::stats::ms_f(stream_ns),
            "events": wall.turn_events(),
            "deltasReceived": wall.deltas_received(),
            "seqBreaks": wall.seq_breaks(),
            "daemonCpuMs": wall.daemon_cpu.as_millis() as u64,
        }),
    );

    let cost = request_size(ctx, &cwd)
        .await
        .context("measuring the first request")?;
    println!(
        "first model request for {PROMPT:?} with every tool: {} bytes (instructions {}, tools \
         {} [{}], input {}, the rest {}); raw body as the stamp source received it: {} bytes",
        cost.total,
        cost.instructions,
        cost.tools,
        cost.per_tool
            .iter()
            .map(|(n, b)| format!("{n} {b}"))
            .collect::<Vec<_>>()
            .join(", "),
        cost.input,
        cost.total - cost.instructions - cost.tools - cost.input,
        first_raw
    );
    println!("target: ≤ 12 KB");
    figures.insert(
        "firstRequest".into(),
        json!({
            "bytes": cost.total,
            "rawBytes": first_raw,
            "instructionsBytes": cost.instructions,
            "toolsBytes": cost.tools,
            "inputBytes": cost.input,
            "perTool": cost.per_tool.iter().map(|(n, b)| (n.clone(), json!(b))).collect::<serde_json::Map<_, _>>(),
        }),
    );
    Ok(Value::Object(figures))
}

pub(super) fn us_signed(ns: i64) -> String {
    format!("{:+.0} µs", ns as f64 / 1e3)
}

/// Turn-driven fan-out: one thread, many subscribers, one turn whose model answer is a burst of
/// deltas. Returns the figures for the `fanout` benchmark.
pub async fn fanout(ctx: &Ctx) -> Result<Value> {
    let o = &ctx.opts;
    let subs = o.subscribers.max(1);
    let plan = Plan {
        deltas: o.turn_fanout_deltas,
        delta_bytes: o.delta_bytes,
        pace: None,
    };
    println!(
        "== fanout (turn-driven): 1 thread, {subs} WebSocket subscribers, one turn streaming a \
         burst of {} deltas; daemon defaults (outbound queue 4096)",
        plan.deltas
    );
    let cwd = tempfile::tempdir().context("creating the threads' cwd")?;
    let cwd = cwd.path().display().to_string();
    let source = StampSource::start(ctx.base, plan)?;
    let d = WsDaemon::start(&ctx.bin, &provider_args(&source.base_url())).await?;
    println!("(daemon pid {})", d.pid);
    let mut setup = Setup::connect(&d, None).await?;
    warm_up(&d, &mut setup, &source, o.delta_bytes, &cwd, ctx.base).await?;
    let own_before = cpu_time(std::process::id())?;
    let r = turn_with_subscribers(&d, &mut setup, &source, plan, subs, &cwd, ctx.base).await?;
    let own_cpu = cpu_time(std::process::id())?.saturating_sub(own_before);
    drop(setup);
    d.stop().await;

    let delivered = r.deltas_received();
    let expected = (plan.deltas * subs) as u64;
    let last_receipt = r.subs.iter().map(|s| s.last_delta_ns).max().unwrap_or(0);
    let span = last_receipt.saturating_sub(r.stream.first_delta_ns);
    let rate = per_s(delivered, span);
    let all_events: u64 = r.subs.iter().map(|s| s.events).sum();
    let stream_ns = r
        .stream
        .last_delta_ns
        .saturating_sub(r.stream.first_delta_ns);
    let mut lat: Vec<u64> = r.subs.iter().flat_map(|s| s.latencies.clone()).collect();
    let lat = Summary::of(&mut lat);
    let short = r.subs.iter().filter(|s| s.timed_out).count();
    println!(
        "delta deliveries {delivered} of {expected} ({} missing), in {} delta events; seq \
         breaks {}; resyncRequired {}; subscribers that timed out {short}; {} event deliveries \
         in all",
        expected.saturating_sub(delivered),
        r.delta_events(),
        r.seq_breaks(),
        r.resyncs(),
        all_events
    );
    println!(
        "deliveries/s {} (delta deliveries ÷ first delta sent → last receipt, {}); the model \
         stream wrote its deltas in {} ({} deltas/s)",
        thousands(rate),
        ms(span),
        ms(stream_ns),
        thousands(per_s(plan.deltas as u64, stream_ns))
    );
    println!(
        "  {}; the bench's own clients and model stream used {:.0}% of one core",
        cpu_line(r.daemon_cpu, span, plan.deltas as u64),
        own_cpu.as_nanos() as f64 / span.max(1) as f64 * 100.0
    );
    println!(
        "latency model send → receipt: p50 {}  p99 {}  max {}",
        ms(lat.p50),
        ms(lat.p99),
        ms(lat.max)
    );
    println!("targets: ≥ 200,000 deliveries/s, p99 ≤ 5 ms");
    Ok(json!({
        "subscribers": subs,
        "deltas": plan.deltas,
        "deliveries": delivered,
        "expectedDeliveries": expected,
        "missing": expected.saturating_sub(delivered),
        "eventDeliveries": all_events,
        "deltaEvents": r.delta_events(),
        "seqBreaks": r.seq_breaks(),
        "resyncRequired": r.resyncs(),
        "timedOut": short,
        "deliveriesPerSec": rate.round(),
        "streamWriteMs": super::stats::ms_f(stream_ns),
        "daemonCpuMs": r.daemon_cpu.as_millis() as u64,
        "benchCpuMs": own_cpu.as_millis() as u64,
        "latencyMs": lat.json_ms(),
    }))
}

/// Turn-driven append: the same burst with nobody receiving the deltas; events committed per
/// second from the turn/start answer to turn/completed. Returns the figures for `append`.
pub async fn append(ctx: &Ctx) -> Result<Value> {
    let o = &ctx.opts;
    let plan = Plan {
        deltas: o.turn_fanout_deltas,
        delta_bytes: o.delta_bytes,
        pace: None,
    };
    println!(
        "== append (turn-driven): one turn streaming a burst of {} deltas, no client receiving \
         them (the one connection opted out of `item/agentMessage/delta`); events committed ÷ \
         turn/start answer → turn/completed",
        plan.deltas
    );
    let cwd = tempfile::tempdir().context("creating the threads' cwd")?;
    let cwd = cwd.path().display().to_string();
    let source = StampSource::start(ctx.base, plan)?;
    let d = WsDaemon::start(&ctx.bin, &provider_args(&source.base_url())).await?;
    println!("(daemon pid {})", d.pid);
    let mut observer = Setup::connect(&d, Some(&["item/agentMessage/delta"])).await?;
    warm_up(&d, &mut observer, &source, o.delta_bytes, &cwd, ctx.base).await?;

    source.set_plan(plan);
    let started = observer.call("thread/start", json!({"cwd": cwd})).await?;
    let thread_id = thread_id_of(&started)?;
    let before = observer.last_seq(&thread_id).await?;
    let cpu_before = d.cpu_time()?;
    let (turn_id, answer_ns) = observer.start_turn(&thread_id, ctx.base).await?;
    let completed_ns = observer.until_turn_completed(&turn_id, ctx.base).await?;
    let cpu = d.cpu_time()?.saturating_sub(cpu_before);
    let after = observer.last_seq(&thread_id).await?;
    let stream = source.last_stream().unwrap_or_default();
    drop(observer);
    d.stop().await;

    let events = after.saturating_sub(before);
    let span = completed_ns.saturating_sub(answer_ns);
    let rate = per_s(events, span);
    // Deltas that queue behind a commit are merged, so the log holds fewer events than the
    // model sent deltas: the rate that compares across versions is deltas made durable.
    let delta_rate = per_s(plan.deltas as u64, span);
    let stream_ns = stream.last_delta_ns.saturating_sub(stream.first_delta_ns);
    println!(
        "{} model deltas/s committed ({} deltas as {events} events, {} events/s, in {}; the \
         model stream wrote its deltas in {}, {} deltas/s)",
        thousands(delta_rate),
        plan.deltas,
        thousands(rate),
        ms(span),
        ms(stream_ns),
        thousands(per_s(stream.deltas as u64, stream_ns))
    );
    println!("  {}", cpu_line(cpu, span, plan.deltas as u64));
    println!("target: ≥ 50,000 events (deltas)/s");
    Ok(json!({
        "deltas": plan.deltas,
        "events": events,
        "deltasPerSec": delta_rate.round(),
        "eventsPerSec": rate.round(),
        "wallMs": super::stats::ms_f(span),
        "streamWriteMs": super::stats::ms_f(stream_ns),
        "daemonCpuMs": cpu.as_millis() as u64,
    }))
}

/// Latency of a client reading the model stream itself: the floor any relay starts from.
pub(super) async fn baseline(source: &StampSource, plan: Plan, base: Instant) -> Result<Summary> {
    read_stream(source, &source.base_url(), plan, base).await
}

/// The direct read again, through `tcp-relay` (a process that only copies bytes): what one
/// more process and loopback hop on the path cost on this machine before a relay does any
/// work of its own. agentd's own share of its added latency is what it adds beyond this.
async fn relay_floor(source: &StampSource, plan: Plan, base: Instant) -> Result<Summary> {
    let relay = TcpRelay::start(source.addr()).await?;
    read_stream(source, &relay.base_url(), plan, base)
        .await
        .context("reading through tcp-relay")
}

/// Reads one stream of `plan` from `base_url` (the source's, or a relay's in front of it).
async fn read_stream(
    source: &StampSource,
    base_url: &str,
    plan: Plan,
    base: Instant,
) -> Result<Summary> {
    source.set_plan(plan);
    let client = reqwest::Client::new();
    let response = client
        .post(format!("{base_url}/responses"))
        .header("content-type", "application/json")
        .body(r#"{"model":"mock-model","stream":true}"#)
        .send()
        .await
        .context("baseline request")?;
    let mut events = response.bytes_stream().eventsource();
    let mut lat = Vec::with_capacity(plan.deltas);
    loop {
        let event = tokio::time::timeout(IDLE_TIMEOUT, events.next())
            .await
            .context("baseline stream went quiet")?
            .context("baseline stream ended before response.completed")?
            .map_err(|e| anyhow!("baseline stream: {e}"))?;
        let now = now_ns(base);
        match event.event.as_str() {
            "response.output_text.delta" => {
                if let Some(stamp) = stamp_of(&event.data) {
                    lat.push(now.saturating_sub(stamp));
                }
            }
            "response.completed" => break,
            _ => {}
        }
    }
    if lat.len() != plan.deltas {
        bail!("baseline got {} of {} deltas", lat.len(), plan.deltas);
    }
    Ok(Summary::of(&mut lat))
}

/// The connection that creates threads and starts turns; not subscribed to anything unless it
/// is the append observer.
struct Setup {
    ws: Ws,
    next_id: u64,
}

impl Setup {
    /// Connects and initializes, opting out of `opt_out` notifications.
    async fn connect(d: &WsDaemon, opt_out: Option<&[&str]>) -> Result<Setup> {
        let mut ws = ws::connect(&d.url, d.token.as_deref()).await?;
        let mut params = json!({"clientInfo": {"name": "agentd-bench-turns", "version": "0.0.0"}});
        if let Some(methods) = opt_out {
            params["capabilities"] = json!({"optOutNotificationMethods": methods});
        }
        ws::call(&mut ws, 0, "initialize", params).await?;
        ws::send_json(&mut ws, &json!({"jsonrpc": "2.0", "method": "initialized"})).await?;
        Ok(Setup { ws, next_id: 1 })
    }

    async fn call(&mut self, method: &str, params: Value) -> Result<Value> {
        self.next_id += 1;
        ws::call(&mut self.ws, self.next_id, method, params).await
    }

    /// A new thread in `cwd` this connection is not subscribed to.
    async fn unsubscribed_thread(&mut self, cwd: &str) -> Result<String> {
        let started = self.call("thread/start", json!({"cwd": cwd})).await?;
        let thread_id = thread_id_of(&started)?;
        self.call("thread/unsubscribe", json!({"threadId": thread_id}))
            .await?;
        Ok(thread_id)
    }

    /// Sends turn/start; returns the turn id and when the answer arrived.
    async fn start_turn(&mut self, thread_id: &str, base: Instant) -> Result<(String, u64)> {
        let r = self
            .call(
                "turn/start",
                json!({"threadId": thread_id, "input": [{"type": "text", "text": PROMPT}]}),
            )
            .await?;
        let answered = now_ns(base);
        let turn_id = r["turn"]["id"]
            .as_str()
            .context("turn/start answer without turn.id")?
            .to_owned();
        Ok((turn_id, answered))
    }

    /// Reads notifications until this turn's `turn/completed`; returns its receipt time.
    async fn until_turn_completed(&mut self, turn_id: &str, base: Instant) -> Result<u64> {
        loop {
            let text = ws::next_text(&mut self.ws, IDLE_TIMEOUT).await?;
            let now = now_ns(base);
            if text.contains("\"turn/completed\"") && text.contains(turn_id) {
                return Ok(now);
            }
        }
    }

    /// The thread's `lastSeq` (`thread/read`).
    async fn last_seq(&mut self, thread_id: &str) -> Result<u64> {
        let r = self
            .call("thread/read", json!({"threadId": thread_id}))
            .await?;
        r["thread"]["lastSeq"]
            .as_u64()
            .context("thread/read answer without thread.lastSeq")
    }
}

fn thread_id_of(started: &Value) -> Result<String> {
    started["thread"]["id"]
        .as_str()
        .map(str::to_owned)
        .context("thread/start answer without thread.id")
}

/// One short turn on a fresh daemon before anything is timed: the HTTP connection to the model
/// is opened and every code path has run once.
async fn warm_up(
    d: &WsDaemon,
    setup: &mut Setup,
    source: &StampSource,
    delta_bytes: usize,
    cwd: &str,
    base: Instant,
) -> Result<()> {
    let plan = Plan {
        deltas: WARMUP_DELTAS,
        delta_bytes,
        pace: None,
    };
    turn_with_subscribers(d, setup, source, plan, 1, cwd, base)
        .await
        .context("warm-up turn")?;
    Ok(())
}

/// What one subscriber saw of a turn.
#[derive(Debug, Default)]
struct SubResult {
    /// Model send → receipt of each delta, ns.
    latencies: Vec<u64>,
    /// Logged events received after going live (each seq once).
    events: u64,
    seq_breaks: u64,
    resyncs: u64,
    /// `item/agentMessage/delta` events received: fewer than `latencies` when the daemon
    /// merged deltas that queued behind a commit.
    delta_events: u64,
    last_delta_ns: u64,
    completed_ns: u64,
    timed_out: bool,
}

/// A turn as every subscriber saw it.
struct TurnRun {
    subs: Vec<SubResult>,
    /// When the turn/start answer arrived.
    answer_ns: u64,
    stream: StreamLog,
    daemon_cpu: Duration,
}

impl TurnRun {
    fn deltas_received(&self) -> u64 {
        self.subs.iter().map(|s| s.latencies.len() as u64).sum()
    }

    fn seq_breaks(&self) -> u64 {
        self.subs.iter().map(|s| s.seq_breaks).sum()
    }

    fn delta_events(&self) -> u64 {
        self.subs.iter().map(|s| s.delta_events).sum()
    }

    fn resyncs(&self) -> u64 {
        self.subs.iter().map(|s| s.resyncs).sum()
    }

    /// When the last subscriber got turn/completed.
    fn completed_ns(&self) -> u64 {
        self.subs.iter().map(|s| s.completed_ns).max().unwrap_or(0)
    }

    /// Logged events of the turn as the first subscriber counted them (the warm-up rename
    /// excluded).
    fn turn_events(&self) -> u64 {
        self.subs.first().map_or(0, |s| s.events.saturating_sub(1))
    }

    fn check_line(&self, deltas: usize) -> String {
        let expected = (deltas * self.subs.len()) as u64;
        let got = self.deltas_received();
        format!(
            "{got}/{expected} deliveries, {} seq breaks, {} resyncs",
            self.seq_breaks(),
            self.resyncs()
        )
    }
}

/// A fresh thread with `clients` live subscribers, then one turn whose model answer follows
/// `plan`; returns once every subscriber has seen turn/completed.
async fn turn_with_subscribers(
    d: &WsDaemon,
    setup: &mut Setup,
    source: &StampSource,
    plan: Plan,
    clients: usize,
    cwd: &str,
    base: Instant,
) -> Result<TurnRun> {
    source.set_plan(plan);
    let thread_id = setup.unsubscribed_thread(cwd).await?;
    let (live_tx, mut live_rx) = mpsc::channel::<()>(clients);
    let mut tasks: Vec<JoinHandle<Result<SubResult>>> = Vec::with_capacity(clients);
    for i in 0..clients {
        let mut c = d
            .connect("agentd-bench-subscriber")
            .await
            .with_context(|| format!("connecting subscriber {i}"))?;
        ws::call(&mut c, 1, "thread/resume", json!({"threadId": thread_id}))
            .await
            .with_context(|| format!("subscriber {i} resuming"))?;
        tasks.push(tokio::spawn(subscriber(c, base, live_tx.clone())));
    }
    drop(live_tx);
    // One event every subscriber must see before the turn starts: all are live.
    setup
        .call(
            "thread/name/set",
            json!({"threadId": thread_id, "name": "live"}),
        )
        .await?;
    for _ in 0..clients {
        tokio::time::timeout(IDLE_TIMEOUT, live_rx.recv())
            .await
            .context("a subscriber did not go live in time")?
            .context("a subscriber ended before going live")?;
    }
    let cpu_before = d.cpu_time()?;
    let (_, answer_ns) = setup.start_turn(&thread_id, base).await?;
    let mut subs = Vec::with_capacity(clients);
    for (i, t) in tasks.into_iter().enumerate() {
        subs.push(
            t.await
                .map_err(|e| anyhow!("subscriber {i} panicked: {e}"))?
                .with_context(|| format!("subscriber {i}"))?,
        );
    }
    let daemon_cpu = d.cpu_time()?.saturating_sub(cpu_before);
    let stream = source.last_stream().unwrap_or_default();
    if stream.deltas != plan.deltas || !stream.completed {
        bail!(
            "the model stream wrote {} of {} deltas (completed: {})",
            stream.deltas,
            plan.deltas,
            stream.completed
        );
    }
    Ok(TurnRun {
        subs,
        answer_ns,
        stream,
        daemon_cpu,
    })
}

/// Reads a subscriber's frames until turn/completed: checks seqs, times every delta.
async fn subscriber(mut ws: Ws, base: Instant, live: mpsc::Sender<()>) -> Result<SubResult> {
    let mut r = SubResult::default();
    let mut last_seq: Option<u64> = None;
    let mut is_live = false;
    loop {
        let msg = match tokio::time::timeout(IDLE_TIMEOUT, ws.next()).await {
            Err(_) => {
                r.timed_out = true;
                return Ok(r);
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
        if !is_live {
            if text.contains("\"thread/name/updated\"") {
                is_live = true;
                last_seq = ws::u64_after(text, SEQ_KEY);
                r.events = 1;
                let _ = live.try_send(());
            }
            continue;
        }
        // Notifications that are not logged events repeat the thread's last seq: counted once.
        if let Some(seq) = ws::u64_after(text, SEQ_KEY) {
            match last_seq {
                Some(prev) if seq == prev => {}
                Some(prev) => {
                    if seq != prev + 1 {
                        r.seq_breaks += 1;
                    }
                    r.events += 1;
                    last_seq = Some(seq);
                }
                None => last_seq = Some(seq),
            }
        }
        if text.contains(DELTA_METHOD) {
            for stamp in stamps_of(text) {
                r.latencies.push(now.saturating_sub(stamp));
                r.last_delta_ns = now;
            }
            r.delta_events += 1;
        } else if text.contains("\"turn/completed\"") {
            r.completed_ns = now;
            return Ok(r);
        } else if text.contains("\"thread/resyncRequired\"") {
            r.resyncs += 1;
        }
    }
}

/// Bytes of the first model request of a thread.
struct RequestSize {
    total: usize,
    instructions: usize,
    tools: usize,
    per_tool: Vec<(String, usize)>,
    input: usize,
}

/// Runs one turn ("hello", a fresh thread in an empty directory) against `mock_llm` and
/// measures its request: the body re-serialised compactly, and its parts.
async fn request_size(ctx: &Ctx, cwd: &str) -> Result<RequestSize> {
    let mock = MockLlm::start(vec![Scripted::responses_text("hi there")]).await?;
    let d = WsDaemon::start(&ctx.bin, &provider_args(&mock.base_url())).await?;
    let mut c = Setup::connect(&d, None).await?;
    let started = c.call("thread/start", json!({"cwd": cwd})).await?;
    let thread_id = thread_id_of(&started)?;
    let (turn_id, _) = c.start_turn(&thread_id, ctx.base).await?;
    c.until_turn_completed(&turn_id, ctx.base).await?;
    let requests = mock.wait_for_requests(1, IDLE_TIMEOUT).await?;
    drop(c);
    d.stop().await;
    let body = &requests.first().context("the mock saw no request")?.body;
    let size = |v: &Value| serde_json::to_string(v).map_or(0, |s| s.len());
    let per_tool = body["tools"]
        .as_array()
        .map(|tools| {
            tools
                .iter()
                .map(|t| (t["name"].as_str().unwrap_or("?").to_owned(), size(t)))
                .collect()
        })
        .unwrap_or_default();
    Ok(RequestSize {
        total: size(body),
        instructions: size(&body["instructions"]),
        tools: size(&body["tools"]),
        per_tool,
        input: size(&body["input"]),
    })
}
