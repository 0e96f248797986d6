//! `mock-mcp`: a scripted MCP server for agentd's MCP client tests (logic in
//! `agentd_tests::mock_mcp`).
//!
//! ```text
//! mock-mcp stdio [--mode normal|exit-at-start|hang-initialize|garbage-stdout] [--record FILE]
//! mock-mcp http [--bearer TOKEN] [--record FILE]
//! ```
//!
//! Every mode first writes `mock-mcp: started pid=<pid>` to stderr and appends `pid <pid>` to
//! the record file. `http` prints `listening http://127.0.0.1:<port>/mcp` on stdout.

use std::path::PathBuf;

use agentd_tests::mock_mcp::{self, Mode, Record};
use clap::{Parser, Subcommand};

/// Scripted MCP server (stdio or Streamable HTTP) for end-to-end tests.
#[derive(Parser, Debug)]
#[command(name = "mock-mcp", version)]
struct Args {
    #[command(subcommand)]
    transport: Transport,
}

#[derive(Subcommand, Debug)]
enum Transport {
    /// Serve MCP on stdin/stdout.
    Stdio {
        /// How to misbehave.
        #[arg(long, value_enum, default_value_t = Mode::Normal)]
        mode: Mode,
        /// Append events (pid, cancellations) to this file, one per line.
        #[arg(long, value_name = "FILE")]
        record: Option<PathBuf>,
    },
    /// Serve MCP over Streamable HTTP on 127.0.0.1 (a free port), path /mcp.
    Http {
        /// Answer 401 unless the request has `Authorization: Bearer TOKEN`.
        #[arg(long, value_name = "TOKEN")]
        bearer: Option<String>,
        /// Append events (pid, cancellations, x-test headers) to this file, one per line.
        #[arg(long, value_name = "FILE")]
        record: Option<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Args::parse().transport {
        Transport::Stdio { mode, record } => {
            let record = Record::new(record);
            mock_mcp::announce(&record);
            mock_mcp::run_stdio(mode, record).await
        }
        Transport::Http { bearer, record } => {
            let record = Record::new(record);
            mock_mcp::announce(&record);
            mock_mcp::serve_http(bearer, record).await
        }
    }
}
