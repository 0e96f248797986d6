//! The benchmarks behind `agentd-bench`, and what they share.
//!
//! Adding one: write `async fn run(ctx: &Ctx) -> Result<Value>` in a new module (print human
//! lines as you go, return the figures as JSON) and add a line to [`BENCHES`].

mod acp;
mod agents;
pub mod append;
mod cluster;
pub mod daemon;
mod exec;
pub mod fanout;
pub mod flood;
pub mod history;
mod hooks;
mod mcp;
mod relay;
pub mod rss;
pub mod sandbox;
pub mod sse_source;
pub mod startup;
pub mod stats;
mod threads;
pub mod turns;
pub mod writers;
pub mod ws;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Instant;

use anyhow::{Context, Result};
use serde_json::Value;

/// Knobs shared by every benchmark; the defaults are the figures `make bench` reports.
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Timed runs per cold-start measurement.
    #[arg(long, default_value_t = 20)]
    pub runs: usize,
    /// Events in the existing data dir the restart measurement starts on.
    #[arg(long, default_value_t = 100_000)]
    pub history_events: u64,
    /// Idle WebSocket connections opened for the memory measurement.
    #[arg(long, default_value_t = 1000)]
    pub connections: usize,
    /// Subscribers of the fan-out thread.
    #[arg(long, default_value_t = 50)]
    pub subscribers: usize,
    /// Events produced during the fan-out measurement.
    #[arg(long, default_value_t = 20_000)]
    pub fanout_events: u64,
    /// Renames sent one at a time after the loaded fan-out run (latency without queueing).
    #[arg(long, default_value_t = 1000)]
    pub paced_events: u64,
    /// Events appended by the append measurements.
    #[arg(long, default_value_t = 50_000)]
    pub append_events: u64,
    /// Connections sending pipelined `thread/name/set` requests.
    #[arg(long, default_value_t = 4)]
    pub writers: usize,
    /// Requests each writer keeps in flight.
    #[arg(long, default_value_t = 256)]
    pub in_flight: usize,
    /// `--outbound-queue` given to the daemon for fan-out (frames per connection).
    #[arg(long, default_value_t = 65_536)]
    pub outbound_queue: usize,
    /// Deltas per timed turn of the `turn` latency runs.
    #[arg(long, default_value_t = 2000)]
    pub turn_deltas: usize,
    /// Microseconds between two model deltas in the paced latency runs.
    #[arg(long, default_value_t = 500)]
    pub turn_pace_us: u64,
    /// Bytes of each model delta (at least the 18-byte timestamp).
    #[arg(long, default_value_t = 24)]
    pub delta_bytes: usize,
    /// Deltas of the long turn whose wall time `turn` reports.
    #[arg(long, default_value_t = 10_000)]
    pub turn_wall_deltas: usize,
    /// Deltas of the turn that drives the turn-driven fan-out and append figures.
    #[arg(long, default_value_t = 20_000)]
    pub turn_fanout_deltas: usize,
    /// Concurrent emitting tasks for the in-process append variant (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = vec![1usize, 4, 256])]
    pub emit_tasks: Vec<usize>,
}

/// What every benchmark gets.
pub struct Ctx {
    pub bin: PathBuf,
    pub opts: Options,
    /// The one monotonic epoch of the process: timestamps carried in messages are nanoseconds
    /// since it, so send and receive times compare across every client.
    pub base: Instant,
}

/// Nanoseconds since `base` (see [`Ctx::base`]).
pub fn now_ns(base: Instant) -> u64 {
    base.elapsed().as_nanos() as u64
}

pub type BenchFuture<'a> = Pin<Box<dyn Future<Output = Result<Value>> + 'a>>;

pub struct Bench {
    pub name: &'static str,
    pub about: &'static str,
    pub run: for<'a> fn(&'a Ctx) -> BenchFuture<'a>,
}

/// Every benchmark, in the order `all` runs them.
pub const BENCHES: &[Bench] = &[
    Bench {
        name: "startup",
        about: "spawn → `initialize` answer, over stdio and over WebSocket",
        run: |c| Box::pin(startup::run(c)),
    },
    Bench {
        name: "rss",
        about: "resident memory idle, and per idle initialized WebSocket connection",
        run: |c| Box::pin(rss::run(c)),
    },
    Bench {
        name: "threads",
        about:
            "resident memory per loaded thread and after idle threads unload; the connection cap",
        run: |c| Box::pin(threads::run(c)),
    },
    Bench {
        name: "exec",
        about: "agentd exec: spawn → model request on an empty data dir (vs codex exec with $CODEX_BIN)",
        run: |c| Box::pin(exec::run(c)),
    },
    Bench {
        name: "agents",
        about: "a sub-agent's start: spawn_agent call → the child's first model request",
        run: |c| Box::pin(agents::run(c)),
    },
    Bench {
        name: "hooks",
        about: "what a no-op PreToolUse + PostToolUse hook adds to a tool call's round trip",
        run: |c| Box::pin(hooks::run(c)),
    },
    Bench {
        name: "acp",
        about: "agentd acp: session/new → first agent_message_chunk; session/load of 1,000 items",
        run: |c| Box::pin(acp::run(c)),
    },
    Bench {
        name: "mcp",
        about: "an MCP tool call's round trip through the daemon vs calling the server directly",
        run: |c| Box::pin(mcp::run(c)),
    },
    Bench {
        name: "turn",
        about: "model delta → client latency vs a direct reader, a 10k-delta turn, request size",
        run: |c| Box::pin(turns::run(c)),
    },
    Bench {
        name: "fanout",
        about:
            "one thread, many WebSocket subscribers, a turn's deltas (then renames): deliveries/s",
        run: |c| Box::pin(fanout::run(c)),
    },
    Bench {
        name: "append",
        about: "events committed per second: a turn's deltas, renames, in-process",
        run: |c| Box::pin(append::run(c)),
    },
    Bench {
        name: "history",
        about: "thread/read and thread/resume of a 10k-item thread, thread/search over 10k threads",
        run: |c| Box::pin(history::run(c)),
    },
    Bench {
        name: "sandbox",
        about: "cost of the sandbox per spawned command: /bin/true direct vs `agentd sandbox-exec`",
        run: |c| Box::pin(sandbox::run(c)),
    },
    Bench {
        name: "flood",
        about: "another connection's thread/read latency while one connection floods requests",
        run: |c| Box::pin(flood::run(c)),
    },
    Bench {
        name: "cluster",
        about: "daemons on one PostgreSQL: follower latency, 3-daemon fan-out, kill -9 take-over",
        run: |c| Box::pin(cluster::run(c)),
    },
];

pub fn list_help() -> String {
    let mut s = String::from("Benchmarks:\n  all        every benchmark below, in order\n");
    for b in BENCHES {
        s.push_str(&format!("  {:<10} {}\n", b.name, b.about));
    }
    s
}

/// The binary `name` beside this one (`cargo build --release --bins` builds them all).
pub fn sibling_bin(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let path = exe
        .parent()
        .context("the bench binary has no directory")?
        .join(name);
    if !path.is_file() {
        anyhow::bail!(
            "{} not found: build it with `cargo build --release --bins`",
            path.display()
        );
    }
    Ok(path)
}

/// The daemon binary: `$AGENTD_BIN`, else the release build, else a fresh debug build.
pub fn daemon_bin() -> Result<PathBuf> {
    if std::env::var_os("AGENTD_BIN").is_some() {
        return agentd_tests::harness::agentd_bin();
    }
    let release = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/agentd");
    if release.exists() {
        return Ok(release);
    }
    eprintln!("agentd-bench: no release build and no $AGENTD_BIN; using a debug build");
    agentd_tests::harness::agentd_bin()
}

/// The 1-, 5- and 15-minute load averages, as `/proc/loadavg` gives them.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// Raises the soft open-files limit to the hard one (the daemon inherits it), returning it.
pub fn raise_nofile_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim = raised;
            }
        }
    }
    lim.rlim_cur
}
