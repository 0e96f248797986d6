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

use super::bounds::{clip, json_len_within};
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
    /// A question of this server's is open.
    asking: AtomicBool,
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

    /// Where a question goes. MCP does not say which call it belongs to: the latest call in
    /// progress is the best guess (usually the only one) — but only while every call in
    /// progress is the same thread's. A server shared by threads must not put one thread's
    /// question to another thread's people.
    fn caller_to_ask(&self) -> Option<Caller> {
        let callers = self.callers.lock().ok()?;
        let (_, latest) = callers.last()?;
        let thread = latest.link.thread_id();
        callers
            .iter()
            .all(|(_, c)| c.link.thread_id() == thread)
            .then(|| latest.clone())
    }

    /// One question at a time per server: a server cannot queue thousands of them.
    fn start_asking(self: &Arc<Self>) -> Option<Asking> {
        self.asking
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .ok()?;
        Some(Asking(self.clone()))
    }
}

/// The server's one question in progress; the next may come when it drops.
struct Asking(Arc<Shared>);

impl Drop for Asking {
    fn drop(&mut self) {
        self.0.asking.store(false, Ordering::Release);
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
        let Some(caller) = self.shared.caller_to_ask() else {
            // Nobody to ask: no call of this server is in progress, or calls of several threads.
            tracing::info!(server = %self.server, "MCP elicitation declined: no single thread's call in progress");
            return Ok(ElicitResult::new(ElicitationAction::Decline));
        };
        let Some(_asking) = self.shared.start_asking() else {
            tracing::info!(server = %self.server, "MCP elicitation declined: another is still open");
            return Ok(ElicitResult::new(ElicitationAction::Decline));
        };
        let Some(question) = elicitation(request) else {
            tracing::info!(server = %self.server, "MCP elicitation declined: a kind or size agentd does not show");
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

/// Bytes of a question's message shown; of its URL, schema and `_meta` accepted.
const MAX_MESSAGE: usize = 4096;
const MAX_URL: usize = 2048;
const MAX_SCHEMA: usize = 32 * 1024;
const MAX_META: usize = 8 * 1024;

/// A server's question in the protocol's shape; `None` for a kind agentd cannot show, or one
/// too large to put to people (a long message is cut; a large `_meta` is dropped).
fn elicitation(request: ElicitRequestParams) -> Option<McpElicitation> {
    let value = serde_json::to_value(&request).ok()?;
    let meta = value
        .get("_meta")
        .filter(|m| json_len_within(m, MAX_META).is_some())
        .cloned();
    match request {
        ElicitRequestParams::FormElicitationParams { message, .. } => {
            let schema = value.get("requestedSchema")?;
            json_len_within(schema, MAX_SCHEMA)?;
            let schema: McpElicitationSchema = serde_json::from_value(schema.clone()).ok()?;
            Some(McpElicitation::Form {
                message: clip(&message, MAX_MESSAGE),
                requested_schema: schema,
                meta,
            })
        }
        ElicitRequestParams::UrlElicitationParams {
            message,
            url,
            elicitation_id,
            ..
        } if url.len() <= MAX_URL && elicitation_id.len() <= MAX_URL => Some(McpElicitation::Url {
            message: clip(&message, MAX_MESSAGE),
            url,
            elicitation_id,
            meta,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use serde_json::json;

    fn caller(store: &Store, thread: &str) -> Caller {
        let (tx, _) = tokio::sync::mpsc::channel(1);
        Caller {
            link: ThreadLink::new(thread.into(), "turn".into(), store.clone(), tx),
            cancel: CancellationToken::new(),
            approval_timeout: Duration::from_secs(1),
        }
    }

    /// A server's question goes to the thread whose call is in progress — none while calls of
    /// two threads are — and a second question waits for no one: it is declined.
    #[tokio::test]
    async fn a_question_goes_to_one_thread_and_one_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("agentd.db")).await.unwrap();
        let shared = Arc::new(Shared::default());
        assert!(shared.caller_to_ask().is_none());
        let _a1 = shared.enter(caller(&store, "a"));
        let _a2 = shared.enter(caller(&store, "a"));
        let asked = shared
            .caller_to_ask()
            .map(|c| c.link.thread_id().to_owned());
        assert_eq!(asked.as_deref(), Some("a"));
        let b = shared.enter(caller(&store, "b"));
        assert!(shared.caller_to_ask().is_none());
        drop(b);
        assert!(shared.caller_to_ask().is_some());

        let first = shared.start_asking();
        assert!(first.is_some());
        assert!(shared.start_asking().is_none());
        drop(first);
        assert!(shared.start_asking().is_some());
    }

    fn form(message: &str, schema: serde_json::Value) -> ElicitRequestParams {
        serde_json::from_value(json!({
            "mode": "form",
            "message": message,
            "requestedSchema": schema,
        }))
        .unwrap()
    }

    #[test]
    fn long_messages_are_cut_and_huge_questions_not_shown() {
        let schema = json!({"type": "object", "properties": {"ok": {"type": "boolean"}}});
        let Some(McpElicitation::Form { message, .. }) =
            elicitation(form(&"m".repeat(100_000), schema))
        else {
            panic!("a form question with a long message was not shown");
        };
        assert!(message.len() < MAX_MESSAGE + 100, "{}", message.len());
        let huge = json!({
            "type": "object",
            "properties": {"ok": {"type": "boolean", "description": "d".repeat(MAX_SCHEMA)}}
        });
        assert!(elicitation(form("fine", huge)).is_none());
        let url: ElicitRequestParams = serde_json::from_value(json!({
            "mode": "url",
            "message": "open this",
            "url": format!("https://example.com/{}", "p".repeat(MAX_URL)),
            "elicitationId": "e1",
        }))
        .unwrap();
        assert!(elicitation(url).is_none());
    }
}
