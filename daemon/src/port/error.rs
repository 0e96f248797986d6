//! What thread operations fail with. Defined beside the port because turns and tools return it
//! too; `rpc::error` maps each kind to one JSON-RPC code.

use crate::store::StoreError;

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
    /// The commit failed; the string is the id it was logged under.
    #[error("could not save the change (error id {0})")]
    CommitFailed(String),
    /// Another daemon took the thread over (the write was fenced), or this daemon is still
    /// letting it go: the request may be sent again, and will reach whoever runs it.
    #[error("thread {0} is changing hands between daemons")]
    Moved(String),
    /// The commit failed because the database is out of reach; the string is the log id.
    #[error("the database is unavailable (error id {0})")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}
