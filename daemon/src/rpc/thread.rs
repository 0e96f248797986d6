//! `thread/*` handlers: parse, call into the hub and actors, shape the answer.

use std::path::{Path, PathBuf};

use agentd_protocol::{
    ApprovalsReviewer, SandboxPolicy, SessionSource, ThreadArchiveParams, ThreadArchiveResponse,
    ThreadDeleteResponse, ThreadDeletedNotification, ThreadIdParams, ThreadListParams,
    ThreadListResponse, ThreadReadParams, ThreadReadResponse, ThreadResumeParams,
    ThreadSetNameParams, ThreadSetNameResponse, ThreadStartParams, ThreadStartResponse,
    ThreadStatus, ThreadUnarchiveParams, ThreadUnarchiveResponse, ThreadUnsubscribeParams,
    ThreadUnsubscribeResponse, ThreadUnsubscribeStatus,
};

use super::connection::Session;
use super::dispatch::{Answer, Handled};
use super::error::RpcError;
use super::overrides;
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
    let config = &daemon.config;
    let requested =
        overrides::for_thread(daemon, session, "thread/start", o, &config.model_provider)?;
    // The daemon's config, then what the request asks for.
    let mut settings = ThreadSettings {
        approval_policy: config.approval_policy,
        sandbox: SandboxPolicy::from_mode(config.sandbox_mode),
        base_instructions: config.instructions.clone(),
        developer_instructions: config.developer_instructions.clone(),
        reasoning_effort: config.model_reasoning_effort.clone(),
        mcp_servers: None,
        model_providers: None,
        web_search: None,
        tools: None,
        worktree: None,
    };
    let (mut model, mut model_provider) = (config.model.clone(), config.model_provider.clone());
    requested
        .patch
        .apply(&mut settings, &mut model, &mut model_provider);
    let mcp_servers = settings.mcp_servers.clone();
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
        model,
        model_provider,
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
    overrides::warn_ignored(session, handle.id(), &requested.ignored);
    // Subscribing from seq 0 replays `thread/started` right after this answer.
    let (row, catch_up) = handle.subscribe(session.subscriber(), Some(0)).await?;
    session.subscriptions.insert(row.id.clone());
    handle
        .session_started(daemon.hub.services(), "startup")
        .await;
    Ok(Handled::new(start_response(&row, handle.status(), Vec::new()))?.then(catch_up))
}

pub async fn resume(
    daemon: &Daemon,
    session: &mut Session,
    p: ThreadResumeParams,
) -> Result<Answer, RpcError> {
    session.may_subscribe(Some(&p.thread_id))?;
    let handle = daemon.hub.load(&p.thread_id).await?;
    apply_resume_overrides(daemon, session, &handle, &p.overrides).await?;
    let sub = session.subscriber();
    let (row, catch_up) = handle.subscribe(sub.clone(), p.after_seq).await?;
    session.subscriptions.insert(row.id.clone());
    // Its sub-agents come along: replayed from their start too when this is (docs/subagents.md).
    let (children, followed) = daemon
        .hub
        .follow_children(&row.id, &sub, p.after_seq == Some(0))
        .await;
    session.subscriptions.extend(children);
    let catch_up = catch_up.and(followed);
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

/// What `thread/resume` asks to change applies to the thread's next turns. Resuming is an
/// observer's right, changing settings is not: an observe token's overrides are dropped with a
/// warning, not refused (a Codex client sends its settings on every resume).
async fn apply_resume_overrides(
    daemon: &Daemon,
    session: &Session,
    handle: &crate::threads::ActorHandle,
    o: &agentd_protocol::ThreadOverrides,
) -> Result<(), RpcError> {
    let provider = match daemon.hub.store().thread(handle.id()).await? {
        Some(row) => row.model_provider,
        None => return Err(RpcError::not_found(format!("thread {}", handle.id()))),
    };
    let requested = overrides::for_thread(daemon, session, "thread/resume", o, &provider)?;
    overrides::warn_ignored(session, handle.id(), &requested.ignored);
    if requested.changes_nothing() {
        return Ok(());
    }
    if !session.scope.allows(Scope::Control) {
        session.notify(&agentd_protocol::WarningNotification {
            message: "thread/resume: an observe token cannot change a thread's settings; \
                      the overrides were not applied"
                .to_owned(),
            thread_id: Some(handle.id().to_owned()),
            seq: None,
        });
        return Ok(());
    }
    if handle.runs_elsewhere() {
        // Its settings live with the actor on the daemon running it; `turn/start` (forwarded
        // there) carries the same overrides.
        session.notify(&agentd_protocol::WarningNotification {
            message: "thread/resume: this thread runs on another daemon; its settings were not \
                      changed (send them with turn/start)"
                .to_owned(),
            thread_id: Some(handle.id().to_owned()),
            seq: None,
        });
        return Ok(());
    }
    let servers = requested.patch.mcp_servers.clone();
    handle
        .update(ThreadUpdate::Settings(Box::new(requested.patch)))
        .await?;
    if let Some(own) = servers {
        restart_thread_servers(daemon, handle.id(), &own).await;
    }
    Ok(())
}

/// A thread's own MCP servers changed: the old ones stop, the new ones start.
pub(super) async fn restart_thread_servers(
    daemon: &Daemon,
    thread_id: &str,
    own: &serde_json::Map<String, serde_json::Value>,
) {
    let mcp = &daemon.hub.services().mcp;
    mcp.release_thread(thread_id).await;
    let own = crate::config::mcp_servers_from_json(own).unwrap_or_default();
    mcp.thread_servers(thread_id, &own);
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
        without_ephemeral: true,
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

/// `thread/delete`: the thread, its sub-agents and everything stored about them go; every
/// connection is told, once per deleted thread (`thread/deleted`).
pub async fn delete(daemon: &Daemon, p: ThreadIdParams) -> Result<Handled, RpcError> {
    let deleted = daemon.hub.delete(&p.thread_id).await?;
    if deleted.is_empty() {
        return Err(RpcError::not_found(format!("thread {}", p.thread_id)));
    }
    for thread_id in deleted {
        daemon.broadcast(&ThreadDeletedNotification { thread_id, seq: 0 });
    }
    Handled::new(ThreadDeleteResponse {})
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
