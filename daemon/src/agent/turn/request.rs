//! One model request: send it, fold the streamed response into items as it arrives, and
//! record what it added to the history together with its token usage.

use agentd_protocol::{
    AgentMessageDeltaNotification, ErrorNotification, ReasoningSummaryTextDeltaNotification,
    ThreadItem, ThreadTokenUsage, ThreadTokenUsageUpdatedNotification, TokenUsageBreakdown,
    TurnError,
};

use super::fold::{Effect, ResponseFold, Step, ToolCall};
use super::{Ending, TurnRun};
use agentd_protocol::WebSearchMode;

use crate::model::{HistoryItem, ModelClient, ModelError, ModelRequest, ToolSpec, Usage};
use crate::port::ThreadError;
use crate::tools::ToolRegistry;

impl TurnRun {
    /// Sends one request and streams its response into items; returns the tool calls it asked
    /// for. A context overflow is answered by compacting and sending the request again (once).
    /// `extra`: context for this request only (PreModelRequest hooks), after the history.
    pub(super) async fn request(
        &mut self,
        client: &ModelClient,
        instructions: &str,
        tools: &ToolRegistry,
        extra: Vec<HistoryItem>,
    ) -> Result<Vec<ToolCall>, Ending> {
        let mut specs = tools.specs();
        specs.extend(self.web_search_tool(client)?);
        loop {
            let mut input = self.history.clone();
            input.extend(extra.iter().cloned());
            let request = ModelRequest {
                model: self.spec.model.clone(),
                instructions: instructions.to_owned(),
                input,
                tools: specs.clone(),
                reasoning_effort: self.spec.settings.reasoning_effort.clone(),
                output_schema: self.spec.output_schema.clone(),
            };
            match self.stream(client, request).await? {
                Some((fold, usage)) => return self.record(fold, usage).await,
                None => self.compact(client, "auto").await?,
            }
        }
    }

    /// The provider's hosted web search when the thread's (else the config's) `web_search`
    /// asks for it. Only the Responses API has one: on another wire the turn fails saying so.
    fn web_search_tool(&self, client: &ModelClient) -> Result<Option<ToolSpec>, Ending> {
        let mode = self
            .spec
            .settings
            .web_search
            .unwrap_or(self.services.config.web_search);
        if mode == WebSearchMode::Disabled {
            return Ok(None);
        }
        let provider = client.settings();
        if provider.wire_api != crate::model::WireApi::Responses {
            return Err(ModelError::Config(format!(
                "web_search needs a Responses API provider; `{}` speaks Chat Completions \
                 (set web_search = \"disabled\" for this thread)",
                provider.id
            ))
            .into());
        }
        Ok(Some(ToolSpec::WebSearch {
            external_web_access: mode == WebSearchMode::Live,
        }))
    }

    /// Reads the response to its end; `None` when the context overflowed and the request is
    /// worth sending again after compacting.
    async fn stream(
        &mut self,
        client: &ModelClient,
        request: ModelRequest,
    ) -> Result<Option<(ResponseFold, Option<Usage>)>, Ending> {
        let mut rx = client.stream(request);
        let mut fold = ResponseFold::default();
        let mut effects = Vec::new();
        loop {
            let event = tokio::select! {
                _ = self.spec.cancel.cancelled() => None,
                e = rx.recv() => Some(e),
            };
            let step = match event {
                None => Err(Ending::Interrupted),
                Some(None) => {
                    Err(ModelError::Stream("the provider stream ended early".into()).into())
                }
                Some(Some(Err(e))) if self.compaction.retry_after(&e) => {
                    fold.close_open(&mut effects);
                    self.emit(std::mem::take(&mut effects)).await?;
                    return Ok(None);
                }
                Some(Some(Err(e))) => Err(e.into()),
                Some(Some(Ok(event))) => {
                    let emitter = &mut self.emitter;
                    fold.apply(event, &mut || emitter.next_position(), &mut effects)
                        .map_err(Ending::from)
                }
            };
            if step.is_err() {
                fold.close_open(&mut effects);
            }
            self.emit(std::mem::take(&mut effects)).await?;
            match step? {
                Step::More => {}
                Step::Completed(usage) => return Ok(Some((fold, usage))),
                Step::Retrying {
                    attempt,
                    max,
                    reason,
                } => self.retrying(attempt, max, reason).await?,
            }
        }
    }

    /// Sends the fold's effects as thread events, in order.
    async fn emit(&mut self, effects: Vec<Effect>) -> Result<(), ThreadError> {
        let (thread_id, turn_id) = (
            self.emitter.thread_id().to_owned(),
            self.emitter.turn_id().to_owned(),
        );
        for effect in effects {
            match effect {
                Effect::Started(item) => self.emitter.item_started(&item).await?,
                Effect::Completed { item, position } => {
                    self.emitter.item_completed(&item, position).await?;
                    if matches!(item, ThreadItem::AgentMessage(_)) {
                        self.final_message = Some(item);
                    }
                }
                Effect::MessageDelta { item_id, delta } => {
                    let event = AgentMessageDeltaNotification {
                        thread_id: thread_id.clone(),
                        turn_id: turn_id.clone(),
                        item_id,
                        delta,
                        seq: 0,
                    };
                    self.emitter.notify(&event, Vec::new()).await?
                }
                Effect::ReasoningDelta {
                    item_id,
                    summary_index,
                    delta,
                } => {
                    let event = ReasoningSummaryTextDeltaNotification {
                        thread_id: thread_id.clone(),
                        turn_id: turn_id.clone(),
                        item_id,
                        delta,
                        summary_index: i64::from(summary_index),
                        seq: 0,
                    };
                    self.emitter.notify(&event, Vec::new()).await?
                }
            }
        }
        Ok(())
    }

    /// What this attempt streamed is void and was closed as it was; clients are told that a
    /// retry is under way.
    async fn retrying(
        &mut self,
        attempt: u32,
        max: u32,
        reason: String,
    ) -> Result<(), ThreadError> {
        let event = ErrorNotification {
            thread_id: Some(self.emitter.thread_id().to_owned()),
            turn_id: Some(self.emitter.turn_id().to_owned()),
            error: TurnError {
                message: format!("{reason}; retrying ({attempt}/{max})"),
                kind: Some("responseStreamDisconnected".into()),
            },
            will_retry: true,
            seq: 0,
        };
        self.emitter.notify(&event, Vec::new()).await
    }

    /// The response is complete: its history entries become durable together with the usage
    /// event.
    async fn record(
        &mut self,
        fold: ResponseFold,
        usage: Option<Usage>,
    ) -> Result<Vec<ToolCall>, Ending> {
        let mut rows = self.emitter.history_rows(&fold.history);
        self.history.extend(fold.history);
        rows.push(
            self.compaction
                .observe(usage.as_ref(), &self.history, self.emitter.turn_id()),
        );
        let last = usage.as_ref().map(breakdown).unwrap_or_default();
        if usage.is_some() {
            self.usage_turn = self.usage_turn.add(&last);
            self.usage_total = self.usage_total.add(&last);
        }
        let event = ThreadTokenUsageUpdatedNotification {
            thread_id: self.emitter.thread_id().to_owned(),
            turn_id: self.emitter.turn_id().to_owned(),
            token_usage: ThreadTokenUsage {
                total: self.usage_total,
                last,
                model_context_window: None,
            },
            seq: 0,
        };
        self.emitter.notify(&event, rows).await?;
        Ok(fold.calls)
    }
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
