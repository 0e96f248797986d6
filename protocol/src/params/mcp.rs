//! MCP: the `mcpToolCall` item's parts, the question asked before an MCP tool runs (and the
//! questions MCP servers ask themselves), `mcpServerStatus/list`,
//! `mcpServer/startupStatus/updated` and `config/mcpServer/reload`. Names and shapes are
//! Codex's app-server protocol's.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where an `mcpToolCall` item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum McpToolCallStatus {
    InProgress,
    Completed,
    Failed,
}

/// What an MCP tool returned: its content blocks as the server sent them (text, image, …;
/// large ones cut for clients) and its structured content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct McpToolCallResult {
    pub content: Vec<Value>,
    #[serde(default)]
    pub structured_content: Option<Value>,
}

/// Why an MCP call failed: the server's error result, a protocol error, a timeout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct McpToolCallError {
    pub message: String,
}

/// `mcpServer/elicitation/request` params: a form (or a URL to open) for the people watching a
/// thread. agentd asks this way before running an MCP tool — one optional boolean `remember`
/// in the form, the call in `_meta["agentd/toolApproval"]` — and forwards the questions MCP
/// servers send themselves during a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct McpServerElicitationRequestParams {
    pub thread_id: String,
    /// The turn the question belongs to, when it could be told.
    #[serde(default)]
    pub turn_id: Option<String>,
    pub server_name: String,
    #[serde(flatten)]
    pub request: McpElicitation,
}

/// The question itself, tagged by `mode`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(
    tag = "mode",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum McpElicitation {
    /// Fill in a form: `requestedSchema` is a flat object schema of primitive properties.
    Form {
        message: String,
        requested_schema: McpElicitationSchema,
        #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
        meta: Option<Value>,
    },
    /// Open a URL (the answer only says whether the person went there).
    Url {
        message: String,
        url: String,
        elicitation_id: String,
        #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
        meta: Option<Value>,
    },
}

/// A form's schema (MCP 2025-11-25 `ElicitRequestFormParams.requestedSchema`): an object whose
/// properties are strings, numbers, booleans or enums.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct McpElicitationSchema {
    /// Always `object`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Each property's schema, as the server (or agentd) wrote it.
    pub properties: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<Vec<String>>,
}

impl McpElicitationSchema {
    /// The form of agentd's question before an MCP tool runs: one optional boolean,
    /// `remember` (true: do not ask about this tool again in the thread).
    pub fn tool_approval() -> Self {
        let remember = serde_json::json!({
            "type": "boolean",
            "title": "Don't ask again for this tool in this thread",
            "default": false,
        });
        McpElicitationSchema {
            kind: "object".into(),
            properties: BTreeMap::from([("remember".to_owned(), remember)]),
            required: None,
        }
    }
}

/// `_meta["agentd/toolApproval"]` of the question asked before an MCP tool runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct McpToolApprovalMeta {
    pub server: String,
    pub tool: String,
    pub arguments: Value,
    pub item_id: String,
}

/// The `_meta` key holding [`McpToolApprovalMeta`].
pub const TOOL_APPROVAL_META_KEY: &str = "agentd/toolApproval";

/// A person's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum McpServerElicitationAction {
    Accept,
    Decline,
    Cancel,
}

/// `mcpServer/elicitation/request` result. For a tool approval, `accept` with
/// `content: {"remember": true}` also approves the tool for the rest of the thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct McpServerElicitationRequestResponse {
    pub action: McpServerElicitationAction,
    /// The form's values (accept only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Value>,
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Value>,
}

/// `mcpServerStatus/list` params.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListMcpServerStatusParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Only this server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    /// Also the servers this thread added (`thread/start {config: {mcp_servers}}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<String>,
}

/// `mcpServerStatus/list` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListMcpServerStatusResponse {
    pub data: Vec<McpServerStatus>,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// One configured MCP server: what it offers and how it is doing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct McpServerStatus {
    pub name: String,
    /// Its tools by their names on the server (the model sees them as `mcp__<server>__<tool>`).
    pub tools: BTreeMap<String, McpTool>,
    /// agentd does not read MCP resources yet: always empty.
    pub resources: Vec<Value>,
    pub resource_templates: Vec<Value>,
    pub auth_status: McpAuthStatus,
    #[serde(default)]
    pub runtime_status: Option<McpServerConnectionStatus>,
    /// Why it is not connected (or why its tools could not be listed).
    #[serde(default)]
    pub tools_error: Option<String>,
    #[serde(default)]
    pub server_info: Option<McpServerInfo>,
    /// `scheme://host[:port]` of an HTTP server; null for stdio.
    #[serde(default)]
    pub http_origin: Option<String>,
    /// agentd: the thread that added it, for a per-thread server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<String>,
}

/// A tool as its MCP server describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct McpTool {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub input_schema: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Value>,
}

/// What the server said about itself at `initialize`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct McpServerInfo {
    pub name: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// How agentd authenticates to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum McpAuthStatus {
    Unknown,
    Unsupported,
    NotLoggedIn,
    BearerToken,
    OAuth,
}

/// A server's connection, now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum McpServerConnectionStatus {
    NotStarted,
    Starting,
    Connected,
    AuthenticationRequired,
    Failed,
    Cancelled,
    Disabled,
}

/// Where a server's start-up got to (`mcpServer/startupStatus/updated`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum McpServerStartupState {
    Starting,
    Ready,
    Failed,
    Cancelled,
}

/// `config/mcpServer/reload` params: none (Codex sends `null`; an object is ignored).
pub type McpServerRefreshParams = super::config::ConfigRequirementsReadParams;

/// `config/mcpServer/reload` result: servers were stopped and start again from the config file
/// in the background; `mcpServer/startupStatus/updated` tells how each does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct McpServerRefreshResponse {}
