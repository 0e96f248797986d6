//! `mock-mcp`: a scripted MCP server for the end-to-end tests of agentd's MCP client, built on
//! rmcp's server side (a hand-written `ServerHandler`, no macros) and served over stdio or
//! Streamable HTTP. The binary (`src/bin/mock-mcp.rs`) only parses the command line.
//!
//! Every tool exists to provoke one behaviour of the client: text, images, tool-level and
//! protocol errors, cancellation, elicitation, a server dying mid-call, list changes, huge
//! results and awkward tool names (see [`tools`]). Side effects the tests check afterwards
//! (the pid, a cancellation, an HTTP header) go to an append-only record file ([`Record`]).

mod calls;
mod http;
mod record;
mod server;
pub mod tools;

use std::io::Read as _;

use anyhow::Context as _;
use rmcp::ServiceExt as _;

pub use http::serve_http;
pub use record::Record;
pub use server::MockServer;

/// How the stdio server misbehaves (`--mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// A well-behaved server.
    #[default]
    Normal,
    /// Exits with code 3 before reading anything (a command that fails at once).
    ExitAtStart,
    /// Reads stdin and never answers, not even `initialize`; it keeps hanging after stdin EOF,
    /// so only a signal ends it (the client's init timeout and kill path).
    HangInitialize,
    /// Prints lines that are not JSON-RPC to stdout, then serves normally (a chatty server).
    GarbageStdout,
}

/// Lines `--mode garbage-stdout` prints before serving.
pub const GARBAGE_LINES: &[&str] = &["this is not json", "neither is this {", "mock-mcp says hi"];

/// Announces the process (stderr, and `pid <pid>` in the record) so tests can look for
/// orphans later; every mode does this first.
pub fn announce(record: &Record) {
    let pid = std::process::id();
    eprintln!("mock-mcp: started pid={pid}");
    record.line(&format!("pid {pid}"));
}

/// Serves MCP over this process's stdin/stdout in `mode` until stdin closes.
pub async fn run_stdio(mode: Mode, record: Record) -> anyhow::Result<()> {
    match mode {
        Mode::Normal => {}
        Mode::ExitAtStart => {
            eprintln!("mock-mcp: exiting at start");
            std::process::exit(3);
        }
        Mode::HangInitialize => return hang_forever().await,
        Mode::GarbageStdout => print_garbage()?,
    }
    let service = MockServer::new(record)
        .serve(rmcp::transport::stdio())
        .await
        .context("mock-mcp: MCP handshake over stdio failed")?;
    service.waiting().await.context("mock-mcp: stdio service")?;
    Ok(())
}

/// Swallows stdin on a thread (so the client's writes never block) and never returns.
async fn hang_forever() -> anyhow::Result<()> {
    std::thread::spawn(|| {
        let mut sink = [0u8; 8192];
        let mut stdin = std::io::stdin().lock();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
    });
    std::future::pending::<()>().await;
    Ok(())
}

fn print_garbage() -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    for line in GARBAGE_LINES {
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(())
}
