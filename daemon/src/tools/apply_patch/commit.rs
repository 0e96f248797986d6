//! The write phase, made as close to atomic as a filesystem allows.
//!
//! 1. Every path is re-read and compared with what was planned: if anything changed since
//!    (the user edited a file while the patch awaited approval), nothing is written.
//! 2. Every new content is written to a temporary file in its target's directory (creating
//!    missing directories), so the slow and failure-prone part (disk full, permissions) happens
//!    while the real files are still untouched.
//! 3. The temporary files are renamed over their targets (a rename within one directory is
//!    atomic), then removals happen. If one of these steps fails, the steps already done are
//!    undone from the in-memory originals and the directories created are removed.

use std::fs::{self, Permissions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tempfile::{Builder, NamedTempFile};

use super::plan::{read_state, DiskState, PlannedWrite};
use super::{ApplyError, Rollback};

pub(crate) fn commit(writes: &[PlannedWrite]) -> Result<(), ApplyError> {
    for w in writes {
        let (now, _) = read_state(&w.path).map_err(|source| ApplyError::Read {
            path: w.display.clone(),
            source,
        })?;
        if now != w.original {
            return Err(ApplyError::Stale {
                path: w.display.clone(),
            });
        }
    }

    let mut created_dirs = Vec::new();
    let mut staged: Vec<Option<NamedTempFile>> = Vec::with_capacity(writes.len());
    for w in writes {
        let tmp = match &w.new {
            Some(bytes) => match stage(&w.path, bytes, w.perms.as_ref(), &mut created_dirs) {
                Ok(tmp) => Some(tmp),
                Err(source) => {
                    drop(staged);
                    return Err(write_error(w, source, remove_dirs(&created_dirs)));
                }
            },
            None => None,
        };
        staged.push(tmp);
    }

    // Writes before removals: a move's destination exists before its source goes away.
    let order = (0..writes.len())
        .filter(|&i| writes[i].new.is_some())
        .chain((0..writes.len()).filter(|&i| writes[i].new.is_none()));
    let mut done = Vec::with_capacity(writes.len());
    for i in order {
        let w = &writes[i];
        let result = fault_point().and_then(|()| match staged[i].take() {
            Some(tmp) => tmp.persist(&w.path).map(drop).map_err(|e| e.error),
            None => fs::remove_file(&w.path),
        });
        if let Err(source) = result {
            drop(staged);
            let mut failed = rollback(writes, &done);
            failed.extend(remove_dirs(&created_dirs));
            return Err(write_error(w, source, failed));
        }
        done.push(i);
    }
    Ok(())
}

fn write_error(w: &PlannedWrite, source: io::Error, failed: Vec<PathBuf>) -> ApplyError {
    ApplyError::Write {
        path: w.display.clone(),
        source,
        rollback: if failed.is_empty() {
            Rollback::Complete
        } else {
            Rollback::Incomplete { failed }
        },
    }
}

/// Writes `bytes` to a temporary file next to `path`, creating missing parent directories and
/// recording them in `created` so they can be removed again.
fn stage(
    path: &Path,
    bytes: &[u8],
    perms: Option<&Permissions>,
    created: &mut Vec<PathBuf>,
) -> io::Result<NamedTempFile> {
    let parent = path
        .parent()
        .ok_or_else(|| io::Error::other("the path has no parent directory"))?;
    create_dirs(parent, created)?;
    let mut builder = Builder::new();
    builder.prefix(".apply_patch.").suffix(".tmp");
    // A new file gets the usual mode for new files (0o666 less the umask), not the 0o600 of
    // temporary files.
    #[cfg(unix)]
    if perms.is_none() {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(parent)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    if let Some(p) = perms {
        tmp.as_file().set_permissions(p.clone())?;
    }
    Ok(tmp)
}

fn create_dirs(dir: &Path, created: &mut Vec<PathBuf>) -> io::Result<()> {
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if d.symlink_metadata().is_ok() {
            break;
        }
        missing.push(d);
        cur = d.parent();
    }
    for d in missing.into_iter().rev() {
        fs::create_dir(d)?;
        created.push(d.to_path_buf());
    }
    Ok(())
}

/// Removes the directories created for this patch, deepest first. Returns those that remain.
fn remove_dirs(created: &[PathBuf]) -> Vec<PathBuf> {
    created
        .iter()
        .rev()
        .filter(|d| match fs::remove_dir(d) {
            Ok(()) => false,
            Err(e) => e.kind() != io::ErrorKind::NotFound,
        })
        .cloned()
        .collect()
}

/// Restores the writes in `done` from their originals, last first. Returns the paths (as
/// written in the patch) that could not be restored.
fn rollback(writes: &[PlannedWrite], done: &[usize]) -> Vec<PathBuf> {
    done.iter()
        .rev()
        .map(|&i| &writes[i])
        .filter(|w| restore(w).is_err())
        .map(|w| w.display.clone())
        .collect()
}

fn restore(w: &PlannedWrite) -> io::Result<()> {
    match &w.original {
        DiskState::Missing => match fs::remove_file(&w.path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        },
        DiskState::File(bytes) => {
            let perms = w.original_perms.as_ref();
            let tmp = stage(&w.path, bytes, perms, &mut Vec::new())?;
            tmp.persist(&w.path).map(drop).map_err(|e| e.error)
        }
        DiskState::Symlink(target) => restore_symlink(target, &w.path),
        // Never planned: directories and special files are refused before writing.
        DiskState::Dir | DiskState::Other => Ok(()),
    }
}

#[cfg(unix)]
fn restore_symlink(target: &Path, link: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn restore_symlink(_target: &Path, _link: &Path) -> io::Result<()> {
    Err(io::Error::other(
        "restoring a symlink is not supported here",
    ))
}

#[cfg(test)]
thread_local! {
    /// Test hook: `Some(n)` lets `n` more swap steps succeed, then fails the next one, so tests
    /// can exercise the rollback.
    pub(crate) static FAIL_AFTER: std::cell::Cell<Option<usize>> =
        const { std::cell::Cell::new(None) };
}

fn fault_point() -> io::Result<()> {
    #[cfg(test)]
    {
        FAIL_AFTER.with(|c| match c.get() {
            Some(0) => {
                c.set(None);
                Err(io::Error::other("injected failure"))
            }
            Some(n) => {
                c.set(Some(n - 1));
                Ok(())
            }
            None => Ok(()),
        })
    }
    #[cfg(not(test))]
    Ok(())
}
