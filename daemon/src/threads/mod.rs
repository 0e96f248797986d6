//! Threads: the heart of the daemon.
//!
//! Each *loaded* thread is one task, a [`ThreadActor`](actor), that owns the thread's state and its
//! subscriber list. Every change becomes an event with the next `seq`; the actor commits the events
//! waiting in its queue in one transaction and only then fans them out, so a client is never told
//! about something a crash could lose. The [`ThreadHub`] finds or loads actors.

mod actor;
mod approvals;
mod catchup;
mod convert;
mod emitter;
mod event;
mod history;
mod hub;
mod subscriber;
mod turns;

pub use actor::{ActorHandle, CatchUp, ThreadUpdate};
pub use approvals::{ApprovalOutcome, ConnInfo};
pub use convert::{settings_of, thread_from_row, turns_from_rows, turns_json, ThreadSettings};
pub use emitter::TurnEmitter;
pub use event::frame_for;
pub use history::{ForkSnapshot, RollbackOutcome};
pub use hub::ThreadHub;
pub use subscriber::{ConnectionId, Subscriber};
pub use turns::{input_text, now_ms, TurnLink};

use crate::store::StoreError;

/// What thread operations fail with; `rpc::error` maps each to one JSON-RPC code.
#[derive(Debug, thiserror::Error)]
pub enum ThreadError {
    #[error("thread not found: {0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}: {1}")]
    Invalid(&'static str, String),
    #[error("thread {0} is shutting down")]
    Closed(String),
    #[error("could not save the change: {0}")]
    CommitFailed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Seconds since the Unix epoch, the unit of every stored and wire timestamp.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
