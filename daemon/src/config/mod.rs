//! Configuration: loaded once at start and passed down as values.
//!
//! Layers, lowest first: built-in defaults → `config.toml` (`$XDG_CONFIG_HOME/agentd/`, or
//! `--config PATH`) → the selected `[profiles.NAME]` → each `-c KEY=VALUE` in order. Every layer
//! is checked against the schema on its own (`file.rs`), so an error names the file or the
//! override that brought the bad key; [`LoadedConfig::origins`] remembers, per dotted key, which
//! layer set it, for `config/read`.
//!
//! Secrets stay out: an API key is never in the config, only the *name* of the environment
//! variable that holds it (`env_key`), read by the model client per request; and header or
//! query values whose names look secret are shown as `"***"` by both `Debug` and `Serialize`,
//! so neither a log line nor `config/read` can leak them.

mod agents;
mod error;
mod file;
mod hooks;
mod limits;
mod load;
mod mcp;
mod memory;
mod overrides;
mod providers;
mod resolve;
#[cfg(test)]
mod tests;
mod thread;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use agentd_protocol::{AskForApproval, SandboxMode};
use serde::{Deserialize, Serialize, Serializer};

pub use agents::{AgentsConfig, Role};
pub use error::ConfigError;
pub use hooks::{HookConfig, HookEvent, HooksConfig, Projects, DEFAULT_HOOK_TIMEOUT_MS};
pub use limits::Limits;
pub use mcp::{
    mcp_servers_from_json, McpServerConfig, McpServerToml, McpTransport, DEFAULT_STARTUP_TIMEOUT,
    DEFAULT_TOOL_TIMEOUT,
};
pub use memory::{MemoryConfig, PhaseModel};
pub use overrides::sort_codex_overrides;
pub use resolve::validate_origin;
pub use thread::{read_thread_config, thread_providers, ThreadConfig};

/// Threads (Linux counts threads against `RLIMIT_NPROC`) a sandboxed command may have at once
/// unless `sandbox_max_processes` says otherwise: enough for a parallel build, few enough that a
/// fork bomb stops long before the machine does.
pub const DEFAULT_SANDBOX_MAX_PROCESSES: u64 = 1024;
pub use load::{LoadOptions, LoadedConfig, Origin};
pub use providers::built_in as built_in_providers;
pub use providers::{
    DEFAULT_REQUEST_MAX_RETRIES, DEFAULT_STREAM_IDLE_TIMEOUT_MS, DEFAULT_STREAM_MAX_RETRIES,
};

/// The effective configuration. `Serialize` gives the `config/read` view: the config file's
/// key names, secrets redacted, absent optional keys left out.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    pub model: String,
    /// The id of the provider in [`Config::providers`] that serves `model`.
    pub model_provider: String,
    /// The profile that was applied, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    pub approval_policy: AskForApproval,
    pub sandbox_mode: SandboxMode,
    pub sandbox_workspace_write: WorkspaceWriteConfig,
    /// Threads a confined command may have at once: the fork-bomb stop, raised for big
    /// parallel builds.
    pub sandbox_max_processes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_context_window: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_auto_compact_token_limit: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_reasoning_effort: Option<String>,
    /// Whether the model may search the web (the provider's hosted tool; Responses API only).
    pub web_search: agentd_protocol::WebSearchMode,
    /// Replaces the built-in base instructions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Added to every thread as a developer message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub developer_instructions: Option<String>,
    /// How long a tool waits for an approval before counting it declined. Long, because an
    /// approval outlives a client's reconnect; bounded, so a forgotten turn still ends.
    pub approval_timeout_ms: u64,
    /// Seconds a thread with no subscriber, no running turn and no pending approval stays
    /// loaded before its memory is given back (it loads again on the next request).
    pub thread_idle_unload_secs: u64,
    /// Where threads are stored: `None` is the SQLite file in the data directory, a
    /// `postgres://` URL a database shared with other daemons. Never serialised: the URL may
    /// carry a password.
    #[serde(skip)]
    pub store: Option<String>,
    /// How long a thread lease lasts without renewal (PostgreSQL only): how soon another
    /// daemon takes over the threads of one that died.
    pub store_lease_ms: u64,
    /// A shell command's timeout when the model gives none.
    pub shell_timeout_ms: u64,
    /// Bytes of a command's output kept for clients (the rest is cut with a marker).
    pub shell_output_cap_bytes: usize,
    /// Bytes of a command's output shown to the model (head and tail).
    pub shell_model_output_bytes: usize,
    /// Built-ins plus `[model_providers.*]`, by id.
    #[serde(rename = "model_providers")]
    pub providers: BTreeMap<String, ProviderConfig>,
    /// `[models.*]`: what `model/list` says about models, by model name.
    pub models: BTreeMap<String, ModelInfo>,
    /// `[[hooks.EVENT]]`: commands run at lifecycle points of a turn (`tools/hooks.rs`).
    #[serde(skip_serializing_if = "HooksConfig::is_empty")]
    pub hooks: HooksConfig,
    /// Origins whose pages may open a WebSocket (besides the daemon's own); see `auth/origin.rs`.
    pub allowed_origins: Vec<String>,
    /// `[agents]`: sub-agents' limits and roles.
    pub agents: AgentsConfig,
    /// `[memory]`: the persistent memory pipeline.
    pub memory: MemoryConfig,
    /// `[projects."/abs/path"] trust_level`: repositories whose own hooks may run.
    #[serde(skip_serializing_if = "projects_empty")]
    pub projects: Projects,
    /// `[mcp_servers.NAME]`: MCP servers whose tools every thread is offered.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub mcp_servers: BTreeMap<String, McpServerConfig>,
    /// `[tls]`: when set, the WebSocket listener serves `wss://`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
    /// The workspace of a thread started with `cwd: null`: the daemon's own working directory.
    #[serde(skip)]
    pub default_cwd: PathBuf,
}

/// Which HTTP API a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WireApi {
    /// OpenAI Responses API (`POST /responses`, SSE).
    Responses,
    /// OpenAI-compatible Chat Completions (`POST /chat/completions`, SSE): Ollama, LM Studio,
    /// llama.cpp server, vLLM.
    Chat,
}

/// One model provider. `Debug` and `Serialize` redact secret-looking header and query values;
/// the model client reads the fields directly and so sends the real ones.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct ProviderConfig {
    /// The key in `[model_providers]` (left out when serialized: it is the map key).
    #[serde(skip)]
    pub id: String,
    pub name: String,
    pub base_url: String,
    /// The name of the environment variable holding the API key; `None` sends no key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env_key: Option<String>,
    pub wire_api: WireApi,
    #[serde(serialize_with = "serialize_redacted")]
    pub http_headers: BTreeMap<String, String>,
    #[serde(serialize_with = "serialize_redacted")]
    pub query_params: BTreeMap<String, String>,
    pub request_max_retries: u32,
    pub stream_max_retries: u32,
    pub stream_idle_timeout_ms: u64,
}

/// `[sandbox_workspace_write]`, with Codex's defaults (all off, no extra roots).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WorkspaceWriteConfig {
    /// Absolute paths writable besides the workspace.
    pub writable_roots: Vec<PathBuf>,
    pub network_access: bool,
    pub exclude_slash_tmp: bool,
    pub exclude_tmpdir_env_var: bool,
}

/// `[tls]`, resolved: absolute paths to PEM files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsConfig {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

/// `[models.NAME]`: optional descriptions for `model/list`; what is absent is filled in there.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ModelInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub hidden: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_reasoning_effort: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supported_reasoning_efforts: Option<Vec<String>>,
    /// What the model takes as input; `None`: what its provider's wire carries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_modalities: Option<Vec<agentd_protocol::InputModality>>,
}

impl Config {
    /// The config with no file and no overrides: `gpt-5` on `openai`, asking on request, in
    /// the workspace-write sandbox.
    pub fn defaults() -> Self {
        Config {
            model: "gpt-5".to_owned(),
            model_provider: "openai".to_owned(),
            profile: None,
            approval_policy: AskForApproval::OnRequest,
            sandbox_mode: SandboxMode::WorkspaceWrite,
            sandbox_workspace_write: WorkspaceWriteConfig::default(),
            sandbox_max_processes: DEFAULT_SANDBOX_MAX_PROCESSES,
            model_context_window: None,
            model_auto_compact_token_limit: None,
            model_reasoning_effort: None,
            web_search: agentd_protocol::WebSearchMode::Disabled,
            instructions: None,
            developer_instructions: None,
            approval_timeout_ms: 60 * 60 * 1000,
            thread_idle_unload_secs: 300,
            store: None,
            store_lease_ms: 10_000,
            shell_timeout_ms: 10_000,
            shell_output_cap_bytes: 1024 * 1024,
            shell_model_output_bytes: 10 * 1024,
            providers: providers::built_in(),
            models: BTreeMap::new(),
            hooks: HooksConfig::default(),
            allowed_origins: Vec::new(),
            mcp_servers: BTreeMap::new(),
            projects: Projects::default(),
            agents: AgentsConfig::default(),
            memory: MemoryConfig::default(),
            tls: None,
            default_cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
        }
    }

    /// Reads the config file and applies profile and overrides; see the module docs.
    pub fn load(opts: &LoadOptions) -> Result<LoadedConfig, ConfigError> {
        load::load(opts)
    }

    pub fn provider(&self, id: &str) -> Option<&ProviderConfig> {
        self.providers.get(id)
    }
}

impl fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .field("env_key", &self.env_key)
            .field("wire_api", &self.wire_api)
            .field("http_headers", &redacted(&self.http_headers))
            .field("query_params", &redacted(&self.query_params))
            .field("request_max_retries", &self.request_max_retries)
            .field("stream_max_retries", &self.stream_max_retries)
            .field("stream_idle_timeout_ms", &self.stream_idle_timeout_ms)
            .finish()
    }
}

/// Whether a header or query parameter name suggests its value is a credential. Generous on
/// purpose: hiding a harmless value costs nothing, showing a key costs a rotation.
pub fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["auth", "key", "token", "secret", "password", "cookie"]
        .iter()
        .any(|word| name.contains(word))
}

/// The placeholder shown instead of a secret value.
pub const REDACTED: &str = "***";

fn redacted(map: &BTreeMap<String, String>) -> BTreeMap<&str, &str> {
    map.iter()
        .map(|(k, v)| {
            let shown = if is_secret_name(k) { REDACTED } else { v };
            (k.as_str(), shown)
        })
        .collect()
}

fn serialize_redacted<S: Serializer>(
    map: &BTreeMap<String, String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    redacted(map).serialize(s)
}

fn projects_empty(p: &Projects) -> bool {
    p.trusted.is_empty()
}
