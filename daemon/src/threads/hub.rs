//! The thread hub: finds the actor of a loaded thread, loads a stored one on first use, and
//! creates new threads.

use std::collections::HashMap;
use std::sync::Arc;

use agentd_protocol::ThreadStatus;
use tokio::sync::Mutex;

use super::actor::{ActorHandle, ThreadActor};
use super::convert::thread_from_row;
use super::ThreadError;
use crate::agent::AgentServices;
use crate::store::{Projection, Store, ThreadRow};

pub struct ThreadHub {
    store: Store,
    services: Arc<AgentServices>,
    /// A tokio mutex because loading awaits the store; holding it across the load is what stops
    /// two connections from spawning two actors for one thread.
    actors: Mutex<HashMap<String, ActorHandle>>,
}

impl ThreadHub {
    pub fn new(store: Store, services: Arc<AgentServices>) -> Self {
        ThreadHub {
            store,
            services,
            actors: Mutex::new(HashMap::new()),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
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
        let started = thread_from_row(&row, ThreadStatus::Idle, Vec::new());
        let handle = ThreadActor::spawn(
            self.store.clone(),
            self.services.clone(),
            row,
            false,
            Vec::new(),
            turn_count,
        );
        self.actors.lock().await.insert(id.clone(), handle.clone());
        let params = serde_json::json!({ "thread": started });
        if let Err(e) = handle.emit("thread/started", params, projections).await {
            self.actors.lock().await.remove(&id);
            handle.shutdown().await;
            return Err(e);
        }
        Ok(handle)
    }

    /// The actor of a thread, loading it from the store if needed.
    pub async fn load(&self, id: &str) -> Result<ActorHandle, ThreadError> {
        let mut actors = self.actors.lock().await;
        if let Some(h) = actors.get(id) {
            return Ok(h.clone());
        }
        let row = self
            .store
            .thread(id)
            .await?
            .ok_or_else(|| ThreadError::NotFound(id.to_owned()))?;
        let turns = self.store.turns(id).await?;
        let count = turns.len() as i64;
        // A turn still "in progress" in the store was cut off by a crash or kill: the actor ends
        // it `interrupted` before anything else.
        let stale: Vec<_> = turns
            .into_iter()
            .filter(|t| t.status == "inProgress")
            .collect();
        let handle = ThreadActor::spawn(
            self.store.clone(),
            self.services.clone(),
            row,
            true,
            stale,
            count,
        );
        actors.insert(id.to_owned(), handle.clone());
        Ok(handle)
    }

    /// The actor of a thread if it is loaded; never touches the store.
    pub async fn loaded(&self, id: &str) -> Option<ActorHandle> {
        self.actors.lock().await.get(id).cloned()
    }

    /// The status of each given thread: a loaded thread reports its actor's, any other is
    /// `notLoaded`.
    pub async fn statuses<'a>(&self, ids: impl Iterator<Item = &'a str>) -> Vec<ThreadStatus> {
        let actors = self.actors.lock().await;
        ids.map(|id| {
            actors
                .get(id)
                .map_or(ThreadStatus::NotLoaded, |h| h.status())
        })
        .collect()
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
    /// (`interrupted`) right at start rather than whenever someone next opens it.
    pub async fn recover_interrupted_turns(&self) -> Result<usize, ThreadError> {
        let ids = self.store.threads_with_running_turns().await?;
        for id in &ids {
            let handle = self.load(id).await?;
            handle.barrier().await?;
        }
        Ok(ids.len())
    }

    pub fn services(&self) -> &Arc<AgentServices> {
        &self.services
    }

    /// Stops every actor after it has committed what it holds.
    pub async fn shutdown(&self) {
        let handles: Vec<ActorHandle> = self.actors.lock().await.drain().map(|(_, h)| h).collect();
        for h in handles {
            h.shutdown().await;
        }
    }
}
