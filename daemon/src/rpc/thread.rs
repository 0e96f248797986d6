//! `thread/*` handlers: parse, call into the hub and actors, shape the answer.

use std::path::{Path, PathBuf};

use agentd_protocol::{
    ApprovalsReviewer, SandboxPolicy, SessionSource, ThreadArchiveParams, ThreadArchiveResponse,
    ThreadListParams, ThreadListResponse, ThreadReadParams, ThreadReadResponse, ThreadResumeParams,
    ThreadSetNameParams, ThreadSetNameResponse, ThreadStartParams, ThreadStartResponse,
    ThreadStatus, ThreadUnarchiveParams, ThreadUnarchiveResponse, ThreadUnsubscribeParams,
    ThreadUnsubscribeResponse, ThreadUnsubscribeStatus,
};

use super::connection::Session;
use super::dispatch::{Answer, Handled};
use super::error::RpcError;
use crate::auth::Scope;
use crate::clock::unix_now;
use crate::daemon::Daemon;
use crate::store::{ThreadListQuery, ThreadRow};
use crate::threads::{settings_of, thread_from_row, turns_json, ThreadSettings, ThreadUpdate};

/// How long SessionEnd hooks of an archived thread may run (in all) before they are killed.
const SESSION_END_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

/// Longest accepted thread name, in characters.
const MAX_NAME_CHARS: usize = 512;
/// `thread/list` page size when the client gives none, and the most it may ask for.
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 500;

/// Resolves a requested cwd: absolute, normalised, and an existing directory. `None` (Codex
/// sends `cwd: null`) means the daemon's default workspace.
pub(super) fn resolve_cwd(daemon: &Daemon, requested: Option<&str>) -> Result<PathBuf, RpcError> {
    let Some(raw) = requested else {
        return Ok(daemon.config.default_cwd.clone());
    };
    let path = Path::new(raw);
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        daemon.config.default_cwd.join(path)
    };
    let canonical = std::fs::canonicalize(&joined)
        .map_err(|e| RpcError::invalid_params("cwd", format!("{raw}: {e}")))?;
    if !canonical.is_dir() {
        return Err(RpcError::invalid_params(
            "cwd",
            format!("{raw}: not a directory"),
        ));
    }
    Ok(canonical)
}

pub(super) fn start_response(
    row: &ThreadRow,
    status: ThreadStatus,
    turns: Vec<agentd_protocol::Turn>,
) -> ThreadStartResponse {
    let settings = settings_of(row);
    ThreadStartResponse {
        thread: thread_from_row(row, status, turns),
        model: row.model.clone(),
        model_provider: row.model_provider.clone(),
        cwd: row.cwd.clone(),
        approval_policy: settings.approval_policy,
        approvals_reviewer: ApprovalsReviewer::User,
        sandbox: settings.sandbox,
        reasoning_effort: settings.reasoning_effort,
    }
}

pub async fn start(
    daemon: &Daemon,
    session: &mut Session,
    p: ThreadStartParams,
) -> Result<Handled, RpcError> {
    let o = &p.overrides;
    let cwd = resolve_cwd(daemon, o.cwd.as_deref())?;
    let mcp_servers = thread_mcp_servers(session, o.config.as_ref())?;
    let settings = ThreadSettings {
        approval_policy: o.approval_policy.unwrap_or(daemon.config.approval_policy),
        sandbox: SandboxPolicy::from_mode(o.sandbox.unwrap_or(daemon.config.sandbox_mode)),
        base_instructions: o.base_instructions.clone(),
        developer_instructions: o.developer_instructions.clone(),
        reasoning_effort: None,
        mcp_servers: mcp_servers.clone(),
        tools: None,
        worktree: None,
    };
    let settings = serde_json::to_value(&settings)
        .map_err(|e| RpcError::internal("serialising thread settings", e))?;
    let source = match p.session_source.clone().unwrap_or_default() {
        SessionSource::SubAgent(_) => {
            return Err(RpcError::invalid_params(
                "sessionSource",
                "subAgent threads are started by the daemon (spawn_agent), not by clients",
            ))
        }
        other => other,
    };
    let id = uuid::Uuid::now_v7().to_string();
    let now = unix_now();
    let row = ThreadRow {
        session_id: id.clone(),
        id,
        forked_from_id: None,
        name: None,
        preview: String::new(),
        cwd: cwd.display().to_string(),
        model: o
            .model
            .clone()
            .unwrap_or_else(|| daemon.config.model.clone()),
        model_provider: o
            .model_provider
            .clone()
            .unwrap_or_else(|| daemon.config.model_provider.clone()),
        settings,
        ephemeral: p.ephemeral.unwrap_or(false),
        archived: false,
        created_at: now,
        updated_at: now,
        last_seq: 0,
        source_kind: source.kind().to_owned(),
        source: serde_json::to_string(&source)
            .map_err(|e| RpcError::internal("serialising the thread's source", e))?,
        parent_id: None,
    };
    session.may_subscribe(None)?;
    let handle = daemon.hub.create(row).await?;
    if let Some(own) = &mcp_servers {
        // Start the thread's own servers now, so its first turn need not wait for them.
        let own = crate::config::mcp_servers_from_json(own).unwrap_or_default();
        daemon.hub.services().mcp.thread_servers(handle.id(), &own);
    }
    // Subscribing from seq 0 replays `thread/started` right after this answer.
    let (row, catch_up) = handle.subscribe(session.subscriber(), Some(0)).await?;
    session.subscriptions.insert(row.id.clone());
    handle
        .session_started(daemon.hub.services(), "startup")
        .await;
    Ok(Handled::new(start_response(&row, handle.status(), Vec::new()))?.then(catch_up))
}

/// The thread's own MCP servers from `config` (`mcp_servers`, nested or dotted), checked now so
/// a bad entry fails `thread/start`. A stdio server is a process on the host, outside the
/// sandbox: over WebSocket only an admin token may add one (PROTOCOL.md §9).
fn thread_mcp_servers(
    session: &Session,
    config: Option<&serde_json::Map<String, serde_json::Value>>,
) -> Result<Option<serde_json::Map<String, serde_json::Value>>, RpcError> {
    let Some(config) = config else {
        return Ok(None);
    };
    let servers = crate::config::mcp_servers_from_json(config)
        .map_err(|e| RpcError::invalid_params("config.mcp_servers", e))?;
    if servers.is_empty() {
        return Ok(None);
    }
    if servers.values().any(|s| s.is_stdio()) && !session.scope.allows(Scope::Admin) {
        return Err(RpcError::forbidden(
            "thread/start with a stdio MCP server",
            session.scope,
            Scope::Admin,
        ));
    }
    let own: serde_json::Map<String, serde_json::Value> = config
        .iter()
        .filter(|(k, _)| *k == "mcp_servers" || k.starts_with("mcp_servers."))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(Some(own))
}

pub async fn resume(
    daemon: &Daemon,
    session: &mut Session,
    p: ThreadResumeParams,
) -> Result<Answer, RpcError> {
    session.may_subscribe(Some(&p.thread_id))?;
    let handle = daemon.hub.load(&p.thread_id).await?;
    let (row, catch_up) = handle.subscribe(session.subscriber(), p.after_seq).await?;
    session.subscriptions.insert(row.id.clone());
    handle
        .session_started(daemon.hub.services(), "resume")
        .await;
    let answer = Handled::new(start_response(&row, handle.status(), Vec::new()))?.then(catch_up);
    if p.exclude_turns.unwrap_or(false) {
        answer.into_answer()
    } else {
        with_turns(answer, &turns_of(daemon, &row.id).await?)
    }
}

pub async fn read(daemon: &Daemon, p: ThreadReadParams) -> Result<Answer, RpcError> {
    let store = daemon.hub.store();
    let row = store
        .thread(&p.thread_id)
        .await?
        .ok_or_else(|| RpcError::not_found(format!("thread {}", p.thread_id)))?;
    let status = daemon.hub.statuses(std::iter::once(row.id.as_str())).await;
    let status = status.into_iter().next().unwrap_or(ThreadStatus::NotLoaded);
    let answer = Handled::new(ThreadReadResponse {
        thread: thread_from_row(&row, status, Vec::new()),
        child_thread_ids: daemon.hub.child_ids(&row.id).await,
    })?;
    if p.include_turns.unwrap_or(false) {
        with_turns(answer, &turns_of(daemon, &row.id).await?)
    } else {
        answer.into_answer()
    }
}

/// A thread's visible turns with their items, as JSON text: the stored item payloads go out as
/// they are, checked but never parsed into values (a 10k-item thread is megabytes; see
/// `threads::turns_json`).
pub(super) async fn turns_of(daemon: &Daemon, thread_id: &str) -> Result<String, RpcError> {
    let turns = daemon.hub.store().turns_with_items_json(thread_id).await?;
    Ok(turns_json(turns))
}

/// The answer text with `turns` (from [`turns_of`]) as its `thread.turns`.
pub(super) fn with_turns(answer: Handled, turns: &str) -> Result<Answer, RpcError> {
    answer.into_answer_with(&["thread", "turns"], turns)
}

pub async fn list(daemon: &Daemon, p: ThreadListParams) -> Result<Handled, RpcError> {
    let limit = p.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    let cwds: Vec<String> = p
        .cwd
        .as_ref()
        .map(|c| c.paths().into_iter().map(str::to_owned).collect())
        .unwrap_or_default();
    if cwds.len() > 1 {
        return Err(RpcError::invalid_params(
            "cwd",
            "agentd filters on one cwd at a time",
        ));
    }
    let query = ThreadListQuery {
        archived: p.archived.unwrap_or(false),
        cwd: cwds.into_iter().next(),
        search_term: p.search_term.clone(),
        source_kinds: p.source_kinds.clone().unwrap_or_default(),
        parent_id: p.parent_thread_id.clone(),
        after_id: p.cursor.clone(),
        limit: limit + 1,
    };
    let mut rows = daemon.hub.store().list_threads(&query).await?;
    let next_cursor = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.id.clone())
    } else {
        None
    };
    let statuses = daemon
        .hub
        .statuses(rows.iter().map(|r| r.id.as_str()))
        .await;
    let data = rows
        .iter()
        .zip(statuses)
        .map(|(row, status)| thread_from_row(row, status, Vec::new()))
        .collect();
    Handled::new(ThreadListResponse { data, next_cursor })
}

pub async fn archive(daemon: &Daemon, p: ThreadArchiveParams) -> Result<Handled, RpcError> {
    let handle = daemon.hub.load(&p.thread_id).await?;
    handle.update(ThreadUpdate::Archive).await?;
    daemon.hub.close_children(handle.id()).await;
    handle
        .session_ended(daemon.hub.services(), "archived", SESSION_END_BUDGET)
        .await;
    Handled::new(ThreadArchiveResponse {})
}

pub async fn unarchive(daemon: &Daemon, p: ThreadUnarchiveParams) -> Result<Handled, RpcError> {
    let handle = daemon.hub.load(&p.thread_id).await?;
    let row = handle.update(ThreadUpdate::Unarchive).await?;
    Handled::new(ThreadUnarchiveResponse {
        thread: thread_from_row(&row, handle.status(), Vec::new()),
    })
}

pub async fn unsubscribe(
    daemon: &Daemon,
    session: &mut Session,
    p: ThreadUnsubscribeParams,
) -> Result<Handled, RpcError> {
    session.subscriptions.remove(&p.thread_id);
    let was = match daemon.hub.loaded(&p.thread_id).await {
        Some(handle) => handle.unsubscribe(session.conn).await,
        None => {
            if daemon.hub.store().thread(&p.thread_id).await?.is_none() {
                return Err(RpcError::not_found(format!("thread {}", p.thread_id)));
            }
            false
        }
    };
    Handled::new(ThreadUnsubscribeResponse {
        status: if was {
            ThreadUnsubscribeStatus::Unsubscribed
        } else {
            ThreadUnsubscribeStatus::NotSubscribed
        },
    })
}

pub async fn set_name(daemon: &Daemon, p: ThreadSetNameParams) -> Result<Handled, RpcError> {
    let name = p.name.trim().to_owned();
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(RpcError::invalid_params(
            "name",
            format!("longer than {MAX_NAME_CHARS} characters"),
        ));
    }
    let handle = daemon.hub.load(&p.thread_id).await?;
    handle.update(ThreadUpdate::SetName(name)).await?;
    Handled::new(ThreadSetNameResponse {})
}
