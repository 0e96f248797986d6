//! What Codex clients call at start and per session where agentd has little or nothing to
//! report: answered validly (empty lists, null goals, unknown rate limits), never -32601.

use agentd_protocol::{
    GetAccountRateLimitsResponse, ListOfValues, PageParams, PermissionProfileListResponse,
    PermissionProfileSummary, PluginInstalledResponse, SkillsListEntry, SkillsListParams,
    SkillsListResponse, ThreadGoalGetResponse, ThreadIdParams, ThreadLoadedListResponse,
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

/// The sandbox modes, as Codex's permission profiles.
pub fn permission_profiles<P>(_p: P) -> Result<Handled, RpcError> {
    let profile = |id: &str, description: &str| PermissionProfileSummary {
        id: id.to_owned(),
        allowed: true,
        description: Some(description.to_owned()),
    };
    Handled::new(PermissionProfileListResponse {
        data: vec![
            profile("read-only", "read files; writes need approval"),
            profile("workspace-write", "write in the workspace, confined"),
            profile("danger-full-access", "no sandbox"),
        ],
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
    if daemon.hub.store().thread(&p.thread_id).await?.is_none() {
        return Err(RpcError::not_found(format!("thread {}", p.thread_id)));
    }
    Handled::new(ThreadGoalGetResponse { goal: None })
}

pub fn rate_limits<P>(_p: P) -> Result<Handled, RpcError> {
    Handled::new(GetAccountRateLimitsResponse::default())
}
