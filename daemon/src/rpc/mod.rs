//! The JSON-RPC peer: a connection's life, the handshake, dispatch to typed handlers (one file
//! per method family), and the mapping of errors to codes.
//!
//! This is our own peer rather than jsonrpsee's server because agentd needs server→client
//! requests (approvals) on the same connection and must accept messages without `"jsonrpc"`
//! (Codex clients omit it); see `docs/decisions/001-own-jsonrpc-peer.md`.

mod account;
mod command;
mod config;
pub mod connection;
pub mod decode;
pub mod dispatch;
pub mod error;
pub mod forward;
mod history;
mod hooks;
mod initialize;
mod instructions;
pub mod link;
mod mcp;
mod memory;
mod overrides;
mod pages;
mod surface;
mod thread;
mod turn;

pub use connection::serve;
