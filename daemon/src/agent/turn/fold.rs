//! Model events → thread items: one response folded into the items clients see, the entries
//! the model's history keeps, and the tool calls to run.
//!
//! A pure state machine (no I/O): [`ResponseFold::apply`] takes one [`ModelEvent`] and appends
//! the [`Effect`]s the turn must emit, in order. Everything in an event comes from a provider's
//! stream and is hostile until proven otherwise, so every quantity it controls is capped: a
//! summary index, the number of items and calls open at once, and the bytes of text one
//! response may carry (each delta counting a fixed overhead too). Breaking a cap is a
//! [`StreamViolation`] that fails the turn with a clear error; it never costs more than that
//! turn. `fuzzing::model_fold` drives this with arbitrary events.

use std::collections::BTreeMap;

use agentd_protocol::{AgentMessageItem, ReasoningItem, ThreadItem};

use crate::model::{HistoryItem, ModelEvent, OutputItem, Usage};

/// Summary parts one reasoning item may have (the index is the provider's number).
pub const MAX_SUMMARY_PARTS: u32 = 64;
/// Items (messages, reasoning, tool calls) one response may produce.
pub const MAX_OUTPUT_ITEMS: usize = 256;
/// Bytes of text (deltas, final texts, tool arguments) one response may carry.
pub const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;
/// What each delta costs against [`MAX_RESPONSE_BYTES`] on top of its text: a delta is an event
/// to store and send, so a million 1-byte (or empty) deltas must end the turn as surely as a
/// million bytes of text. A normal stream's deltas (a few bytes to a few words each) stay far
/// below the cap: 64 bytes times a hundred thousand deltas is 6 MiB.
pub const DELTA_OVERHEAD: usize = 64;

/// The stream broke a cap.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the model stream was refused: {0}")]
pub struct StreamViolation(pub String);

/// What the turn emits for one event, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Started(ThreadItem),
    MessageDelta {
        item_id: String,
        delta: String,
    },
    ReasoningDelta {
        item_id: String,
        summary_index: u32,
        delta: String,
    },
    Completed {
        item: ThreadItem,
        position: i64,
    },
}

/// Where the fold is after an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    More,
    /// The response is complete.
    Completed(Option<Usage>),
    /// The provider is sending the request again: what this attempt streamed is void (open
    /// items were closed as they were); tell clients, then start over.
    Retrying {
        attempt: u32,
        max: u32,
        reason: String,
    },
}

/// A tool call the response asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub call_id: String,
    pub name: String,
    /// JSON arguments (function tools) or raw text (freeform tools).
    pub input: String,
    pub freeform: bool,
}

struct OpenItem {
    id: String,
    position: i64,
    parts: Vec<String>,
}

/// One response in progress.
#[derive(Default)]
pub struct ResponseFold {
    messages: BTreeMap<u32, OpenItem>,
    reasoning: BTreeMap<u32, OpenItem>,
    /// History entries of the items completed so far, in order.
    pub history: Vec<HistoryItem>,
    pub calls: Vec<ToolCall>,
    items: usize,
    bytes: usize,
}

impl ResponseFold {
    /// Folds one event in. `positions` hands out item positions in the turn.
    pub fn apply(
        &mut self,
        event: ModelEvent,
        positions: &mut dyn FnMut() -> i64,
        effects: &mut Vec<Effect>,
    ) -> Result<Step, StreamViolation> {
        match event {
            ModelEvent::TextDelta {
                output_index,
                delta,
            } => {
                if !self.count_delta(&delta)? {
                    return Ok(Step::More);
                }
                let open = self.open(Kind::Message, output_index, positions, effects)?;
                open.parts[0].push_str(&delta);
                let item_id = open.id.clone();
                effects.push(Effect::MessageDelta { item_id, delta });
            }
            ModelEvent::ReasoningSummaryDelta {
                output_index,
                summary_index,
                delta,
            } => self.reasoning_delta(output_index, summary_index, delta, positions, effects)?,
            ModelEvent::ItemDone { output_index, item } => {
                self.item_done(output_index, item, positions, effects)?
            }
            ModelEvent::Retrying {
                attempt,
                max,
                reason,
            } => {
                self.close_open(effects);
                *self = ResponseFold::default();
                return Ok(Step::Retrying {
                    attempt,
                    max,
                    reason,
                });
            }
            ModelEvent::Completed { usage } => {
                self.close_open(effects);
                return Ok(Step::Completed(usage));
            }
        }
        Ok(Step::More)
    }

    /// Completes items still streaming with the content they have (on interrupt, failure or a
    /// stream retry), so every `item/started` has its `item/completed`.
    pub fn close_open(&mut self, effects: &mut Vec<Effect>) {
        for (_, open) in std::mem::take(&mut self.messages) {
            let item = message(open.id, open.parts.concat());
            effects.push(Effect::Completed {
                item,
                position: open.position,
            });
        }
        for (_, open) in std::mem::take(&mut self.reasoning) {
            let item = reasoning(open.id, open.parts);
            effects.push(Effect::Completed {
                item,
                position: open.position,
            });
        }
    }

    fn reasoning_delta(
        &mut self,
        output_index: u32,
        summary_index: u32,
        delta: String,
        positions: &mut dyn FnMut() -> i64,
        effects: &mut Vec<Effect>,
    ) -> Result<(), StreamViolation> {
        if summary_index >= MAX_SUMMARY_PARTS {
            return Err(StreamViolation(format!(
                "reasoning summary index {summary_index} (at most {MAX_SUMMARY_PARTS} parts)"
            )));
        }
        if !self.count_delta(&delta)? {
            return Ok(());
        }
        let open = self.open(Kind::Reasoning, output_index, positions, effects)?;
        let ix = summary_index as usize;
        if open.parts.len() <= ix {
            open.parts.resize(ix + 1, String::new());
        }
        open.parts[ix].push_str(&delta);
        let item_id = open.id.clone();
        effects.push(Effect::ReasoningDelta {
            item_id,
            summary_index,
            delta,
        });
        Ok(())
    }

    fn item_done(
        &mut self,
        output_index: u32,
        item: OutputItem,
        positions: &mut dyn FnMut() -> i64,
        effects: &mut Vec<Effect>,
    ) -> Result<(), StreamViolation> {
        match item {
            OutputItem::Message { text } => {
                self.count_bytes(text.len())?;
                let (id, position) =
                    self.take_or_start(Kind::Message, output_index, positions, effects)?;
                effects.push(Effect::Completed {
                    item: message(id, text.clone()),
                    position,
                });
                self.history.push(HistoryItem::AssistantMessage { text });
            }
            OutputItem::Reasoning {
                summary,
                encrypted_content,
            } => {
                if summary.len() > MAX_SUMMARY_PARTS as usize {
                    return Err(StreamViolation(format!(
                        "a reasoning summary of {} parts (at most {MAX_SUMMARY_PARTS})",
                        summary.len()
                    )));
                }
                let size = summary.iter().map(String::len).sum::<usize>()
                    + encrypted_content.as_ref().map_or(0, String::len);
                self.count_bytes(size)?;
                let (id, position) =
                    self.take_or_start(Kind::Reasoning, output_index, positions, effects)?;
                effects.push(Effect::Completed {
                    item: reasoning(id, summary.clone()),
                    position,
                });
                self.history.push(HistoryItem::Reasoning {
                    summary,
                    encrypted_content,
                });
            }
            OutputItem::FunctionCall {
                call_id,
                name,
                arguments,
            } => self.call(call_id, name, arguments, false)?,
            OutputItem::CustomToolCall {
                call_id,
                name,
                input,
            } => self.call(call_id, name, input, true)?,
            OutputItem::WebSearchCall { id, status, action } => {
                self.web_search(id, status, action, positions, effects)?
            }
        }
        Ok(())
    }

    /// A search the provider already ran: started and completed at once, and kept in the
    /// history as it came (the model's next request carries it back).
    fn web_search(
        &mut self,
        id: String,
        status: String,
        action: serde_json::Value,
        positions: &mut dyn FnMut() -> i64,
        effects: &mut Vec<Effect>,
    ) -> Result<(), StreamViolation> {
        self.count_bytes(id.len() + status.len() + action.to_string().len())?;
        self.count_item()?;
        let item = ThreadItem::WebSearch(web_search_item(&id, &action));
        let position = positions();
        effects.push(Effect::Started(item.clone()));
        effects.push(Effect::Completed { item, position });
        self.history
            .push(HistoryItem::WebSearchCall { id, status, action });
        Ok(())
    }

    fn call(
        &mut self,
        call_id: String,
        name: String,
        input: String,
        freeform: bool,
    ) -> Result<(), StreamViolation> {
        self.count_bytes(call_id.len() + name.len() + input.len())?;
        self.count_item()?;
        self.history.push(if freeform {
            HistoryItem::CustomToolCall {
                call_id: call_id.clone(),
                name: name.clone(),
                input: input.clone(),
            }
        } else {
            HistoryItem::FunctionCall {
                call_id: call_id.clone(),
                name: name.clone(),
                arguments: input.clone(),
            }
        });
        self.calls.push(ToolCall {
            call_id,
            name,
            input,
            freeform,
        });
        Ok(())
    }

    /// The open item of `kind` at `output_index`, started (and announced) on first use.
    fn open(
        &mut self,
        kind: Kind,
        output_index: u32,
        positions: &mut dyn FnMut() -> i64,
        effects: &mut Vec<Effect>,
    ) -> Result<&mut OpenItem, StreamViolation> {
        if !self.map(kind).contains_key(&output_index) {
            self.count_item()?;
            let id = uuid::Uuid::now_v7().to_string();
            let position = positions();
            effects.push(Effect::Started(kind.empty(id.clone())));
            let open = OpenItem {
                id,
                position,
                parts: vec![String::new()],
            };
            self.map(kind).insert(output_index, open);
        }
        self.map(kind)
            .get_mut(&output_index)
            .ok_or_else(|| StreamViolation("an item vanished while open".into()))
    }

    /// The id and position of the item an `ItemDone` completes: the open one, or a new one
    /// (started now) when nothing was streamed for it.
    fn take_or_start(
        &mut self,
        kind: Kind,
        output_index: u32,
        positions: &mut dyn FnMut() -> i64,
        effects: &mut Vec<Effect>,
    ) -> Result<(String, i64), StreamViolation> {
        if let Some(open) = self.map(kind).remove(&output_index) {
            return Ok((open.id, open.position));
        }
        self.count_item()?;
        let id = uuid::Uuid::now_v7().to_string();
        let position = positions();
        effects.push(Effect::Started(kind.empty(id.clone())));
        Ok((id, position))
    }

    fn map(&mut self, kind: Kind) -> &mut BTreeMap<u32, OpenItem> {
        match kind {
            Kind::Message => &mut self.messages,
            Kind::Reasoning => &mut self.reasoning,
        }
    }

    fn count_item(&mut self) -> Result<(), StreamViolation> {
        self.items += 1;
        if self.items > MAX_OUTPUT_ITEMS {
            return Err(StreamViolation(format!(
                "more than {MAX_OUTPUT_ITEMS} output items in one response"
            )));
        }
        Ok(())
    }

    /// Charges a delta's text and [`DELTA_OVERHEAD`]; `false` when it is empty and so carries
    /// nothing to show or store (it opens no item and becomes no event).
    fn count_delta(&mut self, delta: &str) -> Result<bool, StreamViolation> {
        self.count_bytes(DELTA_OVERHEAD.saturating_add(delta.len()))?;
        Ok(!delta.is_empty())
    }

    fn count_bytes(&mut self, n: usize) -> Result<(), StreamViolation> {
        self.bytes = self.bytes.saturating_add(n);
        if self.bytes > MAX_RESPONSE_BYTES {
            return Err(StreamViolation(format!(
                "more than {} MiB of output in one response (each delta counts \
                 {DELTA_OVERHEAD} bytes more than its text)",
                MAX_RESPONSE_BYTES / (1024 * 1024)
            )));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Message,
    Reasoning,
}

impl Kind {
    fn empty(self, id: String) -> ThreadItem {
        match self {
            Kind::Message => message(id, String::new()),
            Kind::Reasoning => reasoning(id, Vec::new()),
        }
    }
}

fn message(id: String, text: String) -> ThreadItem {
    ThreadItem::AgentMessage(AgentMessageItem { id, text })
}

fn reasoning(id: String, summary: Vec<String>) -> ThreadItem {
    ThreadItem::Reasoning(ReasoningItem {
        id,
        summary,
        content: Vec::new(),
    })
}

/// The wire item of a provider's web search: the action when it reads as one, its query (or
/// the first of its queries, or the page) as `query`.
fn web_search_item(id: &str, action: &serde_json::Value) -> agentd_protocol::WebSearchItem {
    use agentd_protocol::WebSearchAction;
    let action = serde_json::from_value::<WebSearchAction>(action.clone()).ok();
    let query = match &action {
        Some(WebSearchAction::Search { query, queries }) => query
            .clone()
            .or_else(|| queries.as_ref().and_then(|q| q.first().cloned())),
        Some(WebSearchAction::OpenPage { url }) => url.clone(),
        Some(WebSearchAction::FindInPage { pattern, .. }) => pattern.clone(),
        Some(WebSearchAction::Other) | None => None,
    };
    agentd_protocol::WebSearchItem {
        id: id.to_owned(),
        query: query.unwrap_or_default(),
        action,
        results: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fold(events: Vec<ModelEvent>) -> (Result<Step, StreamViolation>, Vec<Effect>, ResponseFold) {
        let mut f = ResponseFold::default();
        let mut effects = Vec::new();
        let mut next = 0;
        let mut positions = || {
            next += 1;
            next
        };
        let mut last = Ok(Step::More);
        for e in events {
            last = f.apply(e, &mut positions, &mut effects);
            if last.is_err() {
                break;
            }
        }
        (last, effects, f)
    }

    #[test]
    fn a_huge_summary_index_is_refused_without_allocating() {
        let (r, effects, _) = fold(vec![ModelEvent::ReasoningSummaryDelta {
            output_index: 0,
            summary_index: u32::MAX,
            delta: "x".into(),
        }]);
        assert!(matches!(r, Err(StreamViolation(m)) if m.contains("summary index")));
        assert!(effects.is_empty());
    }

    #[test]
    fn streamed_text_becomes_one_item_started_delta_completed() {
        let (r, effects, f) = fold(vec![
            ModelEvent::TextDelta {
                output_index: 0,
                delta: "he".into(),
            },
            ModelEvent::TextDelta {
                output_index: 0,
                delta: "llo".into(),
            },
            ModelEvent::ItemDone {
                output_index: 0,
                item: OutputItem::Message {
                    text: "hello".into(),
                },
            },
            ModelEvent::Completed { usage: None },
        ]);
        assert_eq!(r, Ok(Step::Completed(None)));
        assert!(matches!(
            &effects[0],
            Effect::Started(ThreadItem::AgentMessage(_))
        ));
        assert!(
            matches!(&effects[3], Effect::Completed { item: ThreadItem::AgentMessage(m), position: 1 } if m.text == "hello")
        );
        assert_eq!(
            f.history,
            vec![HistoryItem::AssistantMessage {
                text: "hello".into()
            }]
        );
    }

    #[test]
    fn items_and_bytes_are_capped() {
        let many: Vec<ModelEvent> = (0..=MAX_OUTPUT_ITEMS as u32)
            .map(|i| ModelEvent::TextDelta {
                output_index: i,
                delta: "x".into(),
            })
            .collect();
        assert!(fold(many).0.is_err());
        let big = "x".repeat(MAX_RESPONSE_BYTES / 2 + 1);
        let (r, _, _) = fold(vec![
            ModelEvent::TextDelta {
                output_index: 0,
                delta: big.clone(),
            },
            ModelEvent::TextDelta {
                output_index: 0,
                delta: big,
            },
        ]);
        assert!(r.is_err());
    }

    #[test]
    fn empty_deltas_open_nothing_and_emit_nothing() {
        let empty = |output_index| ModelEvent::TextDelta {
            output_index,
            delta: String::new(),
        };
        let reasoning = ModelEvent::ReasoningSummaryDelta {
            output_index: 1,
            summary_index: 0,
            delta: String::new(),
        };
        let (r, effects, _) = fold(vec![empty(0), reasoning, empty(2)]);
        assert_eq!(r, Ok(Step::More));
        assert!(effects.is_empty(), "{effects:?}");
    }

    /// Deltas cost a fixed overhead each: an endless run of tiny (or empty) deltas ends the
    /// response at the byte cap, where counting only their text never would.
    #[test]
    fn a_flood_of_tiny_deltas_is_capped() {
        let mut f = ResponseFold::default();
        let mut effects = Vec::new();
        let mut positions = || 1;
        let limit = MAX_RESPONSE_BYTES / DELTA_OVERHEAD + 1;
        let refused = (0..limit).position(|i| {
            let delta = if i % 2 == 0 { "x" } else { "" };
            let event = ModelEvent::TextDelta {
                output_index: 0,
                delta: delta.into(),
            };
            effects.clear();
            f.apply(event, &mut positions, &mut effects).is_err()
        });
        let refused = refused.expect("the flood was never refused");
        assert!(refused > limit / 2, "refused after only {refused} deltas");
    }

    #[test]
    fn a_retry_closes_what_was_open_and_starts_over() {
        let (r, effects, f) = fold(vec![
            ModelEvent::TextDelta {
                output_index: 0,
                delta: "partial".into(),
            },
            ModelEvent::Retrying {
                attempt: 1,
                max: 3,
                reason: "dropped".into(),
            },
        ]);
        assert!(matches!(r, Ok(Step::Retrying { attempt: 1, .. })));
        assert!(
            matches!(&effects[2], Effect::Completed { item: ThreadItem::AgentMessage(m), .. } if m.text == "partial")
        );
        assert!(f.history.is_empty() && f.calls.is_empty());
    }
}
