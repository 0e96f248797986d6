//! Rows read back as the store's row types, the same way for SQLite and PostgreSQL: both
//! stores select the same columns, so one decoder per row type serves both ([`StoreRow`] is
//! the little each backend's row must offer).

use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use super::rows::{ItemRow, ThreadRow, TurnRow, TurnState};
use super::{SqlContext, StoreError};

/// Typed column reads of a backend's row.
pub(crate) trait StoreRow {
    fn text(&self, col: &str) -> Result<String, sqlx::Error>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, sqlx::Error>;
    fn int(&self, col: &str) -> Result<i64, sqlx::Error>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>, sqlx::Error>;
    fn flag(&self, col: &str) -> Result<bool, sqlx::Error>;
}

macro_rules! store_row {
    ($row:ty) => {
        impl StoreRow for $row {
            fn text(&self, col: &str) -> Result<String, sqlx::Error> {
                self.try_get(col)
            }
            fn opt_text(&self, col: &str) -> Result<Option<String>, sqlx::Error> {
                self.try_get(col)
            }
            fn int(&self, col: &str) -> Result<i64, sqlx::Error> {
                self.try_get(col)
            }
            fn opt_int(&self, col: &str) -> Result<Option<i64>, sqlx::Error> {
                self.try_get(col)
            }
            fn flag(&self, col: &str) -> Result<bool, sqlx::Error> {
                self.try_get(col)
            }
        }
    };
}

store_row!(SqliteRow);
store_row!(PgRow);

/// A JSON column (stored as text).
pub(crate) fn json_column(
    r: &impl StoreRow,
    col: &str,
    context: &'static str,
) -> Result<Value, StoreError> {
    parse_json(&r.text(col).ctx(context)?, context)
}

fn opt_json_column(
    r: &impl StoreRow,
    col: &str,
    context: &'static str,
) -> Result<Option<Value>, StoreError> {
    let text = r.opt_text(col).ctx(context)?;
    text.map(|t| parse_json(&t, context)).transpose()
}

fn parse_json(text: &str, context: &'static str) -> Result<Value, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Decode {
        context,
        detail: e.to_string(),
    })
}

pub(crate) fn thread_from_row(r: &impl StoreRow) -> Result<ThreadRow, StoreError> {
    const CTX: &str = "decoding a thread";
    Ok(ThreadRow {
        id: r.text("id").ctx(CTX)?,
        session_id: r.text("session_id").ctx(CTX)?,
        forked_from_id: r.opt_text("forked_from_id").ctx(CTX)?,
        name: r.opt_text("name").ctx(CTX)?,
        preview: r.text("preview").ctx(CTX)?,
        cwd: r.text("cwd").ctx(CTX)?,
        model: r.text("model").ctx(CTX)?,
        model_provider: r.text("model_provider").ctx(CTX)?,
        settings: json_column(r, "settings", CTX)?,
        ephemeral: r.flag("ephemeral").ctx(CTX)?,
        archived: r.flag("archived").ctx(CTX)?,
        created_at: r.int("created_at").ctx(CTX)?,
        updated_at: r.int("updated_at").ctx(CTX)?,
        // A negative seq in the database (written by hand) reads as 0, never as 2^64 - n.
        last_seq: r.int("last_seq").ctx(CTX)?.max(0) as u64,
        source: r.text("source").ctx(CTX)?,
        source_kind: r.text("source_kind").ctx(CTX)?,
        parent_id: r.opt_text("parent_id").ctx(CTX)?,
    })
}

/// A thread of a listing: as [`thread_from_row`], but a row with a column that does not decode
/// (written by something else) is listed by its id, times, archived flag and parent, with the
/// rest empty, and logged.
/// Failing the page would hide every other thread from every client, and dropping the row
/// would end the listing early (a short page reads as the last one). Reading that thread
/// itself still fails, with the decoding error.
pub(crate) fn listed_thread_from_row(r: &impl StoreRow) -> Result<ThreadRow, StoreError> {
    let error = match thread_from_row(r) {
        Ok(thread) => return Ok(thread),
        Err(e) => e,
    };
    let id = r.text("id").ctx("decoding a thread")?;
    tracing::error!(thread = %id, error = %error, "a stored thread does not decode; listed by its id alone");
    // What the listing filtered on is kept, so the row stays in the listing it was found by.
    Ok(ThreadRow {
        id,
        created_at: r.int("created_at").unwrap_or(0),
        updated_at: r.int("updated_at").unwrap_or(0),
        archived: r.flag("archived").unwrap_or(false),
        parent_id: r.opt_text("parent_id").unwrap_or(None),
        settings: Value::Object(Default::default()),
        ..ThreadRow::default()
    })
}

pub(crate) fn turn_from_row(r: &impl StoreRow) -> Result<TurnRow, StoreError> {
    const CTX: &str = "decoding a turn";
    Ok(TurnRow {
        id: r.text("id").ctx(CTX)?,
        thread_id: r.text("thread_id").ctx(CTX)?,
        position: r.int("position").ctx(CTX)?,
        status: TurnState::parse(&r.text("status").ctx(CTX)?)?,
        error: opt_json_column(r, "error", CTX)?,
        started_at: r.opt_int("started_at").ctx(CTX)?,
        completed_at: r.opt_int("completed_at").ctx(CTX)?,
        duration_ms: r.opt_int("duration_ms").ctx(CTX)?,
        usage: opt_json_column(r, "usage", CTX)?,
        client_request_id: r.opt_text("client_request_id").ctx(CTX)?,
        rolled_back: r.flag("rolled_back").ctx(CTX)?,
    })
}

pub(crate) fn item_from_row(r: &impl StoreRow) -> Result<ItemRow, StoreError> {
    const CTX: &str = "decoding an item";
    Ok(ItemRow {
        id: r.text("id").ctx(CTX)?,
        thread_id: r.text("thread_id").ctx(CTX)?,
        turn_id: r.text("turn_id").ctx(CTX)?,
        position: r.int("position").ctx(CTX)?,
        kind: r.text("kind").ctx(CTX)?,
        payload: json_column(r, "payload", CTX)?,
    })
}

/// The paths file changes touched, in the order first seen, each once: what a rollback of
/// those turns reports. A set keeps it linear in the paths (one item can list a million).
#[derive(Debug, Default)]
pub(crate) struct ChangedPaths {
    order: Vec<String>,
    seen: std::collections::HashSet<String>,
}

impl ChangedPaths {
    /// Adds the paths a `fileChange` item changed (a move's target too), unless declined.
    pub(crate) fn add_item(&mut self, item: &Value) {
        if item["status"] == "declined" {
            return;
        }
        let Some(changes) = item["changes"].as_array() else {
            return;
        };
        for c in changes {
            for path in [&c["path"], &c["kind"]["movePath"]] {
                if let Some(p) = path.as_str() {
                    if self.seen.insert(p.to_owned()) {
                        self.order.push(p.to_owned());
                    }
                }
            }
        }
    }

    pub(crate) fn into_paths(self) -> Vec<String> {
        self.order
    }
}
