//! Rows for the store's unit tests: one plain thread and one completed turn, which each test
//! then changes where it matters.

use serde_json::json;

use super::{Projection, ThreadRow, TurnRow};

/// Thread `id`, not forked, unnamed, in `/c`, with its log at `last_seq`.
pub(crate) fn thread_row(id: &str, last_seq: u64) -> ThreadRow {
    ThreadRow {
        id: id.into(),
        session_id: id.into(),
        forked_from_id: None,
        name: None,
        preview: String::new(),
        cwd: "/c".into(),
        model: "m".into(),
        model_provider: "mp".into(),
        settings: json!({}),
        ephemeral: false,
        archived: false,
        created_at: 1,
        updated_at: 1,
        last_seq,
        source: "\"appServer\"".into(),
        source_kind: "appServer".into(),
        parent_id: None,
    }
}

/// A completed turn `id` of thread `t` at `position`.
pub(crate) fn turn(id: &str, position: i64) -> Projection {
    turn_of("t", id, position)
}

/// A completed turn `id` of thread `thread` at `position`.
pub(crate) fn turn_of(thread: &str, id: &str, position: i64) -> Projection {
    Projection::Turn(TurnRow {
        id: id.into(),
        thread_id: thread.into(),
        position,
        status: super::TurnState::Completed,
        error: None,
        started_at: None,
        completed_at: None,
        duration_ms: None,
        usage: None,
        client_request_id: None,
        rolled_back: false,
    })
}
