//! One turn, start to finish.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use agentd_protocol::{
    AgentMessageItem, ReasoningItem, ThreadItem, TokenUsageBreakdown, TurnError, TurnStatus,
    UserInput, UserMessageItem,
};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::compaction::{CompactError, Compaction, CompactionPolicy};
use super::instructions::build_instructions;
use super::services::AgentServices;
use crate::model::{HistoryItem, ModelError, ModelEvent, ModelRequest, OutputItem, Usage};
use crate::store::{Projection, TurnRow};
use crate::threads::{input_text, unix_now, ThreadError, ThreadSettings, TurnEmitter, TurnLink};
use crate::tools::hooks::{HookSite, HookVerdict};
use crate::tools::{handle_call, ToolCtx, ToolOutcome};

/// What the actor hands a new turn.
#[derive(Debug, Clone)]
pub struct TurnSpec {
    pub thread_id: String,
    pub turn_id: String,
    pub started_at: i64,
    pub cwd: String,
    pub model: String,
    pub provider: String,
    pub settings: ThreadSettings,
    /// A `thread/compact/start` turn: compact the history and end.
    pub compact_only: bool,
}

/// How a turn ended.
enum Ending {
    Completed,
    Interrupted,
    Failed(TurnError),
}

impl From<ModelError> for Ending {
    fn from(e: ModelError) -> Self {
        Ending::Failed(TurnError {
            message: e.to_string(),
            kind: Some(e.kind().to_owned()),
        })
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
        Ending::Failed(TurnError {
            message: e.to_string(),
            kind: Some("internal".to_owned()),
        })
    }
}

/// Starts the turn task. It always ends by queueing exactly one `turn/completed` and then
/// telling the actor it is finished.
pub fn spawn_turn(
    services: Arc<AgentServices>,
    link: TurnLink,
    spec: TurnSpec,
    cancel: CancellationToken,
    steer: mpsc::UnboundedReceiver<Vec<UserInput>>,
) {
    tokio::spawn(async move {
        let clock = Instant::now();
        let emitter = TurnEmitter::new(link.clone(), spec.thread_id.clone());
        let mut run = TurnRun {
            compaction: CompactionPolicy::new(&services.config),
            services,
            emitter,
            spec,
            cancel,
            steer,
            history: Vec::new(),
            usage_total: TokenUsageBreakdown::default(),
            usage_turn: TokenUsageBreakdown::default(),
            turn_diff: String::new(),
            stop_hook_continued: false,
        };
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
    cancel: CancellationToken,
    steer: mpsc::UnboundedReceiver<Vec<UserInput>>,
    history: Vec<HistoryItem>,
    usage_total: TokenUsageBreakdown,
    usage_turn: TokenUsageBreakdown,
    turn_diff: String,
    /// A Stop hook already sent the agent on in this turn (it may do so once).
    stop_hook_continued: bool,
    compaction: CompactionPolicy,
}

/// Items being streamed in the current response, by output index.
#[derive(Default)]
struct Attempt {
    messages: BTreeMap<u32, (String, String, i64)>,
    reasoning: BTreeMap<u32, (String, Vec<String>, i64)>,
    history: Vec<HistoryItem>,
    calls: Vec<OutputItem>,
}

fn breakdown(u: &Usage) -> TokenUsageBreakdown {
    TokenUsageBreakdown {
        total_tokens: u.total_tokens as i64,
        input_tokens: u.input_tokens as i64,
        cached_input_tokens: u.cached_input_tokens as i64,
        output_tokens: u.output_tokens as i64,
        reasoning_output_tokens: u.reasoning_output_tokens as i64,
    }
}

impl TurnRun {
    async fn run(&mut self) -> Result<(), Ending> {
        let handle = &self.emitter.link.handle;
        // Everything queued before this turn (the previous turn's last items, this turn's user
        // message) is committed once the barrier answers, so the store read below is complete.
        handle.barrier().await?;
        let store = handle.store();
        for v in store
            .history(&self.spec.thread_id)
            .await
            .map_err(ThreadError::from)?
        {
            match serde_json::from_value::<HistoryItem>(v) {
                Ok(h) => self.history.push(h),
                Err(e) => tracing::warn!(error = %e, "skipping an unreadable history entry"),
            }
        }
        for t in store
            .turns(&self.spec.thread_id)
            .await
            .map_err(ThreadError::from)?
        {
            if let Some(u) = t
                .usage
                .and_then(|u| serde_json::from_value::<TokenUsageBreakdown>(u).ok())
            {
                self.usage_total = self.usage_total.add(&u);
            }
        }
        let context = store
            .context_tokens(&self.spec.thread_id)
            .await
            .map_err(ThreadError::from)?;
        self.compaction.start(context, &self.history);
        let client = self.services.client_for(&self.spec.provider)?;
        let cwd = std::path::PathBuf::from(&self.spec.cwd);
        let instructions = build_instructions(
            self.spec.settings.base_instructions.as_deref(),
            self.spec.settings.developer_instructions.as_deref(),
            &cwd,
        );
        if self.spec.compact_only {
            return self.compact(&client).await;
        }

        // Lifecycle hooks: UserPromptSubmit may refuse the prompt before the model sees it.
        self.user_prompt_hooks(&cwd).await?;
        'request: loop {
            self.take_steered_input().await?;
            if self.cancel.is_cancelled() {
                return Err(Ending::Interrupted);
            }
            if self.compaction.due() {
                self.compact(&client).await?;
            }
            let request = ModelRequest {
                model: self.spec.model.clone(),
                instructions: instructions.clone(),
                input: self.history.clone(),
                tools: crate::tools::spec::all(),
                reasoning_effort: self.spec.settings.reasoning_effort.clone(),
            };
            let mut rx = client.stream(request);
            let mut attempt = Attempt::default();
            let usage = loop {
                let event = tokio::select! {
                    _ = self.cancel.cancelled() => {
                        drop(rx);
                        self.close_open_items(&mut attempt).await?;
                        return Err(Ending::Interrupted);
                    }
                    e = rx.recv() => e,
                };
                match event {
                    None => {
                        self.close_open_items(&mut attempt).await?;
                        return Err(
                            ModelError::Stream("the provider stream ended early".into()).into()
                        );
                    }
                    Some(Err(e)) => {
                        self.close_open_items(&mut attempt).await?;
                        if self.compaction.retry_after(&e) {
                            self.compact(&client).await?;
                            continue 'request;
                        }
                        return Err(e.into());
                    }
                    Some(Ok(ev)) => {
                        if let Some(usage) = self.on_event(ev, &mut attempt).await? {
                            break usage;
                        }
                    }
                }
            };
            // The response is complete: its history entries become durable together with the
            // usage event.
            let history = std::mem::take(&mut attempt.history);
            let mut rows = self.emitter.history_rows(&history);
            self.history.extend(history);
            rows.push(
                self.compaction
                    .observe(usage.as_ref(), &self.history, &self.spec.turn_id),
            );
            if let Some(u) = usage {
                let last = breakdown(&u);
                self.usage_turn = self.usage_turn.add(&last);
                self.usage_total = self.usage_total.add(&last);
            }
            self.emitter
                .event(
                    "thread/tokenUsage/updated",
                    json!({
                        "threadId": self.spec.thread_id,
                        "turnId": self.spec.turn_id,
                        "tokenUsage": {
                            "total": self.usage_total,
                            "last": usage.as_ref().map(breakdown).unwrap_or_default(),
                            "modelContextWindow": null,
                        }
                    }),
                    rows,
                )
                .await?;

            if attempt.calls.is_empty() {
                // New input steered in while the model answered still needs an answer.
                if self.steer.is_empty() {
                    // Lifecycle hooks: a Stop hook may send the agent on, once.
                    if self.stop_hooks_continue(&cwd).await? {
                        continue;
                    }
                    return Ok(());
                }
                continue;
            }
            let policy = self.services.exec_policy(&cwd);
            let session = self.services.session_approvals(&self.spec.thread_id);
            for call in std::mem::take(&mut attempt.calls) {
                if self.cancel.is_cancelled() {
                    return Err(Ending::Interrupted);
                }
                let (call_id, name, args, custom) = match call {
                    OutputItem::FunctionCall {
                        call_id,
                        name,
                        arguments,
                    } => (call_id, name, arguments, false),
                    OutputItem::CustomToolCall {
                        call_id,
                        name,
                        input,
                    } => (call_id, name, input, true),
                    _ => continue,
                };
                let mut ctx = ToolCtx {
                    emitter: &mut self.emitter,
                    cwd: cwd.clone(),
                    settings: &self.spec.settings,
                    session: &session,
                    policy: &policy,
                    cancel: &self.cancel,
                    approval_timeout: self.services.approval_timeout,
                    shell: self.services.shell_limits,
                    turn_diff: &mut self.turn_diff,
                    hooks: &self.services.config.hooks,
                    sandbox: &self.services.sandbox,
                };
                let (text, stop) = match handle_call(&mut ctx, &name, &args).await? {
                    ToolOutcome::Output(text) => (text, false),
                    // The call still gets its output, so history stays paired.
                    ToolOutcome::Interrupt => ("interrupted by the user".to_owned(), true),
                };
                let output = if custom {
                    HistoryItem::CustomToolCallOutput {
                        call_id,
                        output: text,
                    }
                } else {
                    HistoryItem::FunctionCallOutput {
                        call_id,
                        output: text,
                    }
                };
                let rows = self.emitter.history_rows(std::slice::from_ref(&output));
                self.history.push(output);
                self.emitter.link.handle.persist(rows).await?;
                if stop || self.cancel.is_cancelled() {
                    return Err(Ending::Interrupted);
                }
            }
        }
    }

    /// Replaces the history with a summary of it (see `compaction.rs`).
    async fn compact(&mut self, client: &crate::model::ModelClient) -> Result<(), Ending> {
        if self.history.is_empty() {
            return Ok(());
        }
        let compaction = Compaction {
            client,
            model: &self.spec.model,
            emitter: &mut self.emitter,
            cancel: &self.cancel,
            policy: &mut self.compaction,
        };
        self.history = compaction.run(&self.history).await?;
        Ok(())
    }

    /// Input sent with `turn/steer` joins the conversation before the next model request.
    async fn take_steered_input(&mut self) -> Result<(), ThreadError> {
        while let Ok(input) = self.steer.try_recv() {
            let position = self.emitter.next_position();
            let item = ThreadItem::UserMessage(UserMessageItem {
                id: uuid::Uuid::now_v7().to_string(),
                content: input.clone(),
            });
            let history = HistoryItem::UserMessage {
                text: input_text(&input),
            };
            self.emitter.item_started(&item).await?;
            self.emitter.item_completed(&item, position).await?;
            let rows = self.emitter.history_rows(std::slice::from_ref(&history));
            self.emitter.link.handle.persist(rows).await?;
            self.history.push(history);
        }
        Ok(())
    }

    /// Handles one model event; returns `Some(usage)` when the response completed.
    // The map checks cannot use `entry()`: creating an item awaits an emit in between.
    #[allow(clippy::map_entry)]
    async fn on_event(
        &mut self,
        ev: ModelEvent,
        attempt: &mut Attempt,
    ) -> Result<Option<Option<Usage>>, Ending> {
        let (thread_id, turn_id) = (self.spec.thread_id.clone(), self.spec.turn_id.clone());
        match ev {
            ModelEvent::TextDelta {
                output_index,
                delta,
            } => {
                if !attempt.messages.contains_key(&output_index) {
                    let id = uuid::Uuid::now_v7().to_string();
                    let position = self.emitter.next_position();
                    let item = ThreadItem::AgentMessage(AgentMessageItem {
                        id: id.clone(),
                        text: String::new(),
                    });
                    self.emitter.item_started(&item).await?;
                    attempt
                        .messages
                        .insert(output_index, (id, String::new(), position));
                }
                if let Some((id, text, _)) = attempt.messages.get_mut(&output_index) {
                    text.push_str(&delta);
                    self.emitter
                        .event(
                            "item/agentMessage/delta",
                            json!({"threadId": thread_id, "turnId": turn_id, "itemId": id, "delta": delta}),
                            Vec::new(),
                        )
                        .await?;
                }
            }
            ModelEvent::ReasoningSummaryDelta {
                output_index,
                summary_index,
                delta,
            } => {
                if !attempt.reasoning.contains_key(&output_index) {
                    let id = uuid::Uuid::now_v7().to_string();
                    let position = self.emitter.next_position();
                    let item = ThreadItem::Reasoning(ReasoningItem {
                        id: id.clone(),
                        summary: Vec::new(),
                        content: Vec::new(),
                    });
                    self.emitter.item_started(&item).await?;
                    attempt
                        .reasoning
                        .insert(output_index, (id, Vec::new(), position));
                }
                if let Some((id, parts, _)) = attempt.reasoning.get_mut(&output_index) {
                    let ix = summary_index as usize;
                    if parts.len() <= ix {
                        parts.resize(ix + 1, String::new());
                    }
                    parts[ix].push_str(&delta);
                    self.emitter
                        .event(
                            "item/reasoning/summaryTextDelta",
                            json!({"threadId": thread_id, "turnId": turn_id, "itemId": id,
                                   "delta": delta, "summaryIndex": summary_index}),
                            Vec::new(),
                        )
                        .await?;
                }
            }
            ModelEvent::ItemDone { output_index, item } => match item {
                OutputItem::Message { text } => {
                    let (id, position) = match attempt.messages.remove(&output_index) {
                        Some((id, _, position)) => (id, position),
                        None => {
                            let id = uuid::Uuid::now_v7().to_string();
                            let position = self.emitter.next_position();
                            let started = ThreadItem::AgentMessage(AgentMessageItem {
                                id: id.clone(),
                                text: String::new(),
                            });
                            self.emitter.item_started(&started).await?;
                            (id, position)
                        }
                    };
                    let item = ThreadItem::AgentMessage(AgentMessageItem {
                        id,
                        text: text.clone(),
                    });
                    self.emitter.item_completed(&item, position).await?;
                    attempt.history.push(HistoryItem::AssistantMessage { text });
                }
                OutputItem::Reasoning {
                    summary,
                    encrypted_content,
                } => {
                    let (id, position) = match attempt.reasoning.remove(&output_index) {
                        Some((id, _, position)) => (id, position),
                        None => {
                            let id = uuid::Uuid::now_v7().to_string();
                            let position = self.emitter.next_position();
                            let started = ThreadItem::Reasoning(ReasoningItem {
                                id: id.clone(),
                                ..Default::default()
                            });
                            self.emitter.item_started(&started).await?;
                            (id, position)
                        }
                    };
                    let item = ThreadItem::Reasoning(ReasoningItem {
                        id,
                        summary: summary.clone(),
                        content: Vec::new(),
                    });
                    self.emitter.item_completed(&item, position).await?;
                    attempt.history.push(HistoryItem::Reasoning {
                        summary,
                        encrypted_content,
                    });
                }
                OutputItem::FunctionCall {
                    ref call_id,
                    ref name,
                    ref arguments,
                } => {
                    attempt.history.push(HistoryItem::FunctionCall {
                        call_id: call_id.clone(),
                        name: name.clone(),
                        arguments: arguments.clone(),
                    });
                    attempt.calls.push(item);
                }
                OutputItem::CustomToolCall {
                    ref call_id,
                    ref name,
                    ref input,
                } => {
                    attempt.history.push(HistoryItem::CustomToolCall {
                        call_id: call_id.clone(),
                        name: name.clone(),
                        input: input.clone(),
                    });
                    attempt.calls.push(item);
                }
            },
            ModelEvent::Retrying {
                attempt: n,
                max,
                reason,
            } => {
                // What this attempt streamed is void: close what clients saw as-is, forget the
                // rest, and say that a retry is under way.
                self.close_open_items(attempt).await?;
                *attempt = Attempt::default();
                self.emitter
                    .event(
                        "error",
                        json!({"threadId": thread_id, "turnId": turn_id, "willRetry": true,
                               "error": {"message": format!("{reason}; retrying ({n}/{max})"),
                                         "kind": "responseStreamDisconnected"}}),
                        Vec::new(),
                    )
                    .await?;
            }
            ModelEvent::Completed { usage } => return Ok(Some(usage)),
        }
        Ok(None)
    }

    /// Completes items still streaming with the content they have (on interrupt, failure or a
    /// stream retry), so every `item/started` has its `item/completed`.
    async fn close_open_items(&mut self, attempt: &mut Attempt) -> Result<(), ThreadError> {
        for (_, (id, text, position)) in std::mem::take(&mut attempt.messages) {
            let item = ThreadItem::AgentMessage(AgentMessageItem { id, text });
            self.emitter.item_completed(&item, position).await?;
        }
        for (_, (id, summary, position)) in std::mem::take(&mut attempt.reasoning) {
            let item = ThreadItem::Reasoning(ReasoningItem {
                id,
                summary,
                content: Vec::new(),
            });
            self.emitter.item_completed(&item, position).await?;
        }
        Ok(())
    }

    /// Queues the turn's one `turn/completed` (and an `error` first when it failed).
    async fn finish(&mut self, ending: Ending, clock: Instant) {
        let (status, error) = match ending {
            Ending::Completed => (TurnStatus::Completed, None),
            Ending::Interrupted => (TurnStatus::Interrupted, None),
            Ending::Failed(e) => (TurnStatus::Failed, Some(e)),
        };
        let completed_at = unix_now();
        let duration_ms = clock.elapsed().as_millis() as i64;
        if let Some(e) = &error {
            let _ = self
                .emitter
                .event(
                    "error",
                    json!({"threadId": self.spec.thread_id, "turnId": self.spec.turn_id,
                           "error": e, "willRetry": false}),
                    Vec::new(),
                )
                .await;
        }
        let status_text = match status {
            TurnStatus::Completed => "completed",
            TurnStatus::Interrupted => "interrupted",
            TurnStatus::Failed => "failed",
            TurnStatus::InProgress => "inProgress",
        };
        let row = TurnRow {
            id: self.spec.turn_id.clone(),
            thread_id: self.spec.thread_id.clone(),
            position: 0,
            status: status_text.into(),
            error: error.as_ref().and_then(|e| serde_json::to_value(e).ok()),
            started_at: Some(self.spec.started_at),
            completed_at: Some(completed_at),
            duration_ms: Some(duration_ms),
            usage: serde_json::to_value(self.usage_turn).ok(),
            client_request_id: None,
            rolled_back: false,
        };
        let turn = json!({
            "id": self.spec.turn_id, "status": status, "error": error, "items": [],
            "startedAt": self.spec.started_at, "completedAt": completed_at,
            "durationMs": duration_ms, "usage": self.usage_turn,
        });
        if let Err(e) = self
            .emitter
            .event(
                "turn/completed",
                json!({"threadId": self.spec.thread_id, "turn": turn}),
                vec![Projection::Turn(row)],
            )
            .await
        {
            tracing::error!(turn = %self.spec.turn_id, error = %e, "could not record the end of a turn");
        }
    }
}

/// Lifecycle hooks at the two ends of a turn (`tools/hooks.rs` runs them; the tool hooks run in
/// the orchestrator). Kept apart from the loop above, which only names the points they run at.
impl TurnRun {
    fn hook_site<'a>(&'a self, cwd: &'a std::path::Path) -> HookSite<'a> {
        HookSite {
            hooks: &self.services.config.hooks,
            emitter: &self.emitter,
            cwd,
            cancel: &self.cancel,
        }
    }

    /// UserPromptSubmit: a block fails the turn with kind `hookBlocked` before any model request.
    async fn user_prompt_hooks(&self, cwd: &std::path::Path) -> Result<(), Ending> {
        let prompt = self.history.iter().rev().find_map(|h| match h {
            HistoryItem::UserMessage { text } => Some(text.as_str()),
            _ => None,
        });
        match self
            .hook_site(cwd)
            .user_prompt_submit(prompt.unwrap_or_default())
            .await?
        {
            HookVerdict::Continue => Ok(()),
            HookVerdict::Block(reason) => Err(Ending::Failed(TurnError {
                message: format!("prompt blocked by hook: {reason}"),
                kind: Some("hookBlocked".to_owned()),
            })),
        }
    }

    /// Stop: the model ended the turn. A block (the first in this turn only) adds the hook's
    /// reason as a user message, and the caller asks the model again.
    async fn stop_hooks_continue(&mut self, cwd: &std::path::Path) -> Result<bool, Ending> {
        let last_message = self.history.iter().rev().find_map(|h| match h {
            HistoryItem::AssistantMessage { text } => Some(text.as_str()),
            _ => None,
        });
        let verdict = self
            .hook_site(cwd)
            .stop(last_message, self.stop_hook_continued)
            .await?;
        let HookVerdict::Block(reason) = verdict else {
            return Ok(false);
        };
        if self.stop_hook_continued {
            tracing::info!(turn = %self.spec.turn_id, "a Stop hook blocked again; the turn ends (hooks may continue a turn once)");
            return Ok(false);
        }
        self.stop_hook_continued = true;
        let input = vec![UserInput::text(reason)];
        let position = self.emitter.next_position();
        let item = ThreadItem::UserMessage(UserMessageItem {
            id: uuid::Uuid::now_v7().to_string(),
            content: input.clone(),
        });
        let history = HistoryItem::UserMessage {
            text: input_text(&input),
        };
        self.emitter.item_started(&item).await?;
        self.emitter.item_completed(&item, position).await?;
        let rows = self.emitter.history_rows(std::slice::from_ref(&history));
        self.emitter.link.handle.persist(rows).await?;
        self.history.push(history);
        Ok(true)
    }
}
