//! The embedded store: one SQLite file in the data directory, written by one daemon.
//!
//! Writes go through a single connection (SQLite has one writer anyway, and a single connection
//! means no `SQLITE_BUSY` retries); reads use a small pool of read-only connections so a large
//! replay never waits behind a commit.

mod checkpoint;
mod events;
mod history;
mod memory;
mod open;
mod search;
mod threads;

pub use search::match_expression;

use std::sync::Arc;

use sqlx::SqlitePool;

use super::rows;
pub(crate) use super::{CandidateQuery, MemoryCandidate, MemoryRow, SummaryRow};
pub(crate) use super::{SqlContext, StoreError};

/// The SQLite store; cheap to clone.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    /// Checkpoints the WAL in the background (the writer never does; see `checkpoint.rs`).
    wal: Arc<checkpoint::WalCheckpointer>,
}

impl SqliteStore {
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
