//! The sandbox's view of the filesystem, built in init's private mount namespace.
//!
//! The view is the host's own tree, made read-only in place rather than rebuilt under a new
//! root: nothing to copy, nothing to pivot, and every path means what it means outside.
//!
//! 1. Every mount becomes private, so nothing done here reaches the host (or comes back).
//! 2. Each writable root and each existing protected path is bound onto itself, so it is a
//!    mount of its own whose flags can differ from its parent's. A placeholder (a protected
//!    path that did not exist, see `placeholders.rs`) is covered with an empty tmpfs.
//! 3. A minimal `/dev` (null, zero, full, random, urandom, tty; `shm` and `pts` private) and a
//!    fresh `/proc` for the new PID namespace replace the host's.
//! 4. The whole tree is made read-only (`mount_setattr(AT_RECURSIVE)`, or a remount of every
//!    mount on kernels before 5.12); then the writable roots are made writable again and the
//!    protected paths read-only again, in that order, so protection wins inside a root.
//!
//! The command cannot undo any of it: it has no capabilities and seccomp refuses every mount
//! call. A host mount that is already read-only (and locked so by the kernel, as mounts from a
//! more privileged namespace are) stays read-only even inside a writable root.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::{mount, MsFlags};
use nix::sys::stat::Mode;

use super::placeholders::ProtectedPath;

const MOUNT_ATTR_RDONLY: u64 = 0x1;
const AT_RECURSIVE: libc::c_uint = 0x8000;

/// `struct mount_attr` of `mount_setattr(2)`.
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// Devices the sandbox gets, bound from the host's `/dev`.
const DEVICES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];

/// Builds the view described above, steps 1 to 4 in that order; called in init's private
/// mount namespace.
pub(crate) fn build(writable_roots: &[PathBuf], protected: &[ProtectedPath]) -> anyhow::Result<()> {
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .context("cannot make mounts private")?;

    let roots = bind_roots(writable_roots)?;
    bind_protected(protected)?;

    build_dev()?;
    mount(
        Some("proc"),
        "/proc",
        Some("proc"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .context("cannot mount a fresh /proc for the sandbox's PID namespace")?;

    apply_read_only(&roots, protected)
}

/// Step 2 for the writable roots: binds each existing one onto itself, and returns them in the
/// order they were bound (step 4 makes them writable in that order too).
fn bind_roots(writable_roots: &[PathBuf]) -> anyhow::Result<Vec<&PathBuf>> {
    // Shallow roots first, so a root inside another is bound on top of it.
    let mut roots: Vec<&PathBuf> = writable_roots.iter().filter(|r| r.is_dir()).collect();
    roots.sort_by_key(|r| r.components().count());
    for root in &roots {
        if root.as_path() != Path::new("/") {
            bind_self(root)?;
        }
    }
    Ok(roots)
}

/// Step 2 for the protected paths: each becomes a mount of its own (a bind, a pinned symlink,
/// or an empty tmpfs over a placeholder).
fn bind_protected(protected: &[ProtectedPath]) -> anyhow::Result<()> {
    // One empty tmpfs covers the first placeholder; the others get binds of it (a bind is
    // cheaper than another superblock).
    let mut empty: Option<&Path> = None;
    for p in protected {
        match p {
            ProtectedPath::Existing(path) => bind_self(path)?,
            ProtectedPath::Symlink(path) => pin_symlink(path)?,
            ProtectedPath::Placeholder(path) => {
                match empty {
                    Some(first) => mount(
                        Some(first),
                        path,
                        None::<&str>,
                        MsFlags::MS_BIND,
                        None::<&str>,
                    ),
                    None => mount(
                        Some("tmpfs"),
                        path,
                        Some("tmpfs"),
                        MsFlags::MS_RDONLY
                            | MsFlags::MS_NOSUID
                            | MsFlags::MS_NODEV
                            | MsFlags::MS_NOEXEC,
                        Some("mode=0555,size=4k"),
                    ),
                }
                .with_context(|| format!("cannot cover {}", path.display()))?;
                empty.get_or_insert(path);
            }
        }
    }
    Ok(())
}

/// Step 4: everything read-only, then the scratch mounts and writable roots writable again,
/// then the protected paths read-only again (checked to be ours), so protection wins.
fn apply_read_only(roots: &[&PathBuf], protected: &[ProtectedPath]) -> anyhow::Result<()> {
    set_read_only(Path::new("/"), true, true).context("cannot make / read-only")?;
    // The sandbox's own scratch mounts stay writable; nothing there reaches the host.
    for scratch in ["/proc", "/dev/shm", "/dev/pts"] {
        let _ = set_read_only(Path::new(scratch), false, false);
    }
    for root in roots {
        // Recursively when possible; a locked read-only mount below the root makes that
        // fail, and then only the root itself is made writable.
        if set_read_only(root, false, true).is_err() {
            set_read_only(root, false, false)
                .with_context(|| format!("cannot make {} writable", root.display()))?;
        }
    }
    for p in protected {
        // A symlink cannot be written to; its mount only pins the name.
        if !matches!(p, ProtectedPath::Symlink(_)) {
            set_read_only(p.path(), true, true)
                .with_context(|| format!("cannot make {} read-only", p.path().display()))?;
        }
        ensure_covered(p)?;
    }
    Ok(())
}

/// Binds the symbolic link at `path` onto itself. `mount(2)` would follow the link; the new
/// mount API can take and target the link itself (`move_mount` follows no link on its target
/// unless told to).
fn pin_symlink(path: &Path) -> anyhow::Result<()> {
    const OPEN_TREE_CLONE: libc::c_uint = 1;
    const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
    let c_path = CString::new(path.as_os_str().as_encoded_bytes())?;
    let flags = OPEN_TREE_CLONE
        | libc::O_CLOEXEC as libc::c_uint
        | libc::AT_SYMLINK_NOFOLLOW as libc::c_uint;
    // SAFETY: open_tree(2) reads the NUL-terminated path and returns a new fd (or -1).
    let fd = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, c_path.as_ptr(), flags) };
    let fd =
        Errno::result(fd).with_context(|| format!("cannot pin the symlink {}", path.display()))?;
    // SAFETY: open_tree just returned this fd; nothing else owns it.
    let tree = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd as libc::c_int) };
    let empty = CString::default();
    // SAFETY: move_mount(2) reads the two NUL-terminated paths; `tree` is a valid fd.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            empty.as_ptr(),
            libc::AT_FDCWD,
            c_path.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    Errno::result(r).with_context(|| format!("cannot pin the symlink {}", path.display()))?;
    Ok(())
}

/// Checks that the protected path itself (not followed) is the root of a mount — ours — and
/// still of the kind the outer process saw. A path swapped for a symlink between that look and
/// the bind above (by another command working in the same directory) would have had the mount
/// land on the symlink's target instead, leaving the name itself writable; refuse to run then.
fn ensure_covered(protected: &ProtectedPath) -> anyhow::Result<()> {
    let path = protected.path();
    let c_path = CString::new(path.as_os_str().as_encoded_bytes())?;
    // SAFETY: an all-zero statx is a valid value for the kernel to overwrite.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: statx(2) writes into `stx`, which outlives the call; the path is NUL-terminated.
    let r = unsafe {
        libc::statx(
            libc::AT_FDCWD,
            c_path.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
            libc::STATX_TYPE,
            &mut stx,
        )
    };
    Errno::result(r).with_context(|| format!("cannot check {}", path.display()))?;
    let mount_root = libc::STATX_ATTR_MOUNT_ROOT as u64;
    let is_link = u32::from(stx.stx_mode) & libc::S_IFMT == libc::S_IFLNK;
    // Kernels before 5.8 do not report the attribute; the bind itself then has to do.
    let known = stx.stx_attributes_mask & mount_root != 0;
    let want_link = matches!(protected, ProtectedPath::Symlink(_));
    if is_link != want_link || (known && stx.stx_attributes & mount_root == 0) {
        bail!(
            "{} changed while the sandbox was being set up; not running the command",
            path.display()
        );
    }
    Ok(())
}

/// Binds `path` (and the mounts below it) onto itself.
fn bind_self(path: &Path) -> anyhow::Result<()> {
    mount(
        Some(path),
        path,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .with_context(|| format!("cannot bind {}", path.display()))
}

/// A tmpfs on `/dev` holding only what programs expect to find there.
fn build_dev() -> anyhow::Result<()> {
    // Opened before the host's /dev is covered; bound afterwards through /proc/self/fd.
    let mut devices: Vec<(&str, OwnedFd)> = Vec::new();
    for name in DEVICES {
        let host = format!("/dev/{name}");
        match nix::fcntl::open(
            host.as_str(),
            OFlag::O_PATH | OFlag::O_CLOEXEC,
            Mode::empty(),
        ) {
            // SAFETY: `open` just returned this fd; nothing else owns it.
            Ok(fd) => devices.push((name, unsafe {
                <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd)
            })),
            Err(_) if name == "tty" => {} // no tty in this environment
            Err(e) => bail!("cannot open {host}: {e}"),
        }
    }
    mount(
        Some("tmpfs"),
        "/dev",
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("mode=0755,size=64k"),
    )
    .context("cannot mount a tmpfs on /dev")?;
    for (name, fd) in &devices {
        let target = format!("/dev/{name}");
        std::fs::File::create(&target).with_context(|| format!("cannot create {target}"))?;
        mount(
            Some(format!("/proc/self/fd/{}", fd.as_raw_fd()).as_str()),
            target.as_str(),
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .with_context(|| format!("cannot bind {target}"))?;
    }
    for (link, target) in [
        ("/dev/fd", "/proc/self/fd"),
        ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"),
        ("/dev/stderr", "/proc/self/fd/2"),
        ("/dev/ptmx", "pts/ptmx"),
    ] {
        std::os::unix::fs::symlink(target, link)
            .with_context(|| format!("cannot create {link}"))?;
    }
    for dir in ["/dev/shm", "/dev/pts"] {
        std::fs::create_dir(dir).with_context(|| format!("cannot create {dir}"))?;
    }
    mount(
        Some("tmpfs"),
        "/dev/shm",
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("mode=1777"),
    )
    .context("cannot mount /dev/shm")?;
    // Pseudo-terminals are a nicety (`script`, `expect`): a private devpts instance where the
    // kernel allows one, none otherwise.
    let _ = mount(
        Some("devpts"),
        "/dev/pts",
        Some("devpts"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620"),
    );
    Ok(())
}

/// Makes the mount at `path` read-only (or writable), with every mount below it when
/// `recursive`.
fn set_read_only(path: &Path, read_only: bool, recursive: bool) -> anyhow::Result<()> {
    let c_path = CString::new(path.as_os_str().as_encoded_bytes())?;
    let attr = MountAttr {
        attr_set: if read_only { MOUNT_ATTR_RDONLY } else { 0 },
        attr_clr: if read_only { 0 } else { MOUNT_ATTR_RDONLY },
        propagation: 0,
        userns_fd: 0,
    };
    let flags = if recursive { AT_RECURSIVE } else { 0 };
    // SAFETY: mount_setattr(2) reads `attr` (its size passed along) and the NUL-terminated path.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            c_path.as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    match Errno::result(r) {
        Ok(_) => Ok(()),
        Err(Errno::ENOSYS) => remount_fallback(path, read_only, recursive),
        Err(e) => Err(e.into()),
    }
}

/// Kernels before 5.12: `MS_REMOUNT | MS_BIND` each mount, keeping the flags a remount inside
/// a user namespace may not drop (nosuid, nodev, noexec, atime).
fn remount_fallback(path: &Path, read_only: bool, recursive: bool) -> anyhow::Result<()> {
    let mut targets = vec![path.to_path_buf()];
    if recursive {
        let info = std::fs::read_to_string("/proc/self/mountinfo")?;
        for line in info.lines() {
            let Some(mount_point) = line.split(' ').nth(4) else {
                continue;
            };
            let mount_point = PathBuf::from(unescape_mountinfo(mount_point));
            if mount_point != path && mount_point.starts_with(path) {
                targets.push(mount_point);
            }
        }
    }
    for target in targets {
        let Ok(st) = nix::sys::statvfs::statvfs(&target) else {
            continue;
        };
        use nix::sys::statvfs::FsFlags;
        let keep = [
            (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
            (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
            (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
            (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
            (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
            (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
        ];
        let mut flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT;
        for (fs, ms) in keep {
            if st.flags().contains(fs) {
                flags |= ms;
            }
        }
        if read_only {
            flags |= MsFlags::MS_RDONLY;
        }
        let r = mount(None::<&str>, &target, None::<&str>, flags, None::<&str>);
        if target == path {
            r.with_context(|| format!("cannot remount {}", target.display()))?;
        }
    }
    Ok(())
}

/// `/proc/self/mountinfo` writes space, tab, newline and backslash as `\ooo`.
fn unescape_mountinfo(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let v = (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::unescape_mountinfo;

    #[test]
    fn mountinfo_escapes() {
        assert_eq!(unescape_mountinfo("/a\\040b"), "/a b");
        assert_eq!(unescape_mountinfo("/plain"), "/plain");
        assert_eq!(unescape_mountinfo("/x\\134y"), "/x\\y");
    }
}
