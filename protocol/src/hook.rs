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
    /// agentd (not in Codex's enum): a tool call that failed.
    PostToolUseFailure,
    /// agentd (not in Codex's enum): the agent waits for a person.
    Notification,
}

impl HookEventName {
    /// The values agentd adds to Codex's enum (a Codex client may not know them).
    pub const AGENTD_ONLY: [HookEventName; 2] = [
        HookEventName::PostToolUseFailure,
        HookEventName::Notification,
    ];
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

/// Whether a hook may run (Codex `HookTrustStatus`): a repository's own hooks run only once the
/// user trusts the repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum HookTrustStatus {
    Managed,
    Untrusted,
    Trusted,
    Modified,
}

/// `hooks/list` params.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HooksListParams {
    /// Working directories to inspect (default: the daemon's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwds: Option<Vec<String>>,
    /// A thread's hooks (those of its working directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<String>,
}

/// `hooks/list` result: one entry per working directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HooksListResponse {
    pub data: Vec<HooksListEntry>,
}

/// The hooks that apply in one working directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HooksListEntry {
    pub cwd: String,
    pub hooks: Vec<HookMetadata>,
    /// Settings files that were read with something left out.
    pub warnings: Vec<String>,
    /// Settings files that could not be read.
    pub errors: Vec<HookErrorInfo>,
}

/// One configured hook (Codex `HookMetadata`, command form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookMetadata {
    /// Always `command`.
    pub handler_type: HookHandlerType,
    pub command: String,
    pub event_name: HookEventName,
    /// The event as config files spell it (`PreToolUse`).
    pub event: String,
    #[serde(default)]
    pub matcher: Option<String>,
    pub source: HookSource,
    pub source_path: String,
    pub display_order: i64,
    pub timeout_sec: u64,
    pub trust_status: HookTrustStatus,
    /// Whether it runs: false for a repository's hooks until the repository is trusted.
    pub enabled: bool,
    pub is_managed: bool,
    /// Identifies the hook within its source.
    pub key: String,
    /// SHA-256 of the command, matcher and timeout (Codex's field).
    pub current_hash: String,
}

/// A settings file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookErrorInfo {
    pub path: String,
    pub message: String,
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
