//! Opening the database: pragmas, integrity check, migrations.
//!
//! A corrupt file is refused with a clear message and never overwritten: the user's history is
//! worth more than a daemon that starts.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::Row;

use super::checkpoint::{CheckpointPolicy, WalCheckpointer};
use super::writer::Writer;
use super::{SqlContext, SqliteStore, StoreError};

/// How long a statement waits for a lock before failing with `SQLITE_BUSY`.
const WRITER_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Prepared statements the writer keeps (sqlx's default is 100).
const WRITER_STATEMENTS: usize = 32;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

impl SqliteStore {
    /// Opens (creating if missing) the database at `path`, checks it, and migrates it.
    /// Reads an existing database without changing it and runs SQLite's `quick_check`: what
    /// `agentd doctor` reports about a data directory no daemon holds.
    pub async fn check_file(path: &Path) -> Result<(), StoreError> {
        let url = format!("sqlite://{}", path.display());
        let options = SqliteConnectOptions::from_str(&url)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?
            .read_only(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .ctx("opening the database read-only")?;
        let row = sqlx::query("PRAGMA quick_check")
            .fetch_one(&pool)
            .await
            .ctx("checking the database")?;
        let verdict: String = row.try_get(0).ctx("reading quick_check")?;
        pool.close().await;
        if verdict == "ok" {
            Ok(())
        } else {
            Err(StoreError::Corrupt(format!("quick_check: {verdict}")))
        }
    }

    pub async fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with(path, CheckpointPolicy::default()).await
    }

    /// [`SqliteStore::open`] with a chosen checkpoint schedule (tests use a fast one).
    pub(crate) async fn open_with(
        path: &Path,
        checkpoints: CheckpointPolicy,
    ) -> Result<SqliteStore, StoreError> {
        let corrupt = |detail: String| {
            StoreError::Corrupt(format!(
                "the database {} is corrupt or not an agentd database ({detail}); refusing to \
                 start so nothing is overwritten — move the file away to start fresh",
                path.display()
            ))
        };
        let url = format!("sqlite://{}", path.display());
        let options = SqliteConnectOptions::from_str(&url)
            .map_err(|e| corrupt(e.to_string()))?
            .create_if_missing(true)
            .vfs(super::VFS)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL + NORMAL: a commit is durable against a process crash without an fsync per
            // transaction; the actor's group commit then amortises the rest.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(WRITER_BUSY_TIMEOUT)
            .pragma("cache_size", "-8000");
        let writer_options = options
            .clone()
            // Never checkpoint inside a commit: the background task does (see `checkpoint.rs`).
            .pragma("wal_autocheckpoint", "0")
            // When the writer starts the WAL over after a large burst, it cuts the file back to
            // 16 MiB, so one burst does not keep its disk space forever.
            .pragma("journal_size_limit", "16777216");
        // Every batch size is a statement of its own, and one of hundreds of rows is hundreds
        // of KiB prepared: the cache keeps the sizes in use, not every size a burst produced.
        let writer_options = writer_options.statement_cache_capacity(WRITER_STATEMENTS);
        let writer = SqlitePoolOptions::new()
            // No `SELECT 1` round trip to sqlx's worker thread before each commit: a local
            // SQLite connection does not go stale, and that ping was a quarter of a one-delta
            // commit's thread wake-ups.
            .test_before_acquire(false)
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(writer_options)
            .await
            .map_err(|e| classify_open_error(e, &corrupt))?;

        let row = sqlx::query("PRAGMA integrity_check")
            .fetch_one(&writer)
            .await
            .map_err(|e| classify_open_error(e, &corrupt))?;
        let verdict: String = row.try_get(0).ctx("reading integrity_check")?;
        if verdict != "ok" {
            return Err(corrupt(format!("integrity_check: {verdict}")));
        }
        MIGRATOR.run(&writer).await?;
        let writer = Arc::new(Writer::open(path, writer)?);

        let wal = WalCheckpointer::start(
            options.clone(),
            writer.clone(),
            WRITER_BUSY_TIMEOUT,
            checkpoints,
        )
        .await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(0)
            // A read connection nobody used for a minute is closed, and its page cache with it.
            .idle_timeout(std::time::Duration::from_secs(60))
            // Not `read_only`: a read-only connection takes its own file locks, bypassing the
            // process's one `unix-excl` lock (see `VFS`).
            .connect_with(options.pragma("query_only", "ON"))
            .await
            .ctx("opening read connections")?;
        Ok(SqliteStore {
            writer,
            reader,
            wal: Arc::new(wal),
        })
    }
}

/// SQLite reports a non-database file as `SQLITE_NOTADB` (26) or a corrupt one as
/// `SQLITE_CORRUPT` (11) on the first statement; both mean "refuse", anything else is an
/// ordinary I/O problem.
fn classify_open_error(e: sqlx::Error, corrupt: &dyn Fn(String) -> StoreError) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        let code = db.code().unwrap_or_default();
        if code == "26" || code == "11" || code.starts_with("11") {
            return corrupt(db.message().to_owned());
        }
    }
    StoreError::Sql {
        context: "opening the database",
        source: e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_file_that_is_not_sqlite_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agentd.db");
        let junk = vec![0x42u8; 8192];
        std::fs::write(&path, &junk).unwrap();
        let err = SqliteStore::open(&path).await.unwrap_err().to_string();
        assert!(err.contains("corrupt or not an agentd database"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), junk);
    }

    #[tokio::test]
    async fn reopening_keeps_data_and_migrations_are_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agentd.db");
        let store = SqliteStore::open(&path).await.unwrap();
        store.close().await;
        let store = SqliteStore::open(&path).await.unwrap();
        store.close().await;
    }
}
