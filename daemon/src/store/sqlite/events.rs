//! The per-thread event log: group-committed appends and ordered reads for replay.

use futures_util::TryStreamExt;
use sqlx::{QueryBuilder, Row, Sqlite};

use super::rows::MAX_STORED_EVENT_BYTES;
use super::rows::{fill_page, CommitBatch, Projection, RowWrite, StoredEvent};
use super::{SqlContext, SqliteStore, StoreError};

/// Rows per multi-row INSERT: one statement per 200 events instead of one per event keeps the
/// per-event cost near SQLite's own (5 binds × 200 stays far below the variable limit).
const EVENTS_PER_STATEMENT: usize = 200;

impl SqliteStore {
    /// Commits one actor batch atomically: the thread row (inserted or every column
    /// overwritten), events, then projections.
    pub async fn commit(&self, batch: &CommitBatch) -> Result<(), StoreError> {
        self.commit_with(batch, RowWrite::Upsert).await
    }

    /// [`SqliteStore::commit`], writing the thread row as `row` says: the actor knows when a batch
    /// only advances `updated_at`/`last_seq` of a row already stored.
    pub async fn commit_with(&self, batch: &CommitBatch, row: RowWrite) -> Result<(), StoreError> {
        let result = self.commit_batch(batch, row).await;
        if result.is_ok() {
            self.wal.committed();
        }
        result
    }

    async fn commit_batch(&self, batch: &CommitBatch, row: RowWrite) -> Result<(), StoreError> {
        if batch.projections.is_empty() {
            // The common batch (every streamed delta), on this thread: `writer.rs`. Another
            // process writing the file makes it busy: then the batch waits its turn on sqlx.
            match self.writer.commit_events(batch, row).await {
                Err(e) if e.is_busy() => {
                    tracing::debug!(error = %e, "the database is busy; committing through sqlx")
                }
                done => return done,
            }
        }
        let mut tx = self.writer.begin("beginning a commit").await?;
        match row {
            RowWrite::Upsert => super::threads::upsert_thread(&mut tx, &batch.thread).await?,
            RowWrite::Progress => super::threads::advance_thread(&mut tx, &batch.thread).await?,
        }
        for chunk in batch.events.chunks(EVENTS_PER_STATEMENT) {
            let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO events (thread_id, seq, kind, payload, created_at) ",
            );
            q.push_values(chunk, |mut b, e| {
                b.push_bind(&batch.thread.id)
                    .push_bind(e.seq as i64)
                    .push_bind(&e.kind)
                    .push_bind(&e.payload)
                    .push_bind(e.created_at);
            });
            q.build().execute(&mut *tx).await.ctx("appending events")?;
        }
        for p in &batch.projections {
            match p {
                Projection::Turn(t) => super::threads::upsert_turn(&mut tx, t).await?,
                Projection::Item(i) => {
                    super::threads::upsert_item(&mut tx, i).await?;
                    super::search::index_item(&mut tx, i).await?;
                }
                Projection::History(h) => super::threads::insert_history(&mut tx, h, None).await?,
                Projection::CopiedHistory { row, compacted_by } => {
                    super::threads::insert_history(&mut tx, row, compacted_by.as_deref()).await?
                }
                Projection::RollBack {
                    thread_id,
                    turn_ids,
                } => super::history::roll_back(&mut tx, thread_id, turn_ids).await?,
                Projection::CompactHistory { thread_id, turn_id } => {
                    super::history::compact(&mut tx, thread_id, turn_id).await?
                }
                Projection::ContextTokens { turn_id, tokens } => {
                    super::history::set_context_tokens(&mut tx, turn_id, *tokens).await?
                }
            }
        }
        tx.commit().await.ctx("committing events")?;
        Ok(())
    }

    /// Events with `seq > after_seq`, oldest first, at most `limit` of them.
    pub async fn events_after(
        &self,
        thread_id: &str,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.events_after_within(thread_id, after_seq, limit, MAX_STORED_EVENT_BYTES)
            .await
    }

    /// [`SqliteStore::events_after`], reading no payload over `max_event_bytes` (the tests use
    /// a small bound).
    async fn events_after_within(
        &self,
        thread_id: &str,
        after_seq: u64,
        limit: u32,
        max_event_bytes: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        // A payload too large (or not text) is not read at all (`StoredEvent::payload`);
        // `octet_length` takes the size from the record header.
        let mut rows = sqlx::query(
            "SELECT seq, kind, CASE WHEN typeof(payload) = 'text' \
             AND octet_length(payload) <= ?4 THEN payload ELSE '' END \
             FROM events WHERE thread_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )
        .bind(thread_id)
        // A seq past i64::MAX would wrap to a negative number and replay everything.
        .bind(after_seq.min(i64::MAX as u64) as i64)
        .bind(limit as i64)
        .bind(max_event_bytes)
        .fetch(&self.reader);
        let mut page = Vec::new();
        let mut bytes = 0;
        while let Some(r) = rows.try_next().await.ctx("reading events")? {
            let event = StoredEvent {
                seq: r.try_get::<i64, _>(0).ctx("decoding event seq")?.max(0) as u64,
                kind: r.try_get(1).ctx("decoding event kind")?,
                payload: r.try_get(2).ctx("decoding event payload")?,
            };
            if !fill_page(&mut page, &mut bytes, event) {
                break;
            }
        }
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::store::fixtures::{thread_row, turn};
    use crate::store::sqlite::checkpoint::CheckpointPolicy;
    use crate::store::sqlite::SqliteStore;
    use crate::store::{CommitBatch, NewEvent, RowWrite, ThreadRow};

    fn event(seq: u64) -> NewEvent {
        event_at(seq, 0)
    }

    /// Event `seq` made at `at`: a batch's events carry its row's `updated_at`.
    fn event_at(seq: u64, at: i64) -> NewEvent {
        NewEvent {
            seq,
            kind: "item/agentMessage/delta".into(),
            payload: format!(r#"{{"delta":"d{seq}","seq":{seq}}}"#),
            created_at: at,
        }
    }

    /// A payload over the bound, or one that is not text (a row something else wrote), is
    /// read back empty; the events around it are read whole.
    #[tokio::test]
    async fn payloads_past_the_bound_or_not_text_are_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("agentd.db"))
            .await
            .unwrap();
        let mut big = event(2);
        big.payload = format!(r#"{{"delta":"{}"}}"#, "x".repeat(100));
        let batch = CommitBatch {
            thread: thread_row("t", 3),
            events: vec![event(1), big.clone(), event(3)],
            projections: Vec::new(),
        };
        store.commit(&batch).await.unwrap();
        {
            let mut conn = store.writer.sqlx().await.unwrap();
            sqlx::query("UPDATE events SET payload = CAST(payload AS BLOB) WHERE seq = 3")
                .execute(&mut *conn)
                .await
                .unwrap();
        }
        let read = store.events_after_within("t", 0, 10, 50).await.unwrap();
        let payloads: Vec<&str> = read.iter().map(|e| e.payload.as_str()).collect();
        assert_eq!(payloads, [event(1).payload.as_str(), "", ""]);
        let whole = store.events_after("t", 0, 10).await.unwrap();
        assert_eq!(whole[1].payload, big.payload);
    }

    /// The inline path (no projections) and the sqlx `Transaction` path (with one) write the
    /// same thread row, every column of it, and the same events.
    #[tokio::test]
    async fn both_commit_paths_write_the_same_rows() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("agentd.db"))
            .await
            .unwrap();
        let mut row = ThreadRow {
            id: "t".into(),
            session_id: "s".into(),
            forked_from_id: Some("f".into()),
            name: Some("n".into()),
            preview: "p".into(),
            cwd: "/c".into(),
            model: "m".into(),
            model_provider: "mp".into(),
            settings: json!({"k": 1}),
            ephemeral: true,
            archived: true,
            created_at: 1,
            updated_at: 2,
            last_seq: 2,
            source: "\"appServer\"".into(),
            source_kind: "appServer".into(),
            parent_id: None,
        };
        // A new thread, through the fast path.
        let fast = CommitBatch {
            thread: row.clone(),
            events: vec![event(1), event(2)],
            projections: Vec::new(),
        };
        store.commit(&fast).await.unwrap();
        assert_eq!(store.thread("t").await.unwrap(), Some(row.clone()));

        // Every updatable column changed, through the fast path again.
        row.name = Some("n2".into());
        row.preview = "p2".into();
        row.cwd = "/c2".into();
        row.model = "m2".into();
        row.model_provider = "mp2".into();
        row.settings = json!({"k": 2});
        row.archived = false;
        row.updated_at = 3;
        row.last_seq = 3;
        let fast = CommitBatch {
            thread: row.clone(),
            events: vec![event(3)],
            projections: Vec::new(),
        };
        store.commit(&fast).await.unwrap();
        let fast_row = store.thread("t").await.unwrap();
        assert_eq!(fast_row, Some(row.clone()));

        // The same change through the `Transaction` path gives the same row.
        row.last_seq = 4;
        let slow = CommitBatch {
            thread: row.clone(),
            events: vec![event(4)],
            projections: vec![turn("turn", 0)],
        };
        store.commit(&slow).await.unwrap();
        assert_eq!(store.thread("t").await.unwrap(), Some(row));
        let seqs: Vec<u64> = store
            .events_after("t", 0, 100)
            .await
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(seqs, [1, 2, 3, 4]);

        // A failing batch (a seq already stored) changes nothing and leaves the connection
        // usable: its transaction was rolled back.
        let mut broken = fast_row.unwrap();
        broken.last_seq = 9;
        let dup = CommitBatch {
            thread: broken,
            events: vec![event(4)],
            projections: Vec::new(),
        };
        assert!(store.commit(&dup).await.is_err());
        assert_eq!(store.thread("t").await.unwrap().unwrap().last_seq, 4);
        let next = CommitBatch {
            thread: ThreadRow {
                last_seq: 5,
                ..store.thread("t").await.unwrap().unwrap()
            },
            events: vec![event(5)],
            projections: Vec::new(),
        };
        store.commit(&next).await.unwrap();
        assert_eq!(store.events_after("t", 0, 100).await.unwrap().len(), 5);
    }

    /// Checkpoints everything, so that the next commit starts the WAL over; then the frame
    /// count after that commit is what it wrote.
    async fn wal_frames_of(store: &SqliteStore, batch: &CommitBatch, write: RowWrite) -> i64 {
        let copy = "PRAGMA wal_checkpoint(PASSIVE)";
        let mut conn = store.writer.sqlx().await.unwrap();
        sqlx::query(copy).execute(&mut *conn).await.unwrap();
        drop(conn);
        store.commit_with(batch, write).await.unwrap();
        let mut conn = store.writer.sqlx().await.unwrap();
        let row = sqlx::query(copy).fetch_one(&mut *conn).await.unwrap();
        sqlx::Row::get::<i64, _>(&row, 1)
    }

    /// `RowWrite::Progress` sets `updated_at` and `last_seq` only, on both commit paths; it
    /// refuses a thread that is not stored; and it writes fewer WAL pages than the upsert
    /// (which rewrites the `cwd` and `archived` index entries).
    #[tokio::test]
    async fn progress_commits_set_only_progress_and_write_fewer_pages() {
        let dir = tempfile::tempdir().unwrap();
        // No background checkpoints: this test counts the WAL's frames itself.
        let quiet = CheckpointPolicy {
            interval: std::time::Duration::from_secs(3600),
            commits_per_wake: u64::MAX,
            ..CheckpointPolicy::default()
        };
        let store = SqliteStore::open_with(&dir.path().join("agentd.db"), quiet)
            .await
            .unwrap();
        let mut row = ThreadRow {
            id: "t".into(),
            session_id: "s".into(),
            forked_from_id: None,
            name: Some("n".into()),
            preview: "p".into(),
            cwd: "/c".into(),
            model: "m".into(),
            model_provider: "mp".into(),
            settings: json!({"k": 1}),
            ephemeral: false,
            archived: false,
            created_at: 1,
            updated_at: 1,
            last_seq: 1,
            source: "\"appServer\"".into(),
            source_kind: "appServer".into(),
            parent_id: None,
        };
        // Not stored yet: a progress update is refused on both paths, and nothing is written.
        let orphan = CommitBatch {
            thread: row.clone(),
            events: vec![event(1)],
            projections: Vec::new(),
        };
        assert!(store
            .commit_with(&orphan, RowWrite::Progress)
            .await
            .is_err());
        let orphan = CommitBatch {
            projections: vec![turn("turn0", 0)],
            ..orphan
        };
        assert!(store
            .commit_with(&orphan, RowWrite::Progress)
            .await
            .is_err());
        assert_eq!(store.thread("t").await.unwrap(), None);

        let first = CommitBatch {
            thread: row.clone(),
            events: vec![event(1)],
            projections: Vec::new(),
        };
        store.commit_with(&first, RowWrite::Upsert).await.unwrap();
        let mut upsert_frames = Vec::new();
        let mut progress_frames = Vec::new();
        for seq in 2..=9u64 {
            row.updated_at = seq as i64;
            row.last_seq = seq;
            let batch = CommitBatch {
                thread: row.clone(),
                events: vec![event_at(seq, seq as i64)],
                projections: Vec::new(),
            };
            if seq % 2 == 0 {
                upsert_frames.push(wal_frames_of(&store, &batch, RowWrite::Upsert).await);
            } else {
                progress_frames.push(wal_frames_of(&store, &batch, RowWrite::Progress).await);
            }
        }
        assert_eq!(store.thread("t").await.unwrap(), Some(row.clone()));
        let upsert: i64 = upsert_frames.iter().sum();
        let progress: i64 = progress_frames.iter().sum();
        assert!(
            progress < upsert,
            "progress commits wrote {progress_frames:?} pages, upserts {upsert_frames:?}"
        );

        // The `Transaction` path: a stale row in the batch changes nothing but the progress.
        let stale = ThreadRow {
            name: Some("ignored".into()),
            cwd: "/ignored".into(),
            updated_at: 10,
            last_seq: 10,
            ..row.clone()
        };
        let batch = CommitBatch {
            thread: stale,
            events: vec![event(10)],
            projections: vec![turn("turn0", 0)],
        };
        store.commit_with(&batch, RowWrite::Progress).await.unwrap();
        row.updated_at = 10;
        row.last_seq = 10;
        assert_eq!(store.thread("t").await.unwrap(), Some(row));
        assert_eq!(store.events_after("t", 0, 100).await.unwrap().len(), 10);
    }

    #[test]
    fn only_progress_differs_ignores_exactly_updated_at_and_last_seq() {
        let row = thread_row("t", 1);
        let advanced = ThreadRow {
            updated_at: 2,
            last_seq: 5,
            ..row.clone()
        };
        assert!(advanced.only_progress_differs(&row));
        let renamed = ThreadRow {
            name: Some("n".into()),
            ..advanced.clone()
        };
        assert!(!renamed.only_progress_differs(&row));
        let archived = ThreadRow {
            archived: true,
            ..advanced.clone()
        };
        assert!(!archived.only_progress_differs(&row));
        let moved = ThreadRow {
            cwd: "/d".into(),
            ..advanced
        };
        assert!(!moved.only_progress_differs(&row));
    }
}
