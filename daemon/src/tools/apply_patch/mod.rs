//! The `apply_patch` tool: parse a model-written patch, check it completely, then apply it
//! atomically.
//!
//! The flow is split in two so the daemon can ask for approval in between:
//! [`plan_patch`] parses the patch, resolves and confines every path, reads the files and
//! computes every new file content in memory, failing with a precise error if anything is
//! wrong; [`PatchPlan::commit`] then writes. [`apply_patch`] does both at once.
//!
//! Nothing is written unless every hunk of the patch succeeds: a model that gets an error can
//! fix its patch and resend all of it, without having to work out which parts already landed.
//! Files: `parser.rs` (the format and its tolerances), `seek.rs` (how context is matched),
//! `apply.rs` (chunks applied to a file's text, line endings kept), `paths.rs` (path
//! confinement), `plan.rs` (the check phase over an in-memory overlay), `commit.rs` (the write
//! phase and its rollback), `diff.rs` (unified diffs for approval).

mod apply;
mod commit;
mod diff;
mod parser;
mod paths;
mod plan;
mod seek;

#[cfg(test)]
mod scenarios_test;
#[cfg(test)]
mod tests;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

pub use parser::{parse_patch, ParseError};
pub use paths::PathError;
pub use plan::{plan_parsed_patch, plan_patch, PatchPlan};

/// Parses, checks and applies `patch_text` in `workdir`, writing only under `writable_roots`
/// (normally just `workdir`; an empty slice makes nothing writable).
///
/// Either every change is made or, on error, none is; the error names the file and chunk that
/// failed.
pub fn apply_patch(
    patch_text: &str,
    workdir: &Path,
    writable_roots: &[PathBuf],
) -> Result<ApplyOutcome, ApplyError> {
    plan_patch(patch_text, workdir, writable_roots)?.commit()
}

/// A parsed patch: the file operations in the order they appear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patch {
    pub hunks: Vec<Hunk>,
}

/// One file operation of a patch. Paths are exactly as written in the patch (relative).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hunk {
    /// Create (or overwrite) a file with `contents`; every line ends with `\n`.
    Add { path: PathBuf, contents: String },
    /// Remove a regular file.
    Delete { path: PathBuf },
    /// Edit a file in place, optionally renaming it to `move_path`.
    Update {
        path: PathBuf,
        move_path: Option<PathBuf>,
        chunks: Vec<UpdateChunk>,
    },
}

/// One `@@` section of an Update File hunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateChunk {
    /// Text after `@@`: a line (e.g. a function signature) located before the chunk's lines,
    /// used to pick the right place when the same lines occur several times.
    pub context: Option<String>,
    /// The chunk's lines in order; keeping them interleaved (rather than as old/new lists) lets
    /// the applier keep the file's own text for context lines that only matched fuzzily.
    pub lines: Vec<ChunkLine>,
    /// Set by `*** End of File`: the chunk must match at the very end of the file.
    pub is_end_of_file: bool,
}

/// A line of an update chunk, without its one-character prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkLine {
    Context(String),
    Delete(String),
    Insert(String),
}

impl UpdateChunk {
    /// The lines the chunk expects to find in the file (context and removed lines).
    pub fn old_lines(&self) -> Vec<&str> {
        self.lines
            .iter()
            .filter_map(|l| match l {
                ChunkLine::Context(s) | ChunkLine::Delete(s) => Some(s.as_str()),
                ChunkLine::Insert(_) => None,
            })
            .collect()
    }

    /// The lines the chunk leaves in the file (context and added lines).
    pub fn new_lines(&self) -> Vec<&str> {
        self.lines
            .iter()
            .filter_map(|l| match l {
                ChunkLine::Context(s) | ChunkLine::Insert(s) => Some(s.as_str()),
                ChunkLine::Delete(_) => None,
            })
            .collect()
    }
}

/// What a successfully applied (or planned) patch did, one entry per hunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyOutcome {
    pub changes: Vec<FileChange>,
}

/// One hunk's effect on one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// The path as written in the patch (relative to the working directory).
    pub path: PathBuf,
    pub kind: ChangeKind,
    /// Unified diff of the file from before to after this hunk.
    pub diff: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeKind {
    Add,
    Delete,
    Update { move_path: Option<PathBuf> },
}

impl ApplyOutcome {
    /// The text returned to the model: one line per hunk, `A`/`M`/`D` and the resulting path
    /// (the destination, for a move), in the format models were trained on.
    pub fn summary(&self) -> String {
        let mut out = String::from("Success. Updated the following files:");
        for change in &self.changes {
            let (letter, path) = match &change.kind {
                ChangeKind::Add => ('A', &change.path),
                ChangeKind::Delete => ('D', &change.path),
                ChangeKind::Update { move_path } => {
                    ('M', move_path.as_ref().unwrap_or(&change.path))
                }
            };
            out.push_str(&format!("\n{letter} {}", path.display()));
        }
        out
    }
}

/// The operation a file error happened in, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileAction {
    Add,
    Delete,
    Update,
    /// The destination of `*** Move to:`.
    MoveTo,
}

impl fmt::Display for FileAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileAction::Add => "add",
            FileAction::Delete => "delete",
            FileAction::Update => "update",
            FileAction::MoveTo => "move to",
        })
    }
}

/// Why a patch was not applied. Paths are as written in the patch. Every variant except
/// [`ApplyError::Write`] guarantees nothing was changed on disk.
#[derive(Debug, Error)]
pub enum ApplyError {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error("invalid working directory {}: {source}", .workdir.display())]
    Workdir {
        workdir: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("Refusing to {action} {}: {source}", .path.display())]
    Path {
        action: FileAction,
        path: PathBuf,
        #[source]
        source: PathError,
    },
    #[error("Failed to {action} {}: file does not exist", .path.display())]
    FileNotFound { action: FileAction, path: PathBuf },
    #[error("Failed to {action} {}: it is a directory, not a file", .path.display())]
    IsDirectory { action: FileAction, path: PathBuf },
    #[error("Failed to {action} {}: not a regular file", .path.display())]
    NotRegularFile { action: FileAction, path: PathBuf },
    #[error("Failed to read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("Failed to update {}: the file is not valid UTF-8 text", .path.display())]
    NotUtf8 { path: PathBuf },
    #[error(
        "Failed to find context '{context}' in {} (chunk {chunk} of {total})",
        .path.display()
    )]
    ContextHeaderNotFound {
        path: PathBuf,
        chunk: usize,
        total: usize,
        context: String,
    },
    #[error(
        "Failed to find expected lines in {} (chunk {chunk} of {total}):\n{lines}",
        .path.display()
    )]
    ContextNotFound {
        path: PathBuf,
        chunk: usize,
        total: usize,
        lines: String,
    },
    #[error(
        "{} changed on disk after the patch was planned; nothing was written, re-read it and \
         retry",
        .path.display()
    )]
    Stale { path: PathBuf },
    #[error("Failed to write {}: {source}; {rollback}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
        rollback: Rollback,
    },
}

/// What happened to the files already written when the write phase failed midway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rollback {
    /// Every file is as it was before the patch.
    Complete,
    /// These files could not be restored and may hold the patched or a partial state.
    Incomplete { failed: Vec<PathBuf> },
}

impl fmt::Display for Rollback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rollback::Complete => f.write_str("no files were changed"),
            Rollback::Incomplete { failed } => {
                f.write_str("rolling back failed, these files may be inconsistent:")?;
                for p in failed {
                    write!(f, " {}", p.display())?;
                }
                Ok(())
            }
        }
    }
}
