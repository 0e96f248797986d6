//! `agentd mcp-server`: agentd as an MCP server on stdio, so another agent or an editor can hand
//! it work (as `codex mcp-server` does). Tools: `agentd` (a new thread, one turn) and
//! `agentd-reply` (another turn). The threads are the daemon's like any other — stored, listed,
//! watched by every client — because this is a client of the daemon serving the data directory
//! (or of one started in this process when none is).

mod tools;
mod turn;

use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::client::{Connector, DriveArgs};
use crate::config::LoadOptions;

pub use tools::schema as tool_schema;

/// `agentd mcp-server`'s flags: which daemon to drive.
#[derive(Debug, Clone, Args)]
pub struct McpServerArgs {
    #[command(flatten)]
    pub drive: DriveArgs,
}

pub fn main(args: McpServerArgs) -> ExitCode {
    crate::client::run_to_exit("mcp-server", run(args))
}

async fn run(args: McpServerArgs) -> anyhow::Result<()> {
    let opts = args.drive.serve_options();
    let connect = args.drive.connect_to();
    let reached = crate::client::reach(&opts, connect.clone()).await?;
    let server = AgentdMcp {
        connector: reached.connector.clone(),
        load: connect.is_none().then(|| opts.load_options()).transpose()?,
        calls: Arc::new(Semaphore::new(MAX_CALLS)),
    };
    let served = async {
        let service = server.serve(rmcp::transport::stdio()).await?;
        service.waiting().await?;
        anyhow::Ok(())
    }
    .await;
    if let Some(host) = reached.host {
        host.stop().await;
    }
    served
}

struct AgentdMcp {
    connector: Connector,
    /// How the config is loaded (for `profile`), when the daemon is local.
    load: Option<LoadOptions>,
    /// Calls in progress: each runs a turn (a thread, a daemon connection, a model stream),
    /// so a client cannot start them without end.
    calls: Arc<Semaphore>,
}

/// Calls that may run at once; one more is refused, not queued.
const MAX_CALLS: usize = 16;

/// What a call returns besides the text: the thread to continue (Codex's shape).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Structured<'a> {
    thread_id: &'a str,
    content: &'a str,
}

impl ServerHandler for AgentdMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("agentd", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "agentd runs a coding agent. Call `agentd` with a prompt to start a thread; \
                 continue it with `agentd-reply` and the threadId it returned.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tools::list()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let Ok(_call) = self.calls.clone().try_acquire_owned() else {
            return Err(ErrorData::invalid_request(
                format!("{MAX_CALLS} agentd calls are in progress; wait for one to finish"),
                None,
            ));
        };
        let arguments = serde_json::Value::Object(request.arguments.unwrap_or_default());
        let invalid = |e: serde_json::Error| ErrorData::invalid_params(e.to_string(), None);
        let mut client = self
            .connector
            .connect("agentd-mcp-server")
            .await
            .map_err(|e| {
                ErrorData::internal_error(format!("cannot reach the daemon: {e}"), None)
            })?;
        let outcome = match request.name.as_ref() {
            tools::START => {
                let args = serde_json::from_value(arguments).map_err(invalid)?;
                turn::start(&mut client, args, self.load.as_ref(), &context.ct).await
            }
            tools::REPLY => {
                let args = serde_json::from_value(arguments).map_err(invalid)?;
                turn::reply(&mut client, args, &context.ct).await
            }
            other => {
                return Err(ErrorData::invalid_params(
                    format!("no tool named {other}; there are agentd and agentd-reply"),
                    None,
                ))
            }
        };
        Ok(result(outcome).into())
    }
}

/// The call's result: the agent's final message (or why there is none) as text, and
/// `{threadId, content}` as structured content. A failed turn is a tool error, not a protocol
/// error: the calling agent reads it.
fn result(outcome: anyhow::Result<turn::Outcome>) -> CallToolResult {
    match outcome {
        Ok(o) => {
            let text = match &o.failure {
                None => o.message.clone(),
                Some(why) => format!("{why}\n{}", o.message).trim_end().to_owned(),
            };
            let structured = serde_json::to_value(Structured {
                thread_id: &o.thread_id,
                content: &text,
            })
            .unwrap_or_default();
            let mut result = if o.failure.is_some() {
                CallToolResult::error(vec![ContentBlock::text(text)])
            } else {
                CallToolResult::success(vec![ContentBlock::text(text)])
            };
            result.structured_content = Some(structured);
            result
        }
        Err(e) => CallToolResult::error(vec![ContentBlock::text(crate::errors::describe(&e))]),
    }
}
