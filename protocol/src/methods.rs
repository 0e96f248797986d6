//! One zero-sized marker per method, tying its name to its params and result types, and the
//! lists of every method name (for dispatch tables, schema generation and tests).

use crate::hook::{HooksListParams, HooksListResponse};
use crate::method::{ClientMethod, ServerRequestMethod};
use crate::params::approval::*;
use crate::params::config::*;
use crate::params::initialize::*;
use crate::params::instructions::*;
use crate::params::mcp::*;
use crate::params::memory::*;
use crate::params::surface::*;
use crate::params::thread::*;
use crate::params::turn::*;
use crate::schema::{MethodSpec, TypeSpec};

pub use crate::notification::SERVER_NOTIFICATION_METHODS;

/// The client's notification after the `initialize` result.
pub const INITIALIZED_NOTIFICATION: &str = "initialized";

macro_rules! client_methods {
    ($($(#[$doc:meta])* $marker:ident = $method:literal: $params:ty => $response:ty;)*) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
            pub struct $marker;
            impl ClientMethod for $marker {
                const METHOD: &'static str = $method;
                type Params = $params;
                type Response = $response;
            }
        )*
        /// Every client→server request method agentd answers (others get -32601).
        pub const CLIENT_METHODS: &[&str] = &[$($method),*];
        /// [`CLIENT_METHODS`] with their params and result types, for the schema.
        pub const CLIENT_METHOD_SPECS: &[MethodSpec] = &[$(MethodSpec {
            method: $method,
            params: TypeSpec::of::<$params>(stringify!($params)),
            result: Some(TypeSpec::of::<$response>(stringify!($response))),
        }),*];
    };
}

client_methods! {
    /// `initialize`: the handshake.
    Initialize = "initialize": InitializeParams => InitializeResponse;
    /// `thread/start`.
    ThreadStart = "thread/start": ThreadStartParams => ThreadStartResponse;
    /// `thread/resume`.
    ThreadResume = "thread/resume": ThreadResumeParams => ThreadResumeResponse;
    /// `thread/fork`.
    ThreadFork = "thread/fork": ThreadForkParams => ThreadForkResponse;
    /// `thread/list`.
    ThreadList = "thread/list": ThreadListParams => ThreadListResponse;
    /// `thread/read`.
    ThreadRead = "thread/read": ThreadReadParams => ThreadReadResponse;
    /// `thread/archive`.
    ThreadArchive = "thread/archive": ThreadArchiveParams => ThreadArchiveResponse;
    /// `thread/unarchive`.
    ThreadUnarchive = "thread/unarchive": ThreadUnarchiveParams => ThreadUnarchiveResponse;
    /// `thread/unsubscribe`.
    ThreadUnsubscribe = "thread/unsubscribe": ThreadUnsubscribeParams => ThreadUnsubscribeResponse;
    /// `thread/name/set`.
    ThreadSetName = "thread/name/set": ThreadSetNameParams => ThreadSetNameResponse;
    /// `thread/rollback` (agentd).
    ThreadRollback = "thread/rollback": ThreadRollbackParams => ThreadRollbackResponse;
    /// `thread/search` (agentd).
    ThreadSearch = "thread/search": ThreadSearchParams => ThreadSearchResponse;
    /// `thread/compact/start`.
    ThreadCompactStart = "thread/compact/start": ThreadCompactStartParams => ThreadCompactStartResponse;
    /// `turn/start`.
    TurnStart = "turn/start": TurnStartParams => TurnStartResponse;
    /// `turn/steer`.
    TurnSteer = "turn/steer": TurnSteerParams => TurnSteerResponse;
    /// `turn/interrupt`.
    TurnInterrupt = "turn/interrupt": TurnInterruptParams => TurnInterruptResponse;
    /// `model/list`.
    ModelList = "model/list": ModelListParams => ModelListResponse;
    /// `config/read`.
    ConfigRead = "config/read": ConfigReadParams => ConfigReadResponse;
    /// `account/read`.
    AccountRead = "account/read": GetAccountParams => GetAccountResponse;
    /// `configRequirements/read` (sent with no params; see [`ConfigRequirementsReadParams`]).
    ConfigRequirementsRead = "configRequirements/read": ConfigRequirementsReadParams => ConfigRequirementsReadResponse;
    /// `hooks/list`.
    HooksList = "hooks/list": HooksListParams => HooksListResponse;
    /// `instructions/list` (agentd): the instruction files that apply in a directory.
    InstructionsList = "instructions/list": InstructionsListParams => InstructionsListResponse;
    /// `memory/read` (agentd): a project's memory, or every project's.
    MemoryRead = "memory/read": MemoryScopeParams => MemoryReadResponse;
    /// `memory/reset` (agentd): forget a project's memory, or all of it.
    MemoryReset = "memory/reset": MemoryScopeParams => MemoryResetResponse;
    /// `memory/rebuild` (agentd): run extraction and consolidation now.
    MemoryRebuild = "memory/rebuild": MemoryRebuildParams => MemoryRebuildResponse;
    /// `skills/list` (agentd has none).
    SkillsList = "skills/list": SkillsListParams => SkillsListResponse;
    /// `plugin/installed` (agentd has none).
    PluginInstalled = "plugin/installed": PluginInstalledParams => PluginInstalledResponse;
    /// `collaborationMode/list` (none).
    CollaborationModeList = "collaborationMode/list": PageParams => ListOfValues;
    /// `permissionProfile/list`: the sandbox modes.
    PermissionProfileList = "permissionProfile/list": PageParams => PermissionProfileListResponse;
    /// `thread/loaded/list`.
    ThreadLoadedList = "thread/loaded/list": PageParams => ThreadLoadedListResponse;
    /// `thread/turns/list`.
    ThreadTurnsList = "thread/turns/list": ThreadTurnsListParams => ThreadTurnsListResponse;
    /// `thread/items/list`.
    ThreadItemsList = "thread/items/list": ThreadItemsListParams => ThreadItemsListResponse;
    /// `thread/goal/get` (no goals).
    ThreadGoalGet = "thread/goal/get": ThreadIdParams => ThreadGoalGetResponse;
    /// `thread/backgroundTerminals/list` (none: agentd runs no background terminals).
    ThreadBackgroundTerminalsList = "thread/backgroundTerminals/list": ThreadBackgroundTerminalsListParams => ThreadBackgroundTerminalsListResponse;
    /// `thread/backgroundTerminals/terminate` (nothing to terminate).
    ThreadBackgroundTerminalsTerminate = "thread/backgroundTerminals/terminate": ThreadBackgroundTerminalsTerminateParams => ThreadBackgroundTerminalsTerminateResponse;
    /// `account/rateLimits/read` (unknown).
    AccountRateLimitsRead = "account/rateLimits/read": ConfigRequirementsReadParams => GetAccountRateLimitsResponse;
    /// `thread/revert`: `thread/rollback` by turn id.
    ThreadRevert = "thread/revert": ThreadRevertParams => ThreadRevertResponse;
    /// `thread/delete`.
    ThreadDelete = "thread/delete": ThreadIdParams => ThreadDeleteResponse;
    /// `command/exec` (admin).
    CommandExec = "command/exec": CommandExecParams => CommandExecResponse;
    /// `mcpServerStatus/list`.
    McpServerStatusList = "mcpServerStatus/list": ListMcpServerStatusParams => ListMcpServerStatusResponse;
    /// `config/mcpServer/reload`.
    McpServerReload = "config/mcpServer/reload": McpServerRefreshParams => McpServerRefreshResponse;
}

/// `item/commandExecution/requestApproval`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommandExecutionRequestApproval;
impl ServerRequestMethod for CommandExecutionRequestApproval {
    const METHOD: &'static str = "item/commandExecution/requestApproval";
    type Params = CommandExecutionRequestApprovalParams;
    type Response = CommandExecutionRequestApprovalResponse;
}

/// `item/fileChange/requestApproval`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileChangeRequestApproval;
impl ServerRequestMethod for FileChangeRequestApproval {
    const METHOD: &'static str = "item/fileChange/requestApproval";
    type Params = FileChangeRequestApprovalParams;
    type Response = FileChangeRequestApprovalResponse;
}

/// `mcpServer/elicitation/request`: before an MCP tool runs, and for an MCP server's own
/// questions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct McpServerElicitationRequest;
impl ServerRequestMethod for McpServerElicitationRequest {
    const METHOD: &'static str = "mcpServer/elicitation/request";
    type Params = McpServerElicitationRequestParams;
    type Response = McpServerElicitationRequestResponse;
}

/// Every server→client request method.
pub const SERVER_REQUEST_METHODS: &[&str] = &[
    CommandExecutionRequestApproval::METHOD,
    FileChangeRequestApproval::METHOD,
    McpServerElicitationRequest::METHOD,
];

/// [`SERVER_REQUEST_METHODS`] with their params and result types, for the schema.
pub const SERVER_REQUEST_SPECS: &[MethodSpec] = &[
    MethodSpec {
        method: CommandExecutionRequestApproval::METHOD,
        params: TypeSpec::of::<CommandExecutionRequestApprovalParams>(
            "CommandExecutionRequestApprovalParams",
        ),
        result: Some(TypeSpec::of::<CommandExecutionRequestApprovalResponse>(
            "CommandExecutionRequestApprovalResponse",
        )),
    },
    MethodSpec {
        method: FileChangeRequestApproval::METHOD,
        params: TypeSpec::of::<FileChangeRequestApprovalParams>("FileChangeRequestApprovalParams"),
        result: Some(TypeSpec::of::<FileChangeRequestApprovalResponse>(
            "FileChangeRequestApprovalResponse",
        )),
    },
    MethodSpec {
        method: McpServerElicitationRequest::METHOD,
        params: TypeSpec::of::<McpServerElicitationRequestParams>(
            "McpServerElicitationRequestParams",
        ),
        result: Some(TypeSpec::of::<McpServerElicitationRequestResponse>(
            "McpServerElicitationRequestResponse",
        )),
    },
];
