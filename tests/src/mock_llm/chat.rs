//! Renders a [`ChatScript`] into Chat Completions stream chunks:
//! `data: {"id","object":"chat.completion.chunk","created","model","choices":[...]}`
//! lines, optionally with provider quirks (see [`ChatQuirks`]).

use serde_json::{json, Value};

use super::script::{
    split_fragments, ChatQuirks, ChatScript, ChatStep, ReasoningField, ResponsesEvent,
    ResponsesScript,
};
use super::sse::{data_only, unix_now, Action, MALFORMED_DATA};

struct Renderer {
    actions: Vec<Action>,
    id: String,
    model: String,
    created: u64,
    quirks: ChatQuirks,
    /// The first delta of a stream carries `role: "assistant"`, as OpenAI's does.
    role_sent: bool,
}

/// Renders the script. `serial` makes ids unique; `model` is echoed.
pub(crate) fn render(script: &ChatScript, serial: u64, model: &str) -> Vec<Action> {
    let mut r = Renderer {
        actions: Vec::new(),
        id: format!("chatcmpl-mock-{serial}"),
        model: model.to_owned(),
        created: unix_now(),
        quirks: script.quirks,
        role_sent: false,
    };
    for step in &script.steps {
        r.step(step);
    }
    r.actions
}

impl Renderer {
    fn chunk(&mut self, choices: Value, usage: Option<Value>) {
        let mut data = json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        });
        if let Some(usage) = usage {
            data["usage"] = usage;
        }
        self.actions
            .push(Action::Send(data_only(&data.to_string())));
    }

    fn delta(&mut self, mut delta: Value) {
        if !self.role_sent {
            delta["role"] = json!("assistant");
            self.role_sent = true;
        }
        self.chunk(
            json!([{"index": 0, "delta": delta, "finish_reason": null}]),
            None,
        );
    }

    fn step(&mut self, step: &ChatStep) {
        match step {
            ChatStep::Content(chunks) => {
                for c in chunks {
                    self.delta(json!({ "content": c }));
                }
            }
            ChatStep::Reasoning { chunks, field } => {
                for c in chunks {
                    let mut delta = json!({});
                    delta[field.key()] = json!(c);
                    self.delta(delta);
                }
            }
            ChatStep::ToolCall {
                index,
                id,
                name,
                args,
            } => self.tool_call(*index, id, name, args),
            ChatStep::Finish(reason) => {
                self.chunk(
                    json!([{"index": 0, "delta": {}, "finish_reason": reason}]),
                    None,
                );
            }
            ChatStep::Usage {
                prompt,
                completion,
                cached,
            } => {
                let usage = json!({
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                    "prompt_tokens_details": {"cached_tokens": cached},
                });
                self.chunk(json!([]), Some(usage));
            }
            ChatStep::Done => self.actions.push(Action::Send(data_only("[DONE]"))),
            ChatStep::Raw(line) => self.actions.push(Action::Send(data_only(line))),
            ChatStep::Malformed => self.actions.push(Action::Send(data_only(MALFORMED_DATA))),
            ChatStep::Stall(d) => self.actions.push(Action::Sleep(*d)),
            ChatStep::Gate => self.actions.push(Action::Gate),
        }
    }

    fn tool_call(&mut self, index: u32, id: &str, name: &str, args: &[String]) {
        if self.quirks.ollama_whole_tool_calls {
            let call = json!({"index": 0, "id": id, "type": "function",
                              "function": {"name": name, "arguments": args.concat()}});
            self.delta(json!({ "tool_calls": [call] }));
            return;
        }
        let first_fragment = args.first().map(String::as_str).unwrap_or("");
        let first = json!({"index": index, "id": id, "type": "function",
                           "function": {"name": name, "arguments": first_fragment}});
        self.delta(json!({ "tool_calls": [first] }));
        for fragment in args.iter().skip(1) {
            let call = json!({"index": index, "function": {"arguments": fragment}});
            self.delta(json!({ "tool_calls": [call] }));
        }
    }
}

/// Translates a Responses script into the equivalent Chat Completions
/// stream, so the demo and benchmark servers can answer either endpoint
/// from one canned script. Lifecycle-only events (`created`, raw Responses
/// events) have no Chat counterpart and are dropped.
pub(crate) fn from_responses(script: &ResponsesScript) -> ChatScript {
    let mut steps = Vec::new();
    let mut tool_calls = 0u32;
    let error_line = |code: &str, message: &str| {
        ChatStep::Raw(json!({"error": {"code": code, "message": message}}).to_string())
    };
    for step in &script.steps {
        match step {
            ResponsesEvent::Created | ResponsesEvent::InProgress | ResponsesEvent::Raw { .. } => {}
            ResponsesEvent::Message(chunks) => steps.push(ChatStep::Content(chunks.clone())),
            ResponsesEvent::Reasoning(chunks) => steps.push(ChatStep::Reasoning {
                chunks: chunks.clone(),
                field: ReasoningField::Reasoning,
            }),
            ResponsesEvent::FunctionCall {
                call_id,
                name,
                arguments: args,
            }
            | ResponsesEvent::CustomToolCall {
                call_id,
                name,
                input: args,
            } => {
                steps.push(ChatStep::ToolCall {
                    index: tool_calls,
                    id: call_id.clone(),
                    name: name.clone(),
                    args: split_fragments(args, 3),
                });
                tool_calls += 1;
            }
            ResponsesEvent::Completed(usage) => {
                let reason = if tool_calls > 0 { "tool_calls" } else { "stop" };
                steps.push(ChatStep::finish(reason));
                steps.push(ChatStep::usage(
                    usage.input_tokens,
                    usage.output_tokens,
                    usage.cached_tokens,
                ));
                steps.push(ChatStep::Done);
            }
            ResponsesEvent::Incomplete(_) => {
                steps.push(ChatStep::finish("length"));
                steps.push(ChatStep::Done);
            }
            ResponsesEvent::Failed { code, message } | ResponsesEvent::Error { code, message } => {
                steps.push(error_line(code, message))
            }
            ResponsesEvent::Malformed => steps.push(ChatStep::Malformed),
            ResponsesEvent::Stall(d) => steps.push(ChatStep::Stall(*d)),
            ResponsesEvent::Gate => steps.push(ChatStep::Gate),
        }
    }
    ChatScript {
        steps,
        quirks: ChatQuirks::default(),
        chunk_delay: script.chunk_delay,
    }
}
