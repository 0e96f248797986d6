//! One live connection to an MCP server (rmcp's client over stdio pipes or streamable HTTP):
//! connect within the start-up timeout, list tools within bounds, call a tool within its
//! timeout, close.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentd_protocol::McpServerInfo;
use reqwest::header::{HeaderName, HeaderValue};
use rmcp::model::{CallToolRequestParams, CallToolResult, PaginatedRequestParams, Tool};
use rmcp::service::{ClientInitializeError, RunningService, ServiceError};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{ClientCacheConfig, RoleClient, ServiceExt};

use super::bounds::{clip, MAX_SERVER_TEXT};
use super::handler::{Handler, Shared};
use super::launch::{self, Process, StdioCommand};
use super::listing::{Listing, MAX_LISTING_BYTES};
use crate::config::{McpServerConfig, McpTransport};

/// Pages of `tools/list` read, and tools kept, per server: a server cannot make the daemon
/// loop or every model request grow without end.
const MAX_TOOL_PAGES: usize = 32;
pub const MAX_TOOLS: usize = 512;

pub struct Connection {
    service: RunningService<RoleClient, Handler>,
    process: Mutex<Option<Process>>,
    pub info: Option<McpServerInfo>,
}

/// Why a call did not return a result.
pub enum CallError {
    Timeout(Duration),
    /// The connection is gone (the server exited or hung up).
    Closed(String),
    /// The server answered with a JSON-RPC error, or something rmcp could not use.
    Protocol(String),
}

impl Connection {
    /// Starts (stdio) or reaches (HTTP) the server and completes the handshake, all within the
    /// server's start-up timeout. A failure stops whatever was started.
    pub async fn connect(
        config: &McpServerConfig,
        default_cwd: &Path,
        shared: Arc<Shared>,
    ) -> Result<Connection, String> {
        let handler = Handler {
            server: config.name.clone(),
            shared,
        };
        let timeout = config.startup_timeout;
        match &config.transport {
            McpTransport::Stdio {
                command,
                args,
                env,
                env_vars,
                cwd,
            } => {
                let spec = StdioCommand {
                    server: &config.name,
                    command,
                    args,
                    env,
                    env_vars,
                    cwd: cwd.as_deref(),
                    default_cwd,
                };
                let (mut process, stdout, stdin) =
                    launch::spawn(&spec).map_err(|e| format!("cannot start `{command}`: {e}"))?;
                let problem =
                    match tokio::time::timeout(timeout, handler.serve((stdout, stdin))).await {
                        Ok(Ok(service)) => return Ok(Connection::new(service, Some(process)).await),
                        Ok(Err(e)) => init_error(&e),
                        Err(_) => format!("no answer to `initialize` within {timeout:?}"),
                    };
                // Give an exiting child a moment so its status and last words count.
                tokio::time::sleep(Duration::from_millis(50)).await;
                let why = stdio_failure(problem, &mut process);
                // Stopped in the background: the failure is reported now, not 2 s later.
                tokio::spawn(process.stop());
                Err(why)
            }
            McpTransport::Http {
                url,
                bearer_token_env_var,
                http_headers,
                env_http_headers,
            } => {
                let mut transport = StreamableHttpClientTransportConfig::with_uri(url.as_str())
                    .custom_headers(headers(http_headers, env_http_headers)?);
                if let Some(var) = bearer_token_env_var {
                    let token = std::env::var(var).map_err(|_| {
                        format!(
                            "bearer_token_env_var `{var}` is not set in the daemon's environment"
                        )
                    })?;
                    transport = transport.auth_header(token);
                }
                let transport = StreamableHttpClientTransport::from_config(transport);
                match tokio::time::timeout(timeout, handler.serve(transport)).await {
                    Ok(Ok(service)) => Ok(Connection::new(service, None).await),
                    Ok(Err(e)) => Err(init_error(&e)),
                    Err(_) => Err(format!("no answer to `initialize` within {timeout:?}")),
                }
            }
        }
    }

    async fn new(service: RunningService<RoleClient, Handler>, process: Option<Process>) -> Self {
        // rmcp would keep listings a server marks cacheable (up to 24 h, stale ones too) and
        // answer from them: the daemon keeps its own trimmed copy and lists again on a change.
        service
            .peer()
            .set_response_cache_config(ClientCacheConfig::disabled())
            .await;
        let info = service
            .peer_info()
            .and_then(|p| p.server_info.clone())
            .map(|i| McpServerInfo {
                name: clip(&i.name, MAX_SERVER_TEXT),
                version: clip(&i.version, MAX_SERVER_TEXT),
                title: i.title.map(|t| clip(&t, MAX_SERVER_TEXT)),
            });
        Connection {
            service,
            process: Mutex::new(process),
            info,
        }
    }

    /// Every tool, page by page, within bounds (`listing.rs`) and `timeout`.
    pub async fn list_tools(&self, timeout: Duration) -> Result<Vec<Tool>, String> {
        let listing = async {
            let mut listing = Listing::default();
            let mut cursor = None;
            for _ in 0..MAX_TOOL_PAGES {
                let params = cursor.map(|c| PaginatedRequestParams::default().with_cursor(Some(c)));
                let page = self
                    .service
                    .list_tools(params)
                    .await
                    .map_err(|e| format!("tools/list failed: {}", service_error(&e)))?;
                listing.add(page.tools);
                cursor = page.next_cursor;
                if cursor.is_none() || listing.tools.len() >= MAX_TOOLS {
                    break;
                }
            }
            if listing.left_out > 0 || listing.schemas_replaced > 0 {
                tracing::warn!(
                    left_out = listing.left_out,
                    schemas_replaced = listing.schemas_replaced,
                    "MCP tools trimmed: left out (a name over 128 bytes, or past the server's \
                     {MAX_LISTING_BYTES}-byte budget), or input schemas over 32 KiB replaced"
                );
            }
            listing.tools.truncate(MAX_TOOLS);
            Ok(listing.tools)
        };
        tokio::time::timeout(timeout, listing)
            .await
            .map_err(|_| format!("tools/list took longer than {timeout:?}"))?
    }

    /// Calls a tool. Dropping the future (an interrupted turn) tells the server the request
    /// was cancelled (rmcp sends `notifications/cancelled`).
    pub async fn call(
        &self,
        tool: &str,
        arguments: serde_json::Map<String, serde_json::Value>,
        timeout: Duration,
    ) -> Result<CallToolResult, CallError> {
        let params = CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments);
        match tokio::time::timeout(timeout, self.service.call_tool(params)).await {
            Err(_) => Err(CallError::Timeout(timeout)),
            Ok(Ok(result)) => Ok(result),
            Ok(Err(e)) if self.is_closed() || matches!(e, ServiceError::TransportClosed) => {
                Err(CallError::Closed(self.exit_note()))
            }
            Ok(Err(e)) => Err(CallError::Protocol(service_error(&e))),
        }
    }

    pub fn is_closed(&self) -> bool {
        self.service.is_transport_closed()
    }

    /// Whether the server announces changes of its tool list (`tools.listChanged`).
    pub fn announces_tool_changes(&self) -> bool {
        self.service
            .peer_info()
            .and_then(|p| p.capabilities.tools.as_ref().and_then(|t| t.list_changed))
            .unwrap_or(false)
    }

    /// How the server process ended, for messages.
    pub fn exit_note(&self) -> String {
        let Ok(mut process) = self.process.lock() else {
            return "the connection closed".into();
        };
        match process
            .as_mut()
            .and_then(|p| p.exit_status().map(|s| (s, p.stderr_tail())))
        {
            Some((status, tail)) if tail.is_empty() => format!("the server exited ({status})"),
            Some((status, tail)) => format!("the server exited ({status}): {tail}"),
            None => "the connection closed".into(),
        }
    }

    /// Closes the session (calls in progress fail); a stdio server gets SIGTERM, then
    /// SIGKILL. Idempotent.
    pub async fn close(&self) {
        self.service.cancellation_token().cancel();
        let process = self.process.lock().ok().and_then(|mut p| p.take());
        if let Some(process) = process {
            process.stop().await;
        }
    }
}

/// Why a stdio server did not complete the handshake, in words a user can act on: how it
/// exited, if it did, and its last stderr lines.
fn stdio_failure(problem: String, process: &mut Process) -> String {
    let mut why = match process.exit_status() {
        Some(status) => format!("the server exited during start-up ({status})"),
        None => problem,
    };
    let tail = process.stderr_tail();
    if !tail.is_empty() {
        why.push_str(&format!("; its stderr: {tail}"));
    }
    why
}

/// rmcp's message for a bad handshake quotes the whole message the server sent: cut, since it
/// is logged, kept in the server's status and sent to every client.
fn init_error(e: &ClientInitializeError) -> String {
    clip(&format!("`initialize` failed: {e}"), MAX_SERVER_TEXT)
}

/// A server's error, cut: it goes to the model and stays in the thread's history.
fn service_error(e: &ServiceError) -> String {
    match e {
        ServiceError::McpError(data) => clip(&data.message, MAX_SERVER_TEXT),
        other => clip(&other.to_string(), MAX_SERVER_TEXT),
    }
}

/// Configured headers plus those whose values come from the daemon's environment.
fn headers(
    fixed: &std::collections::BTreeMap<String, String>,
    from_env: &std::collections::BTreeMap<String, String>,
) -> Result<HashMap<HeaderName, HeaderValue>, String> {
    let mut out = HashMap::new();
    let mut add = |name: &str, value: &str| -> Result<(), String> {
        let n = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| format!("http header name `{name}`: {e}"))?;
        let v =
            HeaderValue::from_str(value).map_err(|e| format!("http header `{name}` value: {e}"))?;
        out.insert(n, v);
        Ok(())
    };
    for (name, value) in fixed {
        add(name, value)?;
    }
    for (name, var) in from_env {
        match std::env::var(var) {
            Ok(value) => add(name, &value)?,
            Err(_) => {
                tracing::warn!(header = %name, var = %var, "env_http_headers: variable not set")
            }
        }
    }
    Ok(out)
}
