//! The thread hub: finds the actor of a loaded thread, loads a stored one on first use, creates
//! new threads, and unloads threads nobody uses.
//!
//! Unloading: a thread that no client subscribes to, with no running turn and no pending
//! question, is idle; after `idle_unload` of that its actor commits, stops and is forgotten, so
//! memory does not grow with every thread ever opened. It is invisible to clients: the next
//! request loads it again from the store and its seqs continue. The sweep removes an actor only
//! while holding the map's lock and only when the map's handle is the last one (no request,
//! replay or connection holds another), so nothing can reach an actor that is stopping.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use agentd_protocol::{ThreadStartedNotification, ThreadStatus};
use tokio::sync::Mutex;

use super::actor::{Spawn, ThreadActor};
use super::convert::thread_from_row;
use super::handle::ActorHandle;
use super::idle::IdleClock;
use super::ThreadError;
use crate::agent::AgentServices;
use crate::store::{Projection, Store, ThreadRow, TurnState};

/// A sweep that unloads at least this many threads also empties the store's page caches: they
/// hold what those threads read and wrote.
const BIG_SWEEP: usize = 64;

/// The most sub-agents of one parent (open, and again closed) `thread/delete` takes with it.
const MAX_CHILDREN_DELETED: u32 = 500;

pub(super) struct Entry {
    pub(super) handle: ActorHandle,
    pub(super) idle: Arc<IdleClock>,
    /// A follower of a thread another daemon runs (`follower.rs`), not an actor.
    pub(super) follower: bool,
    /// The lease epoch an actor runs under (shared store), released when it stops.
    pub(super) epoch: Option<i64>,
}

pub struct ThreadHub {
    pub(super) store: Store,
    pub(super) services: Arc<AgentServices>,
    /// A tokio mutex because loading awaits the store; holding it across the load is what stops
    /// two connections from spawning two actors for one thread.
    pub(super) actors: Mutex<HashMap<String, Entry>>,
    /// Sub-agents' bookkeeping (`agents/`).
    pub(super) agents: super::agents::AgentState,
    /// Threads whose holder's lease lapsed, reported by their followers (`cluster.rs`).
    pub(super) orphans: super::cluster::Orphans,
}

impl ThreadHub {
    pub fn new(store: Store, services: Arc<AgentServices>) -> Self {
        ThreadHub {
            agents: Default::default(),
            orphans: Default::default(),
            store,
            services,
            actors: Mutex::new(HashMap::new()),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Sub-agents need the hub itself (for their watchers) and the data directory (for
    /// worktrees); the daemon gives both once the hub is shared.
    pub fn init_agents(self: &Arc<Self>, data_dir: std::path::PathBuf) {
        self.agents.init(Arc::downgrade(self), data_dir);
        let control: Arc<dyn crate::agent::subagents::AgentControl> = self.clone();
        self.services.set_agent_control(Arc::downgrade(&control));
    }

    pub fn services(&self) -> &Arc<AgentServices> {
        &self.services
    }

    /// Starts a new thread: spawns its actor and commits the row with its `thread/started`
    /// event before returning.
    pub async fn create(&self, row: ThreadRow) -> Result<ActorHandle, ThreadError> {
        self.create_with(row, Vec::new(), 0).await
    }

    /// Starts a new thread that already has `turn_count` turns: `projections` (a fork's copied
    /// turns, items and history) commit in the same transaction as the thread row and its
    /// `thread/started`, so the thread never exists half-copied.
    pub async fn create_with(
        &self,
        row: ThreadRow,
        projections: Vec<Projection>,
        turn_count: i64,
    ) -> Result<ActorHandle, ThreadError> {
        let id = row.id.clone();
        let epoch = self.lease_new(&id).await?;
        let started = ThreadStartedNotification {
            thread: thread_from_row(&row, ThreadStatus::Idle, Vec::new()),
            seq: 0,
        };
        let handle = self
            .insert(Spawn {
                store: self.store.clone(),
                services: self.services.clone(),
                row,
                stored: false,
                stale_turns: Vec::new(),
                turn_count,
                epoch,
            })
            .await;
        if let Err(e) = handle.emit(&started, projections).await {
            if let Some(entry) = self.actors.lock().await.remove(&id) {
                entry.handle.shutdown().await;
                // Or its epoch stays in use here, renewed, and every request for the thread
                // (if the commit landed after all) waits on a lease nobody runs.
                self.release_lease(&id, entry.epoch).await;
            }
            return Err(e);
        }
        Ok(handle)
    }

    async fn insert(&self, spawn: Spawn) -> ActorHandle {
        let id = spawn.row.id.clone();
        let epoch = spawn.epoch;
        let (handle, idle) = ThreadActor::spawn(spawn);
        let mine = handle.clone();
        self.actors.lock().await.insert(
            id,
            Entry {
                handle,
                idle,
                follower: false,
                epoch,
            },
        );
        mine
    }

    /// The actor of a thread, loading it from the store if needed. On a shared store, a
    /// thread another daemon runs gets a follower instead (`cluster.rs`).
    pub async fn load(&self, id: &str) -> Result<ActorHandle, ThreadError> {
        let mut actors = self.actors.lock().await;
        match actors.get(id) {
            Some(entry) if !entry.handle.is_stopped() => return Ok(entry.handle.clone()),
            // A follower that stopped on its own (its thread was deleted elsewhere), or an
            // actor that did (its lease, if it still had one, is given up with it).
            Some(_) => {
                if let Some(stopped) = actors.remove(id) {
                    if !stopped.follower {
                        self.release_lease(id, stopped.epoch).await;
                    }
                }
            }
            None => {}
        }
        let (entry, taken_from) = self.open_entry(id).await?;
        let mine = entry.handle.clone();
        actors.insert(id.to_owned(), entry);
        drop(actors);
        if let Some(previous) = taken_from {
            super::cluster::announce_foreign_worktree(&mine, &previous).await;
        }
        Ok(mine)
    }

    /// Spawns the actor of a stored thread. A turn still "in progress" in the store was cut
    /// off by a crash or kill (or by the death of the daemon that held it): the actor ends it
    /// `interrupted` before anything else.
    pub(super) async fn spawn_stored(
        &self,
        id: &str,
        epoch: Option<i64>,
    ) -> Result<Entry, ThreadError> {
        let row = self
            .store
            .thread(id)
            .await?
            .ok_or_else(|| ThreadError::NotFound(id.to_owned()))?;
        let turns = self.store.turns(id).await?;
        let turn_count = turns.len() as i64;
        let stale_turns: Vec<_> = turns
            .into_iter()
            .filter(|t| t.status == TurnState::InProgress)
            .collect();
        let (handle, idle) = ThreadActor::spawn(Spawn {
            store: self.store.clone(),
            services: self.services.clone(),
            row,
            stored: true,
            stale_turns,
            turn_count,
            epoch,
        });
        Ok(Entry {
            handle,
            idle,
            follower: false,
            epoch,
        })
    }

    /// The actor of a thread if it is loaded; never touches the store.
    pub async fn loaded(&self, id: &str) -> Option<ActorHandle> {
        self.actors.lock().await.get(id).map(|e| e.handle.clone())
    }

    /// The ids of the loaded threads.
    pub async fn loaded_ids(&self) -> Vec<String> {
        self.actors.lock().await.keys().cloned().collect()
    }

    /// How many threads are loaded.
    pub async fn loaded_count(&self) -> usize {
        self.actors.lock().await.len()
    }

    /// The status of each given thread: a loaded thread reports its actor's, any other is
    /// `notLoaded`.
    pub async fn statuses<'a>(&self, ids: impl Iterator<Item = &'a str>) -> Vec<ThreadStatus> {
        let actors = self.actors.lock().await;
        ids.map(|id| {
            actors
                .get(id)
                .map_or(ThreadStatus::NotLoaded, |e| e.handle.status())
        })
        .collect()
    }

    /// Threads with a turn running now.
    pub async fn active(&self) -> Vec<ActorHandle> {
        self.actors
            .lock()
            .await
            .values()
            .filter(|e| matches!(e.handle.status(), ThreadStatus::Active { .. }))
            .map(|e| e.handle.clone())
            .collect()
    }

    /// SessionEnd hooks of every loaded thread (the daemon is stopping), all at once, within
    /// `budget`.
    pub async fn end_sessions(&self, reason: &str, budget: Duration) {
        let handles: Vec<ActorHandle> = self
            .actors
            .lock()
            .await
            .values()
            .map(|e| e.handle.clone())
            .collect();
        let services = &self.services;
        let ends = handles
            .iter()
            .map(|h| h.session_ended(services, reason, budget));
        futures_util::future::join_all(ends).await;
    }

    /// Drops a connection's subscriptions on the given threads.
    pub async fn unsubscribe_all(&self, conn: super::ConnectionId, thread_ids: &[String]) {
        for id in thread_ids {
            if let Some(h) = self.loaded(id).await {
                h.unsubscribe(conn).await;
            }
        }
    }

    /// Loads every thread whose turn was cut off, so each gets its `turn/completed`
    /// (`interrupted`) right at start rather than whenever someone next opens it; returns how
    /// many did. One that cannot be loaded (a row that does not decode) is logged and skipped:
    /// it costs its own thread, not the recovery of the others.
    pub async fn recover_interrupted_turns(&self) -> Result<usize, ThreadError> {
        let ids = self.store.threads_with_running_turns().await?;
        let mut ended = 0;
        for id in &ids {
            let recovered = match self.load(id).await {
                Ok(handle) => handle.barrier().await,
                Err(e) => Err(e),
            };
            match recovered {
                Ok(()) => ended += 1,
                Err(e) => {
                    tracing::error!(thread = %id, error = %e, "could not end the thread's interrupted turn")
                }
            }
        }
        Ok(ended)
    }

    /// Unloads the threads idle for at least `idle`; returns how many.
    pub async fn sweep(&self, idle: Duration) -> usize {
        let mut actors = self.actors.lock().await;
        let idle_ids: Vec<String> = actors
            .iter()
            .filter(|(_, e)| {
                e.handle.leases() == 1
                    && (e.handle.is_stopped() || e.idle.idle_for().is_some_and(|d| d >= idle))
            })
            .map(|(id, _)| id.clone())
            .collect();
        let mut stopping = Vec::with_capacity(idle_ids.len());
        for id in &idle_ids {
            if let Some(entry) = actors.remove(id) {
                stopping.push((entry.handle, entry.follower, entry.epoch));
            }
        }
        drop(actors);
        for (handle, follower, epoch) in &stopping {
            handle.shutdown().await;
            if !follower {
                // Its own MCP servers go with it (they start again with its next turn).
                self.services.mcp.release_thread(handle.id()).await;
                self.release_lease(handle.id(), *epoch).await;
            }
        }
        if !stopping.is_empty() {
            tracing::debug!(threads = stopping.len(), "unloaded idle threads");
            if stopping.len() >= BIG_SWEEP {
                self.store.release_memory().await;
            }
            crate::heap::release_free_memory();
        }
        stopping.len()
    }

    /// Sweeps every `idle / 4` (at least once a second) for as long as the hub lives.
    pub fn start_unloading(self: &Arc<Self>, idle: Duration) {
        let hub: Weak<ThreadHub> = Arc::downgrade(self);
        let period = (idle / 4)
            .max(Duration::from_secs(1))
            .min(idle.max(Duration::from_millis(100)));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(period).await;
                let Some(hub) = hub.upgrade() else { return };
                hub.sweep(idle).await;
            }
        });
    }

    /// Deletes a thread for good, with its sub-agents (closed ones too): each actor stops (a
    /// running turn is interrupted first), then every row about it goes. Returns the ids
    /// deleted, children before their parent; empty when there was no such thread.
    pub async fn delete(&self, id: &str) -> Result<Vec<String>, ThreadError> {
        let mut deleted = Vec::new();
        for archived in [false, true] {
            let children = self
                .store
                .list_threads(&crate::store::ThreadListQuery {
                    parent_id: Some(id.to_owned()),
                    archived,
                    limit: MAX_CHILDREN_DELETED,
                    ..Default::default()
                })
                .await?;
            for child in children {
                deleted.extend(Box::pin(self.delete(&child.id)).await?);
            }
        }
        let entry = self.actors.lock().await.remove(id);
        if let Some(entry) = entry {
            let _ = entry.handle.interrupt_running().await;
            let _ = entry.handle.barrier().await;
            entry.handle.shutdown().await;
            self.release_lease(id, entry.epoch).await;
        }
        self.services.mcp.release_thread(id).await;
        if self.store.delete_thread(id).await? {
            deleted.push(id.to_owned());
        }
        Ok(deleted)
    }

    /// Stops every actor after it has committed what it holds.
    pub async fn shutdown(&self) {
        let entries: Vec<Entry> = self.actors.lock().await.drain().map(|(_, e)| e).collect();
        for e in entries {
            e.handle.shutdown().await;
            self.release_lease(e.handle.id(), e.epoch).await;
        }
    }
}
