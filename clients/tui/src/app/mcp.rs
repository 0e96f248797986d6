//! `mcpServer/elicitation/request`: agentd asking before an MCP tool runs (the call in
//! `_meta["agentd/toolApproval"]`), or an MCP server asking the user something itself (a form
//! of primitive fields, or a URL to open). Turned here into an [`ApprovalKind`] the prompt can
//! show, and a person's answer into the response the daemon expects.

use agentd_protocol::{
    McpElicitation, McpServerElicitationAction, McpServerElicitationRequestParams,
    McpServerElicitationRequestResponse, McpToolApprovalMeta, TOOL_APPROVAL_META_KEY,
};
use serde_json::{Map, Value};

use super::{ApprovalKind, Choice};

/// What a form field holds.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldKind {
    Text,
    Number,
    Integer,
    Boolean,
    /// A string enum: the value is one of these.
    Choice(Vec<String>),
}

/// One field of an MCP server's form, as the user fills it in.
#[derive(Debug, Clone, PartialEq)]
pub struct FormField {
    pub name: String,
    /// The schema's `title`, else the name.
    pub label: String,
    pub description: Option<String>,
    pub kind: FieldKind,
    pub required: bool,
    /// What the user typed; `true`/`false` for a boolean, an option for a choice, as the user
    /// sees it until the form is sent (then converted by [`Form::content`]).
    pub value: String,
}

/// An MCP server's form being filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Form {
    pub message: String,
    pub fields: Vec<FormField>,
    /// Fields the form cannot offer (objects, arrays: MCP forms should not have them).
    pub skipped: Vec<String>,
    /// The field the keys go to.
    pub focus: usize,
    /// Why the last Enter did not send the form.
    pub problem: Option<String>,
}

impl FormField {
    /// A field from its property schema; `None` for a type a form cannot hold.
    fn from_schema(name: &str, schema: &Value, required: bool) -> Option<FormField> {
        let text = |key: &str| schema.get(key).and_then(Value::as_str).map(str::to_owned);
        let options: Vec<String> = schema
            .get("enum")
            .and_then(Value::as_array)
            .map(|values| {
                values
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let kind = match schema.get("type").and_then(Value::as_str)? {
            "string" if !options.is_empty() => FieldKind::Choice(options),
            "string" => FieldKind::Text,
            "number" => FieldKind::Number,
            "integer" => FieldKind::Integer,
            "boolean" => FieldKind::Boolean,
            _ => return None,
        };
        let default = schema.get("default");
        let value = match (&kind, default) {
            (FieldKind::Boolean, Some(Value::Bool(b))) => b.to_string(),
            (FieldKind::Boolean, _) => "false".to_owned(),
            (FieldKind::Choice(options), Some(Value::String(s))) if options.contains(s) => {
                s.clone()
            }
            // A required choice starts on its first option; an optional one may stay empty.
            (FieldKind::Choice(options), _) if required => options[0].clone(),
            (FieldKind::Number | FieldKind::Integer, Some(Value::Number(n))) => n.to_string(),
            (FieldKind::Text, Some(Value::String(s))) => s.clone(),
            _ => String::new(),
        };
        Some(FormField {
            name: name.to_owned(),
            label: text("title").unwrap_or_else(|| name.to_owned()),
            description: text("description"),
            kind,
            required,
            value,
        })
    }

    /// Left/Right and Space on a boolean or a choice: the next (or previous) value. An
    /// optional choice cycles through "none" too.
    pub fn cycle(&mut self, forward: bool) {
        match &self.kind {
            FieldKind::Boolean => {
                self.value = if self.value == "true" {
                    "false"
                } else {
                    "true"
                }
                .into();
            }
            FieldKind::Choice(options) => {
                let mut values: Vec<&str> = options.iter().map(String::as_str).collect();
                if !self.required {
                    values.insert(0, "");
                }
                let at = values.iter().position(|v| *v == self.value).unwrap_or(0);
                let next = if forward {
                    (at + 1) % values.len()
                } else {
                    (at + values.len() - 1) % values.len()
                };
                self.value = values[next].to_owned();
            }
            _ => {}
        }
    }

    /// Whether typed characters go into the value (text and numbers) rather than choosing one.
    pub fn takes_text(&self) -> bool {
        matches!(
            self.kind,
            FieldKind::Text | FieldKind::Number | FieldKind::Integer
        )
    }
}

impl Form {
    /// The values to send, or what is wrong with them in words.
    pub fn content(&self) -> Result<Map<String, Value>, String> {
        let mut content = Map::new();
        for f in &self.fields {
            let text = f.value.trim();
            if text.is_empty() {
                if f.required {
                    return Err(format!("{} is required", f.label));
                }
                continue;
            }
            let value = match &f.kind {
                FieldKind::Text | FieldKind::Choice(_) => Value::String(text.to_owned()),
                FieldKind::Boolean => Value::Bool(text == "true"),
                FieldKind::Integer => text
                    .parse::<i64>()
                    .map(Value::from)
                    .map_err(|_| format!("{} must be a whole number", f.label))?,
                FieldKind::Number => text
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .ok_or_else(|| format!("{} must be a number", f.label))?,
            };
            content.insert(f.name.clone(), value);
        }
        Ok(content)
    }

    pub fn focused(&mut self) -> Option<&mut FormField> {
        self.fields.get_mut(self.focus)
    }

    /// Tab / Down (and BackTab / Up): the next (previous) field, wrapping around.
    pub fn move_focus(&mut self, forward: bool) {
        let n = self.fields.len();
        if n > 0 {
            self.focus = if forward {
                (self.focus + 1) % n
            } else {
                (self.focus + n - 1) % n
            };
        }
    }
}

/// The item an MCP tool approval is about (`_meta["agentd/toolApproval"].itemId`).
pub fn tool_item_id(params: &McpServerElicitationRequestParams) -> Option<String> {
    match &params.request {
        McpElicitation::Form { meta, .. } => meta
            .as_ref()
            .and_then(|m| m.get(TOOL_APPROVAL_META_KEY))
            .and_then(|a| a.get("itemId"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        McpElicitation::Url { .. } => None,
    }
}

/// What the prompt shows for an elicitation.
pub fn approval_kind(params: McpServerElicitationRequestParams) -> ApprovalKind {
    let server = params.server_name;
    match params.request {
        McpElicitation::Form {
            message,
            requested_schema,
            meta,
        } => {
            let call = meta
                .as_ref()
                .and_then(|m| m.get(TOOL_APPROVAL_META_KEY))
                .and_then(|a| serde_json::from_value::<McpToolApprovalMeta>(a.clone()).ok());
            if let Some(call) = call {
                return ApprovalKind::McpTool {
                    server: call.server,
                    tool: call.tool,
                    arguments: call.arguments,
                };
            }
            let required = requested_schema.required.unwrap_or_default();
            let mut fields = Vec::new();
            let mut skipped = Vec::new();
            for (name, schema) in &requested_schema.properties {
                match FormField::from_schema(name, schema, required.contains(name)) {
                    Some(field) => fields.push(field),
                    None => skipped.push(name.clone()),
                }
            }
            ApprovalKind::McpForm {
                server,
                form: Form {
                    message,
                    fields,
                    skipped,
                    focus: 0,
                    problem: None,
                },
            }
        }
        McpElicitation::Url { message, url, .. } => ApprovalKind::McpUrl {
            server,
            message,
            url,
        },
    }
}

fn response(action: McpServerElicitationAction, content: Option<Value>) -> Value {
    let response = McpServerElicitationRequestResponse {
        action,
        content,
        meta: None,
    };
    // A struct of an enum and JSON values always serializes.
    serde_json::to_value(response).unwrap_or(Value::Null)
}

/// The response to an elicitation for the user's choice; `Err` (a form's values are not
/// acceptable) leaves the question open.
pub fn answer(kind: &ApprovalKind, choice: Choice) -> Result<Value, String> {
    Ok(match choice {
        Choice::Decline => response(McpServerElicitationAction::Decline, None),
        Choice::Cancel => response(McpServerElicitationAction::Cancel, None),
        Choice::AcceptForSession => response(
            McpServerElicitationAction::Accept,
            Some(serde_json::json!({"remember": true})),
        ),
        Choice::Accept => match kind {
            ApprovalKind::McpForm { form, .. } => response(
                McpServerElicitationAction::Accept,
                Some(Value::Object(form.content()?)),
            ),
            _ => response(McpServerElicitationAction::Accept, None),
        },
    })
}
