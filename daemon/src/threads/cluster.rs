//! The hub on a shared (PostgreSQL) store: leases, followers, take-overs.
//!
//! A daemon runs a thread only while it holds the thread's lease (`store/postgres/lease.rs`),
//! and each actor commits under the epoch it was spawned with. Loading a thread takes the
//! lease when it is free or lapsed; when another daemon holds it, the hub keeps a follower
//! instead, which serves subscriptions from the shared event log. Background tasks renew this
//! daemon's leases (alone, so nothing delays a renewal), turn an actor whose lease was taken
//! over into a follower (its writes are already refused by the store), and take over threads
//! whose holder died mid-turn: their actor ends the cut-off turn `interrupted`, exactly as a
//! restart does, and every follower elsewhere delivers that to its clients.

use std::sync::{Arc, Weak};
use std::time::Duration;

use agentd_protocol::ThreadStatus;
use tokio::sync::{mpsc, Mutex};
use tokio_util::sync::CancellationToken;

use super::follower::{Follower, FollowerSpawn};
use super::handle::ActorHandle;
use super::hub::{Entry, ThreadHub};
use super::subscriber::Subscriber;
use super::ThreadError;
use crate::store::postgres::{LeaseHolder, LeaseOutcome, PgStore};

/// Followers report lapsed holders here; the take-over task acts on them.
pub(super) struct Orphans {
    tx: mpsc::Sender<String>,
    rx: Mutex<Option<mpsc::Receiver<String>>>,
}

/// Lapsed holders reported and not yet acted on (a follower reports again later if this is
/// full).
const ORPHANS_QUEUED: usize = 256;

/// How long a request waits for this daemon's own lease on a thread to be released (its actor
/// stopping), asking again every [`OWN_LEASE_PAUSE`].
const OWN_LEASE_WAIT: Duration = Duration::from_secs(5);
const OWN_LEASE_PAUSE: Duration = Duration::from_millis(20);

impl Default for Orphans {
    fn default() -> Self {
        let (tx, rx) = mpsc::channel(ORPHANS_QUEUED);
        Orphans {
            tx,
            rx: Mutex::new(Some(rx)),
        }
    }
}

/// Where a request about a thread must run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Here: this daemon holds the thread (or the store is not shared).
    Local,
    /// On the daemon holding the thread's lease.
    Remote(LeaseHolder),
}

impl ThreadHub {
    /// An actor for a stored thread, or a follower when another daemon holds it; with the
    /// holder it was taken from, if another.
    pub(super) async fn open_entry(
        &self,
        id: &str,
    ) -> Result<(Entry, Option<LeaseHolder>), ThreadError> {
        let Some(pg) = self.store.shared() else {
            return Ok((self.spawn_stored(id, None).await?, None));
        };
        self.must_exist(id).await?;
        match pg.acquire_lease(id).await? {
            LeaseOutcome::HeldBy(holder) => {
                Ok((self.follow(id, &holder, Vec::new(), None).await?, None))
            }
            LeaseOutcome::Acquired { epoch, previous } => {
                took_over(pg, id, previous.as_ref()).await;
                match self.spawn_stored(id, Some(epoch)).await {
                    Ok(entry) => Ok((entry, previous)),
                    Err(e) => {
                        self.release_lease(id, Some(epoch)).await;
                        Err(e)
                    }
                }
            }
        }
    }

    /// Refuses an id no thread has before any lease row is written for it: ids come from
    /// clients, and each would otherwise leave a row behind.
    async fn must_exist(&self, id: &str) -> Result<(), ThreadError> {
        match self.store.thread(id).await? {
            Some(_) => Ok(()),
            None => Err(ThreadError::NotFound(id.to_owned())),
        }
    }

    /// Takes the lease of a thread about to be created (always free: its id is new).
    pub(super) async fn lease_new(&self, id: &str) -> Result<Option<i64>, ThreadError> {
        let Some(pg) = self.store.shared() else {
            return Ok(None);
        };
        match pg.acquire_lease(id).await? {
            LeaseOutcome::Acquired { epoch, .. } => Ok(Some(epoch)),
            LeaseOutcome::HeldBy(h) => Err(ThreadError::Conflict(format!(
                "thread {id} is already held by daemon {} on {}",
                h.owner, h.host
            ))),
        }
    }

    pub(super) async fn release_lease(&self, id: &str, epoch: Option<i64>) {
        let (Some(pg), Some(epoch)) = (self.store.shared(), epoch) else {
            return;
        };
        if let Err(e) = pg.release_lease(id, epoch).await {
            tracing::warn!(thread = %id, error = %e, "cannot release the thread's lease; it lapses on its own");
        }
    }

    /// Spawns a follower of `id`, whose live subscribers (if any) have every event up to
    /// `cursor` (default: the stored head).
    async fn follow(
        &self,
        id: &str,
        holder: &LeaseHolder,
        live: Vec<Subscriber>,
        cursor: Option<u64>,
    ) -> Result<Entry, ThreadError> {
        let Some(pg) = self.store.shared() else {
            return self.spawn_stored(id, None).await;
        };
        let mut row = self
            .store
            .thread(id)
            .await?
            .ok_or_else(|| ThreadError::NotFound(id.to_owned()))?;
        if let Some(cursor) = cursor {
            row.last_seq = cursor;
        }
        let running = pg.has_running_turn(id).await?;
        let status = if running {
            ThreadStatus::Active {
                active_flags: Vec::new(),
            }
        } else {
            ThreadStatus::Idle
        };
        let (handle, idle) = Follower::spawn(
            FollowerSpawn {
                store: self.store.clone(),
                row,
                live,
                status,
                orphaned: self.orphans.tx.clone(),
                holder: format!("{} on {}", holder.owner, holder.host),
            },
            pg.wakes(),
        );
        Ok(Entry {
            handle,
            idle,
            follower: true,
            epoch: None,
        })
    }

    /// Where a request that changes thread `id` must run. When nobody holds the thread, this
    /// daemon takes it: a follower it had becomes an actor, its subscribers carried over.
    ///
    /// Never another daemon that is this one: a lease of this daemon's whose actor is stopping
    /// (an unload, between taking the actor out and releasing the lease) is asked for again
    /// after a pause, as is a lease released between the two statements of taking it.
    /// Forwarding those would send the request to this daemon, which would route it again.
    pub async fn route(&self, id: &str) -> Result<Route, ThreadError> {
        let Some(pg) = self.store.shared() else {
            return Ok(Route::Local);
        };
        let deadline = tokio::time::Instant::now() + OWN_LEASE_WAIT;
        loop {
            match self.route_once(pg, id).await? {
                Route::Remote(h) if h.owner.is_empty() || h.owner == pg.node().id => {
                    if tokio::time::Instant::now() >= deadline {
                        return Err(ThreadError::Moved(id.to_owned()));
                    }
                    tokio::time::sleep(OWN_LEASE_PAUSE).await;
                }
                route => return Ok(route),
            }
        }
    }

    /// One attempt of [`ThreadHub::route`].
    async fn route_once(&self, pg: &PgStore, id: &str) -> Result<Route, ThreadError> {
        let mut actors = self.actors.lock().await;
        if let Some(entry) = actors.get(id).filter(|e| !e.follower) {
            if entry.epoch.is_some_and(|e| pg.holds_epoch(id, e)) {
                return Ok(Route::Local);
            }
        }
        self.must_exist(id).await?;
        let (epoch, previous) = match pg.acquire_lease(id).await? {
            LeaseOutcome::HeldBy(holder) => return Ok(Route::Remote(holder)),
            LeaseOutcome::Acquired { epoch, previous } => (epoch, previous),
        };
        took_over(pg, id, previous.as_ref()).await;
        let old = actors.remove(id);
        let entry = match self.spawn_stored(id, Some(epoch)).await {
            Ok(entry) => entry,
            Err(e) => {
                self.release_lease(id, Some(epoch)).await;
                if let Some(old) = old {
                    actors.insert(id.to_owned(), old);
                }
                return Err(e);
            }
        };
        let handle = entry.handle.clone();
        actors.insert(id.to_owned(), entry);
        drop(actors);
        if let Some(old) = old {
            self.hand_over(old, &handle).await;
        }
        if let Some(previous) = previous {
            announce_foreign_worktree(&handle, &previous).await;
        }
        Ok(Route::Local)
    }

    /// What the entry an actor replaces leaves it: a follower's live subscribers; an old
    /// actor (its lease lost) is stopped, and its subscribers resubscribe from what they had.
    async fn hand_over(&self, old: Entry, to: &ActorHandle) {
        let (subs, cursor) = if old.follower {
            old.handle.hand_over().await
        } else {
            let subs = old.handle.subscribers().await;
            let cursor = old.handle.snapshot().await.map(|r| r.last_seq).unwrap_or(0);
            let stopping = old.handle.clone();
            tokio::spawn(async move { stopping.shutdown().await });
            (subs, cursor)
        };
        for sub in subs {
            if let Ok((_, catch_up)) = to.subscribe(sub, Some(cursor)).await {
                catch_up.start();
            }
        }
    }

    /// This daemon lost a thread's lease (it stalled past the lease and another daemon took
    /// over, found on a renewal or by a refused commit): the actor stops — its writes are
    /// refused anyway — and a follower serves its subscribers from the seq they had.
    async fn demote(&self, id: &str) {
        let Some(pg) = self.store.shared() else {
            return;
        };
        let entry = {
            let mut actors = self.actors.lock().await;
            match actors.get(id) {
                Some(e) if !e.follower && !e.epoch.is_some_and(|e| pg.holds_epoch(id, e)) => {
                    actors.remove(id)
                }
                _ => None,
            }
        };
        let Some(entry) = entry else {
            return;
        };
        tracing::warn!(thread = %id, "fenced: another daemon took this thread's lease over; \
            this daemon stopped writing to it and follows it instead");
        let subs = entry.handle.subscribers().await;
        let cursor = entry.handle.snapshot().await.map(|r| r.last_seq).ok();
        let stopping = entry.handle.clone();
        tokio::spawn(async move { stopping.shutdown().await });
        self.services.mcp.release_thread(id).await;
        if subs.is_empty() {
            return;
        }
        let holder = match pg.lease_holder(id).await {
            Ok(Some(h)) => h,
            _ => LeaseHolder {
                owner: "another daemon".into(),
                host: "unknown host".into(),
                epoch: 0,
            },
        };
        match self.follow(id, &holder, subs, cursor).await {
            Ok(follower) => {
                let mut actors = self.actors.lock().await;
                if !actors.contains_key(id) {
                    actors.insert(id.to_owned(), follower);
                }
            }
            Err(e) => tracing::warn!(thread = %id, error = %e, "cannot follow the thread"),
        }
    }

    /// On a shared store, for as long as the hub lives: renews this daemon's leases (a task
    /// of its own), demotes the threads it lost, and takes over threads whose holder died
    /// mid-turn.
    pub fn start_leases(self: &Arc<Self>, stop: CancellationToken) {
        let Some(pg) = self.store.shared().cloned() else {
            return;
        };
        let hub: Weak<ThreadHub> = Arc::downgrade(self);
        let (lost_tx, lost_rx) = mpsc::unbounded_channel();
        tokio::spawn(
            stop.clone()
                .run_until_cancelled_owned(renew(pg.clone(), lost_tx.clone())),
        );
        if let Some(mut fenced) = pg.fenced_threads() {
            tokio::spawn(async move {
                while let Some(id) = fenced.recv().await {
                    if lost_tx.send(id).is_err() {
                        return;
                    }
                }
            });
        }
        tokio::spawn(stop.run_until_cancelled_owned(keep_threads(hub, pg, lost_rx)));
    }

    async fn take_over(&self, id: &str) {
        match self.route(id).await {
            Ok(_) | Err(ThreadError::NotFound(_)) => {}
            Err(e) => tracing::warn!(thread = %id, error = %e, "cannot take the thread over"),
        }
    }

    /// Takes over every thread whose holder died mid-turn: the turn ends `interrupted` and
    /// its clients, on any daemon, see that.
    async fn take_over_expired(&self, pg: &PgStore) {
        match pg.expired_leases().await {
            Ok(ids) => {
                for id in ids {
                    self.take_over(&id).await;
                }
            }
            Err(e) => tracing::debug!(error = %e, "cannot look for lapsed leases"),
        }
    }
}

/// Renews this daemon's leases every third of a lease; reports the ones it lost.
async fn renew(pg: PgStore, lost: mpsc::UnboundedSender<String>) {
    let mut tick = tokio::time::interval(pg.lease_length() / 3);
    loop {
        tick.tick().await;
        match pg.renew_leases().await {
            Ok(ids) => {
                for id in ids {
                    if lost.send(id).is_err() {
                        return;
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot renew thread leases"),
        }
    }
}

/// Demotes lost threads and takes over orphaned and lapsed ones.
async fn keep_threads(
    hub: Weak<ThreadHub>,
    pg: PgStore,
    mut lost: mpsc::UnboundedReceiver<String>,
) {
    let Some(mut orphans) = hub
        .upgrade()
        .and_then(|h| h.orphans.rx.try_lock().ok()?.take())
    else {
        return;
    };
    let mut expiry = tokio::time::interval(pg.lease_length() / 2);
    loop {
        tokio::select! {
            id = lost.recv() => {
                let (Some(id), Some(hub)) = (id, hub.upgrade()) else { return };
                hub.demote(&id).await;
            }
            id = orphans.recv() => {
                let (Some(id), Some(hub)) = (id, hub.upgrade()) else { return };
                hub.take_over(&id).await;
            }
            _ = expiry.tick() => {
                let Some(hub) = hub.upgrade() else { return };
                hub.take_over_expired(&pg).await;
                let _ = pg.sweep_commands().await;
            }
        }
    }
}

/// Logs a take-over and drops the previous holder's unanswered questions (its turn is over).
async fn took_over(pg: &PgStore, id: &str, previous: Option<&LeaseHolder>) {
    let Some(previous) = previous.filter(|p| p.owner != pg.node().id) else {
        return;
    };
    tracing::info!(thread = %id, from = %previous.owner, host = %previous.host,
        epoch = previous.epoch, "took the thread over");
    if let Err(e) = pg.clear_approvals(id).await {
        tracing::warn!(thread = %id, error = %e, "cannot drop the previous holder's questions");
    }
}

/// A sub-agent's worktree is on the machine that made it: a daemon on another machine taking
/// the thread over from a daemon there says so in the thread's log, naming the host and
/// path, rather than let its turns look for files that are not here.
pub(super) async fn announce_foreign_worktree(handle: &ActorHandle, previous: &LeaseHolder) {
    let here = crate::paths::host_name();
    if previous.host == here {
        return;
    }
    let Ok(row) = handle.snapshot().await else {
        return;
    };
    let Some(meta) = super::settings_of(&row).worktree else {
        return;
    };
    let Some(host) = meta.host.filter(|h| *h != here) else {
        return;
    };
    let warning = agentd_protocol::WarningNotification {
        message: format!(
            "this thread now runs on {here}, but its worktree {} is on {host}: its files are \
             not here",
            meta.path
        ),
        thread_id: Some(row.id.clone()),
        seq: None,
    };
    if let Err(e) = handle.emit(&warning, Vec::new()).await {
        tracing::warn!(thread = %row.id, error = %e, "cannot record the worktree warning");
    }
}

/// How long a forwarded request waits for its holder before it is given up.
pub fn forward_patience(lease: Duration) -> Duration {
    lease * 2 + Duration::from_secs(30)
}
