//! History operations on a thread: rolling back its last turns, and the consistent cut a fork
//! copies.
//!
//! Both need to read the store and must see the thread exactly as its committed events say, with
//! nothing committing in between. The actor therefore runs them itself, between batches: it
//! stops draining its queue at such a command, commits what it holds, runs the operation (the
//! only thing it does meanwhile), and commits the operation's own event. A turn is either
//! running or not for the whole operation, and no event can slip between the read and the
//! change. See `docs/decisions/004-history-operations.md`.

use std::collections::HashMap;

use agentd_protocol::ThreadRolledBackNotification;

use super::actor::ThreadActor;
use super::commit::Deferred;
use super::handle::{ActorHandle, Command, Reply};
use super::ThreadError;
use crate::store::{HistoryEntry, HistoryRow, ItemRow, Projection, ThreadRow, TurnRow, TurnState};

/// What `thread/rollback` answers, once its event is committed.
#[derive(Debug, Clone)]
pub struct RollbackOutcome {
    pub thread: ThreadRow,
    /// Paths the dropped turns changed (not reverted).
    pub changed_files: Vec<String>,
}

/// A thread cut after one of its turns: the rows a fork copies.
#[derive(Debug, Clone)]
pub struct ForkSnapshot {
    pub source: ThreadRow,
    pub turns: Vec<TurnRow>,
    pub items: Vec<ItemRow>,
    pub history: Vec<HistoryEntry>,
}

/// An operation the actor runs between batches (see the module docs).
pub(super) enum HistoryOp {
    Rollback {
        num_turns: u32,
        reply: Reply<RollbackOutcome>,
    },
    Fork {
        last_turn_id: Option<String>,
        reply: Reply<ForkSnapshot>,
    },
}

impl HistoryOp {
    /// Answers the operation with `e` without running it (a follower holds no history).
    pub(super) fn refuse(self, e: ThreadError) {
        use super::follower::refuse;
        match self {
            HistoryOp::Rollback { reply, .. } => refuse(reply, e),
            HistoryOp::Fork { reply, .. } => refuse(reply, e),
        }
    }
}

impl ThreadActor {
    pub(super) async fn run_history_op(&mut self, op: HistoryOp) {
        match op {
            HistoryOp::Rollback { num_turns, reply } => match self.roll_back(num_turns).await {
                Ok(files) => self.deferred.push(Deferred::Rollback(reply, files)),
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            },
            HistoryOp::Fork {
                last_turn_id,
                reply,
            } => {
                let _ = reply.send(self.fork_snapshot(last_turn_id).await);
            }
        }
    }

    /// Marks the last `n` turns rolled back and queues `thread/rolledBack`; returns the files
    /// those turns changed.
    async fn roll_back(&mut self, n: u32) -> Result<Vec<String>, ThreadError> {
        let thread_id = self.row.id.clone();
        if let Some(running) = self.turns.running_id() {
            return Err(ThreadError::Conflict(format!(
                "turn {running} is running on thread {thread_id}; interrupt it or wait for it \
                 to end before rolling back"
            )));
        }
        if n == 0 {
            return Err(ThreadError::Invalid(
                "numTurns",
                "must be at least 1".into(),
            ));
        }
        let turns: Vec<TurnRow> = self
            .store
            .turns(&thread_id)
            .await?
            .into_iter()
            .filter(|t| !t.rolled_back)
            .collect();
        if n as usize > turns.len() {
            return Err(ThreadError::Invalid(
                "numTurns",
                format!("the thread has {} turns", turns.len()),
            ));
        }
        let dropped: Vec<String> = turns[turns.len() - n as usize..]
            .iter()
            .map(|t| t.id.clone())
            .collect();
        let changed_files = self.store.changed_files(&dropped).await?;
        self.projections.push(Projection::RollBack {
            thread_id: thread_id.clone(),
            turn_ids: dropped,
        });
        self.push(&ThreadRolledBackNotification {
            thread_id,
            num_turns: n,
            changed_files: changed_files.clone(),
            seq: 0,
        });
        Ok(changed_files)
    }

    /// The thread's turns up to and including `last_turn_id` (default: every finished turn),
    /// with their items and history rows. The running turn is never part of it.
    async fn fork_snapshot(
        &self,
        last_turn_id: Option<String>,
    ) -> Result<ForkSnapshot, ThreadError> {
        let thread_id = &self.row.id;
        let running = self.turns.running_id();
        let turns: Vec<TurnRow> = self
            .store
            .turns(thread_id)
            .await?
            .into_iter()
            .filter(|t| !t.rolled_back)
            .collect();
        let end = match &last_turn_id {
            None => turns.len(),
            Some(id) if Some(id.as_str()) == running => {
                return Err(ThreadError::Conflict(format!(
                    "turn {id} is still running on thread {thread_id}; fork after a finished turn"
                )))
            }
            Some(id) => {
                turns.iter().position(|t| &t.id == id).ok_or_else(|| {
                    ThreadError::NotFound(format!("turn {id} on thread {thread_id}"))
                })? + 1
            }
        };
        let turns: Vec<TurnRow> = turns
            .into_iter()
            .take(end)
            .filter(|t| Some(t.id.as_str()) != running && t.status != TurnState::InProgress)
            .collect();
        let kept: std::collections::HashSet<&str> = turns.iter().map(|t| t.id.as_str()).collect();
        let items = self
            .store
            .items(thread_id)
            .await?
            .into_iter()
            .filter(|i| kept.contains(i.turn_id.as_str()))
            .collect();
        let history = self
            .store
            .history_entries(thread_id)
            .await?
            .into_iter()
            .filter(|h| kept.contains(h.turn_id.as_str()))
            .collect();
        Ok(ForkSnapshot {
            source: self.committed_row().clone(),
            turns,
            items,
            history,
        })
    }
}

impl ForkSnapshot {
    /// The snapshot's rows under new ids for the fork `thread_id`: turns (renumbered from 0),
    /// items (ids inside payloads too) and history rows, in the order they must be written.
    /// A history row compacted by a copied turn stays compacted (by the copy); one compacted by
    /// a turn that was not copied is in effect in the fork, as it was at the cut.
    pub fn into_fork_rows(self, thread_id: &str) -> (Vec<Projection>, i64) {
        let new_id = || uuid::Uuid::now_v7().to_string();
        let turn_ids: HashMap<String, String> = self
            .turns
            .iter()
            .map(|t| (t.id.clone(), new_id()))
            .collect();
        let count = self.turns.len() as i64;
        let mut out = Vec::with_capacity(self.turns.len() + self.items.len() + self.history.len());
        for (position, t) in self.turns.into_iter().enumerate() {
            out.push(Projection::Turn(TurnRow {
                id: turn_ids[&t.id].clone(),
                thread_id: thread_id.to_owned(),
                position: position as i64,
                client_request_id: None,
                rolled_back: false,
                ..t
            }));
        }
        for i in self.items {
            let Some(turn_id) = turn_ids.get(&i.turn_id) else {
                continue;
            };
            let id = new_id();
            let mut payload = i.payload;
            if let Some(obj) = payload.as_object_mut() {
                obj.insert("id".into(), id.clone().into());
            }
            out.push(Projection::Item(ItemRow {
                id,
                thread_id: thread_id.to_owned(),
                turn_id: turn_id.clone(),
                position: i.position,
                kind: i.kind,
                payload,
            }));
        }
        for h in self.history {
            let Some(turn_id) = turn_ids.get(&h.turn_id) else {
                continue;
            };
            out.push(Projection::CopiedHistory {
                row: HistoryRow {
                    thread_id: thread_id.to_owned(),
                    turn_id: turn_id.clone(),
                    payload: h.payload,
                },
                compacted_by: h.compacted_by.and_then(|c| turn_ids.get(&c).cloned()),
            });
        }
        (out, count)
    }
}

impl ActorHandle {
    /// Rolls back the last `num_turns` turns; refused while a turn runs.
    pub async fn rollback(&self, num_turns: u32) -> Result<RollbackOutcome, ThreadError> {
        self.history_op(|reply| HistoryOp::Rollback { num_turns, reply })
            .await
    }

    /// The rows a fork after `last_turn_id` (default: the last finished turn) copies.
    pub async fn fork_snapshot(
        &self,
        last_turn_id: Option<String>,
    ) -> Result<ForkSnapshot, ThreadError> {
        self.history_op(|reply| HistoryOp::Fork {
            last_turn_id,
            reply,
        })
        .await
    }

    async fn history_op<T>(
        &self,
        make: impl FnOnce(Reply<T>) -> HistoryOp,
    ) -> Result<T, ThreadError> {
        self.call(|reply| Command::History(make(reply))).await?
    }
}
