//! A follower: how a daemon serves a thread whose turns run on another daemon (PostgreSQL
//! store, docs/decisions/018-several-daemons-on-postgres.md).
//!
//! It answers to the same [`ActorHandle`] as an actor, so `thread/resume` and replay work as
//! they do for a local thread, but it owns nothing: the event log in the database is its only
//! source. Whenever another daemon commits (a `NOTIFY`), after a resync, and on a timer of its
//! own (notifications can be lost), it reads the log on from the last seq it delivered and
//! sends those events to its live subscribers, in order, each once. Hand-over from replay to
//! live delivery is exact as in an actor: a catch-up goes live only at the seq the follower has
//! delivered up to. Writes are refused here: the daemon forwards them to the holder first
//! (`rpc/forward.rs`), so one reaching a follower raced a change of holder.

use std::sync::Arc;
use std::time::Duration;

use agentd_protocol::ThreadStatus;
use tokio::sync::{mpsc, oneshot, watch};

use super::handle::{ActorHandle, Command, GoLive};
use super::idle::IdleClock;
use super::subscriber::{ConnectionId, Subscriber};
use super::ThreadError;
use crate::store::postgres::{Wake, WakeReceiver};
use crate::store::{is_last_page, Store, ThreadRow};

/// Events read per page while catching the log up.
const PAGE: u32 = 1024;

/// Depth of the follower's command queue.
const COMMAND_QUEUE: usize = 64;

pub(super) struct Follower {
    pub(super) store: Store,
    pub(super) row: ThreadRow,
    /// Every event up to here has gone to every live subscriber.
    pub(super) cursor: u64,
    pub(super) live: Vec<Subscriber>,
    /// The holder's questions this follower asked its clients (`remote_approvals.rs`).
    pub(super) asked: super::remote_approvals::Asked,
    catching_up: Vec<Subscriber>,
    status: watch::Sender<ThreadStatus>,
    idle: Arc<IdleClock>,
    /// Told when the holder's lease lapsed, so the hub can take the thread over.
    orphaned: mpsc::Sender<String>,
    holder: String,
}

/// What a new follower starts from.
pub(super) struct FollowerSpawn {
    pub store: Store,
    pub row: ThreadRow,
    /// Subscribers already live at `row.last_seq` (an actor that lost its lease hands its own
    /// over).
    pub live: Vec<Subscriber>,
    /// The thread's status as the log shows it now.
    pub status: ThreadStatus,
    pub orphaned: mpsc::Sender<String>,
    /// Who holds the thread (for the refusal message).
    pub holder: String,
}

impl Follower {
    pub(super) fn spawn(s: FollowerSpawn, wakes: WakeReceiver) -> (ActorHandle, Arc<IdleClock>) {
        let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
        let (status_tx, status_rx) = watch::channel(s.status);
        let id: Arc<str> = Arc::from(s.row.id.as_str());
        let idle = Arc::new(IdleClock::default());
        let follower = Follower {
            cursor: s.row.last_seq,
            store: s.store.clone(),
            row: s.row,
            live: s.live,
            catching_up: Vec::new(),
            asked: Default::default(),
            status: status_tx,
            idle: idle.clone(),
            orphaned: s.orphaned,
            holder: s.holder,
        };
        tokio::spawn(follower.run(rx, wakes));
        (
            ActorHandle::new(id, tx, status_rx, s.store).of_follower(),
            idle,
        )
    }

    async fn run(mut self, mut rx: mpsc::Receiver<Command>, mut wakes: WakeReceiver) {
        let lease = self
            .store
            .shared()
            .map_or(Duration::from_secs(10), |pg| pg.lease_length());
        let mut poll = tokio::time::interval(Duration::from_millis(250).max(lease / 8));
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut lease_check = tokio::time::interval(lease / 2);
        lease_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let idle = self.is_idle();
            self.idle.set(idle);
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(cmd) => if self.handle(cmd).await { break },
                    None => break,
                },
                wake = wakes.recv() => match wake {
                    Ok(Wake::Approvals { thread_id }) if thread_id == self.row.id => {
                        self.sync_approvals().await;
                    }
                    wake => {
                        let resync = matches!(wake, Ok(Wake::Resync) | Err(_));
                        if self.concerns(wake) {
                            self.pull().await;
                        }
                        if resync {
                            self.sync_approvals().await;
                        }
                    }
                },
                _ = poll.tick() => self.pull().await,
                _ = lease_check.tick() => {
                    if self.deleted().await {
                        break;
                    }
                    self.check_holder().await;
                    self.sync_approvals().await;
                }
            }
        }
        tracing::debug!(thread = %self.row.id, "follower stopped");
    }

    /// Whether a wake-up may mean new events of this thread.
    fn concerns(&self, wake: Result<Wake, tokio::sync::broadcast::error::RecvError>) -> bool {
        match wake {
            Ok(Wake::Events { thread_id, seq }) => thread_id == self.row.id && seq > self.cursor,
            Ok(Wake::Resync) | Err(_) => true,
            Ok(_) => false,
        }
    }

    /// Reads the log on from the cursor and delivers it to the live subscribers.
    async fn pull(&mut self) {
        loop {
            let events = match self
                .store
                .events_after(&self.row.id, self.cursor, PAGE)
                .await
            {
                Ok(events) => events,
                Err(e) => {
                    tracing::debug!(thread = %self.row.id, error = %e, "follower cannot read the log yet");
                    return;
                }
            };
            let last = is_last_page(&events, PAGE);
            for e in &events {
                self.cursor = e.seq;
                self.track_status(&e.kind);
                let Some(frame) = super::event::stored_frame(&self.row.id, e) else {
                    continue;
                };
                self.live.retain(|sub| {
                    !sub.wants(&e.kind) || deliver(sub, frame.clone(), &self.row.id, e.seq)
                });
            }
            if last {
                return;
            }
        }
    }

    /// The thread's row as stored, at the seq delivered here; read when asked for, not on
    /// every wake-up (delivery needs only the log).
    async fn fresh_row(&mut self) -> ThreadRow {
        if let Ok(Some(row)) = self.store.thread(&self.row.id).await {
            self.row = row;
        }
        self.row.last_seq = self.cursor;
        self.row.clone()
    }

    /// A follower's status mirrors the turns it has seen start and end.
    fn track_status(&self, kind: &str) {
        let next = match kind {
            "turn/started" => ThreadStatus::Active {
                active_flags: Vec::new(),
            },
            "turn/completed" => ThreadStatus::Idle,
            _ => return,
        };
        let _ = self.status.send(next);
    }

    /// The holder's lease lapsed (it died or lost the database): ask the hub to take over.
    async fn check_holder(&mut self) {
        let Some(pg) = self.store.shared() else {
            return;
        };
        if let Ok(None) = pg.lease_holder(&self.row.id).await {
            let _ = self.orphaned.try_send(self.row.id.clone());
        }
    }

    /// Whether the thread was deleted (through its holder): then its subscribers here hear
    /// `thread/deleted`, as the holder's own clients did, and the follower stops.
    async fn deleted(&mut self) -> bool {
        if !matches!(self.store.thread(&self.row.id).await, Ok(None)) {
            return false;
        }
        let notice = agentd_protocol::ThreadDeletedNotification {
            thread_id: self.row.id.clone(),
            seq: 0,
        };
        let frame = super::event::notice_frame(&notice);
        for sub in self.live.iter().chain(&self.catching_up) {
            let _ = sub.tx.try_send(frame.clone());
        }
        self.live.clear();
        self.catching_up.clear();
        true
    }

    fn is_idle(&mut self) -> bool {
        self.live.retain(|s| !s.tx.is_closed());
        self.catching_up.retain(|s| !s.tx.is_closed());
        self.live.is_empty() && self.catching_up.is_empty()
    }

    fn refused(&self) -> ThreadError {
        ThreadError::Conflict(format!(
            "thread {} is running on another daemon ({}); send the request again",
            self.row.id, self.holder
        ))
    }

    /// Serves one command; true when the follower is done.
    async fn handle(&mut self, cmd: Command) -> bool {
        match cmd {
            Command::Subscribe {
                sub,
                after_seq,
                reply,
            } => {
                self.drop_subscriber(sub.conn);
                self.pull().await;
                let from = after_seq.map_or(self.cursor, |s| s.min(self.cursor));
                self.catching_up.push(sub);
                let _ = reply.send((self.fresh_row().await, from));
            }
            Command::GoLive {
                conn,
                through,
                reply,
            } => {
                self.pull().await;
                let answer = self.go_live(conn, through);
                let _ = reply.send(answer);
                if answer == GoLive::Live {
                    self.sync_approvals().await;
                }
            }
            Command::Unsubscribe { conn, reply } => {
                let _ = reply.send(self.drop_subscriber(conn));
            }
            Command::Snapshot { reply } => {
                let _ = reply.send(self.fresh_row().await);
            }
            Command::Subscribers { reply } => {
                let all = self.live.iter().chain(&self.catching_up).cloned().collect();
                let _ = reply.send(all);
            }
            Command::Barrier { reply } => {
                let _ = reply.send(Ok(()));
            }
            Command::Update { reply, .. } => {
                let _ = reply.send(Err(self.refused()));
            }
            Command::Emit { reply, .. } => {
                let _ = reply.send(Err(self.refused()));
            }
            Command::Turn(cmd) => cmd.refuse(self.refused()),
            Command::History(op) => op.refuse(self.refused()),
            Command::AnswerApproval(a) => self.forward_answer(*a),
            Command::SessionContext(_) => {}
            Command::Shutdown { reply } => {
                let _ = reply.send(());
                return true;
            }
            Command::HandOver { reply } => {
                self.pull().await;
                let live = std::mem::take(&mut self.live);
                let _ = reply.send((live, self.cursor));
                return true;
            }
        }
        false
    }

    fn go_live(&mut self, conn: ConnectionId, through: u64) -> GoLive {
        match self.catching_up.iter().position(|s| s.conn == conn) {
            None => GoLive::Gone,
            // Only at exactly the delivered seq: a catch-up ahead of a follower whose last read
            // failed would otherwise get again what it already sent.
            Some(_) if through != self.cursor => GoLive::Behind,
            Some(ix) => {
                let sub = self.catching_up.swap_remove(ix);
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
}

/// Offers one frame to a subscriber; false drops it from live delivery (closed, or full: it is
/// told to resync, as an actor's fan-out does).
fn deliver(sub: &Subscriber, frame: bytes::Bytes, thread_id: &str, seq: u64) -> bool {
    match sub.tx.try_send(frame) {
        Ok(()) => true,
        Err(mpsc::error::TrySendError::Full(_)) => {
            let notice = agentd_protocol::ThreadResyncRequiredNotification {
                thread_id: thread_id.to_owned(),
                after_seq: seq - 1,
                seq: seq - 1,
            };
            let frame = super::event::notice_frame(&notice);
            let tx = sub.tx.clone();
            tokio::spawn(async move {
                if let Ok(permit) = tx.reserve().await {
                    permit.send(frame);
                }
            });
            false
        }
        Err(mpsc::error::TrySendError::Closed(_)) => false,
    }
}

/// Answers a command nobody will run.
pub(super) fn refuse<T>(reply: oneshot::Sender<Result<T, ThreadError>>, e: ThreadError) {
    let _ = reply.send(Err(e));
}
