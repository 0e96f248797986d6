//! What Codex clients call at start and per session where agentd has little or nothing to
//! report: answered validly (empty lists, null goals, unknown rate limits, no background
//! terminals), never -32601.

use agentd_protocol::{
    GetAccountRateLimitsResponse, ListOfValues, PageParams, PermissionProfileListResponse,
    PermissionProfileSummary, PluginInstalledResponse, SandboxMode, SkillsListEntry,
    SkillsListParams, SkillsListResponse, ThreadBackgroundTerminalsListParams,
    ThreadBackgroundTerminalsListResponse, ThreadBackgroundTerminalsTerminateParams,
    ThreadBackgroundTerminalsTerminateResponse, ThreadGoalGetResponse, ThreadIdParams,
    ThreadLoadedListResponse,
};

use super::dispatch::Handled;
use super::error::RpcError;
use crate::daemon::Daemon;

/// Directories one `skills/list` may name.
const MAX_CWDS: usize = 32;

pub fn skills(daemon: &Daemon, p: SkillsListParams) -> Result<Handled, RpcError> {
    let cwds = match p.cwds {
        Some(c) if !c.is_empty() => c,
        _ => vec![daemon.config.default_cwd.display().to_string()],
    };
    Handled::new(SkillsListResponse {
        data: cwds
            .into_iter()
            .take(MAX_CWDS)
            .map(|cwd| SkillsListEntry {
                cwd,
                skills: Vec::new(),
                errors: Vec::new(),
            })
            .collect(),
    })
}

pub fn plugins<P>(_p: P) -> Result<Handled, RpcError> {
    Handled::new(PluginInstalledResponse::default())
}

pub fn collaboration_modes<P>(_p: P) -> Result<Handled, RpcError> {
    Handled::new(ListOfValues::default())
}

/// The sandbox modes, as Codex's built-in permission profiles (`:read-only`, `:workspace`,
/// `:danger-full-access`); `turn/start {permissions}` takes these ids.
pub fn permission_profiles<P>(_p: P) -> Result<Handled, RpcError> {
    let data = SandboxMode::ALL
        .into_iter()
        .map(|mode| PermissionProfileSummary {
            id: mode.permission_profile().to_owned(),
            allowed: true,
            description: Some(
                match mode {
                    SandboxMode::ReadOnly => "read files; writes need approval",
                    SandboxMode::WorkspaceWrite => "write in the workspace, confined",
                    SandboxMode::DangerFullAccess => "no sandbox",
                }
                .to_owned(),
            ),
        })
        .collect();
    Handled::new(PermissionProfileListResponse {
        data,
        next_cursor: None,
    })
}

/// The threads loaded in memory, paged by position.
pub async fn loaded(daemon: &Daemon, p: PageParams) -> Result<Handled, RpcError> {
    let mut ids = daemon.hub.loaded_ids().await;
    ids.sort();
    let start = match &p.cursor {
        Some(c) => c
            .parse::<usize>()
            .map_err(|_| RpcError::invalid_params("cursor", "not a cursor this daemon gave"))?,
        None => 0,
    };
    let limit = p.limit.map_or(usize::MAX, |l| l.max(1) as usize);
    let end = start.saturating_add(limit).min(ids.len());
    let next_cursor = (end < ids.len()).then(|| end.to_string());
    Handled::new(ThreadLoadedListResponse {
        data: ids.get(start.min(end)..end).unwrap_or_default().to_vec(),
        next_cursor,
    })
}

pub async fn goal(daemon: &Daemon, p: ThreadIdParams) -> Result<Handled, RpcError> {
    known_thread(daemon, &p.thread_id).await?;
    Handled::new(ThreadGoalGetResponse { goal: None })
}

/// A command runs to its end inside its tool call (its background stragglers are killed with
/// it), so a thread never has a terminal left running. Codex's ACP adapter lists them before it
/// closes a session.
pub async fn background_terminals(
    daemon: &Daemon,
    p: ThreadBackgroundTerminalsListParams,
) -> Result<Handled, RpcError> {
    known_thread(daemon, &p.thread_id).await?;
    Handled::new(ThreadBackgroundTerminalsListResponse::default())
}

pub async fn terminate_background_terminal(
    daemon: &Daemon,
    p: ThreadBackgroundTerminalsTerminateParams,
) -> Result<Handled, RpcError> {
    known_thread(daemon, &p.thread_id).await?;
    Handled::new(ThreadBackgroundTerminalsTerminateResponse { terminated: false })
}

/// -32004 unless the store has the thread.
async fn known_thread(daemon: &Daemon, thread_id: &str) -> Result<(), RpcError> {
    match daemon.hub.store().thread(thread_id).await? {
        Some(_) => Ok(()),
        None => Err(RpcError::not_found(format!("thread {thread_id}"))),
    }
}

pub fn rate_limits<P>(_p: P) -> Result<Handled, RpcError> {
    Handled::new(GetAccountRateLimitsResponse::default())
}
