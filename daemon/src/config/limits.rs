//! The limits every transport applies (command-line flags of `serve`).

/// Limits every transport applies.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest accepted message, in bytes.
    pub max_frame_bytes: usize,
    /// Frames that may wait in a connection's outbound queue.
    pub outbound_queue: usize,
    /// Requests that may wait for a connection's worker before new ones get -32001.
    pub request_queue: usize,
    /// WebSocket connections served at once; more are refused with HTTP 503.
    pub max_connections: usize,
}

impl Limits {
    /// The limits with every value at least its workable minimum (a frame limit below 1 KiB
    /// could not carry `initialize`; a queue of 0 could carry nothing).
    pub fn sane(self) -> Self {
        Limits {
            max_frame_bytes: self.max_frame_bytes.max(1024),
            outbound_queue: self.outbound_queue.max(1),
            request_queue: self.request_queue.max(1),
            max_connections: self.max_connections.max(1),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: 16 * 1024 * 1024,
            outbound_queue: 4096,
            request_queue: 256,
            max_connections: 1024,
        }
    }
}
