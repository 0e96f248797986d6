//! History operations in SQL: rolling turns back, compacting the model-facing history, the
//! context size each turn ended with, and the reads behind fork and rollback.
//!
//! Nothing here deletes: a rolled-back turn is flagged, a compacted history row names the turn
//! that compacted it. The flags are what `SqliteStore::history` and the turn list filter on, so an
//! audit (or rolling back the compaction itself) still finds every row.

use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::rows::HistoryEntry;
use super::{SqlContext, SqliteStore, StoreError};
use crate::store::decode::{json_column, ChangedPaths};

/// Turn ids per `IN (…)` list, far below SQLite's variable limit.
const IDS_PER_STATEMENT: usize = 500;

pub(super) async fn roll_back(
    conn: &mut SqliteConnection,
    thread_id: &str,
    turn_ids: &[String],
) -> Result<(), StoreError> {
    for chunk in turn_ids.chunks(IDS_PER_STATEMENT) {
        let mut b: QueryBuilder<Sqlite> =
            QueryBuilder::new("UPDATE turns SET rolled_back = 1 WHERE thread_id = ");
        b.push_bind(thread_id).push(" AND id IN (");
        let mut list = b.separated(", ");
        for id in chunk {
            list.push_bind(id);
        }
        b.push(")");
        b.build()
            .execute(&mut *conn)
            .await
            .ctx("rolling turns back")?;
        super::search::unindex_turns(conn, chunk).await?;
    }
    Ok(())
}

pub(super) async fn compact(
    conn: &mut SqliteConnection,
    thread_id: &str,
    turn_id: &str,
) -> Result<(), StoreError> {
    // Rows compacted by a turn that was since rolled back are in effect again, so they are
    // compacted anew; rows of rolled-back turns are marked too, which changes nothing.
    sqlx::query(
        "UPDATE history SET compacted_by = ?1 WHERE thread_id = ?2 AND (compacted_by IS NULL \
         OR compacted_by IN (SELECT id FROM turns WHERE thread_id = ?2 AND rolled_back = 1))",
    )
    .bind(turn_id)
    .bind(thread_id)
    .execute(conn)
    .await
    .ctx("compacting history")?;
    Ok(())
}

pub(super) async fn set_context_tokens(
    conn: &mut SqliteConnection,
    turn_id: &str,
    tokens: u64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE turns SET context_tokens = ? WHERE id = ?")
        .bind(tokens.min(i64::MAX as u64) as i64)
        .bind(turn_id)
        .execute(conn)
        .await
        .ctx("saving the context size")?;
    Ok(())
}

impl SqliteStore {
    /// The context size the newest turn still in the history ended with, if one recorded it.
    pub async fn context_tokens(&self, thread_id: &str) -> Result<Option<u64>, StoreError> {
        let row = sqlx::query(
            "SELECT context_tokens FROM turns WHERE thread_id = ? AND rolled_back = 0 \
             AND context_tokens IS NOT NULL ORDER BY position DESC LIMIT 1",
        )
        .bind(thread_id)
        .fetch_optional(&self.reader)
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
            "SELECT turn_id, payload, compacted_by FROM history WHERE thread_id = ? ORDER BY id",
        )
        .bind(thread_id)
        .fetch_all(&self.reader)
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
        let mut out = ChangedPaths::default();
        for chunk in turn_ids.chunks(IDS_PER_STATEMENT) {
            let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
                "SELECT i.payload FROM items i JOIN turns t ON t.id = i.turn_id \
                 WHERE i.kind = 'fileChange' AND i.turn_id IN (",
            );
            let mut list = b.separated(", ");
            for id in chunk {
                list.push_bind(id);
            }
            b.push(") ORDER BY t.position, i.position");
            let rows = b
                .build()
                .fetch_all(&self.reader)
                .await
                .ctx("reading file changes")?;
            for r in &rows {
                out.add_item(&json_column(r, "payload", "decoding a file change")?);
            }
        }
        Ok(out.into_paths())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::store::fixtures::{thread_row, turn};
    use crate::store::sqlite::SqliteStore;
    use crate::store::{CommitBatch, HistoryRow, ItemRow, Projection, SearchQuery};

    fn said(turn: &str, text: &str) -> Vec<Projection> {
        vec![
            Projection::Item(ItemRow {
                id: format!("{turn}-{text}"),
                thread_id: "t".into(),
                turn_id: turn.into(),
                position: 0,
                kind: "agentMessage".into(),
                payload: json!({"type": "agentMessage", "id": format!("{turn}-{text}"), "text": text}),
            }),
            Projection::History(HistoryRow {
                thread_id: "t".into(),
                turn_id: turn.into(),
                payload: json!(text),
            }),
        ]
    }

    async fn commit(store: &SqliteStore, projections: Vec<Projection>) {
        let batch = CommitBatch {
            thread: thread_row("t", 0),
            events: Vec::new(),
            projections,
        };
        store.commit(&batch).await.unwrap();
    }

    #[tokio::test]
    async fn compaction_rollback_and_search_filter_the_same_rows() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("agentd.db"))
            .await
            .unwrap();
        let mut p = vec![turn("a", 0), turn("b", 1)];
        p.extend(said("a", "alpha"));
        p.extend(said("b", "bravo"));
        commit(&store, p).await;
        assert_eq!(
            store.history("t").await.unwrap(),
            [json!("alpha"), json!("bravo")]
        );

        // Turn c compacts a and b away, then says something.
        let mut p = vec![
            turn("c", 2),
            Projection::CompactHistory {
                thread_id: "t".into(),
                turn_id: "c".into(),
            },
            Projection::ContextTokens {
                turn_id: "c".into(),
                tokens: 42,
            },
        ];
        p.extend(said("c", "summary"));
        commit(&store, p).await;
        assert_eq!(store.history("t").await.unwrap(), [json!("summary")]);
        assert_eq!(store.context_tokens("t").await.unwrap(), Some(42));
        assert_eq!(store.history_entries("t").await.unwrap().len(), 3);

        // Rolling c back brings a and b back and drops c from search.
        let query = |text: &str| SearchQuery {
            text: text.into(),
            archived: false,
            after: None,
            limit: 10,
        };
        assert_eq!(
            store.search_threads(&query("summary")).await.unwrap().len(),
            1
        );
        commit(
            &store,
            vec![Projection::RollBack {
                thread_id: "t".into(),
                turn_ids: vec!["c".into()],
            }],
        )
        .await;
        assert_eq!(
            store.history("t").await.unwrap(),
            [json!("alpha"), json!("bravo")]
        );
        assert_eq!(store.context_tokens("t").await.unwrap(), None);
        assert!(store
            .search_threads(&query("summary"))
            .await
            .unwrap()
            .is_empty());
        let hits = store.search_threads(&query("bravo")).await.unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].snippet, "**bravo**");

        // A later compaction also retires rows whose compaction was rolled back.
        commit(
            &store,
            vec![
                turn("d", 3),
                Projection::CompactHistory {
                    thread_id: "t".into(),
                    turn_id: "d".into(),
                },
            ],
        )
        .await;
        assert!(store.history("t").await.unwrap().is_empty());
        store.close().await;
    }
}
