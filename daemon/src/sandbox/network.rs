//! One empty network namespace shared by the daemon's sandboxes.
//!
//! With the network off every sandbox needs a network namespace of its own making — except that
//! making one is the most expensive step of a sandbox by far: `setup_net` registers a loopback
//! device, its sysctls and kobjects, and tearing it down again keeps a kernel worker busy with
//! RCU grace periods (on this machine ~1 ms of CPU and 4–5 ms of wall time per command under
//! load, see `docs/benchmarks.md`). So the daemon starts one *holder* at start-up —
//! `agentd sandbox-exec --hold-network`, a process that owns an empty network namespace (and
//! the user namespace that owns it) and sleeps until the daemon closes its stdin — and each
//! sandbox's outer process joins it with `setns` before cloning init, which then inherits it.
//!
//! Sharing is safe because nothing in it can be reached or changed from inside a sandbox: with
//! the network off, seccomp refuses every non-Unix socket and `bind`, `listen`, `connect` and
//! `accept`, so no sandbox can serve anything another could reach, not even on an abstract Unix
//! address; the holder's loopback stays down; and no sandboxed process has a capability in it.
//! What it still isolates, as a fresh one would: the host's abstract Unix sockets and its
//! interfaces. The outer process verifies the holder by the namespaces' inode numbers (a pid can
//! be reused), and when joining fails for any reason it makes a fresh namespace instead.

use std::fmt;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;

use anyhow::Context;
use nix::sched::CloneFlags;

/// Which holder to join: its pid and the inode numbers of its user and network namespaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedNetwork {
    pub pid: u32,
    pub user_ino: u64,
    pub net_ino: u64,
}

impl fmt::Display for SharedNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.pid, self.user_ino, self.net_ino)
    }
}

impl std::str::FromStr for SharedNetwork {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.split('/').map(str::parse::<u64>);
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(Ok(pid)), Some(Ok(user_ino)), Some(Ok(net_ino)), None) => Ok(SharedNetwork {
                pid: u32::try_from(pid).map_err(|e| e.to_string())?,
                user_ino,
                net_ino,
            }),
            _ => Err(format!(
                "expected PID/USER_NS_INODE/NET_NS_INODE, got {s:?}"
            )),
        }
    }
}

impl SharedNetwork {
    /// The namespaces of the holder with this pid, as they are now.
    pub fn of(pid: u32) -> std::io::Result<SharedNetwork> {
        let ino = |ns: &str| std::fs::metadata(format!("/proc/{pid}/ns/{ns}")).map(|m| m.ino());
        Ok(SharedNetwork {
            pid,
            user_ino: ino("user")?,
            net_ino: ino("net")?,
        })
    }
}

/// `agentd sandbox-exec --hold-network`: make the namespaces, say `ready`, sleep until stdin
/// closes (the daemon exited or dropped us).
pub(crate) fn hold() -> anyhow::Result<()> {
    let uid = nix::unistd::geteuid().as_raw();
    let gid = nix::unistd::getegid().as_raw();
    nix::sched::unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNET)
        .context("cannot create the shared network namespace")?;
    std::fs::write("/proc/self/setgroups", "deny").context("cannot write setgroups")?;
    std::fs::write("/proc/self/uid_map", format!("{uid} {uid} 1\n")).context("uid map")?;
    std::fs::write("/proc/self/gid_map", format!("{gid} {gid} 1\n")).context("gid map")?;
    println!("ready");
    let mut buf = [0u8; 64];
    loop {
        match nix::unistd::read(0, &mut buf) {
            Ok(0) => return Ok(()),
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return Ok(()),
        }
    }
}

/// Moves the calling (single-threaded) process into the holder's user and network namespaces.
/// False when that did not happen in full: the caller then makes a network namespace of its
/// own (having possibly joined the user namespace only, which changes nothing it relies on).
pub(crate) fn join(shared: &SharedNetwork) -> bool {
    let open = |ns: &str, ino: u64| -> Option<std::fs::File> {
        let f = std::fs::File::open(format!("/proc/{}/ns/{ns}", shared.pid)).ok()?;
        (f.metadata().ok()?.ino() == ino).then_some(f)
    };
    let (Some(user), Some(net)) = (open("user", shared.user_ino), open("net", shared.net_ino))
    else {
        return false;
    };
    nix::sched::setns(user.as_fd(), CloneFlags::CLONE_NEWUSER).is_ok()
        && nix::sched::setns(net.as_fd(), CloneFlags::CLONE_NEWNET).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_argument_round_trips() {
        let s = SharedNetwork {
            pid: 42,
            user_ino: 4026531837,
            net_ino: 4026532000,
        };
        assert_eq!(s.to_string().parse::<SharedNetwork>(), Ok(s));
        assert!("42/1".parse::<SharedNetwork>().is_err());
        assert!("x/1/2".parse::<SharedNetwork>().is_err());
    }
}
