//! Transports turn a byte stream into a pair of channels of text messages, and nothing else.
//!
//! Everything above this module sees only a [`Link`]: frames in, frames out. That is how one
//! dispatch path serves stdio and WebSocket alike, and why a connection cannot tell which one it
//! has.

pub mod stdio;
pub mod tls;
pub mod web_assets;
pub mod websocket;

use bytes::Bytes;
use tokio::sync::mpsc;

/// One frame read from a client.
#[derive(Debug)]
pub enum Inbound {
    /// A complete text message (one NDJSON line, one WebSocket text frame).
    Text(String),
    /// A message larger than the configured limit; its bytes were discarded.
    TooLarge { len: usize, limit: usize },
    /// A WebSocket binary frame: the protocol is text-only.
    Binary,
    /// Bytes that are not UTF-8 (stdio only; WebSocket text frames are validated by the codec).
    NotUtf8,
}

/// The two ends a connection works with. `outbound` is bounded: when a client stops reading,
/// its queue fills and the thread actors notice (they never wait on it).
pub struct Link {
    pub inbound: mpsc::Receiver<Inbound>,
    pub outbound: mpsc::Sender<Bytes>,
    /// Human-readable peer description for logs.
    pub peer: String,
    /// What the connection's token allows (stdio: everything).
    pub scope: crate::auth::Scope,
}

/// Limits every transport applies.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest accepted message, in bytes.
    pub max_frame_bytes: usize,
    /// Frames that may wait in a connection's outbound queue.
    pub outbound_queue: usize,
    /// Requests that may wait for a connection's worker before new ones get -32001.
    pub request_queue: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: 16 * 1024 * 1024,
            outbound_queue: 4096,
            request_queue: 256,
        }
    }
}

/// Inbound frames buffered between the socket reader and the connection: small, because the
/// connection has its own bounded request queue and reading should push back on the peer.
pub(crate) const INBOUND_BUFFER: usize = 64;
