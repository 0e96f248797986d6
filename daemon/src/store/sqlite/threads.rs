//! Thread, turn and item projections: upserts inside a commit, and the reads behind
//! `thread/list`, `thread/read` and actor loading.

use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::rows::{HistoryRow, ItemRow, ThreadListQuery, ThreadRow, TurnRow};
use super::{SqlContext, SqliteStore, StoreError};
use crate::store::decode::{
    item_from_row, json_column, listed_thread_from_row, thread_from_row, turn_from_row,
};

/// A thread row's columns as read. A commit of events alone does not rewrite the row
/// (`writer.rs`), so its progress is the newer of the row's and the newest event's: one
/// primary-key seek each.
pub(super) const THREAD_COLUMNS: &str =
    "id, session_id, forked_from_id, name, preview, cwd, model, \
     model_provider, settings, ephemeral, archived, created_at, \
     max(updated_at, coalesce((SELECT e.created_at FROM events e WHERE e.thread_id = threads.id \
       ORDER BY e.seq DESC LIMIT 1), 0)) AS updated_at, \
     max(last_seq, coalesce((SELECT max(e.seq) FROM events e WHERE e.thread_id = threads.id), \
       0)) AS last_seq, \
     source, source_kind, parent_id";

/// Inserts a thread row or overwrites what may change (both writers run it: `writer.rs`).
pub(super) const UPSERT_THREAD: &str =
    "INSERT INTO threads (id, session_id, forked_from_id, name, preview, cwd, model, \
     model_provider, settings, ephemeral, archived, created_at, updated_at, last_seq, source, \
     source_kind, parent_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, \
     ?14, ?15, ?16, ?17) \
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, preview = excluded.preview, \
     cwd = excluded.cwd, model = excluded.model, model_provider = excluded.model_provider, \
     settings = excluded.settings, archived = excluded.archived, \
     updated_at = excluded.updated_at, last_seq = excluded.last_seq";

/// Advances a stored thread's progress: `updated_at`, `last_seq` (its id third).
pub(super) const ADVANCE_THREAD: &str =
    "UPDATE threads SET updated_at = ?1, last_seq = ?2 WHERE id = ?3";

pub(super) async fn upsert_thread(
    conn: &mut SqliteConnection,
    t: &ThreadRow,
) -> Result<(), StoreError> {
    sqlx::query(UPSERT_THREAD)
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

/// The thread row's part of a batch that only advanced it (see [`super::RowWrite::Progress`]).
/// Touches no indexed column, so no index entry is rewritten.
pub(super) async fn advance_thread(
    conn: &mut SqliteConnection,
    t: &ThreadRow,
) -> Result<(), StoreError> {
    let done = sqlx::query(ADVANCE_THREAD)
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

pub(super) async fn upsert_turn(
    conn: &mut SqliteConnection,
    t: &TurnRow,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO turns (id, thread_id, position, status, error, started_at, completed_at, \
         duration_ms, usage, client_request_id, rolled_back) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
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

pub(super) async fn upsert_item(
    conn: &mut SqliteConnection,
    i: &ItemRow,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO items (id, thread_id, turn_id, position, kind, payload) VALUES (?, ?, ?, ?, ?, ?) \
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
    conn: &mut SqliteConnection,
    h: &HistoryRow,
    compacted_by: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO history (thread_id, turn_id, payload, compacted_by) VALUES (?, ?, ?, ?)",
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

impl SqliteStore {
    pub async fn thread(&self, id: &str) -> Result<Option<ThreadRow>, StoreError> {
        let sql = format!("SELECT {THREAD_COLUMNS} FROM threads WHERE id = ?");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.reader)
            .await
            .ctx("reading a thread")?;
        row.as_ref().map(thread_from_row).transpose()
    }

    /// One page of threads, newest first. Thread ids are UUIDv7, so ordering by id is ordering by
    /// creation time, and the last id of a page is a stable keyset cursor (no OFFSET scans, no
    /// duplicates when threads are added between pages).
    pub async fn list_threads(&self, q: &ThreadListQuery) -> Result<Vec<ThreadRow>, StoreError> {
        let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(format!(
            "SELECT {THREAD_COLUMNS} FROM threads WHERE archived = "
        ));
        b.push_bind(q.archived);
        if let Some(cwd) = &q.cwd {
            b.push(" AND cwd = ").push_bind(cwd);
        }
        if let Some(term) = q.search_term.as_deref().filter(|t| !t.is_empty()) {
            let pattern = format!("%{}%", escape_like(term));
            b.push(" AND (name LIKE ")
                .push_bind(pattern.clone())
                .push(" ESCAPE '\\' OR preview LIKE ")
                .push_bind(pattern)
                .push(" ESCAPE '\\')");
        }
        if !q.source_kinds.is_empty() {
            b.push(" AND source_kind IN (");
            let mut kinds = b.separated(", ");
            for kind in &q.source_kinds {
                kinds.push_bind(kind);
            }
            b.push(")");
        }
        if let Some(parent) = &q.parent_id {
            b.push(" AND parent_id = ").push_bind(parent);
        }
        if q.without_ephemeral {
            b.push(" AND ephemeral = 0");
        }
        if let Some(after) = &q.after_id {
            b.push(" AND id < ").push_bind(after);
        }
        b.push(" ORDER BY id DESC LIMIT ").push_bind(q.limit as i64);
        let rows = b
            .build()
            .fetch_all(&self.reader)
            .await
            .ctx("listing threads")?;
        rows.iter().map(listed_thread_from_row).collect()
    }

    /// The thread's turns in order, without rolled-back ones unless asked.
    pub async fn turns(&self, thread_id: &str) -> Result<Vec<TurnRow>, StoreError> {
        let rows = sqlx::query("SELECT * FROM turns WHERE thread_id = ? ORDER BY position")
            .bind(thread_id)
            .fetch_all(&self.reader)
            .await
            .ctx("reading turns")?;
        rows.iter().map(turn_from_row).collect()
    }

    /// The thread's visible turns in order, each with its items as one JSON array of their
    /// stored payloads (in position order). One row per turn and no JSON parsing of items here:
    /// `thread/read` and `thread/resume` send exactly what was stored.
    pub async fn turns_with_items_json(
        &self,
        thread_id: &str,
    ) -> Result<Vec<(TurnRow, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.*, (SELECT '[' || group_concat(i.payload, ',' ORDER BY i.position) || ']' \
             FROM items i WHERE i.turn_id = t.id) AS items_json \
             FROM turns t WHERE t.thread_id = ? AND t.rolled_back = 0 ORDER BY t.position",
        )
        .bind(thread_id)
        .fetch_all(&self.reader)
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
        let rows =
            sqlx::query("SELECT * FROM items WHERE thread_id = ? ORDER BY turn_id, position")
                .bind(thread_id)
                .fetch_all(&self.reader)
                .await
                .ctx("reading items")?;
        rows.iter().map(item_from_row).collect()
    }
}

impl SqliteStore {
    /// The model-facing conversation of a thread, oldest first, without rolled-back turns and
    /// without rows a compaction replaced (unless that compaction's turn was rolled back).
    pub async fn history(&self, thread_id: &str) -> Result<Vec<serde_json::Value>, StoreError> {
        let rows = sqlx::query(
            "SELECT h.payload FROM history h JOIN turns t ON t.id = h.turn_id \
             LEFT JOIN turns c ON c.id = h.compacted_by \
             WHERE h.thread_id = ? AND t.rolled_back = 0 \
             AND (c.id IS NULL OR c.rolled_back = 1) ORDER BY h.id",
        )
        .bind(thread_id)
        .fetch_all(&self.reader)
        .await
        .ctx("reading history")?;
        rows.iter()
            .map(|r| json_column(r, "payload", "decoding history"))
            .collect()
    }

    /// Ephemeral threads in the store: at start-up, left by an earlier run (they are not kept
    /// after the daemon stops).
    pub async fn ephemeral_thread_ids(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT id FROM threads WHERE ephemeral = 1")
            .fetch_all(&self.reader)
            .await
            .ctx("finding ephemeral threads")?;
        rows.iter()
            .map(|r| r.try_get::<String, _>(0).ctx("decoding a thread id"))
            .collect()
    }

    /// Threads with a turn still marked in progress (after a crash or kill).
    pub async fn threads_with_running_turns(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT DISTINCT thread_id FROM turns WHERE status = 'inProgress'")
            .fetch_all(&self.reader)
            .await
            .ctx("finding running turns")?;
        rows.iter()
            .map(|r| r.try_get::<String, _>(0).ctx("decoding a thread id"))
            .collect()
    }
}

fn escape_like(term: &str) -> String {
    term.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

impl SqliteStore {
    /// Deletes a thread and everything stored about it: its turns, items, events, history and
    /// search index rows (one transaction). `false` when there was no such thread.
    pub async fn delete_thread(&self, thread_id: &str) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin("beginning a delete").await?;
        sqlx::query(
            "INSERT INTO item_fts (item_fts, rowid, text) \
             SELECT 'delete', rowid, text FROM item_search WHERE thread_id = ?",
        )
        .bind(thread_id)
        .execute(&mut *tx)
        .await
        .ctx("updating the search index")?;
        for table in [
            "item_search",
            "history",
            "items",
            "events",
            "turns",
            "memories",
            "memory_jobs",
        ] {
            sqlx::query(&format!("DELETE FROM {table} WHERE thread_id = ?"))
                .bind(thread_id)
                .execute(&mut *tx)
                .await
                .ctx("deleting a thread's rows")?;
        }
        let gone = sqlx::query("DELETE FROM threads WHERE id = ?")
            .bind(thread_id)
            .execute(&mut *tx)
            .await
            .ctx("deleting a thread")?
            .rows_affected();
        tx.commit().await.ctx("committing a delete")?;
        Ok(gone > 0)
    }
}
