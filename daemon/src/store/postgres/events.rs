//! The per-thread event log on PostgreSQL: fenced, atomic batch commits and ordered reads.
//!
//! Every commit first takes a share lock on the thread's lease row and checks that this daemon
//! still holds it at the epoch it acquired. A daemon taking the lease over must update that row,
//! which waits for commits in flight and makes every later one of the old holder fail
//! ([`StoreError::Fenced`]): the old holder can never write after the new one started. The
//! commit also sends `NOTIFY`, delivered to the other daemons only once it is committed.

use futures_util::TryStreamExt;
use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::rows::{fill_page, CommitBatch, NewEvent, Projection, RowWrite, StoredEvent};
use super::rows::{MAX_STORED_EVENT_BYTES, PAGE_BYTES};
use super::{PgStore, SqlContext, StoreError};

/// Rows per multi-row INSERT (5 parameters each, far below PostgreSQL's 65,535).
const EVENTS_PER_STATEMENT: usize = 1000;

impl PgStore {
    /// Commits one batch atomically under the lease taken at `epoch` (an actor's own; `None`:
    /// the lease this daemon holds now). See the module comment for the fencing.
    pub async fn commit_with(
        &self,
        batch: &CommitBatch,
        row: RowWrite,
        epoch: Option<i64>,
    ) -> Result<(), StoreError> {
        let thread_id = &batch.thread.id;
        let epoch = epoch
            .or_else(|| self.epoch_of(thread_id))
            .ok_or_else(|| StoreError::Fenced(thread_id.clone()))?;
        if row == RowWrite::Progress
            && batch.projections.is_empty()
            && !batch.events.is_empty()
            && batch.events.len() <= EVENTS_PER_STATEMENT
        {
            return self.commit_progress(batch, epoch).await;
        }
        let mut tx = self.pool.begin().await.ctx("beginning a commit")?;
        self.check_fence(&mut tx, thread_id, epoch).await?;
        match row {
            RowWrite::Upsert => super::threads::upsert_thread(&mut tx, &batch.thread).await?,
            RowWrite::Progress => super::threads::advance_thread(&mut tx, &batch.thread).await?,
        }
        for chunk in batch.events.chunks(EVENTS_PER_STATEMENT) {
            insert_events(&mut tx, thread_id, chunk).await?;
        }
        for p in &batch.projections {
            apply_projection(&mut tx, p).await?;
        }
        if !batch.events.is_empty() {
            super::notify::notify_events(&mut tx, thread_id, batch.thread.last_seq).await?;
        }
        tx.commit().await.ctx("committing events")?;
        Ok(())
    }

    /// The common batch — streamed deltas: events, and the stored thread row's progress — as
    /// one statement, so one round trip instead of six (BEGIN, fence, update, insert, notify,
    /// COMMIT). A statement is its own transaction: the fence's share lock, the update, the
    /// insert and the `NOTIFY` commit together, and nothing is written unless the fence holds.
    async fn commit_progress(&self, batch: &CommitBatch, epoch: i64) -> Result<(), StoreError> {
        let t = &batch.thread;
        let seqs: Vec<i64> = batch.events.iter().map(|e| e.seq as i64).collect();
        let kinds: Vec<&str> = batch.events.iter().map(|e| e.kind.as_str()).collect();
        let payloads: Vec<&str> = batch.events.iter().map(|e| e.payload.as_str()).collect();
        let times: Vec<i64> = batch.events.iter().map(|e| e.created_at).collect();
        let (fenced_in, progressed, _woken): (i64, i64, i64) = sqlx::query_as(
            "WITH fence AS (SELECT 1 FROM thread_leases \
                 WHERE thread_id = $1 AND owner = $2 AND epoch = $3 FOR SHARE), \
             progress AS (UPDATE threads SET updated_at = $4, last_seq = $5 \
                 WHERE id = $1 AND EXISTS (SELECT 1 FROM fence) RETURNING 1), \
             appended AS (INSERT INTO events (thread_id, seq, kind, payload, created_at) \
                 SELECT $1, e.seq, e.kind, e.payload, e.at \
                 FROM unnest($6::BIGINT[], $7::TEXT[], $8::TEXT[], $9::BIGINT[]) \
                   AS e(seq, kind, payload, at) \
                 WHERE EXISTS (SELECT 1 FROM progress) RETURNING 1), \
             woken AS (SELECT pg_notify($10, $11) FROM progress) \
             SELECT (SELECT count(*) FROM fence), (SELECT count(*) FROM progress), \
                    (SELECT count(*) FROM woken)",
        )
        .bind(&t.id)
        .bind(&self.node.id)
        .bind(epoch)
        .bind(t.updated_at)
        .bind(t.last_seq as i64)
        .bind(&seqs)
        .bind(&kinds)
        .bind(&payloads)
        .bind(&times)
        .bind(super::notify::CHANNEL)
        .bind(format!("e {} {}", t.id, t.last_seq))
        .fetch_one(&self.pool)
        .await
        .ctx("appending events")?;
        if fenced_in == 0 {
            self.forget_epoch_fenced(&t.id, epoch);
            return Err(StoreError::Fenced(t.id.clone()));
        }
        if progressed != 1 {
            return Err(StoreError::Decode {
                context: "saving a thread's progress",
                detail: format!("thread {} is not stored", t.id),
            });
        }
        Ok(())
    }

    /// Holds the lease row (shared) for the rest of the transaction, or refuses the write.
    async fn check_fence(
        &self,
        conn: &mut PgConnection,
        thread_id: &str,
        epoch: i64,
    ) -> Result<(), StoreError> {
        let held: Option<i64> = sqlx::query_scalar(
            "SELECT epoch FROM thread_leases WHERE thread_id = $1 AND owner = $2 FOR SHARE",
        )
        .bind(thread_id)
        .bind(&self.node.id)
        .fetch_optional(conn)
        .await
        .ctx("checking the thread's lease")?;
        if held == Some(epoch) {
            return Ok(());
        }
        self.forget_epoch_fenced(thread_id, epoch);
        Err(StoreError::Fenced(thread_id.to_owned()))
    }

    /// Events with `seq > after_seq`, oldest first, at most `limit` of them.
    pub async fn events_after(
        &self,
        thread_id: &str,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        // A payload too large is not read at all (`StoredEvent::payload`), and the page ends
        // in the query where `fill_page` would end it: the server sends no row past it (a
        // stream dropped early would still have to be read to its end). `octet_length` of a
        // stored value reads its size, not the value.
        let mut rows = sqlx::query_as::<_, (i64, String, String)>(
            "SELECT seq, kind, CASE WHEN size <= $4 THEN payload ELSE '' END FROM ( \
               SELECT seq, kind, payload, size, \
                 sum(CASE WHEN size <= $4 THEN size ELSE 0 END) \
                   OVER (ORDER BY seq ROWS UNBOUNDED PRECEDING) - \
                 CASE WHEN size <= $4 THEN size ELSE 0 END AS before \
               FROM (SELECT seq, kind, payload, octet_length(payload) AS size FROM events \
                     WHERE thread_id = $1 AND seq > $2 ORDER BY seq LIMIT $3) newest \
             ) page WHERE before < $5 ORDER BY seq",
        )
        .bind(thread_id)
        .bind(after_seq.min(i64::MAX as u64) as i64)
        .bind(limit as i64)
        .bind(MAX_STORED_EVENT_BYTES)
        .bind(PAGE_BYTES as i64)
        .fetch(&self.pool);
        let mut page = Vec::new();
        let mut bytes = 0;
        while let Some((seq, kind, payload)) = rows.try_next().await.ctx("reading events")? {
            let event = StoredEvent {
                seq: seq.max(0) as u64,
                kind,
                payload,
            };
            if !fill_page(&mut page, &mut bytes, event) {
                break;
            }
        }
        Ok(page)
    }
}

async fn insert_events(
    conn: &mut PgConnection,
    thread_id: &str,
    events: &[NewEvent],
) -> Result<(), StoreError> {
    let mut q: QueryBuilder<Postgres> =
        QueryBuilder::new("INSERT INTO events (thread_id, seq, kind, payload, created_at) ");
    q.push_values(events, |mut b, e| {
        b.push_bind(thread_id)
            .push_bind(e.seq as i64)
            .push_bind(&e.kind)
            .push_bind(&e.payload)
            .push_bind(e.created_at);
    });
    q.build().execute(conn).await.ctx("appending events")?;
    Ok(())
}

async fn apply_projection(conn: &mut PgConnection, p: &Projection) -> Result<(), StoreError> {
    match p {
        Projection::Turn(t) => super::threads::upsert_turn(conn, t).await,
        Projection::Item(i) => {
            super::threads::upsert_item(conn, i).await?;
            super::search::index_item(conn, i).await
        }
        Projection::History(h) => super::threads::insert_history(conn, h, None).await,
        Projection::CopiedHistory { row, compacted_by } => {
            super::threads::insert_history(conn, row, compacted_by.as_deref()).await
        }
        Projection::RollBack {
            thread_id,
            turn_ids,
        } => super::history::roll_back(conn, thread_id, turn_ids).await,
        Projection::CompactHistory { thread_id, turn_id } => {
            super::history::compact(conn, thread_id, turn_id).await
        }
        Projection::ContextTokens { turn_id, tokens } => {
            super::history::set_context_tokens(conn, turn_id, *tokens).await
        }
    }
}
