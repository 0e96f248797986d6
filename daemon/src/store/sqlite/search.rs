//! Full-text search: the FTS5 index over item text, kept in the commit that writes the items,
//! and the ranked query behind `thread/search`.
//!
//! One index row per searchable item (user message, agent message, command line), in
//! `item_search`, with the external-content FTS5 table `item_fts` over it. A thread's rank is
//! its best item's BM25 score; its snippet comes from that item. Pages are keyed on
//! (score, thread id), so a page boundary is exact even when scores tie.

use super::threads::THREAD_COLUMNS;
use sqlx::{Row, SqliteConnection};

use super::rows::{ItemRow, SearchCursor, SearchHit, SearchQuery};
use super::{SqlContext, SqliteStore, StoreError};
use crate::store::decode::thread_from_row;
use crate::store::search_text::searchable_text;

/// Tokens of context around the match in a snippet.
const SNIPPET_TOKENS: i64 = 16;

/// Writes (or rewrites) the index row of an item, in the caller's transaction.
pub(super) async fn index_item(
    conn: &mut SqliteConnection,
    item: &ItemRow,
) -> Result<(), StoreError> {
    if !matches!(
        item.kind.as_str(),
        "agentMessage" | "commandExecution" | "userMessage"
    ) {
        return Ok(());
    }
    // An item is normally written once (at completion); a rewrite replaces its index row.
    let old = sqlx::query("SELECT rowid, text FROM item_search WHERE item_id = ?")
        .bind(&item.id)
        .fetch_optional(&mut *conn)
        .await
        .ctx("reading the search index")?;
    if let Some(old) = old {
        let rowid: i64 = old.try_get(0).ctx("decoding the search index")?;
        let text: String = old.try_get(1).ctx("decoding the search index")?;
        sqlx::query("INSERT INTO item_fts (item_fts, rowid, text) VALUES ('delete', ?, ?)")
            .bind(rowid)
            .bind(text)
            .execute(&mut *conn)
            .await
            .ctx("updating the search index")?;
        sqlx::query("DELETE FROM item_search WHERE rowid = ?")
            .bind(rowid)
            .execute(&mut *conn)
            .await
            .ctx("updating the search index")?;
    }
    let Some(text) = searchable_text(item) else {
        return Ok(());
    };
    let rowid: i64 = sqlx::query(
        "INSERT INTO item_search (item_id, thread_id, turn_id, text) VALUES (?, ?, ?, ?) \
         RETURNING rowid",
    )
    .bind(&item.id)
    .bind(&item.thread_id)
    .bind(&item.turn_id)
    .bind(&text)
    .fetch_one(&mut *conn)
    .await
    .ctx("indexing an item")?
    .try_get(0)
    .ctx("indexing an item")?;
    sqlx::query("INSERT INTO item_fts (rowid, text) VALUES (?, ?)")
        .bind(rowid)
        .bind(&text)
        .execute(&mut *conn)
        .await
        .ctx("indexing an item")?;
    Ok(())
}

/// Removes the index rows of these turns' items (rolled-back turns are not found any more).
pub(super) async fn unindex_turns(
    conn: &mut SqliteConnection,
    turn_ids: &[String],
) -> Result<(), StoreError> {
    for id in turn_ids {
        sqlx::query(
            "INSERT INTO item_fts (item_fts, rowid, text) \
             SELECT 'delete', rowid, text FROM item_search WHERE turn_id = ?",
        )
        .bind(id)
        .execute(&mut *conn)
        .await
        .ctx("updating the search index")?;
        sqlx::query("DELETE FROM item_search WHERE turn_id = ?")
            .bind(id)
            .execute(&mut *conn)
            .await
            .ctx("updating the search index")?;
    }
    Ok(())
}

/// The user's words as an FTS5 query: each word a quoted term (so `-`, `:`, `"` and FTS5
/// keywords are plain text), all required; a trailing `*` keeps prefix matching. `None` when
/// nothing searchable is left.
pub fn match_expression(text: &str) -> Option<String> {
    let terms: Vec<String> = text
        .split_whitespace()
        .filter_map(|word| {
            let prefix = word.len() > 1 && word.ends_with('*');
            let word = word.trim_end_matches('*');
            if !word.chars().any(char::is_alphanumeric) {
                return None;
            }
            let quoted = format!("\"{}\"", word.replace('"', "\"\""));
            Some(if prefix { format!("{quoted}*") } else { quoted })
        })
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

impl SqliteStore {
    /// Threads whose items match `q`, best first (lowest BM25 of their best item), each with a
    /// snippet of that item. `q.text` must be a valid [`match_expression`].
    pub async fn search_threads(&self, q: &SearchQuery) -> Result<Vec<SearchHit>, StoreError> {
        let Some(expr) = match_expression(&q.text) else {
            return Ok(Vec::new());
        };
        let (after_score, after_id) = match &q.after {
            Some(c) => (Some(c.score), Some(c.thread_id.clone())),
            None => (None, None),
        };
        // `t`: each thread with its progress as read (`threads.rs`).
        let sql = format!(
            "WITH hits AS MATERIALIZED ( \
                 SELECT rowid AS hit, bm25(item_fts) AS score FROM item_fts \
                 WHERE item_fts MATCH ?1 \
             ), best AS ( \
                 SELECT s.thread_id AS thread_id, h.hit AS hit, min(h.score) AS score \
                 FROM hits h JOIN item_search s ON s.rowid = h.hit GROUP BY s.thread_id \
             ) \
             SELECT b.hit AS hit, b.score AS score, t.* FROM best b \
             JOIN (SELECT {THREAD_COLUMNS} FROM threads) t ON t.id = b.thread_id \
             WHERE t.archived = ?2 \
             AND (?3 IS NULL OR b.score > ?3 OR (b.score = ?3 AND t.id < ?4)) \
             ORDER BY b.score, t.id DESC LIMIT ?5"
        );
        let rows = sqlx::query(&sql)
            .bind(&expr)
            .bind(q.archived)
            .bind(after_score)
            .bind(after_id)
            .bind(q.limit as i64)
            .fetch_all(&self.reader)
            .await
            .ctx("searching threads")?;
        let mut hits = Vec::with_capacity(rows.len());
        for r in &rows {
            let hit: i64 = r.try_get("hit").ctx("decoding a search hit")?;
            let score: f64 = r.try_get("score").ctx("decoding a search hit")?;
            let thread = thread_from_row(r)?;
            let snippet: Option<String> = sqlx::query_scalar(
                "SELECT snippet(item_fts, 0, '**', '**', '…', ?3) FROM item_fts \
                 WHERE item_fts MATCH ?1 AND rowid = ?2",
            )
            .bind(&expr)
            .bind(hit)
            .bind(SNIPPET_TOKENS)
            .fetch_optional(&self.reader)
            .await
            .ctx("making a search snippet")?;
            hits.push(SearchHit {
                cursor: SearchCursor {
                    score,
                    thread_id: thread.id.clone(),
                },
                thread,
                snippet: snippet.unwrap_or_default(),
            });
        }
        Ok(hits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_become_quoted_terms() {
        assert_eq!(
            match_expression(r#"cargo build-fix "x" NOT ref*"#).as_deref(),
            Some(r#""cargo" "build-fix" """x""" "NOT" "ref"*"#)
        );
        assert_eq!(match_expression("  * - \"  "), None);
    }

    #[test]
    fn cursor_round_trips_exactly() {
        let c = SearchCursor {
            score: -1.234_567_890_123e-7,
            thread_id: "0190-abc".into(),
        };
        assert_eq!(SearchCursor::decode(&c.encode()), Some(c));
        assert_eq!(SearchCursor::decode("zz:id"), None);
        assert_eq!(SearchCursor::decode("nocolon"), None);
    }
}
