//! The MCP servers a client gives `session/new` as the thread's own `mcp_servers` config, in
//! the keys `[mcp_servers.NAME]` has in config.toml (the daemon checks them as it would there).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::wire::{McpServer, NameValue, RemoteKind};

/// One server's table, as config.toml spells it.
#[derive(Serialize)]
#[serde(untagged)]
enum ServerTable<'a> {
    Stdio {
        command: &'a str,
        args: &'a [String],
        env: BTreeMap<&'a str, &'a str>,
    },
    Http {
        url: &'a str,
        http_headers: BTreeMap<&'a str, &'a str>,
    },
}

/// `{"mcp_servers": {NAME: table}}`, or `None` when the client gave none. SSE servers are
/// refused: agentd speaks streamable HTTP, the transport that replaced SSE.
pub fn mcp_servers_config(servers: &[McpServer]) -> Result<Option<Map<String, Value>>, String> {
    if servers.is_empty() {
        return Ok(None);
    }
    let mut tables = Map::new();
    for server in servers {
        let (name, table) = match server {
            McpServer::Stdio(s) => (
                &s.name,
                ServerTable::Stdio {
                    command: &s.command,
                    args: &s.args,
                    env: pairs(&s.env),
                },
            ),
            McpServer::Remote(r) if r.kind == RemoteKind::Sse => {
                return Err(format!(
                    "mcpServers: {} uses SSE, which agentd does not speak; give its streamable HTTP URL",
                    r.name
                ))
            }
            McpServer::Remote(r) => (
                &r.name,
                ServerTable::Http {
                    url: &r.url,
                    http_headers: pairs(&r.headers),
                },
            ),
        };
        let table = serde_json::to_value(table).map_err(|e| e.to_string())?;
        tables.insert(name.clone(), table);
    }
    let mut config = Map::new();
    config.insert("mcp_servers".into(), Value::Object(tables));
    Ok(Some(config))
}

fn pairs(list: &[NameValue]) -> BTreeMap<&str, &str> {
    list.iter()
        .map(|p| (p.name.as_str(), p.value.as_str()))
        .collect()
}
