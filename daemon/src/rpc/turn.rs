//! `turn/*` handlers: start, steer and interrupt the running turn of a thread.

use agentd_protocol::{
    SandboxMode, SandboxPolicy, TurnInterruptParams, TurnInterruptResponse, TurnStartParams,
    TurnSteerParams,
};

use super::connection::Session;
use super::dispatch::Handled;
use super::error::RpcError;
use super::overrides;
use crate::agent::input::history_of;
use crate::daemon::Daemon;

pub async fn start(
    daemon: &Daemon,
    session: &Session,
    mut p: TurnStartParams,
) -> Result<Handled, RpcError> {
    if let Some(schema) = &p.output_schema {
        check_output_schema(schema)?;
    }
    if let Some(profile) = p.permissions.take() {
        p.sandbox_policy = Some(profile_sandbox(&profile, p.sandbox_policy.is_some())?);
    }
    let history = history_of(&p.input).await?;
    let handle = daemon.hub.load(&p.thread_id).await?;
    let requested = match p.config.take() {
        None => overrides::Requested::default(),
        Some(config) => {
            let row = daemon.hub.store().thread(handle.id()).await?;
            let provider = row.map(|r| r.model_provider).unwrap_or_default();
            overrides::for_turn(daemon, session, Some(&config), &provider)?
        }
    };
    let servers = requested.patch.mcp_servers.clone();
    let answer = handle.start_turn_with(p, history, requested.patch).await?;
    if let Some(own) = servers {
        super::thread::restart_thread_servers(daemon, handle.id(), &own).await;
    }
    overrides::warn_ignored(session, handle.id(), &requested.ignored);
    Ok(Handled {
        result: answer,
        after: None,
    })
}

pub async fn steer(daemon: &Daemon, p: TurnSteerParams) -> Result<Handled, RpcError> {
    if p.input.is_empty() {
        return Err(RpcError::invalid_params("input", "must not be empty"));
    }
    let history = history_of(&p.input).await?;
    let handle = daemon.hub.load(&p.thread_id).await?;
    let answer = handle
        .steer_turn(p.input, history, p.expected_turn_id, p.client_request_id)
        .await?;
    Ok(Handled {
        result: answer,
        after: None,
    })
}

pub async fn interrupt(daemon: &Daemon, p: TurnInterruptParams) -> Result<Handled, RpcError> {
    let handle = daemon.hub.load(&p.thread_id).await?;
    handle.interrupt_turn(p.turn_id).await?;
    Handled::new(TurnInterruptResponse {})
}

/// The sandbox a permission profile stands for (agentd's profiles are the sandbox modes).
fn profile_sandbox(profile: &str, with_policy: bool) -> Result<SandboxPolicy, RpcError> {
    if with_policy {
        return Err(RpcError::invalid_params(
            "permissions",
            "cannot be combined with sandboxPolicy",
        ));
    }
    SandboxMode::from_permission_profile(profile)
        .map(SandboxPolicy::from_mode)
        .ok_or_else(|| {
            RpcError::invalid_params(
                "permissions",
                format!(
                    "no permission profile {profile:?}: agentd has :read-only, :workspace and \
                     :danger-full-access"
                ),
            )
        })
}

/// Structured output wants an object schema at the root (both wires refuse anything else, and
/// refusing it here names the field instead of failing the turn later).
fn check_output_schema(schema: &serde_json::Value) -> Result<(), RpcError> {
    let Some(object) = schema.as_object() else {
        return Err(RpcError::invalid_params(
            "outputSchema",
            "must be a JSON Schema object",
        ));
    };
    if object.get("type").and_then(|t| t.as_str()) != Some("object") {
        return Err(RpcError::invalid_params(
            "outputSchema",
            "the root must be `\"type\": \"object\"`",
        ));
    }
    if let Some(props) = object.get("properties") {
        if !props.is_object() {
            return Err(RpcError::invalid_params(
                "outputSchema.properties",
                "must be an object",
            ));
        }
    }
    Ok(())
}
