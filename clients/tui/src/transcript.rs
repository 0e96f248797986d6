//! One open thread as the user sees it: its items in order, folded first from `thread/resume`'s
//! turns and then from live notifications. Pure state with no I/O, so the folding is tested from
//! recorded messages without a daemon.
//!
//! Exactly-once display rests on `seq`: every logged thread event carries the next number, and an
//! event at or below the newest one already folded is a duplicate (a replay overlapping what the
//! resume result already contained) and is skipped.
//!
//! Items are read one by one ([`item_entry`]), not as part of a whole `Thread`: Codex's
//! `webSearch` (which agentd's protocol crate does not define yet) is read here, and an item of a
//! kind nobody here knows is shown by its kind instead of making the whole thread unreadable.

use std::collections::HashMap;

use agentd_protocol::{
    AgentMessageDeltaNotification, AgentMessageItem, CommandExecutionOutputDeltaNotification,
    ErrorNotification, ReasoningSummaryTextDeltaNotification, Thread, ThreadItem,
    ThreadNameUpdatedNotification, ThreadStatusChangedNotification, TurnCompletedNotification,
    TurnDiffUpdatedNotification, TurnError, TurnPlanStep, TurnPlanUpdatedNotification,
    TurnStartedNotification, TurnStatus, UserInput,
};
use anyhow::{Context, Result};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The kinds `ThreadItem` reads. An item of one of them that does not decode is an error; an
/// item of any other kind is shown by its kind ([`Entry::OtherItem`]).
const PROTOCOL_ITEM_KINDS: [&str; 11] = [
    "userMessage",
    "agentMessage",
    "reasoning",
    "commandExecution",
    "fileChange",
    "plan",
    "contextCompaction",
    "collabAgentToolCall",
    "mcpToolCall",
    "hookPrompt",
    "webSearch",
];

/// One block of the transcript.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Item(ThreadItem),
    /// An item of a kind this client does not know: listed by its kind, so nothing vanishes.
    OtherItem {
        id: String,
        kind: String,
    },
    /// A turn ended; shown as a rule with its status.
    TurnEnded {
        status: TurnStatus,
        error: Option<TurnError>,
    },
    /// Something the daemon reported that is not an item (an error, a rollback).
    Notice(String),
}

/// What folding one notification asks of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Folded {
    /// Applied (or a duplicate, skipped); nothing else to do.
    Done,
    /// The transcript no longer matches the log (a rollback): read the thread again.
    Reload,
}

/// The open thread.
#[derive(Debug, Clone)]
pub struct Transcript {
    pub thread: Thread,
    pub entries: Vec<Entry>,
    /// Item id → position in `entries`, for deltas and completions.
    index: HashMap<String, usize>,
    /// The newest `seq` folded in.
    pub last_seq: u64,
    /// The turn that is running, if any: Enter steers it, Esc interrupts it.
    pub running_turn: Option<String>,
    pub plan: Vec<TurnPlanStep>,
    /// The running (or last) turn's unified diff of file changes.
    pub diff: String,
}

fn decode<T: DeserializeOwned>(method: &str, params: Value) -> Result<T> {
    serde_json::from_value(params).with_context(|| format!("agentd sent a malformed {method}"))
}

impl Entry {
    /// The id of the item it shows, if it shows one.
    fn item_id(&self) -> Option<&str> {
        match self {
            Entry::Item(item) => Some(item.id()),
            Entry::OtherItem { id, .. } => Some(id),
            Entry::TurnEnded { .. } | Entry::Notice(_) => None,
        }
    }
}

/// An item off the wire as an entry: one of the protocol's kinds, or another
/// kind by name. A malformed item of a kind this client reads is an error.
pub fn item_entry(item: Value) -> Result<Entry> {
    let kind = item.get("type").and_then(Value::as_str).map(str::to_owned);
    match kind.as_deref() {
        Some(k) if !PROTOCOL_ITEM_KINDS.contains(&k) => {
            let id = item.get("id").and_then(Value::as_str);
            let id = id.context("agentd sent an item without an id")?.to_owned();
            Ok(Entry::OtherItem {
                id,
                kind: k.to_owned(),
            })
        }
        _ => Ok(Entry::Item(decode("item", item)?)),
    }
}

/// Takes the items out of each turn of a `Thread` value (a `thread/resume` result's `thread`),
/// so the rest decodes with the protocol's types whatever kinds of item the turns hold. The
/// items come back per turn, in order, for [`Transcript::with_items`].
pub fn take_turn_items(thread: &mut Value) -> Vec<Vec<Value>> {
    let Some(turns) = thread.get_mut("turns").and_then(Value::as_array_mut) else {
        return Vec::new();
    };
    turns
        .iter_mut()
        .map(|turn| match turn.get_mut("items").map(Value::take) {
            Some(Value::Array(items)) => {
                turn["items"] = Value::Array(Vec::new());
                items
            }
            _ => Vec::new(),
        })
        .collect()
}

/// A turn notification's `turn` without its items (always empty from agentd; a kind of item the
/// protocol crate does not read must not make the notification unreadable).
fn without_turn_items(mut params: Value) -> Value {
    if let Some(turn) = params.get_mut("turn").and_then(Value::as_object_mut) {
        turn.remove("items");
    }
    params
}

/// The `item` of an `item/started` or `item/completed` notification.
fn notified_item(method: &str, mut params: Value) -> Result<Entry> {
    let item = params
        .get_mut("item")
        .map(Value::take)
        .filter(Value::is_object)
        .with_context(|| format!("agentd sent a malformed {method}: no item"))?;
    item_entry(item).with_context(|| format!("agentd sent a malformed {method}"))
}

impl Transcript {
    /// The transcript of a thread as `thread/start`, `thread/resume` or `thread/read` returned
    /// it (with its turns).
    pub fn from_thread(thread: Thread) -> Transcript {
        let items = thread
            .turns
            .iter()
            .map(|turn| turn.items.iter().cloned().map(Entry::Item).collect())
            .collect();
        Transcript::build(thread, items)
    }

    /// The transcript of a thread whose turns' items were taken out with [`take_turn_items`]
    /// (read one by one: a malformed one becomes a notice, the rest still show).
    pub fn with_items(thread: Thread, items: Vec<Vec<Value>>) -> Transcript {
        let entries = items
            .into_iter()
            .map(|turn| {
                turn.into_iter()
                    .map(|item| {
                        item_entry(item).unwrap_or_else(|e| Entry::Notice(format!("{e:#}")))
                    })
                    .collect()
            })
            .collect();
        Transcript::build(thread, entries)
    }

    fn build(mut thread: Thread, mut items: Vec<Vec<Entry>>) -> Transcript {
        let turns = std::mem::take(&mut thread.turns);
        let mut t = Transcript {
            last_seq: thread.last_seq,
            thread,
            entries: Vec::new(),
            index: HashMap::new(),
            running_turn: None,
            plan: Vec::new(),
            diff: String::new(),
        };
        items.resize_with(turns.len(), Vec::new);
        for (turn, items) in turns.into_iter().zip(items) {
            for entry in items {
                t.upsert(entry);
            }
            if turn.status.is_terminal() {
                t.entries.push(Entry::TurnEnded {
                    status: turn.status,
                    error: turn.error,
                });
            } else {
                t.running_turn = Some(turn.id);
            }
        }
        t
    }

    /// Replaces the item with the same id, or appends it (an entry that is no item is appended).
    fn upsert(&mut self, entry: Entry) {
        if let Entry::Item(ThreadItem::UserMessage(m)) = &entry {
            // The daemon previews a thread by its first message; a fresh thread has none yet.
            if self.thread.preview.is_empty() {
                if let Some(UserInput::Text { text, .. }) = m.content.first() {
                    self.thread.preview = text.clone();
                }
            }
        }
        let Some(id) = entry.item_id().map(str::to_owned) else {
            self.entries.push(entry);
            return;
        };
        match self.index.get(&id) {
            Some(&at) => self.entries[at] = entry,
            None => {
                self.index.insert(id, self.entries.len());
                self.entries.push(entry);
            }
        }
    }

    fn item_mut(&mut self, id: &str) -> Option<&mut ThreadItem> {
        let at = *self.index.get(id)?;
        match &mut self.entries[at] {
            Entry::Item(item) => Some(item),
            _ => None,
        }
    }

    /// Folds one logged notification about this thread. Errors name a malformed message; the
    /// transcript is left as it was.
    pub fn fold(&mut self, method: &str, params: Value) -> Result<Folded> {
        let seq = params.get("seq").and_then(Value::as_u64).unwrap_or(0);
        if seq != 0 && seq <= self.last_seq {
            return Ok(Folded::Done);
        }
        let folded = self.apply(method, params)?;
        self.last_seq = self.last_seq.max(seq);
        Ok(folded)
    }

    fn apply(&mut self, method: &str, params: Value) -> Result<Folded> {
        match method {
            // `item/started` and `item/completed` alike: the item replaces any earlier copy.
            "item/started" | "item/completed" => self.upsert(notified_item(method, params)?),
            "item/agentMessage/delta" => {
                let n: AgentMessageDeltaNotification = decode(method, params)?;
                match self.item_mut(&n.item_id) {
                    Some(ThreadItem::AgentMessage(m)) => m.text.push_str(&n.delta),
                    _ => self.upsert(Entry::Item(ThreadItem::AgentMessage(AgentMessageItem {
                        id: n.item_id,
                        text: n.delta,
                    }))),
                }
            }
            "item/commandExecution/outputDelta" => {
                let n: CommandExecutionOutputDeltaNotification = decode(method, params)?;
                if let Some(ThreadItem::CommandExecution(c)) = self.item_mut(&n.item_id) {
                    c.aggregated_output
                        .get_or_insert_with(String::new)
                        .push_str(&n.delta);
                }
            }
            "item/reasoning/summaryTextDelta" => {
                let n: ReasoningSummaryTextDeltaNotification = decode(method, params)?;
                if let Some(ThreadItem::Reasoning(r)) = self.item_mut(&n.item_id) {
                    let at = usize::try_from(n.summary_index).unwrap_or(0);
                    if r.summary.len() <= at {
                        r.summary.resize(at + 1, String::new());
                    }
                    r.summary[at].push_str(&n.delta);
                }
            }
            "turn/started" => {
                let n: TurnStartedNotification = decode(method, without_turn_items(params))?;
                self.running_turn = Some(n.turn.id);
                self.plan.clear();
                self.diff.clear();
            }
            "turn/completed" => {
                let n: TurnCompletedNotification = decode(method, without_turn_items(params))?;
                if self.running_turn.as_deref() == Some(n.turn.id.as_str()) {
                    self.running_turn = None;
                }
                self.entries.push(Entry::TurnEnded {
                    status: n.turn.status,
                    error: n.turn.error,
                });
            }
            "turn/diff/updated" => {
                let n: TurnDiffUpdatedNotification = decode(method, params)?;
                self.diff = n.diff;
            }
            "turn/plan/updated" => {
                let n: TurnPlanUpdatedNotification = decode(method, params)?;
                self.plan = n.plan;
            }
            "thread/status/changed" => {
                let n: ThreadStatusChangedNotification = decode(method, params)?;
                self.thread.status = n.status;
            }
            "thread/name/updated" => {
                let n: ThreadNameUpdatedNotification = decode(method, params)?;
                self.thread.name = n.thread_name;
            }
            "error" => {
                let n: ErrorNotification = decode(method, params)?;
                let retry = if n.will_retry { " (retrying)" } else { "" };
                self.entries
                    .push(Entry::Notice(format!("error: {}{retry}", n.error.message)));
            }
            "thread/rolledBack" => return Ok(Folded::Reload),
            // Usage, hooks, archive flags: nothing in the transcript shows them.
            _ => {}
        }
        Ok(Folded::Done)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use agentd_protocol::ItemStatus;
    use serde_json::json;

    pub(crate) fn thread_json(id: &str, last_seq: u64) -> Value {
        json!({
            "id": id, "sessionId": id, "preview": "fix the build", "name": null, "cwd": "/w",
            "modelProvider": "mock", "model": "m", "createdAt": 1, "updatedAt": 2,
            "ephemeral": false, "cliVersion": "0.1.0", "source": "appServer", "projectId": null,
            "forkedFromId": null, "archived": false, "status": {"type": "idle"},
            "lastSeq": last_seq, "turns": []
        })
    }

    fn open(last_seq: u64) -> Transcript {
        Transcript::from_thread(serde_json::from_value(thread_json("t1", last_seq)).unwrap())
    }

    fn command(id: &str, status: &str, output: Option<&str>) -> Value {
        json!({"type": "commandExecution", "id": id, "command": "ls", "cwd": "/w",
               "status": status, "commandActions": [], "aggregatedOutput": output,
               "exitCode": null, "durationMs": null})
    }

    #[test]
    fn deltas_build_the_message_and_completion_is_authoritative() {
        let mut t = open(0);
        let item = json!({"type": "agentMessage", "id": "m1", "text": ""});
        t.fold(
            "item/started",
            json!({"threadId": "t1", "turnId": "u1", "item": item, "startedAtMs": 1, "seq": 1}),
        )
        .unwrap();
        for (seq, d) in [(2, "Hel"), (3, "lo")] {
            t.fold(
                "item/agentMessage/delta",
                json!({"threadId": "t1", "turnId": "u1", "itemId": "m1", "delta": d, "seq": seq}),
            )
            .unwrap();
        }
        assert_eq!(
            t.entries,
            vec![Entry::Item(ThreadItem::AgentMessage(AgentMessageItem {
                id: "m1".into(),
                text: "Hello".into()
            }))]
        );
        let done = json!({"type": "agentMessage", "id": "m1", "text": "Hello!"});
        t.fold(
            "item/completed",
            json!({"threadId": "t1", "turnId": "u1", "item": done, "completedAtMs": 2, "seq": 4}),
        )
        .unwrap();
        assert_eq!(t.entries.len(), 1);
        assert!(
            matches!(&t.entries[0], Entry::Item(ThreadItem::AgentMessage(m)) if m.text == "Hello!")
        );
        assert_eq!(t.last_seq, 4);
    }

    #[test]
    fn events_at_or_below_the_newest_seq_are_skipped() {
        let mut t = open(5);
        let delta = |seq| json!({"threadId": "t1", "turnId": "u1", "itemId": "m1", "delta": "x", "seq": seq});
        t.fold("item/agentMessage/delta", delta(5)).unwrap();
        assert!(
            t.entries.is_empty(),
            "seq 5 was already in the resume result"
        );
        t.fold("item/agentMessage/delta", delta(6)).unwrap();
        t.fold("item/agentMessage/delta", delta(6)).unwrap();
        assert!(matches!(&t.entries[0], Entry::Item(ThreadItem::AgentMessage(m)) if m.text == "x"));
    }

    #[test]
    fn command_output_streams_into_the_item_and_turns_end_with_a_rule() {
        let mut t = open(0);
        t.fold("turn/started", json!({"threadId": "t1", "turn": {"id": "u1", "status": "inProgress", "items": []}, "seq": 1})).unwrap();
        assert_eq!(t.running_turn.as_deref(), Some("u1"));
        t.fold("item/started", json!({"threadId": "t1", "turnId": "u1", "item": command("c1", "inProgress", None), "startedAtMs": 1, "seq": 2})).unwrap();
        t.fold(
            "item/commandExecution/outputDelta",
            json!({"threadId": "t1", "turnId": "u1", "itemId": "c1", "delta": "a\n", "seq": 3}),
        )
        .unwrap();
        t.fold(
            "item/commandExecution/outputDelta",
            json!({"threadId": "t1", "turnId": "u1", "itemId": "c1", "delta": "b\n", "seq": 4}),
        )
        .unwrap();
        let Entry::Item(ThreadItem::CommandExecution(c)) = &t.entries[0] else {
            panic!("{:?}", t.entries)
        };
        assert_eq!(c.aggregated_output.as_deref(), Some("a\nb\n"));
        assert_eq!(c.status, ItemStatus::InProgress);
        t.fold("turn/completed", json!({"threadId": "t1", "turn": {"id": "u1", "status": "interrupted", "items": []}, "seq": 5})).unwrap();
        assert_eq!(t.running_turn, None);
        assert_eq!(
            t.entries[1],
            Entry::TurnEnded {
                status: TurnStatus::Interrupted,
                error: None
            }
        );
    }

    #[test]
    fn resume_result_turns_become_entries_and_a_running_turn_is_remembered() {
        let mut v = thread_json("t1", 9);
        v["turns"] = json!([
            {"id": "u1", "status": "completed", "items": [{"type": "userMessage", "id": "i1", "content": [{"type": "text", "text": "hi"}]}]},
            {"id": "u2", "status": "inProgress", "items": [command("c1", "inProgress", Some("partial"))]}
        ]);
        let t = Transcript::from_thread(serde_json::from_value(v).unwrap());
        assert_eq!(t.entries.len(), 3);
        assert_eq!(t.running_turn.as_deref(), Some("u2"));
        assert_eq!(t.last_seq, 9);
    }

    #[test]
    fn a_malformed_notification_is_an_error_and_changes_nothing() {
        let mut t = open(0);
        let err = t
            .fold("item/started", json!({"threadId": "t1", "seq": 1}))
            .unwrap_err();
        assert!(
            format!("{err:#}").contains("malformed item/started"),
            "{err:#}"
        );
        assert!(t.entries.is_empty());
        assert_eq!(
            t.last_seq, 0,
            "a rejected event does not advance the sequence"
        );
    }

    #[test]
    fn a_rollback_asks_for_a_reload() {
        let mut t = open(0);
        let r = t.fold(
            "thread/rolledBack",
            json!({"threadId": "t1", "numTurns": 1, "changedFiles": [], "seq": 1}),
        );
        assert_eq!(r.unwrap(), Folded::Reload);
    }
}
