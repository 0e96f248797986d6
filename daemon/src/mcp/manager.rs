//! Every MCP server the daemon runs: the config's (started when the daemon starts, restarted
//! by `config/mcpServer/reload`) and each loaded thread's own (`thread/start {config:
//! {"mcp_servers": …}}`, started when the thread is, stopped when it unloads). Turns ask it
//! for their tools; `mcpServerStatus/list` asks it how the servers are doing; every start-up
//! step is announced on a channel the daemon forwards as `mcpServer/startupStatus/updated`.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use agentd_protocol::{
    McpAuthStatus, McpServerConnectionStatus, McpServerStatus, McpServerStatusUpdatedNotification,
    McpTool as WireTool,
};
use tokio::sync::broadcast;

use super::names::NameSet;
use super::server::{Phase, Server};
use super::tool::McpTool;
use crate::config::{McpServerConfig, McpTransport};
use crate::tools::ToolHandler;

/// Start-up announcements kept for slow readers before the oldest are dropped.
const UPDATES_BUFFER: usize = 256;

pub struct McpManager {
    global: RwLock<Arc<Vec<Arc<Server>>>>,
    threads: Mutex<HashMap<String, Arc<Vec<Arc<Server>>>>>,
    updates: broadcast::Sender<McpServerStatusUpdatedNotification>,
    default_cwd: PathBuf,
}

/// A turn's MCP tools, or why it cannot run.
pub type TurnTools = Result<Vec<Arc<dyn ToolHandler>>, String>;

impl McpManager {
    /// The manager, with nothing started yet (see [`McpManager::start`]).
    pub fn new(config: &BTreeMap<String, McpServerConfig>, default_cwd: PathBuf) -> Arc<Self> {
        let (updates, _) = broadcast::channel(UPDATES_BUFFER);
        let manager = McpManager {
            global: RwLock::new(Arc::new(Vec::new())),
            threads: Mutex::new(HashMap::new()),
            updates,
            default_cwd,
        };
        manager.replace_global(config);
        Arc::new(manager)
    }

    /// Starts the config's servers in the background.
    pub fn start(&self) {
        for server in self.global().iter() {
            server.start();
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<McpServerStatusUpdatedNotification> {
        self.updates.subscribe()
    }

    fn global(&self) -> Arc<Vec<Arc<Server>>> {
        self.global.read().map(|g| g.clone()).unwrap_or_default()
    }

    fn replace_global(&self, config: &BTreeMap<String, McpServerConfig>) -> Arc<Vec<Arc<Server>>> {
        let servers: Vec<Arc<Server>> = config
            .values()
            .map(|c| {
                Server::new(
                    c.clone(),
                    None,
                    self.default_cwd.clone(),
                    self.updates.clone(),
                )
            })
            .collect();
        match self.global.write() {
            Ok(mut g) => std::mem::replace(&mut *g, Arc::new(servers)),
            Err(_) => Arc::new(Vec::new()),
        }
    }

    /// Stops the config's servers and starts the ones `config` names.
    pub async fn reload(&self, config: &BTreeMap<String, McpServerConfig>) {
        let old = self.replace_global(config);
        for server in old.iter() {
            server.stop().await;
        }
        self.start();
    }

    /// A thread's own servers, started on first use.
    pub fn thread_servers(
        &self,
        thread_id: &str,
        config: &BTreeMap<String, McpServerConfig>,
    ) -> Arc<Vec<Arc<Server>>> {
        if config.is_empty() {
            return Arc::new(Vec::new());
        }
        let Ok(mut threads) = self.threads.lock() else {
            return Arc::new(Vec::new());
        };
        if let Some(servers) = threads.get(thread_id) {
            return servers.clone();
        }
        let servers: Arc<Vec<Arc<Server>>> = Arc::new(
            config
                .values()
                .map(|c| {
                    Server::new(
                        c.clone(),
                        Some(thread_id.to_owned()),
                        self.default_cwd.clone(),
                        self.updates.clone(),
                    )
                })
                .collect(),
        );
        for server in servers.iter() {
            server.start();
        }
        threads.insert(thread_id.to_owned(), servers.clone());
        servers
    }

    /// The thread was unloaded: its own servers stop.
    pub async fn release_thread(&self, thread_id: &str) {
        let servers = self
            .threads
            .lock()
            .ok()
            .and_then(|mut t| t.remove(thread_id));
        for server in servers.iter().flat_map(|s| s.iter()) {
            server.stop().await;
        }
    }

    /// Stops everything (the daemon is shutting down).
    pub async fn shutdown(&self) {
        let threads: Vec<_> = self
            .threads
            .lock()
            .map(|mut t| t.drain().map(|(_, s)| s).collect())
            .unwrap_or_default();
        let global = self.global();
        let all = threads.iter().chain(std::iter::once(&global));
        let stops: Vec<_> = all.flat_map(|s| s.iter().cloned()).collect();
        futures_util::future::join_all(stops.iter().map(|s| s.stop())).await;
    }

    /// The MCP tools of one model request of a thread: every ready server's (the config's, then
    /// the thread's), after retrying failed servers that are due and waiting for first starts.
    /// `Err` when a required server is not running.
    pub async fn tools(
        &self,
        thread_id: &str,
        thread_config: &BTreeMap<String, McpServerConfig>,
    ) -> TurnTools {
        let global = self.global();
        let own = self.thread_servers(thread_id, thread_config);
        let servers: Vec<&Arc<Server>> = global.iter().chain(own.iter()).collect();
        futures_util::future::join_all(servers.iter().map(|s| s.settle())).await;
        let mut names = NameSet::default();
        let mut handlers: Vec<Arc<dyn ToolHandler>> = Vec::new();
        for server in servers {
            let Some((_, tools)) = server.ready().await else {
                if server.config.required {
                    return Err(required_down(server));
                }
                continue;
            };
            for tool in tools.iter() {
                match names.assign(server.name(), &tool.name) {
                    Some(name) => handlers.push(Arc::new(McpTool::new(
                        (*server).clone(),
                        tool.clone(),
                        name,
                    ))),
                    None => {
                        tracing::warn!(server = %server.name(), tool = %tool.name, "MCP tool left out: its name collides")
                    }
                }
            }
        }
        Ok(handlers)
    }

    /// `mcpServerStatus/list`: the config's servers, plus a thread's own when asked.
    pub fn status(
        &self,
        thread: Option<(&str, &BTreeMap<String, McpServerConfig>)>,
    ) -> Vec<McpServerStatus> {
        let global = self.global();
        let own: Vec<McpServerStatus> = match thread {
            Some((id, config)) => match self.threads.lock().ok().and_then(|t| t.get(id).cloned()) {
                Some(servers) => servers.iter().map(|s| status_of(s)).collect(),
                None => config.values().map(|c| not_started(c, Some(id))).collect(),
            },
            None => Vec::new(),
        };
        global.iter().map(|s| status_of(s)).chain(own).collect()
    }
}

fn required_down(server: &Server) -> String {
    let why = match server.phase() {
        Phase::Failed { error, .. } => error,
        Phase::Starting { .. } => "it is still starting".into(),
        Phase::Disabled => "it is disabled".into(),
        _ => "it is not running".into(),
    };
    format!(
        "the MCP server `{}` is required (required = true) but not running: {why}",
        server.name()
    )
}

fn status_of(server: &Server) -> McpServerStatus {
    let mut status = not_started(&server.config, server.thread_id.as_deref());
    let (runtime, error) = match server.phase() {
        Phase::Disabled => (McpServerConnectionStatus::Disabled, None),
        Phase::Starting { .. } => (McpServerConnectionStatus::Starting, None),
        Phase::Stopped => (McpServerConnectionStatus::Cancelled, None),
        Phase::Failed { error, .. } => (McpServerConnectionStatus::Failed, Some(error)),
        Phase::Ready(live) => {
            status.server_info = live.connection.info.clone();
            status.tools = live
                .tools()
                .iter()
                .map(|t| (t.name.to_string(), wire_tool(t)))
                .collect();
            (McpServerConnectionStatus::Connected, None)
        }
    };
    status.runtime_status = Some(runtime);
    status.tools_error = error;
    status
}

fn not_started(config: &McpServerConfig, thread_id: Option<&str>) -> McpServerStatus {
    let (auth, origin) = match &config.transport {
        McpTransport::Stdio { .. } => (McpAuthStatus::Unsupported, None),
        McpTransport::Http {
            url,
            bearer_token_env_var,
            ..
        } => (
            if bearer_token_env_var.is_some() {
                McpAuthStatus::BearerToken
            } else {
                McpAuthStatus::Unsupported
            },
            reqwest::Url::parse(url)
                .ok()
                .map(|u| u.origin().ascii_serialization()),
        ),
    };
    McpServerStatus {
        name: config.name.clone(),
        tools: BTreeMap::new(),
        resources: Vec::new(),
        resource_templates: Vec::new(),
        auth_status: auth,
        runtime_status: Some(if config.enabled {
            McpServerConnectionStatus::NotStarted
        } else {
            McpServerConnectionStatus::Disabled
        }),
        tools_error: None,
        server_info: None,
        http_origin: origin,
        thread_id: thread_id.map(str::to_owned),
    }
}

fn wire_tool(tool: &rmcp::model::Tool) -> WireTool {
    WireTool {
        name: tool.name.to_string(),
        title: tool.title.clone(),
        description: tool.description.as_ref().map(|d| d.to_string()),
        input_schema: serde_json::Value::Object((*tool.input_schema).clone()),
        output_schema: tool
            .output_schema
            .as_ref()
            .map(|s| serde_json::Value::Object((**s).clone())),
        annotations: tool
            .annotations
            .as_ref()
            .and_then(|a| serde_json::to_value(a).ok()),
    }
}
