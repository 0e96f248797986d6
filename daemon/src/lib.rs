//! agentd: a headless coding-agent daemon.
//!
//! Layers, with one-way arrows (docs/ARCHITECTURE.md; `tests/layers.rs` checks them):
//! `cli` → `server` → `transport` → `rpc` → `daemon` → `threads` → `agent` → `mcp` → `tools` →
//! `port`
//! → (`model`, `sandbox`, `auth`) → (`config`, `store`) → leaves (`clock`, `paths`, `errors`,
//! `heap`, `json_splice`, `runtime`, `schema_gen`); above `server`, the daemon's own clients (`client`,
//! then `exec`) and the command line.

pub mod acp;
pub mod agent;
pub mod auth;
pub mod cli;
pub mod client;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod doctor;
pub mod errors;
pub mod exec;
#[doc(hidden)]
pub mod fuzzing;
pub mod heap;
pub mod json_splice;
pub mod mcp;
pub mod mcp_server;
pub mod memory;
pub mod model;
pub mod paths;
pub mod port;
pub mod rpc;
pub mod runtime;
pub mod sandbox;
pub mod schema_gen;
pub mod server;
pub mod store;
pub mod threads;
pub mod tools;
pub mod transport;

#[cfg(test)]
mod layers;
