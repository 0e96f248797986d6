//! The check phase: everything short of writing.
//!
//! Hunks are applied one after another to an in-memory overlay of the files they touch, so a
//! patch that edits the same file twice, or adds a file and then updates it, sees its own
//! earlier hunks exactly as it would if they had been written, while the disk stays untouched
//! until every hunk has succeeded.

use std::collections::HashMap;
use std::fs::{self, Permissions};
use std::io;
use std::path::{Path, PathBuf};

use super::apply::{apply_chunks, ChunkError};
use super::diff::unified_diff;
use super::parser::parse_patch;
use super::paths::{ResolvedPath, Sandbox};
use super::{
    commit, ApplyError, ApplyOutcome, ChangeKind, FileAction, FileChange, Hunk, Patch, UpdateChunk,
};

/// What is at a path. Compared again just before writing to detect concurrent changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DiskState {
    Missing,
    File(Vec<u8>),
    Symlink(PathBuf),
    Dir,
    /// A FIFO, socket or device: never read or written.
    Other,
}

/// Largest file a patch may edit: all of it is read into memory to plan the edit.
const MAX_PATCHED_FILE: u64 = 64 * 1024 * 1024;
/// Bytes of files one patch may read in all. Each file read is kept (as it was, as planned,
/// and in its diff) until the patch is applied, and the model can name many large files —
/// or one file under many hard-linked names — in a few lines of patch.
const MAX_PATCH_READS: u64 = 128 * 1024 * 1024;

/// Reads what is at `path` without following a final symlink, with a file's permissions.
pub(crate) fn read_state(path: &Path) -> io::Result<(DiskState, Option<Permissions>)> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((DiskState::Missing, None)),
        Err(e) => return Err(e),
    };
    let ft = meta.file_type();
    Ok(if ft.is_symlink() {
        (DiskState::Symlink(fs::read_link(path)?), None)
    } else if ft.is_dir() {
        (DiskState::Dir, None)
    } else if ft.is_file() {
        let bytes = crate::paths::read_limited(path, MAX_PATCHED_FILE)?;
        (DiskState::File(bytes), Some(meta.permissions()))
    } else {
        (DiskState::Other, None)
    })
}

/// One path the commit phase will change, with what was there when planned.
#[derive(Debug)]
pub(crate) struct PlannedWrite {
    /// The path as written in the patch, for messages.
    pub display: PathBuf,
    /// The absolute path to write or remove.
    pub path: PathBuf,
    pub original: DiskState,
    pub original_perms: Option<Permissions>,
    /// New contents, or `None` to remove the entry.
    pub new: Option<Vec<u8>>,
    /// Permissions for the written file; `None` for the default of a new file.
    pub perms: Option<Permissions>,
}

/// A fully checked patch, ready to [`commit`](PatchPlan::commit).
#[derive(Debug)]
pub struct PatchPlan {
    changes: Vec<FileChange>,
    writes: Vec<PlannedWrite>,
}

impl PatchPlan {
    /// The changes the patch will make, with their diffs, e.g. to show for approval.
    pub fn changes(&self) -> &[FileChange] {
        &self.changes
    }

    /// Writes the planned changes. Fails with [`ApplyError::Stale`], writing nothing, if a file
    /// changed since it was planned; if a write fails midway, the files already written are
    /// restored (see [`ApplyError::Write`]).
    pub fn commit(self) -> Result<ApplyOutcome, ApplyError> {
        commit::commit(&self.writes)?;
        Ok(ApplyOutcome {
            changes: self.changes,
        })
    }
}

/// Parses `patch_text` and plans it; see [`plan_parsed_patch`].
pub fn plan_patch(
    patch_text: &str,
    workdir: &Path,
    writable_roots: &[PathBuf],
) -> Result<PatchPlan, ApplyError> {
    let patch = parse_patch(patch_text)?;
    plan_parsed_patch(&patch, workdir, writable_roots)
}

/// Checks every hunk and computes every new file content without writing anything.
pub fn plan_parsed_patch(
    patch: &Patch,
    workdir: &Path,
    writable_roots: &[PathBuf],
) -> Result<PatchPlan, ApplyError> {
    let sandbox = Sandbox::new(workdir, writable_roots).map_err(|source| ApplyError::Workdir {
        workdir: workdir.to_path_buf(),
        source,
    })?;
    let mut planner = Planner {
        sandbox,
        entries: Vec::new(),
        index: HashMap::new(),
        read: 0,
    };
    let mut changes = Vec::with_capacity(patch.hunks.len());
    for hunk in &patch.hunks {
        changes.push(match hunk {
            Hunk::Add { path, contents } => planner.add(path, contents)?,
            Hunk::Delete { path } => planner.delete(path)?,
            Hunk::Update {
                path,
                move_path,
                chunks,
            } => planner.update(path, move_path.as_deref(), chunks)?,
        });
    }
    let writes = planner
        .entries
        .into_iter()
        .filter_map(|e| {
            let new = match e.current {
                DiskState::File(bytes) => Some(bytes),
                DiskState::Missing => None,
                _ => return None,
            };
            let unchanged = match &new {
                Some(b) => e.original == DiskState::File(b.clone()) && e.perms == e.original_perms,
                None => e.original == DiskState::Missing,
            };
            (!unchanged).then_some(PlannedWrite {
                display: e.display,
                path: e.path,
                original: e.original,
                original_perms: e.original_perms,
                new,
                perms: e.perms,
            })
        })
        .collect();
    Ok(PatchPlan { changes, writes })
}

/// A path's state as the hunks planned so far leave it.
struct Entry {
    display: PathBuf,
    path: PathBuf,
    original: DiskState,
    original_perms: Option<Permissions>,
    current: DiskState,
    perms: Option<Permissions>,
}

struct Planner {
    sandbox: Sandbox,
    entries: Vec<Entry>,
    index: HashMap<PathBuf, usize>,
    /// Bytes of files read so far ([`MAX_PATCH_READS`]).
    read: u64,
}

impl Planner {
    fn resolve(&self, action: FileAction, path: &Path) -> Result<ResolvedPath, ApplyError> {
        self.sandbox
            .resolve(path)
            .map_err(|source| ApplyError::Path {
                action,
                path: path.to_path_buf(),
                source,
            })
    }

    /// The index of the overlay entry for `abs`, loading it from disk the first time.
    fn entry(&mut self, abs: &Path, display: &Path) -> Result<usize, ApplyError> {
        if let Some(&i) = self.index.get(abs) {
            return Ok(i);
        }
        let (state, perms) = read_state(abs).map_err(|source| ApplyError::Read {
            path: display.to_path_buf(),
            source,
        })?;
        if let DiskState::File(bytes) = &state {
            self.read = self.read.saturating_add(bytes.len() as u64);
            if self.read > MAX_PATCH_READS {
                return Err(ApplyError::Read {
                    path: display.to_path_buf(),
                    source: io::Error::other(format!(
                        "the patch would read more than {} MiB of files in all; split it",
                        MAX_PATCH_READS >> 20
                    )),
                });
            }
        }
        self.entries.push(Entry {
            display: display.to_path_buf(),
            path: abs.to_path_buf(),
            original: state.clone(),
            original_perms: perms.clone(),
            current: state,
            perms,
        });
        self.index.insert(abs.to_path_buf(), self.entries.len() - 1);
        Ok(self.entries.len() - 1)
    }

    /// Current contents of a file that must exist and be a regular file.
    fn existing_file(
        &mut self,
        abs: &Path,
        action: FileAction,
        display: &Path,
    ) -> Result<(Vec<u8>, Option<Permissions>), ApplyError> {
        let i = self.entry(abs, display)?;
        let e = &self.entries[i];
        let path = display.to_path_buf();
        match &e.current {
            DiskState::File(bytes) => Ok((bytes.clone(), e.perms.clone())),
            DiskState::Missing => Err(ApplyError::FileNotFound { action, path }),
            DiskState::Dir => Err(ApplyError::IsDirectory { action, path }),
            DiskState::Symlink(_) | DiskState::Other => {
                Err(ApplyError::NotRegularFile { action, path })
            }
        }
    }

    /// Checks that a file may be created or overwritten at `abs`; returns its current text.
    fn writable_target(
        &mut self,
        abs: &Path,
        action: FileAction,
        display: &Path,
    ) -> Result<Option<String>, ApplyError> {
        match self.existing_file(abs, action, display) {
            Ok((bytes, _)) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
            Err(ApplyError::FileNotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Records the planned state of `abs`. `perms`: `None` keeps the entry's permissions,
    /// `Some(p)` replaces them (a moved file brings its own).
    fn set(
        &mut self,
        abs: &Path,
        display: &Path,
        state: DiskState,
        perms: Option<Option<Permissions>>,
    ) -> Result<(), ApplyError> {
        let i = self.entry(abs, display)?;
        let e = &mut self.entries[i];
        e.current = state;
        if let Some(p) = perms {
            e.perms = p;
        }
        Ok(())
    }

    fn add(&mut self, path: &Path, contents: &str) -> Result<FileChange, ApplyError> {
        let r = self.resolve(FileAction::Add, path)?;
        let old = self.writable_target(&r.real, FileAction::Add, path)?;
        self.set(
            &r.real,
            path,
            DiskState::File(contents.as_bytes().to_vec()),
            None,
        )?;
        Ok(FileChange {
            path: path.to_path_buf(),
            kind: ChangeKind::Add,
            diff: unified_diff(old.as_deref().map(|t| (path, t)), Some((path, contents))),
        })
    }

    fn delete(&mut self, path: &Path) -> Result<FileChange, ApplyError> {
        let action = FileAction::Delete;
        let r = self.resolve(action, path)?;
        // The link itself is removed, but only if it points at a regular file.
        let (bytes, _) = self.existing_file(&r.real, action, path)?;
        let i = self.entry(&r.entry, path)?;
        if matches!(self.entries[i].current, DiskState::Missing) {
            return Err(ApplyError::FileNotFound {
                action,
                path: path.to_path_buf(),
            });
        }
        self.set(&r.entry, path, DiskState::Missing, None)?;
        let old = String::from_utf8_lossy(&bytes);
        Ok(FileChange {
            path: path.to_path_buf(),
            kind: ChangeKind::Delete,
            diff: unified_diff(Some((path, &old)), None),
        })
    }

    fn update(
        &mut self,
        path: &Path,
        move_path: Option<&Path>,
        chunks: &[UpdateChunk],
    ) -> Result<FileChange, ApplyError> {
        let action = FileAction::Update;
        let r = self.resolve(action, path)?;
        let (bytes, perms) = self.existing_file(&r.real, action, path)?;
        let old = String::from_utf8(bytes).map_err(|_| ApplyError::NotUtf8 {
            path: path.to_path_buf(),
        })?;
        let total = chunks.len();
        let new = apply_chunks(&old, chunks).map_err(|e| match e {
            ChunkError::Header { chunk, context } => ApplyError::ContextHeaderNotFound {
                path: path.to_path_buf(),
                chunk,
                total,
                context,
            },
            ChunkError::Lines { chunk, lines } => ApplyError::ContextNotFound {
                path: path.to_path_buf(),
                chunk,
                total,
                lines,
            },
        })?;
        let new_bytes = DiskState::File(new.clone().into_bytes());
        let dest_path = move_path.unwrap_or(path);
        match move_path {
            Some(dest) => {
                let d = self.resolve(FileAction::MoveTo, dest)?;
                self.writable_target(&d.real, FileAction::MoveTo, dest)?;
                // The moved file keeps its permissions (an executable script stays executable).
                self.set(&d.real, dest, new_bytes, Some(perms))?;
                if r.entry != d.real {
                    self.set(&r.entry, path, DiskState::Missing, None)?;
                }
            }
            None => self.set(&r.real, path, new_bytes, None)?,
        }
        Ok(FileChange {
            path: path.to_path_buf(),
            kind: ChangeKind::Update {
                move_path: move_path.map(Path::to_path_buf),
            },
            diff: unified_diff(Some((path, &old)), Some((dest_path, &new))),
        })
    }
}
