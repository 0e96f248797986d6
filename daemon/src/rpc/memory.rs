//! `memory/read`, `memory/reset`, `memory/rebuild`: persistent memory, per project.

use std::path::Path;

use agentd_protocol::{
    MemoryEntry, MemoryReadResponse, MemoryRebuildParams, MemoryRebuildResponse,
    MemoryResetResponse, MemoryScopeParams,
};

use super::dispatch::Handled;
use super::error::RpcError;
use crate::daemon::Daemon;
use crate::memory::{project_of, Memory};
use crate::store::MemoryRow;

fn memory(daemon: &Daemon) -> Result<&Memory, RpcError> {
    daemon
        .memory()
        .map(|m| m.as_ref())
        .ok_or_else(|| RpcError::internal("memory", "memory is not set up in this daemon"))
}

/// The project `cwd` names (relative paths from the daemon's default directory).
fn project(daemon: &Daemon, cwd: Option<&str>) -> Option<String> {
    cwd.map(|c| project_of(&daemon.config.default_cwd.join(Path::new(c))))
}

pub async fn read(daemon: &Daemon, p: MemoryScopeParams) -> Result<Handled, RpcError> {
    let memory = memory(daemon)?;
    let store = daemon.hub.store();
    let project = project(daemon, p.cwd.as_deref());
    let memories = store.memories(project.as_deref()).await?;
    let mut errors = store.memory_job_errors(project.as_deref()).await?;
    let summaries = match &project {
        Some(p) => store.memory_summary(p).await?.into_iter().collect(),
        None => store.memory_summaries().await?,
    };
    errors.extend(
        summaries
            .iter()
            .filter_map(|s| s.last_error.as_ref().map(|e| format!("{}: {e}", s.project))),
    );
    let summary = match &project {
        Some(_) => summaries
            .first()
            .map(|s| s.summary.clone())
            .unwrap_or_default(),
        None => summaries
            .iter()
            .filter(|s| !s.summary.is_empty())
            .map(|s| format!("# {}\n\n{}", s.project, s.summary))
            .collect::<Vec<_>>()
            .join("\n\n"),
    };
    Handled::new(MemoryReadResponse {
        enabled: memory.enabled(),
        updated_at: summaries.iter().map(|s| s.updated_at).max(),
        project,
        summary,
        memories: memories.into_iter().map(entry).collect(),
        errors,
    })
}

fn entry(m: MemoryRow) -> MemoryEntry {
    MemoryEntry {
        thread_id: m.thread_id,
        project: m.project,
        summary: m.summary,
        slug: m.slug,
        created_at: m.created_at,
    }
}

pub async fn reset(daemon: &Daemon, p: MemoryScopeParams) -> Result<Handled, RpcError> {
    let project = project(daemon, p.cwd.as_deref());
    memory(daemon)?.reset(project.as_deref()).await?;
    Handled::new(MemoryResetResponse {})
}

/// Both phases now, for every eligible thread; answers when done. Refused while memory is off:
/// it would spend model calls the user did not ask for.
pub async fn rebuild(daemon: &Daemon, _p: MemoryRebuildParams) -> Result<Handled, RpcError> {
    let memory = memory(daemon)?;
    if !memory.enabled() {
        return Err(RpcError::invalid_params(
            "memory",
            "memory is off: set [memory] enabled = true in config.toml",
        ));
    }
    let report = memory.pass(true).await;
    Handled::new(MemoryRebuildResponse {
        extracted: report.extracted,
        consolidated: report.consolidated,
    })
}
