//! The actor's side of turns: at most one running turn per thread, `turn/start` idempotency,
//! steering input into the running turn, interrupts, and the status changes around them.
//!
//! The turn itself runs in its own task (`agent::run_turn`) and talks back through the actor's
//! queue like any producer, so its events are ordered and committed like every other event.

use std::collections::HashMap;

use agentd_protocol::{
    ThreadActiveFlag, ThreadItem, ThreadStatus, Turn, TurnStartParams, TurnStatus, UserInput,
    UserMessageItem,
};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::actor::{ActorHandle, Deferred, Reply, ThreadActor};
use super::convert::settings_of;
use super::{unix_now, ThreadError};
use crate::agent::{self, TurnSpec};
use crate::model::HistoryItem;
use crate::store::{HistoryRow, ItemRow, Projection, TurnRow};

/// Remembered `clientRequestId`s per thread; beyond this the oldest are forgotten.
const IDEMPOTENCY_MEMORY: usize = 1024;
/// Longest preview kept for thread lists, in characters.
const PREVIEW_CHARS: usize = 200;

pub(super) enum TurnCommand {
    Start {
        params: Box<TurnStartParams>,
        reply: Reply<Value>,
    },
    Steer {
        input: Vec<UserInput>,
        expected_turn_id: String,
        client_request_id: Option<String>,
        reply: Reply<Value>,
    },
    Interrupt {
        turn_id: String,
        reply: Reply<()>,
    },
    /// `thread/compact/start`: a turn that only compacts the history.
    Compact {
        reply: Reply<Value>,
    },
    /// From the turn task, after it has queued its `turn/completed`.
    Finished {
        turn_id: String,
    },
    /// From the turn task: it is (or no longer is) waiting on an approval.
    Waiting {
        turn_id: String,
        waiting: bool,
    },
}

struct RunningTurn {
    id: String,
    cancel: CancellationToken,
    steer: mpsc::UnboundedSender<Vec<UserInput>>,
}

pub(super) struct TurnState {
    running: Option<RunningTurn>,
    /// Turns the thread has had (the next turn's position).
    count: i64,
    /// `clientRequestId` → the first answer, so retries return it and start nothing.
    answered: HashMap<String, Value>,
    answered_order: std::collections::VecDeque<String>,
}

impl TurnState {
    pub(super) fn new(count: i64) -> Self {
        TurnState {
            running: None,
            count,
            answered: HashMap::new(),
            answered_order: Default::default(),
        }
    }

    pub(super) fn is_running(&self) -> bool {
        self.running.is_some()
    }

    pub(super) fn running_id(&self) -> Option<&str> {
        self.running.as_ref().map(|r| r.id.as_str())
    }

    pub(super) fn cancel_running(&self) {
        if let Some(r) = &self.running {
            r.cancel.cancel();
        }
    }

    fn remember(&mut self, key: String, answer: Value) {
        if self.answered_order.len() >= IDEMPOTENCY_MEMORY {
            if let Some(old) = self.answered_order.pop_front() {
                self.answered.remove(&old);
            }
        }
        self.answered_order.push_back(key.clone());
        self.answered.insert(key, answer);
    }
}

/// Joins the text parts of an input for the model; images are not sent yet.
pub fn input_text(input: &[UserInput]) -> String {
    input
        .iter()
        .filter_map(|i| match i {
            UserInput::Text { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl ThreadActor {
    pub(super) fn handle_turn(&mut self, cmd: TurnCommand) {
        match cmd {
            TurnCommand::Start { params, reply } => {
                let key = params
                    .client_request_id
                    .clone()
                    .map(|k| format!("start:{k}"));
                if let Some(prev) = key.as_ref().and_then(|k| self.turns.answered.get(k)) {
                    let _ = reply.send(Ok(prev.clone()));
                    return;
                }
                match self.start_turn(*params) {
                    Ok(answer) => {
                        if let Some(k) = key {
                            self.turns.remember(k, answer.clone());
                        }
                        self.deferred.push(Deferred::Json(reply, answer));
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            TurnCommand::Steer {
                input,
                expected_turn_id,
                client_request_id,
                reply,
            } => {
                let key = client_request_id.map(|k| format!("steer:{k}"));
                if let Some(prev) = key.as_ref().and_then(|k| self.turns.answered.get(k)) {
                    let _ = reply.send(Ok(prev.clone()));
                    return;
                }
                let answer = match &self.turns.running {
                    None => Err(ThreadError::Conflict(format!(
                        "no turn is running on thread {}",
                        self.row.id
                    ))),
                    Some(r) if r.id != expected_turn_id => Err(ThreadError::Conflict(format!(
                        "expectedTurnId {expected_turn_id} is stale: the running turn is {}",
                        r.id
                    ))),
                    Some(r) => {
                        let _ = r.steer.send(input);
                        Ok(json!({ "turnId": r.id }))
                    }
                };
                if let (Ok(a), Some(k)) = (&answer, key) {
                    self.turns.remember(k, a.clone());
                }
                let _ = reply.send(answer);
            }
            TurnCommand::Interrupt { turn_id, reply } => {
                let answer = match &self.turns.running {
                    Some(r) if r.id == turn_id => {
                        r.cancel.cancel();
                        Ok(())
                    }
                    // Already over: interrupting it again is a harmless no-op.
                    _ if self
                        .turns
                        .answered
                        .values()
                        .any(|v| v["turn"]["id"] == turn_id) =>
                    {
                        Ok(())
                    }
                    _ => Err(ThreadError::NotFound(format!(
                        "turn {turn_id} on thread {}",
                        self.row.id
                    ))),
                };
                let _ = reply.send(answer);
            }
            TurnCommand::Compact { reply } => match self.start_compaction() {
                Ok(answer) => self.deferred.push(Deferred::Json(reply, answer)),
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            },
            TurnCommand::Finished { turn_id } => {
                if self.turns.running.as_ref().is_some_and(|r| r.id == turn_id) {
                    self.cancel_all_approvals();
                    self.turns.running = None;
                    self.set_status(ThreadStatus::Idle);
                }
            }
            TurnCommand::Waiting { turn_id, waiting } => {
                if self.turns.running.as_ref().is_some_and(|r| r.id == turn_id) {
                    let flags = if waiting {
                        vec![ThreadActiveFlag::WaitingOnApproval]
                    } else {
                        Vec::new()
                    };
                    self.set_status(ThreadStatus::Active {
                        active_flags: flags,
                    });
                }
            }
        }
    }

    /// Ends a turn the store still shows running after a restart.
    pub(super) fn end_stale_turn(&mut self, mut t: TurnRow) {
        let now = unix_now();
        t.status = "interrupted".into();
        t.completed_at = Some(now);
        t.duration_ms = t.started_at.map(|s| (now - s).max(0) * 1000);
        let turn = Turn {
            id: t.id.clone(),
            status: TurnStatus::Interrupted,
            error: Some(agentd_protocol::TurnError {
                message: "the daemon stopped while this turn was running".into(),
                kind: Some("daemonRestarted".into()),
            }),
            items: Vec::new(),
            started_at: t.started_at,
            completed_at: t.completed_at,
            duration_ms: t.duration_ms,
            usage: None,
        };
        t.error = turn
            .error
            .as_ref()
            .and_then(|e| serde_json::to_value(e).ok());
        let id = self.row.id.clone();
        self.projections.push(Projection::Turn(t));
        self.push_event("turn/completed", json!({ "threadId": id, "turn": turn }));
    }

    pub(super) fn set_status(&mut self, status: ThreadStatus) {
        if *self.status.borrow() == status {
            return;
        }
        let _ = self.status.send(status.clone());
        let id = self.row.id.clone();
        self.push_event(
            "thread/status/changed",
            json!({ "threadId": id, "status": status }),
        );
    }

    /// Starts a turn: records it, emits `turn/started` and the user's message, and spawns the
    /// turn task. Returns the `turn/start` answer, sent once this batch is committed.
    fn start_turn(&mut self, p: TurnStartParams) -> Result<Value, ThreadError> {
        if let Some(r) = &self.turns.running {
            return Err(ThreadError::Conflict(format!(
                "turn {} is already running on thread {}",
                r.id, self.row.id
            )));
        }
        if p.input.is_empty() {
            return Err(ThreadError::Invalid("input", "must not be empty".into()));
        }
        // Overrides apply to this turn and the ones after it.
        let mut settings = settings_of(&self.row);
        if let Some(a) = p.approval_policy {
            settings.approval_policy = a;
        }
        if let Some(sp) = p.sandbox_policy.clone() {
            settings.sandbox = sp;
        }
        if let Some(e) = p.effort.clone() {
            settings.reasoning_effort = Some(e);
        }
        if let Some(m) = p.model.clone() {
            self.row.model = m;
        }
        if let Some(cwd) = p.cwd.clone() {
            let path = std::path::Path::new(&cwd);
            if !path.is_absolute() || !path.is_dir() {
                return Err(ThreadError::Invalid(
                    "cwd",
                    format!("{cwd}: not an absolute path to a directory"),
                ));
            }
            self.row.cwd = cwd;
        }
        self.row.settings = serde_json::to_value(&settings)
            .map_err(|e| ThreadError::Invalid("sandboxPolicy", e.to_string()))?;
        let text = input_text(&p.input);
        if self.row.preview.is_empty() {
            self.row.preview = text.chars().take(PREVIEW_CHARS).collect();
        }
        self.launch_turn(settings, p.client_request_id, Some(p.input))
    }

    /// Starts a turn that compacts the history and ends (`thread/compact/start`); its answer is
    /// `{}`, its progress the turn's events.
    fn start_compaction(&mut self) -> Result<Value, ThreadError> {
        if let Some(r) = &self.turns.running {
            return Err(ThreadError::Conflict(format!(
                "turn {} is already running on thread {}",
                r.id, self.row.id
            )));
        }
        let settings = settings_of(&self.row);
        self.launch_turn(settings, None, None)?;
        Ok(json!({}))
    }

    /// Records a new turn, emits `turn/started` (and the user's message, if any) and spawns the
    /// turn task: a normal turn with `input`, a compaction turn without.
    fn launch_turn(
        &mut self,
        settings: super::ThreadSettings,
        client_request_id: Option<String>,
        input: Option<Vec<UserInput>>,
    ) -> Result<Value, ThreadError> {
        let thread_id = self.row.id.clone();
        let turn_id = uuid::Uuid::now_v7().to_string();
        let started_at = unix_now();
        let position = self.turns.count;
        self.turns.count += 1;
        let turn = Turn {
            id: turn_id.clone(),
            status: TurnStatus::InProgress,
            error: None,
            items: Vec::new(),
            started_at: Some(started_at),
            completed_at: None,
            duration_ms: None,
            usage: None,
        };
        self.projections.push(Projection::Turn(TurnRow {
            id: turn_id.clone(),
            thread_id: thread_id.clone(),
            position,
            status: "inProgress".into(),
            error: None,
            started_at: Some(started_at),
            completed_at: None,
            duration_ms: None,
            usage: None,
            client_request_id,
            rolled_back: false,
        }));
        self.push_event(
            "turn/started",
            json!({ "threadId": thread_id, "turn": turn }),
        );
        self.set_status(ThreadStatus::Active {
            active_flags: Vec::new(),
        });
        let compact_only = input.is_none();
        if let Some(input) = input {
            let item_id = uuid::Uuid::now_v7().to_string();
            self.push_user_message(&turn_id, item_id, input, 0);
        }

        let cancel = CancellationToken::new();
        let (steer_tx, steer_rx) = mpsc::unbounded_channel();
        let spec = TurnSpec {
            thread_id,
            turn_id: turn_id.clone(),
            started_at,
            cwd: self.row.cwd.clone(),
            model: self.row.model.clone(),
            provider: self.row.model_provider.clone(),
            settings,
            compact_only,
        };
        let handle = self
            .self_handle()
            .ok_or_else(|| ThreadError::Closed(self.row.id.clone()))?;
        agent::spawn_turn(
            self.services.clone(),
            TurnLink {
                handle,
                turn_id: turn_id.clone(),
            },
            spec,
            cancel.clone(),
            steer_rx,
        );
        self.turns.running = Some(RunningTurn {
            id: turn_id,
            cancel,
            steer: steer_tx,
        });
        Ok(json!({ "turn": turn }))
    }

    /// Emits a user message item (started + completed) and its history entry.
    fn push_user_message(
        &mut self,
        turn_id: &str,
        item_id: String,
        input: Vec<UserInput>,
        position: i64,
    ) {
        let thread_id = self.row.id.clone();
        let text = input_text(&input);
        let item = ThreadItem::UserMessage(UserMessageItem {
            id: item_id.clone(),
            content: input,
        });
        let now = now_ms();
        self.push_event(
            "item/started",
            json!({"threadId": thread_id, "turnId": turn_id, "item": item, "startedAtMs": now}),
        );
        self.push_event(
            "item/completed",
            json!({"threadId": thread_id, "turnId": turn_id, "item": item, "completedAtMs": now}),
        );
        self.projections.push(Projection::Item(ItemRow {
            id: item_id,
            thread_id: thread_id.clone(),
            turn_id: turn_id.to_owned(),
            position,
            kind: "userMessage".into(),
            payload: serde_json::to_value(&item).unwrap_or(Value::Null),
        }));
        let history = HistoryItem::UserMessage { text };
        self.projections.push(Projection::History(HistoryRow {
            thread_id,
            turn_id: turn_id.to_owned(),
            payload: serde_json::to_value(&history).unwrap_or(Value::Null),
        }));
    }
}

/// What a turn task holds to talk to its thread.
#[derive(Clone)]
pub struct TurnLink {
    pub handle: ActorHandle,
    pub turn_id: String,
}

impl TurnLink {
    /// Tells the actor the turn is over; sent after `turn/completed` was queued, so no event of
    /// the turn can follow it.
    pub async fn finished(&self) {
        self.handle
            .send_turn_command(TurnCommand::Finished {
                turn_id: self.turn_id.clone(),
            })
            .await;
    }

    pub async fn waiting_on_approval(&self, waiting: bool) {
        self.handle
            .send_turn_command(TurnCommand::Waiting {
                turn_id: self.turn_id.clone(),
                waiting,
            })
            .await;
    }
}

impl ActorHandle {
    pub async fn start_turn(&self, params: TurnStartParams) -> Result<Value, ThreadError> {
        self.turn_command(|reply| TurnCommand::Start {
            params: Box::new(params),
            reply,
        })
        .await
    }

    pub async fn steer_turn(
        &self,
        input: Vec<UserInput>,
        expected_turn_id: String,
        client_request_id: Option<String>,
    ) -> Result<Value, ThreadError> {
        self.turn_command(|reply| TurnCommand::Steer {
            input,
            expected_turn_id,
            client_request_id,
            reply,
        })
        .await
    }

    pub async fn interrupt_turn(&self, turn_id: String) -> Result<(), ThreadError> {
        self.turn_command(|reply| TurnCommand::Interrupt { turn_id, reply })
            .await
    }

    /// Starts a compaction turn; answers once its `turn/started` is committed.
    pub async fn start_compaction(&self) -> Result<Value, ThreadError> {
        self.turn_command(|reply| TurnCommand::Compact { reply })
            .await
    }
}
