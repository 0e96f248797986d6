//! Server-Sent Events framing, and the small "action" language a rendered
//! script is turned into before the server plays it.
//!
//! Rendering (pure, in `responses.rs` / `chat.rs`) is kept apart from
//! playing (async, in `server.rs`) so the event shapes can be unit-tested
//! without a socket, and so timing faults (stalls, gates) are just actions
//! placed between the bytes.

use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;

/// What the server does next while streaming one response.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Action {
    /// Write (and flush) these bytes: one complete SSE event.
    Send(Bytes),
    /// Keep the connection open and say nothing for this long.
    Sleep(Duration),
    /// Wait for a permit from `MockLlm::release`.
    Gate,
}

/// `event: NAME\ndata: JSON\n\n`, as the Responses API writes it.
pub(crate) fn named_event(name: &str, data: &Value) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

/// `data: LINE\n\n`, as Chat Completions writes it (no event name).
pub(crate) fn data_only(line: &str) -> Bytes {
    Bytes::from(format!("data: {line}\n\n"))
}

/// The line used by the `malformed` steps: looks like the start of an event
/// but is not valid JSON, so a client's parse error path is exercised.
pub(crate) const MALFORMED_DATA: &str = "{\"type\": this is not json";

/// Seconds since the Unix epoch, for `created` / `created_at` fields.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
