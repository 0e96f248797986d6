//! Asking the people watching a thread, with a deadline.

use std::time::Duration;

use agentd_protocol::method::ServerRequestMethod;
use agentd_protocol::methods::{
    CommandExecutionRequestApproval, FileChangeRequestApproval, McpServerElicitationRequest,
};
use agentd_protocol::{
    ApprovalDecision, CommandExecutionRequestApprovalParams, FileChangeRequestApprovalParams,
    McpServerElicitationAction, McpServerElicitationRequestParams,
    McpServerElicitationRequestResponse,
};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::{PortRequest, ThreadError, ThreadLink};

/// A question for the people watching a thread: one typed server→client request.
#[derive(Debug, Clone)]
pub enum ApprovalRequest {
    Command(CommandExecutionRequestApprovalParams),
    FileChange(FileChangeRequestApprovalParams),
    /// A form: before an MCP tool runs, or an MCP server's own question.
    McpElicitation(McpServerElicitationRequestParams),
}

/// A client's valid answer: the decision, and a form's values (elicitations only).
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalAnswer {
    pub decision: ApprovalDecision,
    pub content: Option<Value>,
}

impl ApprovalRequest {
    pub fn method(&self) -> &'static str {
        match self {
            ApprovalRequest::Command(_) => CommandExecutionRequestApproval::METHOD,
            ApprovalRequest::FileChange(_) => FileChangeRequestApproval::METHOD,
            ApprovalRequest::McpElicitation(_) => McpServerElicitationRequest::METHOD,
        }
    }

    /// The params as sent on the wire.
    pub fn params(&self) -> Value {
        let value = match self {
            ApprovalRequest::Command(p) => serde_json::to_value(p),
            ApprovalRequest::FileChange(p) => serde_json::to_value(p),
            ApprovalRequest::McpElicitation(p) => serde_json::to_value(p),
        };
        value.unwrap_or(Value::Null)
    }

    /// The decision in a client's answer, or `None` when the answer is not one. An elicitation's
    /// `accept` with `content.remember = true` is `acceptForSession`.
    pub fn answer_in(&self, answer: &Value) -> Option<ApprovalAnswer> {
        if let ApprovalRequest::McpElicitation(_) = self {
            let r: McpServerElicitationRequestResponse =
                serde_json::from_value(answer.clone()).ok()?;
            let remember = r
                .content
                .as_ref()
                .and_then(|c| c.get("remember"))
                .and_then(Value::as_bool)
                == Some(true);
            let decision = match r.action {
                McpServerElicitationAction::Accept if remember => {
                    ApprovalDecision::AcceptForSession
                }
                McpServerElicitationAction::Accept => ApprovalDecision::Accept,
                McpServerElicitationAction::Decline => ApprovalDecision::Decline,
                McpServerElicitationAction::Cancel => ApprovalDecision::Cancel,
            };
            return Some(ApprovalAnswer {
                decision,
                content: r.content,
            });
        }
        let decision = serde_json::from_value(answer.get("decision")?.clone()).ok()?;
        Some(ApprovalAnswer {
            decision,
            content: None,
        })
    }
}

/// How an approval ended, for the turn that asked.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalOutcome {
    pub decision: ApprovalDecision,
    pub decided_by: String,
    /// A form's values, when a client answered an elicitation with some.
    pub content: Option<Value>,
}

/// Sends an approval request to the thread's subscribers and waits for the first valid answer.
///
/// No answer within `timeout` counts as `decline`; the turn being interrupted meanwhile counts
/// as `cancel`. Either way the thread resolves the request (so everyone is told), and the
/// outcome returned is the one the thread recorded: if a client's answer reached it first, that
/// answer wins, and the turn never acts on a decision the clients were not told about.
pub async fn ask(
    link: &ThreadLink,
    request: ApprovalRequest,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<ApprovalOutcome, ThreadError> {
    // The request is not a log event: the thread sends it at once, while events queued before
    // it (the item it is about) wait for their commit. Waiting for that commit first means
    // every client has seen the item before it is asked about it.
    link.barrier().await?;
    let (waiter, mut outcome) = oneshot::channel();
    let (reply, id) = oneshot::channel();
    link.send(PortRequest::RequestApproval {
        request: Box::new(request),
        waiter,
        reply,
    })
    .await?;
    let id = id
        .await
        .map_err(|_| ThreadError::Closed(link.thread_id().to_owned()))?;
    let (decision, by) = tokio::select! {
        answered = &mut outcome => return Ok(answered.unwrap_or_else(|_| turn_over())),
        _ = tokio::time::sleep(timeout) => (ApprovalDecision::Decline, "timeout"),
        _ = cancel.cancelled() => (ApprovalDecision::Cancel, "agentd"),
    };
    let _ = link
        .send(PortRequest::CancelApproval {
            approval: id,
            decision,
            by,
        })
        .await;
    Ok(outcome.await.unwrap_or_else(|_| turn_over()))
}

/// The thread dropped the request without an answer: the turn is ending.
fn turn_over() -> ApprovalOutcome {
    ApprovalOutcome {
        decision: ApprovalDecision::Cancel,
        decided_by: "agentd".into(),
        content: None,
    }
}
