//! Resolving patch paths and confining them to the writable roots.
//!
//! A patch comes from a model, so its paths are untrusted. A path is accepted only if it is
//! relative, does not climb out of the working directory with `..`, and, once every symlink on
//! the way is followed, lands inside a writable root. Paths that do not exist yet are checked
//! through their nearest existing ancestor, which is where a symlink could redirect them.

use std::ffi::OsString;
use std::io;
use std::path::{Component, Path, PathBuf};

use thiserror::Error;

/// Why a patch path was refused.
#[derive(Debug, Error)]
pub enum PathError {
    #[error("the path is empty")]
    Empty,
    #[error("absolute paths are not allowed; use a path relative to the working directory")]
    Absolute,
    #[error("the path escapes the working directory through '..'")]
    ParentEscape,
    #[error("the path names the working directory itself, not a file")]
    NotAFile,
    #[error("it resolves to {}, which is outside the writable roots", .real.display())]
    OutsideRoots { real: PathBuf },
    #[error("it goes through a dangling symlink at {}", .at.display())]
    DanglingSymlink { at: PathBuf },
    #[error("{} is not a directory", .at.display())]
    ParentNotDirectory { at: PathBuf },
    #[error("cannot inspect {}: {source}", .at.display())]
    Io {
        at: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Where a patch path lives on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResolvedPath {
    /// The directory entry the path names, with its parent canonicalised. If the entry is a
    /// symlink this is the link itself; deleting or moving a path removes this entry.
    pub entry: PathBuf,
    /// The file actually read and written: every symlink followed. Equal to `entry` unless the
    /// entry is a symlink.
    pub real: PathBuf,
}

/// The working directory and writable roots, canonicalised once per patch.
#[derive(Debug, Clone)]
pub(crate) struct Sandbox {
    workdir: PathBuf,
    roots: Vec<PathBuf>,
}

impl Sandbox {
    /// Canonicalises `workdir` (which must exist) and the roots. A root that cannot be
    /// canonicalised (it does not exist) is kept as given: nothing existing can be under it
    /// anyway, so it grants nothing it should not. An empty `roots` makes nothing writable.
    pub(crate) fn new(workdir: &Path, roots: &[PathBuf]) -> io::Result<Self> {
        let workdir = workdir.canonicalize()?;
        let roots = roots
            .iter()
            .map(|r| {
                let abs = if r.is_absolute() {
                    r.clone()
                } else {
                    workdir.join(r)
                };
                abs.canonicalize().unwrap_or(abs)
            })
            .collect();
        Ok(Sandbox { workdir, roots })
    }

    /// Resolves a path as written in the patch.
    pub(crate) fn resolve(&self, rel: &Path) -> Result<ResolvedPath, PathError> {
        let normal = normalise_relative(rel)?;
        let target = self.workdir.join(&normal);

        // Walk up to the nearest ancestor that exists (a symlink, even dangling, exists).
        let mut existing = target.clone();
        let mut missing: Vec<OsString> = Vec::new();
        loop {
            match existing.symlink_metadata() {
                Ok(_) => break,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                    ) =>
                {
                    let name = existing.file_name().map(|n| n.to_os_string());
                    match name {
                        Some(n) if existing.pop() => missing.push(n),
                        _ => return Err(io_error(&existing, e)),
                    }
                }
                Err(e) => return Err(io_error(&existing, e)),
            }
        }
        let base = match existing.canonicalize() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(PathError::DanglingSymlink { at: existing })
            }
            Err(e) => return Err(io_error(&existing, e)),
        };
        if !missing.is_empty() && !base.is_dir() {
            return Err(PathError::ParentNotDirectory { at: base });
        }
        let mut real = base;
        real.extend(missing.iter().rev());

        let entry = if missing.is_empty() {
            let parent = target.parent().unwrap_or(&self.workdir);
            let parent = parent.canonicalize().map_err(|e| io_error(parent, e))?;
            match target.file_name() {
                Some(name) => parent.join(name),
                None => return Err(PathError::NotAFile),
            }
        } else {
            real.clone()
        };
        for p in [&real, &entry] {
            if !self.roots.iter().any(|root| p.starts_with(root)) {
                return Err(PathError::OutsideRoots { real: p.clone() });
            }
        }
        Ok(ResolvedPath { entry, real })
    }
}

fn io_error(at: &Path, source: io::Error) -> PathError {
    PathError::Io {
        at: at.to_path_buf(),
        source,
    }
}

/// Removes `.` and resolves `..` lexically, refusing absolute paths and any `..` that would
/// climb above the working directory. Lexical resolution is safe here because the result is
/// what gets opened: the real location is checked afterwards by following symlinks.
fn normalise_relative(rel: &Path) -> Result<PathBuf, PathError> {
    if rel.as_os_str().is_empty() {
        return Err(PathError::Empty);
    }
    let mut out = PathBuf::new();
    for component in rel.components() {
        match component {
            Component::Prefix(_) | Component::RootDir => return Err(PathError::Absolute),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return Err(PathError::ParentEscape);
                }
            }
            Component::Normal(part) => out.push(part),
        }
    }
    if out.as_os_str().is_empty() {
        return Err(PathError::NotAFile);
    }
    Ok(out)
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn lexical_normalisation() {
        let ok = |s: &str| normalise_relative(Path::new(s)).ok();
        assert_eq!(ok("a/./b/../c"), Some(PathBuf::from("a/c")));
        assert!(matches!(
            normalise_relative(Path::new("a/../../x")),
            Err(PathError::ParentEscape)
        ));
        assert!(matches!(
            normalise_relative(Path::new("/etc/passwd")),
            Err(PathError::Absolute)
        ));
        assert!(matches!(
            normalise_relative(Path::new("a/..")),
            Err(PathError::NotAFile)
        ));
        assert!(matches!(
            normalise_relative(Path::new("")),
            Err(PathError::Empty)
        ));
    }
}
