//! Full-text search: the index over item text, kept in the commit that writes the items, and
//! the ranked query behind `thread/search` (the same operations as `sqlite/search.rs`).
//!
//! One index row per searchable item (user message, agent message, command line), in
//! `item_search`, whose generated `tsv` column (GIN-indexed) is the whole text index: there is
//! no second table to keep in step. A thread's rank is its best item's score, `-ts_rank_cd`,
//! negated so that lower is better as with SQLite's BM25 and the same `SearchCursor` pages
//! both; its snippet comes from that item. Pages are keyed on (score, thread id), so a page
//! boundary is exact even when scores tie.

use sqlx::{PgConnection, Row};

use super::rows::{ItemRow, SearchCursor, SearchHit, SearchQuery};
use super::{PgStore, SqlContext, StoreError};
use crate::store::decode::thread_from_row;
use crate::store::search_text::searchable_text;

/// How `ts_headline` cuts a snippet: the marks and window of SQLite's `snippet()` (16 words
/// around the match, `**` around matched words), one fragment.
const HEADLINE_OPTIONS: &str = "StartSel=**, StopSel=**, MaxWords=16, MinWords=5, ShortWord=0, \
                                MaxFragments=1, FragmentDelimiter=…";

/// Writes (or rewrites) the index row of an item, in the caller's transaction.
pub(super) async fn index_item(conn: &mut PgConnection, item: &ItemRow) -> Result<(), StoreError> {
    if !matches!(
        item.kind.as_str(),
        "agentMessage" | "commandExecution" | "userMessage"
    ) {
        return Ok(());
    }
    // An item is normally written once (at completion); a rewrite replaces its index row with
    // a new one (a new id, as SQLite's new rowid), so ties between hits break the same way.
    sqlx::query("DELETE FROM item_search WHERE item_id = $1")
        .bind(&item.id)
        .execute(&mut *conn)
        .await
        .ctx("updating the search index")?;
    let Some(text) = searchable_text(item) else {
        return Ok(());
    };
    sqlx::query(
        "INSERT INTO item_search (item_id, thread_id, turn_id, text) VALUES ($1, $2, $3, $4)",
    )
    .bind(&item.id)
    .bind(&item.thread_id)
    .bind(&item.turn_id)
    .bind(&text)
    .execute(&mut *conn)
    .await
    .ctx("indexing an item")?;
    Ok(())
}

/// Removes the index rows of these turns' items (rolled-back turns are not found any more).
pub(super) async fn unindex_turns(
    conn: &mut PgConnection,
    turn_ids: &[String],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM item_search WHERE turn_id = ANY($1)")
        .bind(turn_ids)
        .execute(conn)
        .await
        .ctx("updating the search index")?;
    Ok(())
}

/// The user's words as a `to_tsquery('simple', …)` text, as [`crate::store::match_expression`]
/// makes them for FTS5: every word required (`&`), a trailing `*` keeps prefix matching
/// (`:*`), and each word is quoted so tsquery operators in it are plain text. `None` when
/// nothing searchable is left.
pub(crate) fn ts_query(text: &str) -> Option<String> {
    let terms: Vec<String> = text.split_whitespace().filter_map(word_query).collect();
    (!terms.is_empty()).then(|| terms.join(" & "))
}

/// One word's query. FTS5 splits a word on every non-alphanumeric char and matches the parts as
/// a phrase (`build-fix` finds "build fix"); so does the index here (punctuation is replaced by
/// space before it is parsed, see the migration). A word with punctuation matches as the phrase
/// of its parts, or as PostgreSQL's parser reads the quoted word (kept for text indexed that
/// way).
fn word_query(word: &str) -> Option<String> {
    let prefix = word.len() > 1 && word.ends_with('*');
    let word = word.trim_end_matches('*');
    if !word.chars().any(char::is_alphanumeric) {
        return None;
    }
    let star = if prefix { ":*" } else { "" };
    let parts: Vec<&str> = word
        .split(|c: char| !c.is_alphanumeric())
        .filter(|p| !p.is_empty())
        .collect();
    let phrase = parts.iter().map(|p| lexeme(p)).collect::<Vec<_>>();
    let phrase = format!("{}{star}", phrase.join(" <-> "));
    if parts == [word] {
        return Some(phrase);
    }
    Some(format!("({}{star} | {phrase})", lexeme(word)))
}

/// A quoted tsquery operand: inside quotes only `'` and `\` are special.
fn lexeme(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
}

impl PgStore {
    /// Threads whose items match `q`, best first (lowest score of their best item), each with
    /// a snippet of that item. `q.text` is made a query by [`ts_query`].
    pub async fn search_threads(&self, q: &SearchQuery) -> Result<Vec<SearchHit>, StoreError> {
        let Some(query) = ts_query(&q.text) else {
            return Ok(Vec::new());
        };
        let (after_score, after_id) = match &q.after {
            Some(c) => (Some(c.score), Some(c.thread_id.clone())),
            None => (None, None),
        };
        // The best hit per thread is the lowest score, the earliest indexed item on a tie; the
        // snippet is cut only for the page's threads.
        let rows = sqlx::query(
            "WITH best AS ( \
                 SELECT DISTINCT ON (s.thread_id) s.thread_id, s.text, \
                        (-ts_rank_cd(s.tsv, to_tsquery('simple', $1)))::FLOAT8 AS score \
                 FROM item_search s WHERE s.tsv @@ to_tsquery('simple', $1) \
                 ORDER BY s.thread_id, score, s.id \
             ), page AS ( \
                 SELECT b.score AS score, b.text AS hit_text, t.* FROM best b \
                 JOIN threads t ON t.id = b.thread_id \
                 WHERE t.archived = $2 \
                 AND ($3::FLOAT8 IS NULL OR b.score > $3 OR (b.score = $3 AND t.id < $4)) \
                 ORDER BY b.score, t.id DESC LIMIT $5 \
             ) \
             SELECT page.*, ts_headline('simple', hit_text, to_tsquery('simple', $1), $6) \
                    AS snippet \
             FROM page ORDER BY score, id DESC",
        )
        .bind(&query)
        .bind(q.archived)
        .bind(after_score)
        .bind(after_id)
        .bind(i64::from(q.limit))
        .bind(HEADLINE_OPTIONS)
        .fetch_all(&self.pool)
        .await
        .ctx("searching threads")?;
        rows.iter().map(hit_from_row).collect()
    }
}

fn hit_from_row(r: &sqlx::postgres::PgRow) -> Result<SearchHit, StoreError> {
    let score: f64 = r.try_get("score").ctx("decoding a search hit")?;
    let snippet: Option<String> = r.try_get("snippet").ctx("decoding a search hit")?;
    let thread = thread_from_row(r)?;
    Ok(SearchHit {
        cursor: SearchCursor {
            score,
            thread_id: thread.id.clone(),
        },
        thread,
        snippet: snippet.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_become_required_quoted_terms() {
        assert_eq!(
            ts_query(r#"cargo build-fix "x" NOT ref*"#).as_deref(),
            Some(
                "'cargo' & ('build-fix' | 'build' <-> 'fix') & ('\"x\"' | 'x') & 'NOT' \
                 & 'ref':*"
            )
        );
        assert_eq!(ts_query("  * - \"  "), None);
    }

    #[test]
    fn quotes_and_backslashes_are_escaped_and_prefixes_end_phrases() {
        assert_eq!(
            ts_query(r"it's a\b main.rs*").as_deref(),
            Some(concat!(
                r"('it''s' | 'it' <-> 's') & ('a\\b' | 'a' <-> 'b') & ",
                "('main.rs':* | 'main' <-> 'rs':*)"
            ))
        );
        assert_eq!(ts_query("x* *").as_deref(), Some("'x':*"));
    }
}
