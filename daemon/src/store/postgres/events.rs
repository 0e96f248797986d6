//! The per-thread event log on PostgreSQL: fenced, atomic batch commits and ordered reads.
//!
//! Every commit first takes a share lock on the thread's lease row and checks that this daemon
//! still holds it at the epoch it acquired. A daemon taking the lease over must update that row,
//! which waits for commits in flight and makes every later one of the old holder fail
//! ([`StoreError::Fenced`]): the old holder can never write after the new one started. The
//! commit also sends `NOTIFY`, delivered to the other daemons only once it is committed.

use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::rows::{CommitBatch, NewEvent, Projection, RowWrite, StoredEvent};
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
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT seq, kind, payload FROM events WHERE thread_id = $1 AND seq > $2 \
             ORDER BY seq LIMIT $3",
        )
        .bind(thread_id)
        .bind(after_seq.min(i64::MAX as u64) as i64)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await
        .ctx("reading events")?;
        Ok(rows
            .into_iter()
            .map(|(seq, kind, payload)| StoredEvent {
                seq: seq.max(0) as u64,
                kind,
                payload,
            })
            .collect())
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
