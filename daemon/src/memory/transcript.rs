//! A thread's history as the text an extraction reads: what the user asked, what the agent
//! said, what it ran and whether that worked — never raw tool output (nor MCP or web content:
//! they are tool output too), and the newest part only when it is too long.

use serde::Deserialize;
use serde_json::Value;

use crate::model::HistoryItem;

/// Characters of one tool call's arguments kept (the command line, the patch's first lines).
const MAX_CALL_CHARS: usize = 400;

/// The transcript, at most `max_bytes` (its newest part), with secrets left in: the caller
/// redacts the whole text.
pub fn transcript(history: &[Value], max_bytes: usize) -> String {
    let mut out = String::new();
    for entry in history {
        let Ok(item) = HistoryItem::deserialize(entry) else {
            continue;
        };
        if let Some(line) = line_for(&item) {
            out.push_str(&line);
            out.push_str("\n\n");
        }
    }
    newest(out, max_bytes)
}

fn line_for(item: &HistoryItem) -> Option<String> {
    Some(match item {
        HistoryItem::UserMessage { text, images } => {
            let pictures = if images.is_empty() {
                String::new()
            } else {
                format!(" [{} image(s)]", images.len())
            };
            format!("USER:{pictures} {text}")
        }
        HistoryItem::AssistantMessage { text } => format!("AGENT: {text}"),
        HistoryItem::FunctionCall {
            name, arguments, ..
        } => format!("AGENT RAN {name}: {}", cut(arguments, MAX_CALL_CHARS)),
        HistoryItem::CustomToolCall { name, input, .. } => {
            format!("AGENT RAN {name}: {}", cut(input, MAX_CALL_CHARS))
        }
        HistoryItem::FunctionCallOutput { output, .. }
        | HistoryItem::CustomToolCallOutput { output, .. } => {
            format!("RESULT: {}", outcome(output))
        }
        HistoryItem::CompactionSummary { text } => format!("EARLIER (summary): {text}"),
        // What was searched for, never what was found (web content is left out).
        HistoryItem::WebSearchCall { action, .. } => format!(
            "AGENT SEARCHED THE WEB: {}",
            cut(
                action.get("query").and_then(Value::as_str).unwrap_or(""),
                MAX_CALL_CHARS
            )
        ),
        HistoryItem::Reasoning { .. } | HistoryItem::HookContext { .. } => return None,
    })
}

/// Whether a call worked, from its output's first line (`Exit code: N` for commands), never
/// the output itself.
fn outcome(output: &str) -> String {
    let first = output.lines().next().unwrap_or("");
    match first.strip_prefix("Exit code: ") {
        Some("0") => "succeeded".to_owned(),
        Some(code) => format!("failed (exit code {})", cut(code, 12)),
        None if first.starts_with("error") || first.starts_with("Error") => {
            format!("failed: {}", cut(first, 200))
        }
        None => "done (output omitted)".to_owned(),
    }
}

fn cut(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// The last `max_bytes` of `text`, from a line start when there is one.
fn newest(text: String, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text;
    }
    let mut start = text.len() - max_bytes;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let rest = &text[start..];
    let from_line = rest.find('\n').map_or(rest, |i| &rest[i + 1..]);
    format!("[earlier part of the thread left out]\n{from_line}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tool_output_is_left_out_but_its_outcome_kept() {
        let history = vec![
            json!({"type": "user_message", "text": "build it"}),
            json!({"type": "function_call", "call_id": "c", "name": "shell",
                   "arguments": "{\"command\":[\"make\"]}"}),
            json!({"type": "function_call_output", "call_id": "c",
                   "output": "Exit code: 2\nOutput:\nSECRET BUILD LOG"}),
            json!({"type": "assistant_message", "text": "make needs gcc"}),
        ];
        let t = transcript(&history, 10_000);
        assert!(t.contains("USER: build it"));
        assert!(t.contains("AGENT RAN shell"));
        assert!(t.contains("failed (exit code 2)"));
        assert!(!t.contains("SECRET BUILD LOG"));
        assert!(t.contains("AGENT: make needs gcc"));
    }

    #[test]
    fn a_long_thread_keeps_its_newest_part() {
        let history: Vec<Value> = (0..100)
            .map(|i| json!({"type": "user_message", "text": format!("message {i}")}))
            .collect();
        let t = transcript(&history, 200);
        assert!(t.len() < 260);
        assert!(t.contains("message 99") && !t.contains("message 1\n"));
    }
}
