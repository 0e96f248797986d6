//! Resource limits: processes, file size, core dumps.
//!
//! Processes are limited twice over:
//!
//! * `RLIMIT_NPROC`, counted per user *and user namespace* (Linux ≥ 5.14), so set inside the
//!   sandbox it bounds the sandbox's own threads, not the user's. The kernel never applies it to
//!   uid 0, though, and a root daemon's commands run as uid 0 (mapped to itself).
//! * The PID namespace's own `pid_max` (Linux ≥ 6.14 makes it per namespace), which init sets
//!   while it still has capabilities: no process of the sandbox can get a pid beyond it, root
//!   or not. Its floor is 301, so it caps at least that many.
//!
//! On an older kernel a root daemon falls back to a pids cgroup of its own ([`PidsCgroup`]) —
//! cgroup v1's `pids` hierarchy, or a v2 cgroup beside the daemon's with `pids` enabled. Moving
//! a process between cgroups waits for an RCU grace period (5–15 ms), which is why it is only
//! the fallback. Where none of these works, a root daemon's commands have no process limit (the
//! probe reports it).

use std::path::{Path, PathBuf};

use anyhow::Context;
use nix::sys::resource::{setrlimit, Resource};
use nix::unistd::Pid;

/// Sets the limits in the calling process (inherited by the command).
pub(crate) fn apply_rlimits(max_processes: u64, max_file_size: u64) -> anyhow::Result<()> {
    setrlimit(Resource::RLIMIT_NPROC, max_processes, max_processes)
        .context("cannot set RLIMIT_NPROC")?;
    setrlimit(Resource::RLIMIT_FSIZE, max_file_size, max_file_size)
        .context("cannot set RLIMIT_FSIZE")?;
    setrlimit(Resource::RLIMIT_CORE, 0, 0).context("cannot set RLIMIT_CORE")?;
    Ok(())
}

/// Smallest `pid_max` the kernel accepts.
const PID_MAX_FLOOR: u64 = 301;

/// Whether this kernel keeps `pid_max` per PID namespace (Linux 6.14 and later).
pub(crate) fn pid_max_per_namespace() -> bool {
    let Ok(uts) = nix::sys::utsname::uname() else {
        return false;
    };
    let release = uts.release().to_string_lossy().into_owned();
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|p| p.parse::<u32>().ok());
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (6, 14)
}

/// Caps the pids of init's namespace (init needs its capabilities still, and its fresh /proc).
pub(crate) fn apply_pid_max(max_processes: u64) -> anyhow::Result<()> {
    // Pids 1..pid_max-1 are usable: one more than the limit, and no less than the floor.
    let value = (max_processes + 1).max(PID_MAX_FLOOR);
    std::fs::write("/proc/sys/kernel/pid_max", value.to_string())
        .context("cannot set the sandbox's pid_max")
}

/// A pids cgroup made for one sandbox; removed by [`PidsCgroup::remove`].
#[derive(Debug, Clone)]
pub(crate) struct PidsCgroup {
    dir: PathBuf,
}

impl PidsCgroup {
    /// Creates `agentd-sandbox-<pid>` with `pids.max = max` where this process may.
    pub(crate) fn create(max: u64) -> anyhow::Result<PidsCgroup> {
        let parent = pids_parent().context("no pids cgroup to create one in")?;
        let dir = parent.join(format!("agentd-sandbox-{}", std::process::id()));
        std::fs::create_dir(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let cg = PidsCgroup { dir };
        std::fs::write(cg.dir.join("pids.max"), max.to_string())
            .context("cannot write pids.max")?;
        Ok(cg)
    }

    /// Moves `pid` (and so everything it will fork) into the cgroup.
    pub(crate) fn add(&self, pid: Pid) -> anyhow::Result<()> {
        std::fs::write(self.dir.join("cgroup.procs"), pid.as_raw().to_string())
            .with_context(|| format!("cannot move the sandbox into {}", self.dir.display()))
    }

    /// Removes the cgroup once its processes are gone (they may take a moment to be released).
    pub(crate) fn remove(self) {
        for _ in 0..100 {
            match std::fs::remove_dir(&self.dir) {
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                    std::thread::sleep(std::time::Duration::from_millis(2))
                }
                _ => return,
            }
        }
    }
}

/// Where a child pids cgroup can go: the v1 `pids` hierarchy's cgroup of this process, else
/// (v2) the parent of this process's cgroup when `pids` is enabled for its children.
fn pids_parent() -> Option<PathBuf> {
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    for line in own.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        if controllers.split(',').any(|c| c == "pids") {
            let dir = Path::new("/sys/fs/cgroup/pids").join(path.trim_start_matches('/'));
            if dir.join("pids.max").exists() || dir.join("cgroup.procs").exists() {
                return Some(dir);
            }
        }
    }
    let v2 = own.lines().find_map(|l| l.strip_prefix("0::"))?;
    let own_dir = Path::new("/sys/fs/cgroup").join(v2.trim_start_matches('/'));
    let parent = if v2 == "/" {
        own_dir
    } else {
        own_dir.parent()?.to_path_buf()
    };
    let enabled = std::fs::read_to_string(parent.join("cgroup.subtree_control")).ok()?;
    enabled
        .split_whitespace()
        .any(|c| c == "pids")
        .then_some(parent)
}
