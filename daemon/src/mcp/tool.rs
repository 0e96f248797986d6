//! An MCP server's tool as a [`ToolHandler`]: the model sees `mcp__<server>__<tool>`; a call is
//! an `mcpToolCall` item, goes through the same pipeline as every tool (hooks, policy from the
//! tool's `readOnlyHint`, approval as `mcpServer/elicitation/request`), and its result or
//! failure goes back to the model — a failed call never fails the turn.

use std::sync::Arc;
use std::time::Instant;

use agentd_protocol::{
    ApprovalDecision, McpElicitation, McpElicitationSchema, McpServerElicitationRequestParams,
    McpToolApprovalMeta, McpToolCallError, McpToolCallItem, McpToolCallStatus, ThreadItem,
    TOOL_APPROVAL_META_KEY,
};
use async_trait::async_trait;
use rmcp::model::Tool;
use serde_json::{Map, Value};

use super::connection::CallError;
use super::handler::Caller;
use super::result::convert;
use super::schema;
use super::server::Server;
use crate::model::ToolSpec;
use crate::port::{ApprovalRequest, ThreadError};
use crate::tools::handler::{
    ApprovalKey, Attempt, Completion, Confinement, PreparedCall, Refusal, Risk, ToolHandler,
    ToolOutcome,
};
use crate::tools::ToolCtx;

/// Characters of a call's arguments shown in the approval question.
const MAX_QUESTION_ARGS: usize = 1000;

pub struct McpTool {
    server: Arc<Server>,
    tool: Tool,
    /// The name the model sees.
    name: String,
    parameters: Value,
}

impl McpTool {
    pub fn new(server: Arc<Server>, tool: Tool, name: String) -> Self {
        let (parameters, replaced) = schema::for_model(&tool.input_schema);
        if replaced {
            tracing::warn!(server = %server.name(), tool = %tool.name, "MCP tool's input schema replaced by an empty object schema (not an object schema, or too large)");
        }
        McpTool {
            server,
            tool,
            name,
            parameters,
        }
    }

    fn read_only(&self) -> bool {
        self.tool
            .annotations
            .as_ref()
            .and_then(|a| a.read_only_hint)
            .unwrap_or(false)
    }
}

impl ToolHandler for McpTool {
    fn spec(&self) -> ToolSpec {
        ToolSpec::Function {
            name: self.name.clone(),
            description: schema::description(self.tool.description.as_deref()),
            parameters: self.parameters.clone(),
        }
    }

    fn prepare(&self, _ctx: &ToolCtx<'_>, input: &str) -> Result<Box<dyn PreparedCall>, String> {
        let arguments = match input.trim() {
            "" => Map::new(),
            text => match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(map)) => map,
                Ok(Value::Null) => Map::new(),
                Ok(_) => return Err(format!("error: {} takes a JSON object", self.name)),
                Err(e) => return Err(format!("error: invalid arguments for {}: {e}", self.name)),
            },
        };
        let item = McpToolCallItem {
            id: uuid::Uuid::now_v7().to_string(),
            server: self.server.name().to_owned(),
            tool: self.tool.name.to_string(),
            status: McpToolCallStatus::InProgress,
            arguments: Value::Object(arguments.clone()),
            result: None,
            error: None,
            duration_ms: None,
            read_only_hint: Some(self.read_only()),
        };
        Ok(Box::new(McpCall {
            server: self.server.clone(),
            name: self.name.clone(),
            read_only: self.read_only(),
            arguments,
            item,
        }))
    }
}

struct McpCall {
    server: Arc<Server>,
    name: String,
    read_only: bool,
    arguments: Map<String, Value>,
    item: McpToolCallItem,
}

impl McpCall {
    fn failed(&self, message: String, duration_ms: Option<i64>) -> ThreadItem {
        let mut item = self.item.clone();
        item.status = McpToolCallStatus::Failed;
        item.error = Some(McpToolCallError { message });
        item.duration_ms = duration_ms;
        ThreadItem::McpToolCall(item)
    }

    fn question(&self) -> String {
        let mut args = Value::Object(self.arguments.clone()).to_string();
        if let Some((at, _)) = args.char_indices().nth(MAX_QUESTION_ARGS) {
            args.truncate(at);
            args.push('…');
        }
        format!(
            "Allow the MCP server `{}` to run its tool `{}` with arguments {args}?",
            self.item.server, self.item.tool
        )
    }
}

#[async_trait]
impl PreparedCall for McpCall {
    fn risk(&self, _ctx: &ToolCtx<'_>) -> Risk {
        if self.read_only {
            Risk::ReadOnly
        } else {
            Risk::Mutating
        }
    }

    fn item(&self) -> Option<ThreadItem> {
        Some(ThreadItem::McpToolCall(self.item.clone()))
    }

    fn approval_key(&self) -> Option<ApprovalKey> {
        let scope = self.server.thread_id.as_deref();
        Some(ApprovalKey::Tool(approval_key(
            scope,
            &self.item.server,
            &self.item.tool,
        )))
    }

    fn approval_request(
        &self,
        ctx: &ToolCtx<'_>,
        item_id: &str,
        _reason: String,
    ) -> Option<ApprovalRequest> {
        let meta = McpToolApprovalMeta {
            server: self.item.server.clone(),
            tool: self.item.tool.clone(),
            arguments: self.item.arguments.clone(),
            item_id: item_id.to_owned(),
        };
        let meta = Map::from_iter([(
            TOOL_APPROVAL_META_KEY.to_owned(),
            serde_json::to_value(meta).ok()?,
        )]);
        Some(ApprovalRequest::McpElicitation(
            McpServerElicitationRequestParams {
                thread_id: ctx.emitter.thread_id().to_owned(),
                turn_id: Some(ctx.emitter.turn_id().to_owned()),
                server_name: self.item.server.clone(),
                request: McpElicitation::Form {
                    message: self.question(),
                    requested_schema: McpElicitationSchema::tool_approval(),
                    meta: Some(Value::Object(meta)),
                },
            },
        ))
    }

    async fn attempt(
        &mut self,
        ctx: &mut ToolCtx<'_>,
        _confinement: Confinement,
    ) -> Result<Attempt, ThreadError> {
        let Some((live, _)) = self.server.ready().await else {
            let why = format!("MCP server `{}` is not running", self.item.server);
            return Ok(Attempt::Done(Completion::output(
                Some(self.failed(why.clone(), None)),
                format!("error: {why}"),
            )));
        };
        // Questions the server asks during the call go to this thread.
        let _caller = self.server.shared.enter(Caller {
            link: ctx.emitter.link().clone(),
            cancel: ctx.cancel.clone(),
            approval_timeout: ctx.approval_timeout,
        });
        let started = Instant::now();
        let call = live.connection.call(
            &self.item.tool,
            self.arguments.clone(),
            self.server.config.tool_timeout,
        );
        let result = tokio::select! {
            r = call => Some(r),
            _ = ctx.cancel.cancelled() => None,
        };
        let ms = Some(started.elapsed().as_millis().min(i64::MAX as u128) as i64);
        // A server that changes its tools while serving a call says so in a notification,
        // which rmcp hands to us on a task of its own — possibly after the call's result. Its
        // tools are listed again before the next request either way, so the model sees the
        // change deterministically.
        if live.connection.announces_tool_changes() {
            self.server
                .shared
                .tools_changed
                .store(true, std::sync::atomic::Ordering::Release);
        }
        let Some(result) = result else {
            return Ok(Attempt::Done(Completion {
                item: Some(self.failed("interrupted".into(), ms)),
                outcome: ToolOutcome::Interrupt,
            }));
        };
        let done = match result {
            Ok(result) => {
                let c = convert(
                    result,
                    ctx.shell.client_output_cap,
                    ctx.shell.model_output_cap,
                );
                let mut item = self.item.clone();
                item.duration_ms = ms;
                item.result = Some(c.result);
                let outcome = if c.is_error {
                    item.status = McpToolCallStatus::Failed;
                    item.error = Some(McpToolCallError {
                        message: c.text.clone(),
                    });
                    ToolOutcome::Output(format!("error: the tool reported an error:\n{}", c.text))
                } else if c.images.is_empty() {
                    item.status = McpToolCallStatus::Completed;
                    ToolOutcome::Output(c.text)
                } else {
                    item.status = McpToolCallStatus::Completed;
                    ToolOutcome::Rich {
                        text: c.text,
                        images: c.images,
                    }
                };
                Completion {
                    item: Some(ThreadItem::McpToolCall(item)),
                    outcome,
                }
            }
            Err(error) => {
                self.server.lost(&error).await;
                let why = match error {
                    CallError::Timeout(t) => format!("the tool did not answer within {t:?}"),
                    CallError::Closed(note) => format!("the MCP server went away: {note}"),
                    CallError::Protocol(message) => format!("the MCP server answered: {message}"),
                };
                Completion::output(Some(self.failed(why.clone(), ms)), format!("error: {why}"))
            }
        };
        Ok(Attempt::Done(done))
    }

    fn refused(&self, refusal: Refusal) -> Completion {
        match refusal {
            Refusal::Policy(reason) => {
                Completion::output(Some(self.failed(reason.clone(), None)), reason)
            }
            Refusal::Person {
                decision: ApprovalDecision::Cancel,
                by,
            } => Completion {
                item: Some(self.failed(format!("cancelled by {by}"), None)),
                outcome: ToolOutcome::Interrupt,
            },
            Refusal::Person { by, .. } => Completion::output(
                Some(self.failed(format!("declined by {by}"), None)),
                format!("the user declined this call of {} ({by})", self.name),
            ),
        }
    }
}

/// What "accept for the session" approves: this server's (the config's, or this thread's own)
/// tool of this name — not the name the model sees, which goes to whichever tool claims it
/// first and, after a tool list changes, may be another server's.
fn approval_key(scope: Option<&str>, server: &str, tool: &str) -> String {
    // Server names are checked (no NUL); the tool's own name comes last, so any name is safe.
    format!("{}\0{server}\0{tool}", scope.unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `a__b`'s tool `c` and `a`'s tool `b__c` may be offered under one model-visible name;
    /// approving one must not approve the other, nor a thread's server of the same name.
    #[test]
    fn an_approval_names_the_server_and_the_tools_own_name() {
        let keys = [
            approval_key(None, "a__b", "c"),
            approval_key(None, "a", "b__c"),
            approval_key(Some("thread-1"), "a", "b__c"),
            approval_key(Some("thread-2"), "a", "b__c"),
        ];
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(
                keys.iter().filter(|other| *other == k).count(),
                1,
                "key {i}"
            );
        }
    }
}
