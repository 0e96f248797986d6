//! The settings a client asks for when it starts, resumes or drives a thread — the typed
//! fields (`model`, `approvalPolicy`, …) and the keys of `config` (read by
//! `config::read_thread_config`) — as one [`SettingsPatch`]; the typed field wins where both
//! say something.
//!
//! Here too is who may ask for what (PROTOCOL.md §9): a key that starts a process on the host
//! (a stdio MCP server), defines a model provider (`model_providers.*`, which says where
//! requests and their API key go) or moves the thread to another provider needs an admin token;
//! on stdio every client is admin. Keys agentd does not apply per thread are not refused: the
//! client is told in one `warning`.

use agentd_protocol::{SandboxPolicy, ThreadOverrides, WarningNotification};
use serde_json::{Map, Value};

use super::connection::Session;
use super::error::RpcError;
use crate::auth::Scope;
use crate::config::{read_thread_config, ConfigError, ThreadConfig};
use crate::daemon::Daemon;
use crate::threads::SettingsPatch;

/// Ignored keys a warning names before it says "and N more".
const MAX_NAMED: usize = 20;

/// What a request asks to change, and the `config` keys it will not get.
#[derive(Debug, Default)]
pub struct Requested {
    pub patch: SettingsPatch,
    pub ignored: Vec<String>,
}

impl Requested {
    pub fn changes_nothing(&self) -> bool {
        self.patch == SettingsPatch::default()
    }
}

/// A bad value in `config` is -32602 naming `config.KEY`.
fn config_error(e: ConfigError) -> RpcError {
    match e {
        ConfigError::BadValue { key, message, .. } => {
            RpcError::invalid_params(&format!("config.{key}"), message)
        }
        other => RpcError::invalid_params("config", other),
    }
}

fn read(daemon: &Daemon, config: Option<&Map<String, Value>>) -> Result<ThreadConfig, RpcError> {
    match config {
        Some(c) => read_thread_config(c, &daemon.config).map_err(config_error),
        None => Ok(ThreadConfig::default()),
    }
}

/// `thread/start`'s and `thread/resume`'s overrides; `provider` is the one the thread has (or,
/// for a new thread, would get). `method` names the request in a refusal.
pub fn for_thread(
    daemon: &Daemon,
    session: &Session,
    method: &str,
    o: &ThreadOverrides,
    provider: &str,
) -> Result<Requested, RpcError> {
    let c = read(daemon, o.config.as_ref())?;
    let patch = SettingsPatch {
        model: o.model.clone().or(c.model),
        model_provider: o.model_provider.clone().or(c.model_provider),
        approval_policy: o.approval_policy.or(c.approval_policy),
        sandbox: o.sandbox.or(c.sandbox_mode).map(SandboxPolicy::from_mode),
        base_instructions: o.base_instructions.clone().or(c.instructions),
        developer_instructions: o
            .developer_instructions
            .clone()
            .or(c.developer_instructions),
        reasoning_effort: c.model_reasoning_effort,
        mcp_servers: c.mcp_servers,
        model_providers: c.model_providers,
        web_search: c.web_search,
    };
    let requested = Requested {
        patch,
        ignored: c.ignored,
    };
    check_scope(session, method, &requested, c.stdio_mcp_server, provider)?;
    Ok(requested)
}

/// `turn/start`'s `config` (its typed fields are applied by the thread itself).
pub fn for_turn(
    daemon: &Daemon,
    session: &Session,
    config: Option<&Map<String, Value>>,
    provider: &str,
) -> Result<Requested, RpcError> {
    let c = read(daemon, config)?;
    let patch = SettingsPatch {
        model: c.model,
        model_provider: c.model_provider,
        approval_policy: c.approval_policy,
        sandbox: c.sandbox_mode.map(SandboxPolicy::from_mode),
        base_instructions: c.instructions,
        developer_instructions: c.developer_instructions,
        reasoning_effort: c.model_reasoning_effort,
        mcp_servers: c.mcp_servers,
        model_providers: c.model_providers,
        web_search: c.web_search,
    };
    let requested = Requested {
        patch,
        ignored: c.ignored,
    };
    check_scope(
        session,
        "turn/start",
        &requested,
        c.stdio_mcp_server,
        provider,
    )?;
    Ok(requested)
}

/// Refuses what only an admin may ask for.
fn check_scope(
    session: &Session,
    method: &str,
    r: &Requested,
    stdio_mcp_server: bool,
    provider: &str,
) -> Result<(), RpcError> {
    if session.scope.allows(Scope::Admin) {
        return Ok(());
    }
    let what = if stdio_mcp_server {
        "a stdio MCP server"
    } else if r.patch.model_providers.is_some() {
        "config.model_providers"
    } else if r
        .patch
        .model_provider
        .as_deref()
        .is_some_and(|p| p != provider)
    {
        "another model provider"
    } else {
        return Ok(());
    };
    Err(RpcError::forbidden(
        &format!("{method} with {what}"),
        session.scope,
        Scope::Admin,
    ))
}

/// Tells the client which of its `config` keys were not applied (nothing when none).
pub fn warn_ignored(session: &Session, thread_id: &str, ignored: &[String]) {
    if ignored.is_empty() {
        return;
    }
    let mut named = ignored
        .iter()
        .take(MAX_NAMED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if ignored.len() > MAX_NAMED {
        named.push_str(&format!(" and {} more", ignored.len() - MAX_NAMED));
    }
    session.notify(&WarningNotification {
        message: format!("agentd does not apply these config keys to a thread; ignored: {named}"),
        thread_id: Some(thread_id.to_owned()),
        seq: None,
    });
}
