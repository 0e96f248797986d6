//! The daemon's questions (command, patch and MCP tool approvals) as ACP permission requests,
//! and the option a person picked as the daemon's answer.

use std::path::Path;

use agentd_protocol::methods::{
    CommandExecutionRequestApproval, FileChangeRequestApproval, McpServerElicitationRequest,
};
use agentd_protocol::{
    ApprovalDecision, CommandExecutionRequestApprovalParams,
    CommandExecutionRequestApprovalResponse, FileChangeItem, FileChangeRequestApprovalParams,
    ItemStatus, McpElicitation, McpServerElicitationAction, McpServerElicitationRequestParams,
    McpServerElicitationRequestResponse, McpToolApprovalMeta, ServerRequestMethod, ThreadItem,
    TOOL_APPROVAL_META_KEY,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::translate::{permission_tool_call, tool_call};
use super::wire::{
    PermissionOption, PermissionOptionKind, PermissionOutcome, ToolCallContent, ToolCallStatus,
    ToolCallUpdate, ToolKind,
};

/// Which kind of answer the daemon expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    Approval,
    McpTool,
}

/// A question to put to the person: what it is about, and the kind of answer.
pub struct Question {
    pub tool_call: ToolCallUpdate,
    pub asked: Asked,
}

/// The question a daemon request is, or `None` for one ACP cannot show (an MCP server's own
/// form or URL): that one is declined.
pub fn question(method: &str, params: &Value, cwd: &Path) -> Option<Question> {
    match method {
        m if m == CommandExecutionRequestApproval::METHOD => {
            let p = CommandExecutionRequestApprovalParams::deserialize(params).ok()?;
            let mut call = ToolCallUpdate {
                tool_call_id: p.item_id,
                title: Some(p.command),
                kind: Some(ToolKind::Execute),
                status: Some(ToolCallStatus::Pending),
                ..ToolCallUpdate::default()
            };
            call.content = p.reason.map(|r| vec![ToolCallContent::text(r)]);
            Some(Question {
                tool_call: call,
                asked: Asked::Approval,
            })
        }
        m if m == FileChangeRequestApproval::METHOD => {
            let p = FileChangeRequestApprovalParams::deserialize(params).ok()?;
            let item = ThreadItem::FileChange(FileChangeItem {
                id: p.item_id,
                changes: p.changes,
                status: ItemStatus::InProgress,
            });
            Some(Question {
                tool_call: permission_tool_call(tool_call(&item, cwd)?),
                asked: Asked::Approval,
            })
        }
        m if m == McpServerElicitationRequest::METHOD => {
            let p = McpServerElicitationRequestParams::deserialize(params).ok()?;
            let McpElicitation::Form { meta, .. } = p.request else {
                return None;
            };
            let call = meta?.get(TOOL_APPROVAL_META_KEY).cloned()?;
            let call = McpToolApprovalMeta::deserialize(&call).ok()?;
            Some(Question {
                tool_call: ToolCallUpdate {
                    tool_call_id: call.item_id,
                    title: Some(format!("{}: {}", call.server, call.tool)),
                    kind: Some(ToolKind::Other),
                    status: Some(ToolCallStatus::Pending),
                    ..ToolCallUpdate::default()
                },
                asked: Asked::McpTool,
            })
        }
        _ => None,
    }
}

/// The four choices ACP names.
pub fn options() -> Vec<PermissionOption> {
    let option = |id: &str, name: &str, kind| PermissionOption {
        option_id: id.to_owned(),
        name: name.to_owned(),
        kind,
    };
    vec![
        option("allow", "Allow once", PermissionOptionKind::AllowOnce),
        option(
            "allow_always",
            "Allow for this session",
            PermissionOptionKind::AllowAlways,
        ),
        option("reject", "Reject", PermissionOptionKind::RejectOnce),
        option(
            "reject_always",
            "Reject, and keep rejecting",
            PermissionOptionKind::RejectAlways,
        ),
    ]
}

/// The daemon's answer to a question, from the person's choice (`None`: the question was
/// withdrawn or the client failed to answer; the turn is being cancelled).
pub fn answer(asked: Asked, outcome: Option<PermissionOutcome>) -> Value {
    let decision = match outcome {
        Some(PermissionOutcome::Selected { option_id }) => match option_id.as_str() {
            "allow" => ApprovalDecision::Accept,
            "allow_always" => ApprovalDecision::AcceptForSession,
            _ => ApprovalDecision::Decline,
        },
        Some(PermissionOutcome::Cancelled) | None => ApprovalDecision::Cancel,
    };
    let value = match asked {
        Asked::Approval => {
            serde_json::to_value(CommandExecutionRequestApprovalResponse { decision })
        }
        Asked::McpTool => serde_json::to_value(mcp_answer(decision)),
    };
    value.unwrap_or(Value::Null)
}

fn mcp_answer(decision: ApprovalDecision) -> McpServerElicitationRequestResponse {
    let (action, content) = match decision {
        ApprovalDecision::Accept => (McpServerElicitationAction::Accept, None),
        ApprovalDecision::AcceptForSession => (
            McpServerElicitationAction::Accept,
            Some(json!({ "remember": true })),
        ),
        ApprovalDecision::Decline => (McpServerElicitationAction::Decline, None),
        ApprovalDecision::Cancel => (McpServerElicitationAction::Cancel, None),
    };
    McpServerElicitationRequestResponse {
        action,
        content,
        meta: None,
    }
}

/// The answer to a question ACP cannot show: declined.
pub fn decline(method: &str) -> Value {
    let value = if method == McpServerElicitationRequest::METHOD {
        serde_json::to_value(mcp_answer(ApprovalDecision::Decline))
    } else {
        serde_json::to_value(CommandExecutionRequestApprovalResponse {
            decision: ApprovalDecision::Decline,
        })
    };
    value.unwrap_or(Value::Null)
}
