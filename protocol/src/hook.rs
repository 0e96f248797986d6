//! Lifecycle hooks as reported to clients (`hook/started`, `hook/completed`).
//!
//! Codex reports a hook run as a `HookRunSummary`; agentd writes that shape (its required fields
//! filled in) so Codex clients can show it, plus the short [`HookInfo`] PROTOCOL.md describes.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What PROTOCOL.md calls `hook`: which event fired and the command that ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookInfo {
    pub event: HookEventName,
    pub command: String,
}

/// One run of one hook (Codex `HookRunSummary`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookRunSummary {
    pub id: String,
    pub event_name: HookEventName,
    /// agentd runs command hooks only.
    pub handler_type: HookHandlerType,
    pub execution_mode: HookExecutionMode,
    pub scope: HookScope,
    #[serde(default)]
    pub source: HookSource,
    /// The config file that declared the hook.
    pub source_path: String,
    /// Position among the hooks of the same event.
    pub display_order: i64,
    pub status: HookRunStatus,
    #[serde(default)]
    pub status_message: Option<String>,
    /// Unix seconds.
    pub started_at: i64,
    #[serde(default)]
    pub completed_at: Option<i64>,
    #[serde(default)]
    pub duration_ms: Option<i64>,
    /// What the hook said.
    #[serde(default)]
    pub entries: Vec<HookOutputEntry>,
}

/// The lifecycle points a hook can attach to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum HookEventName {
    PreModelRequest,
    PostModelRequest,
    PreToolUse,
    PermissionRequest,
    PostToolUse,
    PreCompact,
    PostCompact,
    SessionStart,
    SessionEnd,
    UserPromptSubmit,
    SubagentStart,
    SubagentStop,
    Stop,
    Interrupt,
}

/// How a hook is implemented.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum HookHandlerType {
    #[default]
    Command,
    McpTool,
    Prompt,
    Agent,
}

/// Whether the turn waits for the hook.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum HookExecutionMode {
    #[default]
    Sync,
    Async,
}

/// Whether the hook belongs to the thread or to one turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum HookScope {
    Thread,
    Turn,
}

/// Where the hook was configured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum HookSource {
    System,
    User,
    Project,
    SessionFlags,
    #[default]
    Unknown,
}

/// A hook run's state; the last four are outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum HookRunStatus {
    Running,
    /// Ran and allowed the action.
    Completed,
    /// Could not run (error, timeout).
    Failed,
    /// Ran and blocked the action.
    Blocked,
    /// Ran and stopped the turn.
    Stopped,
}

/// A line of hook output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookOutputEntry {
    pub kind: HookOutputEntryKind,
    pub text: String,
}

/// What a line of hook output is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum HookOutputEntryKind {
    Warning,
    Stop,
    Feedback,
    Context,
    Error,
}
