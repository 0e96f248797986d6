//! End-to-end tests for agentd, and the scripted mock model server (`mock-llm`).
//!
//! `harness` starts the real binary; `client` speaks the protocol to it over a real WebSocket or
//! real stdio pipes; `mock_llm` is a real loopback HTTP server streaming SSE; `mock_mcp` is a
//! scripted MCP server (the `mock-mcp` binary) and `mcp` starts and inspects it for tests;
//! `postgres` starts a throwaway PostgreSQL server for the store's PostgreSQL tests.

pub mod access;
pub mod client;
pub mod exec;
pub mod harness;
pub mod json;
pub mod mcp;
pub mod mock_llm;
pub mod mock_mcp;
pub mod postgres;
pub mod tools;
pub mod turns;

pub use client::Client;
pub use harness::{Agentd, Options, StdioAgentd, TIMEOUT};
