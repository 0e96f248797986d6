//! Model providers: real wire formats (OpenAI Responses API over SSE, OpenAI-compatible Chat
//! Completions) with retries, backoff and idle timeouts.

mod types;

pub use types::{HistoryItem, ModelError, ModelEvent, ModelRequest, OutputItem, ToolSpec, Usage};
