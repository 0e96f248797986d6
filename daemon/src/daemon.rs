//! The daemon's shared state, handed to every connection: store, thread hub, config, limits.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use agentd_protocol::jsonrpc::{ErrorObject, RequestId};
use serde_json::Value;

use crate::config::{Config, LoadedConfig};
use crate::store::Store;
use crate::threads::{ConnInfo, ConnectionId, ThreadHub};
use crate::transport::Limits;

pub struct Daemon {
    pub hub: ThreadHub,
    pub config: Config,
    /// The config with where each key came from (for `config/read`); `config` is its `config`.
    pub loaded: LoadedConfig,
    pub limits: Limits,
    /// agentd's config directory (reported to Codex clients as `codexHome`).
    pub config_dir: PathBuf,
    next_connection: AtomicU64,
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
            hub: ThreadHub::new(store, std::sync::Arc::new(services)),
            config,
            limits,
            config_dir,
            loaded,
            next_connection: AtomicU64::new(1),
        })
    }

    pub fn next_connection_id(&self) -> ConnectionId {
        self.next_connection.fetch_add(1, Ordering::Relaxed)
    }

    /// Interrupts every running turn and waits (up to `wait`) for them to end: the daemon is
    /// stopping, and a turn must end `interrupted` with its subscribers told, not be cut off.
    pub async fn interrupt_running_turns(&self, wait: std::time::Duration) {
        let store = self.hub.store();
        let ids = match store.threads_with_running_turns().await {
            Ok(ids) => ids,
            Err(e) => {
                tracing::error!(error = %e, "cannot list running turns at shutdown");
                return;
            }
        };
        let mut running = Vec::new();
        for id in ids {
            let Some(handle) = self.hub.loaded(&id).await else {
                continue;
            };
            let turns = store.turns(&id).await.unwrap_or_default();
            for turn in turns.into_iter().filter(|t| t.status == "inProgress") {
                if let Err(e) = handle.interrupt_turn(turn.id.clone()).await {
                    tracing::debug!(thread = %id, turn = %turn.id, error = %e, "interrupt at shutdown");
                }
            }
            running.push(id);
        }
        let deadline = tokio::time::Instant::now() + wait;
        while !running.is_empty() && tokio::time::Instant::now() < deadline {
            let mut still = Vec::new();
            for id in running {
                let busy = store
                    .turns(&id)
                    .await
                    .map(|ts| ts.iter().any(|t| t.status == "inProgress"))
                    .unwrap_or(false);
                if busy {
                    still.push(id);
                }
            }
            running = still;
            if !running.is_empty() {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
        if !running.is_empty() {
            tracing::warn!(threads = running.len(), "turns still running at shutdown");
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
