//! Process-group signalling.
//!
//! Every command is its own process-group leader, so one `killpg` reaches the
//! shell, its pipeline and anything it put in the background. Killing only
//! the direct child would leave grandchildren running (orphans) and, worse,
//! holding our stdout/stderr pipes open forever.
//!
//! Known limit: once the leader has been reaped and the whole group is gone,
//! the kernel may reuse the pgid for an unrelated new group leader, so a late
//! `killpg` could in theory hit it. The window is a few milliseconds (we stop
//! signalling as soon as the group is observed empty) and every runner that
//! reaps through `waitpid` shares it.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::time::Instant;

/// How long a group gets between SIGTERM and SIGKILL: enough for a
/// well-behaved program to flush and clean up, short enough that an
/// interrupted turn feels immediate.
pub const KILL_GRACE: Duration = Duration::from_millis(500);

/// How often [`sweep_group`] checks whether the group is empty yet.
const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Exit code reported when the command hit its timeout, as `timeout(1)` does.
pub const TIMEOUT_EXIT_CODE: i32 = 124;

/// Sends `signal` (or, with `None`, only probes) to every process in group
/// `pgid`. Returns whether the group still has members.
///
/// `EPERM` means members exist that we may not signal (e.g. a setuid
/// program); nothing more can be done about them, but they do count as alive.
pub(crate) fn signal_group(pgid: Pid, signal: Option<Signal>) -> bool {
    !matches!(killpg(pgid, signal), Err(Errno::ESRCH))
}

/// Waits until group `pgid` is empty, sending SIGKILL once `kill_at` passes.
///
/// Called after SIGTERM was sent; returns as soon as the group is gone so a
/// well-behaved command costs no extra latency. Unreaped zombies (whose
/// parent died and whose new parent has not reaped them yet) still count as
/// members, so in the worst case this waits until `kill_at`: bounded either way.
pub(crate) async fn sweep_group(pgid: Pid, kill_at: Instant) {
    loop {
        if !signal_group(pgid, None) {
            return;
        }
        let now = Instant::now();
        if now >= kill_at {
            signal_group(pgid, Some(Signal::SIGKILL));
            return;
        }
        tokio::time::sleep(POLL_INTERVAL.min(kill_at - now)).await;
    }
}

/// SIGKILLs the group when dropped unless disarmed.
///
/// If the future driving [`super::run`] is dropped midway (the daemon's task
/// was aborted), tokio's `kill_on_drop` only kills the direct child; this
/// guard makes sure its descendants do not outlive it either.
pub(crate) struct GroupGuard {
    pgid: Pid,
    armed: bool,
}

impl GroupGuard {
    pub(crate) fn new(pgid: Pid) -> Self {
        Self { pgid, armed: true }
    }

    /// Call once the group is known to be dead, so drop sends nothing.
    pub(crate) fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if self.armed {
            signal_group(self.pgid, Some(Signal::SIGKILL));
        }
    }
}

/// Maps a wait status to a shell-style exit code: the code itself, or
/// 128 + signal number when a signal ended the process (what `$?` shows).
pub(crate) fn exit_code(status: ExitStatus) -> i32 {
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        // Neither exited nor signalled cannot come out of `wait`; keep a
        // recognisable failure value rather than panicking.
        (None, None) => -1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_shell_conventions() {
        assert_eq!(exit_code(ExitStatus::from_raw(0)), 0);
        assert_eq!(exit_code(ExitStatus::from_raw(3 << 8)), 3);
        assert_eq!(exit_code(ExitStatus::from_raw(9)), 137);
        assert_eq!(exit_code(ExitStatus::from_raw(15)), 143);
    }

    #[test]
    fn missing_group_reports_empty() {
        // pid_max is at most 2^22 on Linux, so this group cannot exist.
        assert!(!signal_group(Pid::from_raw(i32::MAX - 1), None));
    }
}
