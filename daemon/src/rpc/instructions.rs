//! `instructions/list`: the instruction files the model gets in a working directory, in the
//! order it gets them, so a UI can show which AGENTS.md / CLAUDE.md files apply and their size.

use agentd_protocol::{
    InstructionFileKind, InstructionFileMetadata, InstructionsListParams, InstructionsListResponse,
};

use super::dispatch::Handled;
use super::error::RpcError;
use super::thread::resolve_cwd;
use crate::agent::{instruction_files, FileKind, InstructionFile};
use crate::daemon::Daemon;

pub async fn list(daemon: &Daemon, p: InstructionsListParams) -> Result<Handled, RpcError> {
    let cwd = resolve_cwd(daemon, p.cwd.as_deref())?;
    let projects = daemon.hub.services().config.projects.clone();
    // Reading files (and following imports) is blocking I/O; keep it off the connection's task.
    let files = tokio::task::spawn_blocking(move || instruction_files(&cwd, &projects))
        .await
        .map_err(|e| RpcError::internal("reading instruction files", e))?;
    Handled::new(InstructionsListResponse {
        files: files.iter().map(metadata).collect(),
    })
}

fn metadata(file: &InstructionFile) -> InstructionFileMetadata {
    InstructionFileMetadata {
        path: file.path.display().to_string(),
        kind: wire_kind(file.kind),
        bytes: file.bytes() as u64,
        truncated: file.truncated(),
        imported_from: file.imported_from.as_ref().map(|p| p.display().to_string()),
    }
}

fn wire_kind(kind: FileKind) -> InstructionFileKind {
    match kind {
        FileKind::User => InstructionFileKind::User,
        FileKind::Agents => InstructionFileKind::Agents,
        FileKind::Claude => InstructionFileKind::Claude,
        FileKind::ClaudeLocal => InstructionFileKind::ClaudeLocal,
        FileKind::Import => InstructionFileKind::Import,
    }
}
