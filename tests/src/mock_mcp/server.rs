//! The `ServerHandler`: advertises tools (with listChanged), lists them and hands calls to
//! [`calls`](super::calls). One value per stdio process; over HTTP one per session, all
//! sharing the process-wide state (the record file and whether `late` exists).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CancelledNotificationParam, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig,
};
use rmcp::service::{NotificationContext, RequestContext};
use rmcp::{ErrorData, RoleServer, ServerHandler};

use super::{calls, tools, Record};

#[derive(Clone, Debug, Default)]
pub struct MockServer {
    pub(super) record: Record,
    /// Set by `add_tool`: `late` is listed (and callable) from then on.
    pub(super) late: Arc<AtomicBool>,
}

impl MockServer {
    pub fn new(record: Record) -> Self {
        Self {
            record,
            late: Arc::default(),
        }
    }

    pub(super) fn has_late_tool(&self) -> bool {
        self.late.load(Ordering::SeqCst)
    }
}

impl ServerHandler for MockServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .build(),
        )
        .with_server_info(Implementation::new("mock-mcp", env!("CARGO_PKG_VERSION")))
        .with_instructions("A scripted MCP server for agentd's end-to-end tests.")
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tools::list(
            self.has_late_tool(),
        )))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        calls::call(self, request, ctx).await.map(Into::into)
    }

    /// Records that the client sent `notifications/cancelled` (the request's `ctx.ct` also
    /// fires when the connection closes, so this line tells the two apart).
    async fn on_cancelled(
        &self,
        notification: CancelledNotificationParam,
        _ctx: NotificationContext<RoleServer>,
    ) {
        let id = notification
            .request_id
            .map_or_else(|| "none".to_owned(), |id| id.to_string());
        self.record.line(&format!("notification cancelled {id}"));
    }
}
