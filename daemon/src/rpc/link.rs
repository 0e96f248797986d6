//! What a connection works with: frames in, frames out. Transports produce a [`Link`]; the rpc
//! layer consumes it without knowing which transport it is.

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
    /// The connection's place under the transport's connection cap, held for its life.
    pub permit: Option<tokio::sync::OwnedSemaphorePermit>,
}
