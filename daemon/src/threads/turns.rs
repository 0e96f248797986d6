//! The actor's side of turns: at most one running turn per thread, `turn/start` idempotency,
//! steering input into the running turn, interrupts, and the status changes around them.
//!
//! The turn itself runs in its own task (`agent::spawn_turn`) and talks back through its
//! `ThreadLink`, so its events are ordered and committed like every other event.

use std::collections::{HashMap, VecDeque};

use agentd_protocol::{
    ItemCompletedNotification, ItemStartedNotification, ThreadItem, ThreadStatus,
    ThreadStatusChangedNotification, Turn, TurnCompletedNotification, TurnItemsView,
    TurnStartParams, TurnStartResponse, TurnStartedNotification, TurnStatus, TurnSteerResponse,
    UserInput, UserMessageItem,
};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio_util::sync::CancellationToken;

use super::actor::ThreadActor;
use super::commit::Deferred;
use super::convert::settings_of;
use super::handle::{ActorHandle, Reply};
use super::ThreadError;
use crate::agent::{self, TurnSpec};
use crate::clock::{now_ms, unix_now};
use crate::model::HistoryItem;
use crate::port::{input_text, SettingsPatch, ThreadLink, ThreadSettings};
use crate::store::{HistoryRow, ItemRow, Projection, TurnRow, TurnState};

/// Remembered `clientRequestId`s per thread; beyond this the oldest are forgotten.
const IDEMPOTENCY_MEMORY: usize = 256;
/// Longest preview kept for thread lists, in characters.
const PREVIEW_CHARS: usize = 200;
/// Steered inputs waiting for the running turn to take them (it does at its next model
/// request): a client cannot queue them without end while a request takes minutes.
const MAX_WAITING_STEERS: usize = 64;

pub(super) enum TurnCommand {
    Start {
        params: Box<TurnStartParams>,
        /// What the model gets for the input (read and checked by the caller).
        history: Box<HistoryItem>,
        /// The settings its `config` changes (checked by the caller).
        patch: Box<SettingsPatch>,
        reply: Reply<Value>,
    },
    Steer {
        input: Vec<UserInput>,
        history: Box<HistoryItem>,
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
    /// Interrupt whatever turn runs (the daemon is stopping); answers whether one did.
    InterruptRunning {
        reply: Reply<bool>,
    },
}

impl TurnCommand {
    /// Answers the command with `e` without running it (a follower holds no turns).
    pub(super) fn refuse(self, e: ThreadError) {
        use super::follower::refuse;
        match self {
            TurnCommand::Start { reply, .. } | TurnCommand::Steer { reply, .. } => refuse(reply, e),
            TurnCommand::Compact { reply } => refuse(reply, e),
            TurnCommand::Interrupt { reply, .. } => refuse(reply, e),
            TurnCommand::InterruptRunning { reply } => {
                let _ = reply.send(Ok(false));
            }
        }
    }
}

struct RunningTurn {
    id: String,
    cancel: CancellationToken,
    steer: mpsc::Sender<(Vec<UserInput>, HistoryItem)>,
}

/// What a new turn starts from.
struct Launch {
    settings: ThreadSettings,
    client_request_id: Option<String>,
    /// The user's input and its history entry; `None` for a compaction turn.
    input: Option<(Vec<UserInput>, HistoryItem)>,
    output_schema: Option<Value>,
}

pub(super) struct TurnSlot {
    running: Option<RunningTurn>,
    /// Turns the thread has had (the next turn's position).
    count: i64,
    /// `clientRequestId` → the first answer, so retries return it and start nothing.
    answered: HashMap<String, Value>,
    answered_order: VecDeque<String>,
}

impl TurnSlot {
    pub(super) fn new(count: i64) -> Self {
        TurnSlot {
            running: None,
            count,
            answered: HashMap::new(),
            answered_order: VecDeque::new(),
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

    fn conflict(&self, thread_id: &str) -> Result<(), ThreadError> {
        match &self.running {
            Some(r) => Err(ThreadError::Conflict(format!(
                "turn {} is already running on thread {thread_id}",
                r.id
            ))),
            None => Ok(()),
        }
    }
}

impl ThreadActor {
    pub(super) fn handle_turn(&mut self, cmd: TurnCommand) {
        match cmd {
            TurnCommand::Start {
                params,
                history,
                patch,
                reply,
            } => self.on_start(*params, (*history, *patch), reply),
            TurnCommand::Steer {
                input,
                history,
                expected_turn_id,
                client_request_id,
                reply,
            } => self.on_steer(
                (input, *history),
                expected_turn_id,
                client_request_id,
                reply,
            ),
            TurnCommand::Interrupt { turn_id, reply } => {
                let _ = reply.send(self.interrupt(&turn_id));
            }
            TurnCommand::InterruptRunning { reply } => {
                self.turns.cancel_running();
                let _ = reply.send(Ok(self.turns.is_running()));
            }
            TurnCommand::Compact { reply } => match self.start_compaction() {
                Ok(answer) => self.deferred.push(Deferred::Json(reply, answer)),
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            },
        }
    }

    fn on_start(
        &mut self,
        params: TurnStartParams,
        (history, patch): (HistoryItem, SettingsPatch),
        reply: Reply<Value>,
    ) {
        let key = params
            .client_request_id
            .clone()
            .map(|k| format!("start:{k}"));
        if let Some(prev) = key.as_ref().and_then(|k| self.turns.answered.get(k)) {
            let _ = reply.send(Ok(prev.clone()));
            return;
        }
        match self.start_turn(params, history, patch) {
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

    fn on_steer(
        &mut self,
        input: (Vec<UserInput>, HistoryItem),
        expected_turn_id: String,
        client_request_id: Option<String>,
        reply: Reply<Value>,
    ) {
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
            // The turn may have ended already (its input channel closed) while the actor has
            // not yet heard: then the input was not taken, and the client is told so.
            Some(r) => match r.steer.try_send(input) {
                Ok(()) => to_value(&TurnSteerResponse {
                    turn_id: r.id.clone(),
                }),
                Err(TrySendError::Full(_)) => Err(ThreadError::Conflict(format!(
                    "{MAX_WAITING_STEERS} inputs are already waiting for turn {} to take them \
                     (at its next model request); send this one after",
                    r.id
                ))),
                Err(TrySendError::Closed(_)) => Err(ThreadError::Conflict(format!(
                    "turn {} has just ended; start a new turn with this input",
                    r.id
                ))),
            },
        };
        if let (Ok(a), Some(k)) = (&answer, key) {
            self.turns.remember(k, a.clone());
        }
        let _ = reply.send(answer);
    }

    fn interrupt(&mut self, turn_id: &str) -> Result<(), ThreadError> {
        match &self.turns.running {
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
        }
    }

    /// The running turn has queued its `turn/completed`.
    pub(super) fn turn_finished(&mut self, turn_id: &str) {
        if self.turns.running.as_ref().is_some_and(|r| r.id == turn_id) {
            self.cancel_all_approvals();
            self.turns.running = None;
            self.set_status(ThreadStatus::Idle);
        }
    }

    /// Ends a turn the store still shows running after a restart.
    pub(super) fn end_stale_turn(&mut self, mut t: TurnRow) {
        let now = unix_now();
        t.status = TurnState::Interrupted;
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
            items_view: Some(TurnItemsView::Summary),
            started_at: t.started_at,
            completed_at: t.completed_at,
            duration_ms: t.duration_ms,
            usage: None,
        };
        t.error = turn
            .error
            .as_ref()
            .and_then(|e| serde_json::to_value(e).ok());
        self.projections.push(Projection::Turn(t));
        let thread_id = self.row.id.clone();
        self.push(&TurnCompletedNotification {
            thread_id,
            turn,
            seq: 0,
        });
    }

    pub(super) fn set_status(&mut self, status: ThreadStatus) {
        if *self.status.borrow() == status {
            return;
        }
        let _ = self.status.send(status.clone());
        let thread_id = self.row.id.clone();
        self.push(&ThreadStatusChangedNotification {
            thread_id,
            status,
            seq: 0,
        });
    }

    /// Starts a turn: records it, emits `turn/started` and the user's message, and spawns the
    /// turn task. Returns the `turn/start` answer, sent once this batch is committed.
    fn start_turn(
        &mut self,
        p: TurnStartParams,
        history: HistoryItem,
        patch: SettingsPatch,
    ) -> Result<Value, ThreadError> {
        self.turns.conflict(&self.row.id)?;
        if p.input.is_empty() {
            return Err(ThreadError::Invalid("input", "must not be empty".into()));
        }
        // Overrides apply to this turn and the ones after it: `config`'s keys first, then the
        // typed fields beside them.
        let mut settings = settings_of(&self.row);
        patch.apply(
            &mut settings,
            &mut self.row.model,
            &mut self.row.model_provider,
        );
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
        let launch = Launch {
            settings,
            client_request_id: p.client_request_id,
            input: Some((p.input, history)),
            output_schema: p.output_schema,
        };
        self.launch_turn(launch)
    }

    /// Starts a turn that compacts the history and ends (`thread/compact/start`); its answer is
    /// `{}`, its progress the turn's events.
    fn start_compaction(&mut self) -> Result<Value, ThreadError> {
        self.turns.conflict(&self.row.id)?;
        let launch = Launch {
            settings: settings_of(&self.row),
            client_request_id: None,
            input: None,
            output_schema: None,
        };
        self.launch_turn(launch)?;
        Ok(Value::Object(Default::default()))
    }

    /// Records a new turn, emits `turn/started` (and the user's message, if any) and spawns the
    /// turn task: a normal turn with `input`, a compaction turn without.
    fn launch_turn(&mut self, launch: Launch) -> Result<Value, ThreadError> {
        let Launch {
            settings,
            client_request_id,
            input,
            output_schema,
        } = launch;
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
            items_view: Some(TurnItemsView::NotLoaded),
            started_at: Some(started_at),
            completed_at: None,
            duration_ms: None,
            usage: None,
        };
        self.projections.push(Projection::Turn(TurnRow {
            id: turn_id.clone(),
            thread_id: thread_id.clone(),
            position,
            status: TurnState::InProgress,
            error: None,
            started_at: Some(started_at),
            completed_at: None,
            duration_ms: None,
            usage: None,
            client_request_id,
            rolled_back: false,
        }));
        self.push(&TurnStartedNotification {
            thread_id: thread_id.clone(),
            turn: turn.clone(),
            seq: 0,
        });
        self.set_status(ThreadStatus::Active {
            active_flags: Vec::new(),
        });
        let compact_only = input.is_none();
        if let Some((input, history)) = input {
            self.push_user_message(&turn_id, input, history);
        }
        let cancel = CancellationToken::new();
        let (steer_tx, steer) = mpsc::channel(MAX_WAITING_STEERS);
        let spec = TurnSpec {
            started_at,
            cwd: self.row.cwd.clone(),
            model: self.row.model.clone(),
            provider: self.row.model_provider.clone(),
            settings,
            session: self.session.clone(),
            compact_only,
            output_schema,
            cancel: cancel.clone(),
            steer,
            session_context: self.session_context.take(),
        };
        let link = ThreadLink::new(
            thread_id,
            turn_id.clone(),
            self.store.clone(),
            self.open_port(),
        );
        agent::spawn_turn(self.services.clone(), link, spec);
        self.turns.running = Some(RunningTurn {
            id: turn_id,
            cancel,
            steer: steer_tx,
        });
        to_value(&TurnStartResponse { turn })
    }

    /// Emits the turn's first item, the user's message (started + completed, position 0), and
    /// its history entry.
    fn push_user_message(&mut self, turn_id: &str, input: Vec<UserInput>, history: HistoryItem) {
        let thread_id = self.row.id.clone();
        let item_id = uuid::Uuid::now_v7().to_string();
        let item = ThreadItem::UserMessage(UserMessageItem {
            id: item_id.clone(),
            content: input,
        });
        let now = now_ms();
        self.push(&ItemStartedNotification {
            thread_id: thread_id.clone(),
            turn_id: turn_id.to_owned(),
            item: item.clone(),
            started_at_ms: now,
            seq: 0,
        });
        self.projections.push(Projection::Item(ItemRow {
            id: item_id,
            thread_id: thread_id.clone(),
            turn_id: turn_id.to_owned(),
            position: 0,
            kind: "userMessage".into(),
            payload: serde_json::to_value(&item).unwrap_or(Value::Null),
        }));
        self.push(&ItemCompletedNotification {
            thread_id: thread_id.clone(),
            turn_id: turn_id.to_owned(),
            item,
            completed_at_ms: now,
            seq: 0,
        });
        self.projections.push(Projection::History(HistoryRow {
            thread_id,
            turn_id: turn_id.to_owned(),
            payload: serde_json::to_value(&history).unwrap_or(Value::Null),
        }));
    }
}

fn to_value<T: serde::Serialize>(answer: &T) -> Result<Value, ThreadError> {
    serde_json::to_value(answer).map_err(|e| ThreadError::Invalid("answer", e.to_string()))
}

impl ActorHandle {
    pub async fn start_turn(
        &self,
        params: TurnStartParams,
        history: HistoryItem,
    ) -> Result<Value, ThreadError> {
        self.start_turn_with(params, history, SettingsPatch::default())
            .await
    }

    /// [`ActorHandle::start_turn`] with settings the turn's `config` changes (for it and the
    /// turns after it).
    pub async fn start_turn_with(
        &self,
        params: TurnStartParams,
        history: HistoryItem,
        patch: SettingsPatch,
    ) -> Result<Value, ThreadError> {
        self.turn_command(|reply| TurnCommand::Start {
            params: Box::new(params),
            history: Box::new(history),
            patch: Box::new(patch),
            reply,
        })
        .await
    }

    pub async fn steer_turn(
        &self,
        input: Vec<UserInput>,
        history: HistoryItem,
        expected_turn_id: String,
        client_request_id: Option<String>,
    ) -> Result<Value, ThreadError> {
        self.turn_command(|reply| TurnCommand::Steer {
            input,
            history: Box::new(history),
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

    /// Interrupts the running turn, if any; true when one was running.
    pub async fn interrupt_running(&self) -> Result<bool, ThreadError> {
        self.turn_command(|reply| TurnCommand::InterruptRunning { reply })
            .await
    }

    /// Starts a compaction turn; answers once its `turn/started` is committed.
    pub async fn start_compaction(&self) -> Result<Value, ThreadError> {
        self.turn_command(|reply| TurnCommand::Compact { reply })
            .await
    }
}
