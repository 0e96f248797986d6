//! Start-up and shutdown: load the config, take the data directory (or attach to the daemon
//! that has it), open the store, serve the transports, stop cleanly.
//!
//! One daemon per data directory (docs/decisions/011-one-daemon-per-data-dir.md): the first
//! entry point on a directory takes its lock and *hosts* the daemon in its own process, serving
//! its own transport plus the private socket (`local.rs`); later ones find the lock taken and
//! *attach* through that socket (`attach.rs`). A stdio host whose client leaves keeps serving
//! while anyone else is attached or a turn runs, then exits.

mod attach;
pub use attach::CONNECT_PATIENCE;
pub mod local;
mod signals;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::net::TcpListener;

use crate::config::{Config, Limits, LoadOptions, LoadedConfig};
use crate::daemon::Daemon;
use crate::store::{DataDirLock, Store, StoreError};
use crate::transport;
use signals::ShutdownSignals;

/// Where clients reach this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    /// NDJSON on stdin/stdout: one client, the process's parent.
    Stdio,
    /// `ws://` or `wss://` on `addr` (`HOST:PORT`; port 0 picks one); `text` is as given.
    WebSocket {
        tls: bool,
        addr: String,
        text: String,
    },
}

impl std::str::FromStr for Listen {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "stdio://" || s == "stdio" {
            return Ok(Listen::Stdio);
        }
        let (tls, rest) = match (s.strip_prefix("ws://"), s.strip_prefix("wss://")) {
            (Some(rest), _) => (false, rest),
            (_, Some(rest)) => (true, rest),
            _ => {
                return Err(format!(
                    "--listen must be stdio://, ws://HOST:PORT or wss://HOST:PORT, not {s:?}"
                ))
            }
        };
        let rest = rest.trim_end_matches('/');
        let addr = match rest.strip_prefix(':') {
            Some(port) => format!("127.0.0.1:{port}"),
            None => rest.to_owned(),
        };
        Ok(Listen::WebSocket {
            tls,
            addr,
            text: s.to_owned(),
        })
    }
}

/// What `serve` needs; the CLI builds it from its flags.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: Listen,
    /// `None`: `$XDG_DATA_HOME/agentd`.
    pub data_dir: Option<PathBuf>,
    pub limits: Limits,
    /// `--config-file`: read this file instead of the config directory's `config.toml`.
    pub config_file: Option<PathBuf>,
    pub config_overrides: Vec<String>,
    pub profile: Option<String>,
    /// Accept WebSocket connections without a token (loopback only).
    pub no_auth: bool,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            listen: Listen::Stdio,
            data_dir: None,
            limits: Limits::default(),
            config_file: None,
            config_overrides: Vec::new(),
            profile: None,
            no_auth: false,
        }
    }
}

impl ServeOptions {
    /// Where the config comes from: the file, the profile and the `-c` overrides.
    pub fn load_options(&self) -> anyhow::Result<LoadOptions> {
        let data_dir = self.data_dir()?;
        let config_dir = crate::paths::default_config_dir().unwrap_or(data_dir);
        Ok(LoadOptions {
            config_path: self.config_file.clone(),
            config_dir,
            overrides: self.config_overrides.clone(),
            profile: self.profile.clone(),
        })
    }

    pub fn data_dir(&self) -> anyhow::Result<PathBuf> {
        match &self.data_dir {
            Some(d) => Ok(d.clone()),
            None => crate::paths::default_data_dir(),
        }
    }

    /// Loads the config these options name. A typo in it stops the daemon before it touches
    /// any state.
    pub fn load_config(&self) -> anyhow::Result<LoadedConfig> {
        let loaded = Config::load(&self.load_options()?)?;
        tracing::info!(
            file = ?loaded.file,
            profile = ?loaded.config.profile,
            model = %loaded.config.model,
            provider = %loaded.config.model_provider,
            "config loaded"
        );
        Ok(loaded)
    }
}

/// Serves until the client (stdio) or a signal ends it.
pub async fn serve(opts: ServeOptions) -> anyhow::Result<()> {
    let mut signals = ShutdownSignals::install()?;
    let data_dir = opts.data_dir()?;
    let loaded = opts.load_config()?;
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
    let lock = match DataDirLock::acquire(&data_dir) {
        Ok(lock) => lock,
        Err(StoreError::Locked(holder)) => {
            return match opts.listen {
                Listen::Stdio => attach::stdio(&data_dir).await,
                Listen::WebSocket { .. } => bail!(
                    "{holder}; its clients can connect through {} (agentd-tui, agentd serve on \
                     stdio and the other local entry points attach to it on their own)",
                    local::socket_path(&data_dir).display()
                ),
            }
        }
        Err(e) => return Err(e.into()),
    };
    let mut host = Host::start(&opts, loaded, &data_dir, lock).await?;
    let result = match &opts.listen {
        Listen::Stdio => host.serve_stdio(&mut signals).await,
        Listen::WebSocket { tls, addr, text } => {
            host.serve_websocket(&opts, *tls, addr, text, &mut signals)
                .await
        }
    };
    host.stop().await;
    result
}

/// Deletes the ephemeral threads an earlier run left (killed before it could): they are not
/// kept after the daemon stops. A failure is logged; the threads stay hidden from lists.
async fn forget_ephemeral_threads(store: &Store) {
    let ids = match store.ephemeral_thread_ids().await {
        Ok(ids) => ids,
        Err(e) => {
            tracing::warn!(error = %e, "cannot look for ephemeral threads to forget");
            return;
        }
    };
    for id in &ids {
        if let Err(e) = store.delete_thread(id).await {
            tracing::warn!(thread = %id, error = %e, "cannot forget an ephemeral thread");
        }
    }
    if !ids.is_empty() {
        tracing::info!(
            threads = ids.len(),
            "forgot the ephemeral threads of the last run"
        );
    }
}

/// The configured store: the shared PostgreSQL database, or the data directory's SQLite file.
async fn open_store(
    config: &crate::config::Config,
    data_dir: &std::path::Path,
) -> anyhow::Result<Store> {
    let Some(url) = &config.store else {
        let db_path = data_dir.join("agentd.db");
        let store = Store::open(&db_path).await?;
        tracing::info!(db = %db_path.display(), "store open");
        return Ok(store);
    };
    let mut options = crate::store::postgres::PgOptions::new(url.clone());
    options.lease = Duration::from_millis(config.store_lease_ms);
    let shown = options.redacted_url();
    let store = Store::connect(options)
        .await
        .with_context(|| format!("cannot open the PostgreSQL store {shown}"))?;
    if let Some(pg) = store.shared() {
        tracing::info!(db = %shown, node = %pg.node().id, host = %pg.node().host, "store open (shared)");
    }
    Ok(store)
}

/// A daemon running in this process.
pub struct Host {
    pub daemon: Arc<Daemon>,
    store: Store,
    data_dir: PathBuf,
    _lock: DataDirLock,
    /// The stdio transport's writer, awaited at the end so every answer reaches stdout.
    stdio_writer: Option<tokio::task::JoinHandle<()>>,
}

impl Host {
    /// Opens the store, builds the daemon, ends turns a crash cut off, starts unloading idle
    /// threads, and opens the private socket.
    pub async fn start(
        opts: &ServeOptions,
        loaded: LoadedConfig,
        data_dir: &std::path::Path,
        lock: DataDirLock,
    ) -> anyhow::Result<Self> {
        let store = open_store(&loaded.config, data_dir).await?;
        let limits = opts.limits.sane();
        let daemon = Arc::new(
            Daemon::new(store.clone(), loaded, limits)?.reloadable_from(opts.load_options()?),
        );
        daemon.start_mcp();
        daemon.hub.init_agents(data_dir.to_path_buf());
        daemon.start_memory(data_dir.to_path_buf());
        // Before recovery, which would load an actor for an ephemeral thread cut off mid-turn.
        forget_ephemeral_threads(&store).await;
        match daemon.hub.recover_interrupted_turns().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                threads = n,
                "ended turns cut off by the last stop as interrupted"
            ),
            Err(e) => tracing::error!(error = %e, "could not end interrupted turns"),
        }
        let idle = Duration::from_secs(daemon.config.thread_idle_unload_secs.max(1));
        daemon.hub.start_unloading(idle);
        // Several daemons on one database: leases, take-overs, and requests forwarded here.
        daemon.hub.start_leases(daemon.background.clone());
        crate::rpc::forward::serve(daemon.clone());
        local::listen(daemon.clone(), data_dir, limits).await?;
        Ok(Host {
            daemon,
            store,
            data_dir: data_dir.to_path_buf(),
            _lock: lock,
            stdio_writer: None,
        })
    }

    /// Serves the process's stdio client; when it leaves, keeps serving the others until
    /// nobody is attached and no turn runs.
    async fn serve_stdio(&mut self, signals: &mut ShutdownSignals) -> anyhow::Result<()> {
        let (link, writer) = transport::stdio::link(self.daemon.limits);
        let conn = crate::rpc::serve(self.daemon.clone(), link);
        tokio::pin!(conn);
        tokio::select! {
            _ = &mut conn => {
                if tokio::time::timeout(Duration::from_secs(5), writer).await.is_err() {
                    tracing::warn!("stdout did not drain within 5 s");
                }
                self.linger(signals).await;
            }
            _ = signals.recv() => {
                // The connection stays subscribed while its turns end, so it is told they did.
                tokio::select! {
                    _ = self.daemon.interrupt_running_turns(TURN_STOP_WAIT) => {}
                    _ = &mut conn => {}
                }
                // The writer ends once the actors below have dropped their senders.
                self.stdio_writer = Some(writer);
            }
        }
        Ok(())
    }

    /// The stdio client left: serve on while another client is attached or a turn runs. The
    /// process lets go of its stdio first, so whoever started it sees it close, as if it had
    /// exited.
    async fn linger(&self, signals: &mut ShutdownSignals) {
        if self.daemon.connections() > 0 || !self.daemon.hub.active().await.is_empty() {
            release_stdio();
        }
        loop {
            let attached = self.daemon.connections();
            let running = self.daemon.hub.active().await.len();
            if attached == 0 && running == 0 {
                return;
            }
            tracing::debug!(attached, running, "stdio client gone; serving the others");
            tokio::select! {
                _ = signals.recv() => {
                    self.daemon.interrupt_running_turns(TURN_STOP_WAIT).await;
                    return;
                }
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
        }
    }

    async fn serve_websocket(
        &self,
        opts: &ServeOptions,
        tls: bool,
        addr: &str,
        text: &str,
        signals: &mut ShutdownSignals,
    ) -> anyhow::Result<()> {
        let front = WebSocketFront::open(self, opts, tls, addr, text).await?;
        signals.recv().await;
        front.close(&self.daemon).await;
        Ok(())
    }

    /// Commits what the actors hold, ends turns still running as interrupted, closes the store.
    /// Bounded, so that a stuck actor cannot keep a supervisor's SIGTERM from ending us.
    pub async fn stop(mut self) {
        self.daemon.background.cancel();
        let hub = &self.daemon.hub;
        // SessionEnd hooks get 1.5 s in all (Claude Code's budget): a stop stays prompt.
        hub.end_sessions("shutdown", Duration::from_millis(1500))
            .await;
        if tokio::time::timeout(STORE_FLUSH_WAIT, async {
            hub.shutdown().await;
            // On a shared store the turns still marked running are other daemons' (or, once
            // their lease lapses, for a live daemon to take over), never a stopping one's.
            if hub.store().shared().is_none() {
                if let Err(e) = hub.recover_interrupted_turns().await {
                    tracing::error!(error = %e, "could not end running turns at shutdown");
                }
                hub.shutdown().await;
            }
        })
        .await
        .is_err()
        {
            tracing::warn!("thread actors did not stop in time");
        }
        if let Some(writer) = self.stdio_writer.take() {
            let _ = tokio::time::timeout(Duration::from_millis(500), writer).await;
        }
        // MCP servers get SIGTERM, and SIGKILL 2 s later (all at once, so at most 2 s).
        self.daemon.hub.services().mcp.shutdown().await;
        local::remove(&self.data_dir);
        self.store.close().await;
        tracing::info!("stopped");
    }
}

/// Points stdin and stdout at `/dev/null`: the parent's pipes close, and nothing can write
/// protocol bytes to a reader that left.
fn release_stdio() {
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        use std::os::fd::AsRawFd;
        for fd in [0, 1] {
            // SAFETY: dup2 onto the standard descriptors; `null` stays open for the call.
            unsafe { libc::dup2(null.as_raw_fd(), fd) };
        }
    }
}

/// How long running turns get to end `interrupted` after SIGTERM/SIGINT, and how long the actors
/// then get to commit; together well inside the 5 s a supervisor is promised.
const TURN_STOP_WAIT: Duration = Duration::from_secs(2);
const STORE_FLUSH_WAIT: Duration = Duration::from_millis(2000);

/// The WebSocket listener with its access gate.
struct WebSocketFront {
    server: tokio::task::JoinHandle<()>,
    shutdown: tokio::sync::watch::Sender<bool>,
    gate: Arc<crate::auth::Gate>,
    token: Option<(PathBuf, String)>,
}

impl WebSocketFront {
    async fn open(
        host: &Host,
        opts: &ServeOptions,
        tls: bool,
        addr: &str,
        text: &str,
    ) -> anyhow::Result<Self> {
        let daemon = &host.daemon;
        let acceptor = match (&daemon.config.tls, tls) {
            (Some(t), _) => Some(transport::tls::acceptor(&t.cert_file, &t.key_file)?),
            (None, true) => bail!(
                "--listen {text} needs a certificate: set [tls] cert_file and key_file in the config"
            ),
            (None, false) => None,
        };
        let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host(addr)
            .await
            .with_context(|| format!("cannot resolve {addr}"))?
            .collect();
        let loopback = !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback());
        let token_file =
            crate::auth::cli::token_file(opts.config_file.as_ref(), Some(&host.data_dir))?;
        let plan = crate::auth::startup::plan(text, loopback, opts.no_auth, &token_file)?;
        let listener = TcpListener::bind(&addrs[..])
            .await
            .with_context(|| format!("cannot listen on {text}"))?;
        let bound = listener.local_addr()?;
        let scheme = if acceptor.is_some() { "wss" } else { "ws" };
        let origins = crate::auth::OriginPolicy::new(
            &daemon.config.allowed_origins,
            bound,
            acceptor.is_some(),
        );
        let gate = Arc::new(crate::auth::Gate::new(plan.mode, origins)?);
        gate.watch();
        let token_path = crate::auth::startup::runtime_token_path(&host.data_dir);
        let web = if acceptor.is_some() { "https" } else { "http" };
        let token = match plan.startup_token {
            Some(token) => {
                crate::auth::startup::write_runtime_token(&token_path, &token)?;
                eprintln!("listening on {scheme}://{bound} token={token}");
                eprintln!("web page: {web}://{bound}/#token={token}");
                eprintln!(
                    "token file: {} (agentd client and agentd-tui read it)",
                    token_path.display()
                );
                Some((token_path, token))
            }
            None => {
                eprintln!("listening on {scheme}://{bound}");
                eprintln!("web page: {web}://{bound}/ (give it a token from tokens.toml)");
                None
            }
        };
        let accept_daemon = daemon.clone();
        let accept: transport::websocket::Accept = Arc::new(move |link| {
            tokio::spawn(crate::rpc::serve(accept_daemon.clone(), link));
        });
        let (shutdown, shutdown_rx) = tokio::sync::watch::channel(false);
        let server = tokio::spawn(transport::websocket::serve(
            listener,
            daemon.limits,
            accept,
            gate.clone(),
            acceptor,
            shutdown_rx,
        ));
        Ok(WebSocketFront {
            server,
            shutdown,
            gate,
            token,
        })
    }

    /// Stops accepting, ends running turns (their subscribers see them end), then closes.
    async fn close(self, daemon: &Daemon) {
        let _ = self.shutdown.send(true);
        let _ = self.server.await;
        daemon.interrupt_running_turns(TURN_STOP_WAIT).await;
        self.gate.close_all();
        if let Some((path, token)) = &self.token {
            crate::auth::startup::remove_runtime_token(path, token);
        }
    }
}
