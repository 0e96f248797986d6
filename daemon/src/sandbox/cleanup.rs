//! Clean-up after the sandbox, off the command's critical path.
//!
//! The daemon reports a command done when the helper exits, and removing placeholders can take
//! milliseconds (an `rmdir` on ext4 mounted with `discard` costs ~3 ms). So the outer process
//! forks a *cleaner* before the sandbox starts: it leaves the process group (its own session, so
//! the command runner's signals to the group do not reach it), puts its stdio on `/dev/null`
//! (the runner's pipes close when the outer process exits), and waits on a pipe. When the
//! sandbox is gone the outer process closes that pipe and exits; the cleaner then does the work.
//! Should the outer process be killed instead, the pipe closes all the same — and init, which
//! dies with the outer process, takes the sandbox with it — so the clean-up still happens.

use std::os::fd::{AsRawFd, OwnedFd};

use nix::unistd::ForkResult;

pub(crate) enum Cleaner {
    /// A process waiting for `go` to close; `ready` closes once it has left the process group.
    Detached { go: OwnedFd, ready: OwnedFd },
    /// No process could be forked: the work is done here, at the end.
    Inline(Box<dyn FnOnce()>),
}

impl Cleaner {
    /// Forks the cleaner (holding everything `work` owns, such as placeholder locks).
    pub(crate) fn start(work: Box<dyn FnOnce()>) -> Cleaner {
        let pipes = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).and_then(|go| {
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map(|ready| (go, ready))
        });
        let Ok(((go_read, go_write), (ready_read, ready_write))) = pipes else {
            return Cleaner::Inline(work);
        };
        // SAFETY: the outer process is single-threaded.
        match unsafe { nix::unistd::fork() } {
            Ok(ForkResult::Child) => {
                drop(go_write);
                drop(ready_read);
                if let Ok(null) = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open("/dev/null")
                {
                    for fd in 0..3 {
                        // SAFETY: dup2 onto the standard descriptors of this (child) process.
                        unsafe { libc::dup2(null.as_raw_fd(), fd) };
                    }
                }
                let _ = nix::unistd::setsid();
                drop(ready_write); // out of the process group now
                let mut byte = [0u8; 1];
                // Returns at EOF: the outer process is done (or dead).
                while let Err(nix::errno::Errno::EINTR) =
                    nix::unistd::read(go_read.as_raw_fd(), &mut byte)
                {}
                work();
                // SAFETY: leaving without running destructors a second time.
                unsafe { libc::_exit(0) }
            }
            Ok(ForkResult::Parent { .. }) => {
                // The cleaner owns what `work` holds now; dropping it here would release the
                // placeholder locks before the sandbox is even set up.
                std::mem::forget(work);
                Cleaner::Detached {
                    go: go_write,
                    ready: ready_read,
                }
            }
            Err(_) => Cleaner::Inline(work),
        }
    }

    /// The sandbox is gone: let the clean-up happen. Waits only until the cleaner has left the
    /// process group (long done, normally), never for the clean-up itself.
    pub(crate) fn finish(self) {
        match self {
            Cleaner::Detached { go, ready } => {
                let mut byte = [0u8; 1];
                while let Err(nix::errno::Errno::EINTR) =
                    nix::unistd::read(ready.as_raw_fd(), &mut byte)
                {}
                drop(go);
            }
            Cleaner::Inline(work) => work(),
        }
    }
}
