//! Keeping protected paths that do not exist yet from being created.
//!
//! A read-only mount can cover `.git` only if `.git` exists: a mount needs a mount point, and
//! no kernel mechanism forbids creating one name in an otherwise writable directory (Landlock
//! rules are per directory, not per name). So for a missing protected path the outer process
//! creates a *placeholder* — an empty directory with the sticky bit, its marker — which init
//! covers with an empty read-only tmpfs; the sandboxed command can neither write into it nor
//! remove, rename or replace it (it is a mount point), so it cannot create `.git` or point it
//! elsewhere through a symlink. When the sandbox is gone the outer process removes the
//! placeholder again, so no mount point is left behind in the workspace.
//!
//! Two sandboxes on one workspace share a placeholder: each holds a shared `flock` on it while
//! its sandbox runs, and only a process that gets the lock exclusively removes it. A process
//! that finds a placeholder (its own, another's, or one left by a helper that was killed)
//! locks it and verifies the path still names the locked directory before relying on it.
//!
//! A protected path that is a symbolic link is pinned as it is (the link itself becomes a mount
//! point, so it cannot be removed or pointed elsewhere) and what it points to is protected too;
//! when that does not exist yet and lies in a writable root, its first missing directory gets a
//! placeholder.
//!
//! Limit: a placeholder exists on the host while the command runs (git ignores an empty `.git`
//! directory).

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

/// A placeholder's mode: sticky (the marker), readable, not writable by others.
const PLACEHOLDER_MODE: u32 = 0o1755;

/// Attempts to reserve one path before giving up (each retry means another process removed
/// or replaced the placeholder at that very moment).
const ATTEMPTS: usize = 8;

/// How init covers a protected path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProtectedPath {
    /// It exists: bound onto itself read-only.
    Existing(PathBuf),
    /// It did not exist: a placeholder is there now, covered by an empty read-only tmpfs.
    Placeholder(PathBuf),
    /// It is a symbolic link: the link itself is bound onto itself, so the name cannot be
    /// removed or replaced; what it points to is protected as [`ProtectedPath::Existing`].
    Symlink(PathBuf),
}

impl ProtectedPath {
    pub(crate) fn path(&self) -> &Path {
        match self {
            ProtectedPath::Existing(p)
            | ProtectedPath::Placeholder(p)
            | ProtectedPath::Symlink(p) => p,
        }
    }
}

/// The placeholders this process holds locks on.
pub(crate) struct Reservation {
    pub(crate) paths: Vec<ProtectedPath>,
    held: Vec<(PathBuf, OwnedFd)>,
}

/// Decides how each path is covered, creating and locking placeholders for missing ones.
/// `writable_roots` bounds where a dangling symlink's missing target is reserved: outside them
/// the command cannot create it anyway.
pub(crate) fn reserve(
    paths: &[PathBuf],
    writable_roots: &[PathBuf],
) -> anyhow::Result<Reservation> {
    let mut r = Reservation {
        paths: Vec::new(),
        held: Vec::new(),
    };
    for path in paths {
        match reserve_one(path) {
            Ok(Some((covered, lock))) => {
                if let Some(fd) = lock {
                    r.held.push((path.clone(), fd));
                }
                if let ProtectedPath::Symlink(link) = &covered {
                    // Writes through the link must not reach what it points to either.
                    if let Ok(target) = std::fs::canonicalize(link) {
                        let target = ProtectedPath::Existing(target);
                        if !r.paths.contains(&target) {
                            r.paths.push(target);
                        }
                    } else if let Some(missing) = first_missing(link)
                        .filter(|m| writable_roots.iter().any(|root| m.starts_with(root)))
                    {
                        // Dangling into a writable root: creating the target would give the
                        // protected name content (a `.git -> gitdir` whose `gitdir/hooks` the
                        // command writes), so the target is kept from being created as well.
                        match reserve_one(&missing) {
                            Ok(Some((target, lock))) => {
                                if let Some(fd) = lock {
                                    r.held.push((missing.clone(), fd));
                                }
                                if !r.paths.contains(&target) {
                                    r.paths.push(target);
                                }
                            }
                            Ok(None) => {}
                            Err(e) => {
                                r.release();
                                return Err(e);
                            }
                        }
                    }
                }
                r.paths.push(covered);
            }
            Ok(None) => {}
            Err(e) => {
                r.release();
                return Err(e);
            }
        }
    }
    Ok(r)
}

type Reserved = Option<(ProtectedPath, Option<OwnedFd>)>;

/// Where a dangling symlink's target stops existing: its deepest existing ancestor (resolved)
/// joined with the next name — the one directory whose creation would bring the target to life.
fn first_missing(link: &Path) -> Option<PathBuf> {
    let target = std::fs::read_link(link).ok()?;
    let target = if target.is_absolute() {
        target
    } else {
        link.parent()?.join(target)
    };
    let components: Vec<_> = target.components().collect();
    let mut prefix = PathBuf::new();
    for component in components {
        let next = prefix.join(component);
        if std::fs::metadata(&next).is_err() {
            let parent = std::fs::canonicalize(&prefix).ok()?;
            return match component {
                std::path::Component::Normal(name) => Some(parent.join(name)),
                _ => None,
            };
        }
        prefix = next;
    }
    None
}

fn reserve_one(path: &Path) -> anyhow::Result<Reserved> {
    for _ in 0..ATTEMPTS {
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Ok(Some((ProtectedPath::Symlink(path.to_owned()), None)))
            }
            // Possibly a placeholder (or one being removed right now): lock first, then look.
            Ok(meta) if meta.is_dir() && meta.mode() & 0o1000 != 0 => {
                if let Some(fd) = lock_placeholder(path)? {
                    if is_empty_dir(path) {
                        return Ok(Some((
                            ProtectedPath::Placeholder(path.to_owned()),
                            Some(fd),
                        )));
                    }
                    // A real directory that happens to be sticky.
                    return Ok(Some((ProtectedPath::Existing(path.to_owned()), None)));
                }
            }
            Ok(_) => return Ok(Some((ProtectedPath::Existing(path.to_owned()), None))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                match std::fs::DirBuilder::new()
                    .mode(PLACEHOLDER_MODE)
                    .create(path)
                {
                    Ok(()) => {
                        // The umask may have cleared bits; the sticky marker must be there.
                        let _ = std::fs::set_permissions(
                            path,
                            std::fs::Permissions::from_mode(PLACEHOLDER_MODE),
                        );
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    // Not creatable by us, so not by the sandboxed command either (it has our
                    // uid and fewer privileges): nothing to protect. Covers a parent that is
                    // missing or read-only.
                    Err(e)
                        if matches!(
                            e.raw_os_error().map(Errno::from_raw),
                            Some(
                                Errno::EACCES
                                    | Errno::EPERM
                                    | Errno::EROFS
                                    | Errno::ENOENT
                                    | Errno::ENOTDIR
                            )
                        ) =>
                    {
                        return Ok(None)
                    }
                    Err(e) => {
                        return Err(e).with_context(|| {
                            format!("cannot reserve {} (protected path)", path.display())
                        })
                    }
                }
            }
            Err(_) => return Ok(None),
        }
    }
    anyhow::bail!(
        "cannot reserve {}: it keeps changing under us",
        path.display()
    )
}

/// An empty directory with the sticky bit. Whoever made it: in a directory shared between users
/// (`/tmp` is a writable root) another user's sandbox may be using it, and locking it keeps that
/// user's clean-up from removing it under our sandbox (only its owner can remove it there).
fn is_placeholder(path: &Path, meta: &std::fs::Metadata) -> bool {
    meta.is_dir() && meta.mode() & 0o1000 != 0 && is_empty_dir(path)
}

fn is_empty_dir(path: &Path) -> bool {
    std::fs::read_dir(path).is_ok_and(|mut d| d.next().is_none())
}

/// Opens and share-locks the placeholder at `path`; `None` when the path no longer names the
/// directory we locked (removed or replaced meanwhile: try again).
fn lock_placeholder(path: &Path) -> anyhow::Result<Option<OwnedFd>> {
    let fd = match nix::fcntl::open(
        path,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => {
            // SAFETY: `open` just returned this fd; nothing else owns it.
            unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) }
        }
        Err(Errno::ENOENT | Errno::ENOTDIR | Errno::ELOOP) => return Ok(None),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot open placeholder {}", path.display()))
        }
    };
    flock(&fd, libc::LOCK_SH)
        .with_context(|| format!("cannot lock placeholder {}", path.display()))?;
    Ok(same_file(path, &fd).then_some(fd))
}

/// Whether `path` (not followed) is the file open as `fd`.
fn same_file(path: &Path, fd: &OwnedFd) -> bool {
    let Ok(at_path) = nix::sys::stat::lstat(path) else {
        return false;
    };
    let Ok(at_fd) = nix::sys::stat::fstat(fd.as_raw_fd()) else {
        return false;
    };
    at_path.st_dev == at_fd.st_dev && at_path.st_ino == at_fd.st_ino
}

fn flock(fd: &OwnedFd, op: libc::c_int) -> nix::Result<()> {
    loop {
        // SAFETY: flock(2) on an fd we own.
        let r = unsafe { libc::flock(fd.as_raw_fd(), op) };
        match Errno::result(r) {
            Err(Errno::EINTR) => continue,
            other => return other.map(drop),
        }
    }
}

impl Reservation {
    /// Whether any placeholder is held (and so there is something to release).
    pub(crate) fn holds_any(&self) -> bool {
        !self.held.is_empty()
    }

    /// Removes every placeholder no other sandbox is using. Never fails: a placeholder that
    /// cannot be removed now is found and reused (and then removed) by the next sandbox.
    pub(crate) fn release(&mut self) {
        for (path, fd) in self.held.drain(..).rev() {
            // Converting to exclusive fails while another sandbox holds its shared lock.
            if flock(&fd, libc::LOCK_EX | libc::LOCK_NB).is_err() {
                continue;
            }
            let still_ours = same_file(&path, &fd)
                && std::fs::symlink_metadata(&path).is_ok_and(|m| is_placeholder(&path, &m));
            if still_ours {
                let _ = std::fs::remove_dir(&path);
            }
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_paths_get_placeholders_that_go_away() {
        let dir = tempfile::tempdir().unwrap();
        let git = dir.path().join(".git");
        let agents = dir.path().join(".agents");
        std::fs::create_dir(&agents).unwrap();
        let mut r = reserve(&[git.clone(), agents.clone()], &[]).unwrap();
        assert_eq!(
            r.paths,
            vec![
                ProtectedPath::Placeholder(git.clone()),
                ProtectedPath::Existing(agents.clone())
            ]
        );
        assert!(git.is_dir());
        // A second sandbox shares it; the first one's release leaves it for the second.
        let mut second = reserve(std::slice::from_ref(&git), &[]).unwrap();
        r.release();
        assert!(git.is_dir(), "still in use by the second reservation");
        second.release();
        assert!(!git.exists(), "the last user removes the placeholder");
        assert!(agents.is_dir(), "existing paths are never removed");
    }

    #[test]
    fn a_placeholder_someone_filled_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let git = dir.path().join(".git");
        let mut r = reserve(std::slice::from_ref(&git), &[]).unwrap();
        std::fs::write(git.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        r.release();
        assert!(git.join("HEAD").is_file());
    }

    #[test]
    fn uncreatable_paths_are_skipped_and_symlinks_pinned_with_their_targets() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let dangling = root.join(".git");
        std::os::unix::fs::symlink("/nonexistent", &dangling).unwrap();
        let linked = root.join(".agents");
        std::fs::create_dir(root.join("shared")).unwrap();
        std::os::unix::fs::symlink("shared", &linked).unwrap();
        let r = reserve(
            &[
                dangling.clone(),
                root.join("missing/.agentd"),
                linked.clone(),
            ],
            std::slice::from_ref(&root),
        )
        .unwrap();
        assert_eq!(
            r.paths,
            vec![
                ProtectedPath::Symlink(dangling),
                ProtectedPath::Existing(root.join("shared")),
                ProtectedPath::Symlink(linked),
            ]
        );
    }

    #[test]
    fn a_dangling_symlink_into_a_writable_root_reserves_its_missing_target() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let git = root.join(".git");
        std::os::unix::fs::symlink("gitdir/inner", &git).unwrap();
        let outside = tempfile::tempdir().unwrap();
        let agents = root.join(".agents");
        std::os::unix::fs::symlink(outside.path().join("skills"), &agents).unwrap();
        let mut r = reserve(&[git.clone(), agents.clone()], std::slice::from_ref(&root)).unwrap();
        assert_eq!(
            r.paths,
            vec![
                ProtectedPath::Placeholder(root.join("gitdir")),
                ProtectedPath::Symlink(git),
                ProtectedPath::Symlink(agents),
            ],
            "the target outside the writable roots is left alone"
        );
        assert!(root.join("gitdir").is_dir());
        assert!(!outside.path().join("skills").exists());
        r.release();
        assert!(
            !root.join("gitdir").exists(),
            "the placeholder goes with the sandbox"
        );
    }
}
