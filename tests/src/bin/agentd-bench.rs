//! `agentd-bench`: measures the real `agentd` binary over real sockets on loopback.
//!
//! `agentd-bench all` (what `make bench` runs) or any of the benchmark names; `--help` lists them
//! and the knobs. Benchmarks measure and print, they never assert: one human-readable block per
//! benchmark, then one JSON line with every figure. The daemon is `$AGENTD_BIN`, else
//! `target/release/agentd`, else a debug build made on the spot (figures from a debug build are
//! not worth comparing).

#[path = "../bench/mod.rs"]
mod bench;

use std::time::Instant;

use anyhow::{bail, Result};
use clap::Parser;
use serde_json::{json, Map, Value};

#[derive(Debug, Parser)]
#[command(
    name = "agentd-bench",
    about = "Benchmarks for agentd: cold start, memory, fan-out, event append",
    after_help = bench::list_help()
)]
struct Cli {
    /// Benchmarks to run, in order (`all` runs every one).
    #[arg(default_value = "all")]
    benches: Vec<String>,
    #[command(flatten)]
    opts: bench::Options,
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let mut selected: Vec<&bench::Bench> = Vec::new();
    for name in &cli.benches {
        if name == "all" {
            selected.extend(bench::BENCHES.iter());
            continue;
        }
        match bench::BENCHES.iter().find(|b| b.name == name) {
            Some(b) => selected.push(b),
            None => bail!("unknown benchmark {name:?}\n{}", bench::list_help()),
        }
    }
    let nofile = bench::raise_nofile_limit();
    let ctx = bench::Ctx {
        bin: bench::daemon_bin()?,
        opts: cli.opts,
        base: Instant::now(),
    };
    println!("agentd-bench: daemon {}", ctx.bin.display());
    let load_before = bench::load_average();
    println!(
        "agentd-bench: {} cpus, RLIMIT_NOFILE {nofile}, load average {load_before} \
         (other work on the machine skews every figure)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let mut results = Map::new();
    let mut failed = Vec::new();
    for b in selected {
        println!();
        let started = Instant::now();
        let figures = match (b.run)(&ctx).await {
            Ok(v) => v,
            Err(e) => {
                println!("{}: FAILED: {e:#}", b.name);
                failed.push(b.name);
                json!({ "error": format!("{e:#}") })
            }
        };
        println!("({} took {:.1} s)", b.name, started.elapsed().as_secs_f64());
        results.insert(b.name.to_owned(), figures);
    }
    println!();
    let load_after = bench::load_average();
    println!("agentd-bench: load average at the end {load_after}");
    let summary = json!({
        "agentdBench": {
            "daemon": ctx.bin.display().to_string(),
            "loadAverage": {"before": load_before, "after": load_after},
            "results": Value::Object(results),
        }
    });
    println!("{summary}");
    if !failed.is_empty() {
        bail!("could not run: {}", failed.join(", "));
    }
    Ok(())
}
