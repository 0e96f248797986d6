//! agentd: a headless coding-agent daemon.
//!
//! Layers, with one-way arrows (see `shared/design/ARCHITECTURE.md`):
//! `transport` → `rpc` → `threads` → (`agent` → `model`, `tools`), with `store` used by threads
//! through a narrow API and `config` loaded once and passed down.

pub mod agent;
pub mod auth;
pub mod cli;
pub mod config;
pub mod daemon;
#[doc(hidden)]
pub mod fuzzing;
pub mod json_splice;
pub mod model;
pub mod rpc;
pub mod sandbox;
pub mod schema_gen;
pub mod server;
pub mod store;
pub mod threads;
pub mod tools;
pub mod transport;
