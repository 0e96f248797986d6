//! An entry point on a data directory another daemon already serves: this process becomes a
//! pipe between its own stdio and that daemon's private socket, so its client sees the same
//! protocol (and the same threads, live) as every other client of the daemon.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use tokio::io::AsyncWriteExt;

use super::local;

/// How long to wait for a daemon that holds the lock to open its socket.
pub const CONNECT_PATIENCE: Duration = Duration::from_secs(5);

/// Pipes stdin to the daemon and the daemon's answers to stdout until either side closes.
pub async fn stdio(data_dir: &Path) -> anyhow::Result<()> {
    let stream = local::connect(data_dir, CONNECT_PATIENCE)
        .await
        .with_context(|| {
            format!(
                "another agentd serves {} but its socket {} does not answer; stop it or choose \
             another --data-dir",
                data_dir.display(),
                local::socket_path(data_dir).display()
            )
        })?;
    tracing::info!(data_dir = %data_dir.display(), "attached to the daemon serving this data directory");
    let (mut from_daemon, mut to_daemon) = stream.into_split();
    let upstream = tokio::spawn(async move {
        let mut stdin = tokio::io::stdin();
        let _ = tokio::io::copy(&mut stdin, &mut to_daemon).await;
        // Our client is done: the daemon sees the connection close, answers what it has, and
        // closes its end, which ends the copy below.
        let _ = to_daemon.shutdown().await;
    });
    let mut stdout = tokio::io::stdout();
    let _ = tokio::io::copy(&mut from_daemon, &mut stdout).await;
    let _ = stdout.flush().await;
    upstream.abort();
    Ok(())
}
