//! Command line: where the daemon is (a WebSocket URL, or a binary to spawn on stdio) and which
//! token to present.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;

use crate::connection::Endpoint;

/// Terminal client for agentd: thread list, streaming transcript, approvals, interrupt, steer.
///
/// Without --connect it starts `agentd serve` on stdio (arguments after `--` go to `serve`).
#[derive(Debug, Parser)]
#[command(name = "agentd-tui", version)]
pub struct Cli {
    /// A running daemon's `ws://HOST:PORT` (or `wss://`).
    #[arg(long, value_name = "URL")]
    pub connect: Option<String>,
    /// The access token for --connect; default: `$XDG_RUNTIME_DIR/agentd/token`, the one-time
    /// token a local daemon writes.
    #[arg(long, env = "AGENTD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The `agentd` binary to spawn; default: the one beside this binary, else `agentd` on PATH.
    #[arg(long, value_name = "PATH", conflicts_with = "connect")]
    pub agentd: Option<PathBuf>,
    /// Open this thread once connected.
    #[arg(long, value_name = "THREAD_ID")]
    pub thread: Option<String>,
    /// Working directory for threads started here; default: the current directory.
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// Arguments for `agentd serve` when spawning it, e.g. `-- --config my.toml`.
    #[arg(last = true, value_name = "SERVE_ARGS")]
    pub serve_args: Vec<String>,
}

impl Cli {
    pub fn endpoint(&self) -> Result<Endpoint> {
        if let Some(url) = &self.connect {
            let token = match &self.token {
                Some(t) => Some(t.clone()),
                None => local_token(),
            };
            return Ok(Endpoint::WebSocket {
                url: url.clone(),
                token,
            });
        }
        let agentd = match &self.agentd {
            Some(path) => path.clone(),
            None => beside_this_binary().unwrap_or_else(|| PathBuf::from("agentd")),
        };
        Ok(Endpoint::Spawn {
            agentd,
            args: self.serve_args.clone(),
        })
    }

    pub fn cwd(&self) -> Result<String> {
        let dir = match &self.cwd {
            Some(d) => d.clone(),
            None => std::env::current_dir().context("reading the current directory")?,
        };
        let dir = std::fs::canonicalize(&dir)
            .with_context(|| format!("--cwd {} does not exist", dir.display()))?;
        Ok(dir.to_string_lossy().into_owned())
    }
}

/// The one-time token a daemon on this machine wrote for its local clients.
fn local_token() -> Option<String> {
    let dir = std::env::var_os("XDG_RUNTIME_DIR")?;
    let text = std::fs::read_to_string(PathBuf::from(dir).join("agentd/token")).ok()?;
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

fn beside_this_binary() -> Option<PathBuf> {
    let path = std::env::current_exe().ok()?.parent()?.join("agentd");
    path.is_file().then_some(path)
}
