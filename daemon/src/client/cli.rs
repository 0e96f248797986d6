//! `agentd client`: JSON-RPC lines from stdin to a daemon over WebSocket, and everything the
//! daemon sends back as JSON lines on stdout — a first session, or a script, with nothing but
//! agentd installed. The token comes from `--token`, `$AGENTD_TOKEN` or the daemon's token
//! file (`agentd token path`).

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::connection::{Connection, Incoming};

#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// The daemon's address.
    #[arg(long, default_value = "ws://127.0.0.1:7777")]
    pub connect: String,
    /// The token (default: `$AGENTD_TOKEN`, else the token file of the data directory).
    #[arg(long, env = "AGENTD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Where the token file is looked for (default: `$XDG_DATA_HOME/agentd`).
    #[arg(long, env = "AGENTD_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Once stdin has ended and every request is answered, keep printing until a notification
    /// of this method arrives (e.g. `turn/completed`), instead of for half a second.
    #[arg(long, value_name = "METHOD")]
    pub until: Option<String>,
}

pub fn main(args: ClientArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(run(args));
    runtime.shutdown_timeout(Duration::from_millis(100));
    result
}

async fn run(args: ClientArgs) -> anyhow::Result<()> {
    let token = args
        .token
        .clone()
        .or_else(|| super::local_token(args.data_dir.as_deref()));
    let mut conn = Connection::websocket(&args.connect, token.as_deref()).await?;
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let mut open: HashSet<String> = HashSet::new();
    let mut stdin_done = false;
    loop {
        let linger = tokio::time::sleep(Duration::from_millis(500));
        tokio::select! {
            line = stdin.next_line(), if !stdin_done => match line? {
                Some(line) if line.trim().is_empty() => {}
                Some(line) => {
                    if let Some(id) = serde_json::from_str::<Value>(&line).ok().and_then(|v| v.get("id").cloned()) {
                        open.insert(id.to_string());
                    }
                    conn.send(line)?;
                }
                None => stdin_done = true,
            },
            message = conn.incoming.recv() => match message {
                Some(Incoming::Message(v)) => {
                    print(&v);
                    if let Some(id) = v.get("id").filter(|_| v.get("method").is_none()) {
                        open.remove(&id.to_string());
                    }
                    let method = v.get("method").and_then(Value::as_str);
                    if stdin_done && open.is_empty() && args.until.is_some() && method == args.until.as_deref() {
                        return Ok(());
                    }
                }
                Some(Incoming::Closed(why)) => anyhow::bail!("{why}"),
                None => return Ok(()),
            },
            _ = linger, if stdin_done && open.is_empty() && args.until.is_none() => return Ok(()),
        }
    }
}

fn print(v: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{v}");
    let _ = out.flush();
}
