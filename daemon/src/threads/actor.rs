//! The thread actor: one task per loaded thread, owning its state and its subscribers.
//!
//! Two queues feed it: [`Command`]s from clients (through [`ActorHandle`]s) and
//! [`PortRequest`]s from its running turn (through the turn's `ThreadLink`). The actor handles
//! everything already waiting on both, then commits all the events they produced in one
//! transaction (group commit, `commit.rs`), then fans them out (`fanout.rs`) and answers.
//! "Committed before sent" therefore costs one transaction per burst, not one per event, and
//! ordering is trivially the same for every subscriber because one task writes every queue.

use crate::tools::hooks::HookContext;
use std::sync::Arc;

use agentd_protocol::ThreadStatus;
use tokio::sync::{mpsc, oneshot, watch};

use super::commit::{Deferred, Queued};
use super::handle::{ActorHandle, Command, GoLive};
use super::idle::IdleClock;
use super::subscriber::{ConnectionId, Subscriber};
use crate::agent::AgentServices;
use crate::port::{PortRequest, PORT_QUEUE};
use crate::store::{Projection, Store, ThreadRow, TurnRow};
use crate::tools::SessionApprovals;

/// Commands waiting beyond this many events are left for the next batch, so one huge burst
/// cannot delay the first subscriber's delivery indefinitely.
const MAX_EVENTS_PER_COMMIT: usize = 4096;

/// How long a batch may wait for more of the running turn's events: while the model streams
/// faster than a commit takes, each yield to the runtime brings more deltas, which merge
/// (`commit.rs`) into fewer events to commit and send; a paced delta finds nothing more and
/// is committed at once.
const GATHER_WINDOW: std::time::Duration = std::time::Duration::from_micros(250);

/// A turn's request that follows the end of the last batch sooner than this means its model
/// stream is flowing faster than batches are committed (on one worker thread the stream is
/// read only while the actor waits, so it never finds a request already queued): then the
/// batch [gathers](ThreadActor::gather).
const STREAMING_GAP: std::time::Duration = std::time::Duration::from_micros(100);

/// Depth of the actor's command queue; senders wait when it is full.
const COMMAND_QUEUE: usize = 64;

pub(super) struct ThreadActor {
    pub(super) store: Store,
    /// The row as it will be after the next commit.
    pub(super) row: ThreadRow,
    /// The row as last committed: `last_seq` here is what the store holds.
    pub(super) committed: ThreadRow,
    /// Whether `committed` is in the store (false for a new thread until its first commit).
    pub(super) row_stored: bool,
    pub(super) next_seq: u64,
    pub(super) pending: Vec<Queued>,
    pub(super) projections: Vec<Projection>,
    pub(super) deferred: Vec<Deferred>,
    pub(super) row_dirty: bool,
    pub(super) live: Vec<Subscriber>,
    pub(super) catching_up: Vec<Subscriber>,
    pub(super) approvals: super::approvals::Approvals,
    pub(super) status: watch::Sender<ThreadStatus>,
    pub(super) turns: super::turns::TurnSlot,
    pub(super) services: Arc<AgentServices>,
    /// `acceptForSession` answers, shared with the thread's turns; dropped with the actor.
    pub(super) session: Arc<SessionApprovals>,
    /// Where the running turn's requests arrive; opened for each turn (an idle thread has none,
    /// so it does not hold a channel's buffer).
    port: Option<mpsc::Receiver<PortRequest>>,
    /// Published when the actor has nothing to do, for the hub's unloading.
    pub(super) idle: Arc<IdleClock>,
    shutdown_reply: Option<oneshot::Sender<()>>,
    /// Questions and resolutions being written for the other daemons (shared store only);
    /// the next commit waits for them.
    pub(super) shares: Vec<tokio::task::JoinHandle<()>>,
    /// Requests received from turns so far: tells [`ThreadActor::gather`] whether a yield
    /// brought any.
    port_requests: u64,
    /// A history operation to run once the batch before it is committed.
    pub(super) history_op: Option<super::history::HistoryOp>,
    /// What SessionStart hooks add, for the next turn (see `session.rs`).
    pub(super) session_context: Option<oneshot::Receiver<Vec<HookContext>>>,
    /// The lease epoch it runs under (shared store): a commit under an older one is refused.
    pub(super) epoch: Option<i64>,
}

/// What a new actor starts from.
pub(super) struct Spawn {
    pub store: Store,
    pub services: Arc<AgentServices>,
    pub row: ThreadRow,
    /// Whether the row is already in the store (a loaded thread) or new (its first commit
    /// inserts it).
    pub stored: bool,
    /// Turns the store shows running: cut off by a crash, ended `interrupted` at once.
    pub stale_turns: Vec<TurnRow>,
    pub turn_count: i64,
    /// The lease epoch this actor runs under (shared store); its commits carry it.
    pub epoch: Option<i64>,
}

impl ThreadActor {
    /// Spawns the actor and returns the hub's handle to it.
    pub(super) fn spawn(s: Spawn) -> (ActorHandle, Arc<IdleClock>) {
        let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
        let (status_tx, status_rx) = watch::channel(ThreadStatus::Idle);
        let id: Arc<str> = Arc::from(s.row.id.as_str());
        let idle = Arc::new(IdleClock::default());
        let actor = ThreadActor {
            turns: super::turns::TurnSlot::new(s.turn_count),
            services: s.services,
            session: Arc::new(SessionApprovals::default()),
            port: None,
            idle: idle.clone(),
            shutdown_reply: None,
            port_requests: 0,
            shares: Vec::new(),
            history_op: None,
            session_context: None,
            store: s.store.clone(),
            epoch: s.epoch,
            next_seq: s.row.last_seq + 1,
            committed: s.row.clone(),
            row_stored: s.stored,
            row_dirty: !s.stored,
            row: s.row,
            pending: Vec::new(),
            projections: Vec::new(),
            deferred: Vec::new(),
            live: Vec::new(),
            catching_up: Vec::new(),
            approvals: super::approvals::Approvals::starting_at(s.epoch),
            status: status_tx,
        };
        tokio::spawn(actor.run(rx, s.stale_turns));
        (ActorHandle::new(id, tx, status_rx, s.store), idle)
    }

    async fn run(mut self, mut rx: mpsc::Receiver<Command>, stale_turns: Vec<TurnRow>) {
        // A new thread's row is not written on its own: it commits with the first command's
        // batch (its `thread/started`, and a fork's copied rows), so it never exists half-made.
        if !stale_turns.is_empty() {
            for t in stale_turns {
                self.end_stale_turn(t);
            }
            self.flush().await;
        }
        loop {
            let idle = self.is_idle();
            self.idle.set(idle);
            let waiting_since = tokio::time::Instant::now();
            let mut port = self.port.take();
            let next = tokio::select! {
                biased;
                cmd = rx.recv() => Next::Command(cmd),
                req = recv_port(&mut port) => Next::Port(req),
            };
            self.port = port;
            let stop = match next {
                Next::Command(Some(cmd)) => self.handle(cmd),
                Next::Command(None) => break,
                Next::Port(Some(req)) => {
                    self.handle_port(req);
                    None
                }
                Next::Port(None) => {
                    self.port_closed();
                    None
                }
            };
            let stop = self.drain(&mut rx, stop);
            // The turn's next request came (almost) at once: its stream outpaces the commits,
            // so this batch waits a little for more. A paced stream never waits.
            let streaming = self.port.is_some() && waiting_since.elapsed() < STREAMING_GAP;
            let stop = if streaming {
                self.gather(&mut rx, stop).await
            } else {
                stop
            };
            if self.end_batch(stop).await {
                break;
            }
        }
        tracing::debug!(thread = %self.row.id, "thread actor stopped");
        // The answer to a shutdown goes out once everything the actor held is freed, so whoever
        // waits for it (the hub's unloading sweep) can give that memory back to the system.
        let reply = self.shutdown_reply.take();
        drop(self);
        if let Some(reply) = reply {
            let _ = reply.send(());
        }
    }

    /// Handles every command and request already waiting, up to a batch's worth of events. A
    /// history operation ends the batch: what comes after it must see its outcome.
    fn drain(
        &mut self,
        rx: &mut mpsc::Receiver<Command>,
        mut stop: Option<oneshot::Sender<()>>,
    ) -> Option<oneshot::Sender<()>> {
        while stop.is_none()
            && self.history_op.is_none()
            && self.pending_events() < MAX_EVENTS_PER_COMMIT
        {
            if let Ok(cmd) = rx.try_recv() {
                stop = self.handle(cmd);
            } else if let Some(req) = self.port.as_mut().and_then(|p| p.try_recv().ok()) {
                self.handle_port(req);
            } else {
                break;
            }
        }
        stop
    }

    /// Lets a running turn add to the batch before it is committed: yields to the runtime as
    /// long as each yield brings more of its requests, for at most [`GATHER_WINDOW`]. A model
    /// stream read on this same worker thread gets to run only when the actor yields (the
    /// commit itself runs on this thread: `store/sqlite/writer.rs`).
    async fn gather(
        &mut self,
        rx: &mut mpsc::Receiver<Command>,
        mut stop: Option<oneshot::Sender<()>>,
    ) -> Option<oneshot::Sender<()>> {
        let deadline = tokio::time::Instant::now() + GATHER_WINDOW;
        while stop.is_none()
            && self.history_op.is_none()
            && self.pending_events() < MAX_EVENTS_PER_COMMIT
        {
            let before = self.port_requests;
            tokio::task::yield_now().await;
            stop = self.drain(rx, stop);
            if self.port_requests == before || tokio::time::Instant::now() >= deadline {
                break;
            }
        }
        stop
    }

    /// A turn's link was dropped without its `Finished` (its task panicked): the turn is over
    /// all the same, or the thread would wait on it forever.
    fn port_closed(&mut self) {
        self.port = None;
        if let Some(id) = self.turns.running_id().map(str::to_owned) {
            tracing::error!(thread = %self.row.id, turn = %id, "a turn ended without finishing; marking it over");
            self.turn_finished(&id);
        }
    }

    /// Commits the batch and runs what waits behind it; true when the actor is done.
    async fn end_batch(&mut self, stop: Option<oneshot::Sender<()>>) -> bool {
        if let Some(reply) = stop {
            // A running turn is told to stop; we keep serving its events until it has
            // written its `turn/completed`, then answer the shutdown.
            self.shutdown_reply = Some(reply);
            if self.turns.is_running() {
                self.turns.cancel_running();
            } else {
                self.flush().await;
                return true;
            }
        }
        self.flush().await;
        if let Some(op) = self.history_op.take() {
            self.run_history_op(op).await;
            self.flush().await;
        }
        if self.shutdown_reply.is_some() && !self.turns.is_running() {
            return true;
        }
        false
    }

    /// Nothing would be lost by unloading the thread now: nobody subscribed, no turn running,
    /// no question pending.
    fn is_idle(&mut self) -> bool {
        self.live.retain(|s| !s.tx.is_closed());
        self.catching_up.retain(|s| !s.tx.is_closed());
        self.live.is_empty()
            && self.catching_up.is_empty()
            && !self.turns.is_running()
            && !self.approvals.any_pending()
            && self.shutdown_reply.is_none()
    }

    /// The row as last committed.
    pub(super) fn committed_row(&self) -> &ThreadRow {
        &self.committed
    }

    /// The newest committed seq (what non-log notices report).
    pub(super) fn committed_seq(&self) -> u64 {
        self.committed.last_seq
    }

    /// Opens the port for a new turn; returns the turn's end of it.
    pub(super) fn open_port(&mut self) -> mpsc::Sender<PortRequest> {
        let (tx, rx) = mpsc::channel(PORT_QUEUE);
        self.port = Some(rx);
        tx
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
                let _ = reply.send(self.go_live(conn, through));
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
                let seq = self.push_event(method, params);
                self.deferred.push(Deferred::Seq(reply, seq));
                self.projections.extend(projections);
            }
            Command::Snapshot { reply } => {
                let _ = reply.send(self.committed.clone());
            }
            Command::Barrier { reply } => self.deferred.push(Deferred::Unit(reply)),
            Command::Turn(cmd) => self.handle_turn(cmd),
            Command::History(op) => self.history_op = Some(op),
            Command::AnswerApproval(a) => {
                let a = *a;
                self.answer_approval(a.approval, a.conn, a.client_name, a.outcome)
            }
            Command::SessionContext(rx) => self.session_context = Some(rx),
            Command::Subscribers { reply } => {
                let all = self.live.iter().chain(&self.catching_up).cloned().collect();
                let _ = reply.send(all);
            }
            Command::Shutdown { reply } => return Some(reply),
            // Only followers hand subscribers over; dropping the reply answers "none".
            Command::HandOver { .. } => {}
        }
        None
    }

    /// A catch-up task asks to switch its subscriber to live delivery at `through`.
    fn go_live(&mut self, conn: ConnectionId, through: u64) -> GoLive {
        match self.catching_up.iter().position(|s| s.conn == conn) {
            None => GoLive::Gone,
            Some(_) if through < self.committed.last_seq => GoLive::Behind,
            Some(ix) => {
                let sub = self.catching_up.swap_remove(ix);
                self.send_pending_approvals(&sub);
                self.live.push(sub);
                GoLive::Live
            }
        }
    }

    fn drop_subscriber(&mut self, conn: ConnectionId) -> bool {
        let before = self.live.len() + self.catching_up.len();
        self.live.retain(|s| s.conn != conn);
        self.catching_up.retain(|s| s.conn != conn);
        before != self.live.len() + self.catching_up.len()
    }

    fn apply_update(&mut self, update: super::handle::ThreadUpdate) {
        use super::handle::ThreadUpdate;
        use agentd_protocol::{
            ThreadArchivedNotification, ThreadNameUpdatedNotification, ThreadUnarchivedNotification,
        };
        let thread_id = self.row.id.clone();
        match update {
            ThreadUpdate::SetName(name) => {
                self.row.name = Some(name.clone());
                self.push(&ThreadNameUpdatedNotification {
                    thread_id,
                    thread_name: Some(name),
                    seq: 0,
                });
            }
            ThreadUpdate::Archive => {
                self.row.archived = true;
                self.push(&ThreadArchivedNotification { thread_id, seq: 0 });
            }
            ThreadUpdate::Unarchive => {
                self.row.archived = false;
                self.push(&ThreadUnarchivedNotification { thread_id, seq: 0 });
            }
            ThreadUpdate::Settings(patch) => {
                let mut settings = super::settings_of(&self.row);
                patch.apply(
                    &mut settings,
                    &mut self.row.model,
                    &mut self.row.model_provider,
                );
                match serde_json::to_value(&settings) {
                    Ok(v) => {
                        self.row.settings = v;
                        self.row_dirty = true;
                    }
                    Err(e) => {
                        tracing::error!(thread = %thread_id, error = %e, "cannot store settings")
                    }
                }
            }
        }
    }

    /// Applies one request of the running turn.
    fn handle_port(&mut self, req: PortRequest) {
        self.port_requests += 1;
        match req {
            PortRequest::Emit {
                method,
                params,
                projections,
            } => {
                self.push_from_turn(method, params, projections.is_empty());
                self.projections.extend(projections);
            }
            PortRequest::Persist { projections } => self.projections.extend(projections),
            PortRequest::Barrier { reply } => self.deferred.push(Deferred::Unit(reply)),
            PortRequest::RequestApproval {
                request,
                waiter,
                reply,
            } => {
                let id = self.request_approval(request, waiter);
                let _ = reply.send(id);
            }
            PortRequest::CancelApproval {
                approval,
                decision,
                by,
            } => self.cancel_approval(approval, decision, by),
            PortRequest::Finished { turn_id } => {
                self.turn_finished(&turn_id);
                self.port = None;
            }
        }
    }
}

/// What woke the actor.
enum Next {
    Command(Option<Command>),
    Port(Option<PortRequest>),
}

/// The next request of the running turn; never resolves while no turn has a port open.
async fn recv_port(port: &mut Option<mpsc::Receiver<PortRequest>>) -> Option<PortRequest> {
    match port {
        Some(p) => p.recv().await,
        None => std::future::pending().await,
    }
}

impl Drop for ThreadActor {
    fn drop(&mut self) {
        let _ = self.status.send(ThreadStatus::NotLoaded);
    }
}
