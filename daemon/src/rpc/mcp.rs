//! `mcpServerStatus/list` and `config/mcpServer/reload`.

use std::collections::BTreeMap;

use agentd_protocol::{
    ListMcpServerStatusParams, ListMcpServerStatusResponse, McpServerRefreshParams,
    McpServerRefreshResponse,
};

use super::dispatch::Handled;
use super::error::RpcError;
use crate::config::{mcp_servers_from_json, McpServerConfig};
use crate::daemon::Daemon;
use crate::threads::settings_of;

/// Servers per page when the client gives no limit, and the most it may ask for.
const MAX_PAGE: u32 = 100;

pub async fn status_list(
    daemon: &Daemon,
    p: ListMcpServerStatusParams,
) -> Result<Handled, RpcError> {
    let thread = match &p.thread_id {
        Some(id) => Some((id.as_str(), thread_servers(daemon, id).await?)),
        None => None,
    };
    let mcp = &daemon.hub.services().mcp;
    let mut all = mcp.status(thread.as_ref().map(|(id, c)| (*id, c)));
    if let Some(name) = &p.server_name {
        all.retain(|s| &s.name == name);
    }
    let start = match &p.cursor {
        Some(c) => c
            .parse::<usize>()
            .map_err(|_| RpcError::invalid_params("cursor", "not a cursor this daemon gave"))?,
        None => 0,
    };
    let limit = p.limit.unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE) as usize;
    let end = start.saturating_add(limit).min(all.len());
    let next_cursor = (end < all.len()).then(|| end.to_string());
    let data = all.into_iter().skip(start).take(limit).collect();
    Handled::new(ListMcpServerStatusResponse { data, next_cursor })
}

/// A thread's own servers, from its stored settings.
async fn thread_servers(
    daemon: &Daemon,
    thread_id: &str,
) -> Result<BTreeMap<String, McpServerConfig>, RpcError> {
    let row = daemon
        .hub
        .store()
        .thread(thread_id)
        .await?
        .ok_or_else(|| RpcError::not_found(format!("thread {thread_id}")))?;
    let settings = settings_of(&row);
    Ok(settings
        .mcp_servers
        .as_ref()
        .and_then(|m| mcp_servers_from_json(m).ok())
        .unwrap_or_default())
}

/// Reads the config file again and restarts the config's MCP servers from it (threads' own
/// servers are theirs and stay). A config that no longer loads changes nothing.
pub async fn reload(daemon: &Daemon, _p: McpServerRefreshParams) -> Result<Handled, RpcError> {
    let loaded = daemon
        .reload_config()
        .map_err(|e| RpcError::invalid_request(format!("the config did not load: {e}")))?;
    daemon
        .hub
        .services()
        .mcp
        .reload(&loaded.config.mcp_servers)
        .await;
    Handled::new(McpServerRefreshResponse {})
}
