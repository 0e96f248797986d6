//! Start-up and shutdown: load the config, lock the data dir, open the store, start the
//! transport, stop cleanly.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use tokio::net::TcpListener;

use crate::cli::ServeArgs;
use crate::config::{Config, LoadOptions};
use crate::daemon::Daemon;
use crate::store::{DataDirLock, Store};
use crate::transport::{self, Limits};

/// Where state lives when `--data-dir` is not given: `$XDG_DATA_HOME/agentd`, falling back to
/// `~/.local/share/agentd` as the XDG spec says.
pub fn default_data_dir() -> anyhow::Result<PathBuf> {
    xdg_dir("XDG_DATA_HOME", ".local/share")
}

/// Where `config.toml` lives when `--config` is not given: `$XDG_CONFIG_HOME/agentd`, falling
/// back to `~/.config/agentd`.
pub fn default_config_dir() -> anyhow::Result<PathBuf> {
    xdg_dir("XDG_CONFIG_HOME", ".config")
}

fn xdg_dir(var: &str, fallback: &str) -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os(var).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir).join("agentd"));
    }
    let home = std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .with_context(|| format!("neither {var} nor HOME is set; pass --data-dir"))?;
    Ok(PathBuf::from(home).join(fallback).join("agentd"))
}

pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut signals = ShutdownSignals::install()?;
    let data_dir = match args.data_dir.clone() {
        Some(d) => d,
        None => default_data_dir()?,
    };
    // The config comes first: a typo in it should stop the daemon before it touches any state.
    let config_dir = default_config_dir().unwrap_or_else(|_| data_dir.clone());
    let loaded = Config::load(&LoadOptions {
        config_path: args.config.clone(),
        config_dir,
        overrides: args.config_overrides.clone(),
        profile: args.profile.clone(),
    })?;
    tracing::info!(
        file = ?loaded.file,
        profile = ?loaded.config.profile,
        model = %loaded.config.model,
        provider = %loaded.config.model_provider,
        "config loaded"
    );
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
    let _lock = DataDirLock::acquire(&data_dir)?;
    let db_path = data_dir.join("agentd.db");
    let store = Store::open(&db_path).await?;
    tracing::info!(db = %db_path.display(), "store open");

    let limits = Limits {
        max_frame_bytes: args.max_frame_bytes.max(1024),
        outbound_queue: args.outbound_queue.max(1),
        request_queue: args.request_queue.max(1),
    };
    let daemon = Arc::new(Daemon::new(store.clone(), loaded, limits)?);
    match daemon.hub.recover_interrupted_turns().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            threads = n,
            "ended turns cut off by the last stop as interrupted"
        ),
        Err(e) => tracing::error!(error = %e, "could not end interrupted turns"),
    }

    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let result = if args.listen == "stdio://" || args.listen == "stdio" {
        // One connection; the daemon ends when its client closes stdin, after every answer it
        // produced has reached stdout.
        let (link, writer) = transport::stdio::link(limits);
        let conn = crate::rpc::serve(daemon.clone(), link);
        tokio::select! {
            _ = conn => {
                if tokio::time::timeout(std::time::Duration::from_secs(5), writer).await.is_err() {
                    tracing::warn!("stdout did not drain within 5 s");
                }
            }
            _ = signals.recv() => {}
        }
        Ok(())
    } else if let Some(addr) = args.listen.strip_prefix("ws://") {
        let addr = addr.trim_end_matches('/');
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on ws://{addr}"))?;
        let bound = listener.local_addr()?;
        eprintln!("listening on ws://{bound}");
        let accept_daemon = daemon.clone();
        let accept: transport::websocket::Accept = Arc::new(move |link| {
            tokio::spawn(crate::rpc::serve(accept_daemon.clone(), link));
        });
        let server = tokio::spawn(transport::websocket::serve(
            listener,
            limits,
            accept,
            shutdown_rx,
        ));
        signals.recv().await;
        let _ = shutdown_tx.send(true);
        let _ = server.await;
        Ok(())
    } else {
        bail!(
            "--listen must be stdio:// or ws://HOST:PORT, not {:?}",
            args.listen
        )
    };
    daemon.hub.shutdown().await;
    store.close().await;
    tracing::info!("stopped");
    result
}

/// SIGINT and SIGTERM, watched from the very start so a signal that arrives while the daemon
/// is still starting (or right after it printed its address) is a clean shutdown, not death by
/// the default handler.
struct ShutdownSignals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    fn install() -> anyhow::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(ShutdownSignals {
            term: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
            int: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
        })
    }

    async fn recv(&mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}
