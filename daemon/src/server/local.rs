//! The daemon's private socket: how other local processes of the same user reach the daemon
//! that serves a data directory (`agentd serve` on stdio, `agentd-tui`, `exec`, `acp`,
//! `app-server`, `mcp-server`), speaking the same NDJSON protocol as stdio.
//!
//! The socket is `agentd.sock` in the data directory, mode 0600, and every connection's peer
//! credentials are checked: only processes of the daemon's own user get in, as admin (they are
//! the local user, like a stdio client). A data directory path too long for a socket address
//! (108 bytes on Linux) puts the socket in a private directory under `/tmp` named by a hash of
//! the data directory instead.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use sha2::{Digest, Sha256};
use tokio::net::{UnixListener, UnixStream};

use crate::config::Limits;
use crate::daemon::Daemon;
use crate::transport::stdio::link_over;

/// Longest socket path that fits `sockaddr_un` (with its terminating NUL).
const MAX_SOCKET_PATH: usize = 107;

/// Where the daemon serving `data_dir` listens.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    let beside = data_dir.join("agentd.sock");
    if beside.as_os_str().len() <= MAX_SOCKET_PATH {
        return beside;
    }
    let digest = Sha256::digest(data_dir.as_os_str().as_encoded_bytes());
    let name: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    // SAFETY: geteuid cannot fail and has no preconditions.
    let uid = unsafe { libc::geteuid() };
    PathBuf::from(format!("/tmp/agentd-{uid}")).join(format!("{name}.sock"))
}

/// Binds the socket (replacing a stale one: we hold the data directory's lock, so no daemon
/// is behind it) and serves connections until the daemon stops.
pub async fn listen(daemon: Arc<Daemon>, data_dir: &Path, limits: Limits) -> anyhow::Result<()> {
    let path = socket_path(data_dir);
    if let Some(dir) = path.parent().filter(|d| !d.starts_with(data_dir)) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot make {} private", dir.display()))?;
    }
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path)
        .with_context(|| format!("cannot listen on {}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("cannot make {} private", path.display()))?;
    tracing::info!(socket = %path.display(), "local socket open");
    tokio::spawn(accept_loop(daemon, listener, limits));
    Ok(())
}

async fn accept_loop(daemon: Arc<Daemon>, listener: UnixListener, limits: Limits) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!(error = %e, "local accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        if !same_user(&stream) {
            tracing::warn!("refused a local connection from another user");
            continue;
        }
        let (reader, writer) = stream.into_split();
        let (link, _writer) = link_over(reader, writer, limits, "local socket".into());
        tokio::spawn(crate::rpc::serve(daemon.clone(), link));
    }
}

/// Whether the peer runs as the daemon's own user.
fn same_user(stream: &UnixStream) -> bool {
    // SAFETY: geteuid cannot fail and has no preconditions.
    let me = unsafe { libc::geteuid() };
    stream.peer_cred().is_ok_and(|cred| cred.uid() == me)
}

/// Removes the socket file when the daemon stops.
pub fn remove(data_dir: &Path) {
    let _ = std::fs::remove_file(socket_path(data_dir));
}

/// Connects to the daemon serving `data_dir`, waiting up to `patience` for it to start
/// listening (it takes the lock before it opens the socket).
pub async fn connect(
    data_dir: &Path,
    patience: std::time::Duration,
) -> std::io::Result<UnixStream> {
    let path = socket_path(data_dir);
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        match UnixStream::connect(&path).await {
            Ok(s) => return Ok(s),
            Err(e) if tokio::time::Instant::now() >= deadline => return Err(e),
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
        }
    }
}
