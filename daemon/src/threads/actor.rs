//! The thread actor: one task per loaded thread, owning its state and its subscribers.
//!
//! Commands arrive on a bounded queue. The actor handles every command already waiting, then
//! commits all the events they produced in one transaction (group commit), then fans them out
//! and answers the commands. "Committed before sent" therefore costs one transaction per burst,
//! not one per event, and ordering is trivially the same for every subscriber because one task
//! writes every queue.

use std::sync::Arc;

use agentd_protocol::ThreadStatus;
use bytes::Bytes;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};

use super::catchup;
use super::event::{frame_for, PendingEvent};
use super::subscriber::{ConnectionId, Subscriber};
use super::{unix_now, ThreadError};
use crate::store::{CommitBatch, NewEvent, Projection, RowWrite, Store, ThreadRow};

/// Commands waiting beyond this many events are left for the next batch, so one huge burst
/// cannot delay the first subscriber's delivery indefinitely.
const MAX_EVENTS_PER_COMMIT: usize = 4096;

/// Largest delta text a merged event carries (bytes); past it the next delta starts a new event,
/// so no client gets one huge frame.
const MAX_MERGED_DELTA: usize = 16 * 1024;

/// The streamed-delta methods: consecutive queued deltas of one of these may be merged.
const MERGEABLE: [&str; 3] = [
    "item/agentMessage/delta",
    "item/reasoning/summaryTextDelta",
    "item/commandExecution/outputDelta",
];

/// The params that name the text a delta extends: its turn, item and (for reasoning) summary
/// part. Two deltas extend the same text when these are equal.
const MERGE_KEY: [&str; 3] = ["turnId", "itemId", "summaryIndex"];

/// An event with its seq, waiting for the commit; its params stay a `Value` until then so a
/// streamed delta can still be merged into it.
#[derive(Debug)]
struct Queued {
    seq: u64,
    kind: String,
    params: Value,
    /// A fire-and-forget streamed delta, which later deltas of the same text may extend.
    mergeable: bool,
}

impl Queued {
    fn seal(self) -> PendingEvent {
        let payload = self.params.to_string();
        let frame = frame_for(&self.kind, &payload);
        PendingEvent {
            seq: self.seq,
            kind: self.kind,
            payload,
            frame,
        }
    }
}
/// Depth of the actor's command queue; senders wait when it is full (back-pressure on the
/// producer — a turn's model stream — never on subscribers).
const COMMAND_QUEUE: usize = 1024;

/// A change a client asks for that becomes one event.
#[derive(Debug, Clone)]
pub enum ThreadUpdate {
    SetName(String),
    Archive,
    Unarchive,
}

/// The answer to a catch-up task asking to switch to live delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum GoLive {
    /// The subscriber now receives live events; the task is done.
    Live,
    /// More events were committed meanwhile; read on from the store.
    Behind,
    /// The subscription was dropped (unsubscribed, resubscribed or closed).
    Gone,
}

pub(super) type Reply<T> = oneshot::Sender<Result<T, ThreadError>>;

pub(super) enum Command {
    Subscribe {
        sub: Subscriber,
        after_seq: Option<u64>,
        reply: oneshot::Sender<(ThreadRow, u64)>,
    },
    GoLive {
        conn: ConnectionId,
        through: u64,
        reply: oneshot::Sender<GoLive>,
    },
    Unsubscribe {
        conn: ConnectionId,
        reply: oneshot::Sender<bool>,
    },
    Update {
        update: ThreadUpdate,
        reply: Reply<ThreadRow>,
    },
    Emit {
        method: String,
        params: Value,
        projections: Vec<Projection>,
        reply: Option<Reply<u64>>,
    },
    Snapshot {
        reply: oneshot::Sender<ThreadRow>,
    },
    Persist {
        projections: Vec<Projection>,
    },
    /// Answers once everything queued before it is committed.
    Barrier {
        reply: Reply<()>,
    },
    Turn(super::turns::TurnCommand),
    /// Rollback or a fork's snapshot: run between batches (see `history.rs`).
    History(super::history::HistoryOp),
    RequestApproval {
        method: String,
        params: Value,
        waiter: oneshot::Sender<super::approvals::ApprovalOutcome>,
        reply: oneshot::Sender<u64>,
    },
    AnswerApproval {
        approval: u64,
        conn: ConnectionId,
        client_name: String,
        outcome: Result<Value, agentd_protocol::jsonrpc::ErrorObject>,
    },
    CancelApproval {
        approval: u64,
        decision: agentd_protocol::ApprovalDecision,
        by: String,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

/// An answer held back until the batch it belongs to is committed.
pub(super) enum Deferred {
    Row(Reply<ThreadRow>),
    Seq(Reply<u64>, u64),
    Unit(Reply<()>),
    Json(Reply<Value>, Value),
    Rollback(Reply<super::history::RollbackOutcome>, Vec<String>),
}

/// Cheap, cloneable access to one thread actor.
#[derive(Clone)]
pub struct ActorHandle {
    pub(super) id: Arc<str>,
    tx: mpsc::Sender<Command>,
    status: watch::Receiver<ThreadStatus>,
    pub(super) store: Store,
}

impl ActorHandle {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn status(&self) -> ThreadStatus {
        self.status.borrow().clone()
    }

    fn closed(&self) -> ThreadError {
        ThreadError::Closed(self.id.to_string())
    }

    pub(super) async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, ThreadError> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(make(tx)).await.map_err(|_| self.closed())?;
        rx.await.map_err(|_| self.closed())
    }

    /// Registers `sub` and returns the thread as it is now plus the catch-up that must be
    /// started once the caller has sent its response (so the response precedes every event).
    pub async fn subscribe(
        &self,
        sub: Subscriber,
        after_seq: Option<u64>,
    ) -> Result<(ThreadRow, CatchUp), ThreadError> {
        let sub2 = sub.clone();
        let (row, from) = self
            .call(|reply| Command::Subscribe {
                sub: sub2,
                after_seq,
                reply,
            })
            .await?;
        Ok((
            row,
            CatchUp {
                handle: self.clone(),
                sub,
                from,
            },
        ))
    }

    pub async fn unsubscribe(&self, conn: ConnectionId) -> bool {
        self.call(|reply| Command::Unsubscribe { conn, reply })
            .await
            .unwrap_or(false)
    }

    pub(super) async fn go_live(&self, conn: ConnectionId, through: u64) -> GoLive {
        self.call(|reply| Command::GoLive {
            conn,
            through,
            reply,
        })
        .await
        .unwrap_or(GoLive::Gone)
    }

    /// Applies a change and returns the thread row once its event is committed.
    pub async fn update(&self, update: ThreadUpdate) -> Result<ThreadRow, ThreadError> {
        self.call(|reply| Command::Update { update, reply }).await?
    }

    /// Appends an event (and the projection changes it describes); resolves to its `seq` once
    /// committed and fanned out.
    pub async fn emit(
        &self,
        method: &str,
        params: Value,
        projections: Vec<Projection>,
    ) -> Result<u64, ThreadError> {
        let method = method.to_owned();
        self.call(|reply| Command::Emit {
            method,
            params,
            projections,
            reply: Some(reply),
        })
        .await?
    }

    /// Queues an event without waiting for its commit: the turn loop streams deltas this way,
    /// so the actor can group many of them into one transaction. Waits only for queue room.
    pub async fn emit_nowait(
        &self,
        method: &str,
        params: Value,
        projections: Vec<Projection>,
    ) -> Result<(), ThreadError> {
        self.tx
            .send(Command::Emit {
                method: method.to_owned(),
                params,
                projections,
                reply: None,
            })
            .await
            .map_err(|_| self.closed())
    }

    /// Queues projection rows with no event of their own (a tool output entering history):
    /// they commit with the next batch.
    pub async fn persist(&self, projections: Vec<Projection>) -> Result<(), ThreadError> {
        self.tx
            .send(Command::Persist { projections })
            .await
            .map_err(|_| self.closed())
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Resolves once everything queued before it is committed.
    pub async fn barrier(&self) -> Result<(), ThreadError> {
        self.call(|reply| Command::Barrier { reply }).await?
    }

    pub(super) async fn turn_command<T>(
        &self,
        make: impl FnOnce(Reply<T>) -> super::turns::TurnCommand,
    ) -> Result<T, ThreadError> {
        self.call(|reply| Command::Turn(make(reply))).await?
    }

    pub(super) async fn send_turn_command(&self, cmd: super::turns::TurnCommand) {
        let _ = self.tx.send(Command::Turn(cmd)).await;
    }

    /// Asks every subscriber (now and later) to approve; returns the approval's id and where
    /// its outcome will arrive.
    pub async fn request_approval(
        &self,
        method: &str,
        params: Value,
    ) -> Result<(u64, oneshot::Receiver<super::approvals::ApprovalOutcome>), ThreadError> {
        let (waiter, outcome) = oneshot::channel();
        let method = method.to_owned();
        let id = self
            .call(|reply| Command::RequestApproval {
                method,
                params,
                waiter,
                reply,
            })
            .await?;
        Ok((id, outcome))
    }

    pub async fn answer_approval(
        &self,
        approval: u64,
        conn: ConnectionId,
        client_name: String,
        outcome: Result<Value, agentd_protocol::jsonrpc::ErrorObject>,
    ) {
        let _ = self
            .tx
            .send(Command::AnswerApproval {
                approval,
                conn,
                client_name,
                outcome,
            })
            .await;
    }

    pub async fn cancel_approval(
        &self,
        approval: u64,
        decision: agentd_protocol::ApprovalDecision,
        by: &str,
    ) {
        let _ = self
            .tx
            .send(Command::CancelApproval {
                approval,
                decision,
                by: by.to_owned(),
            })
            .await;
    }

    pub async fn snapshot(&self) -> Result<ThreadRow, ThreadError> {
        self.call(|reply| Command::Snapshot { reply }).await
    }

    /// Commits whatever is queued and stops the actor.
    pub async fn shutdown(&self) {
        let _ = self.call(|reply| Command::Shutdown { reply }).await;
    }
}

/// Replays stored events to a new subscriber, then hands it over to live delivery.
pub struct CatchUp {
    handle: ActorHandle,
    sub: Subscriber,
    from: u64,
}

impl CatchUp {
    pub fn start(self) {
        tokio::spawn(catchup::run(self.handle, self.sub, self.from));
    }
}

pub(super) struct ThreadActor {
    pub(super) store: Store,
    /// The row as it will be after the next commit.
    pub(super) row: ThreadRow,
    /// The row as last committed: `last_seq` here is what the store holds.
    committed: ThreadRow,
    /// Whether `committed` is in the store (false for a new thread until its first commit).
    row_stored: bool,
    next_seq: u64,
    pending: Vec<Queued>,
    pub(super) projections: Vec<Projection>,
    pub(super) deferred: Vec<Deferred>,
    row_dirty: bool,
    pub(super) live: Vec<Subscriber>,
    catching_up: Vec<Subscriber>,
    pub(super) approvals: super::approvals::Approvals,
    pub(super) status: watch::Sender<ThreadStatus>,
    rx: mpsc::Receiver<Command>,
    pub(super) turns: super::turns::TurnState,
    /// Our own handle, for spawning turn tasks that talk back to us. Weak in spirit: the actor
    /// ends when every external handle is gone *and* no turn runs.
    pub(super) me: Option<mpsc::WeakSender<Command>>,
    pub(super) services: std::sync::Arc<crate::agent::AgentServices>,
    pub(super) handle_template: Option<(Arc<str>, watch::Receiver<ThreadStatus>)>,
    shutdown_reply: Option<oneshot::Sender<()>>,
    /// A history operation to run once the batch before it is committed.
    history_op: Option<super::history::HistoryOp>,
}

impl ThreadActor {
    /// Spawns the actor for `row`. `committed` says whether the row is already in the store
    /// (a loaded thread) or is new (its first commit inserts it).
    pub(super) fn spawn(
        store: Store,
        services: std::sync::Arc<crate::agent::AgentServices>,
        row: ThreadRow,
        committed: bool,
        stale_turns: Vec<crate::store::TurnRow>,
        turn_count: i64,
    ) -> ActorHandle {
        let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
        let (status_tx, status_rx) = watch::channel(ThreadStatus::Idle);
        let id: Arc<str> = Arc::from(row.id.as_str());
        let actor = ThreadActor {
            turns: super::turns::TurnState::new(turn_count),
            me: Some(tx.downgrade()),
            services,
            handle_template: Some((id.clone(), status_rx.clone())),
            shutdown_reply: None,
            history_op: None,
            store: store.clone(),
            next_seq: row.last_seq + 1,
            committed: row.clone(),
            row_stored: committed,
            row,
            pending: Vec::new(),
            projections: Vec::new(),
            deferred: Vec::new(),
            row_dirty: !committed,
            live: Vec::new(),
            catching_up: Vec::new(),
            approvals: Default::default(),
            status: status_tx,
            rx,
        };
        tokio::spawn(actor.run(stale_turns));
        ActorHandle {
            id,
            tx,
            status: status_rx,
            store,
        }
    }

    async fn run(mut self, stale_turns: Vec<crate::store::TurnRow>) {
        // A new thread's row is not written on its own: it commits with the first command's
        // batch (its `thread/started`, and a fork's copied rows), so it never exists half-made.
        if !stale_turns.is_empty() {
            for t in stale_turns {
                self.end_stale_turn(t);
            }
            self.flush().await;
        }
        while let Some(cmd) = self.rx.recv().await {
            let mut shutdown = self.handle(cmd);
            // A history operation ends the batch: commands after it must see its outcome.
            while shutdown.is_none()
                && self.history_op.is_none()
                && self.pending.len() < MAX_EVENTS_PER_COMMIT
            {
                match self.rx.try_recv() {
                    Ok(cmd) => shutdown = self.handle(cmd),
                    Err(_) => break,
                }
            }
            if let Some(reply) = shutdown {
                // A running turn is told to stop; we keep serving its events until it has
                // written its `turn/completed`, then answer the shutdown.
                if self.turns.is_running() {
                    self.turns.cancel_running();
                    self.shutdown_reply = Some(reply);
                } else {
                    self.flush().await;
                    let _ = reply.send(());
                    break;
                }
            }
            self.flush().await;
            if let Some(op) = self.history_op.take() {
                self.run_history_op(op).await;
                self.flush().await;
            }
            if self.shutdown_reply.is_some() && !self.turns.is_running() {
                if let Some(reply) = self.shutdown_reply.take() {
                    let _ = reply.send(());
                }
                break;
            }
        }
        tracing::debug!(thread = %self.row.id, "thread actor stopped");
    }

    /// The thread row as last committed.
    pub(super) fn committed_row(&self) -> &ThreadRow {
        &self.committed
    }

    /// The newest committed seq (what non-log notifications report).
    pub(super) fn committed_seq(&self) -> u64 {
        self.committed.last_seq
    }

    /// A handle to ourselves for a turn task, if the actor is still reachable.
    pub(super) fn self_handle(&self) -> Option<ActorHandle> {
        let tx = self.me.as_ref()?.upgrade()?;
        let (id, status) = self.handle_template.clone()?;
        Some(ActorHandle {
            id,
            tx,
            status,
            store: self.store.clone(),
        })
    }

    /// Applies one command; events it produces wait in `pending` for the batch commit.
    fn handle(&mut self, cmd: Command) -> Option<oneshot::Sender<()>> {
        match cmd {
            Command::Subscribe {
                sub,
                after_seq,
                reply,
            } => {
                self.drop_subscriber(sub.conn);
                let head = self.committed.last_seq;
                let from = after_seq.map_or(head, |s| s.min(head));
                self.catching_up.push(sub);
                let _ = reply.send((self.committed.clone(), from));
            }
            Command::GoLive {
                conn,
                through,
                reply,
            } => {
                let answer = match self.catching_up.iter().position(|s| s.conn == conn) {
                    None => GoLive::Gone,
                    Some(_) if through < self.committed.last_seq => GoLive::Behind,
                    Some(ix) => {
                        let sub = self.catching_up.swap_remove(ix);
                        self.send_pending_approvals(&sub);
                        self.live.push(sub);
                        GoLive::Live
                    }
                };
                let _ = reply.send(answer);
            }
            Command::Unsubscribe { conn, reply } => {
                let _ = reply.send(self.drop_subscriber(conn));
            }
            Command::Update { update, reply } => {
                self.apply_update(update);
                self.deferred.push(Deferred::Row(reply));
            }
            Command::Emit {
                method,
                params,
                projections,
                reply,
            } => {
                match reply {
                    // Only fire-and-forget deltas merge: a caller waiting for its seq gets an
                    // event of its own.
                    None if projections.is_empty() && MERGEABLE.contains(&method.as_str()) => {
                        self.push_streamed(&method, params)
                    }
                    None => {
                        self.push_event(&method, params);
                    }
                    Some(reply) => {
                        let seq = self.push_event(&method, params);
                        self.deferred.push(Deferred::Seq(reply, seq));
                    }
                }
                self.projections.extend(projections);
            }
            Command::Snapshot { reply } => {
                let _ = reply.send(self.committed.clone());
            }
            Command::Barrier { reply } => self.deferred.push(Deferred::Unit(reply)),
            Command::Persist { projections } => self.projections.extend(projections),
            Command::Turn(cmd) => self.handle_turn(cmd),
            Command::History(op) => self.history_op = Some(op),
            Command::RequestApproval {
                method,
                params,
                waiter,
                reply,
            } => {
                let id = self.request_approval(method, params, waiter);
                let _ = reply.send(id);
            }
            Command::AnswerApproval {
                approval,
                conn,
                client_name,
                outcome,
            } => self.answer_approval(approval, conn, client_name, outcome),
            Command::CancelApproval {
                approval,
                decision,
                by,
            } => self.cancel_approval(approval, decision, &by),
            Command::Shutdown { reply } => return Some(reply),
        }
        None
    }

    fn drop_subscriber(&mut self, conn: ConnectionId) -> bool {
        let before = self.live.len() + self.catching_up.len();
        self.live.retain(|s| s.conn != conn);
        self.catching_up.retain(|s| s.conn != conn);
        before != self.live.len() + self.catching_up.len()
    }

    fn apply_update(&mut self, update: ThreadUpdate) {
        let id = self.row.id.clone();
        match update {
            ThreadUpdate::SetName(name) => {
                self.row.name = Some(name.clone());
                self.push_event(
                    "thread/name/updated",
                    serde_json::json!({"threadId": id, "threadName": name}),
                );
            }
            ThreadUpdate::Archive => {
                self.row.archived = true;
                self.push_event("thread/archived", serde_json::json!({"threadId": id}));
            }
            ThreadUpdate::Unarchive => {
                self.row.archived = false;
                self.push_event("thread/unarchived", serde_json::json!({"threadId": id}));
            }
        }
    }

    /// Assigns the next seq, stamps it into the params and serialises the event once.
    pub(super) fn push_event(&mut self, method: &str, mut params: Value) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        if let Value::Object(map) = &mut params {
            map.insert("seq".into(), Value::from(seq));
        }
        self.pending.push(Queued {
            seq,
            kind: method.to_owned(),
            params,
            mergeable: false,
        });
        self.row_dirty = true;
        seq
    }

    /// Queues a streamed delta (`item/*Delta`, `item/agentMessage/delta`), merging it into the
    /// event queued just before it when that is a delta of the same item (and summary part)
    /// with room left: while a commit is in flight, a burst of deltas then becomes one event
    /// per item per batch instead of one per model chunk, so what waits behind the commit is
    /// committed and delivered at once. The text, its order and the seq sequence are unchanged;
    /// only the number of events is smaller. A paced stream, each delta committed before the
    /// next arrives, is not merged at all.
    fn push_streamed(&mut self, method: &str, params: Value) {
        let Some(addition) = params.get("delta").and_then(Value::as_str) else {
            self.push_event(method, params);
            return;
        };
        if let Some(last) = self.pending.last_mut() {
            let same_text = last.mergeable
                && last.kind == method
                && MERGE_KEY
                    .iter()
                    .all(|k| last.params.get(k) == params.get(k));
            if let Some(Value::String(text)) = last.params.get_mut("delta") {
                if same_text && text.len() + addition.len() <= MAX_MERGED_DELTA {
                    text.push_str(addition);
                    return;
                }
            }
        }
        self.push_event(method, params);
        if let Some(last) = self.pending.last_mut() {
            last.mergeable = true;
        }
    }

    /// Commits the batch, then fans it out, then answers the commands that made it.
    async fn flush(&mut self) {
        let deferred = std::mem::take(&mut self.deferred);
        if !self.row_dirty && self.pending.is_empty() && self.projections.is_empty() {
            // Nothing to write: answers waiting on "committed" (barriers) are already true.
            self.answer(deferred, None);
            return;
        }
        let now = unix_now();
        self.row.last_seq = self.next_seq - 1;
        if !self.pending.is_empty() {
            self.row.updated_at = now;
        }
        // Serialised once, now that no delta can be merged into them any more.
        let events: Vec<PendingEvent> = std::mem::take(&mut self.pending)
            .into_iter()
            .map(Queued::seal)
            .collect();
        let batch = CommitBatch {
            thread: self.row.clone(),
            events: events
                .iter()
                .map(|e| NewEvent {
                    seq: e.seq,
                    kind: e.kind.clone(),
                    payload: e.payload.clone(),
                    created_at: now,
                })
                .collect(),
            projections: std::mem::take(&mut self.projections),
        };
        // Most batches (every streamed delta) only advance `last_seq`/`updated_at`; the store
        // then skips the upsert that rewrites the row's index entries.
        let row_write = if self.row_stored && self.row.only_progress_differs(&self.committed) {
            RowWrite::Progress
        } else {
            RowWrite::Upsert
        };
        match self.store.commit_with(&batch, row_write).await {
            Ok(()) => {
                self.committed = self.row.clone();
                self.row_stored = true;
                self.row_dirty = false;
                self.fan_out(&events);
                self.answer(deferred, None);
            }
            Err(e) => {
                // Nothing of the batch reached a client; rewind so seq stays gap-free.
                tracing::error!(thread = %self.row.id, error = %e, "commit failed; events dropped");
                self.row = self.committed.clone();
                self.next_seq = self.committed.last_seq + 1;
                self.answer(deferred, Some(e.to_string()));
            }
        }
    }

    /// Answers held-back commands: with their results, or with the commit's failure.
    fn answer(&self, deferred: Vec<Deferred>, failure: Option<String>) {
        let err = || ThreadError::CommitFailed(failure.clone().unwrap_or_default());
        let failed = failure.is_some();
        for d in deferred {
            match d {
                Deferred::Row(r) => {
                    let _ = r.send(if failed {
                        Err(err())
                    } else {
                        Ok(self.committed.clone())
                    });
                }
                Deferred::Seq(r, seq) => {
                    let _ = r.send(if failed { Err(err()) } else { Ok(seq) });
                }
                Deferred::Unit(r) => {
                    let _ = r.send(if failed { Err(err()) } else { Ok(()) });
                }
                Deferred::Json(r, v) => {
                    let _ = r.send(if failed { Err(err()) } else { Ok(v) });
                }
                Deferred::Rollback(r, changed_files) => {
                    let _ = r.send(if failed {
                        Err(err())
                    } else {
                        Ok(super::history::RollbackOutcome {
                            thread: self.committed.clone(),
                            changed_files,
                        })
                    });
                }
            }
        }
    }

    /// Offers every event to every live subscriber without ever waiting. A subscriber whose
    /// queue is full is dropped from live delivery and told to resync as soon as it has room;
    /// the others are not slowed by it.
    fn fan_out(&mut self, events: &[PendingEvent]) {
        if events.is_empty() {
            return;
        }
        let thread_id = &self.row.id;
        self.live.retain(|sub| {
            for ev in events {
                if !sub.wants(&ev.kind) {
                    continue;
                }
                match sub.tx.try_send(ev.frame.clone()) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        tracing::info!(thread = %thread_id, conn = sub.conn, after_seq = ev.seq - 1,
                            "subscriber queue full; asking it to resync");
                        tokio::spawn(send_resync(sub.tx.clone(), thread_id.clone(), ev.seq - 1));
                        return false;
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => return false,
                }
            }
            true
        });
    }
}

/// Waits for room in a lagging subscriber's queue, then tells it where to resume from.
async fn send_resync(tx: mpsc::Sender<Bytes>, thread_id: String, after_seq: u64) {
    if let Ok(permit) = tx.reserve().await {
        let params = serde_json::json!({"threadId": thread_id, "afterSeq": after_seq});
        permit.send(frame_for("thread/resyncRequired", &params.to_string()));
    }
}

impl Drop for ThreadActor {
    fn drop(&mut self) {
        let _ = self.status.send(ThreadStatus::NotLoaded);
    }
}
