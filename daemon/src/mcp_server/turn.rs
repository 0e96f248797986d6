//! One tool call: start (or resume) the thread, start the turn, follow it to its end, and say
//! what the agent answered. Each call has a connection of its own, so calls run side by side.

use agentd_protocol::jsonrpc::RequestId;
use agentd_protocol::methods::{
    McpServerElicitationRequest, ThreadResume, ThreadStart, TurnInterrupt, TurnStart,
};
use agentd_protocol::{
    ApprovalDecision, AskForApproval, CommandExecutionRequestApprovalResponse,
    McpServerElicitationAction, McpServerElicitationRequestResponse, SandboxMode,
    ServerRequestMethod, SessionSource, ThreadOverrides, ThreadResumeParams, ThreadStartParams,
    TurnInterruptParams, TurnStartParams, TurnStatus, UserInput,
};
use anyhow::bail;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::tools::{ReplyArgs, StartArgs};
use crate::client::RpcClient;
use crate::config::{Config, LoadOptions};

/// How a call ended.
pub struct Outcome {
    pub thread_id: String,
    /// The agent's last message (empty if it wrote none).
    pub message: String,
    /// `Some(why)` when the turn failed or was interrupted.
    pub failure: Option<String>,
}

/// `agentd`: a new thread and its first turn.
pub async fn start(
    client: &mut RpcClient,
    args: StartArgs,
    load: Option<&LoadOptions>,
    cancel: &CancellationToken,
) -> anyhow::Result<Outcome> {
    let overrides = overrides(&args, load)?;
    let params = ThreadStartParams {
        overrides,
        ephemeral: None,
        session_source: Some(SessionSource::Custom("mcp".into())),
    };
    let thread = client.call::<ThreadStart>(&params).await?.thread.id;
    run_turn(client, thread, args.prompt, cancel).await
}

/// `agentd-reply`: another turn on a thread.
pub async fn reply(
    client: &mut RpcClient,
    args: ReplyArgs,
    cancel: &CancellationToken,
) -> anyhow::Result<Outcome> {
    let params = ThreadResumeParams {
        thread_id: args.thread_id.clone(),
        after_seq: None,
        exclude_turns: Some(true),
        overrides: ThreadOverrides::default(),
    };
    let thread = client.call::<ThreadResume>(&params).await?.thread.id;
    run_turn(client, thread, args.prompt, cancel).await
}

/// The thread's settings from the arguments, then the profile's (read from the config file),
/// then the daemon's.
fn overrides(args: &StartArgs, load: Option<&LoadOptions>) -> anyhow::Result<ThreadOverrides> {
    let profile = match (&args.profile, load) {
        (Some(name), Some(load)) => Some(
            Config::load(&LoadOptions {
                profile: Some(name.clone()),
                ..load.clone()
            })?
            .config,
        ),
        (Some(_), None) => {
            bail!("`profile` needs the daemon's config file; give the settings instead")
        }
        (None, _) => None,
    };
    let approval_policy = match &args.approval_policy {
        Some(word) => Some(word_as::<AskForApproval>("approval-policy", word)?),
        None => profile.as_ref().map(|c| c.approval_policy),
    };
    let sandbox = match &args.sandbox {
        Some(word) => Some(word_as::<SandboxMode>("sandbox", word)?),
        None => profile.as_ref().map(|c| c.sandbox_mode),
    };
    Ok(ThreadOverrides {
        cwd: args.cwd.clone(),
        model: args
            .model
            .clone()
            .or_else(|| profile.as_ref().map(|c| c.model.clone())),
        model_provider: profile.as_ref().map(|c| c.model_provider.clone()),
        approval_policy,
        sandbox,
        base_instructions: args.base_instructions.clone(),
        developer_instructions: args.developer_instructions.clone(),
        ..ThreadOverrides::default()
    })
}

fn word_as<T: serde::de::DeserializeOwned>(field: &str, word: &str) -> anyhow::Result<T> {
    serde_json::from_value(Value::String(word.to_owned()))
        .map_err(|e| anyhow::anyhow!("{field}: {e}"))
}

async fn run_turn(
    client: &mut RpcClient,
    thread_id: String,
    prompt: String,
    cancel: &CancellationToken,
) -> anyhow::Result<Outcome> {
    let params = TurnStartParams {
        thread_id: thread_id.clone(),
        input: vec![UserInput::text(prompt)],
        ..TurnStartParams::default()
    };
    let turn_id = client.call::<TurnStart>(&params).await?.turn.id;
    let mut message = String::new();
    let mut interrupting = false;
    loop {
        let next = tokio::select! {
            m = client.next() => m?,
            _ = cancel.cancelled(), if !interrupting => {
                interrupting = true;
                let p = TurnInterruptParams { thread_id: thread_id.clone(), turn_id: turn_id.clone() };
                client.call::<TurnInterrupt>(&p).await?;
                continue;
            }
        };
        let Some(method) = next.get("method").and_then(Value::as_str) else {
            continue;
        };
        if let Some(id) = next.get("id") {
            decline(client, id, method)?;
            continue;
        }
        let params = next.get("params").cloned().unwrap_or(Value::Null);
        if params["threadId"] != thread_id.as_str() {
            continue;
        }
        match method {
            "item/completed"
                if params["turnId"] == turn_id.as_str()
                    && params["item"]["type"] == "agentMessage" =>
            {
                message = params["item"]["text"].as_str().unwrap_or("").to_owned();
            }
            "turn/completed" if params["turn"]["id"] == turn_id.as_str() => {
                let failure = failure(&params["turn"]);
                return Ok(Outcome {
                    thread_id,
                    message,
                    failure,
                });
            }
            _ => {}
        }
    }
}

fn failure(turn: &Value) -> Option<String> {
    match serde_json::from_value::<TurnStatus>(turn["status"].clone()) {
        Ok(TurnStatus::Completed) => None,
        Ok(TurnStatus::Interrupted) => Some("the turn was interrupted".into()),
        _ => Some(
            turn["error"]["message"]
                .as_str()
                .unwrap_or("the turn failed")
                .to_owned(),
        ),
    }
}

/// Nobody can be asked through an MCP tool call: every question is declined (the model is
/// told), and the approval policy given decides what runs without asking.
fn decline(client: &RpcClient, id: &Value, method: &str) -> anyhow::Result<()> {
    let id: RequestId = serde_json::from_value(id.clone())?;
    if method == McpServerElicitationRequest::METHOD {
        client.respond(
            id,
            McpServerElicitationRequestResponse {
                action: McpServerElicitationAction::Decline,
                content: None,
                meta: None,
            },
        )?;
    } else {
        client.respond(
            id,
            CommandExecutionRequestApprovalResponse {
                decision: ApprovalDecision::Decline,
            },
        )?;
    }
    Ok(())
}
