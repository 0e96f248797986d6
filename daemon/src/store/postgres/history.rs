//! History operations in SQL: rolling turns back, compacting the model-facing history, the
//! context size each turn ended with, and the reads behind fork and rollback (the same
//! operations as `sqlite/history.rs`).
//!
//! Nothing here deletes: a rolled-back turn is flagged, a compacted history row names the turn
//! that compacted it. The flags are what `PgStore::history` and the turn list filter on, so an
//! audit (or rolling back the compaction itself) still finds every row. Turn id lists go as one
//! array parameter (`= ANY($n)`), so unlike SQLite there is no variable limit to chunk for.

use sqlx::{PgConnection, Row};

use super::rows::HistoryEntry;
use super::{PgStore, SqlContext, StoreError};
use crate::store::decode::{json_column, ChangedPaths};

pub(super) async fn roll_back(
    conn: &mut PgConnection,
    thread_id: &str,
    turn_ids: &[String],
) -> Result<(), StoreError> {
    sqlx::query("UPDATE turns SET rolled_back = TRUE WHERE thread_id = $1 AND id = ANY($2)")
        .bind(thread_id)
        .bind(turn_ids)
        .execute(&mut *conn)
        .await
        .ctx("rolling turns back")?;
    super::search::unindex_turns(conn, turn_ids).await
}

pub(super) async fn compact(
    conn: &mut PgConnection,
    thread_id: &str,
    turn_id: &str,
) -> Result<(), StoreError> {
    // Rows compacted by a turn that was since rolled back are in effect again, so they are
    // compacted anew; rows of rolled-back turns are marked too, which changes nothing.
    sqlx::query(
        "UPDATE history SET compacted_by = $1 WHERE thread_id = $2 AND (compacted_by IS NULL \
         OR compacted_by IN (SELECT id FROM turns WHERE thread_id = $2 AND rolled_back = TRUE))",
    )
    .bind(turn_id)
    .bind(thread_id)
    .execute(conn)
    .await
    .ctx("compacting history")?;
    Ok(())
}

pub(super) async fn set_context_tokens(
    conn: &mut PgConnection,
    turn_id: &str,
    tokens: u64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE turns SET context_tokens = $1 WHERE id = $2")
        .bind(tokens.min(i64::MAX as u64) as i64)
        .bind(turn_id)
        .execute(conn)
        .await
        .ctx("saving the context size")?;
    Ok(())
}

impl PgStore {
    /// The context size the newest turn still in the history ended with, if one recorded it.
    pub async fn context_tokens(&self, thread_id: &str) -> Result<Option<u64>, StoreError> {
        let row = sqlx::query(
            "SELECT context_tokens FROM turns WHERE thread_id = $1 AND rolled_back = FALSE \
             AND context_tokens IS NOT NULL ORDER BY position DESC LIMIT 1",
        )
        .bind(thread_id)
        .fetch_optional(&self.pool)
        .await
        .ctx("reading the context size")?;
        Ok(row
            .map(|r| r.try_get::<i64, _>(0))
            .transpose()
            .ctx("decoding the context size")?
            .map(|t| t.max(0) as u64))
    }

    /// Every history row of a thread, oldest first, compacted ones included (what a fork
    /// copies, remapping `compacted_by`).
    pub async fn history_entries(&self, thread_id: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT turn_id, payload, compacted_by FROM history WHERE thread_id = $1 ORDER BY id",
        )
        .bind(thread_id)
        .fetch_all(&self.pool)
        .await
        .ctx("reading history")?;
        rows.iter()
            .map(|r| {
                Ok(HistoryEntry {
                    turn_id: r.try_get("turn_id").ctx("decoding history")?,
                    payload: json_column(r, "payload", "decoding history")?,
                    compacted_by: r.try_get("compacted_by").ctx("decoding history")?,
                })
            })
            .collect()
    }

    /// The paths the file changes of these turns touched (a move names both paths), in the
    /// order they were changed, each once. Declined changes touched nothing and are left out;
    /// failed ones may have written part of a patch and are kept.
    pub async fn changed_files(&self, turn_ids: &[String]) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT i.payload FROM items i JOIN turns t ON t.id = i.turn_id \
             WHERE i.kind = 'fileChange' AND i.turn_id = ANY($1) \
             ORDER BY t.position, i.position",
        )
        .bind(turn_ids)
        .fetch_all(&self.pool)
        .await
        .ctx("reading file changes")?;
        let mut out = ChangedPaths::default();
        for r in &rows {
            out.add_item(&json_column(r, "payload", "decoding a file change")?);
        }
        Ok(out.into_paths())
    }
}
