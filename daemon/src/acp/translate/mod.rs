//! The daemon's events as ACP `session/update`s: message and reasoning deltas as chunks, tool
//! items as `tool_call` then `tool_call_update`, plans as `plan`. The same translation serves a
//! live prompt and the replay of `session/load` (which also shows the user's messages), so what
//! a client sees after a restart is what it saw live.

mod diff;
mod items;

use std::collections::HashSet;
use std::path::PathBuf;

use agentd_protocol::{
    AgentMessageDeltaNotification, ItemCompletedNotification, ItemStartedNotification,
    ReasoningSummaryTextDeltaNotification, ServerNotification, ThreadItem, TurnPlanStepStatus,
    TurnPlanUpdatedNotification,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::wire::{PlanEntry, PlanPriority, PlanStatus, SessionUpdate};

pub use items::{permission_tool_call, tool_call};

/// Per-turn memory of what was already sent, so an item's final text is not sent again after
/// its deltas, and a tool call is announced before it is updated.
pub struct Translator {
    /// Messages and reasoning whose text arrived as deltas.
    streamed: HashSet<String>,
    /// Tool calls already announced with `tool_call`.
    announced: HashSet<String>,
    /// Replaying a stored history: the user's messages are shown too.
    pub replaying: bool,
    /// The session's directory, for the absolute paths ACP wants.
    pub cwd: PathBuf,
}

impl Translator {
    pub fn new(cwd: PathBuf, replaying: bool) -> Self {
        Translator {
            streamed: HashSet::new(),
            announced: HashSet::new(),
            replaying,
            cwd,
        }
    }

    /// The updates one daemon notification makes; most make none.
    pub fn event(&mut self, method: &str, params: &Value) -> Vec<SessionUpdate> {
        match method {
            m if m == AgentMessageDeltaNotification::METHOD => {
                read::<AgentMessageDeltaNotification>(params)
                    .map(|n| {
                        self.streamed.insert(n.item_id);
                        vec![SessionUpdate::agent_text(n.delta)]
                    })
                    .unwrap_or_default()
            }
            m if m == ReasoningSummaryTextDeltaNotification::METHOD => {
                read::<ReasoningSummaryTextDeltaNotification>(params)
                    .map(|n| {
                        self.streamed.insert(n.item_id);
                        vec![SessionUpdate::thought(n.delta)]
                    })
                    .unwrap_or_default()
            }
            m if m == ItemStartedNotification::METHOD => read::<ItemStartedNotification>(params)
                .map(|n| self.started(n.item))
                .unwrap_or_default(),
            m if m == ItemCompletedNotification::METHOD => {
                read::<ItemCompletedNotification>(params)
                    .map(|n| self.completed(n.item))
                    .unwrap_or_default()
            }
            m if m == TurnPlanUpdatedNotification::METHOD => {
                read::<TurnPlanUpdatedNotification>(params)
                    .map(|n| vec![plan(&n)])
                    .unwrap_or_default()
            }
            "turn/completed" => {
                self.streamed.clear();
                self.announced.clear();
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn started(&mut self, item: ThreadItem) -> Vec<SessionUpdate> {
        match tool_call(&item, &self.cwd) {
            Some(call) => {
                self.announced.insert(call.tool_call_id.clone());
                vec![SessionUpdate::ToolCall(call)]
            }
            None => Vec::new(),
        }
    }

    fn completed(&mut self, item: ThreadItem) -> Vec<SessionUpdate> {
        match &item {
            ThreadItem::UserMessage(m) if self.replaying => items::user_chunks(&m.content),
            ThreadItem::AgentMessage(m) if !self.streamed.contains(&m.id) && !m.text.is_empty() => {
                vec![SessionUpdate::agent_text(m.text.clone())]
            }
            ThreadItem::Reasoning(r) if !self.streamed.contains(&r.id) => {
                let text = r.summary.join("\n\n");
                if text.is_empty() {
                    Vec::new()
                } else {
                    vec![SessionUpdate::thought(text)]
                }
            }
            _ => {
                let Some(call) = tool_call(&item, &self.cwd) else {
                    return Vec::new();
                };
                if self.announced.remove(&call.tool_call_id) {
                    vec![SessionUpdate::ToolCallUpdate(items::final_update(call))]
                } else {
                    vec![SessionUpdate::ToolCall(call)]
                }
            }
        }
    }
}

fn plan(n: &TurnPlanUpdatedNotification) -> SessionUpdate {
    let entries = n
        .plan
        .iter()
        .map(|s| PlanEntry {
            content: s.step.clone(),
            priority: PlanPriority::Medium,
            status: match s.status {
                TurnPlanStepStatus::Pending => PlanStatus::Pending,
                TurnPlanStepStatus::InProgress => PlanStatus::InProgress,
                TurnPlanStepStatus::Completed => PlanStatus::Completed,
            },
        })
        .collect();
    SessionUpdate::Plan { entries }
}

fn read<T: DeserializeOwned>(params: &Value) -> Option<T> {
    match T::deserialize(params) {
        Ok(t) => Some(t),
        Err(e) => {
            tracing::debug!(error = %e, "acp: an event of an unexpected shape; skipped");
            None
        }
    }
}
