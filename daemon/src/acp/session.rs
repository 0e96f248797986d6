//! One ACP session: a task that owns a connection to the daemon subscribed to the session's
//! thread, turns its events into `session/update`s, asks the client about approvals, and
//! answers the session's prompt (and `session/load`) when the daemon says the work is done.

use std::path::PathBuf;
use std::sync::Arc;

use agentd_protocol::jsonrpc::{ErrorObject, RequestId};
use agentd_protocol::methods::{TurnInterrupt, TurnStart};
use agentd_protocol::{
    TurnCompletedNotification, TurnInterruptParams, TurnStartParams, TurnStatus, UserInput,
};
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, StreamExt};
use serde_json::Value;
use tokio::sync::mpsc;

use super::errors::from_client;
use super::modes::Mode;
use super::peer::{Answer, Peer};
use super::permission::{self, Asked};
use super::translate::Translator;
use super::wire::{
    method, PermissionOutcome, PromptResponse, RequestPermissionRequest, RequestPermissionResponse,
    SessionUpdate, StopReason,
};
use crate::client::RpcClient;

/// What the agent asks of a session.
pub enum Command {
    Prompt {
        id: RequestId,
        input: Vec<UserInput>,
    },
    Cancel,
    SetMode(Mode),
}

/// The prompt being worked on.
struct Prompt {
    id: RequestId,
    turn_id: String,
    cancelled: bool,
}

/// `session/load` still replaying: its answer goes out once the event with `last_seq` has.
pub struct Loading {
    pub id: RequestId,
    pub last_seq: u64,
    pub answer: Value,
}

/// A permission question in flight: the daemon's request id, the kind of answer it wants, and
/// our request's id on the client.
type Pending = BoxFuture<'static, (RequestId, Asked, Option<PermissionOutcome>)>;

pub struct Session {
    pub id: String,
    pub cwd: PathBuf,
    pub mode: Mode,
    pub peer: Arc<Peer>,
    pub client: RpcClient,
    pub loading: Option<Loading>,
}

struct State {
    prompt: Option<Prompt>,
    translator: Translator,
    /// Our permission requests on the client, to withdraw on cancel.
    asked: Vec<i64>,
}

impl Session {
    /// Runs until the agent drops the command channel or the daemon goes away.
    pub async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut state = State {
            prompt: None,
            translator: Translator::new(self.cwd.clone(), self.loading.is_some()),
            asked: Vec::new(),
        };
        self.finish_loading_at(0, &mut state).await;
        let mut pending: FuturesUnordered<Pending> = FuturesUnordered::new();
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    Some(c) => self.command(c, &mut state).await,
                    None => return,
                },
                message = self.client.next() => match message {
                    Ok(m) => self.daemon(m, &mut state, &mut pending).await,
                    Err(e) => {
                        self.daemon_gone(&e.to_string(), &mut state).await;
                        return;
                    }
                },
                Some((id, asked, outcome)) = pending.next(), if !pending.is_empty() => {
                    let answer = permission::answer(asked, outcome);
                    if let Err(e) = self.client.respond(id, answer) {
                        tracing::debug!(error = %e, "acp: the daemon went away before an answer");
                    }
                }
            }
        }
    }

    async fn command(&mut self, command: Command, state: &mut State) {
        match command {
            Command::Prompt { id, input } => self.prompt(id, input, state).await,
            Command::Cancel => self.cancel(state).await,
            Command::SetMode(mode) => {
                self.mode = mode;
                let update = SessionUpdate::CurrentModeUpdate {
                    current_mode_id: mode.id().to_owned(),
                };
                self.peer.update(&self.id, update).await;
            }
        }
    }

    async fn prompt(&mut self, id: RequestId, input: Vec<UserInput>, state: &mut State) {
        if state.prompt.is_some() {
            let e = ErrorObject::new(
                agentd_protocol::jsonrpc::INVALID_REQUEST,
                "a prompt is already running in this session",
            );
            self.peer.respond(&id, Err(e)).await;
            return;
        }
        let params = TurnStartParams {
            thread_id: self.id.clone(),
            input,
            approval_policy: Some(self.mode.approval()),
            sandbox_policy: Some(self.mode.sandbox()),
            ..TurnStartParams::default()
        };
        match self.client.call::<TurnStart>(&params).await {
            Ok(started) => {
                state.prompt = Some(Prompt {
                    id,
                    turn_id: started.turn.id,
                    cancelled: false,
                })
            }
            Err(e) => self.peer.respond(&id, Err(from_client(&e))).await,
        }
    }

    /// `session/cancel`: withdraw the questions, then interrupt the turn; the prompt is
    /// answered `cancelled` when the daemon reports the turn's end.
    async fn cancel(&mut self, state: &mut State) {
        for id in state.asked.drain(..) {
            self.peer.forget(id).await;
        }
        let Some(prompt) = state.prompt.as_mut() else {
            return;
        };
        prompt.cancelled = true;
        let params = TurnInterruptParams {
            thread_id: self.id.clone(),
            turn_id: prompt.turn_id.clone(),
        };
        if let Err(e) = self.client.call::<TurnInterrupt>(&params).await {
            tracing::debug!(error = %e, "acp: interrupt refused (the turn may have ended)");
        }
    }

    async fn daemon(
        &mut self,
        message: Value,
        state: &mut State,
        pending: &mut FuturesUnordered<Pending>,
    ) {
        let Some(method) = message.get("method").and_then(Value::as_str) else {
            return;
        };
        let params = message.get("params").cloned().unwrap_or(Value::Null);
        if let Some(id) = message.get("id") {
            self.question(id, method, &params, state, pending).await;
            return;
        }
        if params.get("threadId").and_then(Value::as_str) != Some(self.id.as_str()) {
            return;
        }
        for update in state.translator.event(method, &params) {
            self.peer.update(&self.id, update).await;
        }
        if method == "turn/completed" {
            self.turn_completed(&params, state).await;
        }
        let seq = params.get("seq").and_then(Value::as_u64).unwrap_or(0);
        self.finish_loading_at(seq, state).await;
    }

    /// Answers `session/load` once the replay reached the seq the thread had when it began.
    async fn finish_loading_at(&mut self, seq: u64, state: &mut State) {
        if self.loading.as_ref().is_some_and(|l| seq >= l.last_seq) {
            if let Some(loading) = self.loading.take() {
                state.translator.replaying = false;
                self.peer.respond(&loading.id, Ok(loading.answer)).await;
            }
        }
    }

    async fn question(
        &mut self,
        id: &Value,
        method: &str,
        params: &Value,
        state: &mut State,
        pending: &mut FuturesUnordered<Pending>,
    ) {
        let Ok(daemon_id) = serde_json::from_value::<RequestId>(id.clone()) else {
            return;
        };
        let Some(question) = permission::question(method, params, &self.cwd) else {
            let _ = self.client.respond(daemon_id, permission::decline(method));
            return;
        };
        let request = RequestPermissionRequest {
            session_id: self.id.clone(),
            tool_call: question.tool_call,
            options: permission::options(),
        };
        let outgoing = self
            .peer
            .request(method::REQUEST_PERMISSION, &request)
            .await;
        state.asked.push(outgoing.id);
        let asked = question.asked;
        pending.push(
            async move {
                let outcome = match outgoing.answer.await {
                    Ok(Ok(result)) => serde_json::from_value::<RequestPermissionResponse>(result)
                        .ok()
                        .map(|r| r.outcome),
                    _ => None,
                };
                (daemon_id, asked, outcome)
            }
            .boxed(),
        );
    }

    async fn turn_completed(&mut self, params: &Value, state: &mut State) {
        let Ok(done) = serde_json::from_value::<TurnCompletedNotification>(params.clone()) else {
            return;
        };
        let ours = state
            .prompt
            .as_ref()
            .is_some_and(|p| p.turn_id == done.turn.id);
        if !ours {
            return;
        }
        let Some(prompt) = state.prompt.take() else {
            return;
        };
        state.asked.clear();
        let answer = match done.turn.status {
            _ if prompt.cancelled => Ok(StopReason::Cancelled),
            TurnStatus::Completed => Ok(StopReason::EndTurn),
            TurnStatus::Interrupted => Ok(StopReason::Cancelled),
            _ if out_of_context(&done) => Ok(StopReason::MaxTokens),
            _ => Err(failure(&done)),
        };
        let answer: Answer = answer.map(|stop_reason| {
            serde_json::to_value(PromptResponse { stop_reason }).unwrap_or(Value::Null)
        });
        self.peer.respond(&prompt.id, answer).await;
    }

    /// The daemon connection broke: whatever waits is answered with why.
    async fn daemon_gone(&mut self, why: &str, state: &mut State) {
        let e = ErrorObject::new(
            agentd_protocol::jsonrpc::INTERNAL_ERROR,
            format!("the connection to agentd broke: {why}"),
        );
        if let Some(prompt) = state.prompt.take() {
            self.peer.respond(&prompt.id, Err(e.clone())).await;
        }
        if let Some(loading) = self.loading.take() {
            self.peer.respond(&loading.id, Err(e)).await;
        }
    }
}

/// A failed turn's error, as the prompt's error answer.
fn failure(done: &TurnCompletedNotification) -> ErrorObject {
    let message = done
        .turn
        .error
        .as_ref()
        .map(|e| e.message.clone())
        .unwrap_or_else(|| "the turn failed".to_owned());
    ErrorObject::new(agentd_protocol::jsonrpc::INTERNAL_ERROR, message)
}

/// The turn ended because the model's context was full: ACP's `max_tokens`.
fn out_of_context(done: &TurnCompletedNotification) -> bool {
    done.turn
        .error
        .as_ref()
        .and_then(|e| e.kind.as_deref())
        .is_some_and(|k| k == "contextWindowExceeded")
}
