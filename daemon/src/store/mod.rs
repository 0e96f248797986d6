//! The store: the only code that writes SQL.
//!
//! Threads and the agent talk to it through the narrow API of [`Store`] (`api.rs`); nothing
//! above this module sees sqlx. Two implementations sit behind it: the embedded SQLite file
//! (`sqlite/`, the default: one daemon per data directory) and PostgreSQL (`postgres/`: several
//! daemons sharing threads, with the thread leases and forwarded commands that needs;
//! docs/decisions/018-several-daemons-on-postgres.md). Both pass one contract suite
//! (tests/tests/store_contract.rs).

mod api;
mod decode;
#[cfg(test)]
mod fixtures;
mod lock;
mod memory_rows;
pub mod postgres;
mod rows;
mod search_text;
pub mod sqlite;

pub use lock::DataDirLock;
pub use memory_rows::{CandidateQuery, MemoryCandidate, MemoryRow, SummaryRow};
pub use rows::{
    is_last_page, CommitBatch, HistoryEntry, HistoryRow, ItemRow, NewEvent, Projection, RowWrite,
    SearchCursor, SearchHit, SearchQuery, StoredEvent, ThreadListQuery, ThreadRow, TurnRow,
    TurnState, MAX_STORED_EVENT_BYTES,
};
pub use sqlite::match_expression;

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
    /// The embedded store's inline writer (`store/sqlite/writer.rs`).
    #[error("{context}: {source}")]
    Sqlite {
        context: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    /// This daemon no longer holds the thread's lease (another daemon took it over): the
    /// write was refused so a stalled daemon cannot write over the new holder.
    #[error("thread {0} is held by another daemon now; this daemon's write was refused")]
    Fenced(String),
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

impl<T> SqlContext<T> for Result<T, rusqlite::Error> {
    fn ctx(self, context: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Sqlite { context, source })
    }
}

/// Handle to the database, whichever it is; cheap to clone. Every method is in `api.rs`.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
}

#[derive(Clone, Debug)]
enum Backend {
    Sqlite(sqlite::SqliteStore),
    Postgres(postgres::PgStore),
}

impl StoreError {
    /// The database could not be reached (down, restarting, a pool timeout): the request may
    /// succeed when retried, unlike a constraint or a decode failure.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Sql { source, .. } => {
                matches!(
                    source,
                    sqlx::Error::Io(_)
                        | sqlx::Error::PoolTimedOut
                        | sqlx::Error::PoolClosed
                        | sqlx::Error::WorkerCrashed
                        | sqlx::Error::Tls(_)
                ) || is_admin_shutdown(source)
            }
            _ => false,
        }
    }
}

impl StoreError {
    /// The inline SQLite writer met a lock another process holds (`SQLITE_BUSY`).
    pub fn is_busy(&self) -> bool {
        matches!(
            self,
            StoreError::Sqlite {
                source: rusqlite::Error::SqliteFailure(e, _),
                ..
            } if e.code == rusqlite::ErrorCode::DatabaseBusy
        )
    }

    /// A unique key was already taken (a seq, an id): the write conflicts with one stored.
    pub fn is_duplicate(&self) -> bool {
        match self {
            StoreError::Sql {
                source: sqlx::Error::Database(db),
                ..
            } => db.is_unique_violation(),
            StoreError::Sqlite {
                source: rusqlite::Error::SqliteFailure(e, _),
                ..
            } => matches!(
                e.extended_code,
                rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                    | rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            ),
            _ => false,
        }
    }
}

/// PostgreSQL's "the server is shutting down / restarting" and connection-failure classes
/// (57P01–57P03, 08xxx).
fn is_admin_shutdown(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("57P") || c.starts_with("08")),
        _ => false,
    }
}
