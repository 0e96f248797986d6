//! `agentd exec --json`'s output: JSON Lines in `codex exec --json`'s event format, so tools
//! that parse Codex's output (its TypeScript SDK among them) read agentd's. Field names are
//! Codex's (snake_case). docs/exec.md maps agentd's items onto these.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One line of `agentd exec --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type")]
pub enum ExecEvent {
    #[serde(rename = "thread.started")]
    ThreadStarted { thread_id: String },
    #[serde(rename = "turn.started")]
    TurnStarted {},
    #[serde(rename = "item.started")]
    ItemStarted { item: ExecItem },
    #[serde(rename = "item.updated")]
    ItemUpdated { item: ExecItem },
    #[serde(rename = "item.completed")]
    ItemCompleted { item: ExecItem },
    #[serde(rename = "turn.completed")]
    TurnCompleted { usage: ExecUsage },
    #[serde(rename = "turn.failed")]
    TurnFailed { error: ExecError },
    /// A problem outside the turn's items (a retry under way, a run that could not start).
    #[serde(rename = "error")]
    Error { message: String },
}

/// An item: `item_N` (numbered per run), and what it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExecItem {
    pub id: String,
    #[serde(flatten)]
    pub details: ExecItemDetails,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ExecItemDetails {
    AgentMessage {
        text: String,
    },
    Reasoning {
        text: String,
    },
    CommandExecution {
        command: String,
        aggregated_output: String,
        exit_code: Option<i64>,
        status: ExecItemStatus,
    },
    FileChange {
        changes: Vec<ExecFileChange>,
        status: ExecItemStatus,
    },
    McpToolCall {
        server: String,
        tool: String,
        #[serde(default)]
        arguments: serde_json::Value,
        #[serde(default)]
        result: Option<serde_json::Value>,
        #[serde(default)]
        error: Option<ExecError>,
        status: ExecItemStatus,
    },
    WebSearch {
        query: String,
    },
    TodoList {
        items: Vec<ExecTodo>,
    },
    /// A non-fatal warning shown as an item.
    Error {
        message: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExecItemStatus {
    InProgress,
    Completed,
    Failed,
    Declined,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ExecFileChange {
    pub path: String,
    /// `add`, `delete` or `update`.
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ExecTodo {
    pub text: String,
    pub completed: bool,
}

/// The thread's token usage so far (Codex reports the running total).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ExecUsage {
    pub input_tokens: i64,
    pub cached_input_tokens: i64,
    pub cache_write_input_tokens: i64,
    pub output_tokens: i64,
    pub reasoning_output_tokens: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ExecError {
    pub message: String,
}
