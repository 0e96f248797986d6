//! One daemon item as an ACP tool call: shell commands `execute` with their output, patches
//! `edit` with a diff per file, MCP and sub-agent calls `other` with their arguments and result.

use agentd_protocol::{
    CollabAgentToolCallItem, CollabAgentToolCallStatus, CommandExecutionItem, FileChangeItem,
    ItemStatus, McpToolCallItem, McpToolCallStatus, PatchChangeKind, ThreadItem, UserInput,
};
use std::path::Path;

use serde_json::{json, Value};

use super::diff::old_and_new;
use crate::acp::wire::{
    ContentBlock, SessionUpdate, ToolCall, ToolCallContent, ToolCallLocation, ToolCallStatus,
    ToolCallUpdate, ToolKind,
};

/// Output shown for one command: its tail, as a terminal would keep it.
const MAX_OUTPUT_BYTES: usize = 64 * 1024;

/// The tool call an item is, or `None` for messages, reasoning and bookkeeping items.
/// Relative paths are taken from `cwd` (ACP wants absolute ones).
pub fn tool_call(item: &ThreadItem, cwd: &Path) -> Option<ToolCall> {
    match item {
        ThreadItem::CommandExecution(c) => Some(command(c)),
        ThreadItem::FileChange(f) => Some(file_change(f, cwd)),
        ThreadItem::McpToolCall(m) => Some(mcp(m)),
        ThreadItem::CollabAgentToolCall(a) => Some(agent(a)),
        ThreadItem::WebSearch(w) => Some(ToolCall {
            tool_call_id: w.id.clone(),
            title: format!("Web search: {}", w.query),
            kind: ToolKind::Fetch,
            status: ToolCallStatus::Completed,
            content: Vec::new(),
            locations: Vec::new(),
            raw_input: serde_json::to_value(&w.action).ok(),
            raw_output: None,
        }),
        _ => None,
    }
}

/// What a finished call changes of the announced one.
pub fn final_update(call: ToolCall) -> ToolCallUpdate {
    ToolCallUpdate {
        tool_call_id: call.tool_call_id,
        status: Some(call.status),
        content: (!call.content.is_empty()).then_some(call.content),
        raw_output: call.raw_output,
        ..ToolCallUpdate::default()
    }
}

/// The tool call a permission question is about, as `session/request_permission` names it.
pub fn permission_tool_call(call: ToolCall) -> ToolCallUpdate {
    ToolCallUpdate {
        tool_call_id: call.tool_call_id,
        title: Some(call.title),
        kind: Some(call.kind),
        status: Some(ToolCallStatus::Pending),
        content: (!call.content.is_empty()).then_some(call.content),
        locations: (!call.locations.is_empty()).then_some(call.locations),
        raw_output: None,
    }
}

/// The user's message as chunks (replay only): text as text, anything else as a reference.
pub fn user_chunks(content: &[UserInput]) -> Vec<SessionUpdate> {
    content
        .iter()
        .map(|input| {
            let text = match input {
                UserInput::Text { text, .. } => text.clone(),
                UserInput::Image { .. } => "[image]".to_owned(),
                UserInput::LocalImage { path } => format!("[image: {path}]"),
                UserInput::Skill { name, path } | UserInput::Mention { name, path } => {
                    format!("[{name}]({path})")
                }
            };
            SessionUpdate::UserMessageChunk {
                content: ContentBlock::text(text),
            }
        })
        .collect()
}

fn status_of(status: ItemStatus) -> ToolCallStatus {
    match status {
        ItemStatus::InProgress => ToolCallStatus::InProgress,
        ItemStatus::Completed => ToolCallStatus::Completed,
        ItemStatus::Failed | ItemStatus::Declined => ToolCallStatus::Failed,
    }
}

fn command(c: &CommandExecutionItem) -> ToolCall {
    let failed_exit = c.exit_code.is_some_and(|code| code != 0);
    let status = match status_of(c.status) {
        ToolCallStatus::Completed if failed_exit => ToolCallStatus::Failed,
        s => s,
    };
    let content = c
        .aggregated_output
        .as_deref()
        .filter(|o| !o.is_empty())
        .map(|o| vec![ToolCallContent::text(tail(o))])
        .unwrap_or_default();
    let done = c.status != ItemStatus::InProgress;
    ToolCall {
        tool_call_id: c.id.clone(),
        title: c.command.clone(),
        kind: ToolKind::Execute,
        status,
        content,
        locations: Vec::new(),
        raw_input: Some(json!({ "command": c.command, "cwd": c.cwd })),
        raw_output: done.then(|| json!({ "exitCode": c.exit_code, "durationMs": c.duration_ms })),
    }
}

fn file_change(f: &FileChangeItem, cwd: &Path) -> ToolCall {
    let paths: Vec<String> = f
        .changes
        .iter()
        .map(|c| cwd.join(&c.path).display().to_string())
        .collect();
    let all_deleted = !f.changes.is_empty()
        && f.changes
            .iter()
            .all(|c| matches!(c.kind, PatchChangeKind::Delete));
    let content = f
        .changes
        .iter()
        .zip(&paths)
        .map(|(c, path)| {
            let added = matches!(c.kind, PatchChangeKind::Add);
            let (old, new) = if added && !c.diff.starts_with("@@") && !c.diff.contains("\n@@") {
                (String::new(), c.diff.clone())
            } else {
                old_and_new(&c.diff)
            };
            ToolCallContent::Diff {
                path: path.clone(),
                old_text: (!added).then_some(old),
                new_text: new,
            }
        })
        .collect();
    ToolCall {
        tool_call_id: f.id.clone(),
        title: format!(
            "Edit {}",
            f.changes
                .iter()
                .map(|c| c.path.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        kind: if all_deleted {
            ToolKind::Delete
        } else {
            ToolKind::Edit
        },
        status: status_of(f.status),
        content,
        locations: paths
            .iter()
            .map(|path| ToolCallLocation { path: path.clone() })
            .collect(),
        raw_input: None,
        raw_output: None,
    }
}

fn mcp(m: &McpToolCallItem) -> ToolCall {
    let status = match m.status {
        McpToolCallStatus::InProgress => ToolCallStatus::InProgress,
        McpToolCallStatus::Completed => ToolCallStatus::Completed,
        McpToolCallStatus::Failed => ToolCallStatus::Failed,
    };
    let mut content: Vec<ToolCallContent> = m
        .result
        .iter()
        .flat_map(|r| r.content.iter())
        .filter_map(mcp_block)
        .collect();
    if let Some(e) = &m.error {
        content.push(ToolCallContent::text(e.message.clone()));
    }
    ToolCall {
        tool_call_id: m.id.clone(),
        title: format!("{}: {}", m.server, m.tool),
        kind: ToolKind::Other,
        status,
        content,
        locations: Vec::new(),
        raw_input: Some(m.arguments.clone()),
        raw_output: m.result.as_ref().and_then(|r| r.structured_content.clone()),
    }
}

/// An MCP content block the client can show: text, or an image as it came.
fn mcp_block(block: &Value) -> Option<ToolCallContent> {
    match block.get("type")?.as_str()? {
        "text" => Some(ToolCallContent::text(tail(block.get("text")?.as_str()?))),
        "image" => Some(ToolCallContent::Content {
            content: ContentBlock::Image {
                data: block.get("data")?.as_str()?.to_owned(),
                mime_type: block.get("mimeType")?.as_str()?.to_owned(),
                uri: None,
            },
        }),
        _ => None,
    }
}

fn agent(a: &CollabAgentToolCallItem) -> ToolCall {
    let status = match a.status {
        CollabAgentToolCallStatus::InProgress => ToolCallStatus::InProgress,
        CollabAgentToolCallStatus::Completed => ToolCallStatus::Completed,
        CollabAgentToolCallStatus::Failed | CollabAgentToolCallStatus::Interrupted => {
            ToolCallStatus::Failed
        }
    };
    let tool = serde_json::to_value(a.tool)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let prompt = a.prompt.as_deref().unwrap_or("");
    let first_line = prompt.lines().next().unwrap_or("");
    let title = if first_line.is_empty() {
        format!("Agents: {tool}")
    } else {
        format!("Agents: {tool} — {first_line}")
    };
    let content = a
        .agents_states
        .iter()
        .map(|(id, state)| {
            let status = serde_json::to_value(state.status).unwrap_or_default();
            let status = status.as_str().unwrap_or("");
            let message = state.message.as_deref().unwrap_or("");
            ToolCallContent::text(format!("{id}: {status} {message}").trim_end().to_owned())
        })
        .collect();
    ToolCall {
        tool_call_id: a.id.clone(),
        title,
        kind: ToolKind::Other,
        status,
        content,
        locations: Vec::new(),
        raw_input: Some(json!({
            "tool": tool,
            "receiverThreadIds": a.receiver_thread_ids,
            "prompt": a.prompt,
        })),
        raw_output: None,
    }
}

/// The last [`MAX_OUTPUT_BYTES`] of `text`, cut at a character boundary.
fn tail(text: &str) -> String {
    if text.len() <= MAX_OUTPUT_BYTES {
        return text.to_owned();
    }
    let mut start = text.len() - MAX_OUTPUT_BYTES;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &text[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_end_and_a_character_boundary() {
        let long = format!("{}é{}", "a".repeat(10), "b".repeat(MAX_OUTPUT_BYTES));
        let t = tail(&long);
        assert!(t.starts_with('…'));
        assert!(t.ends_with('b'));
        assert!(t.len() <= MAX_OUTPUT_BYTES + '…'.len_utf8());
        assert_eq!(tail("short"), "short");
    }

    #[test]
    fn a_failed_exit_code_is_a_failed_call() {
        let item = CommandExecutionItem {
            id: "c".into(),
            command: "false".into(),
            cwd: "/".into(),
            status: ItemStatus::Completed,
            command_actions: Vec::new(),
            aggregated_output: Some("no".into()),
            exit_code: Some(1),
            duration_ms: Some(3),
        };
        let call = command(&item);
        assert_eq!(call.status, ToolCallStatus::Failed);
        assert_eq!(call.kind, ToolKind::Execute);
        assert_eq!(call.title, "false");
        assert_eq!(call.content, vec![ToolCallContent::text("no")]);
    }
}
