//! The hub on a shared (PostgreSQL) store: leases, followers, take-overs.
//!
//! A daemon runs a thread only while it holds the thread's lease (`store/postgres/lease.rs`).
//! Loading a thread takes the lease when it is free or lapsed; when another daemon holds it,
//! the hub keeps a follower instead, which serves subscriptions from the shared event log.
//! A background task renews this daemon's leases, turns an actor whose lease was taken over
//! into a follower (its late writes are already refused by the store), and takes over threads
//! whose holder stopped renewing: their actor ends the cut-off turn `interrupted`, exactly as
//! a restart does, and every follower elsewhere delivers that to its clients.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::{mpsc, Mutex};

use super::follower::{Follower, FollowerSpawn};
use super::hub::{Entry, ThreadHub};
use super::subscriber::Subscriber;
use super::ThreadError;
use crate::store::postgres::{LeaseHolder, LeaseOutcome};

/// How often expired leases are looked for, in lease lengths.
const EXPIRY_SWEEPS_PER_LEASE: u32 = 2;

/// Followers report lapsed holders here; the lease task takes those threads over.
pub(super) struct Orphans {
    tx: mpsc::UnboundedSender<String>,
    rx: Mutex<Option<mpsc::UnboundedReceiver<String>>>,
}

impl Default for Orphans {
    fn default() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
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
    /// An actor for a stored thread, or a follower when another daemon holds it.
    pub(super) async fn open_entry(&self, id: &str) -> Result<Entry, ThreadError> {
        let Some(pg) = self.store.shared() else {
            return self.spawn_stored(id).await;
        };
        match pg.acquire_lease(id).await? {
            LeaseOutcome::HeldBy(holder) => self.follow(id, &holder, Vec::new(), None).await,
            LeaseOutcome::Acquired { previous, .. } => {
                if let Some(previous) = &previous {
                    tracing::info!(thread = %id, from = %previous.owner, host = %previous.host,
                        epoch = previous.epoch, "took the thread over");
                    let _ = pg.clear_approvals(id).await;
                }
                match self.spawn_stored(id).await {
                    Ok(entry) => {
                        announce_foreign_worktree(&entry.handle).await;
                        Ok(entry)
                    }
                    Err(e) => {
                        self.release_lease(id).await;
                        Err(e)
                    }
                }
            }
        }
    }

    /// Takes the lease of a thread about to be created (always free: its id is new).
    pub(super) async fn lease_new(&self, id: &str) -> Result<(), ThreadError> {
        if let Some(pg) = self.store.shared() {
            if let LeaseOutcome::HeldBy(h) = pg.acquire_lease(id).await? {
                return Err(ThreadError::Conflict(format!(
                    "thread {id} is already held by daemon {} on {}",
                    h.owner, h.host
                )));
            }
        }
        Ok(())
    }

    pub(super) async fn release_lease(&self, id: &str) {
        if let Some(pg) = self.store.shared() {
            if let Err(e) = pg.release_lease(id).await {
                tracing::warn!(thread = %id, error = %e, "cannot release the thread's lease; it lapses on its own");
            }
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
            return self.spawn_stored(id).await;
        };
        let mut row = self
            .store
            .thread(id)
            .await?
            .ok_or_else(|| ThreadError::NotFound(id.to_owned()))?;
        if let Some(cursor) = cursor {
            row.last_seq = cursor;
        }
        let (handle, idle) = Follower::spawn(
            FollowerSpawn {
                store: self.store.clone(),
                row,
                live,
                orphaned: self.orphans.tx.clone(),
                holder: format!("{} on {}", holder.owner, holder.host),
            },
            pg.wakes(),
        );
        Ok(Entry {
            handle,
            idle,
            follower: true,
        })
    }

    /// Where a request that changes thread `id` must run. When nobody holds the thread, this
    /// daemon takes it (a follower it had becomes an actor, its subscribers carried over).
    pub async fn route(&self, id: &str) -> Result<Route, ThreadError> {
        let Some(pg) = self.store.shared() else {
            return Ok(Route::Local);
        };
        let mut actors = self.actors.lock().await;
        if actors.get(id).is_some_and(|e| !e.follower) && pg.holds_lease(id) {
            return Ok(Route::Local);
        }
        let holder = match pg.acquire_lease(id).await? {
            LeaseOutcome::HeldBy(holder) => return Ok(Route::Remote(holder)),
            LeaseOutcome::Acquired { previous, .. } => previous,
        };
        if let Some(previous) = &holder {
            tracing::info!(thread = %id, from = %previous.owner, host = %previous.host,
                "took the thread over");
            let _ = pg.clear_approvals(id).await;
        }
        let old = actors.remove(id);
        let entry = match self.spawn_stored(id).await {
            Ok(entry) => entry,
            Err(e) => {
                self.release_lease(id).await;
                if let Some(old) = old {
                    actors.insert(id.to_owned(), old);
                }
                return Err(e);
            }
        };
        let handle = entry.handle.clone();
        actors.insert(id.to_owned(), entry);
        drop(actors);
        announce_foreign_worktree(&handle).await;
        if let Some(old) = old.filter(|e| e.follower) {
            let (subs, cursor) = old.handle.hand_over().await;
            for sub in subs {
                if let Ok((_, catch_up)) = handle.subscribe(sub, Some(cursor)).await {
                    catch_up.start();
                }
            }
        }
        Ok(Route::Local)
    }

    /// This daemon lost a thread's lease (it stalled past the lease and another daemon took
    /// over): the actor stops — its writes are refused anyway — and a follower serves its
    /// subscribers from the seq they had.
    async fn demote(&self, id: &str) {
        let Some(pg) = self.store.shared() else {
            return;
        };
        let entry = self.actors.lock().await.remove(id);
        let Some(entry) = entry.filter(|e| !e.follower) else {
            return;
        };
        tracing::warn!(thread = %id, "lost the thread's lease to another daemon: fenced, this \
            daemon no longer writes to it and follows it instead");
        let subs = entry.handle.subscribers().await;
        let cursor = entry.handle.snapshot().await.map(|r| r.last_seq).ok();
        let stopping = entry.handle.clone();
        tokio::spawn(async move { stopping.shutdown().await });
        self.services.mcp.release_thread(id).await;
        let holder = match pg.lease_holder(id).await {
            Ok(Some(h)) => h,
            _ => return,
        };
        if subs.is_empty() {
            return;
        }
        match self.follow(id, &holder, subs, cursor).await {
            Ok(follower) => {
                self.actors.lock().await.insert(id.to_owned(), follower);
            }
            Err(e) => tracing::warn!(thread = %id, error = %e, "cannot follow the thread"),
        }
    }

    /// On a shared store: renews this daemon's leases, demotes the threads it lost, and takes
    /// over threads whose holder stopped renewing, for as long as the hub lives.
    pub fn start_leases(self: &Arc<Self>) {
        let Some(pg) = self.store.shared().cloned() else {
            return;
        };
        let hub: Weak<ThreadHub> = Arc::downgrade(self);
        let lease = pg.lease_length();
        tokio::spawn(async move {
            let Some(mut orphans) = hub
                .upgrade()
                .and_then(|h| h.orphans.rx.try_lock().ok()?.take())
            else {
                return;
            };
            let mut renew = tokio::time::interval(lease / 3);
            let mut expiry = tokio::time::interval(lease / EXPIRY_SWEEPS_PER_LEASE);
            loop {
                tokio::select! {
                    id = orphans.recv() => {
                        let (Some(id), Some(hub)) = (id, hub.upgrade()) else { return };
                        hub.take_over(&id).await;
                    }
                    _ = renew.tick() => {
                        let Some(hub) = hub.upgrade() else { return };
                        match pg.renew_leases().await {
                            Ok(lost) => for id in lost { hub.demote(&id).await },
                            Err(e) => tracing::warn!(error = %e, "cannot renew thread leases"),
                        }
                    }
                    _ = expiry.tick() => {
                        let Some(hub) = hub.upgrade() else { return };
                        hub.take_over_expired().await;
                        let _ = pg.sweep_commands().await;
                    }
                }
            }
        });
    }

    async fn take_over(&self, id: &str) {
        match self.route(id).await {
            Ok(_) => {}
            Err(ThreadError::NotFound(_)) => {}
            Err(e) => tracing::warn!(thread = %id, error = %e, "cannot take the thread over"),
        }
    }

    /// Takes over every thread whose lease lapsed (its daemon died): a turn it was running
    /// ends `interrupted` and its clients, on any daemon, see that.
    async fn take_over_expired(&self) {
        let Some(pg) = self.store.shared() else {
            return;
        };
        let ids = match pg.expired_leases().await {
            Ok(ids) => ids,
            Err(e) => {
                tracing::debug!(error = %e, "cannot look for lapsed leases");
                return;
            }
        };
        for id in ids {
            self.take_over(&id).await;
        }
    }
}

/// A sub-agent's worktree is on the machine that made it: a daemon on another machine that
/// runs the thread now says so in the thread's log, naming the host and path, rather than let
/// its turns look for files that are not here.
async fn announce_foreign_worktree(handle: &super::ActorHandle) {
    let Ok(row) = handle.snapshot().await else {
        return;
    };
    let Some(meta) = super::settings_of(&row).worktree else {
        return;
    };
    let here = crate::paths::host_name();
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

/// How long a forwarded request waits for its holder before it is given up as retryable.
pub fn forward_patience(lease: Duration) -> Duration {
    lease * 2 + Duration::from_secs(30)
}
