//! `mock-llm`: serves a scripted model API on loopback, for `make demo`,
//! benchmarks and manual testing.
//!
//! ```text
//! mock-llm --script FILE.json [--port N]
//! mock-llm --demo [--port N] [--chunk-delay-ms MS]
//! mock-llm --bench [--delta-count N] [--delta-bytes B] [--port N]
//! ```
//!
//! The base URL goes to stdout (line 1, flushed) so a script can read it,
//! and to stderr as a human-readable line.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use agentd_tests::mock_llm::{
    bench_script, demo_script, parse_script, MockConfig, MockLlm, DEMO_CHUNK_DELAY,
};
use anyhow::Context as _;
use clap::Parser;

/// Scripted OpenAI-compatible model server (Responses + Chat Completions).
#[derive(Parser, Debug)]
#[command(name = "mock-llm", version)]
struct Args {
    /// JSON file with a list of scripted answers, consumed in order.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["demo", "bench"])]
    script: Option<PathBuf>,
    /// Serve a built-in conversation forever (no API key needed).
    #[arg(long)]
    demo: bool,
    /// Answer every request with one message of --delta-count deltas of
    /// --delta-bytes bytes, then response.completed.
    #[arg(long, conflicts_with = "demo")]
    bench: bool,
    /// Bench mode: deltas per answer (also switches --demo to bench mode).
    #[arg(long, value_name = "N")]
    delta_count: Option<usize>,
    /// Bench mode: bytes per delta.
    #[arg(long, value_name = "B", default_value_t = 16)]
    delta_bytes: usize,
    /// Delay before each streamed event, in milliseconds
    /// (demo default 40, otherwise 0).
    #[arg(long, value_name = "MS")]
    chunk_delay_ms: Option<u64>,
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = config_from(&args)?;
    let mock = MockLlm::start_with(config).await?;
    let url = mock.base_url();
    eprintln!("mock-llm listening on {url}");
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{url}")?;
    stdout.flush()?;
    drop(stdout);
    tokio::signal::ctrl_c().await?;
    Ok(())
}

fn config_from(args: &Args) -> anyhow::Result<MockConfig> {
    let delay = args.chunk_delay_ms.map(Duration::from_millis);
    let mut config = MockConfig {
        port: args.port,
        ..MockConfig::default()
    };
    if let Some(path) = &args.script {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read script {}", path.display()))?;
        config.script = parse_script(&text).with_context(|| format!("in {}", path.display()))?;
        if let Some(delay) = delay {
            config.script = config
                .script
                .into_iter()
                .map(|s| s.with_chunk_delay(delay))
                .collect();
        }
    } else if args.bench || args.delta_count.is_some() {
        let mut answer = bench_script(args.delta_count.unwrap_or(100), args.delta_bytes);
        if let Some(delay) = delay {
            answer = answer.with_chunk_delay(delay);
        }
        config.script = vec![answer];
        config.cycle = true;
        config.adapt_to_endpoint = true;
    } else if args.demo {
        config.script = demo_script(delay.unwrap_or(DEMO_CHUNK_DELAY));
        config.cycle = true;
        config.adapt_to_endpoint = true;
    } else {
        anyhow::bail!("give --script FILE, --demo or --bench (see --help)");
    }
    Ok(config)
}
