//! A connection's subscription to a thread, as the actor sees it.

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;

/// Identifies a connection for the lifetime of the daemon.
pub type ConnectionId = u64;

/// Where a thread's events go for one connection: its outbound queue, shared with the
/// connection's responses. The actor only ever `try_send`s into it, so a full queue never
/// blocks the thread.
#[derive(Debug, Clone)]
pub struct Subscriber {
    pub conn: ConnectionId,
    pub tx: mpsc::Sender<Bytes>,
    /// Notification methods the client asked not to receive (`optOutNotificationMethods`).
    pub opt_out: Arc<HashSet<String>>,
    /// The connection's table of our requests awaiting its answers (approvals).
    pub conn_info: Arc<super::approvals::ConnInfo>,
}

impl Subscriber {
    pub fn wants(&self, method: &str) -> bool {
        self.opt_out.is_empty() || !self.opt_out.contains(method)
    }
}
