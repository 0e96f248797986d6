//! Reading the thread tree from the store: a thread's children, its root, its depth, what its
//! last turn said.

use std::time::Duration;

use agentd_protocol::{CollabAgentStatus, SessionSource, SubAgentSource, ThreadStatus};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::store::{Store, ThreadListQuery, ThreadRow, TurnState};

/// Children listed per thread, and threads walked per tree: bounds for a hostile store.
const MAX_CHILDREN: u32 = 500;
const MAX_TREE: usize = 2000;
const MAX_DEPTH: usize = 16;

fn spawn_source(row: &ThreadRow) -> Option<agentd_protocol::ThreadSpawnSource> {
    match serde_json::from_str::<SessionSource>(&row.source).ok()? {
        SessionSource::SubAgent(SubAgentSource::ThreadSpawn(s)) => Some(s),
        _ => None,
    }
}

pub fn depth_of(row: &ThreadRow) -> u32 {
    spawn_source(row).map_or(0, |s| s.depth.max(0) as u32)
}

pub fn nickname_of(row: &ThreadRow) -> Option<String> {
    spawn_source(row)?.agent_nickname
}

pub fn role_of(row: &ThreadRow) -> Option<String> {
    spawn_source(row)?.agent_role
}

/// A thread's children; closed (archived) ones too when `closed`.
pub async fn children(store: &Store, parent: &str, closed: bool) -> Result<Vec<ThreadRow>, String> {
    let query = |archived| ThreadListQuery {
        archived,
        parent_id: Some(parent.to_owned()),
        limit: MAX_CHILDREN,
        ..ThreadListQuery::default()
    };
    let mut rows = store
        .list_threads(&query(false))
        .await
        .map_err(|e| e.to_string())?;
    if closed {
        rows.extend(
            store
                .list_threads(&query(true))
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    rows.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    Ok(rows)
}

/// The thread no agent spawned that `row` descends from.
pub async fn root_of(store: &Store, row: &ThreadRow) -> Result<String, String> {
    let mut current = row.clone();
    for _ in 0..MAX_DEPTH {
        let Some(parent) = current.parent_id.clone() else {
            return Ok(current.id);
        };
        match store.thread(&parent).await.map_err(|e| e.to_string())? {
            Some(p) => current = p,
            None => return Ok(current.id),
        }
    }
    Ok(current.id)
}

/// Every open descendant of `root`.
pub async fn open_descendants(store: &Store, root: &str) -> Result<Vec<ThreadRow>, String> {
    descendants(store, root, false).await
}

/// Every descendant of `root`; closed ones (and theirs) too when `closed`.
pub async fn descendants(
    store: &Store,
    root: &str,
    closed: bool,
) -> Result<Vec<ThreadRow>, String> {
    let mut out = Vec::new();
    let mut frontier = vec![root.to_owned()];
    while let Some(id) = frontier.pop() {
        for child in children(store, &id, closed).await? {
            frontier.push(child.id.clone());
            out.push(child);
            if out.len() >= MAX_TREE {
                return Ok(out);
            }
        }
    }
    Ok(out)
}

pub async fn last_turn_status(store: &Store, thread: &str) -> CollabAgentStatus {
    match store
        .turns(thread)
        .await
        .ok()
        .and_then(|t| t.last().map(|t| t.status))
    {
        None => CollabAgentStatus::PendingInit,
        Some(TurnState::InProgress) => CollabAgentStatus::Running,
        Some(TurnState::Completed) => CollabAgentStatus::Completed,
        Some(TurnState::Interrupted) => CollabAgentStatus::Interrupted,
        Some(TurnState::Failed) => CollabAgentStatus::Errored,
    }
}

/// The id of the turn running now, if the store shows one.
pub async fn running_turn(store: &Store, thread: &str) -> Option<String> {
    let turns = store.turns(thread).await.ok()?;
    turns
        .into_iter()
        .rev()
        .find(|t| t.status == TurnState::InProgress)
        .map(|t| t.id)
}

/// The text of the thread's last agent message, in its last turn.
pub async fn last_message(store: &Store, thread: &str) -> Option<String> {
    let turns = store.turns(thread).await.ok()?;
    let last = turns.last()?.id.clone();
    let items = store.items(thread).await.ok()?;
    items
        .iter()
        .rev()
        .filter(|i| i.turn_id == last && i.kind == "agentMessage")
        .find_map(|i| {
            i.payload
                .get("text")
                .and_then(|t| t.as_str())
                .map(str::to_owned)
        })
}

/// Waits until any (or all) of the statuses is not active, the timeout, or `cancel`; true when
/// the condition was met (or cancelled), false on timeout.
pub async fn wait_for(
    watches: Vec<watch::Receiver<ThreadStatus>>,
    all: bool,
    timeout: Duration,
    cancel: &CancellationToken,
) -> bool {
    let idle = |s: &ThreadStatus| !matches!(s, ThreadStatus::Active { .. });
    let done = |w: &[watch::Receiver<ThreadStatus>]| {
        let mut states = w.iter().map(|r| idle(&r.borrow()));
        if w.is_empty() {
            true
        } else if all {
            states.all(|b| b)
        } else {
            states.any(|b| b)
        }
    };
    let deadline = tokio::time::Instant::now() + timeout;
    let mut watches = watches;
    loop {
        if done(&watches) || cancel.is_cancelled() {
            return true;
        }
        let woke = {
            let changed =
                futures_util::future::select_all(watches.iter_mut().map(|w| Box::pin(w.changed())));
            tokio::select! {
                (result, index, _) = changed => Woke::Changed(result.is_err().then_some(index)),
                _ = cancel.cancelled() => Woke::Cancelled,
                _ = tokio::time::sleep_until(deadline) => Woke::Deadline,
            }
        };
        match woke {
            // A thread that unloaded is not running.
            Woke::Changed(Some(gone)) => {
                watches.swap_remove(gone);
                if !all || watches.is_empty() {
                    return true;
                }
            }
            Woke::Changed(None) => {}
            Woke::Cancelled => return true,
            Woke::Deadline => return done(&watches),
        }
    }
}

enum Woke {
    /// A status changed; `Some(i)`: the `i`th thread is gone.
    Changed(Option<usize>),
    Cancelled,
    Deadline,
}
