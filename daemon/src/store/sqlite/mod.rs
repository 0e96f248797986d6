//! The embedded store: one SQLite file in the data directory, written by one daemon.
//!
//! Writes take turns through one lock (SQLite has one writer anyway, and taking turns means no
//! `SQLITE_BUSY` retries): the common commit inline on the caller's thread, the rest through
//! sqlx (`writer.rs`). Reads use a small pool of query-only connections so a large replay never
//! waits behind a commit.

mod checkpoint;
mod events;
mod history;
mod memory;
mod open;
mod search;
mod threads;
mod writer;

pub use search::match_expression;

use std::sync::Arc;

use sqlx::SqlitePool;

use super::rows;
pub(crate) use super::{CandidateQuery, MemoryCandidate, MemoryRow, SummaryRow};
pub(crate) use super::{SqlContext, StoreError};

/// The SQLite VFS every connection of the store opens the file with. `unix-excl` takes one
/// lock on the file for the whole process and keeps the WAL index in the process's memory
/// instead of a shared `-shm` file, so a commit's six `fcntl` locks on that index become
/// in-process bookkeeping (decision 019, point 6: ~6 µs off a streamed delta's path). The price:
/// no other process can read or write the file while the daemon has it open — it is told
/// "database is locked" — which the data directory's lock already meant for other daemons.
/// Every connection must use it: one opened `read_only` bypasses the process lock, so the read
/// pool is `query_only` instead.
const VFS: &str = "unix-excl";

/// The SQLite store; cheap to clone.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    writer: Arc<writer::Writer>,
    reader: SqlitePool,
    /// Checkpoints the WAL in the background (the writer never does; see `checkpoint.rs`).
    wal: Arc<checkpoint::WalCheckpointer>,
}

impl SqliteStore {
    /// Lets every connection give its page cache back (`PRAGMA shrink_memory`): after a burst
    /// of thousands of threads the caches hold megabytes of pages nobody will read soon. Idle
    /// read connections are taken all at once so each one gets it.
    pub async fn release_memory(&self) {
        let _ = self
            .writer
            .with_inline(|conn| conn.execute_batch("PRAGMA shrink_memory"))
            .await;
        if let Ok(mut conn) = self.writer.sqlx().await {
            let _ = sqlx::query("PRAGMA shrink_memory")
                .execute(&mut *conn)
                .await;
        }
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

    /// Closes the writers (waiting for the write in progress), then lets the checkpoint task copy
    /// and empty the WAL, then closes the readers; called on shutdown.
    pub async fn close(&self) {
        self.writer.close().await;
        self.wal.stop().await;
        self.reader.close().await;
    }
}
