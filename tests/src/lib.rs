//! End-to-end tests for agentd, and the scripted mock model server (`mock-llm`).
//!
//! `harness` starts the real binary; `client` speaks the protocol to it over a real WebSocket or
//! real stdio pipes; `mock_llm` is a real loopback HTTP server streaming SSE.

pub mod access;
pub mod client;
pub mod exec;
pub mod harness;
pub mod json;
pub mod mock_llm;
pub mod tools;
pub mod turns;

pub use client::Client;
pub use harness::{Agentd, Options, StdioAgentd, TIMEOUT};
