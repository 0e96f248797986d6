//! The shared store: PostgreSQL, for several daemons serving the same threads.
//!
//! The tables mirror SQLite's (`migrations-postgres/`), so both implementations answer the one
//! interface of `api.rs` the same way. What only a shared database needs lives here too:
//! thread leases with epochs (`lease.rs`), commands forwarded to a thread's holder and pending
//! approvals (`cluster.rs`), and the `LISTEN` connection that wakes a daemon when another one
//! wrote (`notify.rs`). A commit carries the epoch of its daemon's lease and is refused when
//! the lease has moved on (`events.rs`).

mod cluster;
mod events;
mod history;
mod lease;
mod memory;
mod notify;
mod open;
mod search;
mod threads;

pub use cluster::{ForwardedCommand, PendingApproval, QUESTIONS_READ};
pub use lease::{LeaseHolder, LeaseOutcome};
pub use notify::{Wake, WakeReceiver};
pub use open::{PgOptions, Probe};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sqlx::PgPool;

use super::rows;
pub(crate) use super::{CandidateQuery, MemoryCandidate, MemoryRow, SummaryRow};
pub(crate) use super::{SqlContext, StoreError};

/// The PostgreSQL store; cheap to clone.
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
    /// This daemon's identity in lease rows and forwarded commands.
    node: Arc<NodeId>,
    /// The epoch of each thread lease this daemon holds: every commit of the thread carries it.
    epochs: Arc<Mutex<HashMap<String, i64>>>,
    /// Lease length (milliseconds of the database clock).
    lease_ms: i64,
    /// Wakes from `LISTEN` (events written, commands, answers, approvals), for whoever waits.
    wakes: notify::Wakes,
    /// Threads whose lease a commit found lost (`lease.rs`).
    fenced: Arc<FencedThreads>,
}

/// A channel of thread ids; one per store, its receiver taken once (by the hub).
#[derive(Debug)]
struct FencedThreads {
    tx: tokio::sync::mpsc::UnboundedSender<String>,
    rx: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<String>>>,
}

impl Default for FencedThreads {
    fn default() -> Self {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        FencedThreads {
            tx,
            rx: Mutex::new(Some(rx)),
        }
    }
}

/// Who this daemon is, in the rows other daemons read.
#[derive(Debug, Clone)]
pub struct NodeId {
    /// Unique per process start.
    pub id: String,
    /// The machine's host name (state outside the database, like worktrees, is per machine).
    pub host: String,
}

impl PgStore {
    pub fn node(&self) -> &NodeId {
        &self.node
    }

    /// Nothing to give back: PostgreSQL's caches are the server's.
    pub async fn release_memory(&self) {}

    pub async fn close(&self) {
        self.wakes.stop();
        self.pool.close().await;
    }

    /// The epoch this daemon holds for a thread, if it holds its lease.
    fn epoch_of(&self, thread_id: &str) -> Option<i64> {
        self.epochs
            .lock()
            .ok()
            .and_then(|m| m.get(thread_id).copied())
    }
}
