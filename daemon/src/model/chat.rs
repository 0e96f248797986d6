//! The OpenAI-compatible Chat Completions wire format (Ollama, LM Studio, llama.cpp server,
//! vLLM, OpenRouter): the request body, and the assembly of streamed chunks into items.
//!
//! Unlike the Responses API, Chat Completions never says "this item is complete": text,
//! reasoning and tool-call fragments trickle in as deltas and the answer is only whole at
//! `finish_reason` / `[DONE]`. So [`ChatAssembler`] forwards text and reasoning deltas as they
//! come and emits every `ItemDone` at the end, in the order the items first appeared.

use std::collections::HashSet;

use eventsource_stream::Event;
use serde_json::{json, Map, Value};

use super::chat_calls::{HeldCalls, PendingCall};
use super::responses::COMPACTION_HEADER;
use super::retry::{classify_code, Failure};
use super::sse::Flow;
use super::types::{
    HistoryItem, ModelError, ModelEvent, ModelRequest, OutputItem, ToolSpec, Usage,
};

/// The `POST /chat/completions` body.
pub(crate) fn request_body(request: &ModelRequest) -> Value {
    let mut body = json!({
        "model": request.model,
        "messages": messages(request),
        "stream": true,
        // Without this, OpenAI sends no usage at all in streaming mode.
        "stream_options": {"include_usage": true},
    });
    let tools: Vec<Value> = request.tools.iter().filter_map(tool).collect();
    if !tools.is_empty() {
        // Some servers reject an empty `tools` list, so it is only sent when there are tools.
        body["tools"] = Value::Array(tools);
        body["tool_choice"] = json!("auto");
    }
    if let Some(effort) = &request.reasoning_effort {
        body["reasoning_effort"] = json!(effort);
    }
    if let Some(schema) = &request.output_schema {
        body["response_format"] = json!({"type": "json_schema", "json_schema": {
            "name": super::responses::OUTPUT_SCHEMA_NAME, "schema": schema, "strict": true,
        }});
    }
    body
}

fn messages(request: &ModelRequest) -> Vec<Value> {
    let mut out = Vec::new();
    if !request.instructions.is_empty() {
        out.push(json!({"role": "system", "content": request.instructions}));
    }
    for item in &request.input {
        match item {
            HistoryItem::UserMessage { text, images } if images.is_empty() => {
                out.push(json!({"role": "user", "content": text}));
            }
            HistoryItem::UserMessage { text, images } => {
                // Images first, then the text, as the Responses wire sends them.
                let mut parts: Vec<Value> = images
                    .iter()
                    .map(|url| json!({"type": "image_url", "image_url": {"url": url}}))
                    .collect();
                if !text.is_empty() {
                    parts.push(json!({"type": "text", "text": text}));
                }
                out.push(json!({"role": "user", "content": parts}));
            }
            HistoryItem::AssistantMessage { text } => {
                out.push(json!({"role": "assistant", "content": text}));
            }
            // Chat Completions has no way to send reasoning back.
            HistoryItem::Reasoning { .. } => {}
            HistoryItem::FunctionCall {
                call_id,
                name,
                arguments,
            } => push_tool_call(&mut out, call_id, name, arguments.clone()),
            HistoryItem::CustomToolCall {
                call_id,
                name,
                input,
            } => push_tool_call(&mut out, call_id, name, json!({"input": input}).to_string()),
            HistoryItem::FunctionCallOutput {
                call_id,
                output,
                images,
            } => out.push(json!({
                "role": "tool",
                "tool_call_id": call_id,
                "content": with_image_note(output, images.len()),
            })),
            HistoryItem::CustomToolCallOutput { call_id, output } => out.push(json!({
                "role": "tool",
                "tool_call_id": call_id,
                "content": output,
            })),
            HistoryItem::CompactionSummary { text } => out.push(json!({
                "role": "user",
                "content": format!("{COMPACTION_HEADER}{text}"),
            })),
            // Chat Completions has no hosted tools (a thread moved from a Responses provider).
            HistoryItem::WebSearchCall { .. } => {}
            HistoryItem::HookContext { text } => out.push(json!({
                "role": "user",
                "content": format!("Context from a hook:\n{text}"),
            })),
        }
    }
    out
}

/// Chat Completions tool messages carry text only: the model is told images were left out.
fn with_image_note(output: &str, images: usize) -> String {
    if images == 0 {
        return output.to_owned();
    }
    format!(
        "{output}\n[{images} image(s) in the tool's result not shown: this provider's API \
         takes text only in tool results]"
    )
}

/// Appends a tool call, joining it to the previous message when that one is already an
/// assistant tool-call message: calls the model made together are sent back together.
fn push_tool_call(out: &mut Vec<Value>, call_id: &str, name: &str, arguments: String) {
    let call = json!({
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": arguments},
    });
    if let Some(calls) = out
        .last_mut()
        .and_then(|last| last.get_mut("tool_calls"))
        .and_then(Value::as_array_mut)
    {
        calls.push(call);
        return;
    }
    out.push(json!({"role": "assistant", "content": null, "tool_calls": [call]}));
}

/// A tool as a Chat Completions function; `None` for hosted tools, which the wire lacks (the
/// config refuses `web_search` for a chat provider, so none is offered here).
fn tool(spec: &ToolSpec) -> Option<Value> {
    let (name, description, parameters) = match spec {
        ToolSpec::WebSearch { .. } => return None,
        ToolSpec::Function {
            name,
            description,
            parameters,
        } => (name, description, parameters.clone()),
        // Chat Completions has no freeform tools: offer a function taking the text as `input`.
        ToolSpec::Freeform { name, description } => (
            name,
            description,
            json!({
                "type": "object",
                "properties": {"input": {"type": "string"}},
                "required": ["input"],
            }),
        ),
    };
    Some(json!({
        "type": "function",
        "function": {"name": name, "description": description, "parameters": parameters},
    }))
}

/// Assembles one Chat Completions stream. Output indices are handed out in order of first
/// appearance (reasoning usually comes before text, text before tool calls), so deltas and
/// the `ItemDone` that completes them always agree.
#[derive(Debug, Default)]
pub(crate) struct ChatAssembler {
    /// Freeform tools were offered as functions; calls to them are reported as custom calls.
    freeform_tools: HashSet<String>,
    next_index: u32,
    text: Option<(u32, String)>,
    reasoning: Option<(u32, String)>,
    calls: HeldCalls,
    finish_reason: Option<String>,
    usage: Option<Usage>,
}

impl ChatAssembler {
    pub(crate) fn new(request: &ModelRequest) -> Self {
        let freeform_tools = request
            .tools
            .iter()
            .filter(|t| matches!(t, ToolSpec::Freeform { .. }))
            .map(|t| t.name().to_owned())
            .collect();
        ChatAssembler {
            freeform_tools,
            ..ChatAssembler::default()
        }
    }

    pub(crate) fn on_event(
        &mut self,
        event: &Event,
        out: &mut Vec<ModelEvent>,
    ) -> Result<Flow, Failure> {
        let data = event.data.trim();
        if data.is_empty() {
            return Ok(Flow::More);
        }
        if data == "[DONE]" {
            self.finish(out)?;
            return Ok(Flow::Finished);
        }
        let chunk: Value = serde_json::from_str(data)
            .map_err(|err| Failure::retry(ModelError::Stream(format!("malformed chunk: {err}"))))?;
        if let Some(error) = chunk.get("error") {
            // OpenAI-compatible servers report mid-stream failures as an error object.
            let code = match error.get("code").or_else(|| error.get("type")) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => "unknown".to_owned(),
            };
            // Some servers send the message alone: `{"error": "model not found"}`.
            let message = error
                .as_str()
                .or_else(|| error.get("message").and_then(Value::as_str));
            return Err(classify_code(&code, message.unwrap_or("")));
        }
        if let Some(usage) = chunk.get("usage").and_then(usage) {
            self.usage = Some(usage);
        }
        let choices = chunk.get("choices").and_then(Value::as_array);
        // `n` is never set, so there is one choice; other indices would be a server bug.
        if let Some(choice) = choices.and_then(|c| c.first()) {
            if let Some(delta) = choice.get("delta") {
                self.on_delta(delta, out)?;
            }
            if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
                self.finish_reason = Some(reason.to_owned());
            }
        }
        Ok(Flow::More)
    }

    /// A stream that closes after `finish_reason` but without `[DONE]` (some servers) is
    /// complete; one that closes before `finish_reason` was cut off.
    pub(crate) fn on_end(&mut self, out: &mut Vec<ModelEvent>) -> Result<(), Failure> {
        if self.finish_reason.is_none() {
            return Err(Failure::retry(ModelError::Stream(
                "the stream ended before finish_reason and [DONE]".to_owned(),
            )));
        }
        self.finish(out)
    }

    fn on_delta(&mut self, delta: &Value, out: &mut Vec<ModelEvent>) -> Result<(), Failure> {
        let reasoning = ["reasoning", "reasoning_content"]
            .iter()
            .filter_map(|key| delta.get(*key).and_then(Value::as_str))
            .find(|s| !s.is_empty());
        if let Some(piece) = reasoning {
            let output_index = append(&mut self.reasoning, &mut self.next_index, piece);
            out.push(ModelEvent::ReasoningSummaryDelta {
                output_index,
                summary_index: 0,
                delta: piece.to_owned(),
            });
        }
        if let Some(piece) = delta.get("content").and_then(Value::as_str) {
            if !piece.is_empty() {
                let output_index = append(&mut self.text, &mut self.next_index, piece);
                out.push(ModelEvent::TextDelta {
                    output_index,
                    delta: piece.to_owned(),
                });
            }
        }
        if let Some(fragments) = delta.get("tool_calls").and_then(Value::as_array) {
            // Capped fragment by fragment: one event may hold a million of them.
            for fragment in fragments {
                self.calls.on_fragment(fragment, &mut self.next_index)?;
            }
        }
        Ok(())
    }

    /// Emits every item, in output order, then `Completed` (or the truncation error).
    fn finish(&mut self, out: &mut Vec<ModelEvent>) -> Result<(), Failure> {
        match self.finish_reason.as_deref() {
            // Named like the Responses API's `incomplete_details.reason`, so the agent sees
            // one vocabulary whichever wire the provider speaks.
            Some("length") => {
                return Err(Failure::Fatal(ModelError::Incomplete(
                    "max_output_tokens".to_owned(),
                )))
            }
            Some("content_filter") => {
                return Err(Failure::Fatal(ModelError::Incomplete(
                    "content_filter".to_owned(),
                )))
            }
            _ => {}
        }
        let mut items: Vec<(u32, OutputItem)> = Vec::new();
        if let Some((index, text)) = self.text.take() {
            items.push((index, OutputItem::Message { text }));
        }
        if let Some((index, text)) = self.reasoning.take() {
            let item = OutputItem::Reasoning {
                summary: vec![text],
                encrypted_content: None,
            };
            items.push((index, item));
        }
        for call in self.calls.take() {
            items.push((call.output_index, output_call(call, &self.freeform_tools)));
        }
        items.sort_by_key(|(index, _)| *index);
        out.extend(
            items
                .into_iter()
                .map(|(output_index, item)| ModelEvent::ItemDone { output_index, item }),
        );
        out.push(ModelEvent::Completed {
            usage: self.usage.take(),
        });
        Ok(())
    }
}

/// Appends to a text slot, giving it the next output index on first use.
fn append(slot: &mut Option<(u32, String)>, next_index: &mut u32, piece: &str) -> u32 {
    let (index, text) = slot.get_or_insert_with(|| {
        *next_index += 1;
        (*next_index - 1, String::new())
    });
    text.push_str(piece);
    *index
}

fn output_call(call: PendingCall, freeform_tools: &HashSet<String>) -> OutputItem {
    // Some servers send no ids; the agent pairs calls and outputs by id, so make one up.
    let call_id = call
        .id
        .unwrap_or_else(|| format!("call_{}", uuid::Uuid::now_v7().simple()));
    if freeform_tools.contains(&call.name) {
        // The model was asked for `{"input": "..."}`; if it sent something else, the raw
        // arguments are the best guess at what it meant.
        let input = serde_json::from_str::<Map<String, Value>>(&call.arguments)
            .ok()
            .and_then(|args| args.get("input").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or(call.arguments);
        return OutputItem::CustomToolCall {
            call_id,
            name: call.name,
            input,
        };
    }
    OutputItem::FunctionCall {
        call_id,
        name: call.name,
        arguments: call.arguments,
    }
}

/// The Chat Completions usage object (`null` in every chunk but the last, when present).
fn usage(v: &Value) -> Option<Usage> {
    if !v.is_object() {
        return None;
    }
    let n = |pointer: &str| v.pointer(pointer).and_then(Value::as_u64).unwrap_or(0);
    let input_tokens = n("/prompt_tokens");
    let output_tokens = n("/completion_tokens");
    Some(Usage {
        input_tokens,
        cached_input_tokens: n("/prompt_tokens_details/cached_tokens"),
        output_tokens,
        reasoning_output_tokens: n("/completion_tokens_details/reasoning_tokens"),
        total_tokens: v
            .get("total_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(input_tokens + output_tokens),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(assembler: &mut ChatAssembler, data: Value, out: &mut Vec<ModelEvent>) {
        let event = Event {
            data: data.to_string(),
            ..Event::default()
        };
        assert!(matches!(assembler.on_event(&event, out), Ok(Flow::More)));
    }

    #[test]
    fn idless_whole_calls_at_one_index_stay_apart() {
        let mut a = ChatAssembler::default();
        let mut out = Vec::new();
        for (name, args) in [("a", r#"{"x":1}"#), ("b", r#"{"y":2}"#)] {
            let call = json!({"index": 0, "function": {"name": name, "arguments": args}});
            chunk(
                &mut a,
                json!({"choices": [{"delta": {"tool_calls": [call]}}]}),
                &mut out,
            );
        }
        assert!(a.on_end(&mut out).is_err(), "no finish_reason yet");
        chunk(
            &mut a,
            json!({"choices": [{"delta": {}, "finish_reason": "tool_calls"}]}),
            &mut out,
        );
        assert!(a.on_end(&mut out).is_ok());
        let names: Vec<&str> = out
            .iter()
            .filter_map(|e| match e {
                ModelEvent::ItemDone {
                    item: OutputItem::FunctionCall { name, .. },
                    ..
                } => Some(name.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(names, ["a", "b"]);
    }

    fn tool_calls(fragments: Vec<Value>) -> Event {
        let data = json!({"choices": [{"delta": {"tool_calls": fragments}}]});
        Event {
            data: data.to_string(),
            ..Event::default()
        }
    }

    /// A named fragment without an id, after a call whose arguments did not parse yet, once
    /// re-parsed all of them: thousands of such fragments against megabytes of arguments cost
    /// minutes of the worker thread.
    #[test]
    fn named_fragments_against_long_arguments_cost_their_own_bytes() {
        let mut a = ChatAssembler::default();
        let mut out = Vec::new();
        let long = format!("{{\"a\": \"{}", "x".repeat(4 * 1024 * 1024));
        let first = json!({"index": 0, "function": {"name": "f", "arguments": long}});
        chunk(
            &mut a,
            json!({"choices": [{"delta": {"tool_calls": [first]}}]}),
            &mut out,
        );
        let mut fragments = Vec::new();
        for _ in 0..2_000 {
            fragments.push(json!({"index": 0, "function": {"arguments": "x"}}));
            fragments.push(json!({"index": 0, "function": {"name": "f"}}));
        }
        let event = tool_calls(fragments);
        let started = std::time::Instant::now();
        assert!(matches!(a.on_event(&event, &mut out), Ok(Flow::More)));
        let took = started.elapsed();
        assert!(took < std::time::Duration::from_secs(2), "{took:?}");
    }

    /// Fragments at distinct indexes in one event are refused at the first call past the cap,
    /// each having cost a lookup: not a pass over every call before it, after the whole array.
    #[test]
    fn an_event_of_fragments_at_many_indexes_stops_at_the_cap() {
        let mut a = ChatAssembler::default();
        let fragments = (0..100_000u64)
            .map(|i| json!({"index": i, "function": {"arguments": "{}"}}))
            .collect();
        let event = tool_calls(fragments);
        let started = std::time::Instant::now();
        let result = a.on_event(&event, &mut Vec::new());
        let took = started.elapsed();
        assert!(
            matches!(result, Err(Failure::Fatal(ModelError::Refused(_)))),
            "{result:?}"
        );
        assert!(took < std::time::Duration::from_secs(2), "{took:?}");
    }

    #[test]
    fn consecutive_calls_share_one_assistant_message() {
        let call = |id: &str| HistoryItem::FunctionCall {
            call_id: id.into(),
            name: "shell".into(),
            arguments: "{}".into(),
        };
        let output = |id: &str| HistoryItem::FunctionCallOutput {
            images: Vec::new(),
            call_id: id.into(),
            output: "ok".into(),
        };
        let request = ModelRequest {
            model: "m".into(),
            instructions: String::new(),
            input: vec![call("c1"), call("c2"), output("c1"), output("c2")],
            tools: vec![],
            reasoning_effort: None,
            output_schema: None,
        };
        let body = request_body(&request);
        let messages = body["messages"].as_array().cloned().unwrap_or_default();
        assert_eq!(messages.len(), 3, "{messages:?}");
        assert_eq!(messages[0]["tool_calls"].as_array().map(Vec::len), Some(2));
        assert!(body.get("tools").is_none());
    }
}
