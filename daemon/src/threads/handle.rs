//! How the rest of the daemon talks to a thread actor: [`ActorHandle`], a cheap clone that
//! queues [`Command`]s and waits for their answers.
//!
//! Every handle but the hub's own counts as a *lease*: while one exists the actor is in use
//! and is never unloaded, whatever its idle time (see `hub.rs`).

use std::sync::Arc;

use agentd_protocol::{ServerNotification, ThreadStatus};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};

use super::catchup;
use super::subscriber::{ConnectionId, Subscriber};
use super::ThreadError;
use crate::store::{Projection, Store, ThreadRow};

pub(super) type Reply<T> = oneshot::Sender<Result<T, ThreadError>>;

/// A change a client asks for: each but `Settings` becomes one event.
#[derive(Debug, Clone)]
pub enum ThreadUpdate {
    SetName(String),
    Archive,
    Unarchive,
    /// New settings for the turns to come (`thread/resume` with overrides): stored with the
    /// thread, announced by nothing (the answer to the request carries them).
    Settings(Box<super::SettingsPatch>),
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
    /// An event from inside `threads/` (a new thread's `thread/started`); answers with its seq
    /// once committed.
    Emit {
        method: &'static str,
        params: Value,
        projections: Vec<Projection>,
        reply: Reply<u64>,
    },
    Snapshot {
        reply: oneshot::Sender<ThreadRow>,
    },
    /// Answers once everything queued before it is committed.
    Barrier {
        reply: Reply<()>,
    },
    Turn(super::turns::TurnCommand),
    /// Rollback or a fork's snapshot: run between batches (see `history.rs`).
    History(super::history::HistoryOp),
    /// Boxed: the answer is the largest command, and every queue slot is as large as it.
    AnswerApproval(Box<ApprovalAnswer>),
    /// Commit what is queued and stop: the daemon is stopping, or the hub unloads the thread.
    Shutdown {
        reply: oneshot::Sender<()>,
    },
    /// The connections subscribed to the thread, live or catching up (a new child's
    /// subscribers are its parent's).
    Subscribers {
        reply: oneshot::Sender<Vec<super::subscriber::Subscriber>>,
    },
    /// A follower stops and gives its live subscribers, and the seq they have everything up
    /// to, to the actor that replaces it (this daemon took the thread over). An actor answers
    /// nothing.
    HandOver {
        reply: oneshot::Sender<(Vec<Subscriber>, u64)>,
    },
    /// SessionStart hooks are running; the next turn takes their context from here.
    SessionContext(oneshot::Receiver<Vec<crate::tools::hooks::HookContext>>),
}

/// A client's answer to one of the thread's approvals.
pub(super) struct ApprovalAnswer {
    pub approval: u64,
    pub conn: ConnectionId,
    pub client_name: String,
    pub outcome: Result<Value, agentd_protocol::jsonrpc::ErrorObject>,
}

/// Cheap, cloneable access to one thread actor.
pub struct ActorHandle {
    pub(super) id: Arc<str>,
    pub(super) tx: mpsc::Sender<Command>,
    status: watch::Receiver<ThreadStatus>,
    pub(super) store: Store,
    /// Counts the handles alive; the hub's own is one of them.
    lease: Arc<()>,
    /// A follower's handle: the thread's turns run on another daemon.
    follower: bool,
}

impl Clone for ActorHandle {
    fn clone(&self) -> Self {
        ActorHandle {
            id: self.id.clone(),
            tx: self.tx.clone(),
            status: self.status.clone(),
            store: self.store.clone(),
            lease: self.lease.clone(),
            follower: self.follower,
        }
    }
}

impl ActorHandle {
    pub(super) fn new(
        id: Arc<str>,
        tx: mpsc::Sender<Command>,
        status: watch::Receiver<ThreadStatus>,
        store: Store,
    ) -> Self {
        ActorHandle {
            id,
            tx,
            status,
            store,
            lease: Arc::new(()),
            follower: false,
        }
    }

    /// The handle of a follower (`follower.rs`).
    pub(super) fn of_follower(mut self) -> Self {
        self.follower = true;
        self
    }

    /// Whether the task behind the handle has stopped (a follower whose thread was deleted).
    pub(super) fn is_stopped(&self) -> bool {
        self.tx.is_closed()
    }

    /// Whether the thread's turns run on another daemon (this handle is a follower's).
    pub fn runs_elsewhere(&self) -> bool {
        self.follower
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn status(&self) -> ThreadStatus {
        self.status.borrow().clone()
    }

    /// Handles alive, this one included.
    pub(super) fn leases(&self) -> usize {
        Arc::strong_count(&self.lease)
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
        let handle = self.clone();
        Ok((
            row,
            CatchUp {
                handle,
                sub,
                from,
                with: Vec::new(),
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

    /// Appends a notification (and the projection changes it describes); resolves to its `seq`
    /// once committed and fanned out.
    pub(crate) async fn emit<N: ServerNotification>(
        &self,
        notification: &N,
        projections: Vec<Projection>,
    ) -> Result<u64, ThreadError> {
        let params = serde_json::to_value(notification)
            .map_err(|e| ThreadError::Invalid(N::METHOD, e.to_string()))?;
        self.call(|reply| Command::Emit {
            method: N::METHOD,
            params,
            projections,
            reply,
        })
        .await?
    }

    /// The thread's subscribers now, live or still catching up.
    pub(crate) async fn subscribers(&self) -> Vec<super::subscriber::Subscriber> {
        self.call(|reply| Command::Subscribers { reply })
            .await
            .unwrap_or_default()
    }

    /// The thread's status as it changes.
    pub fn status_watch(&self) -> watch::Receiver<ThreadStatus> {
        self.status.clone()
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

    pub async fn answer_approval(
        &self,
        approval: u64,
        conn: ConnectionId,
        client_name: String,
        outcome: Result<Value, agentd_protocol::jsonrpc::ErrorObject>,
    ) {
        let _ = self
            .tx
            .send(Command::AnswerApproval(Box::new(ApprovalAnswer {
                approval,
                conn,
                client_name,
                outcome,
            })))
            .await;
    }

    /// A follower's live subscribers and their seq, the follower stopping (see
    /// [`Command::HandOver`]).
    pub(super) async fn hand_over(&self) -> (Vec<Subscriber>, u64) {
        self.call(|reply| Command::HandOver { reply })
            .await
            .unwrap_or_default()
    }

    pub async fn snapshot(&self) -> Result<ThreadRow, ThreadError> {
        self.call(|reply| Command::Snapshot { reply }).await
    }

    /// Commits whatever is queued and stops the actor (a running turn is interrupted first and
    /// its end recorded).
    pub async fn shutdown(&self) {
        let _ = self.call(|reply| Command::Shutdown { reply }).await;
    }
}

/// Replays stored events to a new subscriber, then hands it over to live delivery.
pub struct CatchUp {
    handle: ActorHandle,
    sub: Subscriber,
    from: u64,
    /// Catch-ups of other threads started with this one (a parent's children, on resume).
    with: Vec<CatchUp>,
}

impl CatchUp {
    /// Starts these catch-ups too when this one starts: after the answer that made them.
    pub fn and(mut self, others: Vec<CatchUp>) -> Self {
        self.with.extend(others);
        self
    }

    pub fn start(self) {
        for other in self.with {
            other.start();
        }
        tokio::spawn(catchup::run(self.handle, self.sub, self.from));
    }
}
