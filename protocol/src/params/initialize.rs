//! The `initialize` handshake. The client then sends the `initialized` notification
//! ([`crate::methods::INITIALIZED_NOTIFICATION`]); any other request before `initialize` gets
//! -32002.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `initialize` params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InitializeParams {
    pub client_info: ClientInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<InitializeCapabilities>,
}

/// Who the client is; `name` shows up in `serverRequest/resolved.resolvedBy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientInfo {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub version: String,
}

/// What the client can do or wants. Unknown capabilities (Codex sends several) are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InitializeCapabilities {
    /// Notification methods this connection must not be sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opt_out_notification_methods: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experimental_api: Option<bool>,
}

/// `initialize` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InitializeResponse {
    /// E.g. `agentd/0.1.0 (linux; x86_64)`.
    pub user_agent: String,
    /// agentd's config directory (Codex clients read it as their home).
    pub codex_home: String,
    /// `unix` or `windows`.
    pub platform_family: String,
    /// E.g. `linux`, `macos`.
    pub platform_os: String,
    /// agentd.
    pub server_info: ServerInfo,
    /// agentd: the protocol version, `"1"`.
    pub protocol_version: String,
}

/// The server's name (`"agentd"`) and version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerInfo {
    pub name: String,
    pub version: String,
}

/// The protocol version [`InitializeResponse::protocol_version`] carries.
pub const PROTOCOL_VERSION: &str = "1";
