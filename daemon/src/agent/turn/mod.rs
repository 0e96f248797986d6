//! One turn, start to finish: the turn task, its loop of model requests and tool calls, and its
//! one `turn/completed`.
//!
//! Files: `fold.rs` (model events → items, pure), `request.rs` (one model request streamed
//! into items), `calls.rs` (running the tool calls a response asked for), `lifecycle.rs`
//! (the hooks at the two ends of a turn, and steered input), `finish.rs` (the end).

mod calls;
mod finish;
pub mod fold;
mod lifecycle;
mod request;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use agentd_protocol::{ThreadItem, TokenUsageBreakdown, TurnError, UserInput};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::compaction::{CompactError, Compaction, CompactionPolicy};
use super::instructions::build_instructions;
use super::services::AgentServices;
use crate::model::{HistoryItem, ModelClient, ModelError};
use crate::port::{ThreadError, ThreadLink, ThreadSettings, TurnEmitter};
use crate::tools::hooks::{HookContext, HookSet};
use crate::tools::SessionApprovals;

/// What the thread hands a new turn.
pub struct TurnSpec {
    pub started_at: i64,
    pub cwd: String,
    pub model: String,
    pub provider: String,
    pub settings: ThreadSettings,
    /// The thread's `acceptForSession` answers (owned by the thread, shared by its turns).
    pub session: Arc<SessionApprovals>,
    /// A `thread/compact/start` turn: compact the history and end.
    pub compact_only: bool,
    /// A JSON Schema the final answer must follow (`turn/start {outputSchema}`).
    pub output_schema: Option<serde_json::Value>,
    /// Interrupts the turn.
    pub cancel: CancellationToken,
    /// Input sent with `turn/steer` (with its history entry), taken before each model request.
    pub steer: mpsc::Receiver<(Vec<UserInput>, HistoryItem)>,
    /// Context from the SessionStart hooks of the session this turn is the first of.
    pub session_context: Option<oneshot::Receiver<Vec<HookContext>>>,
}

/// How a turn ended.
pub(crate) enum Ending {
    Completed,
    Interrupted,
    Failed(TurnError),
}

impl Ending {
    fn failed(message: impl Into<String>, kind: &str) -> Self {
        Ending::Failed(TurnError {
            message: message.into(),
            kind: Some(kind.to_owned()),
        })
    }
}

impl From<ModelError> for Ending {
    fn from(e: ModelError) -> Self {
        Ending::failed(e.to_string(), e.kind())
    }
}

impl From<CompactError> for Ending {
    fn from(e: CompactError) -> Self {
        match e {
            CompactError::Interrupted => Ending::Interrupted,
            CompactError::Model(e) => e.into(),
            CompactError::Thread(e) => e.into(),
        }
    }
}

impl From<ThreadError> for Ending {
    fn from(e: ThreadError) -> Self {
        Ending::failed(e.to_string(), "internal")
    }
}

impl From<fold::StreamViolation> for Ending {
    fn from(e: fold::StreamViolation) -> Self {
        Ending::failed(e.to_string(), "responseInvalid")
    }
}

/// Starts the turn task. It always ends by queueing exactly one `turn/completed` and then
/// telling the thread it is finished.
pub fn spawn_turn(services: Arc<AgentServices>, link: ThreadLink, spec: TurnSpec) {
    tokio::spawn(async move {
        let clock = Instant::now();
        let mut run = TurnRun::new(services, link.clone(), spec).await;
        let ending = match run.run().await {
            Ok(()) => Ending::Completed,
            Err(e) => e,
        };
        run.finish(ending, clock).await;
        link.finished().await;
    });
}

struct TurnRun {
    services: Arc<AgentServices>,
    emitter: TurnEmitter,
    spec: TurnSpec,
    cwd: PathBuf,
    history: Vec<HistoryItem>,
    usage_total: TokenUsageBreakdown,
    usage_turn: TokenUsageBreakdown,
    turn_diff: String,
    /// The last agent message completed so far: `turn/completed` carries it.
    final_message: Option<ThreadItem>,
    /// A Stop hook already sent the agent on in this turn (it may do so once).
    stop_hook_continued: bool,
    compaction: CompactionPolicy,
    /// The hooks for the turn's cwd (config.toml's, and trusted settings files'), read once.
    hooks: HookSet,
}

impl TurnRun {
    async fn new(services: Arc<AgentServices>, link: ThreadLink, spec: TurnSpec) -> Self {
        let cwd = PathBuf::from(&spec.cwd);
        let config = &services.config;
        let hooks = HookSet::load_off_worker(&config.hooks, &config.projects, &cwd).await;
        TurnRun {
            compaction: CompactionPolicy::new(&services.config),
            hooks,
            cwd,
            services,
            emitter: TurnEmitter::new(link),
            spec,
            history: Vec::new(),
            usage_total: TokenUsageBreakdown::default(),
            usage_turn: TokenUsageBreakdown::default(),
            turn_diff: String::new(),
            final_message: None,
            stop_hook_continued: false,
        }
    }

    fn cancel(&self) -> &CancellationToken {
        &self.spec.cancel
    }

    async fn run(&mut self) -> Result<(), Ending> {
        self.load().await?;
        self.session_context().await?;
        let client = self
            .services
            .client_for_thread(&self.spec.provider, &self.spec.settings)?;
        if self.spec.compact_only {
            return self.compact(&client, "manual").await;
        }
        let memory = self.services.memory_summary(&self.cwd).await;
        let instructions = self.instructions(memory).await?;
        // UserPromptSubmit may refuse the prompt before the model sees it.
        self.user_prompt_hooks().await?;
        let depth = self
            .services
            .subagent_depth(self.emitter.link().thread_id())
            .await;
        let mut requests = 0;
        loop {
            self.take_steered_input().await?;
            if self.cancel().is_cancelled() {
                return Err(Ending::Interrupted);
            }
            if self.compaction.due() {
                self.compact(&client, "auto").await?;
            }
            // Per request: an MCP server's tools may have changed, or a server come up.
            let tools = self.tools(depth).await?;
            requests += 1;
            self.take_agent_notes().await?;
            let extra = self.pre_model_request_hooks(requests).await?;
            let calls = self.request(&client, &instructions, &tools, extra).await?;
            if calls.is_empty() {
                // New input steered in while the model answered still needs an answer; a Stop
                // hook may send the agent on, once.
                if self.spec.steer.is_empty() && !self.stop_hooks_continue().await? {
                    // Closed before the last look: input sent from now on is refused (the
                    // client is told to start a turn), and input that slipped in before the
                    // close is still answered. Nothing steered is ever dropped unanswered.
                    self.spec.steer.close();
                    if self.spec.steer.is_empty() {
                        return Ok(());
                    }
                }
                continue;
            }
            self.run_calls(calls, &tools).await?;
        }
    }

    /// The instructions text for this turn's requests. Built on a blocking thread: it reads the
    /// repository's instruction files and their imports, which may be many, large or hostile,
    /// and the daemon's one worker thread serves every other thread meanwhile.
    async fn instructions(&self, memory: Option<String>) -> Result<String, Ending> {
        let settings = &self.spec.settings;
        let base = settings.base_instructions.clone();
        let developer = settings.developer_instructions.clone();
        let cwd = self.cwd.clone();
        let services = Arc::clone(&self.services);
        tokio::task::spawn_blocking(move || {
            build_instructions(
                base.as_deref(),
                memory.as_deref(),
                developer.as_deref(),
                &cwd,
                &services.config.projects,
            )
        })
        .await
        .map_err(|e| Ending::failed(format!("building the instructions failed: {e}"), "internal"))
    }

    async fn tools(&self, depth: u32) -> Result<crate::tools::ToolRegistry, Ending> {
        let thread_id = self.emitter.link().thread_id().to_owned();
        self.services
            .tools(&thread_id, &self.spec.settings, depth)
            .await
            .map_err(|message| Ending::failed(message, "mcpServerUnavailable"))
    }

    /// Reads the thread's history and usage so far. Everything queued before this turn (the
    /// previous turn's last items, this turn's user message) is committed once the barrier
    /// answers, so the store read is complete.
    async fn load(&mut self) -> Result<(), Ending> {
        let link = self.emitter.link();
        link.barrier().await?;
        let store = link.store();
        let thread_id = link.thread_id().to_owned();
        for v in store.history(&thread_id).await.map_err(ThreadError::from)? {
            match serde_json::from_value::<HistoryItem>(v) {
                Ok(h) => self.history.push(h),
                Err(e) => tracing::warn!(error = %e, "skipping an unreadable history entry"),
            }
        }
        calls::answer_cut_off_calls(&mut self.history);
        for t in store.turns(&thread_id).await.map_err(ThreadError::from)? {
            if let Some(u) = t
                .usage
                .and_then(|u| serde_json::from_value::<TokenUsageBreakdown>(u).ok())
            {
                self.usage_total = self.usage_total.add(&u);
            }
        }
        let context = store
            .context_tokens(&thread_id)
            .await
            .map_err(ThreadError::from)?;
        self.compaction.start(context, &self.history);
        Ok(())
    }

    /// Replaces the history with a summary of it (see `compaction.rs`), unless a PreCompact
    /// hook blocks it. `trigger`: `manual` (`thread/compact/start`) or `auto`.
    async fn compact(&mut self, client: &ModelClient, trigger: &str) -> Result<(), Ending> {
        if self.history.is_empty() || !self.pre_compact_hooks(trigger).await? {
            return Ok(());
        }
        let compaction = Compaction {
            client,
            model: &self.spec.model,
            emitter: &mut self.emitter,
            cancel: &self.spec.cancel,
            policy: &mut self.compaction,
        };
        self.history = compaction.run(&self.history).await?;
        self.post_compact_hooks(trigger).await
    }
}
