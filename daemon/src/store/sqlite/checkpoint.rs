//! WAL checkpoints, off the commit path.
//!
//! SQLite's automatic checkpoint runs inside the commit that pushes the WAL past 1,000 pages: it
//! copies those pages into the database file and `fsync`s it, and the thread actor waiting for
//! that commit (and every delta queued behind it) waits too. On a busy disk an `fsync` takes
//! milliseconds, which was the whole p99 of streamed deltas (docs/benchmarks.md). So the writer
//! connection runs with `wal_autocheckpoint = 0`, and this task checkpoints from a connection of
//! its own: `PASSIVE`, which never takes the writer's lock, every [`CheckpointPolicy::interval`]
//! while commits happen, or sooner once [`CheckpointPolicy::commits_per_wake`] commits piled up.
//!
//! The writer starts the WAL over only when a commit begins with every frame already copied and
//! no reader in the WAL. A `PASSIVE` checkpoint cannot copy frames a reader's snapshot still
//! needs, and commits that land while it runs are left for the next round; so readers that
//! overlap without pause, or a stream of commits that never pauses for as long as a checkpoint
//! takes, keep the WAL growing. Once it holds more than
//! [`CheckpointPolicy::truncate_above_frames`] frames the task takes the writer connection
//! itself (waiting for the commit in flight, and holding off the next ones) and runs a
//! `TRUNCATE` checkpoint there: it copies the few frames `PASSIVE` left, waits (at most
//! [`TRUNCATE_BUSY_TIMEOUT`]) for readers to leave the WAL, and empties the file. Through the
//! writer connection it cannot lose the write lock to a writer that never pauses, as a
//! checkpoint from another connection would. The commits waiting meanwhile stall about as long
//! as SQLite's own checkpoint used to stall one, but once per 64 MiB of WAL instead of once per
//! 4 MiB, and in practice not at all: a pause in the commits longer than a checkpoint lets the
//! writer start the WAL over. If readers keep the `TRUNCATE` busy, the next attempt backs off
//! (up to [`MAX_TRUNCATE_BACKOFF`]) so commits are not stalled again and again; the WAL then
//! stays bounded by how long a reader keeps one snapshot.
//!
//! The task stops when [`SqliteStore::close`](super::SqliteStore::close) asks it to (after the writer has
//! closed, so nothing can write behind it) and ends with a `TRUNCATE` checkpoint, or when the
//! last clone of the store is dropped.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, Row, SqliteConnection};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::{SqlContext, StoreError};

/// How long the fallback `TRUNCATE` waits for readers to leave the WAL before it gives up until a
/// later round. It runs on the writer connection, so commits wait as long.
const TRUNCATE_BUSY_TIMEOUT: Duration = Duration::from_millis(100);

/// The checkpoint connection's busy timeout, for its final `TRUNCATE` at shutdown.
const FINAL_BUSY_TIMEOUT: Duration = Duration::from_secs(1);

/// The longest pause between two `TRUNCATE` attempts that readers kept busy.
const MAX_TRUNCATE_BACKOFF: Duration = Duration::from_secs(8);

/// When the background checkpointer runs. `Default` is what the daemon uses; tests shrink it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CheckpointPolicy {
    /// A checkpoint runs this long after the previous one, if anything was committed since.
    pub interval: Duration,
    /// ... or as soon as this many commits were made since the last checkpoint began: at 2–4
    /// WAL pages per one-delta commit, 4–16 MiB of WAL. Each checkpoint `fsync`s twice, and a
    /// commit writing the WAL meanwhile can wait on the file system's journal: at 250 ms / 256
    /// commits a paced stream met four a second, and its p99 was higher in runs alternating
    /// with this setting (decision 019). Commits rewrite the same few pages, so rarer
    /// checkpoints also copy less in all.
    pub commits_per_wake: u64,
    /// Above this many frames in the WAL, `PASSIVE` is evidently starved by readers (or a burst
    /// outran it): ask for `TRUNCATE`. 16,384 pages of 4 KiB is 64 MiB.
    pub truncate_above_frames: i64,
}

impl Default for CheckpointPolicy {
    fn default() -> Self {
        CheckpointPolicy {
            interval: Duration::from_secs(1),
            commits_per_wake: 1024,
            truncate_above_frames: 16_384,
        }
    }
}

/// What the commit path and the task share.
#[derive(Debug, Default)]
struct Shared {
    /// Commits made so far (only ever grows).
    commits: AtomicU64,
    /// `commits` as it was when the current or last checkpoint began.
    checkpointed_at: AtomicU64,
    stopping: AtomicBool,
    wake: Notify,
    /// Checkpoint rounds that ran, and `TRUNCATE`s that succeeded during them (for tests).
    rounds: AtomicU64,
    truncations: AtomicU64,
}

/// The store's handle on the checkpoint task. Dropping the last clone of the store drops this
/// and stops the task.
#[derive(Debug)]
pub(super) struct WalCheckpointer {
    shared: Arc<Shared>,
    commits_per_wake: u64,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl WalCheckpointer {
    /// Opens the checkpointer's own read-write connection and starts the task.
    /// `writer` is the store's writer, for the fallback `TRUNCATE`; `writer_busy_timeout` is
    /// the busy timeout its sqlx connection normally has.
    pub(super) async fn start(
        options: SqliteConnectOptions,
        writer: Arc<super::writer::Writer>,
        writer_busy_timeout: Duration,
        policy: CheckpointPolicy,
    ) -> Result<WalCheckpointer, StoreError> {
        let conn = options
            .busy_timeout(FINAL_BUSY_TIMEOUT)
            .connect()
            .await
            .ctx("opening the checkpoint connection")?;
        let shared = Arc::new(Shared::default());
        let writer = Writer {
            writer,
            busy_timeout: writer_busy_timeout,
        };
        let task = tokio::spawn(run(conn, writer, shared.clone(), policy));
        Ok(WalCheckpointer {
            shared,
            commits_per_wake: policy.commits_per_wake.max(1),
            task: Mutex::new(Some(task)),
        })
    }

    /// Called after every successful commit: two atomic operations, and a wake-up of the task
    /// once per `commits_per_wake` commits.
    pub(super) fn committed(&self) {
        let n = self.shared.commits.fetch_add(1, Ordering::Relaxed) + 1;
        if n.wrapping_sub(self.shared.checkpointed_at.load(Ordering::Relaxed))
            == self.commits_per_wake
        {
            self.shared.wake.notify_one();
        }
    }

    /// Checkpoint rounds run so far, and `TRUNCATE` checkpoints that succeeded in them.
    #[cfg(test)]
    pub(super) fn rounds(&self) -> (u64, u64) {
        (
            self.shared.rounds.load(Ordering::Relaxed),
            self.shared.truncations.load(Ordering::Relaxed),
        )
    }

    /// Stops the task and waits for its final checkpoint. Call after the writer has closed.
    pub(super) async fn stop(&self) {
        self.shared.stopping.store(true, Ordering::Release);
        self.shared.wake.notify_one();
        let task = match self.task.lock() {
            Ok(mut task) => task.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(task) = task {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "the WAL checkpoint task failed");
            }
        }
    }
}

impl Drop for WalCheckpointer {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::Release);
        self.shared.wake.notify_one();
    }
}

/// The store's writer, and the busy timeout to give its sqlx connection back with.
struct Writer {
    writer: Arc<super::writer::Writer>,
    busy_timeout: Duration,
}

/// The task: a round whenever the tick or a wake-up finds commits (or unfinished work) since
/// the last one, until told to stop; then the final checkpoint.
async fn run(
    mut conn: SqliteConnection,
    writer: Writer,
    shared: Arc<Shared>,
    policy: CheckpointPolicy,
) {
    let mut tick = tokio::time::interval_at(
        tokio::time::Instant::now() + policy.interval,
        policy.interval,
    );
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Whether the last round left work behind (readers in the way): retry on the next tick
    // even if nothing was committed since.
    let mut unfinished = false;
    let mut backoff = TruncateBackoff {
        interval: policy.interval,
        backoff: policy.interval,
        not_before: tokio::time::Instant::now(),
    };
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shared.wake.notified() => {}
        }
        if shared.stopping.load(Ordering::Acquire) {
            break;
        }
        let commits = shared.commits.load(Ordering::Relaxed);
        if !unfinished && commits == shared.checkpointed_at.load(Ordering::Relaxed) {
            continue;
        }
        shared.checkpointed_at.store(commits, Ordering::Relaxed);
        shared.rounds.fetch_add(1, Ordering::Relaxed);
        unfinished = round(&mut conn, &writer, &shared, &policy, &mut backoff).await;
    }
    final_checkpoint(conn).await;
}

/// A `TRUNCATE` that a reader kept busy held the writer for up to `TRUNCATE_BUSY_TIMEOUT`;
/// the next one waits this long, doubling up to 8 s, so a
/// reader that keeps a snapshot open cannot stall commits again and again.
struct TruncateBackoff {
    /// The policy's interval: the back-off after a `TRUNCATE` that succeeded.
    interval: Duration,
    backoff: Duration,
    not_before: tokio::time::Instant,
}

impl TruncateBackoff {
    /// A `TRUNCATE` emptied the WAL: the next may run as soon as it is needed.
    fn succeeded(&mut self) {
        self.backoff = self.interval;
    }

    /// Readers kept a `TRUNCATE` busy: hold off the next one, for longer each time.
    fn failed(&mut self) {
        self.not_before = tokio::time::Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(MAX_TRUNCATE_BACKOFF);
    }
}

/// One checkpoint round: `PASSIVE`, then a `TRUNCATE` on the writer when the WAL is still too
/// large (and the back-off allows). Returns whether it left work behind for the next tick.
async fn round(
    conn: &mut SqliteConnection,
    writer: &Writer,
    shared: &Shared,
    policy: &CheckpointPolicy,
    backoff: &mut TruncateBackoff,
) -> bool {
    let wal = match checkpoint(conn, "PASSIVE").await {
        Ok(wal) => wal,
        Err(e) => {
            tracing::warn!(error = %e, "WAL checkpoint failed");
            return true;
        }
    };
    let unfinished = wal.busy || wal.copied < wal.frames;
    if wal.frames <= policy.truncate_above_frames {
        return unfinished;
    }
    if tokio::time::Instant::now() < backoff.not_before {
        // Still too large: come back after the back-off even if nothing is committed.
        return true;
    }
    tracing::info!(
        frames = wal.frames,
        copied = wal.copied,
        "the WAL is large; running a TRUNCATE checkpoint on the writer"
    );
    let truncated = match truncate_on_writer(writer).await {
        Ok(wal) => !wal.busy,
        Err(e) => {
            tracing::warn!(error = %e, "TRUNCATE checkpoint failed");
            false
        }
    };
    if truncated {
        shared.truncations.fetch_add(1, Ordering::Relaxed);
        backoff.succeeded();
        false
    } else {
        backoff.failed();
        true
    }
}

/// The writer is closed (or the store dropped): copy everything and empty the WAL, so the next
/// start has nothing to recover. The last connection to close would checkpoint anyway.
async fn final_checkpoint(mut conn: SqliteConnection) {
    match checkpoint(&mut conn, "TRUNCATE").await {
        Ok(wal) if wal.busy => tracing::debug!("final checkpoint found the database busy"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "final WAL checkpoint failed"),
    }
    if let Err(e) = conn.close().await {
        tracing::warn!(error = %e, "closing the checkpoint connection failed");
    }
    tracing::debug!("WAL checkpoint task stopped");
}

/// `TRUNCATE` on the writer connection, with a short busy timeout: it then only waits for
/// readers, never for a commit.
async fn truncate_on_writer(writer: &Writer) -> Result<WalState, StoreError> {
    let mut conn = writer.writer.sqlx().await?;
    let set_timeout = |d: Duration| format!("PRAGMA busy_timeout = {}", d.as_millis());
    sqlx::query(&set_timeout(TRUNCATE_BUSY_TIMEOUT))
        .execute(&mut *conn)
        .await
        .ctx("shortening the writer's busy timeout")?;
    let result = checkpoint(&mut conn, "TRUNCATE").await;
    if let Err(e) = sqlx::query(&set_timeout(writer.busy_timeout))
        .execute(&mut *conn)
        .await
    {
        // The pool opens a new connection, with the usual settings, in its place.
        tracing::warn!(error = %e, "could not restore the writer's busy timeout; reconnecting");
        conn.close_on_drop();
    }
    result
}

/// The result row of `PRAGMA wal_checkpoint`.
#[derive(Debug, Clone, Copy)]
struct WalState {
    /// The checkpoint could not finish: a reader or writer was in the way.
    busy: bool,
    /// Frames in the WAL.
    frames: i64,
    /// Of those, frames now copied into the database file.
    copied: i64,
}

async fn checkpoint(conn: &mut SqliteConnection, mode: &str) -> Result<WalState, StoreError> {
    let row = sqlx::query(&format!("PRAGMA wal_checkpoint({mode})"))
        .fetch_one(&mut *conn)
        .await
        .ctx("checkpointing the WAL")?;
    Ok(WalState {
        busy: row.try_get::<i64, _>(0).ctx("reading wal_checkpoint")? != 0,
        frames: row.try_get(1).ctx("reading wal_checkpoint")?,
        copied: row.try_get(2).ctx("reading wal_checkpoint")?,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::{Duration, Instant};

    use sqlx::{ConnectOptions, Connection};

    use super::CheckpointPolicy;
    use crate::store::fixtures::thread_row;
    use crate::store::sqlite::SqliteStore;
    use crate::store::{CommitBatch, NewEvent, RowWrite};

    /// Commits event `seq` (a 200-byte payload: 3–4 WAL pages per commit).
    async fn commit_delta(store: &SqliteStore, seq: u64) {
        let batch = CommitBatch {
            thread: thread_row("t", seq),
            events: vec![NewEvent {
                seq,
                kind: "item/agentMessage/delta".into(),
                payload: "x".repeat(200),
                created_at: 1,
            }],
            projections: Vec::new(),
        };
        let write = if seq == 1 {
            RowWrite::Upsert
        } else {
            RowWrite::Progress
        };
        store.commit_with(&batch, write).await.unwrap();
    }

    fn wal_bytes(db: &Path) -> u64 {
        std::fs::metadata(db.with_extension("db-wal"))
            .map(|m| m.len())
            .unwrap_or(0)
    }

    /// With `wal_autocheckpoint = 0` nothing but the task copies the WAL back: 8,000 commits of
    /// ≥ 2 pages each would leave a WAL of ≥ 64 MiB. The task keeps it near its bound, and
    /// `close` stops it and leaves no WAL behind.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_checkpoint_task_bounds_the_wal_and_stops_on_close() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("agentd.db");
        let policy = CheckpointPolicy {
            interval: Duration::from_millis(10),
            commits_per_wake: 32,
            truncate_above_frames: 512,
        };
        let store = SqliteStore::open_with(&db, policy).await.unwrap();
        let mut largest = 0;
        for seq in 1..=8000 {
            commit_delta(&store, seq).await;
            if seq % 20 == 0 {
                // Streams pause now and then (a tool call, the next turn), and so does this one.
                tokio::time::sleep(Duration::from_millis(1)).await;
                largest = largest.max(wal_bytes(&db));
            }
        }
        let (rounds, _) = store.wal.rounds();
        assert!(rounds > 0, "the checkpoint task never ran");
        // Half of what no checkpoint would leave: a round can take long on a loaded machine.
        assert!(
            largest < 32 << 20,
            "the WAL reached {largest} bytes in {rounds} rounds"
        );
        store.close().await;
        assert_eq!(wal_bytes(&db), 0, "close left a WAL behind");
        let store = SqliteStore::open(&db).await.unwrap();
        assert_eq!(store.thread("t").await.unwrap().unwrap().last_seq, 8000);
        store.close().await;
    }

    /// A reader that holds one snapshot keeps `PASSIVE` from finishing, so the WAL grows past
    /// its bound; once the reader lets go, the task's `TRUNCATE` empties it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_starved_wal_is_truncated_once_the_reader_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("agentd.db");
        let policy = CheckpointPolicy {
            interval: Duration::from_millis(10),
            commits_per_wake: 16,
            truncate_above_frames: 256,
        };
        let store = SqliteStore::open_with(&db, policy).await.unwrap();
        commit_delta(&store, 1).await;
        let mut reader = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&db)
            .vfs(super::super::VFS)
            .pragma("query_only", "ON")
            .connect()
            .await
            .unwrap();
        sqlx::query("BEGIN").execute(&mut reader).await.unwrap();
        sqlx::query("SELECT count(*) FROM events")
            .fetch_one(&mut reader)
            .await
            .unwrap();
        for seq in 2..=400 {
            commit_delta(&store, seq).await;
        }
        let pinned = wal_bytes(&db);
        assert!(
            pinned > 256 * 4096,
            "the WAL should have grown past its bound while the snapshot was held: {pinned}"
        );
        sqlx::query("COMMIT").execute(&mut reader).await.unwrap();
        reader.close().await.unwrap();

        // No more commits: only the task's retries (after their back-off) can empty the WAL.
        let deadline = Instant::now() + Duration::from_secs(30);
        while wal_bytes(&db) > 0 || store.wal.rounds().1 == 0 {
            assert!(Instant::now() < deadline, "the WAL was never truncated");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        store.close().await;
    }
}
