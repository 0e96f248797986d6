//! The turn: one user input and everything the agent did in answer to it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::item::ThreadItem;
use crate::usage::TokenUsageBreakdown;

/// A turn as the daemon reports it (Codex `Turn`, plus agentd's `usage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Turn {
    pub id: String,
    pub status: TurnStatus,
    /// Set when the turn `failed`.
    #[serde(default)]
    pub error: Option<TurnError>,
    /// Always present; empty in `turn/started` and wherever items were not asked for.
    #[serde(default)]
    pub items: Vec<ThreadItem>,
    /// How much of the turn `items` holds; absent means all of it (Codex's default, `full`).
    /// `turn/started` says `notLoaded`; `turn/completed` says `summary` and carries the final
    /// agent message, as Codex does (its ACP adapter reads a title turn's answer there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items_view: Option<TurnItemsView>,
    /// Unix seconds.
    #[serde(default)]
    pub started_at: Option<i64>,
    /// Unix seconds.
    #[serde(default)]
    pub completed_at: Option<i64>,
    #[serde(default)]
    pub duration_ms: Option<i64>,
    /// agentd: tokens the turn used, once it has ended.
    #[serde(default)]
    pub usage: Option<TokenUsageBreakdown>,
}

/// How much of a turn's items a `Turn` carries (Codex's `TurnItemsView`); also what
/// `thread/turns/list` is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum TurnItemsView {
    /// None: `items` is empty on purpose.
    NotLoaded,
    /// The user's messages and the agent's (`turn/completed`: the final agent message only).
    Summary,
    /// Every item.
    Full,
}

/// Where a turn is in its life. Every turn ends in exactly one of the last three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum TurnStatus {
    InProgress,
    Completed,
    Interrupted,
    Failed,
}

impl TurnStatus {
    /// Whether the turn has ended.
    pub fn is_terminal(self) -> bool {
        !matches!(self, TurnStatus::InProgress)
    }
}

/// Why a turn failed (also the payload of the `error` notification).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TurnError {
    pub message: String,
    /// agentd: a machine-readable class, e.g. `"provider"`, `"contextWindowExceeded"`.
    #[serde(default)]
    pub kind: Option<String>,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::item::tests::sample_items;
    use crate::schema_check::assert_required_fields;
    use serde_json::json;

    pub(crate) fn sample_turn() -> Turn {
        Turn {
            id: "turn-1".into(),
            status: TurnStatus::Failed,
            error: Some(TurnError {
                message: "provider said no".into(),
                kind: Some("provider".into()),
            }),
            items: sample_items(),
            items_view: None,
            started_at: Some(1_700_000_000),
            completed_at: Some(1_700_000_002),
            duration_ms: Some(2000),
            usage: Some(TokenUsageBreakdown::default()),
        }
    }

    #[test]
    fn turn_has_codex_required_fields() {
        let v = json!(sample_turn());
        assert_required_fields("Turn", &v);
        assert_required_fields("TurnError", &v["error"]);
        assert_eq!(v["status"], json!("failed"));
        let empty = Turn {
            items: vec![],
            ..sample_turn()
        };
        assert_eq!(json!(empty)["items"], json!([]));
        assert_eq!(json!(TurnStatus::InProgress), json!("inProgress"));
    }
}
