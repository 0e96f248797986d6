//! The embedded store's writer: one turn to write, two connections to write with.
//!
//! A streamed delta is committed before anyone sees it, so its commit is on every delta's path.
//! Through sqlx a commit is a round trip to sqlx's worker thread — two cross-thread wake-ups
//! each way on top of SQLite's ~20 µs of work — and that hop was most of the latency agentd
//! added to a paced delta (`docs/decisions/019-inline-sqlite-commits.md`). So:
//!
//! - the **inline** connection (rusqlite) commits the common batch — events and the thread's
//!   progress, no projections — on the committing task's own thread, with cached statements;
//! - the **sqlx** connection does every other write (projections, deletes, memory jobs, the
//!   WAL's `TRUNCATE`), as before.
//!
//! Both are taken through one fair lock ([`Writer::sqlx`], [`Writer::commit_events`]), so
//! they take turns as the single connection did, and a transaction that reads before it writes
//! never finds its snapshot stale. One gap remains: a sqlx transaction dropped on an error
//! queues its `ROLLBACK` to sqlx's thread after the lock is given back, so an inline commit
//! right after it can find the write lock still held. The inline connection does not wait
//! (busy timeout 0, which also keeps another process's lock from holding up the worker): the
//! batch goes the sqlx way (`events.rs`), which lines up behind that rollback. Keep that
//! fallback, and keep [`Writer::with_inline`] to statements that do not write.

use std::path::Path;
use std::time::Duration;

use rusqlite::OpenFlags;
use sqlx::pool::PoolConnection;
use sqlx::{Sqlite, SqliteConnection, SqlitePool};
use tokio::sync::{Mutex, MutexGuard};

use super::rows::{CommitBatch, RowWrite};
use super::threads::{ADVANCE_THREAD, UPSERT_THREAD};
use super::{SqlContext, StoreError};

/// Bytes of event payload above which an inline commit leaves the async worker thread
/// (`runtime::blocking`) instead of holding it: a streamed delta is a few hundred bytes, a burst
/// merged into a batch can be megabytes.
const INLINE_BYTES: usize = 64 * 1024;

/// Prepared statements the inline connection keeps: it only ever runs three.
const INLINE_STATEMENTS: usize = 8;

const INSERT_EVENT: &str =
    "INSERT INTO events (thread_id, seq, kind, payload, created_at) VALUES (?1, ?2, ?3, ?4, ?5)";

/// The two writing connections and the lock both are taken through.
#[derive(Debug)]
pub(super) struct Writer {
    /// `None` once the store is closed.
    inline: Mutex<Option<rusqlite::Connection>>,
    pool: SqlitePool,
}

/// The sqlx writer connection, held with the writer's lock; derefs to the connection.
pub(super) struct WriteConn<'a> {
    // Dropped in this order: the connection goes back to the pool, then the turn is given up.
    conn: PoolConnection<Sqlite>,
    _turn: MutexGuard<'a, Option<rusqlite::Connection>>,
}

impl WriteConn<'_> {
    /// Closes the sqlx connection instead of returning it (the pool opens a fresh one).
    pub(super) fn close_on_drop(&mut self) {
        self.conn.close_on_drop();
    }
}

impl std::ops::Deref for WriteConn<'_> {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for WriteConn<'_> {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }
}

/// A transaction on the sqlx writer connection, held with the writer's lock; derefs to the
/// connection. Dropped without [`WriteTx::commit`], it rolls back.
pub(super) struct WriteTx<'a> {
    // Dropped in this order: the transaction ends, then the turn is given up.
    tx: sqlx::Transaction<'static, Sqlite>,
    _turn: MutexGuard<'a, Option<rusqlite::Connection>>,
}

impl WriteTx<'_> {
    pub(super) async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

impl std::ops::Deref for WriteTx<'_> {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx<'_> {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.tx
    }
}

impl Writer {
    /// Opens the inline connection beside `pool` (the sqlx writer, which created and migrated
    /// the database) with the writer's settings: the pragmas that are per connection.
    ///
    /// Its busy timeout is zero: within the daemon nothing else ever holds the write lock
    /// when it is this connection's turn, so a busy database means another process writes
    /// it, and waiting here would hold up the whole worker thread. The commit then goes the
    /// sqlx way instead ([`StoreError::is_busy`]), which waits on sqlx's thread.
    pub(super) fn open(path: &Path, pool: SqlitePool) -> Result<Writer, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = rusqlite::Connection::open_with_flags_and_vfs(path, flags, super::VFS)
            .ctx("opening the inline writer")?;
        conn.busy_timeout(Duration::ZERO)
            .ctx("setting the inline writer's busy timeout")?;
        conn.execute_batch(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; \
             PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 16777216; \
             PRAGMA cache_size = -8000;",
        )
        .ctx("configuring the inline writer")?;
        conn.set_prepared_statement_cache_capacity(INLINE_STATEMENTS);
        Ok(Writer {
            inline: Mutex::new(Some(conn)),
            pool,
        })
    }

    /// The sqlx writer connection, once it is this caller's turn.
    pub(super) async fn sqlx(&self) -> Result<WriteConn<'_>, StoreError> {
        let turn = self.inline.lock().await;
        let conn = self.pool.acquire().await.ctx("taking the writer")?;
        Ok(WriteConn { conn, _turn: turn })
    }

    /// A transaction on the sqlx writer connection, once it is this caller's turn; `context`
    /// names the write in an error.
    pub(super) async fn begin(&self, context: &'static str) -> Result<WriteTx<'_>, StoreError> {
        let turn = self.inline.lock().await;
        let tx = self.pool.begin().await.ctx(context)?;
        Ok(WriteTx { tx, _turn: turn })
    }

    /// Commits an events-only batch on the inline connection, on this thread.
    pub(super) async fn commit_events(
        &self,
        batch: &CommitBatch,
        row: RowWrite,
    ) -> Result<(), StoreError> {
        let mut turn = self.inline.lock().await;
        let conn = turn.as_mut().ok_or_else(closed)?;
        let bytes: usize = batch.events.iter().map(|e| e.payload.len()).sum();
        if bytes > INLINE_BYTES {
            crate::runtime::blocking(|| commit_events(conn, batch, row))
        } else {
            commit_events(conn, batch, row)
        }
    }

    /// Runs `f` on the inline connection (small statements only: it holds this thread).
    pub(super) async fn with_inline<R>(
        &self,
        f: impl FnOnce(&mut rusqlite::Connection) -> R,
    ) -> Result<R, StoreError> {
        let mut turn = self.inline.lock().await;
        turn.as_mut().map(f).ok_or_else(closed)
    }

    /// Waits for the write in progress, closes both connections; later writes fail.
    pub(super) async fn close(&self) {
        let inline = self.inline.lock().await.take();
        if let Some(conn) = inline {
            if let Err((_, e)) = conn.close() {
                tracing::warn!(error = %e, "closing the inline writer failed");
            }
        }
        self.pool.close().await;
    }
}

/// What a write meets once the store is closed (as the sqlx pool reports it).
fn closed() -> StoreError {
    StoreError::Sql {
        context: "writing",
        source: sqlx::Error::PoolClosed,
    }
}

/// The thread row as `row` says, then the events, in one `IMMEDIATE` transaction: it takes the
/// write lock at once, so a batch never starts reading a snapshot it cannot then write on.
/// `BEGIN` and `COMMIT` are cached statements too (through `Connection::transaction` SQLite
/// would parse them on every commit); on an error the transaction is rolled back.
fn commit_events(
    conn: &mut rusqlite::Connection,
    batch: &CommitBatch,
    row: RowWrite,
) -> Result<(), StoreError> {
    conn.prepare_cached("BEGIN IMMEDIATE")
        .and_then(|mut s| s.execute([]))
        .ctx("beginning a commit")?;
    let written = write_events(conn, batch, row).and_then(|()| {
        conn.prepare_cached("COMMIT")
            .and_then(|mut s| s.execute([]))
            .ctx("committing events")
    });
    if written.is_err() && !conn.is_autocommit() {
        if let Err(e) = conn.execute_batch("ROLLBACK") {
            tracing::error!(error = %e, "rolling back a failed commit failed");
        }
    }
    written.map(|_| ())
}

/// The statements of [`commit_events`] between `BEGIN` and `COMMIT`.
fn write_events(
    tx: &rusqlite::Connection,
    batch: &CommitBatch,
    row: RowWrite,
) -> Result<(), StoreError> {
    let t = &batch.thread;
    match row {
        RowWrite::Upsert => {
            tx.prepare_cached(UPSERT_THREAD)
                .ctx("saving a thread")?
                .execute(rusqlite::params![
                    t.id,
                    t.session_id,
                    t.forked_from_id,
                    t.name,
                    t.preview,
                    t.cwd,
                    t.model,
                    t.model_provider,
                    t.settings.to_string(),
                    t.ephemeral,
                    t.archived,
                    t.created_at,
                    t.updated_at,
                    t.last_seq as i64,
                    t.source,
                    t.source_kind,
                    t.parent_id,
                ])
                .ctx("saving a thread")?;
        }
        // Events alone: the row is not rewritten (one WAL page less per delta); reads take
        // `last_seq` and `updated_at` from the newest event (`threads.rs`), and the events'
        // foreign key refuses a thread that is not stored.
        RowWrite::Progress if !batch.events.is_empty() => {}
        RowWrite::Progress => {
            let changed = tx
                .prepare_cached(ADVANCE_THREAD)
                .ctx("saving a thread's progress")?
                .execute(rusqlite::params![t.updated_at, t.last_seq as i64, t.id])
                .ctx("saving a thread's progress")?;
            if changed != 1 {
                return Err(StoreError::Decode {
                    context: "saving a thread's progress",
                    detail: format!("thread {} is not stored", t.id),
                });
            }
        }
    }
    {
        let mut insert = tx.prepare_cached(INSERT_EVENT).ctx("appending events")?;
        for e in &batch.events {
            insert
                .execute(rusqlite::params![
                    t.id,
                    e.seq as i64,
                    e.kind,
                    e.payload,
                    e.created_at
                ])
                .ctx("appending events")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::store::fixtures::{thread_row, turn_of};
    use crate::store::sqlite::SqliteStore;
    use crate::store::{CommitBatch, NewEvent, Projection, RowWrite};

    fn delta(seq: u64, bytes: usize) -> NewEvent {
        NewEvent {
            seq,
            kind: "item/agentMessage/delta".into(),
            payload: "x".repeat(bytes),
            created_at: 1,
        }
    }

    fn batch(thread: &str, seq: u64, projections: Vec<Projection>) -> CommitBatch {
        CommitBatch {
            thread: thread_row(thread, seq),
            events: vec![delta(seq, 40)],
            projections,
        }
    }

    /// Commits delta `seq` of thread `t` (progress only) in a task of its own.
    fn spawn_progress(
        store: &SqliteStore,
        seq: u64,
    ) -> tokio::task::JoinHandle<Result<(), crate::store::StoreError>> {
        let store = store.clone();
        tokio::spawn(async move {
            let b = batch("t", seq, Vec::new());
            store.commit_with(&b, RowWrite::Progress).await
        })
    }

    async fn open() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("agentd.db"))
            .await
            .unwrap();
        (dir, store)
    }

    /// While the sqlx connection is held (a transaction in progress), an inline commit waits
    /// for its turn instead of meeting SQLite's lock; it lands once the turn is given back.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_inline_commit_waits_for_the_sqlx_writers_turn() {
        let (_dir, store) = open().await;
        store.commit(&batch("t", 1, Vec::new())).await.unwrap();
        let held = store.writer.sqlx().await.unwrap();
        let committing = spawn_progress(&store, 2);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            !committing.is_finished(),
            "the commit did not wait its turn"
        );
        drop(held);
        committing.await.unwrap().unwrap();
        assert_eq!(store.thread("t").await.unwrap().unwrap().last_seq, 2);
    }

    /// Threads committing at once, inline (events only) and through sqlx (with projections),
    /// beside other sqlx writes: every commit lands, none meets a busy database.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn inline_and_sqlx_commits_interleave_without_errors() {
        let (_dir, store) = open().await;
        let mut tasks = Vec::new();
        for t in 0..4 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let id = format!("t{t}");
                store.commit(&batch(&id, 1, Vec::new())).await?;
                for seq in 2..=120u64 {
                    if seq % 10 == 0 {
                        let turn = turn_of(&id, &format!("{id}-turn{seq}"), seq as i64);
                        let b = batch(&id, seq, vec![turn]);
                        store.commit_with(&b, RowWrite::Progress).await?;
                    } else {
                        store
                            .commit_with(&batch(&id, seq, Vec::new()), RowWrite::Progress)
                            .await?;
                    }
                }
                Ok::<_, crate::store::StoreError>(())
            }));
        }
        let other = {
            let store = store.clone();
            tokio::spawn(async move {
                for _ in 0..50 {
                    store.age_out_memories(0).await?;
                    store.delete_thread("nobody").await?;
                }
                Ok::<_, crate::store::StoreError>(())
            })
        };
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        other.await.unwrap().unwrap();
        for t in 0..4 {
            let id = format!("t{t}");
            assert_eq!(store.thread(&id).await.unwrap().unwrap().last_seq, 120);
            assert_eq!(store.events_after(&id, 0, 1000).await.unwrap().len(), 120);
        }
    }

    /// A batch too large to hold the async thread with (it leaves through `runtime::blocking`)
    /// lands like a small one; a seq already stored is reported as a duplicate (what the
    /// actor's retry relies on) and leaves nothing behind; a closed store refuses writes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn large_batches_duplicates_and_a_closed_store() {
        let (_dir, store) = open().await;
        let big = CommitBatch {
            thread: thread_row("t", 40),
            events: (1..=40).map(|seq| delta(seq, 4096)).collect(),
            projections: Vec::new(),
        };
        store.commit(&big).await.unwrap();
        assert_eq!(store.events_after("t", 0, 100).await.unwrap().len(), 40);

        let dup = CommitBatch {
            thread: thread_row("t", 41),
            events: vec![delta(41, 10), delta(40, 10)],
            projections: Vec::new(),
        };
        let err = store
            .commit_with(&dup, RowWrite::Progress)
            .await
            .unwrap_err();
        assert!(err.is_duplicate(), "{err}");
        assert!(!err.is_unavailable(), "{err}");
        assert_eq!(store.thread("t").await.unwrap().unwrap().last_seq, 40);
        assert_eq!(store.events_after("t", 40, 100).await.unwrap().len(), 0);

        store.close().await;
        let after = store.commit(&batch("t", 41, Vec::new())).await;
        assert!(after.is_err(), "a closed store took a commit");
    }

    /// A connection that holds the write lock when the inline one's turn comes (a sqlx
    /// `ROLLBACK` still queued, or here another connection of the process) neither fails a
    /// commit nor stalls the worker: the commit waits on sqlx's thread while the runtime's one
    /// worker keeps running others. (No other process can hold it: see the next test.)
    #[test]
    fn a_held_write_lock_does_not_stall_the_worker() {
        let runtime = crate::runtime::build(Some(1)).unwrap();
        runtime.block_on(async {
            let (dir, store) = open().await;
            store.commit(&batch("t", 1, Vec::new())).await.unwrap();
            let outsider = rusqlite::Connection::open_with_flags_and_vfs(
                dir.path().join("agentd.db"),
                rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE,
                super::super::VFS,
            )
            .unwrap();
            outsider.execute_batch("BEGIN IMMEDIATE").unwrap();

            let ticks = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
            let ticker = {
                let ticks = ticks.clone();
                tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        ticks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                })
            };
            let committing = spawn_progress(&store, 2);
            tokio::time::sleep(Duration::from_millis(300)).await;
            assert!(
                !committing.is_finished(),
                "the commit did not wait for the lock"
            );
            let seen = ticks.load(std::sync::atomic::Ordering::Relaxed);
            assert!(seen >= 10, "the worker stalled: {seen} ticks in 300 ms");
            outsider.execute_batch("COMMIT").unwrap();
            committing.await.unwrap().unwrap();
            ticker.abort();
            assert_eq!(store.thread("t").await.unwrap().unwrap().last_seq, 2);
        });
        crate::runtime::shut_down(runtime);
    }

    /// Another process — an `sqlite3` shell, a backup script — cannot read or write the file
    /// while the store has it open: it is told the database is locked at once, and the store
    /// goes on committing. (It must not get in: the WAL index is in this process's memory.)
    #[tokio::test]
    async fn another_process_is_refused_and_the_store_goes_on() {
        let (dir, store) = open().await;
        store.commit(&batch("t", 1, Vec::new())).await.unwrap();
        let db = dir.path().join("agentd.db");
        let probe = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "store::sqlite::writer::tests::outsider_probe"])
            .args(["--ignored", "--nocapture", "--test-threads", "1"])
            .env(OUTSIDER_DB, &db)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&probe.stdout);
        assert!(said.contains("read: database is locked"), "{said}");
        assert!(said.contains("write: database is locked"), "{said}");
        store.commit(&batch("t", 2, Vec::new())).await.unwrap();
        assert_eq!(store.events_after("t", 0, 10).await.unwrap().len(), 2);
    }

    const OUTSIDER_DB: &str = "AGENTD_TEST_OUTSIDER_DB";

    /// The other process of [`another_process_is_refused_and_the_store_goes_on`]: opens the
    /// file as any SQLite program would and says what a read and a write got.
    #[test]
    #[ignore = "run by another_process_is_refused_and_the_store_goes_on in a process of its own"]
    fn outsider_probe() {
        let Some(db) = std::env::var_os(OUTSIDER_DB) else {
            return;
        };
        let outsider = rusqlite::Connection::open(db).unwrap();
        // Not rusqlite's default 5 s of waiting: refused means refused at once.
        outsider.busy_timeout(std::time::Duration::ZERO).unwrap();
        let said = |r: rusqlite::Result<()>| r.map_or_else(|e| e.to_string(), |()| "ok".into());
        let read = outsider.query_row("SELECT count(*) FROM events", [], |_| Ok(()));
        println!("read: {}", said(read));
        println!("write: {}", said(outsider.execute_batch("BEGIN IMMEDIATE")));
    }

    /// A batch of events alone leaves the thread row as it was (one WAL page less per delta);
    /// every read — the row, the list, after a restart — takes the progress from the newest
    /// event, so nothing a client or a restarted daemon sees lags.
    #[tokio::test]
    async fn events_alone_leave_the_row_and_reads_take_progress_from_the_log() {
        let (dir, store) = open().await;
        store.commit(&batch("t", 1, Vec::new())).await.unwrap();
        for seq in 2..=5 {
            let mut b = batch("t", seq, Vec::new());
            b.thread.updated_at = 50;
            b.events[0].created_at = 50;
            store.commit_with(&b, RowWrite::Progress).await.unwrap();
        }
        let raw: (i64, i64) = {
            let mut conn = store.writer.sqlx().await.unwrap();
            sqlx::query_as("SELECT last_seq, updated_at FROM threads WHERE id = 't'")
                .fetch_one(&mut *conn)
                .await
                .unwrap()
        };
        assert_eq!(raw, (1, 1), "the row was rewritten");
        let read = store.thread("t").await.unwrap().unwrap();
        assert_eq!((read.last_seq, read.updated_at), (5, 50));
        let listed = store
            .list_threads(&crate::store::ThreadListQuery {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(listed, std::slice::from_ref(&read));
        store.close().await;
        let store = SqliteStore::open(&dir.path().join("agentd.db"))
            .await
            .unwrap();
        assert_eq!(store.thread("t").await.unwrap(), Some(read));
        store.close().await;
    }
}
