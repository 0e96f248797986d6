//! Building wire frames for thread events and notices.
//!
//! An event is serialised once: its params text goes into the log and, wrapped in the JSON-RPC
//! notification envelope by plain concatenation, into every subscriber's queue as the same
//! shared `Bytes`. Fan-out to N subscribers is then N reference-count increments.

use agentd_protocol::ServerNotification;
use bytes::Bytes;

use crate::store::StoredEvent;

/// The NDJSON/WebSocket frame of a notification whose params are already JSON text.
pub fn frame_for(method: &str, params_json: &str) -> Bytes {
    let mut s = String::with_capacity(params_json.len() + method.len() + 40);
    s.push_str(r#"{"jsonrpc":"2.0","method":""#);
    // Method names are ours and plain ASCII; serde_json escapes anything else just in case.
    match serde_json::to_string(method) {
        Ok(quoted) => s.push_str(&quoted[1..quoted.len() - 1]),
        Err(_) => s.push_str("invalid"),
    }
    s.push_str(r#"","params":"#);
    s.push_str(params_json);
    s.push('}');
    Bytes::from(s)
}

/// The frame of an event read back from the store, or `None` when its payload is not one JSON
/// object. The payload goes into the frame as it is, so a row something else wrote — say
/// `{},"id":7,"result":{}` — could otherwise end the params early and forge a response.
pub(super) fn stored_frame(thread: &str, event: &StoredEvent) -> Option<Bytes> {
    let payload = &event.payload;
    let object = payload.trim_start().starts_with('{')
        && serde_json::from_str::<serde::de::IgnoredAny>(payload).is_ok();
    if object {
        return Some(frame_for(&event.kind, payload));
    }
    tracing::error!(
        thread,
        seq = event.seq,
        bytes = payload.len(),
        "a stored event is not a JSON object (or is too large to read); it is not sent"
    );
    None
}

/// The frame of a notice to one connection (not a logged event): `serverRequest/resolved`,
/// `thread/resyncRequired`.
pub(super) fn notice_frame<N: ServerNotification>(notice: &N) -> Bytes {
    let params = serde_json::to_string(notice).unwrap_or_else(|_| "{}".to_owned());
    frame_for(N::METHOD, &params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_is_a_valid_notification() {
        let f = frame_for("thread/name/updated", r#"{"threadId":"t","seq":3}"#);
        let v: serde_json::Value = serde_json::from_slice(&f).unwrap();
        assert_eq!(v["jsonrpc"], "2.0");
        assert_eq!(v["method"], "thread/name/updated");
        assert_eq!(v["params"]["seq"], 3);
    }
}
