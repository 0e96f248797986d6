//! Start-up and shutdown: load the config, lock the data dir, open the store, start the
//! transport, stop cleanly.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

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
    let mut stdio_writer = None;
    let result = if args.listen == "stdio://" || args.listen == "stdio" {
        // One connection; the daemon ends when its client closes stdin, after every answer it
        // produced has reached stdout.
        let (link, writer) = transport::stdio::link(limits);
        let conn = crate::rpc::serve(daemon.clone(), link);
        tokio::pin!(conn);
        tokio::select! {
            _ = &mut conn => {
                if tokio::time::timeout(std::time::Duration::from_secs(5), writer).await.is_err() {
                    tracing::warn!("stdout did not drain within 5 s");
                }
            }
            _ = signals.recv() => {
                // The connection stays subscribed while its turns end, so it is told they did.
                tokio::select! {
                    _ = daemon.interrupt_running_turns(TURN_STOP_WAIT) => {}
                    _ = &mut conn => {}
                }
                // The writer ends once the actors below have dropped their senders.
                stdio_writer = Some(writer);
            }
        }
        Ok(())
    } else if let Some((scheme, addr)) = websocket_address(&args.listen) {
        let tls = match (&daemon.config.tls, scheme) {
            (Some(t), _) => Some(transport::tls::acceptor(&t.cert_file, &t.key_file)?),
            (None, "wss") => bail!(
                "--listen {} needs a certificate: set [tls] cert_file and key_file in the config",
                args.listen
            ),
            (None, _) => None,
        };
        let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host(&addr)
            .await
            .with_context(|| format!("cannot resolve {addr}"))?
            .collect();
        let loopback = !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback());
        let token_file = crate::auth::cli::token_file(args.config.as_ref(), Some(&data_dir))?;
        let plan = crate::auth::startup::plan(&args.listen, loopback, args.no_auth, &token_file)?;
        let listener = TcpListener::bind(&addrs[..])
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let bound = listener.local_addr()?;
        let scheme = if tls.is_some() { "wss" } else { "ws" };
        let origins =
            crate::auth::OriginPolicy::new(&daemon.config.allowed_origins, bound, tls.is_some());
        let gate = Arc::new(crate::auth::Gate::new(plan.mode, origins)?);
        gate.watch();
        let token_path = crate::auth::startup::runtime_token_path(&data_dir);
        match &plan.startup_token {
            Some(token) => {
                crate::auth::startup::write_runtime_token(&token_path, token)?;
                eprintln!("listening on {scheme}://{bound} token={token}");
            }
            None => eprintln!("listening on {scheme}://{bound}"),
        }
        let accept_daemon = daemon.clone();
        let accept: transport::websocket::Accept = Arc::new(move |link| {
            tokio::spawn(crate::rpc::serve(accept_daemon.clone(), link));
        });
        let server = tokio::spawn(transport::websocket::serve(
            listener,
            limits,
            accept,
            gate.clone(),
            tls,
            shutdown_rx,
        ));
        signals.recv().await;
        // Stop accepting, end running turns (their subscribers see them end), then close.
        let _ = shutdown_tx.send(true);
        let _ = server.await;
        daemon.interrupt_running_turns(TURN_STOP_WAIT).await;
        gate.close_all();
        if let Some(token) = &plan.startup_token {
            crate::auth::startup::remove_runtime_token(&token_path, token);
        }
        Ok(())
    } else {
        bail!(
            "--listen must be stdio://, ws://HOST:PORT or wss://HOST:PORT, not {:?}",
            args.listen
        )
    };
    // Bounded, so that a stuck actor cannot keep a supervisor's SIGTERM from ending us; turns
    // that did not end in time are ended `interrupted` in the store before it closes.
    if tokio::time::timeout(STORE_FLUSH_WAIT, async {
        daemon.hub.shutdown().await;
        if let Err(e) = daemon.hub.recover_interrupted_turns().await {
            tracing::error!(error = %e, "could not end running turns at shutdown");
        }
        daemon.hub.shutdown().await;
    })
    .await
    .is_err()
    {
        tracing::warn!("thread actors did not stop in time");
    }
    if let Some(writer) = stdio_writer {
        let _ = tokio::time::timeout(Duration::from_millis(500), writer).await;
    }
    store.close().await;
    tracing::info!("stopped");
    result
}

/// How long running turns get to end `interrupted` after SIGTERM/SIGINT, and how long the actors
/// then get to commit; together well inside the 5 s a supervisor is promised.
const TURN_STOP_WAIT: Duration = Duration::from_secs(2);
const STORE_FLUSH_WAIT: Duration = Duration::from_millis(2000);

/// `ws://HOST:PORT` or `wss://HOST:PORT` → (scheme, address); an empty host is loopback.
fn websocket_address(listen: &str) -> Option<(&'static str, String)> {
    let (scheme, rest) = if let Some(rest) = listen.strip_prefix("ws://") {
        ("ws", rest)
    } else {
        ("wss", listen.strip_prefix("wss://")?)
    };
    let rest = rest.trim_end_matches('/');
    let addr = match rest.strip_prefix(':') {
        Some(port) => format!("127.0.0.1:{port}"),
        None => rest.to_owned(),
    };
    Some((scheme, addr))
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
