//! The schema of `config.toml`: one serde struct per table, every field optional, unknown keys
//! refused.
//!
//! Each layer (the file, each `-c` override) is checked against this schema on its own before
//! layers are merged, so an error can name the layer that brought the bad key. Defaults are not
//! here: an absent key means "keep what the layer below said", and only the final resolution
//! (`load.rs`) falls back to [`Config::defaults`](super::Config::defaults).

use std::collections::BTreeMap;
use std::path::PathBuf;

use agentd_protocol::{AskForApproval, SandboxMode};
use serde::Deserialize;

use super::error::ConfigError;
use super::WireApi;

/// The whole file, and also one `[profiles.NAME]` table (which may hold any top-level key but
/// `profile` and `profiles`; see [`validate`]).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigToml {
    pub model: Option<String>,
    pub model_provider: Option<String>,
    pub model_providers: Option<BTreeMap<String, ProviderToml>>,
    pub approval_policy: Option<AskForApproval>,
    pub sandbox_mode: Option<SandboxMode>,
    pub sandbox_workspace_write: Option<WorkspaceWriteToml>,
    /// agentd: threads a confined command may run at once (`RLIMIT_NPROC` in the sandbox).
    pub sandbox_max_processes: Option<u64>,
    pub model_context_window: Option<u64>,
    pub model_auto_compact_token_limit: Option<u64>,
    pub model_reasoning_effort: Option<String>,
    /// Codex's `web_search`: `disabled` | `cached` | `indexed` | `live`.
    pub web_search: Option<agentd_protocol::WebSearchMode>,
    pub instructions: Option<String>,
    pub developer_instructions: Option<String>,
    pub approval_timeout_ms: Option<u64>,
    /// agentd: seconds a thread nobody uses stays loaded before it is unloaded.
    pub thread_idle_unload_secs: Option<u64>,
    /// agentd: `postgres://USER@HOST:PORT/DB` to share threads with other daemons (default:
    /// the SQLite file in the data directory).
    pub store: Option<String>,
    /// agentd: milliseconds a thread lease lasts without renewal (PostgreSQL store).
    pub store_lease_ms: Option<u64>,
    pub shell_timeout_ms: Option<u64>,
    pub shell_output_cap_bytes: Option<usize>,
    pub shell_model_output_bytes: Option<usize>,
    pub models: Option<BTreeMap<String, ModelToml>>,
    pub hooks: Option<super::hooks::HooksToml>,
    /// `[agents]`: sub-agents.
    pub agents: Option<super::agents::AgentsToml>,
    /// `[memory]`: persistent memory across threads.
    pub memory: Option<super::memory::MemoryToml>,
    /// `[projects."/abs/path"]`: Codex's trust table.
    pub projects: Option<BTreeMap<String, super::hooks::ProjectToml>>,
    /// `[mcp_servers.NAME]` (`mcp.rs`).
    pub mcp_servers: Option<BTreeMap<String, super::McpServerToml>>,
    /// Origins (`https://host[:port]`) whose pages may open a WebSocket to the daemon.
    pub allowed_origins: Option<Vec<String>>,
    /// `[tls]`: serve `wss://` with this certificate and key.
    pub tls: Option<TlsToml>,
    /// The profile used when `--profile` is not given.
    pub profile: Option<String>,
    pub profiles: Option<BTreeMap<String, ConfigToml>>,
}

/// `[model_providers.ID]`. For a built-in id the fields given replace the built-in's; a new id
/// must at least say `base_url`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderToml {
    pub name: Option<String>,
    pub base_url: Option<String>,
    /// The *name* of the environment variable holding the API key, read per request.
    pub env_key: Option<String>,
    pub wire_api: Option<WireApi>,
    pub http_headers: Option<BTreeMap<String, String>>,
    pub query_params: Option<BTreeMap<String, String>>,
    pub request_max_retries: Option<u32>,
    pub stream_max_retries: Option<u32>,
    pub stream_idle_timeout_ms: Option<u64>,
}

/// `[sandbox_workspace_write]`: the details of the `workspace-write` sandbox.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceWriteToml {
    pub writable_roots: Option<Vec<PathBuf>>,
    pub network_access: Option<bool>,
    pub exclude_slash_tmp: Option<bool>,
    pub exclude_tmpdir_env_var: Option<bool>,
}

/// `[tls]`: PEM files; a relative path is read from the config file's directory.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsToml {
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
}

/// `[models.ID]`: what `model/list` says about a model besides its name.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelToml {
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub hidden: Option<bool>,
    pub default_reasoning_effort: Option<String>,
    pub supported_reasoning_efforts: Option<Vec<String>>,
    /// `["text", "image"]`, …: what `model/list` says the model takes (default: by the
    /// provider's wire).
    pub input_modalities: Option<Vec<agentd_protocol::InputModality>>,
}

/// Checks one layer against the schema. `origin` is how errors name the layer: a file path or
/// `-c KEY=VALUE`.
pub fn validate(table: toml::Table, origin: &str) -> Result<ConfigToml, ConfigError> {
    let parsed: ConfigToml =
        serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let key = e.path().to_string();
            let message = e.inner().message().to_owned();
            // serde_path_to_error already appends an unknown field's name to the path.
            if message.starts_with("unknown field") {
                ConfigError::UnknownKey {
                    origin: origin.to_owned(),
                    key,
                }
            } else {
                ConfigError::BadValue {
                    origin: origin.to_owned(),
                    key,
                    message,
                }
            }
        })?;
    // A profile is a set of top-level keys; profiles inside profiles would have no meaning.
    for (name, profile) in parsed.profiles.iter().flatten() {
        let nested = [
            ("profile", profile.profile.is_some()),
            ("profiles", profile.profiles.is_some()),
        ];
        if let Some((key, _)) = nested.iter().find(|(_, present)| *present) {
            return Err(ConfigError::UnknownKey {
                origin: origin.to_owned(),
                key: format!("profiles.{name}.{key}"),
            });
        }
    }
    Ok(parsed)
}
