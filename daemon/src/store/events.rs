//! The per-thread event log: group-committed appends and ordered reads for replay.

use sqlx::{QueryBuilder, Row, Sqlite};

use super::rows::{CommitBatch, Projection};
use super::{SqlContext, Store, StoreError};

/// Rows per multi-row INSERT: one statement per 200 events instead of one per event keeps the
/// per-event cost near SQLite's own (5 binds × 200 stays far below the variable limit).
const EVENTS_PER_STATEMENT: usize = 200;

/// An event read back from the log.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub seq: u64,
    pub kind: String,
    pub payload: String,
}

impl Store {
    /// Commits one actor batch atomically: events, projections, then the thread row.
    pub async fn commit(&self, batch: &CommitBatch) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await.ctx("beginning a commit")?;
        super::threads::upsert_thread(&mut tx, &batch.thread).await?;
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
                Projection::Item(i) => super::threads::upsert_item(&mut tx, i).await?,
                Projection::History(h) => super::threads::insert_history(&mut tx, h).await?,
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
        let rows = sqlx::query(
            "SELECT seq, kind, payload FROM events WHERE thread_id = ? AND seq > ? \
             ORDER BY seq LIMIT ?",
        )
        .bind(thread_id)
        .bind(after_seq as i64)
        .bind(limit as i64)
        .fetch_all(&self.reader)
        .await
        .ctx("reading events")?;
        rows.into_iter()
            .map(|r| {
                Ok(StoredEvent {
                    seq: r.try_get::<i64, _>(0).ctx("decoding event seq")? as u64,
                    kind: r.try_get(1).ctx("decoding event kind")?,
                    payload: r.try_get(2).ctx("decoding event payload")?,
                })
            })
            .collect()
    }
}
