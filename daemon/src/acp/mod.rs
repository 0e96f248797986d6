//! `agentd acp`: agentd as an Agent Client Protocol agent on stdio, for editors (Zed,
//! JetBrains, Neovim, …). A client of the daemon serving the data directory (or of one started
//! in this process), so sessions are the daemon's threads: stored, listed, watched by every
//! other client, and one `agentd acp` per editor window shares them.

mod agent;
mod errors;
mod input;
mod mcp;
mod modes;
mod peer;
mod permission;
mod session;
mod translate;
mod wire;

use std::process::ExitCode;
use std::sync::Arc;

use agentd_protocol::jsonrpc::RequestId;
use clap::Args;
use serde_json::Value;

use crate::client::DriveArgs;
use crate::transport::{stdio, Inbound, Limits};
use agent::Agent;
use peer::Peer;

/// `agentd acp`'s flags: which daemon to drive.
#[derive(Debug, Clone, Args)]
pub struct AcpArgs {
    #[command(flatten)]
    pub drive: DriveArgs,
}

pub fn main(args: AcpArgs) -> ExitCode {
    crate::client::run_to_exit("acp", run(args))
}

async fn run(args: AcpArgs) -> anyhow::Result<()> {
    let opts = args.drive.serve_options();
    let reached = crate::client::reach(&opts, args.drive.connect_to()).await?;
    let (mut link, writer) = stdio::link(Limits::default());
    let agent = Agent::new(Peer::new(link.outbound.clone()), reached.connector.clone());
    drop(link.outbound);
    while let Some(inbound) = link.inbound.recv().await {
        receive(&agent, inbound).await;
    }
    drop(agent);
    if let Some(host) = reached.host {
        host.stop().await;
    }
    let _ = writer.await;
    Ok(())
}

/// One line from the client: a request (answered in a task of its own, so a long prompt never
/// holds up the next message), a notification, or an answer to one of our requests.
async fn receive(agent: &Arc<Agent>, inbound: Inbound) {
    let text = match inbound {
        Inbound::Text(text) => text,
        Inbound::TooLarge { len, limit } => {
            let e =
                errors::invalid_request(format!("a message of {len} bytes (the limit is {limit})"));
            agent.peer.error(None, &e).await;
            return;
        }
        Inbound::NotUtf8 | Inbound::Binary => {
            let e = agentd_protocol::jsonrpc::ErrorObject::new(
                agentd_protocol::jsonrpc::PARSE_ERROR,
                "parse error: not UTF-8",
            );
            agent.peer.error(None, &e).await;
            return;
        }
    };
    let message: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            let e = agentd_protocol::jsonrpc::ErrorObject::new(
                agentd_protocol::jsonrpc::PARSE_ERROR,
                format!("parse error: {e}"),
            );
            agent.peer.error(None, &e).await;
            return;
        }
    };
    let id = message.get("id").cloned();
    let method = message
        .get("method")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let params = message.get("params").cloned().unwrap_or(Value::Null);
    match (id, method) {
        (Some(id), Some(method)) => match serde_json::from_value::<RequestId>(id) {
            Ok(id) => {
                // A client that sends requests and does not read the answers stops being read
                // once MAX_REQUESTS of them wait: their tasks and answers cannot pile up.
                let Ok(permit) = agent.requests.clone().acquire_owned().await else {
                    return;
                };
                let agent = agent.clone();
                tokio::spawn(async move {
                    agent.request(id, method, params).await;
                    drop(permit);
                });
            }
            Err(e) => agent.peer.error(None, &errors::invalid_request(e)).await,
        },
        (None, Some(method)) => match method.as_str() {
            wire::method::SESSION_CANCEL => agent.cancel(params),
            other => tracing::debug!(method = other, "acp: notification ignored"),
        },
        (Some(id), None) => {
            let answer = match message.get("error") {
                Some(e) => Err(serde_json::from_value(e.clone()).unwrap_or_else(|_| {
                    errors::internal("the client answered with an unreadable error")
                })),
                None => Ok(message.get("result").cloned().unwrap_or(Value::Null)),
            };
            agent.peer.resolve(&id, answer);
        }
        (None, None) => {
            let e = errors::invalid_request("neither a method nor an id");
            agent.peer.error(None, &e).await;
        }
    }
}
