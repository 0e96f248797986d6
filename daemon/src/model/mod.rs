//! Model providers: real wire formats (OpenAI Responses API over SSE, OpenAI-compatible Chat
//! Completions) with retries, backoff and idle timeouts.
//!
//! - `types`: the provider-neutral vocabulary the agent speaks ([`ModelRequest`] in,
//!   [`ModelEvent`]s out).
//! - `client`: [`ModelClient`], the entry point: auth, headers, request retries, the per-call
//!   task and stream retries.
//! - `responses` / `chat`: each wire format's request body and stream parsing; `chat_calls`
//!   assembles Chat Completions tool calls from their fragments.
//! - `sse`: reading one response stream with an idle watchdog.
//! - `retry`: what is worth retrying and how long to wait.
//! - `settings`: the provider's configuration.
//! - `image`: which image data the model takes.

mod chat;
mod chat_calls;
mod client;
mod collect;
pub mod help;
mod image;
mod responses;
mod retry;
mod settings;
mod sse;
mod types;

pub use client::ModelClient;
pub use collect::{collect_text, CollectError};
pub use image::{image_type, is_image_data_url};
pub use retry::Backoff;
pub use settings::{ProviderSettings, WireApi};
#[doc(hidden)]
pub use sse::fuzz_sse;
pub use types::{HistoryItem, ModelError, ModelEvent, ModelRequest, OutputItem, ToolSpec, Usage};
