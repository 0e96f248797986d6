//! What the mock remembers about each request, and the tool-call pairing
//! check run on every request body.
//!
//! Real providers reject a history in which a tool output has no matching
//! call (and one in which a call has no output): OpenAI answers 400 "No tool
//! call found for function call output" / "No tool output found for function
//! call". Checking this on every request lets any test catch a daemon that
//! loses or orphans tool results (for example after an interrupt or a
//! compaction), not only the tests written for that case.

use std::collections::HashSet;

use serde_json::Value;

/// One request as the mock received it.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedRequest {
    /// The request path, e.g. `/v1/responses`.
    pub path: String,
    /// Header names are lower-case; values that are not UTF-8 are lossily
    /// converted.
    pub headers: Vec<(String, String)>,
    /// The parsed JSON body; a body that is not JSON is kept as a string.
    pub body: Value,
    /// When the whole request had arrived (benchmarks time a client's start to it).
    pub received_at: std::time::Instant,
}

impl RecordedRequest {
    /// The first value of a header (name matched case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// True for the Responses API endpoint.
    pub fn is_responses(&self) -> bool {
        self.path.ends_with("/responses")
    }

    /// True for the Chat Completions endpoint.
    pub fn is_chat(&self) -> bool {
        self.path.ends_with("/chat/completions")
    }
}

/// Every pairing problem in one request body, as readable sentences
/// prefixed with `label` (which identifies the request).
pub fn pairing_violations(label: &str, body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(items) = body.get("input").and_then(Value::as_array) {
        check_responses_input(items, &mut |v| out.push(format!("{label}: {v}")));
    }
    if let Some(messages) = body.get("messages").and_then(Value::as_array) {
        check_chat_messages(messages, &mut |v| out.push(format!("{label}: {v}")));
    }
    out
}

/// Responses API: `function_call_output`/`custom_tool_call_output` items
/// need an earlier `function_call`/`custom_tool_call` with the same
/// `call_id`; every call needs exactly one output.
fn check_responses_input(items: &[Value], report: &mut dyn FnMut(String)) {
    let mut calls: Vec<String> = Vec::new();
    let mut answered: HashSet<String> = HashSet::new();
    for (i, item) in items.iter().enumerate() {
        let kind = item.get("type").and_then(Value::as_str).unwrap_or("");
        let call_id = item.get("call_id").and_then(Value::as_str);
        match kind {
            "function_call" | "custom_tool_call" => match call_id {
                Some(id) if calls.iter().any(|c| c == id) => {
                    report(format!("input[{i}]: duplicate {kind} call_id {id:?}"))
                }
                Some(id) => calls.push(id.to_owned()),
                None => report(format!("input[{i}]: {kind} without call_id")),
            },
            "function_call_output" | "custom_tool_call_output" => match call_id {
                None => report(format!("input[{i}]: {kind} without call_id")),
                Some(id) if !calls.iter().any(|c| c == id) => report(format!(
                    "input[{i}]: {kind} call_id {id:?} has no earlier tool call"
                )),
                Some(id) if !answered.insert(id.to_owned()) => {
                    report(format!("input[{i}]: second {kind} for call_id {id:?}"))
                }
                Some(_) => {}
            },
            _ => {}
        }
    }
    for id in calls.iter().filter(|id| !answered.contains(*id)) {
        report(format!("tool call {id:?} has no output"));
    }
}

/// Chat Completions: `tool` messages need a `tool_call_id` from an earlier
/// assistant message's `tool_calls[].id`; every such id needs one answer.
fn check_chat_messages(messages: &[Value], report: &mut dyn FnMut(String)) {
    let mut calls: Vec<String> = Vec::new();
    let mut answered: HashSet<String> = HashSet::new();
    for (i, msg) in messages.iter().enumerate() {
        match msg.get("role").and_then(Value::as_str).unwrap_or("") {
            "assistant" => {
                let tool_calls = msg.get("tool_calls").and_then(Value::as_array);
                for call in tool_calls.into_iter().flatten() {
                    match call.get("id").and_then(Value::as_str) {
                        Some(id) if calls.iter().any(|c| c == id) => {
                            report(format!("messages[{i}]: duplicate tool_calls id {id:?}"))
                        }
                        Some(id) => calls.push(id.to_owned()),
                        None => report(format!("messages[{i}]: tool call without id")),
                    }
                }
            }
            "tool" => match msg.get("tool_call_id").and_then(Value::as_str) {
                None => report(format!("messages[{i}]: tool message without tool_call_id")),
                Some(id) if !calls.iter().any(|c| c == id) => report(format!(
                    "messages[{i}]: tool message tool_call_id {id:?} has no earlier assistant tool call"
                )),
                Some(id) if !answered.insert(id.to_owned()) => report(format!(
                    "messages[{i}]: second tool message for tool_call_id {id:?}"
                )),
                Some(_) => {}
            },
            _ => {}
        }
    }
    for id in calls.iter().filter(|id| !answered.contains(*id)) {
        report(format!("tool call {id:?} has no tool message"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn responses_pairs() {
        let good = json!({"input": [
            {"type": "message", "role": "user", "content": "hi"},
            {"type": "function_call", "call_id": "a", "name": "x", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "a", "output": "ok"},
            {"type": "custom_tool_call", "call_id": "b", "name": "y", "input": ""},
            {"type": "custom_tool_call_output", "call_id": "b", "output": "ok"},
        ]});
        assert!(pairing_violations("r", &good).is_empty());
        let bad = json!({"input": [
            {"type": "function_call_output", "call_id": "a", "output": "early"},
            {"type": "function_call", "call_id": "a", "name": "x", "arguments": "{}"},
        ]});
        let v = pairing_violations("r", &bad);
        assert_eq!(v.len(), 2, "{v:?}");
        assert!(v[0].contains("no earlier tool call"));
        assert!(v[1].contains("has no output"));
    }

    #[test]
    fn chat_pairs() {
        let good = json!({"messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "tool_calls": [{"id": "a", "type": "function",
                "function": {"name": "x", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "a", "content": "ok"},
        ]});
        assert!(pairing_violations("r", &good).is_empty());
        let bad = json!({"messages": [
            {"role": "tool", "tool_call_id": "zzz", "content": "orphan"},
        ]});
        assert_eq!(pairing_violations("r", &bad).len(), 1);
    }
}
