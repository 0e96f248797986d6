//! agentd's side of an MCP connection (rmcp's `ClientHandler`): what it tells a server about
//! itself, and what it does with what a server sends unasked — a changed tool list, and
//! questions for the user (elicitations), which go to the people watching the thread whose
//! call is in progress, as `mcpServer/elicitation/request`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentd_protocol::{
    ApprovalDecision, McpElicitation, McpElicitationSchema, McpServerElicitationRequestParams,
};
use rmcp::model::{
    ClientCapabilities, ClientConfig, ElicitRequestParams, ElicitResult, ElicitationAction,
    Implementation, ProtocolVersion,
};
use rmcp::service::{NotificationContext, RequestContext};
use rmcp::{ClientHandler, ErrorData, RoleClient};
use tokio_util::sync::CancellationToken;

use crate::port::{ask, ApprovalRequest, ThreadLink};

/// A tool call in progress on this server: where a question the server asks meanwhile goes.
#[derive(Clone)]
pub struct Caller {
    pub link: ThreadLink,
    pub cancel: CancellationToken,
    pub approval_timeout: Duration,
}

/// State shared between a connection's handler (rmcp's tasks) and the daemon.
#[derive(Default)]
pub struct Shared {
    /// The server said its tools changed; they are listed again before the next model request.
    pub tools_changed: AtomicBool,
    next_caller: AtomicU64,
    callers: Mutex<Vec<(u64, Caller)>>,
}

/// Removes its caller when the call ends.
pub struct CallerGuard {
    shared: Arc<Shared>,
    id: u64,
}

impl Drop for CallerGuard {
    fn drop(&mut self) {
        if let Ok(mut callers) = self.shared.callers.lock() {
            callers.retain(|(id, _)| *id != self.id);
        }
    }
}

impl Shared {
    /// Records a call in progress until the guard drops.
    pub fn enter(self: &Arc<Self>, caller: Caller) -> CallerGuard {
        let id = self.next_caller.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut callers) = self.callers.lock() {
            callers.push((id, caller));
        }
        CallerGuard {
            shared: self.clone(),
            id,
        }
    }

    /// MCP does not say which call a question belongs to: the latest call in progress is the
    /// best guess (usually the only one).
    fn latest_caller(&self) -> Option<Caller> {
        self.callers.lock().ok()?.last().map(|(_, c)| c.clone())
    }
}

pub struct Handler {
    pub server: String,
    pub shared: Arc<Shared>,
}

impl ClientHandler for Handler {
    fn get_info(&self) -> ClientConfig {
        let capabilities = ClientCapabilities::builder().enable_elicitation().build();
        ClientConfig::new(
            capabilities,
            Implementation::new("agentd", env!("CARGO_PKG_VERSION")),
        )
        // rmcp's default is a version without `initialize`; servers that expect the
        // handshake (nearly all today) must keep working.
        .with_protocol_version(ProtocolVersion::V_2025_11_25)
    }

    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        tracing::debug!(server = %self.server, "MCP server's tools changed");
        self.shared.tools_changed.store(true, Ordering::Release);
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        let Some(caller) = self.shared.latest_caller() else {
            // Nobody to ask: no call of this server is in progress.
            tracing::info!(server = %self.server, "MCP elicitation outside a call declined");
            return Ok(ElicitResult::new(ElicitationAction::Decline));
        };
        let Some(question) = elicitation(request) else {
            return Ok(ElicitResult::new(ElicitationAction::Decline));
        };
        let params = McpServerElicitationRequestParams {
            thread_id: caller.link.thread_id().to_owned(),
            turn_id: Some(caller.link.turn_id().to_owned()),
            server_name: self.server.clone(),
            request: question,
        };
        let outcome = ask(
            &caller.link,
            ApprovalRequest::McpElicitation(params),
            caller.approval_timeout,
            &caller.cancel,
        )
        .await
        .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        Ok(match outcome.decision {
            ApprovalDecision::Accept | ApprovalDecision::AcceptForSession => {
                let result = ElicitResult::new(ElicitationAction::Accept);
                match outcome.content {
                    Some(content) => result.with_content(content),
                    None => result,
                }
            }
            ApprovalDecision::Decline => ElicitResult::new(ElicitationAction::Decline),
            ApprovalDecision::Cancel => ElicitResult::new(ElicitationAction::Cancel),
        })
    }
}

/// A server's question in the protocol's shape; `None` for a kind agentd cannot show.
fn elicitation(request: ElicitRequestParams) -> Option<McpElicitation> {
    let value = serde_json::to_value(&request).ok()?;
    match request {
        ElicitRequestParams::FormElicitationParams { message, .. } => {
            let schema: McpElicitationSchema =
                serde_json::from_value(value.get("requestedSchema")?.clone()).ok()?;
            Some(McpElicitation::Form {
                message,
                requested_schema: schema,
                meta: value.get("_meta").cloned(),
            })
        }
        ElicitRequestParams::UrlElicitationParams {
            message,
            url,
            elicitation_id,
            ..
        } => Some(McpElicitation::Url {
            message,
            url,
            elicitation_id,
            meta: value.get("_meta").cloned(),
        }),
        _ => None,
    }
}
