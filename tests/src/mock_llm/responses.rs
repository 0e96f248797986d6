//! Renders a [`ResponsesScript`] into the event sequence the real OpenAI
//! Responses API streams: every event carries `type` and `sequence_number`,
//! item events carry `output_index` and `item_id`, and lifecycle events
//! carry a `response` object with `id`, `status`, `output` and `usage`.

use serde_json::{json, Value};

use super::script::{split_fragments, ResponsesEvent, ResponsesScript, Usage};
use super::sse::{named_event, unix_now, Action, MALFORMED_DATA};

/// Per-stream state: counters and the items completed so far (which
/// `response.completed` reports as `output`).
struct Renderer {
    actions: Vec<Action>,
    response_id: String,
    model: String,
    created_at: u64,
    sequence: u64,
    output: Vec<Value>,
}

/// Renders the script. `serial` makes ids unique across the server's
/// lifetime; `model` is echoed from the request like the real API does.
pub(crate) fn render(script: &ResponsesScript, serial: u64, model: &str) -> Vec<Action> {
    let mut r = Renderer {
        actions: Vec::new(),
        response_id: format!("resp_mock_{serial}"),
        model: model.to_owned(),
        created_at: unix_now(),
        sequence: 0,
        output: Vec::new(),
    };
    for (step_no, step) in script.steps.iter().enumerate() {
        r.step(step, serial, step_no);
    }
    r.actions
}

impl Renderer {
    fn emit(&mut self, name: &str, mut data: Value) {
        if let Value::Object(map) = &mut data {
            map.insert("type".into(), Value::String(name.to_owned()));
            map.insert("sequence_number".into(), json!(self.sequence));
        }
        self.sequence += 1;
        self.actions.push(Action::Send(named_event(name, &data)));
    }

    fn response(&self, status: &str, usage: Option<&Usage>) -> Value {
        json!({
            "id": self.response_id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "model": self.model,
            "output": self.output,
            "usage": usage.map(usage_json),
            "error": null,
            "incomplete_details": null,
        })
    }

    fn step(&mut self, step: &ResponsesEvent, serial: u64, step_no: usize) {
        let output_index = self.output.len();
        match step {
            ResponsesEvent::Created => {
                let response = self.response("in_progress", None);
                self.emit("response.created", json!({ "response": response }));
            }
            ResponsesEvent::InProgress => {
                let response = self.response("in_progress", None);
                self.emit("response.in_progress", json!({ "response": response }));
            }
            ResponsesEvent::Message(chunks) => {
                let item_id = format!("msg_mock_{serial}_{step_no}");
                self.message(&item_id, output_index, chunks);
            }
            ResponsesEvent::Reasoning(chunks) => {
                let item_id = format!("rs_mock_{serial}_{step_no}");
                self.reasoning(&item_id, output_index, chunks);
            }
            ResponsesEvent::FunctionCall {
                call_id,
                name,
                arguments,
            } => {
                let item_id = format!("fc_mock_{serial}_{step_no}");
                self.function_call(&item_id, output_index, call_id, name, arguments);
            }
            ResponsesEvent::CustomToolCall {
                call_id,
                name,
                input,
            } => {
                let item_id = format!("ctc_mock_{serial}_{step_no}");
                self.custom_tool_call(&item_id, output_index, call_id, name, input);
            }
            ResponsesEvent::Completed(usage) => {
                let response = self.response("completed", Some(usage));
                self.emit("response.completed", json!({ "response": response }));
            }
            ResponsesEvent::Failed { code, message } => {
                let mut response = self.response("failed", None);
                response["error"] = json!({ "code": code, "message": message });
                self.emit("response.failed", json!({ "response": response }));
            }
            ResponsesEvent::Incomplete(reason) => {
                let mut response = self.response("incomplete", None);
                response["incomplete_details"] = json!({ "reason": reason });
                self.emit("response.incomplete", json!({ "response": response }));
            }
            ResponsesEvent::Error { code, message } => {
                self.emit(
                    "error",
                    json!({ "code": code, "message": message, "param": null }),
                );
            }
            ResponsesEvent::Raw { event, data } => {
                self.actions.push(Action::Send(named_event(event, data)));
            }
            ResponsesEvent::Malformed => {
                self.actions.push(Action::Send(
                    format!("event: response.output_text.delta\ndata: {MALFORMED_DATA}\n\n").into(),
                ));
            }
            ResponsesEvent::Stall(d) => self.actions.push(Action::Sleep(*d)),
            ResponsesEvent::Gate => self.actions.push(Action::Gate),
        }
    }

    fn message(&mut self, item_id: &str, output_index: usize, chunks: &[String]) {
        let text: String = chunks.concat();
        self.emit(
            "response.output_item.added",
            json!({
                "output_index": output_index,
                "item": {"id": item_id, "type": "message", "status": "in_progress",
                         "role": "assistant", "content": []},
            }),
        );
        let position =
            json!({"item_id": item_id, "output_index": output_index, "content_index": 0});
        self.emit(
            "response.content_part.added",
            merge(
                &position,
                json!({"part": {"type": "output_text", "text": "", "annotations": []}}),
            ),
        );
        for chunk in chunks {
            self.emit(
                "response.output_text.delta",
                merge(&position, json!({"delta": chunk, "logprobs": []})),
            );
        }
        self.emit(
            "response.output_text.done",
            merge(&position, json!({"text": text, "logprobs": []})),
        );
        let part = json!({"type": "output_text", "text": text, "annotations": []});
        self.emit(
            "response.content_part.done",
            merge(&position, json!({ "part": part })),
        );
        let item = json!({"id": item_id, "type": "message", "status": "completed",
                          "role": "assistant", "content": [part]});
        self.item_done(output_index, item);
    }

    fn reasoning(&mut self, item_id: &str, output_index: usize, chunks: &[String]) {
        let text: String = chunks.concat();
        self.emit(
            "response.output_item.added",
            json!({
                "output_index": output_index,
                "item": {"id": item_id, "type": "reasoning", "summary": []},
            }),
        );
        let position =
            json!({"item_id": item_id, "output_index": output_index, "summary_index": 0});
        self.emit(
            "response.reasoning_summary_part.added",
            merge(
                &position,
                json!({"part": {"type": "summary_text", "text": ""}}),
            ),
        );
        for chunk in chunks {
            self.emit(
                "response.reasoning_summary_text.delta",
                merge(&position, json!({ "delta": chunk })),
            );
        }
        self.emit(
            "response.reasoning_summary_text.done",
            merge(&position, json!({ "text": text })),
        );
        let part = json!({"type": "summary_text", "text": text});
        self.emit(
            "response.reasoning_summary_part.done",
            merge(&position, json!({ "part": part })),
        );
        let item = json!({"id": item_id, "type": "reasoning", "summary": [part]});
        self.item_done(output_index, item);
    }

    fn function_call(
        &mut self,
        item_id: &str,
        output_index: usize,
        call_id: &str,
        name: &str,
        arguments: &str,
    ) {
        self.emit(
            "response.output_item.added",
            json!({
                "output_index": output_index,
                "item": {"id": item_id, "type": "function_call", "status": "in_progress",
                         "call_id": call_id, "name": name, "arguments": ""},
            }),
        );
        let position = json!({"item_id": item_id, "output_index": output_index});
        for fragment in split_fragments(arguments, 3) {
            self.emit(
                "response.function_call_arguments.delta",
                merge(&position, json!({ "delta": fragment })),
            );
        }
        self.emit(
            "response.function_call_arguments.done",
            merge(&position, json!({ "name": name, "arguments": arguments })),
        );
        let item = json!({"id": item_id, "type": "function_call", "status": "completed",
                          "call_id": call_id, "name": name, "arguments": arguments});
        self.item_done(output_index, item);
    }

    fn custom_tool_call(
        &mut self,
        item_id: &str,
        output_index: usize,
        call_id: &str,
        name: &str,
        input: &str,
    ) {
        self.emit(
            "response.output_item.added",
            json!({
                "output_index": output_index,
                "item": {"id": item_id, "type": "custom_tool_call", "status": "in_progress",
                         "call_id": call_id, "name": name, "input": ""},
            }),
        );
        let position = json!({"item_id": item_id, "output_index": output_index});
        for fragment in split_fragments(input, 2) {
            self.emit(
                "response.custom_tool_call_input.delta",
                merge(&position, json!({ "delta": fragment })),
            );
        }
        self.emit(
            "response.custom_tool_call_input.done",
            merge(&position, json!({ "input": input })),
        );
        let item = json!({"id": item_id, "type": "custom_tool_call", "status": "completed",
                          "call_id": call_id, "name": name, "input": input});
        self.item_done(output_index, item);
    }

    fn item_done(&mut self, output_index: usize, item: Value) {
        self.emit(
            "response.output_item.done",
            json!({ "output_index": output_index, "item": item }),
        );
        self.output.push(item);
    }
}

/// The Responses API usage object.
fn usage_json(u: &Usage) -> Value {
    json!({
        "input_tokens": u.input_tokens,
        "input_tokens_details": {"cached_tokens": u.cached_tokens},
        "output_tokens": u.output_tokens,
        "output_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
        "total_tokens": u.total(),
    })
}

/// `base` with `extra`'s keys added (both objects).
fn merge(base: &Value, extra: Value) -> Value {
    let mut out = base.clone();
    if let (Value::Object(out_map), Value::Object(extra_map)) = (&mut out, extra) {
        out_map.extend(extra_map);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock_llm::script::Step;

    fn events(actions: &[Action]) -> Vec<(String, Value)> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Send(b) => {
                    let s = std::str::from_utf8(b).unwrap();
                    let mut lines = s.lines();
                    let name = lines.next()?.strip_prefix("event: ")?.to_owned();
                    let data = lines.next()?.strip_prefix("data: ")?;
                    Some((name, serde_json::from_str(data).ok()?))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn sequence_numbers_and_output_indices_increase() {
        let script = ResponsesScript::new(vec![
            Step::created(),
            Step::reasoning(&["think"]),
            Step::message(&["a", "b"]),
            Step::function_call("c1", "shell", "{\"cmd\":\"ls\"}"),
            Step::completed(Usage::default()),
        ]);
        let evs = events(&render(&script, 7, "m"));
        for (i, (name, data)) in evs.iter().enumerate() {
            assert_eq!(data["type"], name.as_str());
            assert_eq!(data["sequence_number"], i as u64);
        }
        let done: Vec<&Value> = evs
            .iter()
            .filter(|(n, _)| n == "response.output_item.done")
            .map(|(_, d)| d)
            .collect();
        assert_eq!(done.len(), 3);
        for (i, d) in done.iter().enumerate() {
            assert_eq!(d["output_index"], i);
        }
        let (last, data) = evs.last().unwrap();
        assert_eq!(last, "response.completed");
        assert_eq!(data["response"]["output"].as_array().unwrap().len(), 3);
        assert_eq!(data["response"]["usage"]["total_tokens"], 120);
        assert_eq!(data["response"]["id"], "resp_mock_7");
    }
}
