//! One configured MCP server over time: disabled, starting, ready (with its tools), failed
//! (retried later, with backoff), stopped. Starting happens in the background; turns read the
//! state and wait only for a server's first start, and never past its start-up timeout.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentd_protocol::{McpServerStartupState, McpServerStatusUpdatedNotification};
use rmcp::model::Tool;
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use super::connection::{CallError, Connection};
use super::handler::Shared;
use crate::config::McpServerConfig;

/// First retry after a failure; doubled per failure up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// How long a re-listing after a change may hold up the model requests of the threads using
/// the server (they wait for it); past it they go on with the tools listed before.
const REFRESH_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a server is.
#[derive(Clone)]
pub enum Phase {
    Disabled,
    /// Turns wait for it until `deadline` (the start-up timeout after it began).
    Starting {
        deadline: Instant,
    },
    Ready(Arc<Live>),
    Failed {
        error: String,
        retry_at: Instant,
        failures: u32,
    },
    Stopped,
}

/// A connected server and its current tools.
pub struct Live {
    pub connection: Connection,
    tools: Mutex<Arc<Vec<Tool>>>,
    /// One re-listing at a time.
    refreshing: tokio::sync::Mutex<()>,
}

pub struct Server {
    pub config: McpServerConfig,
    /// The thread that added it (per-thread servers).
    pub thread_id: Option<String>,
    pub shared: Arc<Shared>,
    phase: watch::Sender<Phase>,
    default_cwd: PathBuf,
    updates: broadcast::Sender<McpServerStatusUpdatedNotification>,
}

impl Server {
    pub fn new(
        config: McpServerConfig,
        thread_id: Option<String>,
        default_cwd: PathBuf,
        updates: broadcast::Sender<McpServerStatusUpdatedNotification>,
    ) -> Arc<Self> {
        let phase = if config.enabled {
            Phase::Stopped
        } else {
            Phase::Disabled
        };
        Arc::new(Server {
            config,
            thread_id,
            shared: Arc::new(Shared::default()),
            phase: watch::Sender::new(phase),
            default_cwd,
            updates,
        })
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub fn phase(&self) -> Phase {
        self.phase.borrow().clone()
    }

    /// Starts it in the background (unless disabled or already starting or ready).
    pub fn start(self: &Arc<Self>) {
        let failures = match &*self.phase.borrow() {
            Phase::Disabled | Phase::Starting { .. } | Phase::Ready(_) => return,
            Phase::Failed { failures, .. } => *failures,
            Phase::Stopped => 0,
        };
        let deadline = Instant::now() + self.config.startup_timeout;
        self.phase.send_replace(Phase::Starting { deadline });
        self.announce(McpServerStartupState::Starting, None);
        let server = self.clone();
        tokio::spawn(async move { server.connect(failures).await });
    }

    async fn connect(self: Arc<Self>, failures: u32) {
        let timeout = self.config.startup_timeout;
        let started = Instant::now();
        let result =
            match Connection::connect(&self.config, &self.default_cwd, self.shared.clone()).await {
                Ok(connection) => {
                    // The listing shares the start-up timeout with the handshake.
                    let left = timeout
                        .saturating_sub(started.elapsed())
                        .max(Duration::from_millis(100));
                    match connection.list_tools(left).await {
                        Ok(tools) => Ok((connection, tools)),
                        Err(e) => {
                            connection.close().await;
                            Err(e)
                        }
                    }
                }
                Err(e) => Err(e),
            };
        match result {
            Ok((connection, tools)) => self.became_ready(connection, tools).await,
            Err(error) => self.failed(error, failures + 1),
        }
    }

    async fn became_ready(&self, connection: Connection, tools: Vec<Tool>) {
        let live = Arc::new(Live {
            connection,
            tools: Mutex::new(Arc::new(self.offered(tools))),
            refreshing: tokio::sync::Mutex::new(()),
        });
        // Stopped (reload, shutdown, thread unloaded) while connecting: close what was opened.
        let stopped = matches!(*self.phase.borrow(), Phase::Stopped);
        if stopped {
            live.connection.close().await;
            return;
        }
        tracing::info!(server = %self.name(), tools = live.tools().len(), "MCP server ready");
        self.phase.send_replace(Phase::Ready(live));
        self.announce(McpServerStartupState::Ready, None);
    }

    fn failed(&self, error: String, failures: u32) {
        if matches!(*self.phase.borrow(), Phase::Stopped) {
            return;
        }
        let backoff = FIRST_BACKOFF
            .saturating_mul(1 << failures.saturating_sub(1).min(10))
            .min(MAX_BACKOFF);
        tracing::warn!(server = %self.name(), %error, retry_in = ?backoff, "MCP server failed");
        self.phase.send_replace(Phase::Failed {
            error: error.clone(),
            retry_at: Instant::now() + backoff,
            failures,
        });
        self.announce(McpServerStartupState::Failed, Some(error));
    }

    /// The tools the config offers, of those the server listed.
    fn offered(&self, tools: Vec<Tool>) -> Vec<Tool> {
        tools
            .into_iter()
            .filter(|t| self.config.offers(&t.name))
            .collect()
    }

    /// Before each model request: retries a failed server whose backoff is over, notices a
    /// server that died, and waits for a server that is starting, until its deadline (so a
    /// broken server costs a turn at most its start-up timeout, once per backoff period).
    pub async fn settle(self: &Arc<Self>) {
        match self.phase() {
            Phase::Failed { retry_at, .. } if Instant::now() >= retry_at => self.start(),
            Phase::Ready(live) if live.connection.is_closed() => {
                let note = live.connection.exit_note();
                self.failed(format!("the connection was lost: {note}"), 1);
                live.connection.close().await;
                return;
            }
            _ => {}
        }
        let Phase::Starting { deadline } = self.phase() else {
            return;
        };
        let mut rx = self.phase.subscribe();
        let done = rx.wait_for(|p| !matches!(p, Phase::Starting { .. }));
        let _ = tokio::time::timeout_at(deadline + Duration::from_millis(200), done).await;
    }

    /// The connection and tools, when ready; the tools are listed again first if the server
    /// said they changed (within [`REFRESH_TIMEOUT`]; the old list stays if that fails).
    pub async fn ready(&self) -> Option<(Arc<Live>, Arc<Vec<Tool>>)> {
        let Phase::Ready(live) = self.phase() else {
            return None;
        };
        if self.shared.tools_changed.load(Ordering::Acquire) {
            let _one = live.refreshing.lock().await;
            if self.shared.tools_changed.swap(false, Ordering::AcqRel) {
                let timeout = self.config.startup_timeout.min(REFRESH_TIMEOUT);
                match live.connection.list_tools(timeout).await {
                    Ok(tools) => live.set_tools(self.offered(tools)),
                    Err(e) => {
                        tracing::warn!(server = %self.name(), error = %e, "MCP tools not refreshed")
                    }
                }
            }
        }
        let tools = live.tools();
        Some((live, tools))
    }

    /// A call found the connection gone: the server counts as failed (and is retried).
    pub async fn lost(&self, error: &CallError) {
        if let (CallError::Closed(note), Phase::Ready(live)) = (error, self.phase()) {
            self.failed(format!("the connection was lost: {note}"), 1);
            live.connection.close().await;
        }
    }

    /// Stops it for good (reload, shutdown, its thread unloaded).
    pub async fn stop(&self) {
        let previous = self.phase.send_replace(Phase::Stopped);
        if let Phase::Ready(live) = previous {
            // Calls still in progress fail as the connection closes.
            live.connection.close().await;
        }
    }

    fn announce(&self, status: McpServerStartupState, error: Option<String>) {
        let _ = self.updates.send(McpServerStatusUpdatedNotification {
            name: self.config.name.clone(),
            status,
            error,
            thread_id: self.thread_id.clone(),
            seq: 0,
        });
    }
}

impl Live {
    pub fn tools(&self) -> Arc<Vec<Tool>> {
        self.tools.lock().map(|t| t.clone()).unwrap_or_default()
    }

    fn set_tools(&self, tools: Vec<Tool>) {
        if let Ok(mut t) = self.tools.lock() {
            *t = Arc::new(tools);
        }
    }
}
