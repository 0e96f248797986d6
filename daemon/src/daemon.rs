//! The daemon's shared state, handed to every connection: store, thread hub, config, limits.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use agentd_protocol::jsonrpc::{ErrorObject, RequestId};
use serde_json::Value;

use crate::config::Config;
use crate::store::Store;
use crate::threads::{ConnectionId, ThreadHub};
use crate::transport::Limits;

pub struct Daemon {
    pub hub: ThreadHub,
    pub config: Config,
    pub limits: Limits,
    /// agentd's config directory (reported to Codex clients as `codexHome`).
    pub config_dir: PathBuf,
    next_connection: AtomicU64,
}

impl Daemon {
    pub fn new(store: Store, config: Config, limits: Limits, config_dir: PathBuf) -> Self {
        Daemon {
            hub: ThreadHub::new(
                store,
                std::sync::Arc::new(crate::agent::AgentServices::new(config.clone())),
            ),
            config,
            limits,
            config_dir,
            next_connection: AtomicU64::new(1),
        }
    }

    pub fn next_connection_id(&self) -> ConnectionId {
        self.next_connection.fetch_add(1, Ordering::Relaxed)
    }

    /// A client answered one of our requests. No server→client requests exist yet (approvals
    /// arrive with the tools), so every answer is unexpected and only logged.
    pub fn server_request_answered(
        &self,
        conn: ConnectionId,
        id: RequestId,
        outcome: Result<Value, ErrorObject>,
    ) {
        tracing::warn!(conn, %id, ok = outcome.is_ok(), "answer to an unknown server request ignored");
    }
}
