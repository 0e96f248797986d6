//! Building and spawning the child process.

use std::io;
use std::process::Stdio;

use nix::unistd::Pid;
use tokio::process::{Child, ChildStderr, ChildStdout, Command};

use super::{ExecError, ExecRequest};

/// A freshly spawned command with its pipes split off, so both can be read
/// concurrently while the child is awaited.
pub(crate) struct Spawned {
    pub(crate) child: Child,
    pub(crate) stdout: ChildStdout,
    pub(crate) stderr: ChildStderr,
    /// The command's process group (== its pid, it is the group leader).
    pub(crate) pgid: Pid,
    /// The program actually executed (first word of `wrapper ++ argv`).
    pub(crate) program: String,
}

/// Spawns `wrapper ++ argv` in `cwd` with exactly `env`, in a new process
/// group, with stdin on `/dev/null` (or a pipe left in `child.stdin` when
/// `stdin_piped`) and stdout/stderr piped.
///
/// * Own process group: so timeout/cancel can signal the command and every
///   descendant at once (see `kill.rs`).
/// * `/dev/null` stdin: the daemon is headless; a command waiting for input
///   (`cat`, a prompt) must see EOF instead of hanging until the timeout.
///   A piped stdin is for callers that write a fixed input and close it.
/// * `env_clear`: the daemon's own environment (tokens, sockets) must not
///   leak into model-driven commands; the caller decides the full set.
pub(crate) fn spawn(req: &ExecRequest, stdin_piped: bool) -> Result<Spawned, ExecError> {
    let mut words = req.wrapper.iter().chain(req.argv.iter());
    let program = words.next().ok_or(ExecError::EmptyCommand)?.clone();
    let spawn_error = |source: io::Error| ExecError::Spawn {
        program: program.clone(),
        source,
    };

    // A missing cwd makes spawn fail with the same ENOENT as a missing
    // program; check it first so the message says which one it was.
    match std::fs::metadata(&req.cwd) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(spawn_error(io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("working directory {} is not a directory", req.cwd.display()),
            )));
        }
        Err(e) => {
            return Err(spawn_error(io::Error::new(
                e.kind(),
                format!("working directory {}: {e}", req.cwd.display()),
            )));
        }
    }

    let mut cmd = Command::new(&program);
    cmd.args(words)
        .current_dir(&req.cwd)
        .env_clear()
        .envs(req.env.iter().map(|(k, v)| (k, v)))
        .stdin(if stdin_piped {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);

    let mut child = cmd.spawn().map_err(spawn_error)?;
    let missing =
        |what: &str| spawn_error(io::Error::other(format!("child {what} was not captured")));
    // `id()` is only `None` after the child was reaped, which cannot have
    // happened yet; the pipes are `Some` because they were requested above.
    let pid = child.id().ok_or_else(|| missing("pid"))?;
    let stdout = child.stdout.take().ok_or_else(|| missing("stdout"))?;
    let stderr = child.stderr.take().ok_or_else(|| missing("stderr"))?;
    let pgid = Pid::from_raw(i32::try_from(pid).map_err(|_| missing("pid"))?);
    Ok(Spawned {
        child,
        stdout,
        stderr,
        pgid,
        program,
    })
}
