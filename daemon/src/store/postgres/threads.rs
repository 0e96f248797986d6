//! Thread, turn and item projections on PostgreSQL: upserts inside a commit, and the reads
//! behind `thread/list`, `thread/read` and actor loading (the SQLite twin is
//! `sqlite/threads.rs`).

use sqlx::{PgConnection, Postgres, QueryBuilder, Row};

use super::rows::{HistoryRow, ItemRow, ThreadListQuery, ThreadRow, TurnRow};
use super::{PgStore, SqlContext, StoreError};
use crate::store::decode::{
    item_from_row, json_column, listed_thread_from_row, thread_from_row, turn_from_row,
};

const THREAD_COLUMNS: &str = "id, session_id, forked_from_id, name, preview, cwd, model, \
     model_provider, settings, ephemeral, archived, created_at, updated_at, last_seq, source, \
     source_kind, parent_id";

pub(super) async fn upsert_thread(
    conn: &mut PgConnection,
    t: &ThreadRow,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO threads (id, session_id, forked_from_id, name, preview, cwd, model, \
         model_provider, settings, ephemeral, archived, created_at, updated_at, last_seq, \
         source, source_kind, parent_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, preview = excluded.preview, \
         cwd = excluded.cwd, model = excluded.model, model_provider = excluded.model_provider, \
         settings = excluded.settings, archived = excluded.archived, \
         updated_at = excluded.updated_at, last_seq = excluded.last_seq",
    )
    .bind(&t.id)
    .bind(&t.session_id)
    .bind(&t.forked_from_id)
    .bind(&t.name)
    .bind(&t.preview)
    .bind(&t.cwd)
    .bind(&t.model)
    .bind(&t.model_provider)
    .bind(t.settings.to_string())
    .bind(t.ephemeral)
    .bind(t.archived)
    .bind(t.created_at)
    .bind(t.updated_at)
    .bind(t.last_seq as i64)
    .bind(&t.source)
    .bind(&t.source_kind)
    .bind(&t.parent_id)
    .execute(conn)
    .await
    .ctx("saving a thread")?;
    Ok(())
}

/// The thread row's part of a batch that only advanced it (see [`super::rows::RowWrite`]).
pub(super) async fn advance_thread(
    conn: &mut PgConnection,
    t: &ThreadRow,
) -> Result<(), StoreError> {
    let done = sqlx::query("UPDATE threads SET updated_at = $1, last_seq = $2 WHERE id = $3")
        .bind(t.updated_at)
        .bind(t.last_seq as i64)
        .bind(&t.id)
        .execute(conn)
        .await
        .ctx("saving a thread's progress")?;
    if done.rows_affected() != 1 {
        return Err(StoreError::Decode {
            context: "saving a thread's progress",
            detail: format!("thread {} is not stored", t.id),
        });
    }
    Ok(())
}

pub(super) async fn upsert_turn(conn: &mut PgConnection, t: &TurnRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO turns (id, thread_id, position, status, error, started_at, completed_at, \
         duration_ms, usage, client_request_id, rolled_back) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, error = excluded.error, \
         completed_at = excluded.completed_at, duration_ms = excluded.duration_ms, \
         usage = excluded.usage, rolled_back = excluded.rolled_back",
    )
    .bind(&t.id)
    .bind(&t.thread_id)
    .bind(t.position)
    .bind(t.status.as_str())
    .bind(t.error.as_ref().map(|v| v.to_string()))
    .bind(t.started_at)
    .bind(t.completed_at)
    .bind(t.duration_ms)
    .bind(t.usage.as_ref().map(|v| v.to_string()))
    .bind(&t.client_request_id)
    .bind(t.rolled_back)
    .execute(conn)
    .await
    .ctx("saving a turn")?;
    Ok(())
}

pub(super) async fn upsert_item(conn: &mut PgConnection, i: &ItemRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO items (id, thread_id, turn_id, position, kind, payload) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, payload = excluded.payload",
    )
    .bind(&i.id)
    .bind(&i.thread_id)
    .bind(&i.turn_id)
    .bind(i.position)
    .bind(&i.kind)
    .bind(i.payload.to_string())
    .execute(conn)
    .await
    .ctx("saving an item")?;
    Ok(())
}

pub(super) async fn insert_history(
    conn: &mut PgConnection,
    h: &HistoryRow,
    compacted_by: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO history (thread_id, turn_id, payload, compacted_by) VALUES ($1, $2, $3, $4)",
    )
    .bind(&h.thread_id)
    .bind(&h.turn_id)
    .bind(h.payload.to_string())
    .bind(compacted_by)
    .execute(conn)
    .await
    .ctx("saving history")?;
    Ok(())
}

const TURN_COLUMNS: &str = "t.id, t.thread_id, t.position, t.status, t.error, t.started_at, \
     t.completed_at, t.duration_ms, t.usage, t.client_request_id, t.rolled_back";

impl PgStore {
    pub async fn thread(&self, id: &str) -> Result<Option<ThreadRow>, StoreError> {
        let sql = format!("SELECT {THREAD_COLUMNS} FROM threads WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .ctx("reading a thread")?;
        row.as_ref().map(thread_from_row).transpose()
    }

    /// One page of threads, newest first, keyset-paged on the UUIDv7 id (as on SQLite).
    pub async fn list_threads(&self, q: &ThreadListQuery) -> Result<Vec<ThreadRow>, StoreError> {
        let mut b: QueryBuilder<Postgres> = QueryBuilder::new(format!(
            "SELECT {THREAD_COLUMNS} FROM threads WHERE archived = "
        ));
        b.push_bind(q.archived);
        if let Some(cwd) = &q.cwd {
            b.push(" AND cwd = ").push_bind(cwd);
        }
        if let Some(term) = q.search_term.as_deref().filter(|t| !t.is_empty()) {
            // SQLite's LIKE folds ASCII case only; `lower` under the "C" collation does the same.
            let pattern = format!("%{}%", escape_like(&term.to_ascii_lowercase()));
            b.push(" AND (lower(coalesce(name, '') COLLATE \"C\") LIKE ")
                .push_bind(pattern.clone())
                .push(" ESCAPE '\\' OR lower(preview COLLATE \"C\") LIKE ")
                .push_bind(pattern)
                .push(" ESCAPE '\\')");
        }
        if !q.source_kinds.is_empty() {
            b.push(" AND source_kind = ANY(")
                .push_bind(q.source_kinds.clone())
                .push(")");
        }
        if let Some(parent) = &q.parent_id {
            b.push(" AND parent_id = ").push_bind(parent);
        }
        if q.without_ephemeral {
            b.push(" AND NOT ephemeral");
        }
        if let Some(after) = &q.after_id {
            b.push(" AND id < ").push_bind(after);
        }
        b.push(" ORDER BY id DESC LIMIT ").push_bind(q.limit as i64);
        let rows = b
            .build()
            .fetch_all(&self.pool)
            .await
            .ctx("listing threads")?;
        rows.iter().map(listed_thread_from_row).collect()
    }

    pub async fn turns(&self, thread_id: &str) -> Result<Vec<TurnRow>, StoreError> {
        let sql = format!(
            "SELECT {TURN_COLUMNS} FROM turns t WHERE t.thread_id = $1 ORDER BY t.position"
        );
        let rows = sqlx::query(&sql)
            .bind(thread_id)
            .fetch_all(&self.pool)
            .await
            .ctx("reading turns")?;
        rows.iter().map(turn_from_row).collect()
    }

    /// The visible turns, each with its items' stored payloads as one JSON array.
    pub async fn turns_with_items_json(
        &self,
        thread_id: &str,
    ) -> Result<Vec<(TurnRow, String)>, StoreError> {
        let sql = format!(
            "SELECT {TURN_COLUMNS}, (SELECT '[' || string_agg(i.payload, ',' ORDER BY i.position) \
             || ']' FROM items i WHERE i.turn_id = t.id) AS items_json \
             FROM turns t WHERE t.thread_id = $1 AND NOT t.rolled_back ORDER BY t.position"
        );
        let rows = sqlx::query(&sql)
            .bind(thread_id)
            .fetch_all(&self.pool)
            .await
            .ctx("reading turns")?;
        rows.iter()
            .map(|r| {
                let items: Option<String> = r.try_get("items_json").ctx("decoding items")?;
                Ok((turn_from_row(r)?, items.unwrap_or_else(|| "[]".to_owned())))
            })
            .collect()
    }

    pub async fn items(&self, thread_id: &str) -> Result<Vec<ItemRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, thread_id, turn_id, position, kind, payload FROM items \
             WHERE thread_id = $1 ORDER BY turn_id, position",
        )
        .bind(thread_id)
        .fetch_all(&self.pool)
        .await
        .ctx("reading items")?;
        rows.iter().map(item_from_row).collect()
    }

    /// The model-facing conversation (see `sqlite/threads.rs`).
    pub async fn history(&self, thread_id: &str) -> Result<Vec<serde_json::Value>, StoreError> {
        let rows = sqlx::query(
            "SELECT h.payload FROM history h JOIN turns t ON t.id = h.turn_id \
             LEFT JOIN turns c ON c.id = h.compacted_by \
             WHERE h.thread_id = $1 AND NOT t.rolled_back \
             AND (c.id IS NULL OR c.rolled_back) ORDER BY h.id",
        )
        .bind(thread_id)
        .fetch_all(&self.pool)
        .await
        .ctx("reading history")?;
        rows.iter()
            .map(|r| json_column(r, "payload", "decoding history"))
            .collect()
    }

    /// Ephemeral threads no live daemon holds: left by a daemon that stopped. (One whose lease
    /// is live belongs to a running daemon's client.)
    pub async fn ephemeral_thread_ids(&self) -> Result<Vec<String>, StoreError> {
        let now = self.db_now_ms().await?;
        sqlx::query_scalar(
            "SELECT id FROM threads WHERE ephemeral AND NOT EXISTS \
             (SELECT 1 FROM thread_leases l WHERE l.thread_id = threads.id AND l.expires_at > $1)",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .ctx("finding ephemeral threads")
    }

    /// Whether a turn of the thread is marked running (one index seek; a follower asks this
    /// of a thread with any number of turns).
    pub async fn has_running_turn(&self, thread_id: &str) -> Result<bool, StoreError> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM turns WHERE thread_id = $1 AND status = 'inProgress')",
        )
        .bind(thread_id)
        .fetch_one(&self.pool)
        .await
        .ctx("finding a running turn")
    }

    /// Threads with a turn marked running whose lease no live daemon holds: cut off by a crash.
    pub async fn threads_with_running_turns(&self) -> Result<Vec<String>, StoreError> {
        let now = self.db_now_ms().await?;
        sqlx::query_scalar(
            "SELECT DISTINCT t.thread_id FROM turns t WHERE t.status = 'inProgress' \
             AND NOT EXISTS (SELECT 1 FROM thread_leases l \
                             WHERE l.thread_id = t.thread_id AND l.expires_at > $1)",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .ctx("finding running turns")
    }

    /// Deletes a thread and everything stored about it (one transaction; the search index and
    /// projections go with the thread's row through their foreign keys). Its lease row goes
    /// too: nobody will hold the thread again.
    pub async fn delete_thread(&self, thread_id: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.ctx("beginning a delete")?;
        for table in [
            "memories",
            "memory_jobs",
            "pending_approvals",
            "thread_leases",
        ] {
            sqlx::query(&format!("DELETE FROM {table} WHERE thread_id = $1"))
                .bind(thread_id)
                .execute(&mut *tx)
                .await
                .ctx("deleting a thread's rows")?;
        }
        let gone = sqlx::query("DELETE FROM threads WHERE id = $1")
            .bind(thread_id)
            .execute(&mut *tx)
            .await
            .ctx("deleting a thread")?
            .rows_affected();
        tx.commit().await.ctx("committing a delete")?;
        Ok(gone > 0)
    }
}

fn escape_like(term: &str) -> String {
    term.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
