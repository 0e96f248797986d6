//! The provider-neutral vocabulary between the agent loop and the wire clients.
//!
//! The agent builds a [`ModelRequest`] from the thread's history; a client (Responses or Chat
//! Completions) turns it into its wire format and turns the stream back into [`ModelEvent`]s.
//! Nothing above `model/` sees a provider's JSON.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One entry of the conversation as the model sees it. Stored per thread (the `history` table)
/// in the order it happened, so the next request is a straight read, tool calls and their
/// outputs stay paired by `call_id`, and rollback/compaction operate on whole entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HistoryItem {
    /// Text the user sent (several inputs of one turn may be joined), and the images that came
    /// with it as URLs (`https:` or `data:`), sent before the text.
    UserMessage {
        text: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        images: Vec<String>,
    },
    AssistantMessage {
        text: String,
    },
    /// A reasoning summary; `encrypted_content` is passed back when the provider gave one.
    Reasoning {
        #[serde(default)]
        summary: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        encrypted_content: Option<String>,
    },
    FunctionCall {
        call_id: String,
        name: String,
        arguments: String,
    },
    /// A freeform (custom) tool call: raw text input, no JSON arguments (apply_patch).
    CustomToolCall {
        call_id: String,
        name: String,
        input: String,
    },
    /// A function tool's output; `images` (URLs, usually `data:`) go with it where the wire
    /// allows (an MCP tool's image content).
    FunctionCallOutput {
        call_id: String,
        output: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        images: Vec<String>,
    },
    CustomToolCallOutput {
        call_id: String,
        output: String,
    },
    /// Context a hook added (`additionalContext`): sent as a developer message (a user message
    /// on Chat Completions, whose servers often take system messages only first).
    HookContext {
        text: String,
    },
    /// A summary replacing older history after compaction.
    CompactionSummary {
        text: String,
    },
    /// A search the provider ran (its hosted `web_search` tool), passed back as it came so the
    /// model keeps what it found. Only the Responses API has these.
    WebSearchCall {
        id: String,
        status: String,
        #[serde(default)]
        action: Value,
    },
}

impl HistoryItem {
    /// A user message of text alone.
    pub fn user(text: impl Into<String>) -> Self {
        HistoryItem::UserMessage {
            text: text.into(),
            images: Vec::new(),
        }
    }
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolSpec {
    /// JSON-arguments function tool.
    Function {
        name: String,
        description: String,
        parameters: Value,
    },
    /// Freeform text tool (Responses API `custom` tool). Chat Completions has no such kind; the
    /// chat client offers it as a function taking `{input: string}`.
    Freeform { name: String, description: String },
    /// The provider's hosted web search (Responses API only; `external_web_access`: live).
    WebSearch { external_web_access: bool },
}

impl ToolSpec {
    pub fn name(&self) -> &str {
        match self {
            ToolSpec::Function { name, .. } | ToolSpec::Freeform { name, .. } => name,
            ToolSpec::WebSearch { .. } => "web_search",
        }
    }
}

/// Everything one model call needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRequest {
    pub model: String,
    /// System/developer instructions (base instructions, memory, AGENTS.md and CLAUDE.md files,
    /// developer instructions).
    pub instructions: String,
    pub input: Vec<HistoryItem>,
    pub tools: Vec<ToolSpec>,
    pub reasoning_effort: Option<String>,
    /// A JSON Schema the answer must follow (structured output), sent strict.
    pub output_schema: Option<Value>,
}

/// Token counts as providers report them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub cached_input_tokens: u64,
    pub output_tokens: u64,
    pub reasoning_output_tokens: u64,
    pub total_tokens: u64,
}

/// A finished output item of one response.
#[derive(Debug, Clone, PartialEq)]
pub enum OutputItem {
    Message {
        text: String,
    },
    Reasoning {
        summary: Vec<String>,
        encrypted_content: Option<String>,
    },
    FunctionCall {
        call_id: String,
        name: String,
        arguments: String,
    },
    CustomToolCall {
        call_id: String,
        name: String,
        input: String,
    },
    /// A web search the provider ran (`action` as sent: `{type: search, query}`, …).
    WebSearchCall {
        id: String,
        status: String,
        action: Value,
    },
}

/// What a streaming response yields, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelEvent {
    /// A piece of assistant text. `output_index` distinguishes messages within one response.
    TextDelta { output_index: u32, delta: String },
    /// A piece of a reasoning summary.
    ReasoningSummaryDelta {
        output_index: u32,
        summary_index: u32,
        delta: String,
    },
    /// An output item is complete (authoritative content).
    ItemDone { output_index: u32, item: OutputItem },
    /// The stream broke after output began and the request is being sent again: everything
    /// received since the request started is void; the new attempt starts from scratch.
    Retrying {
        attempt: u32,
        max: u32,
        reason: String,
    },
    /// The response ended normally.
    Completed { usage: Option<Usage> },
}

/// Why a model call failed for good (after the configured retries).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error("the conversation is longer than the model's context window: {0}")]
    ContextLengthExceeded(String),
    #[error("the provider's usage quota is exhausted: {0}")]
    QuotaExceeded(String),
    #[error("the provider answered HTTP {status}: {message}")]
    Http { status: u16, message: String },
    #[error("could not reach the provider: {0}")]
    Connection(String),
    #[error("the response stream broke: {0}")]
    Stream(String),
    #[error("no data from the provider for {0} ms")]
    IdleTimeout(u64),
    #[error("the provider reported a failure ({code}): {message}")]
    Failed { code: String, message: String },
    #[error("the response ended incomplete: {0}")]
    Incomplete(String),
    #[error("provider configuration: {0}")]
    Config(String),
    /// The stream broke a limit (an event too large to buffer): refused, not retried.
    #[error("the response stream was refused: {0}")]
    Refused(String),
}

impl ModelError {
    /// The `TurnError.kind` a turn failing with this error reports.
    pub fn kind(&self) -> &'static str {
        match self {
            ModelError::ContextLengthExceeded(_) => "contextWindowExceeded",
            ModelError::QuotaExceeded(_) => "usageLimitExceeded",
            ModelError::Http { .. } => "httpError",
            ModelError::Connection(_) => "httpConnectionFailed",
            ModelError::Stream(_) | ModelError::IdleTimeout(_) => "responseStreamDisconnected",
            ModelError::Failed { .. } => "responseFailed",
            ModelError::Incomplete(_) => "responseIncomplete",
            ModelError::Config(_) => "badConfig",
            ModelError::Refused(_) => "responseInvalid",
        }
    }
}
