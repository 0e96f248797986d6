//! `--json`: stdout is JSON Lines in `codex exec --json`'s event format (the types are
//! `agentd_protocol::exec_event`; docs/exec.md maps agentd's items onto them), so tools that
//! parse Codex's output read ours.

use std::collections::HashMap;
use std::io::Write;

use agentd_protocol::exec_event::{
    ExecError, ExecEvent, ExecFileChange, ExecItem, ExecItemDetails, ExecItemStatus, ExecTodo,
    ExecUsage,
};
use agentd_protocol::{
    ItemStatus, McpToolCallStatus, ThreadItem, TokenUsageBreakdown, TurnPlanUpdatedNotification,
};
use serde_json::Value;

use super::run::{Ending, Report};

#[derive(Default)]
pub struct Jsonl {
    /// agentd item id → `item_N`, numbered per run as `codex exec` does.
    ids: HashMap<String, String>,
    next: usize,
    /// The turn's plan as a `todo_list` item: its id once started, and its last items.
    todo: Option<(String, Vec<ExecTodo>)>,
    /// The thread's token usage so far (from `thread/tokenUsage/updated`).
    usage: TokenUsageBreakdown,
}

impl Jsonl {
    fn emit(&self, event: ExecEvent) {
        if let Ok(text) = serde_json::to_string(&event) {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        }
    }

    fn id_for(&mut self, agentd_id: &str) -> String {
        if let Some(id) = self.ids.get(agentd_id) {
            return id.clone();
        }
        let id = self.fresh_id();
        self.ids.insert(agentd_id.to_owned(), id.clone());
        id
    }

    fn fresh_id(&mut self) -> String {
        let id = format!("item_{}", self.next);
        self.next += 1;
        id
    }

    /// The Codex item for an agentd item, or `None` for items `codex exec` does not report.
    fn item(&mut self, item: &ThreadItem) -> Option<ExecItem> {
        let details = match item {
            ThreadItem::AgentMessage(m) => ExecItemDetails::AgentMessage {
                text: m.text.clone(),
            },
            ThreadItem::Reasoning(r) if r.summary.iter().any(|s| !s.is_empty()) => {
                ExecItemDetails::Reasoning {
                    text: r.summary.join("\n"),
                }
            }
            ThreadItem::CommandExecution(c) => ExecItemDetails::CommandExecution {
                command: c.command.clone(),
                aggregated_output: c.aggregated_output.clone().unwrap_or_default(),
                exit_code: c.exit_code.map(i64::from),
                status: status(c.status),
            },
            ThreadItem::FileChange(f) => ExecItemDetails::FileChange {
                changes: f
                    .changes
                    .iter()
                    .map(|c| ExecFileChange {
                        path: c.path.clone(),
                        kind: change_kind(&c.kind),
                    })
                    .collect(),
                // Codex reports a patch that was not applied as failed.
                status: match status(f.status) {
                    ExecItemStatus::Declined => ExecItemStatus::Failed,
                    s => s,
                },
            },
            ThreadItem::McpToolCall(m) => ExecItemDetails::McpToolCall {
                server: m.server.clone(),
                tool: m.tool.clone(),
                arguments: m.arguments.clone(),
                result: m.result.as_ref().and_then(|r| serde_json::to_value(r).ok()),
                error: m.error.as_ref().map(|e| ExecError {
                    message: e.message.clone(),
                }),
                status: match m.status {
                    McpToolCallStatus::InProgress => ExecItemStatus::InProgress,
                    McpToolCallStatus::Completed => ExecItemStatus::Completed,
                    McpToolCallStatus::Failed => ExecItemStatus::Failed,
                },
            },
            ThreadItem::WebSearch(w) => ExecItemDetails::WebSearch {
                query: w.query.clone(),
            },
            _ => return None,
        };
        Some(ExecItem {
            id: self.id_for(item.id()),
            details,
        })
    }

    /// The plan as Codex's `todo_list`: started once, then updated, completed at the turn end.
    fn plan(&mut self, update: TurnPlanUpdatedNotification) {
        let items: Vec<ExecTodo> = update
            .plan
            .into_iter()
            .map(|s| ExecTodo {
                text: s.step,
                completed: s.status == agentd_protocol::TurnPlanStepStatus::Completed,
            })
            .collect();
        let (id, first) = match &self.todo {
            Some((id, _)) => (id.clone(), false),
            None => (self.fresh_id(), true),
        };
        let item = ExecItem {
            id: id.clone(),
            details: ExecItemDetails::TodoList {
                items: items.clone(),
            },
        };
        self.emit(if first {
            ExecEvent::ItemStarted { item }
        } else {
            ExecEvent::ItemUpdated { item }
        });
        self.todo = Some((id, items));
    }
}

fn status(s: ItemStatus) -> ExecItemStatus {
    match s {
        ItemStatus::InProgress => ExecItemStatus::InProgress,
        ItemStatus::Completed => ExecItemStatus::Completed,
        ItemStatus::Declined => ExecItemStatus::Declined,
        ItemStatus::Failed => ExecItemStatus::Failed,
    }
}

fn change_kind(kind: &agentd_protocol::PatchChangeKind) -> String {
    match kind {
        agentd_protocol::PatchChangeKind::Add => "add",
        agentd_protocol::PatchChangeKind::Delete => "delete",
        agentd_protocol::PatchChangeKind::Update { .. } => "update",
    }
    .to_owned()
}

fn item_of(params: &Value) -> Option<ThreadItem> {
    serde_json::from_value(params.get("item")?.clone()).ok()
}

impl Report for Jsonl {
    fn thread_started(&mut self, thread_id: &str) {
        self.emit(ExecEvent::ThreadStarted {
            thread_id: thread_id.to_owned(),
        });
    }

    fn event(&mut self, method: &str, params: &Value) {
        match method {
            "turn/started" => self.emit(ExecEvent::TurnStarted {}),
            // Codex reports messages and reasoning only once they are complete.
            "item/started" => {
                if let Some(item @ (ThreadItem::CommandExecution(_) | ThreadItem::McpToolCall(_))) =
                    item_of(params)
                {
                    if let Some(item) = self.item(&item) {
                        self.emit(ExecEvent::ItemStarted { item });
                    }
                }
            }
            "item/completed" => {
                if let Some(item) = item_of(params).and_then(|i| self.item(&i)) {
                    self.emit(ExecEvent::ItemCompleted { item });
                }
            }
            "turn/plan/updated" => {
                if let Ok(update) = serde_json::from_value(params.clone()) {
                    self.plan(update);
                }
            }
            "thread/tokenUsage/updated" => {
                if let Ok(total) = serde_json::from_value(params["tokenUsage"]["total"].clone()) {
                    self.usage = total;
                }
            }
            "error" if params["willRetry"] == true => self.emit(ExecEvent::Error {
                message: params["error"]["message"].as_str().unwrap_or("").to_owned(),
            }),
            _ => {}
        }
    }

    fn warning(&mut self, message: &str) {
        let item = ExecItem {
            id: self.fresh_id(),
            details: ExecItemDetails::Error {
                message: message.to_owned(),
            },
        };
        self.emit(ExecEvent::ItemCompleted { item });
    }

    fn ended(&mut self, ending: &Ending) {
        if let Some((id, items)) = self.todo.take() {
            let item = ExecItem {
                id,
                details: ExecItemDetails::TodoList { items },
            };
            self.emit(ExecEvent::ItemCompleted { item });
        }
        match ending {
            Ending::Completed { .. } => {
                let u = self.usage;
                self.emit(ExecEvent::TurnCompleted {
                    usage: ExecUsage {
                        input_tokens: u.input_tokens,
                        cached_input_tokens: u.cached_input_tokens,
                        cache_write_input_tokens: 0,
                        output_tokens: u.output_tokens,
                        reasoning_output_tokens: u.reasoning_output_tokens,
                    },
                });
            }
            Ending::Failed { message } => self.emit(ExecEvent::TurnFailed {
                error: ExecError {
                    message: message.clone(),
                },
            }),
            // As `codex exec`: an interrupted turn reports no `turn.*` event.
            Ending::Interrupted => {}
        }
    }

    fn fatal(&mut self, message: &str) {
        self.emit(ExecEvent::Error {
            message: message.to_owned(),
        });
    }
}
