//! The five sub-agent tools as [`ToolHandler`]s. Their schemas are short on purpose: every byte
//! goes with every model request.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use agentd_protocol::{
    CollabAgentState, CollabAgentTool, CollabAgentToolCallItem, CollabAgentToolCallStatus,
    ThreadItem,
};
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

use super::control::{AgentControl, AgentReport, SpawnRequest};
use crate::model::ToolSpec;
use crate::port::ThreadError;
use crate::tools::handler::{
    Attempt, Completion, Confinement, PreparedCall, Refusal, Risk, ToolHandler, ToolOutcome,
};
use crate::tools::{ToolCtx, ToolRegistry};

/// `wait_agent`'s timeout when none is given, and its bounds.
const DEFAULT_WAIT: Duration = Duration::from_secs(30);
const MIN_WAIT: Duration = Duration::from_secs(10);
const MAX_WAIT: Duration = Duration::from_secs(3600);
/// Targets one wait or message may name.
const MAX_TARGETS: usize = 64;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Spawn,
    Send,
    Wait,
    Close,
    List,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Spawn => "spawn_agent",
            Kind::Send => "send_input",
            Kind::Wait => "wait_agent",
            Kind::Close => "close_agent",
            Kind::List => "list_agents",
        }
    }

    fn wire(self) -> CollabAgentTool {
        match self {
            Kind::Spawn => CollabAgentTool::SpawnAgent,
            Kind::Send => CollabAgentTool::SendInput,
            Kind::Wait => CollabAgentTool::Wait,
            Kind::Close => CollabAgentTool::CloseAgent,
            Kind::List => CollabAgentTool::ListAgents,
        }
    }
}

/// Adds the sub-agent tools a thread `depth` deep may use (none at `max_depth`).
pub fn register(
    registry: &mut ToolRegistry,
    control: Arc<dyn AgentControl>,
    depth: u32,
    max_depth: u32,
    roles: Vec<String>,
) {
    if depth >= max_depth {
        return;
    }
    for kind in [Kind::Spawn, Kind::Send, Kind::Wait, Kind::Close, Kind::List] {
        registry.register(Arc::new(CollabTool {
            kind,
            control: control.clone(),
            roles: roles.clone(),
        }));
    }
}

struct CollabTool {
    kind: Kind,
    control: Arc<dyn AgentControl>,
    roles: Vec<String>,
}

impl ToolHandler for CollabTool {
    fn spec(&self) -> ToolSpec {
        let (description, parameters) = match self.kind {
            Kind::Spawn => (
                "Start a sub-agent on a task; it works in parallel. isolation \"worktree\": it works \
                 in a new git worktree on its own branch from your HEAD (your uncommitted changes \
                 are not copied).",
                json!({"type": "object", "properties": {
                    "message": {"type": "string"},
                    "agent_type": {"type": "string", "enum": self.roles},
                    "model": {"type": "string"},
                    "reasoning_effort": {"type": "string"},
                    "isolation": {"type": "string", "enum": ["none", "worktree"]}},
                    "required": ["message"]}),
            ),
            Kind::Send => (
                "Send a sub-agent a message: a new task when idle, added to its work when busy \
                 (interrupt: stop its current work first).",
                json!({"type": "object", "properties": {
                    "target": {"type": "string"}, "message": {"type": "string"},
                    "interrupt": {"type": "boolean"}}, "required": ["target", "message"]}),
            ),
            Kind::Wait => (
                "Wait until sub-agents finish (mode any: the first; all: every one), or the \
                 timeout (default 30000 ms).",
                json!({"type": "object", "properties": {
                    "targets": {"type": "array", "items": {"type": "string"}},
                    "timeout_ms": {"type": "number"},
                    "mode": {"type": "string", "enum": ["any", "all"]}}, "required": ["targets"]}),
            ),
            Kind::Close => (
                "Close a sub-agent (and its own sub-agents); frees its slot.",
                json!({"type": "object", "properties": {"target": {"type": "string"}},
                    "required": ["target"]}),
            ),
            Kind::List => (
                "List your sub-agents and their status.",
                json!({"type": "object", "properties": {}}),
            ),
        };
        ToolSpec::Function {
            name: self.kind.name().into(),
            description: description.into(),
            parameters,
        }
    }

    fn prepare(&self, ctx: &ToolCtx<'_>, input: &str) -> Result<Box<dyn PreparedCall>, String> {
        let input = if input.trim().is_empty() { "{}" } else { input };
        let args: Args = serde_json::from_str(input)
            .map_err(|e| format!("error: invalid {} arguments: {e}", self.kind.name()))?;
        args.check(self.kind)?;
        let item = CollabAgentToolCallItem {
            id: uuid::Uuid::now_v7().to_string(),
            tool: self.kind.wire(),
            status: CollabAgentToolCallStatus::InProgress,
            sender_thread_id: ctx.emitter.thread_id().to_owned(),
            receiver_thread_ids: args.targets(),
            prompt: args.message.clone(),
            model: args.model.clone(),
            agents_states: BTreeMap::new(),
        };
        Ok(Box::new(CollabCall {
            kind: self.kind,
            control: self.control.clone(),
            args,
            item,
        }))
    }
}

#[derive(Debug, Default, Deserialize)]
struct Args {
    message: Option<String>,
    agent_type: Option<String>,
    model: Option<String>,
    reasoning_effort: Option<String>,
    isolation: Option<String>,
    target: Option<String>,
    interrupt: Option<bool>,
    targets: Option<Vec<String>>,
    timeout_ms: Option<f64>,
    mode: Option<String>,
}

impl Args {
    fn check(&self, kind: Kind) -> Result<(), String> {
        let need = |what: &str, present: bool| {
            if present {
                Ok(())
            } else {
                Err(format!("error: {} needs `{what}`", kind.name()))
            }
        };
        match kind {
            Kind::Spawn => need("message", self.message.is_some())?,
            Kind::Send => {
                need("target", self.target.is_some())?;
                need("message", self.message.is_some())?;
            }
            Kind::Wait => need(
                "targets",
                self.targets.as_ref().is_some_and(|t| !t.is_empty()),
            )?,
            Kind::Close => need("target", self.target.is_some())?,
            Kind::List => {}
        }
        if self.targets.as_ref().is_some_and(|t| t.len() > MAX_TARGETS) {
            return Err(format!("error: at most {MAX_TARGETS} targets"));
        }
        if let Some(i) = &self.isolation {
            if i != "none" && i != "worktree" {
                return Err(format!(
                    "error: isolation is \"none\" or \"worktree\", not {i:?}"
                ));
            }
        }
        if let Some(m) = &self.mode {
            if m != "any" && m != "all" {
                return Err(format!("error: mode is \"any\" or \"all\", not {m:?}"));
            }
        }
        Ok(())
    }

    fn targets(&self) -> Vec<String> {
        match (&self.target, &self.targets) {
            (Some(t), _) => vec![t.clone()],
            (None, Some(ts)) => ts.clone(),
            _ => Vec::new(),
        }
    }

    fn timeout(&self) -> Duration {
        match self.timeout_ms {
            Some(ms) if ms.is_finite() && ms > 0.0 => {
                Duration::from_millis(ms.min(MAX_WAIT.as_millis() as f64) as u64).max(MIN_WAIT)
            }
            _ => DEFAULT_WAIT,
        }
    }
}

struct CollabCall {
    kind: Kind,
    control: Arc<dyn AgentControl>,
    args: Args,
    item: CollabAgentToolCallItem,
}

impl CollabCall {
    fn finished(&self, reports: &[&AgentReport], failed: Option<&str>) -> ThreadItem {
        let mut item = self.item.clone();
        if !reports.is_empty() {
            item.receiver_thread_ids = reports.iter().map(|r| r.agent_id.clone()).collect();
        }
        item.agents_states = reports
            .iter()
            .map(|r| {
                (
                    r.agent_id.clone(),
                    CollabAgentState {
                        status: r.status,
                        message: r.message.clone(),
                    },
                )
            })
            .collect();
        item.status = if failed.is_some() {
            CollabAgentToolCallStatus::Failed
        } else {
            CollabAgentToolCallStatus::Completed
        };
        ThreadItem::CollabAgentToolCall(item)
    }

    async fn run(&self, ctx: &mut ToolCtx<'_>) -> Result<(Vec<AgentReport>, String), String> {
        let me = ctx.emitter.thread_id().to_owned();
        let a = &self.args;
        match self.kind {
            Kind::Spawn => {
                let request = SpawnRequest {
                    parent_thread_id: me,
                    message: a.message.clone().unwrap_or_default(),
                    role: a.agent_type.clone(),
                    model: a.model.clone(),
                    reasoning_effort: a.reasoning_effort.clone(),
                    worktree: a.isolation.as_deref() == Some("worktree"),
                };
                let report = self.control.spawn(request).await?;
                let started = ctx
                    .hook_site()
                    .subagent_start(&report.agent_id, &report.role)
                    .await;
                if let Err(e) = started {
                    tracing::warn!(error = %e, "SubagentStart hooks");
                }
                let text = json!({"agent_id": report.agent_id, "nickname": report.nickname,
                    "worktree": report.worktree});
                Ok((vec![report], text.to_string()))
            }
            Kind::Send => {
                let target = a.target.clone().unwrap_or_default();
                let message = a.message.clone().unwrap_or_default();
                let interrupt = a.interrupt.unwrap_or(false);
                let report = self
                    .control
                    .send_input(&me, &target, &message, interrupt)
                    .await?;
                let text = serde_json::to_string(&report).unwrap_or_default();
                Ok((vec![report], text))
            }
            Kind::Wait => {
                let targets = a.targets();
                let all = a.mode.as_deref() == Some("all");
                let report = self
                    .control
                    .wait(&me, &targets, all, a.timeout(), ctx.cancel)
                    .await?;
                let text = serde_json::to_string(&report).unwrap_or_default();
                Ok((report.status.into_values().collect(), text))
            }
            Kind::Close => {
                let target = a.target.clone().unwrap_or_default();
                let report = self.control.close(&me, &target).await?;
                let text = serde_json::to_string(&report).unwrap_or_default();
                Ok((vec![report], text))
            }
            Kind::List => {
                let reports = self.control.list(&me).await?;
                let text = json!({"agents": reports}).to_string();
                Ok((reports, text))
            }
        }
    }
}

#[async_trait]
impl PreparedCall for CollabCall {
    fn risk(&self, _ctx: &ToolCtx<'_>) -> Risk {
        // A child's own actions are asked about (or not) by its own policy.
        Risk::Inert
    }

    fn item(&self) -> Option<ThreadItem> {
        Some(ThreadItem::CollabAgentToolCall(self.item.clone()))
    }

    async fn attempt(
        &mut self,
        ctx: &mut ToolCtx<'_>,
        _confinement: Confinement,
    ) -> Result<Attempt, ThreadError> {
        let done = match self.run(ctx).await {
            Ok((reports, text)) => {
                let refs: Vec<&AgentReport> = reports.iter().collect();
                Completion::output(Some(self.finished(&refs, None)), text)
            }
            Err(why) => Completion::output(
                Some(self.finished(&[], Some(&why))),
                format!("error: {why}"),
            ),
        };
        if ctx.cancel.is_cancelled() && self.kind == Kind::Wait {
            let mut interrupted = done;
            if let Some(ThreadItem::CollabAgentToolCall(item)) = &mut interrupted.item {
                item.status = CollabAgentToolCallStatus::Interrupted;
            }
            interrupted.outcome = ToolOutcome::Interrupt;
            return Ok(Attempt::Done(interrupted));
        }
        Ok(Attempt::Done(done))
    }

    fn refused(&self, refusal: Refusal) -> Completion {
        let why = match refusal {
            Refusal::Policy(reason) => reason,
            Refusal::Person { by, .. } => format!("declined by {by}"),
        };
        Completion::output(Some(self.finished(&[], Some(&why))), why)
    }
}
