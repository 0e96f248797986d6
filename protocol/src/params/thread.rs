//! Params and results of the `thread/*` requests.
//!
//! Params are lenient on purpose: Codex clients send many fields agentd does not know
//! (`runtimeWorkspaceRoots`, `permissions`, `dynamicTools`, …) and `null` for most of the ones it
//! does, so every optional field is an `Option` that accepts absence and `null`, and unknown
//! fields are ignored (no `deny_unknown_fields` anywhere).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::policy::{ApprovalsReviewer, AskForApproval, SandboxMode, SandboxPolicy};
use crate::thread::{SessionSource, Thread};

/// Settings a client may override when it starts, resumes or forks a thread. Flattened into
/// those params; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadOverrides {
    /// Working directory; `null` means the daemon's default workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_policy: Option<AskForApproval>,
    /// The requested sandbox mode (a word; results carry the policy object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<SandboxMode>,
    /// Replaces the built-in system instructions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_instructions: Option<String>,
    /// Added to the instructions as a developer message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub developer_instructions: Option<String>,
    /// Config overrides as dotted keys (`"features.x": false`) or nested objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `thread/start` params.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadStartParams {
    #[serde(flatten)]
    pub overrides: ThreadOverrides,
    /// An ephemeral thread is not listed and not kept after the daemon stops.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral: Option<bool>,
    /// agentd: where the thread comes from (`exec` for `agentd exec`); default `appServer`.
    /// A client may not claim `subAgent` (the daemon sets that on the threads it spawns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_source: Option<SessionSource>,
}

/// `thread/start` result (also the shape of `thread/resume` and `thread/fork` results).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadStartResponse {
    pub thread: Thread,
    pub model: String,
    pub model_provider: String,
    pub cwd: String,
    pub approval_policy: AskForApproval,
    /// Always `user`.
    #[serde(default)]
    pub approvals_reviewer: ApprovalsReviewer,
    /// The effective sandbox policy.
    pub sandbox: SandboxPolicy,
    #[serde(default)]
    pub reasoning_effort: Option<String>,
}

/// `thread/resume` params.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadResumeParams {
    pub thread_id: String,
    /// agentd: replay every stored event with a greater `seq` before streaming live ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_seq: Option<u64>,
    /// Leave `thread.turns` empty in the result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_turns: Option<bool>,
    #[serde(flatten)]
    pub overrides: ThreadOverrides,
}

/// `thread/resume` result: as `thread/start`, with `thread.turns` filled in.
pub type ThreadResumeResponse = ThreadStartResponse;

/// `thread/fork` params.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadForkParams {
    pub thread_id: String,
    /// Fork after this turn; default: after the last completed one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_turn_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_turns: Option<bool>,
    #[serde(flatten)]
    pub overrides: ThreadOverrides,
}

/// `thread/fork` result: as `thread/start`, with `thread.forkedFromId` set.
pub type ThreadForkResponse = ThreadStartResponse;

/// `thread/list` params.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadListParams {
    /// Opaque, from a previous `nextCursor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// `true`: only archived threads; absent or `false`: only unarchived ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
    /// Only threads whose cwd is this path (or one of these paths).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<ThreadListCwdFilter>,
    /// Case-insensitive match on name and preview.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_term: Option<String>,
    /// Only threads of these source kinds (Codex `ThreadSourceKind`: `exec`, `appServer`,
    /// `subAgentThreadSpawn`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_kinds: Option<Vec<String>>,
    /// agentd: only the sub-agents this thread spawned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_thread_id: Option<String>,
}

/// `thread/list`'s `cwd` filter: Codex allows one path or several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ThreadListCwdFilter {
    One(String),
    Many(Vec<String>),
}

impl ThreadListCwdFilter {
    /// The paths, whichever form was sent.
    pub fn paths(&self) -> Vec<&str> {
        match self {
            ThreadListCwdFilter::One(p) => vec![p.as_str()],
            ThreadListCwdFilter::Many(ps) => ps.iter().map(String::as_str).collect(),
        }
    }
}

/// `thread/list` result, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadListResponse {
    pub data: Vec<Thread>,
    /// `null` on the last page.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// `thread/read` params. Reading does not subscribe.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadReadParams {
    pub thread_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_turns: Option<bool>,
}

/// `thread/read` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadReadResponse {
    pub thread: Thread,
    /// agentd: the sub-agents this thread spawned (closed ones too), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub child_thread_ids: Vec<String>,
}

/// `thread/archive` params.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadArchiveParams {
    pub thread_id: String,
}

/// `thread/archive` result: `{}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ThreadArchiveResponse {}

/// `thread/unarchive` params.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadUnarchiveParams {
    pub thread_id: String,
}

/// `thread/unarchive` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadUnarchiveResponse {
    pub thread: Thread,
}

/// `thread/unsubscribe` params.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadUnsubscribeParams {
    pub thread_id: String,
}

/// `thread/unsubscribe` result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadUnsubscribeResponse {
    pub status: ThreadUnsubscribeStatus,
}

/// What `thread/unsubscribe` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ThreadUnsubscribeStatus {
    Unsubscribed,
    NotSubscribed,
    /// The thread is not loaded (Codex value; agentd answers `notSubscribed` for it too).
    NotLoaded,
}

/// `thread/name/set` params.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadSetNameParams {
    pub thread_id: String,
    pub name: String,
}

/// `thread/name/set` result: `{}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ThreadSetNameResponse {}

/// `thread/rollback` params (agentd).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadRollbackParams {
    pub thread_id: String,
    /// How many of the last turns to drop from the model's history (at least 1).
    pub num_turns: u32,
}

/// `thread/rollback` result (agentd). File edits are reported, not reverted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadRollbackResponse {
    pub thread: Thread,
    /// Paths the dropped turns changed.
    pub changed_files: Vec<String>,
}

/// `thread/search` params (agentd): full text over messages and commands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadSearchParams {
    pub query: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
}

/// `thread/search` result (agentd).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadSearchResponse {
    pub data: Vec<ThreadSearchHit>,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// One `thread/search` hit (the shape of Codex's `ThreadSearchResult`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadSearchHit {
    pub thread: Thread,
    /// The matching text with some context around it.
    pub snippet: String,
}

/// `thread/compact/start` params.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadCompactStartParams {
    pub thread_id: String,
}

/// `thread/compact/start` result: `{}`; progress comes as turn and item events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ThreadCompactStartResponse {}
