//! One open thread as the user sees it: its items in order, folded first from `thread/resume`'s
//! turns and then from live notifications. Pure state with no I/O, so the folding is tested from
//! recorded messages without a daemon.
//!
//! Exactly-once display rests on `seq`: every logged thread event carries the next number, and an
//! event at or below the newest one already folded is a duplicate (a replay overlapping what the
//! resume result already contained) and is skipped.

use std::collections::HashMap;

use agentd_protocol::{
    AgentMessageDeltaNotification, AgentMessageItem, CommandExecutionOutputDeltaNotification,
    ErrorNotification, ItemCompletedNotification, ItemStartedNotification,
    ReasoningSummaryTextDeltaNotification, Thread, ThreadItem, ThreadNameUpdatedNotification,
    ThreadStatusChangedNotification, TurnCompletedNotification, TurnDiffUpdatedNotification,
    TurnError, TurnPlanStep, TurnPlanUpdatedNotification, TurnStartedNotification, TurnStatus,
    UserInput,
};
use anyhow::{Context, Result};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// One block of the transcript.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Item(ThreadItem),
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

impl Transcript {
    /// The transcript of a thread as `thread/start`, `thread/resume` or `thread/read` returned
    /// it (with its turns).
    pub fn from_thread(mut thread: Thread) -> Transcript {
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
        for turn in turns {
            for item in turn.items {
                t.upsert(item);
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

    /// Replaces the item with the same id, or appends it.
    fn upsert(&mut self, item: ThreadItem) {
        if let ThreadItem::UserMessage(m) = &item {
            // The daemon previews a thread by its first message; a fresh thread has none yet.
            if self.thread.preview.is_empty() {
                if let Some(UserInput::Text { text, .. }) = m.content.first() {
                    self.thread.preview = text.clone();
                }
            }
        }
        match self.index.get(item.id()) {
            Some(&at) => self.entries[at] = Entry::Item(item),
            None => {
                self.index.insert(item.id().to_string(), self.entries.len());
                self.entries.push(Entry::Item(item));
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
            "item/started" => {
                let n: ItemStartedNotification = decode(method, params)?;
                self.upsert(n.item);
            }
            "item/completed" => {
                let n: ItemCompletedNotification = decode(method, params)?;
                self.upsert(n.item);
            }
            "item/agentMessage/delta" => {
                let n: AgentMessageDeltaNotification = decode(method, params)?;
                match self.item_mut(&n.item_id) {
                    Some(ThreadItem::AgentMessage(m)) => m.text.push_str(&n.delta),
                    _ => self.upsert(ThreadItem::AgentMessage(AgentMessageItem {
                        id: n.item_id,
                        text: n.delta,
                    })),
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
                let n: TurnStartedNotification = decode(method, params)?;
                self.running_turn = Some(n.turn.id);
                self.plan.clear();
                self.diff.clear();
            }
            "turn/completed" => {
                let n: TurnCompletedNotification = decode(method, params)?;
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
