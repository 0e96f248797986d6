//! Turning a turn's progress into thread events. Each method queues one event (plus the
//! projection rows it implies) without waiting for its commit, so a stream of deltas becomes a
//! few group commits instead of one transaction per delta.

use agentd_protocol::{
    ItemCompletedNotification, ItemStartedNotification, ServerNotification, ThreadItem,
};
use serde_json::Value;

use super::{PortRequest, ThreadError, ThreadLink};
use crate::clock::now_ms;
use crate::model::HistoryItem;
use crate::store::{HistoryRow, ItemRow, Projection};

pub struct TurnEmitter {
    link: ThreadLink,
    /// Position of the next item in the turn (the user's message is 0).
    next_position: i64,
}

impl TurnEmitter {
    pub fn new(link: ThreadLink) -> Self {
        TurnEmitter {
            link,
            next_position: 1,
        }
    }

    pub fn link(&self) -> &ThreadLink {
        &self.link
    }

    pub fn thread_id(&self) -> &str {
        self.link.thread_id()
    }

    pub fn turn_id(&self) -> &str {
        self.link.turn_id()
    }

    /// Reserves the next item position in the turn.
    pub fn next_position(&mut self) -> i64 {
        let p = self.next_position;
        self.next_position += 1;
        p
    }

    /// Queues a notification. Its `seq` is assigned by the thread when it is appended.
    pub async fn notify<N: ServerNotification>(
        &self,
        notification: &N,
        projections: Vec<Projection>,
    ) -> Result<(), ThreadError> {
        let params = serde_json::to_value(notification)
            .map_err(|e| ThreadError::Invalid(N::METHOD, e.to_string()))?;
        self.link
            .send(PortRequest::Emit {
                method: N::METHOD,
                params,
                projections,
            })
            .await
    }

    pub async fn item_started(&self, item: &ThreadItem) -> Result<(), ThreadError> {
        let started = ItemStartedNotification {
            thread_id: self.thread_id().to_owned(),
            turn_id: self.turn_id().to_owned(),
            item: item.clone(),
            started_at_ms: now_ms(),
            seq: 0,
        };
        self.notify(&started, Vec::new()).await
    }

    /// Completes an item: the event carries the authoritative content, and the item row is
    /// written in the same commit.
    pub async fn item_completed(
        &self,
        item: &ThreadItem,
        position: i64,
    ) -> Result<(), ThreadError> {
        self.item_completed_with(item, position, Vec::new()).await
    }

    /// [`Self::item_completed`], committing `projections` in the same transaction (a
    /// compaction's new history commits with its item).
    pub async fn item_completed_with(
        &self,
        item: &ThreadItem,
        position: i64,
        mut projections: Vec<Projection>,
    ) -> Result<(), ThreadError> {
        projections.push(Projection::Item(self.item_row(item, position)));
        let completed = ItemCompletedNotification {
            thread_id: self.thread_id().to_owned(),
            turn_id: self.turn_id().to_owned(),
            item: item.clone(),
            completed_at_ms: now_ms(),
            seq: 0,
        };
        self.notify(&completed, projections).await
    }

    fn item_row(&self, item: &ThreadItem, position: i64) -> ItemRow {
        let payload = serde_json::to_value(item).unwrap_or(Value::Null);
        let kind = payload["type"].as_str().unwrap_or("unknown").to_owned();
        ItemRow {
            id: item.id().to_owned(),
            thread_id: self.thread_id().to_owned(),
            turn_id: self.turn_id().to_owned(),
            position,
            kind,
            payload,
        }
    }

    /// The rows that put `items` into the thread's model-facing history.
    pub fn history_rows(&self, items: &[HistoryItem]) -> Vec<Projection> {
        items
            .iter()
            .map(|h| {
                Projection::History(HistoryRow {
                    thread_id: self.thread_id().to_owned(),
                    turn_id: self.turn_id().to_owned(),
                    payload: serde_json::to_value(h).unwrap_or(Value::Null),
                })
            })
            .collect()
    }
}
