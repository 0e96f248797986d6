//! Wire types of the agentd protocol (see `shared/design/PROTOCOL.md`).
//!
//! This crate is the whole wire vocabulary and nothing else: no I/O, no runtime. The daemon, the
//! tests and the schema generator all depend on it, so a shape is defined exactly once.
//!
//! Names follow the Codex app-server schema's definitions (`Thread`, `TurnStartParams`, …) so that
//! a reader can hold the two side by side; agentd-only types are named in the same style. The
//! main types are re-exported at the crate root: `agentd_protocol::Thread`.

pub mod error_data;
pub mod exec_event;
pub mod hook;
pub mod item;
pub mod jsonrpc;
pub mod method;
pub mod methods;
pub mod notification;
pub mod params;
pub mod policy;
#[doc(hidden)]
pub mod reference;
pub mod schema;
pub mod thread;
pub mod turn;
pub mod usage;

#[cfg(test)]
mod schema_check;
#[cfg(test)]
mod tests;

pub use hook::{
    HookErrorInfo, HookEventName, HookExecutionMode, HookHandlerType, HookInfo, HookMetadata,
    HookOutputEntry, HookOutputEntryKind, HookRunStatus, HookRunSummary, HookScope, HookSource,
    HookTrustStatus, HooksListEntry, HooksListParams, HooksListResponse,
};
pub use item::{
    AgentMessageItem, CollabAgentState, CollabAgentStatus, CollabAgentTool,
    CollabAgentToolCallItem, CollabAgentToolCallStatus, CommandAction, CommandExecutionItem,
    CommandExecutionStatus, ContextCompactionItem, FileChangeItem, FileUpdateChange,
    HookPromptFragment, HookPromptItem, ItemStatus, McpToolCallItem, PatchApplyStatus,
    PatchChangeKind, PlanItem, ReasoningItem, ThreadItem, UserInput, UserMessageItem,
    WebSearchAction, WebSearchItem,
};
pub use method::{ClientMethod, ServerNotification, ServerRequestMethod};
pub use methods::{
    CLIENT_METHODS, INITIALIZED_NOTIFICATION, SERVER_NOTIFICATION_METHODS, SERVER_REQUEST_METHODS,
};
pub use notification::*;
pub use params::approval::*;
pub use params::config::*;
pub use params::initialize::*;
pub use params::instructions::*;
pub use params::mcp::*;
pub use params::memory::*;
pub use params::surface::*;
pub use params::thread::*;
pub use params::turn::*;
pub use policy::{
    ApprovalsReviewer, AskForApproval, GranularApproval, SandboxMode, SandboxPolicy, WebSearchMode,
};
pub use thread::{
    SessionSource, SubAgentSource, Thread, ThreadActiveFlag, ThreadSpawnSource, ThreadStatus,
};
pub use turn::{Turn, TurnError, TurnItemsView, TurnStatus};
pub use usage::{ThreadTokenUsage, TokenUsageBreakdown};
