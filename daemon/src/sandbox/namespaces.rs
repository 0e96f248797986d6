//! Entering the namespaces, and the two processes on either side of the boundary.
//!
//! The outer process clones *init* with `CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID |
//! CLONE_NEWIPC | CLONE_NEWUTS` (and `CLONE_NEWNET` when the network is off). Init waits on a
//! pipe until the outer process has written its uid/gid maps (the current ids mapped to
//! themselves: a root daemon stays uid 0 inside, but only with capabilities over its own user
//! namespace, and those are dropped before the command runs). Init is pid 1 of the new PID
//! namespace: it builds the sandbox, forks the command, forwards termination signals to every
//! process of the sandbox, reaps orphans, and exits with the command's status as soon as the
//! command is gone — the kernel then kills whatever the command left behind.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::sys::signal::{self, SigHandler, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{ForkResult, Pid};

use super::cli::Spec;
use super::limits::PidsCgroup;
use super::{caps, env, landlock, limits, mounts, seccomp, SETUP_ERROR_PREFIX, SETUP_FAILED_EXIT};

/// Signals the outer process passes on to the sandbox.
const FORWARDED: [Signal; 4] = [
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGQUIT,
];

/// After passing a termination signal on, how long the sandbox gets before init is killed
/// (which kills everything in it). Shorter than the command runner's own grace (500 ms), so
/// this process is still alive to remove its reservations when the runner's SIGKILL comes.
const FORWARD_GRACE: Duration = Duration::from_millis(250);

/// Stack for the cloned init process (a private copy: no `CLONE_VM`). Touched lazily.
const INIT_STACK: usize = 8 * 1024 * 1024;

/// The outer process's signal handling: every forwarded signal and SIGCHLD blocked, and taken
/// with `sigtimedwait` — no handler, no race between checking and waiting.
pub(crate) struct OuterSignals {
    set: SigSet,
}

impl OuterSignals {
    pub(crate) fn block() -> anyhow::Result<OuterSignals> {
        let mut set = SigSet::empty();
        for s in FORWARDED {
            set.add(s);
        }
        set.add(Signal::SIGCHLD);
        set.thread_block().context("cannot block signals")?;
        Ok(OuterSignals { set })
    }

    /// Waits up to `timeout` (forever with `None`) for one of the signals; `None` on timeout.
    fn wait(&self, timeout: Option<Duration>) -> Option<i32> {
        let ts = timeout.map(|t| libc::timespec {
            tv_sec: t.as_secs() as libc::time_t,
            tv_nsec: t.subsec_nanos() as libc::c_long,
        });
        let ts_ptr = ts
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        loop {
            // SAFETY: the set is a valid sigset_t; a null info pointer is allowed; `ts_ptr` is
            // null or points at `ts`, alive for the call.
            let r = unsafe { libc::sigtimedwait(self.set.as_ref(), std::ptr::null_mut(), ts_ptr) };
            if r >= 0 {
                return Some(r);
            }
            match Errno::last() {
                Errno::EINTR => continue,
                _ => return None, // EAGAIN: timed out
            }
        }
    }
}

/// The cloned init process, seen from outside.
pub(crate) struct Init {
    pid: Pid,
}

impl Init {
    /// Clones init into new namespaces, puts it in `cgroup`, maps its ids and lets it go.
    pub(crate) fn spawn(spec: &Spec, cgroup: Option<&PidsCgroup>) -> anyhow::Result<Init> {
        let (go_read, go_write) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("cannot create a pipe")?;
        let mut flags = CloneFlags::CLONE_NEWUSER
            | CloneFlags::CLONE_NEWNS
            | CloneFlags::CLONE_NEWPID
            | CloneFlags::CLONE_NEWIPC
            | CloneFlags::CLONE_NEWUTS;
        // Without network, a namespace of its own, unless the shared one was joined already.
        if !spec.network && spec.shared_network.is_none() {
            flags |= CloneFlags::CLONE_NEWNET;
        }
        let mut stack = vec![0u8; INIT_STACK];
        let go_write_raw = go_write.as_raw_fd();
        let child_spec = spec.clone();
        let mut go_read = Some(go_read);
        let cb = Box::new(move || -> isize {
            // The write end belongs to the outer process: closing our copy lets a read see EOF
            // should the outer process die before saying go.
            // SAFETY: closing an fd number this process inherited and does not use otherwise.
            unsafe { libc::close(go_write_raw) };
            let go = go_read.take().expect("init runs once");
            init_main(&child_spec, go)
        });
        // SAFETY: the outer process is single-threaded (a fresh exec of the binary that has
        // started no threads), so the child may run arbitrary code; without CLONE_VM it gets
        // its own copy of memory, including `stack`.
        let pid = unsafe { nix::sched::clone(cb, &mut stack, flags, Some(libc::SIGCHLD)) }
            .map_err(|e| match e {
                Errno::EPERM | Errno::EACCES | Errno::ENOSPC | Errno::EUSERS => anyhow::anyhow!(
                    "cannot create namespaces ({e}): user namespaces are not permitted here"
                ),
                e => anyhow::anyhow!("cannot create namespaces: {e}"),
            })?;
        let init = Init { pid };
        let setup = (|| -> anyhow::Result<()> {
            if let Some(cg) = cgroup {
                cg.add(pid)?;
            }
            write_id_maps(pid)?;
            nix::unistd::write(&go_write, b"g").context("cannot start the sandbox")?;
            Ok(())
        })();
        if let Err(e) = setup {
            let _ = signal::kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
            return Err(e);
        }
        Ok(init)
    }

    /// Waits for init, passing termination signals on; returns the exit code to leave with.
    pub(crate) fn wait(self, signals: &OuterSignals) -> i32 {
        let mut kill_at: Option<Instant> = None;
        loop {
            match waitpid(self.pid, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(_, code)) => return code,
                Ok(WaitStatus::Signaled(_, sig, _)) => return 128 + sig as i32,
                Ok(_) => {}
                Err(Errno::EINTR) => continue,
                Err(_) => return SETUP_FAILED_EXIT,
            }
            let timeout = kill_at.map(|at| at.saturating_duration_since(Instant::now()));
            match signals.wait(timeout) {
                Some(libc::SIGCHLD) => {}
                Some(sig) => {
                    // Init forwards it to every process in the sandbox.
                    // SAFETY: plain kill(2) on our own child.
                    unsafe { libc::kill(self.pid.as_raw(), sig) };
                    kill_at.get_or_insert_with(|| Instant::now() + FORWARD_GRACE);
                }
                None => {
                    if kill_at.is_some_and(|at| Instant::now() >= at) {
                        let _ = signal::kill(self.pid, Signal::SIGKILL);
                        kill_at = None;
                    }
                }
            }
        }
    }
}

/// Maps the current uid and gid to themselves inside init's user namespace. `setgroups` must be
/// denied first for an unprivileged process to write a gid map (and stays denied: no process in
/// the sandbox can drop or gain supplementary groups).
fn write_id_maps(pid: Pid) -> anyhow::Result<()> {
    let uid = nix::unistd::geteuid().as_raw();
    let gid = nix::unistd::getegid().as_raw();
    let proc = format!("/proc/{}", pid.as_raw());
    std::fs::write(format!("{proc}/setgroups"), "deny").context("cannot write setgroups")?;
    std::fs::write(format!("{proc}/uid_map"), format!("{uid} {uid} 1\n"))
        .context("cannot write the uid map")?;
    std::fs::write(format!("{proc}/gid_map"), format!("{gid} {gid} 1\n"))
        .context("cannot write the gid map")?;
    Ok(())
}

/// Whether this process may create a user namespace (tried in a throwaway child).
pub(crate) fn user_namespaces_work() -> bool {
    // SAFETY: the helper is single-threaded; the child only calls unshare and _exit.
    match unsafe { nix::unistd::fork() } {
        Ok(ForkResult::Child) => {
            let ok = nix::sched::unshare(CloneFlags::CLONE_NEWUSER).is_ok();
            // SAFETY: leaving the child without running destructors or atexit handlers.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) }
        }
        Ok(ForkResult::Parent { child }) => {
            matches!(waitpid(child, None), Ok(WaitStatus::Exited(_, 0)))
        }
        Err(_) => false,
    }
}

extern "C" fn forward_to_sandbox(sig: libc::c_int) {
    // SAFETY: kill(2) is async-signal-safe. From pid 1, -1 means every process of the sandbox.
    unsafe { libc::kill(-1, sig) };
}

/// Init's life: build the sandbox, run the command, report its status.
fn init_main(spec: &Spec, go: OwnedFd) -> isize {
    // Init dies with the outer process: a sandbox nobody waits for must not live on.
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
    let mut byte = [0u8; 1];
    match nix::unistd::read(go.as_raw_fd(), &mut byte) {
        Ok(1) => {}
        // The outer process failed or died before the maps were written.
        _ => return SETUP_FAILED_EXIT as isize,
    }
    drop(go);
    if let Err(e) = set_up(spec) {
        eprintln!("{SETUP_ERROR_PREFIX} {e:#}");
        return SETUP_FAILED_EXIT as isize;
    }
    let Some(command) = &spec.command else {
        return 0; // the probe: everything was set up
    };
    let env = env::command_env(std::env::vars(), spec.mode, spec.network);
    for s in FORWARDED {
        // SAFETY: the handler only calls kill(2).
        let _ = unsafe { signal::signal(s, SigHandler::Handler(forward_to_sandbox)) };
    }
    let _ = SigSet::all().thread_unblock();
    // std spawns with posix_spawn (vfork-like: no copy of init's page tables), resets every
    // handled signal and SIGPIPE to default, and clears the signal mask in the child.
    let spawned = std::process::Command::new(&command[0])
        .args(&command[1..])
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .spawn();
    match spawned {
        Ok(child) => reap_until(Pid::from_raw(child.id() as i32)),
        Err(e) => {
            let (code, what) = match e.kind() {
                std::io::ErrorKind::NotFound => (127, "command not found".to_owned()),
                _ => (126, format!("cannot run it: {e}")),
            };
            eprintln!("{SETUP_ERROR_PREFIX} {}: {what}", command[0]);
            code
        }
    }
}

/// Everything between entering the namespaces and running the command, in this order: the
/// view (needs capabilities), limits, then the lock-down — capabilities dropped, no new
/// privileges, Landlock, seccomp last (it forbids the mounts made before it).
fn set_up(spec: &Spec) -> anyhow::Result<()> {
    mounts::build(&spec.writable_roots, &spec.protected)?;
    if limits::pid_max_per_namespace() {
        limits::apply_pid_max(spec.max_processes)?;
    }
    nix::unistd::chdir(&spec.cwd)
        .with_context(|| format!("cannot enter {}", spec.cwd.display()))?;
    // Set the host name only to make the sandbox recognisable in prompts and logs.
    let _ = nix::unistd::sethostname("agentd-sandbox");
    limits::apply_rlimits(spec.max_processes, spec.max_file_size)?;
    caps::drop_all()?;
    nix::sys::prctl::set_no_new_privs().context("cannot set no_new_privs")?;
    landlock::restrict(&spec.writable_roots, spec.network)?;
    seccomp::install(spec.network)?;
    Ok(())
}

/// Reaps every child (init adopts the sandbox's orphans) until `command` exits; returns its
/// status as an exit code.
fn reap_until(command: Pid) -> isize {
    loop {
        match waitpid(Pid::from_raw(-1), None) {
            Ok(WaitStatus::Exited(pid, code)) if pid == command => return code as isize,
            Ok(WaitStatus::Signaled(pid, sig, _)) if pid == command => return 128 + sig as isize,
            Ok(_) | Err(Errno::EINTR) => {}
            Err(_) => return SETUP_FAILED_EXIT as isize,
        }
    }
}

/// Replaces this process with `argv`, looked up in `env`'s `PATH`. Never returns: on failure
/// prints why and exits 127 (not found) or 126 (found, cannot run), as shells do.
pub(crate) fn exec_command(argv: &[String], env: &[(String, String)]) -> ! {
    let fail = |code: i32, msg: String| -> ! {
        eprintln!("{SETUP_ERROR_PREFIX} {msg}");
        std::process::exit(code)
    };
    let Some(program) = argv.first() else {
        fail(SETUP_FAILED_EXIT, "no command given".to_owned())
    };
    // Rust ignores SIGPIPE for itself; the command must get the default back (`yes | head`).
    // SAFETY: restoring a default disposition.
    let _ = unsafe { signal::signal(Signal::SIGPIPE, SigHandler::SigDfl) };
    let _ = SigSet::all().thread_unblock();
    let path = match resolve_program(program, env) {
        Some(p) => p,
        None => fail(127, format!("{program}: command not found")),
    };
    let cstr =
        |s: &str| CString::new(s).unwrap_or_else(|_| fail(126, format!("{s:?}: contains NUL")));
    let c_path = CString::new(path.as_os_str().as_encoded_bytes())
        .unwrap_or_else(|_| fail(126, format!("{program:?}: contains NUL")));
    let c_argv: Vec<CString> = argv.iter().map(|a| cstr(a)).collect();
    let c_env: Vec<CString> = env.iter().map(|(k, v)| cstr(&format!("{k}={v}"))).collect();
    let err = nix::unistd::execve(&c_path, &c_argv, &c_env).unwrap_err();
    let code = if err == Errno::ENOENT { 127 } else { 126 };
    fail(
        code,
        format!("cannot run {program}: {}", std::io::Error::from(err)),
    )
}

/// `program` itself when it has a slash, else the first executable match in `PATH`.
fn resolve_program(program: &str, env: &[(String, String)]) -> Option<std::path::PathBuf> {
    if program.contains('/') {
        return Some(program.into());
    }
    let path = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.as_str())
        .unwrap_or("/usr/local/bin:/usr/bin:/bin");
    path.split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(program))
        .find(|p| nix::unistd::access(p, nix::unistd::AccessFlags::X_OK).is_ok() && p.is_file())
}
