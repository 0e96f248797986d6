//! The store: the only code that writes SQL.
//!
//! Threads and the agent talk to it through the narrow API of [`Store`]; nothing above this module
//! sees sqlx or SQLite, so a PostgreSQL backend can replace it later. Writes go through a single
//! connection (SQLite has one writer anyway, and a single connection means no `SQLITE_BUSY`
//! retries); reads use a small pool of read-only connections so a large replay never waits behind
//! a commit.

mod checkpoint;
mod events;
#[cfg(test)]
mod fixtures;
mod history;
mod lock;
mod memory;
mod open;
mod rows;
mod search;
mod threads;

pub use events::StoredEvent;
pub use lock::DataDirLock;
pub use memory::{CandidateQuery, MemoryCandidate, MemoryRow, SummaryRow};
pub use rows::{
    CommitBatch, HistoryEntry, HistoryRow, ItemRow, NewEvent, Projection, RowWrite, SearchCursor,
    SearchHit, SearchQuery, ThreadListQuery, ThreadRow, TurnRow, TurnState,
};
pub use search::match_expression;

use std::sync::Arc;

use sqlx::SqlitePool;

/// Everything the store can fail with, each with the context a person needs to act on it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
    #[error("{0}")]
    Locked(String),
    #[error("{0}")]
    Corrupt(String),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{context}: {source}")]
    Sql {
        context: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("stored data is invalid ({context}): {detail}")]
    Decode {
        context: &'static str,
        detail: String,
    },
}

pub(crate) trait SqlContext<T> {
    fn ctx(self, context: &'static str) -> Result<T, StoreError>;
}

impl<T> SqlContext<T> for Result<T, sqlx::Error> {
    fn ctx(self, context: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Sql { context, source })
    }
}

/// Handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    writer: SqlitePool,
    reader: SqlitePool,
    /// Checkpoints the WAL in the background (the writer never does; see `checkpoint.rs`).
    wal: Arc<checkpoint::WalCheckpointer>,
}

impl Store {
    /// Lets every connection give its page cache back (`PRAGMA shrink_memory`): after a burst
    /// of thousands of threads the caches hold megabytes of pages nobody will read soon. Idle
    /// read connections are taken all at once so each one gets it.
    pub async fn release_memory(&self) {
        let _ = sqlx::query("PRAGMA shrink_memory")
            .execute(&self.writer)
            .await;
        let mut held = Vec::new();
        while let Some(conn) = self.reader.try_acquire() {
            held.push(conn);
        }
        for conn in &mut held {
            let _ = sqlx::query("PRAGMA shrink_memory")
                .execute(&mut **conn)
                .await;
        }
    }

    /// Closes the writer (waiting for in-flight statements), then lets the checkpoint task copy
    /// and empty the WAL, then closes the readers; called on shutdown.
    pub async fn close(&self) {
        self.writer.close().await;
        self.wal.stop().await;
        self.reader.close().await;
    }
}
