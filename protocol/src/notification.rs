//! Server→client notifications: one params struct per method, with its method name attached
//! through [`ServerNotification`].
//!
//! Every notification about a thread carries `threadId` (for `thread/started`, `thread.id`) and
//! `seq`, the event's position in the thread's log (PROTOCOL.md §7). `seq` is assigned by the
//! daemon when it appends the event, so it defaults to 0 and the daemon overwrites it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::hook::{HookInfo, HookRunStatus, HookRunSummary};
use crate::item::ThreadItem;
use crate::jsonrpc::RequestId;
use crate::method::ServerNotification;
use crate::params::approval::ApprovalDecision;
use crate::params::mcp::McpServerStartupState;
use crate::schema::{MethodSpec, TypeSpec};
use crate::thread::{Thread, ThreadStatus};
use crate::turn::{Turn, TurnError};
use crate::usage::ThreadTokenUsage;

macro_rules! notification_method {
    ($($ty:ty => $method:literal,)*) => {
        $(impl ServerNotification for $ty {
            const METHOD: &'static str = $method;
        })*
        /// Every server→client notification method agentd sends.
        pub const SERVER_NOTIFICATION_METHODS: &[&str] = &[$($method),*];
        /// [`SERVER_NOTIFICATION_METHODS`] with their params types, for the schema.
        pub const SERVER_NOTIFICATION_SPECS: &[MethodSpec] = &[$(MethodSpec {
            method: $method,
            params: TypeSpec::of::<$ty>(stringify!($ty)),
            result: None,
        }),*];
    };
}

notification_method! {
    ThreadStartedNotification => "thread/started",
    ThreadStatusChangedNotification => "thread/status/changed",
    ThreadArchivedNotification => "thread/archived",
    ThreadUnarchivedNotification => "thread/unarchived",
    ThreadNameUpdatedNotification => "thread/name/updated",
    ThreadTokenUsageUpdatedNotification => "thread/tokenUsage/updated",
    ThreadResyncRequiredNotification => "thread/resyncRequired",
    ThreadRolledBackNotification => "thread/rolledBack",
    TurnStartedNotification => "turn/started",
    TurnCompletedNotification => "turn/completed",
    TurnDiffUpdatedNotification => "turn/diff/updated",
    TurnPlanUpdatedNotification => "turn/plan/updated",
    ItemStartedNotification => "item/started",
    ItemCompletedNotification => "item/completed",
    AgentMessageDeltaNotification => "item/agentMessage/delta",
    ReasoningSummaryTextDeltaNotification => "item/reasoning/summaryTextDelta",
    CommandExecutionOutputDeltaNotification => "item/commandExecution/outputDelta",
    ServerRequestResolvedNotification => "serverRequest/resolved",
    HookStartedNotification => "hook/started",
    HookCompletedNotification => "hook/completed",
    ErrorNotification => "error",
    McpServerStatusUpdatedNotification => "mcpServer/startupStatus/updated",
    ThreadDeletedNotification => "thread/deleted",
    MemoryUpdatedNotification => "memory/updated",
    WarningNotification => "warning",
}

/// `thread/started`: a thread was created (by start or fork).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadStartedNotification {
    pub thread: Thread,
    /// Position in the thread's event log; assigned by the daemon when the event is appended.
    #[serde(default)]
    pub seq: u64,
}

/// `thread/status/changed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadStatusChangedNotification {
    pub thread_id: String,
    pub status: ThreadStatus,
    /// Position in the thread's event log; assigned by the daemon when the event is appended.
    #[serde(default)]
    pub seq: u64,
}

/// `thread/archived`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadArchivedNotification {
    pub thread_id: String,
    /// Position in the thread's event log; assigned by the daemon when the event is appended.
    #[serde(default)]
    pub seq: u64,
}

/// `thread/unarchived`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadUnarchivedNotification {
    pub thread_id: String,
    /// Position in the thread's event log; assigned by the daemon when the event is appended.
    #[serde(default)]
    pub seq: u64,
}

/// `thread/name/updated`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadNameUpdatedNotification {
    pub thread_id: String,
    /// The new name; `null` when it was cleared.
    #[serde(default)]
    pub thread_name: Option<String>,
    /// Position in the thread's event log; assigned by the daemon when the event is appended.
    #[serde(default)]
    pub seq: u64,
}

/// `thread/tokenUsage/updated`: after each model call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadTokenUsageUpdatedNotification {
    pub thread_id: String,
    pub turn_id: String,
    pub token_usage: ThreadTokenUsage,
    /// Position in the thread's event log; assigned by the daemon when the event is appended.
    #[serde(default)]
    pub seq: u64,
}

/// `thread/resyncRequired` (agentd): this connection's queue overflowed and events were
/// dropped; catch up with `thread/resume {afterSeq}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadResyncRequiredNotification {
    pub thread_id: String,
    /// The last `seq` this connection was sent; resume after it.
    pub after_seq: u64,
    /// Not itself a logged event: the thread's `lastSeq` when the notification was made.
    #[serde(default)]
    pub seq: u64,
}

/// `thread/rolledBack` (agentd): the last turns were dropped from the model's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadRolledBackNotification {
    pub thread_id: String,
    pub num_turns: u32,
    /// Paths the dropped turns changed (not reverted).
    pub changed_files: Vec<String>,
    /// Position in the thread's event log; assigned by the daemon when the event is appended.
    #[serde(default)]
    pub seq: u64,
}

/// `turn/started`: the turn, `inProgress`, with no items yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TurnStartedNotification {
    pub thread_id: String,
    pub turn: Turn,
    /// Position in the thread's event log; assigned by the daemon when the event is appended.
    #[serde(default)]
    pub seq: u64,
}

/// `turn/completed`: exactly one per turn, last of its events; status `completed`,
/// `interrupted` or `failed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TurnCompletedNotification {
    pub thread_id: String,
    pub turn: Turn,
    /// Position in the thread's event log; assigned by the daemon when the event is appended.
    #[serde(default)]
    pub seq: u64,
}

/// `turn/diff/updated`: the turn's combined diff so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TurnDiffUpdatedNotification {
    pub thread_id: String,
    pub turn_id: String,
    /// Unified diff.
    pub diff: String,
    /// Position in the thread's event log; assigned by the daemon when the event is appended.
    #[serde(default)]
    pub seq: u64,
}

/// `turn/plan/updated`: the agent changed its plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TurnPlanUpdatedNotification {
    pub thread_id: String,
    pub turn_id: String,
    #[serde(default)]
    pub explanation: Option<String>,
    pub plan: Vec<TurnPlanStep>,
    /// Position in the thread's event log; assigned by the daemon when the event is appended.
    #[serde(default)]
    pub seq: u64,
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TurnPlanStep {
    pub step: String,
    pub status: TurnPlanStepStatus,
}

/// Where a plan step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum TurnPlanStepStatus {
    Pending,
    InProgress,
    Completed,
}

/// `item/started`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ItemStartedNotification {
    pub thread_id: String,
    pub turn_id: String,
    pub item: ThreadItem,
    /// Unix ms.
    pub started_at_ms: i64,
    /// Position in the thread's event log; assigned by the daemon when the event is appended.
    #[serde(default)]
    pub seq: u64,
}

/// `item/completed`: the item's final, authoritative content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ItemCompletedNotification {
    pub thread_id: String,
    pub turn_id: String,
    pub item: ThreadItem,
    /// Unix ms.
    pub completed_at_ms: i64,
    /// Position in the thread's event log; assigned by the daemon when the event is appended.
    #[serde(default)]
    pub seq: u64,
}

/// `item/agentMessage/delta`: more text of an `agentMessage` item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentMessageDeltaNotification {
    pub thread_id: String,
    pub turn_id: String,
    pub item_id: String,
    pub delta: String,
    /// Position in the thread's event log; assigned by the daemon when the event is appended.
    #[serde(default)]
    pub seq: u64,
}

/// `item/reasoning/summaryTextDelta`: more text of one summary part of a `reasoning` item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReasoningSummaryTextDeltaNotification {
    pub thread_id: String,
    pub turn_id: String,
    pub item_id: String,
    pub delta: String,
    /// Which entry of the item's `summary` this extends.
    pub summary_index: i64,
    /// Position in the thread's event log; assigned by the daemon when the event is appended.
    #[serde(default)]
    pub seq: u64,
}

/// `item/commandExecution/outputDelta`: more output of a running command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommandExecutionOutputDeltaNotification {
    pub thread_id: String,
    pub turn_id: String,
    pub item_id: String,
    pub delta: String,
    /// Position in the thread's event log; assigned by the daemon when the event is appended.
    #[serde(default)]
    pub seq: u64,
}

/// `serverRequest/resolved`: an approval was answered (by this client or another).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerRequestResolvedNotification {
    pub thread_id: String,
    /// The id of the request as it was sent to *this* connection.
    pub request_id: RequestId,
    /// agentd: the winning answer.
    pub decision: ApprovalDecision,
    /// agentd: who answered.
    pub resolved_by: ResolvedBy,
    /// Position in the thread's event log; assigned by the daemon when the event is appended.
    #[serde(default)]
    pub seq: u64,
}

/// The client whose answer won.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedBy {
    /// Its `clientInfo.name`.
    pub client_name: String,
}

/// `hook/started`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookStartedNotification {
    pub thread_id: String,
    #[serde(default)]
    pub turn_id: Option<String>,
    /// Codex's description of the run.
    pub run: HookRunSummary,
    /// agentd: the event and command, as PROTOCOL.md describes them.
    pub hook: HookInfo,
    /// Position in the thread's event log; assigned by the daemon when the event is appended.
    #[serde(default)]
    pub seq: u64,
}

/// `hook/completed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookCompletedNotification {
    pub thread_id: String,
    #[serde(default)]
    pub turn_id: Option<String>,
    pub run: HookRunSummary,
    pub hook: HookInfo,
    /// agentd: how it ended (the same value as `run.status`).
    pub outcome: HookRunStatus,
    /// agentd: why, when the hook blocked or failed.
    #[serde(default)]
    pub reason: Option<String>,
    /// Position in the thread's event log; assigned by the daemon when the event is appended.
    #[serde(default)]
    pub seq: u64,
}

/// `error`: something went wrong that is not a request's answer.
///
/// Codex requires `threadId` and `turnId`; agentd omits them for errors that belong to no
/// thread or turn (such a notification does not validate against Codex's schema).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorNotification {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_id: Option<String>,
    pub error: TurnError,
    /// Whether the daemon retries on its own (e.g. a provider stream that dropped).
    #[serde(default)]
    pub will_retry: bool,
    /// Position in the thread's event log (0 when there is no thread); assigned by the daemon
    /// when the event is appended.
    #[serde(default)]
    pub seq: u64,
}

/// `mcpServer/startupStatus/updated`: an MCP server is starting, ready, or failed to start
/// (sent to every connection; a per-thread server's carries its `threadId`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct McpServerStatusUpdatedNotification {
    pub name: String,
    pub status: McpServerStartupState,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub thread_id: Option<String>,
    /// 0: not an event of a thread's log.
    #[serde(default)]
    pub seq: u64,
}

/// `memory/updated` (agentd): a project's memory changed (consolidated or reset), sent to every
/// connection; `project` is empty when every project's memory was reset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemoryUpdatedNotification {
    pub project: String,
}

/// `thread/deleted`: a thread and everything about it is gone (sent to every connection).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadDeletedNotification {
    pub thread_id: String,
    /// 0: the thread's log is gone with it.
    #[serde(default)]
    pub seq: u64,
}

/// `warning` (Codex's shape): something the client asked for was not done as asked, said to that
/// client only — e.g. the keys of a thread's `config` agentd does not apply per thread. A
/// warning about a thread every client must know (a daemon on another machine took over a
/// sub-agent whose worktree stayed behind) is an event of the thread's log and has a `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WarningNotification {
    /// One sentence for the user.
    pub message: String,
    /// The thread the warning is about, if one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<String>,
    /// Present when the warning is an event of the thread's log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}
