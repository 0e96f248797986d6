//! What a hook that exited 0 printed: Claude Code's JSON control object when stdout starts with
//! `{`, plain text otherwise. Unknown fields are ignored (the contract grows); a JSON object that
//! does not parse is the hook's failure, with a message saying so.

use serde::Deserialize;
use serde_json::Value;

/// Characters of any one string a hook hands on (context, messages, reasons): Claude Code's cap.
pub const MAX_TEXT_CHARS: usize = 10_000;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookJson {
    /// `false`: stop (the turn ends), with `stopReason` shown to clients.
    #[serde(rename = "continue", default)]
    pub keep_going: Option<bool>,
    #[serde(default)]
    pub stop_reason: Option<String>,
    #[serde(default)]
    pub system_message: Option<String>,
    /// `"block"` (`"approve"` too, Claude's deprecated PreToolUse form).
    #[serde(default)]
    pub decision: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub hook_specific_output: Option<Specific>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Specific {
    #[serde(default)]
    pub permission_decision: Option<String>,
    #[serde(default)]
    pub permission_decision_reason: Option<String>,
    #[serde(default)]
    pub updated_input: Option<Value>,
    #[serde(default)]
    pub additional_context: Option<String>,
    /// PermissionRequest's answer.
    #[serde(default)]
    pub decision: Option<RequestDecision>,
    #[serde(default)]
    pub updated_tool_output: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestDecision {
    pub behavior: String,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub interrupt: Option<bool>,
}

/// What stdout said.
pub enum Stdout {
    Json(Box<HookJson>),
    Text(String),
}

/// Reads a successful hook's stdout.
pub fn parse(stdout: &[u8]) -> Result<Stdout, String> {
    let text = String::from_utf8_lossy(stdout);
    let trimmed = text.trim();
    if !trimmed.starts_with('{') {
        return Ok(Stdout::Text(cap(trimmed)));
    }
    serde_json::from_str::<HookJson>(trimmed)
        .map(|j| Stdout::Json(Box::new(j)))
        .map_err(|e| format!("printed invalid JSON on stdout: {e}"))
}

/// A string cut to [`MAX_TEXT_CHARS`].
pub fn cap(text: &str) -> String {
    match text.char_indices().nth(MAX_TEXT_CHARS) {
        Some((at, _)) => format!("{}… [cut at {MAX_TEXT_CHARS} characters]", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_read_and_text_is_text() {
        let Ok(Stdout::Json(j)) = parse(
            br#" {"continue": false, "stopReason": "done", "x": 1,
            "hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny",
            "permissionDecisionReason": "no", "updatedInput": {"a": 1}}}"#,
        ) else {
            panic!("not json");
        };
        assert_eq!(j.keep_going, Some(false));
        assert_eq!(j.stop_reason.as_deref(), Some("done"));
        let s = j.hook_specific_output.unwrap();
        assert_eq!(s.permission_decision.as_deref(), Some("deny"));
        assert_eq!(s.updated_input, Some(serde_json::json!({"a": 1})));
        assert!(matches!(parse(b"hello\n"), Ok(Stdout::Text(t)) if t == "hello"));
        assert!(parse(b"{not json").is_err());
    }

    #[test]
    fn long_text_is_capped() {
        let long = "x".repeat(MAX_TEXT_CHARS + 5);
        assert!(cap(&long).chars().count() < MAX_TEXT_CHARS + 40);
    }
}
