//! The script language: what one scripted response looks like, both as Rust
//! builders (for tests) and as JSON (for the `mock-llm --script FILE` binary).
//!
//! The serde representation is designed to be hand-written: unit steps are
//! bare strings (`"created"`, `"gate"`, `"done"`), everything else is a
//! one-key object (`{"message": ["Hel", "lo"]}`), and durations are plain
//! milliseconds (`{"stall_ms": 5000}`). Example file:
//!
//! ```json
//! [
//!   {"responses": ["created", {"message": ["Hello", " there"]}, {"completed": {}}]},
//!   {"chat": [{"content": ["Hi"]}, {"finish": "stop"}, "done"]},
//!   {"rate_limited": {"retry_after_secs": 1}}
//! ]
//! ```

use std::time::Duration;

use anyhow::Context as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// One scripted answer: the whole HTTP response given to one model request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Scripted {
    /// A streamed OpenAI Responses API answer (`POST /v1/responses`).
    Responses(ResponsesScript),
    /// A streamed Chat Completions answer (`POST /v1/chat/completions`).
    Chat(ChatScript),
    /// A plain HTTP error with a JSON body (e.g. a 500 to exercise retries).
    HttpError {
        status: u16,
        #[serde(default)]
        body: Value,
        /// Extra response headers, as `[["name", "value"], ...]`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        headers: Vec<(String, String)>,
    },
    /// HTTP 429 `rate_limit_exceeded`. `retry_after_secs` becomes the
    /// `Retry-After` header; `hint_secs` puts an OpenAI-style
    /// "Please try again in 1.5s." hint into the error message instead.
    RateLimited {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_secs: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hint_secs: Option<f64>,
    },
    /// HTTP 400 with error code `context_length_exceeded`.
    ContextLengthExceeded,
    /// HTTP 429 with error code `insufficient_quota` (must not be retried).
    QuotaExceeded,
}

impl Scripted {
    /// A complete Responses answer whose text arrives in several deltas:
    /// `response.created`, one message item, `response.completed`.
    pub fn responses_text(text: &str) -> Self {
        let chunks = chunk_text(text);
        Scripted::responses(vec![
            Step::created(),
            Step::Message(chunks),
            Step::completed(Usage::default()),
        ])
    }

    /// A complete Responses answer that asks for one function call.
    pub fn responses_tool_call(call_id: &str, name: &str, arguments: &str) -> Self {
        Scripted::responses(vec![
            Step::created(),
            Step::function_call(call_id, name, arguments),
            Step::completed(Usage::default()),
        ])
    }

    /// A Responses stream made of exactly these steps.
    pub fn responses(steps: Vec<Step>) -> Self {
        Scripted::Responses(ResponsesScript::new(steps))
    }

    /// A Chat Completions stream made of exactly these steps.
    pub fn chat(steps: Vec<ChatStep>) -> Self {
        Scripted::Chat(ChatScript::new(steps))
    }

    /// A Chat Completions stream with provider quirks switched on.
    pub fn chat_with_quirks(steps: Vec<ChatStep>, quirks: ChatQuirks) -> Self {
        Scripted::Chat(ChatScript {
            steps,
            quirks,
            chunk_delay: None,
        })
    }

    /// A complete Chat Completions text answer: content deltas, `stop`,
    /// a usage chunk and `[DONE]`.
    pub fn chat_text(text: &str) -> Self {
        let chunks = chunk_text(text);
        Scripted::chat(vec![
            ChatStep::Content(chunks),
            ChatStep::finish("stop"),
            ChatStep::usage(100, 20, 0),
            ChatStep::done(),
        ])
    }

    /// A complete Chat Completions answer that asks for one tool call,
    /// its arguments split into a few fragments.
    pub fn chat_tool_call(id: &str, name: &str, arguments: &str) -> Self {
        let fragments = split_fragments(arguments, 3);
        Scripted::chat(vec![
            ChatStep::ToolCall {
                index: 0,
                id: id.to_owned(),
                name: name.to_owned(),
                args: fragments,
            },
            ChatStep::finish("tool_calls"),
            ChatStep::usage(100, 20, 0),
            ChatStep::done(),
        ])
    }

    /// A non-streamed HTTP error with this status and JSON body.
    pub fn http_error(status: u16, body: Value) -> Self {
        Scripted::HttpError {
            status,
            body,
            headers: Vec::new(),
        }
    }

    /// HTTP 429 with a `Retry-After: secs` header.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        Scripted::RateLimited {
            retry_after_secs: Some(retry_after_secs),
            hint_secs: None,
        }
    }

    /// HTTP 429 without `Retry-After`, whose message says
    /// "Please try again in {secs}s." (as OpenAI does).
    pub fn rate_limited_with_hint(secs: f64) -> Self {
        Scripted::RateLimited {
            retry_after_secs: None,
            hint_secs: Some(secs),
        }
    }

    /// HTTP 400 `context_length_exceeded`.
    pub fn context_length_exceeded() -> Self {
        Scripted::ContextLengthExceeded
    }

    /// HTTP 429 `insufficient_quota`.
    pub fn quota_exceeded() -> Self {
        Scripted::QuotaExceeded
    }

    /// Sleeps this long before every streamed event (no effect on errors).
    /// Useful for demos and for tests that need a slow but live stream.
    pub fn with_chunk_delay(mut self, delay: Duration) -> Self {
        match &mut self {
            Scripted::Responses(s) => s.chunk_delay = Some(delay),
            Scripted::Chat(s) => s.chunk_delay = Some(delay),
            _ => {}
        }
        self
    }
}

/// Parses a script file: a JSON list of [`Scripted`]. Errors name the
/// offending entry, since serde's own message alone is hard to place.
pub fn parse_script(json: &str) -> anyhow::Result<Vec<Scripted>> {
    let entries: Vec<Value> =
        serde_json::from_str(json).context("a mock-llm script must be a JSON list")?;
    entries
        .into_iter()
        .enumerate()
        .map(|(i, entry)| {
            serde_json::from_value(entry).with_context(|| format!("script entry #{i} is invalid"))
        })
        .collect()
}

/// Splits text into several word-sized deltas (keeping the spaces), or into
/// up to three pieces when it is a single word, so every text answer really
/// streams in more than one delta.
pub fn chunk_text(text: &str) -> Vec<String> {
    let words: Vec<String> = text.split_inclusive(' ').map(str::to_owned).collect();
    if words.len() > 1 {
        return words;
    }
    split_fragments(text, 3)
}

/// Splits a string into at most `n` non-empty pieces on char boundaries
/// (one empty piece for an empty string).
pub(crate) fn split_fragments(s: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    if chars.is_empty() {
        return vec![String::new()];
    }
    let size = chars.len().div_ceil(n.max(1));
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

/// Token counts reported by a terminal event. `Default` is a small,
/// non-zero, easy-to-assert usage (100 in, 20 out) so tests can check that
/// usage is propagated without spelling it out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Usage {
    pub input_tokens: u64,
    pub cached_tokens: u64,
    pub output_tokens: u64,
    pub reasoning_tokens: u64,
    /// `None` means input + output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_tokens: Option<u64>,
}

impl Default for Usage {
    fn default() -> Self {
        Usage {
            input_tokens: 100,
            cached_tokens: 0,
            output_tokens: 20,
            reasoning_tokens: 0,
            total_tokens: None,
        }
    }
}

impl Usage {
    pub fn new(input_tokens: u64, output_tokens: u64) -> Self {
        Usage {
            input_tokens,
            output_tokens,
            ..Usage::default()
        }
    }

    pub fn cached(mut self, cached_tokens: u64) -> Self {
        self.cached_tokens = cached_tokens;
        self
    }

    pub fn reasoning(mut self, reasoning_tokens: u64) -> Self {
        self.reasoning_tokens = reasoning_tokens;
        self
    }

    pub fn total(&self) -> u64 {
        self.total_tokens
            .unwrap_or(self.input_tokens + self.output_tokens)
    }
}

/// A Responses API stream: steps rendered in order, plus an optional delay
/// before each event. In JSON either a bare list of steps or
/// `{"steps": [...], "chunk_delay_ms": 20}`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ResponsesScript {
    pub steps: Vec<ResponsesEvent>,
    pub chunk_delay: Option<Duration>,
}

impl ResponsesScript {
    pub fn new(steps: Vec<ResponsesEvent>) -> Self {
        ResponsesScript {
            steps,
            chunk_delay: None,
        }
    }
}

/// Short name used by tests: `Step::message(&["a", "b"])`.
pub type Step = ResponsesEvent;

/// One step of a Responses stream. Item steps (message, reasoning, calls)
/// expand into the full `output_item.added` / delta / `output_item.done`
/// sequence the real API sends; `completed`/`failed`/`incomplete` are the
/// terminal events. A stream whose last step is not terminal just ends,
/// which is how a "hang-up before the terminal event" is scripted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ResponsesEvent {
    /// `response.created` (status `in_progress`).
    Created,
    /// `response.in_progress`.
    InProgress,
    /// A message item; each string is one `response.output_text.delta`.
    Message(Vec<String>),
    /// A reasoning item; each string is one
    /// `response.reasoning_summary_text.delta` of summary part 0.
    Reasoning(Vec<String>),
    /// A `function_call` item; `arguments` is the JSON-encoded argument
    /// string (in a script file a JSON object is accepted too).
    FunctionCall {
        call_id: String,
        name: String,
        #[serde(deserialize_with = "string_or_json")]
        arguments: String,
    },
    /// A `custom_tool_call` item (freeform input, e.g. an apply_patch body).
    CustomToolCall {
        call_id: String,
        name: String,
        input: String,
    },
    /// `response.completed` with this usage and every item so far as output.
    Completed(Usage),
    /// `response.failed` with `response.error = {code, message}`.
    Failed { code: String, message: String },
    /// `response.incomplete` with `incomplete_details.reason`.
    Incomplete(String),
    /// A top-level `error` event (`{"type":"error","code","message"}`).
    Error { code: String, message: String },
    /// Any event, written verbatim: `event: {event}` / `data: {data}`.
    Raw { event: String, data: Value },
    /// A `data:` line that is not JSON.
    Malformed,
    /// Sleep mid-stream with the connection open and silent.
    #[serde(rename = "stall_ms")]
    Stall(#[serde(with = "duration_ms")] Duration),
    /// Wait here until the test calls `MockLlm::release`.
    Gate,
}

impl ResponsesEvent {
    pub fn created() -> Self {
        Step::Created
    }

    pub fn in_progress() -> Self {
        Step::InProgress
    }

    pub fn message(text_chunks: &[&str]) -> Self {
        Step::Message(owned(text_chunks))
    }

    pub fn reasoning(summary_chunks: &[&str]) -> Self {
        Step::Reasoning(owned(summary_chunks))
    }

    pub fn function_call(call_id: &str, name: &str, arguments_json: &str) -> Self {
        Step::FunctionCall {
            call_id: call_id.to_owned(),
            name: name.to_owned(),
            arguments: arguments_json.to_owned(),
        }
    }

    pub fn custom_tool_call(call_id: &str, name: &str, input: &str) -> Self {
        Step::CustomToolCall {
            call_id: call_id.to_owned(),
            name: name.to_owned(),
            input: input.to_owned(),
        }
    }

    pub fn completed(usage: Usage) -> Self {
        Step::Completed(usage)
    }

    pub fn failed(code: &str, message: &str) -> Self {
        Step::Failed {
            code: code.to_owned(),
            message: message.to_owned(),
        }
    }

    pub fn incomplete(reason: &str) -> Self {
        Step::Incomplete(reason.to_owned())
    }

    pub fn error(code: &str, message: &str) -> Self {
        Step::Error {
            code: code.to_owned(),
            message: message.to_owned(),
        }
    }

    pub fn raw(event_name: &str, data: Value) -> Self {
        Step::Raw {
            event: event_name.to_owned(),
            data,
        }
    }

    pub fn malformed() -> Self {
        Step::Malformed
    }

    pub fn stall(duration: Duration) -> Self {
        Step::Stall(duration)
    }

    pub fn gate() -> Self {
        Step::Gate
    }
}

/// A Chat Completions stream. In JSON either a bare list of steps or
/// `{"steps": [...], "quirks": {"ollama_whole_tool_calls": true},
/// "chunk_delay_ms": 20}`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ChatScript {
    pub steps: Vec<ChatStep>,
    pub quirks: ChatQuirks,
    pub chunk_delay: Option<Duration>,
}

impl ChatScript {
    pub fn new(steps: Vec<ChatStep>) -> Self {
        ChatScript {
            steps,
            quirks: ChatQuirks::default(),
            chunk_delay: None,
        }
    }
}

/// Behaviours of OpenAI-compatible servers that differ from OpenAI's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChatQuirks {
    /// Send each tool call whole (id, name, full arguments) in one chunk,
    /// every one with `index: 0`, as Ollama does. Clients that merge
    /// fragments by index alone would glue distinct calls together.
    pub ollama_whole_tool_calls: bool,
}

/// Which delta field carries reasoning text: OpenRouter/vLLM style
/// `reasoning` or DeepSeek style `reasoning_content`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasoningField {
    #[default]
    Reasoning,
    ReasoningContent,
}

impl ReasoningField {
    pub fn key(self) -> &'static str {
        match self {
            ReasoningField::Reasoning => "reasoning",
            ReasoningField::ReasoningContent => "reasoning_content",
        }
    }
}

/// One step of a Chat Completions stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ChatStep {
    /// One chunk per string, in `delta.content`.
    Content(Vec<String>),
    /// One chunk per string, in `delta.reasoning` or
    /// `delta.reasoning_content`.
    Reasoning {
        chunks: Vec<String>,
        #[serde(default)]
        field: ReasoningField,
    },
    /// A streamed tool call: `id`, `type` and `function.name` only in the
    /// first fragment, later ones carry only `function.arguments`; all are
    /// keyed by `index`.
    ToolCall {
        index: u32,
        id: String,
        name: String,
        args: Vec<String>,
    },
    /// A chunk with an empty delta and this `finish_reason`.
    Finish(String),
    /// The final chunk with `choices: []` and `usage`.
    Usage {
        prompt: u64,
        completion: u64,
        #[serde(default)]
        cached: u64,
    },
    /// `data: [DONE]`.
    Done,
    /// A `data:` line written verbatim (no JSON check).
    Raw(String),
    /// A `data:` line that is not JSON.
    Malformed,
    /// Sleep mid-stream with the connection open and silent.
    #[serde(rename = "stall_ms")]
    Stall(#[serde(with = "duration_ms")] Duration),
    /// Wait here until the test calls `MockLlm::release`.
    Gate,
}

impl ChatStep {
    pub fn content(chunks: &[&str]) -> Self {
        ChatStep::Content(owned(chunks))
    }

    pub fn reasoning(chunks: &[&str], field: ReasoningField) -> Self {
        ChatStep::Reasoning {
            chunks: owned(chunks),
            field,
        }
    }

    pub fn tool_call(index: u32, id: &str, name: &str, args_fragments: &[&str]) -> Self {
        ChatStep::ToolCall {
            index,
            id: id.to_owned(),
            name: name.to_owned(),
            args: owned(args_fragments),
        }
    }

    pub fn finish(reason: &str) -> Self {
        ChatStep::Finish(reason.to_owned())
    }

    pub fn usage(prompt: u64, completion: u64, cached: u64) -> Self {
        ChatStep::Usage {
            prompt,
            completion,
            cached,
        }
    }

    pub fn done() -> Self {
        ChatStep::Done
    }

    pub fn raw(data_line: &str) -> Self {
        ChatStep::Raw(data_line.to_owned())
    }

    pub fn malformed() -> Self {
        ChatStep::Malformed
    }

    pub fn stall(duration: Duration) -> Self {
        ChatStep::Stall(duration)
    }

    pub fn gate() -> Self {
        ChatStep::Gate
    }
}

fn owned(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// Durations in script files are whole milliseconds.
mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

/// Lets a script file give function-call arguments as a JSON object
/// instead of an escaped string.
fn string_or_json<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        other => Ok(other.to_string()),
    }
}

/// The two accepted JSON shapes of a script body: a bare list of steps, or
/// an object with options. Dispatching on the JSON type by hand (instead of
/// `#[serde(untagged)]`) keeps serde's precise error messages.
fn list_or_object<'de, D, S, O>(d: D) -> Result<Result<Vec<S>, O>, D::Error>
where
    D: Deserializer<'de>,
    S: serde::de::DeserializeOwned,
    O: serde::de::DeserializeOwned,
{
    let value = Value::deserialize(d)?;
    if value.is_array() {
        serde_json::from_value(value)
            .map(Ok)
            .map_err(serde::de::Error::custom)
    } else {
        serde_json::from_value(value)
            .map(Err)
            .map_err(serde::de::Error::custom)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponsesScriptObject {
    steps: Vec<ResponsesEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    chunk_delay_ms: Option<u64>,
}

impl Serialize for ResponsesScript {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.chunk_delay {
            None => self.steps.serialize(s),
            Some(d) => ResponsesScriptObject {
                steps: self.steps.clone(),
                chunk_delay_ms: Some(millis(d)),
            }
            .serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for ResponsesScript {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(
            match list_or_object::<D, ResponsesEvent, ResponsesScriptObject>(d)? {
                Ok(steps) => ResponsesScript::new(steps),
                Err(obj) => ResponsesScript {
                    steps: obj.steps,
                    chunk_delay: obj.chunk_delay_ms.map(Duration::from_millis),
                },
            },
        )
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChatScriptObject {
    steps: Vec<ChatStep>,
    #[serde(default)]
    quirks: ChatQuirks,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    chunk_delay_ms: Option<u64>,
}

impl Serialize for ChatScript {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.chunk_delay.is_none() && self.quirks == ChatQuirks::default() {
            return self.steps.serialize(s);
        }
        ChatScriptObject {
            steps: self.steps.clone(),
            quirks: self.quirks,
            chunk_delay_ms: self.chunk_delay.map(millis),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for ChatScript {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match list_or_object::<D, ChatStep, ChatScriptObject>(d)? {
            Ok(steps) => ChatScript::new(steps),
            Err(obj) => ChatScript {
                steps: obj.steps,
                quirks: obj.quirks,
                chunk_delay: obj.chunk_delay_ms.map(Duration::from_millis),
            },
        })
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
