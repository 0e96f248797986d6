//! Turning the turn's progress into thread events. Each method queues one event (plus the
//! projection rows it implies) on the thread actor without waiting for the commit, so a stream
//! of deltas becomes a few group commits instead of one transaction per delta.

use agentd_protocol::ThreadItem;
use serde_json::{json, Value};

use super::{now_ms, ThreadError, TurnLink};
use crate::model::HistoryItem;
use crate::store::{HistoryRow, ItemRow, Projection};

pub struct TurnEmitter {
    pub link: TurnLink,
    pub thread_id: String,
    pub turn_id: String,
    /// Position of the next item in the turn (the user's message is 0).
    next_position: i64,
}

impl TurnEmitter {
    pub fn new(link: TurnLink, thread_id: String) -> Self {
        let turn_id = link.turn_id.clone();
        TurnEmitter {
            link,
            thread_id,
            turn_id,
            next_position: 1,
        }
    }

    pub fn next_position(&mut self) -> i64 {
        let p = self.next_position;
        self.next_position += 1;
        p
    }

    pub async fn event(
        &self,
        method: &str,
        params: Value,
        projections: Vec<Projection>,
    ) -> Result<(), ThreadError> {
        self.link
            .handle
            .emit_nowait(method, params, projections)
            .await
    }

    pub fn handle(&self) -> &super::ActorHandle {
        &self.link.handle
    }

    pub async fn item_started(&self, item: &ThreadItem) -> Result<(), ThreadError> {
        self.event(
            "item/started",
            json!({"threadId": self.thread_id, "turnId": self.turn_id, "item": item, "startedAtMs": now_ms()}),
            Vec::new(),
        )
        .await
    }

    /// Completes an item: the event carries the authoritative content, and the item row is
    /// written in the same commit.
    pub async fn item_completed(
        &self,
        item: &ThreadItem,
        position: i64,
    ) -> Result<(), ThreadError> {
        let payload = serde_json::to_value(item).unwrap_or(Value::Null);
        let kind = payload["type"].as_str().unwrap_or("unknown").to_owned();
        let row = ItemRow {
            id: item.id().to_owned(),
            thread_id: self.thread_id.clone(),
            turn_id: self.turn_id.clone(),
            position,
            kind,
            payload,
        };
        self.event(
            "item/completed",
            json!({"threadId": self.thread_id, "turnId": self.turn_id, "item": item, "completedAtMs": now_ms()}),
            vec![Projection::Item(row)],
        )
        .await
    }

    pub fn history_rows(&self, items: &[HistoryItem]) -> Vec<Projection> {
        items
            .iter()
            .map(|h| {
                Projection::History(HistoryRow {
                    thread_id: self.thread_id.clone(),
                    turn_id: self.turn_id.clone(),
                    payload: serde_json::to_value(h).unwrap_or(Value::Null),
                })
            })
            .collect()
    }
}
