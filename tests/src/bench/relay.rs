//! The `tcp-relay` child process: the floor against which a relay's added latency is read.

use std::net::SocketAddr;
use std::process::Stdio;

use anyhow::{Context, Result};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running `tcp-relay` forwarding to one address; killed when dropped.
pub struct TcpRelay {
    addr: SocketAddr,
    _child: Child,
}

impl TcpRelay {
    /// Starts `tcp-relay` (beside this binary) forwarding to `target`.
    pub async fn start(target: SocketAddr) -> Result<TcpRelay> {
        let mut child = Command::new(super::sibling_bin("tcp-relay")?)
            .arg(target.to_string())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting tcp-relay")?;
        let stdout = child.stdout.take().context("tcp-relay has no stdout")?;
        let line = BufReader::new(stdout)
            .lines()
            .next_line()
            .await
            .context("reading tcp-relay's address")?
            .context("tcp-relay exited before saying its address")?;
        let addr = line
            .trim()
            .parse()
            .with_context(|| format!("tcp-relay's address {line:?}"))?;
        Ok(TcpRelay {
            addr,
            _child: child,
        })
    }

    /// `http://ADDR/v1`, as `StampSource::base_url` gives for the source itself.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }
}
