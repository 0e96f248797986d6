//! History handlers: `thread/fork`, `thread/rollback` (and Codex's `thread/revert`),
//! `thread/search` and `thread/compact/start`. Parse, call into the hub and actors, shape the answer; the work is in
//! `threads/history.rs`, `agent/compaction.rs` and `store/sqlite/search.rs` and `store/postgres/search.rs`.

use agentd_protocol::{
    ThreadCompactStartParams, ThreadCompactStartResponse, ThreadForkParams, ThreadRevertParams,
    ThreadRevertResponse, ThreadRollbackParams, ThreadRollbackResponse, ThreadSearchHit,
    ThreadSearchParams, ThreadSearchResponse,
};

use super::connection::Session;
use super::dispatch::{Answer, Handled};
use super::error::RpcError;
use super::overrides;
use super::thread::{resolve_cwd, start_response, turns_of, with_turns};
use crate::clock::unix_now;
use crate::daemon::Daemon;
use crate::store::{match_expression, SearchCursor, SearchQuery, ThreadRow};
use crate::threads::{settings_of, thread_from_row};

/// `thread/search` page size when the client gives none, and the most it may ask for.
const DEFAULT_SEARCH_PAGE: u32 = 20;
const MAX_SEARCH_PAGE: u32 = 200;

/// A new thread with the source's history up to and including `lastTurnId` (default: every
/// finished turn). The source's running turn is never copied. The caller is subscribed, as with
/// `thread/start`.
pub async fn fork(
    daemon: &Daemon,
    session: &mut Session,
    p: ThreadForkParams,
) -> Result<Answer, RpcError> {
    let source = daemon.hub.load(&p.thread_id).await?;
    let snapshot = source.fork_snapshot(p.last_turn_id.clone()).await?;
    let src = snapshot.source.clone();
    let o = &p.overrides;
    // The source's settings, then what the request asks for (as `thread/start`'s).
    let requested = overrides::for_thread(daemon, session, "thread/fork", o, &src.model_provider)?;
    let mut settings = settings_of(&src);
    let (mut model, mut model_provider) = (src.model.clone(), src.model_provider.clone());
    requested
        .patch
        .apply(&mut settings, &mut model, &mut model_provider);
    let cwd = match o.cwd.as_deref() {
        Some(c) => resolve_cwd(daemon, Some(c))?.display().to_string(),
        None => src.cwd.clone(),
    };
    let settings = serde_json::to_value(&settings)
        .map_err(|e| RpcError::internal("serialising thread settings", e))?;
    let id = uuid::Uuid::now_v7().to_string();
    let now = unix_now();
    let (projections, turn_count) = snapshot.into_fork_rows(&id);
    let row = ThreadRow {
        id,
        session_id: src.session_id.clone(),
        forked_from_id: Some(src.id.clone()),
        name: None,
        preview: if turn_count > 0 {
            src.preview.clone()
        } else {
            String::new()
        },
        cwd,
        model,
        model_provider,
        settings,
        ephemeral: p.ephemeral.unwrap_or(src.ephemeral),
        archived: false,
        created_at: now,
        updated_at: now,
        last_seq: 0,
        source: src.source.clone(),
        source_kind: src.source_kind.clone(),
        parent_id: src.parent_id.clone(),
    };
    session.may_subscribe(None)?;
    let handle = daemon.hub.create_with(row, projections, turn_count).await?;
    overrides::warn_ignored(session, handle.id(), &requested.ignored);
    let (row, catch_up) = handle.subscribe(session.subscriber(), Some(0)).await?;
    session.subscriptions.insert(row.id.clone());
    handle.session_started(daemon.hub.services(), "fork").await;
    let answer = Handled::new(start_response(&row, handle.status(), Vec::new()))?.then(catch_up);
    if p.exclude_turns.unwrap_or(false) {
        answer.into_answer()
    } else {
        with_turns(answer, &turns_of(daemon, &row.id).await?)
    }
}

/// Drops the last `numTurns` turns from the model's history and the turn list (they stay in
/// the store, flagged); answers with the thread and the files those turns changed.
pub async fn rollback(daemon: &Daemon, p: ThreadRollbackParams) -> Result<Answer, RpcError> {
    if p.num_turns == 0 {
        return Err(RpcError::invalid_params("numTurns", "must be at least 1"));
    }
    let handle = daemon.hub.load(&p.thread_id).await?;
    let outcome = handle.rollback(p.num_turns).await?;
    let turns = turns_of(daemon, &outcome.thread.id).await?;
    let answer = Handled::new(ThreadRollbackResponse {
        thread: thread_from_row(&outcome.thread, handle.status(), Vec::new()),
        changed_files: outcome.changed_files,
    })?;
    with_turns(answer, &turns)
}

/// `thread/revert {beforeTurnId}` (Codex's name): a rollback of that turn and every later one.
pub async fn revert(daemon: &Daemon, p: ThreadRevertParams) -> Result<Handled, RpcError> {
    let turns = daemon.hub.store().turns(&p.thread_id).await?;
    let visible: Vec<_> = turns.iter().filter(|t| !t.rolled_back).collect();
    let at = visible
        .iter()
        .position(|t| t.id == p.before_turn_id)
        .ok_or_else(|| RpcError::not_found(format!("turn {}", p.before_turn_id)))?;
    let num_turns = (visible.len() - at) as u32;
    let handle = daemon.hub.load(&p.thread_id).await?;
    let outcome = handle.rollback(num_turns).await?;
    Handled::new(ThreadRevertResponse {
        thread: thread_from_row(&outcome.thread, handle.status(), Vec::new()),
        changed_files: outcome.changed_files,
    })
}

/// Full-text search over user messages, agent messages and command lines; best threads first,
/// each with a snippet of its best match.
pub async fn search(daemon: &Daemon, p: ThreadSearchParams) -> Result<Handled, RpcError> {
    if match_expression(&p.query).is_none() {
        return Err(RpcError::invalid_params(
            "query",
            "must contain at least one word",
        ));
    }
    let limit = p
        .limit
        .unwrap_or(DEFAULT_SEARCH_PAGE)
        .clamp(1, MAX_SEARCH_PAGE);
    let after = match p.cursor.as_deref() {
        None => None,
        Some(c) => Some(SearchCursor::decode(c).ok_or_else(|| {
            RpcError::invalid_params("cursor", "not a cursor from thread/search")
        })?),
    };
    let query = SearchQuery {
        text: p.query.clone(),
        archived: p.archived.unwrap_or(false),
        after,
        limit: limit + 1,
    };
    let mut hits = daemon.hub.store().search_threads(&query).await?;
    let next_cursor = if hits.len() > limit as usize {
        hits.truncate(limit as usize);
        hits.last().map(|h| h.cursor.encode())
    } else {
        None
    };
    let statuses = daemon
        .hub
        .statuses(hits.iter().map(|h| h.thread.id.as_str()))
        .await;
    let data = hits
        .into_iter()
        .zip(statuses)
        .map(|(h, status)| ThreadSearchHit {
            thread: thread_from_row(&h.thread, status, Vec::new()),
            snippet: h.snippet,
        })
        .collect();
    Handled::new(ThreadSearchResponse { data, next_cursor })
}

/// Starts a turn that compacts the thread's history; refused while a turn runs.
pub async fn compact_start(
    daemon: &Daemon,
    p: ThreadCompactStartParams,
) -> Result<Handled, RpcError> {
    let handle = daemon.hub.load(&p.thread_id).await?;
    handle.start_compaction().await?;
    Handled::new(ThreadCompactStartResponse {})
}
