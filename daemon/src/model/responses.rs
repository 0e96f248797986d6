//! The OpenAI Responses API wire format: the request body built from a [`ModelRequest`], and
//! the streamed events turned back into [`ModelEvent`]s.
//!
//! The stream carries far more event types than the agent needs (`response.created`,
//! `content_part.added`, argument deltas, …). Only text and reasoning-summary deltas are
//! forwarded as they arrive; everything else is taken from `response.output_item.done`, which
//! holds the authoritative, complete item, so partial-item bookkeeping is not needed here.

use std::borrow::Cow;

use eventsource_stream::Event;
use serde_json::{json, Value};

use super::retry::{classify_code, Failure};
use super::sse::Flow;
use super::types::{
    HistoryItem, ModelError, ModelEvent, ModelRequest, OutputItem, ToolSpec, Usage,
};

/// Put before a compaction summary so the model reads it as context, not as a new request.
pub(crate) const COMPACTION_HEADER: &str =
    "Summary of the earlier conversation (older messages were compacted away):\n\n";

/// The `POST /responses` body. `store: false` keeps conversations out of the provider's
/// storage; the full history is sent every time instead.
pub(crate) fn request_body(request: &ModelRequest) -> Value {
    let input: Vec<Value> = request.input.iter().filter_map(input_item).collect();
    let tools: Vec<Value> = request.tools.iter().map(tool).collect();
    let mut body = json!({
        "model": request.model,
        "instructions": request.instructions,
        "input": input,
        "tools": tools,
        "tool_choice": "auto",
        "parallel_tool_calls": false,
        "stream": true,
        "store": false,
    });
    if let Some(effort) = &request.reasoning_effort {
        body["reasoning"] = json!({"effort": effort, "summary": "auto"});
        body["include"] = json!(["reasoning.encrypted_content"]);
    }
    if let Some(schema) = &request.output_schema {
        body["text"] = json!({"format": {
            "type": "json_schema", "name": OUTPUT_SCHEMA_NAME, "strict": true, "schema": schema,
        }});
    }
    body
}

/// The name structured output is sent under (the APIs require one).
pub(crate) const OUTPUT_SCHEMA_NAME: &str = "agentd_output";

fn input_item(item: &HistoryItem) -> Option<Value> {
    Some(match item {
        HistoryItem::UserMessage { text, images } => user_message(text, images),
        HistoryItem::AssistantMessage { text } => json!({
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": text}],
        }),
        // With `store: false` the API can only accept a reasoning item it can decrypt: one
        // without `encrypted_content` (e.g. produced by a Chat provider, or before reasoning was
        // switched on) would be looked up by id and rejected. Its summary is lost to the model,
        // which is harmless: reasoning only helps within the turn that produced it.
        HistoryItem::Reasoning {
            summary,
            encrypted_content,
        } => {
            let encrypted_content = encrypted_content.as_ref()?;
            let summary: Vec<Value> = summary
                .iter()
                .map(|text| json!({"type": "summary_text", "text": text}))
                .collect();
            json!({
                "type": "reasoning",
                "summary": summary,
                "encrypted_content": encrypted_content,
            })
        }
        HistoryItem::FunctionCall {
            call_id,
            name,
            arguments,
        } => json!({
            "type": "function_call",
            "call_id": call_id,
            "name": name,
            "arguments": arguments,
        }),
        HistoryItem::FunctionCallOutput {
            call_id,
            output,
            images,
        } if images.is_empty() => json!({
            "type": "function_call_output",
            "call_id": call_id,
            "output": output,
        }),
        // Text and images together: the output as a list of input content parts.
        HistoryItem::FunctionCallOutput {
            call_id,
            output,
            images,
        } => {
            let mut parts = vec![json!({"type": "input_text", "text": output})];
            parts.extend(
                images
                    .iter()
                    .map(|url| json!({"type": "input_image", "image_url": url})),
            );
            json!({
                "type": "function_call_output",
                "call_id": call_id,
                "output": parts,
            })
        }
        HistoryItem::CustomToolCall {
            call_id,
            name,
            input,
        } => json!({
            "type": "custom_tool_call",
            "call_id": call_id,
            "name": name,
            "input": input,
        }),
        HistoryItem::CustomToolCallOutput { call_id, output } => json!({
            "type": "custom_tool_call_output",
            "call_id": call_id,
            "output": output,
        }),
        HistoryItem::CompactionSummary { text } => {
            user_message(&format!("{COMPACTION_HEADER}{text}"), &[])
        }
        HistoryItem::HookContext { text } => json!({
            "type": "message",
            "role": "developer",
            "content": [{"type": "input_text", "text": text}],
        }),
        HistoryItem::WebSearchCall { id, status, action } => json!({
            "type": "web_search_call",
            "id": id,
            "status": status,
            "action": action,
        }),
    })
}

/// A user message: its images first, then its text.
fn user_message(text: &str, images: &[String]) -> Value {
    let mut content: Vec<Value> = images
        .iter()
        .map(|url| json!({"type": "input_image", "image_url": url}))
        .collect();
    if !text.is_empty() || content.is_empty() {
        content.push(json!({"type": "input_text", "text": text}));
    }
    json!({"type": "message", "role": "user", "content": content})
}

fn tool(spec: &ToolSpec) -> Value {
    match spec {
        ToolSpec::Function {
            name,
            description,
            parameters,
        } => json!({
            "type": "function",
            "name": name,
            "description": description,
            "strict": false,
            "parameters": parameters,
        }),
        ToolSpec::Freeform { name, description } => json!({
            "type": "custom",
            "name": name,
            "description": description,
        }),
        ToolSpec::WebSearch {
            external_web_access,
        } => json!({"type": "web_search", "external_web_access": external_web_access}),
    }
}

/// Turns one SSE event of a Responses stream into model events.
pub(crate) fn on_event(event: &Event, out: &mut Vec<ModelEvent>) -> Result<Flow, Failure> {
    if event.data.trim().is_empty() {
        return Ok(Flow::More);
    }
    if let Some(head) = Head::read(&event.data) {
        // The JSON `type` is authoritative; the SSE `event:` name is the fallback for proxies
        // that strip one or the other.
        let kind = head.kind.unwrap_or(&event.event);
        match kind {
            "response.output_text.delta" => {
                out.push(ModelEvent::TextDelta {
                    output_index: head.output_index,
                    delta: head.delta.map(Cow::into_owned).unwrap_or_default(),
                });
                return Ok(Flow::More);
            }
            "response.reasoning_summary_text.delta" => {
                out.push(ModelEvent::ReasoningSummaryDelta {
                    output_index: head.output_index,
                    summary_index: head.summary_index,
                    delta: head.delta.map(Cow::into_owned).unwrap_or_default(),
                });
                return Ok(Flow::More);
            }
            "response.output_item.done"
            | "response.completed"
            | "response.failed"
            | "response.incomplete"
            | "error" => {}
            _ => return Ok(Flow::More),
        }
    }
    let data: Value = serde_json::from_str(&event.data).map_err(|err| {
        Failure::retry(ModelError::Stream(format!(
            "malformed `{}` event: {err}",
            event.event
        )))
    })?;
    let kind = data
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or(&event.event);
    match kind {
        "response.output_text.delta" => out.push(ModelEvent::TextDelta {
            output_index: index(&data, "output_index"),
            delta: text(&data, "delta").to_owned(),
        }),
        "response.reasoning_summary_text.delta" => out.push(ModelEvent::ReasoningSummaryDelta {
            output_index: index(&data, "output_index"),
            summary_index: index(&data, "summary_index"),
            delta: text(&data, "delta").to_owned(),
        }),
        "response.output_item.done" => {
            let item = data.get("item").unwrap_or(&Value::Null);
            if let Some(item) = output_item(item)? {
                out.push(ModelEvent::ItemDone {
                    output_index: index(&data, "output_index"),
                    item,
                });
            }
        }
        "response.completed" => {
            let usage = data.pointer("/response/usage").and_then(usage);
            out.push(ModelEvent::Completed { usage });
            return Ok(Flow::Finished);
        }
        "response.failed" => {
            let error = data.pointer("/response/error").unwrap_or(&Value::Null);
            return Err(failure_from(error));
        }
        "response.incomplete" => {
            let reason = data
                .pointer("/response/incomplete_details/reason")
                .and_then(Value::as_str)
                .unwrap_or("unknown");
            return Err(Failure::Fatal(ModelError::Incomplete(reason.to_owned())));
        }
        // A top-level error event ends the response just like `response.failed` does; its
        // fields sit either at the top level or under `error`.
        "error" => return Err(failure_from(data.get("error").unwrap_or(&data))),
        _ => {}
    }
    Ok(Flow::More)
}

/// The few fields every event is dispatched on, read without building a `Value`. Deltas are
/// nearly every event of a stream, and parsing each into a map was a tenth of the time a delta
/// spends in the daemon (docs/benchmarks.md); events the agent ignores (argument deltas,
/// lifecycle events) are dropped without one too. Anything else, and anything this shape does
/// not fit (an index that is no `u32`, a delta that is no string, an escaped `type`), takes the
/// `Value` path. One difference: members not named here are skipped, not parsed, so a number
/// out of `f64`'s range or a lone surrogate in one of them no longer fails the stream.
#[derive(serde::Deserialize)]
struct Head<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<&'a str>,
    #[serde(default)]
    output_index: u32,
    #[serde(default)]
    summary_index: u32,
    /// Owned whenever it is inside an `Option` (serde borrows only a bare `Cow`); the event
    /// needs an owned `String` anyway.
    #[serde(borrow, default)]
    delta: Option<Cow<'a, str>>,
}

impl<'a> Head<'a> {
    /// `None` unless `data` is a JSON object of this shape (serde would take an array too).
    fn read(data: &'a str) -> Option<Self> {
        if !data.trim_start().starts_with('{') {
            return None;
        }
        serde_json::from_str(data).ok()
    }
}

/// A Responses stream that ends without a terminal event was cut off.
pub(crate) fn on_end() -> Result<(), Failure> {
    Err(Failure::retry(ModelError::Stream(
        "the stream ended before response.completed".to_owned(),
    )))
}

fn failure_from(error: &Value) -> Failure {
    let code = text(error, "code");
    let code = if code.is_empty() { "unknown" } else { code };
    classify_code(code, text(error, "message"))
}

/// The completed item, or `None` for item types the agent does not use.
fn output_item(item: &Value) -> Result<Option<OutputItem>, Failure> {
    let required = |key: &str| {
        item.get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                Failure::retry(ModelError::Stream(format!(
                    "a `{}` output item has no `{key}`",
                    text(item, "type")
                )))
            })
    };
    Ok(Some(match text(item, "type") {
        "message" => OutputItem::Message {
            text: parts(item, "content", &["output_text", "refusal"]).concat(),
        },
        "reasoning" => OutputItem::Reasoning {
            summary: parts(item, "summary", &["summary_text"]),
            encrypted_content: item
                .get("encrypted_content")
                .and_then(Value::as_str)
                .map(str::to_owned),
        },
        "function_call" => OutputItem::FunctionCall {
            call_id: required("call_id")?,
            name: required("name")?,
            arguments: required("arguments")?,
        },
        "custom_tool_call" => OutputItem::CustomToolCall {
            call_id: required("call_id")?,
            name: required("name")?,
            input: required("input")?,
        },
        "web_search_call" => OutputItem::WebSearchCall {
            id: required("id")?,
            status: item
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or("completed")
                .to_owned(),
            action: item.get("action").cloned().unwrap_or(Value::Null),
        },
        _ => return Ok(None),
    }))
}

/// The texts of an item's parts of the given types (a refusal part keeps its text under
/// `refusal`).
fn parts(item: &Value, key: &str, types: &[&str]) -> Vec<String> {
    let Some(parts) = item.get(key).and_then(Value::as_array) else {
        return Vec::new();
    };
    parts
        .iter()
        .filter(|part| types.contains(&text(part, "type")))
        .map(|part| {
            let body = part.get("text").or_else(|| part.get("refusal"));
            body.and_then(Value::as_str).unwrap_or("").to_owned()
        })
        .collect()
}

/// The Responses API usage object.
pub(crate) fn usage(v: &Value) -> Option<Usage> {
    if !v.is_object() {
        return None;
    }
    let n = |pointer: &str| v.pointer(pointer).and_then(Value::as_u64).unwrap_or(0);
    let input_tokens = n("/input_tokens");
    let output_tokens = n("/output_tokens");
    Some(Usage {
        input_tokens,
        cached_input_tokens: n("/input_tokens_details/cached_tokens"),
        output_tokens,
        reasoning_output_tokens: n("/output_tokens_details/reasoning_tokens"),
        total_tokens: v
            .get("total_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(input_tokens + output_tokens),
    })
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn index(v: &Value, key: &str) -> u32 {
    v.get(key)
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasoning_without_encrypted_content_is_not_sent() {
        let request = ModelRequest {
            model: "m".into(),
            instructions: "be brief".into(),
            input: vec![
                HistoryItem::Reasoning {
                    summary: vec!["plain".into()],
                    encrypted_content: None,
                },
                HistoryItem::Reasoning {
                    summary: vec!["sealed".into()],
                    encrypted_content: Some("gAAA".into()),
                },
                HistoryItem::CompactionSummary {
                    text: "we fixed the build".into(),
                },
            ],
            tools: vec![],
            reasoning_effort: None,
            output_schema: None,
        };
        let body = request_body(&request);
        let input = body["input"].as_array().cloned().unwrap_or_default();
        assert_eq!(input.len(), 2);
        assert_eq!(input[0]["encrypted_content"], "gAAA");
        assert_eq!(input[0]["summary"][0]["text"], "sealed");
        let summary = input[1]["content"][0]["text"].as_str().unwrap_or("");
        assert!(summary.starts_with(COMPACTION_HEADER) && summary.ends_with("the build"));
        assert!(body.get("reasoning").is_none() && body.get("include").is_none());
    }

    fn read(event_name: &str, data: &str) -> (Result<Flow, Failure>, Vec<ModelEvent>) {
        let mut out = Vec::new();
        let event = Event {
            event: event_name.into(),
            data: data.into(),
            ..Event::default()
        };
        (on_event(&event, &mut out), out)
    }

    fn text_delta(out: &[ModelEvent]) -> Option<(u32, &str)> {
        match out {
            [ModelEvent::TextDelta {
                output_index,
                delta,
            }] => Some((*output_index, delta.as_str())),
            _ => None,
        }
    }

    #[test]
    fn deltas_are_read_with_escapes_and_extra_fields() {
        let (flow, out) = read(
            "response.output_text.delta",
            r#"{"type":"response.output_text.delta","sequence_number":7,"item_id":"msg_1","output_index":2,"content_index":0,"delta":"a\"b\u00e9\n","logprobs":[{"x":[1,2]}]}"#,
        );
        assert!(matches!(flow, Ok(Flow::More)));
        assert_eq!(text_delta(&out), Some((2, "a\"b\u{e9}\n")));

        let (_, out) = read(
            "",
            r#"{"type":"response.reasoning_summary_text.delta","output_index":1,"summary_index":3,"delta":"why"}"#,
        );
        assert!(matches!(
            out.as_slice(),
            [ModelEvent::ReasoningSummaryDelta { output_index: 1, summary_index: 3, delta }] if delta == "why"
        ));
    }

    #[test]
    fn odd_deltas_read_as_before() {
        // An index that is no u32 counts as 0; a delta that is no string as empty text; a
        // missing `type` falls back to the SSE event name.
        let (_, out) = read(
            "response.output_text.delta",
            r#"{"output_index":-1,"delta":"x"}"#,
        );
        assert_eq!(text_delta(&out), Some((0, "x")));
        let (_, out) = read(
            "x",
            r#"{"type":"response.output_text.delta","output_index":99999999999,"delta":5}"#,
        );
        assert_eq!(text_delta(&out), Some((0, "")));
        // An array is no event of any kind, whatever its members say.
        let (flow, out) = read("x", r#"["response.output_text.delta",0,0,"x"]"#);
        assert!(matches!(flow, Ok(Flow::More)) && out.is_empty());
        // Malformed JSON is a stream fault, for ignored kinds as for the rest.
        let (flow, _) = read("response.function_call_arguments.delta", r#"{"type":"#);
        assert!(flow.is_err());
    }

    #[test]
    fn terminal_events_still_end_the_response() {
        let (flow, out) = read(
            "",
            r#"{"type":"response.completed","response":{"usage":{"input_tokens":3,"output_tokens":4,"total_tokens":7}}}"#,
        );
        assert!(matches!(flow, Ok(Flow::Finished)));
        assert!(matches!(
            out.as_slice(),
            [ModelEvent::Completed { usage: Some(_) }]
        ));
        let (flow, _) = read(
            "",
            r#"{"type":"error","code":"rate_limit_exceeded","message":"slow"}"#,
        );
        assert!(flow.is_err());
    }

    #[test]
    fn unknown_and_lifecycle_events_are_ignored() {
        let mut out = Vec::new();
        let event = Event {
            event: "response.web_search_call.searching".into(),
            data: r#"{"type":"response.web_search_call.searching","output_index":0}"#.into(),
            ..Event::default()
        };
        assert!(matches!(on_event(&event, &mut out), Ok(Flow::More)));
        assert!(out.is_empty());
    }
}
