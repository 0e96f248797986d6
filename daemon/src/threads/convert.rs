//! Between stored rows and wire types. The store knows nothing of the protocol; this is the one
//! place where a row becomes a `Thread` or `Turn`.

use agentd_protocol::{
    AskForApproval, SandboxPolicy, SessionSource, Thread, ThreadItem, ThreadStatus, Turn,
    TurnStatus,
};
use serde::{Deserialize, Serialize};

use crate::store::{ItemRow, ThreadRow, TurnRow};

/// Per-thread choices kept in the thread row's `settings` JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadSettings {
    pub approval_policy: AskForApproval,
    pub sandbox: SandboxPolicy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_instructions: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub developer_instructions: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<String>,
}

/// The settings of a stored thread; a row written by an older version falls back to defaults
/// rather than making the thread unreadable.
pub fn settings_of(row: &ThreadRow) -> ThreadSettings {
    serde_json::from_value(row.settings.clone()).unwrap_or_else(|e| {
        tracing::warn!(thread = %row.id, error = %e, "thread settings unreadable; using defaults");
        ThreadSettings {
            approval_policy: AskForApproval::OnRequest,
            sandbox: SandboxPolicy::ReadOnly {
                network_access: false,
            },
            base_instructions: None,
            developer_instructions: None,
            reasoning_effort: None,
        }
    })
}

pub fn thread_from_row(row: &ThreadRow, status: ThreadStatus, turns: Vec<Turn>) -> Thread {
    Thread {
        id: row.id.clone(),
        session_id: row.session_id.clone(),
        preview: row.preview.clone(),
        name: row.name.clone(),
        cwd: row.cwd.clone(),
        model_provider: row.model_provider.clone(),
        model: Some(row.model.clone()),
        created_at: row.created_at,
        updated_at: row.updated_at,
        ephemeral: row.ephemeral,
        cli_version: env!("CARGO_PKG_VERSION").to_owned(),
        source: SessionSource::AppServer,
        project_id: None,
        forked_from_id: row.forked_from_id.clone(),
        archived: row.archived,
        status,
        last_seq: row.last_seq,
        turns,
    }
}

fn turn_status(s: &str) -> TurnStatus {
    match s {
        "completed" => TurnStatus::Completed,
        "interrupted" => TurnStatus::Interrupted,
        "failed" => TurnStatus::Failed,
        _ => TurnStatus::InProgress,
    }
}

/// Assembles the thread's visible turns (rolled-back ones excluded) with their items.
pub fn turns_from_rows(turns: Vec<TurnRow>, items: Vec<ItemRow>) -> Vec<Turn> {
    let mut out: Vec<Turn> = Vec::with_capacity(turns.len());
    let mut index = std::collections::HashMap::new();
    for t in turns.into_iter().filter(|t| !t.rolled_back) {
        index.insert(t.id.clone(), out.len());
        out.push(Turn {
            id: t.id,
            status: turn_status(&t.status),
            error: t.error.and_then(|e| serde_json::from_value(e).ok()),
            items: Vec::new(),
            started_at: t.started_at,
            completed_at: t.completed_at,
            duration_ms: t.duration_ms,
            usage: t.usage.and_then(|u| serde_json::from_value(u).ok()),
        });
    }
    let mut items = items;
    items.sort_by_key(|i| i.position);
    for i in items {
        if let Some(&ix) = index.get(&i.turn_id) {
            match serde_json::from_value::<ThreadItem>(i.payload) {
                Ok(item) => out[ix].items.push(item),
                Err(e) => tracing::warn!(item = %i.id, error = %e, "skipping an unreadable item"),
            }
        }
    }
    out
}

/// [`turns_from_rows`] as JSON, for answers that carry many items (`thread/read`,
/// `thread/resume`, `thread/fork`, `thread/rollback`): each turn's items are the stored payloads
/// as one JSON array (see `Store::turns_with_items_json`), parsed once and never turned into
/// `ThreadItem`s and back.
pub fn turns_json(turns: Vec<(TurnRow, String)>) -> serde_json::Value {
    let turns = turns
        .into_iter()
        .filter(|(t, _)| !t.rolled_back)
        .map(|(t, items)| {
            let mut turn = serde_json::to_value(turns_from_rows(vec![t], Vec::new()).remove(0))
                .unwrap_or_default();
            turn["items"] = serde_json::from_str(&items).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "unreadable items; sending the turn without them");
                serde_json::Value::Array(Vec::new())
            });
            turn
        })
        .collect();
    serde_json::Value::Array(turns)
}
