//! Compaction: when the conversation nears the model's context window, the model summarises it
//! and the turn carries on from the summary plus the most recent user messages.
//!
//! Three triggers, one mechanism:
//! - *auto*: the last response reported a context (input + output tokens) at or above
//!   `model_auto_compact_token_limit` (default 90% of `model_context_window`); checked before
//!   each model request, including a turn's first (from the figure the previous turn stored);
//! - *overflow*: the provider answered `context_length_exceeded`; the turn compacts and sends
//!   the request once more instead of failing;
//! - *manual*: `thread/compact/start` runs a turn that only compacts.
//!
//! Each compaction is a `contextCompaction` item in the running turn. Its `item/completed`
//! commits together with the new history rows and the mark that retires the old ones (see
//! `docs/decisions/004-history-operations.md`), so the next request — in this turn, the next
//! one, or after a restart — starts from the summary.

use agentd_protocol::{ContextCompactionItem, ThreadItem};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::model::{
    collect_text, CollectError, HistoryItem, ModelClient, ModelError, ModelEvent, ModelRequest,
    Usage,
};
use crate::port::{ThreadError, TurnEmitter};
use crate::store::Projection;

/// Share of the context window at which auto compaction starts when no explicit limit is set.
const DEFAULT_LIMIT_PERCENT: u64 = 90;
/// Most tokens of recent user messages kept verbatim beside the summary.
const USER_MESSAGE_BUDGET: u64 = 20_000;
/// Largest summary accepted, in bytes of text.
const MAX_SUMMARY_BYTES: usize = 1024 * 1024;
/// Summarisation requests that overflow the window are retried with the oldest part of the
/// history dropped, at most this many times.
const SUMMARY_ATTEMPTS: usize = 4;

/// The summariser's instructions (sent as `instructions`, with no tools).
const SUMMARY_INSTRUCTIONS: &str = "You are summarising a conversation between a user and a \
coding agent so that the agent can continue the work with the summary in place of the full \
conversation. Be factual and complete; do not address the user.";

/// The request to summarise, sent as the last user message after the conversation.
const SUMMARY_PROMPT: &str = "Summarise the conversation so far for handing it over. Include: \
the user's goals and constraints; what was done (files changed, commands run, their results); \
decisions and why; what is still open or was about to happen next. Use short sections and \
keep exact names, paths and error messages.";

/// A rough token count (4 bytes a token): used only where no provider figure exists.
pub fn estimate_tokens(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}

fn estimate_history(history: &[HistoryItem]) -> u64 {
    history
        .iter()
        .map(|h| serde_json::to_string(h).map_or(0, |s| estimate_tokens(&s)))
        .sum()
}

/// When a turn compacts. One per turn; `start` once the history is loaded.
#[derive(Debug, Clone)]
pub(super) struct CompactionPolicy {
    /// Auto-compact at or above this many context tokens; `None`: only on overflow.
    limit: Option<u64>,
    /// The conversation's size as last measured (or estimated).
    context_tokens: u64,
    /// Compacted since the last response: do not compact again before the next one.
    fresh: bool,
    /// The overflow retry of the current request has been used.
    retried: bool,
}

impl CompactionPolicy {
    pub(super) fn new(config: &Config) -> Self {
        let limit = config.model_auto_compact_token_limit.or_else(|| {
            config
                .model_context_window
                .map(|w| w.saturating_mul(DEFAULT_LIMIT_PERCENT) / 100)
        });
        CompactionPolicy {
            limit,
            context_tokens: 0,
            fresh: false,
            retried: false,
        }
    }

    /// Starts from the size the previous turn recorded, or an estimate of `history`.
    pub(super) fn start(&mut self, stored: Option<u64>, history: &[HistoryItem]) {
        self.context_tokens = stored.unwrap_or_else(|| estimate_history(history));
    }

    /// Whether to compact before the next request.
    pub(super) fn due(&self) -> bool {
        !self.fresh && self.limit.is_some_and(|l| self.context_tokens >= l)
    }

    /// Whether this failure is answered by compacting and sending the request again (once per
    /// request).
    pub(super) fn retry_after(&mut self, e: &ModelError) -> bool {
        if matches!(e, ModelError::ContextLengthExceeded(_)) && !self.retried {
            self.retried = true;
            return true;
        }
        false
    }

    /// Records a completed response's size; returns the projection that stores it for the
    /// next turn.
    pub(super) fn observe(
        &mut self,
        usage: Option<&Usage>,
        history: &[HistoryItem],
        turn_id: &str,
    ) -> Projection {
        self.context_tokens = match usage {
            Some(u) if u.input_tokens + u.output_tokens > 0 => u.input_tokens + u.output_tokens,
            _ => estimate_history(history),
        };
        self.fresh = false;
        self.retried = false;
        Projection::ContextTokens {
            turn_id: turn_id.to_owned(),
            tokens: self.context_tokens,
        }
    }

    /// Tokens of recent user messages to keep: the budget, but never more than a quarter of
    /// the limit, so the compacted history is well below it.
    fn user_budget(&self) -> u64 {
        self.limit
            .map_or(USER_MESSAGE_BUDGET, |l| (l / 4).min(USER_MESSAGE_BUDGET))
    }
}

/// Why a compaction did not complete.
pub(super) enum CompactError {
    Interrupted,
    Model(ModelError),
    Thread(ThreadError),
}

impl From<ThreadError> for CompactError {
    fn from(e: ThreadError) -> Self {
        CompactError::Thread(e)
    }
}

/// What a compaction needs from the turn.
pub(super) struct Compaction<'a> {
    pub client: &'a ModelClient,
    pub model: &'a str,
    pub emitter: &'a mut TurnEmitter,
    pub cancel: &'a CancellationToken,
    pub policy: &'a mut CompactionPolicy,
}

impl Compaction<'_> {
    /// Summarises `history` and returns what replaces it. Emits the `contextCompaction` item;
    /// its completion commits with the new history rows and the retirement of the old ones. On
    /// failure the item completes, the history is left as it was, and the error is returned.
    pub(super) async fn run(
        self,
        history: &[HistoryItem],
    ) -> Result<Vec<HistoryItem>, CompactError> {
        let id = uuid::Uuid::now_v7().to_string();
        let position = self.emitter.next_position();
        let item = ThreadItem::ContextCompaction(ContextCompactionItem { id });
        self.emitter.item_started(&item).await?;
        let summary = summarise(self.client, self.model, history, self.cancel).await;
        let mut projections = Vec::new();
        let compacted = match summary {
            Ok(text) => {
                let compacted = compacted_history(history, &text, self.policy.user_budget());
                projections.push(Projection::CompactHistory {
                    thread_id: self.emitter.thread_id().to_owned(),
                    turn_id: self.emitter.turn_id().to_owned(),
                });
                projections.extend(self.emitter.history_rows(&compacted));
                self.policy.context_tokens = estimate_history(&compacted);
                self.policy.fresh = true;
                projections.push(Projection::ContextTokens {
                    turn_id: self.emitter.turn_id().to_owned(),
                    tokens: self.policy.context_tokens,
                });
                Ok(compacted)
            }
            Err(e) => Err(e),
        };
        self.emitter
            .item_completed_with(&item, position, projections)
            .await?;
        compacted
    }
}

/// Asks the model for a summary of `history` (no tools). A summarisation request that itself
/// overflows the window is sent again without the oldest part of the history.
async fn summarise(
    client: &ModelClient,
    model: &str,
    history: &[HistoryItem],
    cancel: &CancellationToken,
) -> Result<String, CompactError> {
    let mut input = history.to_vec();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut request_input = input.clone();
        request_input.push(HistoryItem::user(SUMMARY_PROMPT));
        let request = ModelRequest {
            model: model.to_owned(),
            instructions: SUMMARY_INSTRUCTIONS.to_owned(),
            input: request_input,
            tools: Vec::new(),
            reasoning_effort: None,
            output_schema: None,
        };
        match read_text(client.stream(request), cancel).await {
            Err(CompactError::Model(ModelError::ContextLengthExceeded(_)))
                if attempt < SUMMARY_ATTEMPTS && input.len() > 1 =>
            {
                drop_oldest(&mut input);
            }
            Ok(text) if text.trim().is_empty() => {
                return Err(CompactError::Model(ModelError::Incomplete(
                    "the model returned an empty summary".into(),
                )))
            }
            other => return other,
        }
    }
}

/// The assistant text of one response. A summary replaces the history: one larger than the
/// cap is no summary.
async fn read_text(
    rx: tokio::sync::mpsc::Receiver<Result<ModelEvent, ModelError>>,
    cancel: &CancellationToken,
) -> Result<String, CompactError> {
    collect_text(rx, MAX_SUMMARY_BYTES, cancel)
        .await
        .map_err(|e| match e {
            CollectError::Cancelled => CompactError::Interrupted,
            CollectError::Model(e) => CompactError::Model(e),
        })
}

/// Drops the oldest third of `input` (at least one entry), then any tool output whose call went
/// with it, so calls and outputs stay paired.
fn drop_oldest(input: &mut Vec<HistoryItem>) {
    let n = (input.len() / 3).max(1).min(input.len());
    input.drain(..n);
    let calls: Vec<String> = input
        .iter()
        .filter_map(|h| match h {
            HistoryItem::FunctionCall { call_id, .. }
            | HistoryItem::CustomToolCall { call_id, .. } => Some(call_id.clone()),
            _ => None,
        })
        .collect();
    input.retain(|h| match h {
        HistoryItem::FunctionCallOutput { call_id, .. }
        | HistoryItem::CustomToolCallOutput { call_id, .. } => calls.contains(call_id),
        _ => true,
    });
}

/// The history after a compaction: the most recent user messages that fit in `budget` tokens
/// (oldest first; the oldest kept one cut to fit), then the summary. The summary goes last so
/// the model reads it as the state of the work it is continuing.
pub fn compacted_history(history: &[HistoryItem], summary: &str, budget: u64) -> Vec<HistoryItem> {
    let mut kept: Vec<HistoryItem> = Vec::new();
    let mut left = budget;
    for h in history.iter().rev() {
        let HistoryItem::UserMessage { text, .. } = h else {
            continue;
        };
        if left == 0 {
            break;
        }
        let tokens = estimate_tokens(text);
        if tokens <= left {
            left -= tokens;
            kept.push(h.clone());
        } else {
            let mut cut = (left * 4) as usize;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            kept.push(HistoryItem::user(format!("{}…", &text[..cut])));
            break;
        }
    }
    kept.reverse();
    kept.push(HistoryItem::CompactionSummary {
        text: summary.to_owned(),
    });
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(t: &str) -> HistoryItem {
        HistoryItem::user(t)
    }

    #[test]
    fn keeps_recent_user_messages_within_budget_then_the_summary() {
        let history = vec![
            user(&"a".repeat(400)),
            HistoryItem::AssistantMessage { text: "x".into() },
            user(&"b".repeat(40)),
            HistoryItem::FunctionCall {
                call_id: "c".into(),
                name: "shell".into(),
                arguments: "{}".into(),
            },
            user(&"c".repeat(40)),
        ];
        let out = compacted_history(&history, "S", 15);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0], user(&format!("{}…", "b".repeat(20))));
        assert_eq!(out[1], user(&"c".repeat(40)));
        assert_eq!(out[2], HistoryItem::CompactionSummary { text: "S".into() });
    }

    #[test]
    fn dropping_old_history_keeps_outputs_paired() {
        let mut input = vec![
            HistoryItem::FunctionCall {
                call_id: "c1".into(),
                name: "shell".into(),
                arguments: "{}".into(),
            },
            HistoryItem::FunctionCallOutput {
                call_id: "c1".into(),
                output: "o".into(),
                images: Vec::new(),
            },
            user("u"),
        ];
        drop_oldest(&mut input);
        assert_eq!(input, vec![user("u")]);
    }

    #[test]
    fn limit_defaults_to_ninety_percent_of_the_window() {
        let mut config = Config::defaults();
        config.model_context_window = Some(1000);
        let mut p = CompactionPolicy::new(&config);
        assert_eq!(p.limit, Some(900));
        p.start(Some(899), &[]);
        assert!(!p.due());
        p.observe(
            Some(&Usage {
                input_tokens: 880,
                output_tokens: 20,
                ..Usage::default()
            }),
            &[],
            "t",
        );
        assert!(p.due());
        config.model_auto_compact_token_limit = Some(100);
        assert_eq!(CompactionPolicy::new(&config).limit, Some(100));
        assert_eq!(CompactionPolicy::new(&Config::defaults()).limit, None);
    }
}
