//! Transports turn a byte stream into a pair of channels of text messages, and nothing else.
//!
//! Everything above this module sees only a [`Link`]: frames in, frames out. That is how one
//! dispatch path serves stdio and WebSocket alike, and why a connection cannot tell which one it
//! has.

mod log_throttle;
pub mod stdio;
pub mod tls;
pub mod web_assets;
pub mod websocket;

pub use crate::config::Limits;
pub use crate::rpc::link::{Inbound, Link};

/// Inbound frames buffered between the socket reader and the connection: small, because the
/// connection has its own bounded request queue and reading should push back on the peer.
pub(crate) const INBOUND_BUFFER: usize = 64;
