//! MCP servers' tools for the model (the client side of the Model Context Protocol, on rmcp).
//!
//! `manager.rs` owns every server (the config's and each thread's) and hands a turn its tools;
//! `server.rs` is one server's life (starting, ready, failed and retried, stopped);
//! `connection.rs` one live session; `launch.rs` a stdio server's process; `handler.rs` what
//! the server may send us (tool list changes, questions for the user); `tool.rs` a tool as a
//! [`crate::tools::ToolHandler`], so MCP calls go through the same pipeline as agentd's own;
//! `result.rs`, `schema.rs` and `names.rs` shape what crosses to the model; `listing.rs` and
//! `bounds.rs` bound what a server's listings and words may cost.

mod bounds;
mod connection;
mod handler;
mod launch;
mod listing;
mod manager;
mod names;
mod result;
mod schema;
mod server;
mod tool;

pub use manager::{McpManager, TurnTools};

/// Starts one server, lists its tools and stops it (`agentd doctor`): the number of tools it
/// offers (after the config's filters) and its name and version, or why it did not start.
pub async fn probe(
    config: &crate::config::McpServerConfig,
    default_cwd: &std::path::Path,
) -> Result<(usize, Option<String>), String> {
    let shared = std::sync::Arc::new(handler::Shared::default());
    let connection = connection::Connection::connect(config, default_cwd, shared).await?;
    let listed = connection.list_tools(config.startup_timeout).await;
    let info = connection
        .info
        .as_ref()
        .map(|i| format!("{} {}", i.name, i.version));
    connection.close().await;
    let offered = listed?.iter().filter(|t| config.offers(&t.name)).count();
    Ok((offered, info))
}
