//! The daemon's shared state, handed to every connection: store, thread hub, config, limits.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use agentd_protocol::jsonrpc::{ErrorObject, RequestId};
use agentd_protocol::ServerNotification;
use bytes::Bytes;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::config::{Config, Limits, LoadOptions, LoadedConfig};
use crate::store::Store;
use crate::threads::{frame_for, ConnInfo, ConnectionId, ThreadHub};

/// Where a notification that belongs to no thread reaches an initialized connection, and the
/// methods it opted out of.
struct Listener {
    out: mpsc::Sender<Bytes>,
    opt_out: Arc<HashSet<String>>,
}

pub struct Daemon {
    pub hub: Arc<ThreadHub>,
    pub config: Config,
    /// The config with where each key came from (for `config/read`); `config` is its `config`.
    pub loaded: LoadedConfig,
    pub limits: Limits,
    /// agentd's config directory (reported to Codex clients as `codexHome`).
    pub config_dir: PathBuf,
    next_connection: AtomicU64,
    /// Connections open now, every transport counted.
    open_connections: AtomicUsize,
    /// Initialized connections, for notifications that belong to no thread.
    listeners: Mutex<HashMap<ConnectionId, Listener>>,
    /// How the config was loaded, to load it again (`config/mcpServer/reload`).
    load_options: Option<LoadOptions>,
    /// Persistent memory, once [`Daemon::start_memory`] ran.
    memory: std::sync::OnceLock<Arc<crate::memory::Memory>>,
    /// Stops background work (the memory loop) at shutdown.
    pub background: tokio_util::sync::CancellationToken,
}

impl Daemon {
    /// Fails when the exec policy rules in the config dir are malformed.
    pub fn new(
        store: Store,
        loaded: LoadedConfig,
        limits: Limits,
    ) -> Result<Self, crate::tools::execpolicy::PolicyError> {
        let config = loaded.config.clone();
        let config_dir = loaded.config_dir.clone();
        let services = crate::agent::AgentServices::new(config.clone(), &config_dir)?;
        Ok(Daemon {
            hub: Arc::new(ThreadHub::new(store, Arc::new(services))),
            config,
            limits,
            config_dir,
            loaded,
            next_connection: AtomicU64::new(1),
            open_connections: AtomicUsize::new(0),
            listeners: Mutex::new(HashMap::new()),
            load_options: None,
            memory: std::sync::OnceLock::new(),
            background: tokio_util::sync::CancellationToken::new(),
        })
    }

    /// Sets up persistent memory over the store (its exports under `data_dir`) and, when
    /// enabled, starts its background passes. Every connection hears `memory/updated`.
    pub fn start_memory(self: &Arc<Self>, data_dir: PathBuf) {
        let weak = Arc::downgrade(self);
        let on_update: crate::memory::OnUpdate = Box::new(move |project: &str| {
            if let Some(daemon) = weak.upgrade() {
                daemon.broadcast(&agentd_protocol::MemoryUpdatedNotification {
                    project: project.to_owned(),
                });
            }
        });
        let store = self.hub.store().clone();
        // Weak: the services hold the memory (for new turns' instructions).
        let services = Arc::downgrade(self.hub.services());
        let clients: crate::memory::ClientSource = Box::new(move |provider: &str| {
            let services = services
                .upgrade()
                .ok_or_else(|| crate::model::ModelError::Config("the daemon is stopping".into()))?;
            services.client_for(provider)
        });
        let memory =
            crate::memory::Memory::new(self.config.clone(), store, data_dir, clients, on_update);
        self.hub.services().set_memory(memory.clone());
        memory.spawn(self.background.clone());
        let _ = self.memory.set(memory);
    }

    pub fn memory(&self) -> Option<&Arc<crate::memory::Memory>> {
        self.memory.get()
    }

    /// Remembers how the config was loaded, so it can be read again.
    pub fn reloadable_from(mut self, options: LoadOptions) -> Self {
        self.load_options = Some(options);
        self
    }

    /// Reads the config file again (with the same profile and overrides).
    pub fn reload_config(&self) -> Result<LoadedConfig, crate::config::ConfigError> {
        match &self.load_options {
            Some(options) => Config::load(options),
            None => Ok(self.loaded.clone()),
        }
    }

    /// An initialized connection gets notifications that belong to no thread from now on.
    pub fn listen(
        &self,
        conn: ConnectionId,
        out: mpsc::Sender<Bytes>,
        opt_out: Arc<HashSet<String>>,
    ) {
        if let Ok(mut l) = self.listeners.lock() {
            l.insert(conn, Listener { out, opt_out });
        }
    }

    pub fn stop_listening(&self, conn: ConnectionId) {
        if let Ok(mut l) = self.listeners.lock() {
            l.remove(&conn);
        }
    }

    /// Sends a notification to every initialized connection that did not opt out of it. A
    /// connection whose queue is full misses it (these are status updates, not log events).
    pub fn broadcast<N: ServerNotification>(&self, notice: &N) {
        let Ok(params) = serde_json::to_string(notice) else {
            return;
        };
        let frame = frame_for(N::METHOD, &params);
        if let Ok(listeners) = self.listeners.lock() {
            for listener in listeners.values() {
                if !listener.opt_out.contains(N::METHOD) {
                    let _ = listener.out.try_send(frame.clone());
                }
            }
        }
    }

    /// Starts the MCP servers of the config and forwards their start-up steps to every
    /// connection as `mcpServer/startupStatus/updated`.
    pub fn start_mcp(self: &Arc<Self>) {
        let mcp = self.hub.services().mcp.clone();
        let mut updates = mcp.subscribe();
        let daemon = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let update = match updates.recv().await {
                    Ok(update) => update,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::debug!(missed = n, "MCP start-up updates dropped");
                        continue;
                    }
                    Err(_) => return,
                };
                let Some(daemon) = daemon.upgrade() else {
                    return;
                };
                daemon.broadcast(&update);
            }
        });
        mcp.start();
    }

    pub fn next_connection_id(&self) -> ConnectionId {
        self.next_connection.fetch_add(1, Ordering::Relaxed)
    }

    /// Counts a connection in or out (`rpc::serve` does, once each).
    pub fn count_connection(&self, open: bool) {
        if open {
            self.open_connections.fetch_add(1, Ordering::Relaxed);
        } else {
            self.open_connections.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Connections open now.
    pub fn connections(&self) -> usize {
        self.open_connections.load(Ordering::Relaxed)
    }

    /// Interrupts every running turn and waits (up to `wait`) for them to end: the daemon is
    /// stopping, and a turn must end `interrupted` with its subscribers told, not be cut off.
    pub async fn interrupt_running_turns(&self, wait: std::time::Duration) {
        let running = self.hub.active().await;
        for handle in &running {
            if let Err(e) = handle.interrupt_running().await {
                tracing::debug!(thread = %handle.id(), error = %e, "interrupt at shutdown");
            }
        }
        let deadline = tokio::time::Instant::now() + wait;
        let still = |h: &&crate::threads::ActorHandle| {
            matches!(h.status(), agentd_protocol::ThreadStatus::Active { .. })
        };
        while running.iter().any(|h| still(&h)) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let left = running.iter().filter(still).count();
        if left > 0 {
            tracing::warn!(threads = left, "turns still running at shutdown");
        }
        // A thread's status turns idle when its turn says it is done, which is before the
        // batch holding its `turn/completed` is committed and sent; wait for that too.
        for handle in &running {
            let _ = handle.barrier().await;
        }
    }

    /// A client answered one of our requests (an approval): route it to the thread that asked.
    /// An answer to nothing we asked (or to an approval already resolved) is logged and ignored
    /// — JSON-RPC has no way to reply to a response.
    pub async fn server_request_answered(
        &self,
        conn: &ConnInfo,
        id: RequestId,
        outcome: Result<Value, ErrorObject>,
    ) {
        // An observe token may watch an approval but not decide it; the approval stays pending.
        if conn.observe_only {
            tracing::info!(conn = conn.id, %id, "answer from an observe-only connection ignored");
            return;
        }
        let Some((thread_id, approval)) = conn.lookup(&id) else {
            tracing::info!(conn = conn.id, %id, "answer to an unknown or resolved server request ignored");
            return;
        };
        match self.hub.loaded(&thread_id).await {
            Some(handle) => {
                handle
                    .answer_approval(approval, conn.id, conn.client_name(), outcome)
                    .await
            }
            None => tracing::info!(conn = conn.id, %id, "answer for an unloaded thread ignored"),
        }
    }
}
