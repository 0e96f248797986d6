//! Command runner behind the `shell` tool.
//!
//! [`run`] spawns one command in its own process group, streams every output
//! chunk to a callback as it arrives (the daemon forwards these as
//! `item/commandExecution/outputDelta`), keeps bounded copies for the final
//! result, and guarantees that when it returns nothing the command started is
//! still running: on timeout, cancellation or plain exit the whole group is
//! sent SIGTERM and, after [`KILL_GRACE`], SIGKILL.
//!
//! Cancellation is reported as [`ExecError::Cancelled`], carrying the partial
//! [`ExecOutput`]: an error so a caller cannot mistake an interrupted command
//! for a finished one, with the output so it can still show what happened.

mod kill;
mod output;
mod spawn;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::io::AsyncReadExt;
use tokio::time::Instant;

/// For other process owners (MCP servers) and other bounded outputs (MCP results).
pub(crate) use kill::{signal_group, sweep_group};
pub use kill::{KILL_GRACE, TIMEOUT_EXIT_CODE};
pub(crate) use output::OutputCapture;
pub use output::Utf8Stream;

/// Default for [`ExecRequest::client_output_cap`].
pub const DEFAULT_CLIENT_OUTPUT_CAP: usize = 1024 * 1024;
/// Default for [`ExecRequest::model_output_cap`].
pub const DEFAULT_MODEL_OUTPUT_CAP: usize = 10 * 1024;
/// After the direct child exits, how long to keep reading pipes that a
/// descendant still holds open. Longer than [`KILL_GRACE`] so output of a
/// descendant that needed SIGKILL is still collected; bounded so a process
/// that escaped the group (`setsid`) cannot hang the call.
pub const DRAIN_TIMEOUT: Duration = Duration::from_millis(750);

/// Size of each read from a pipe; a Linux pipe buffer holds 64 KiB.
const READ_CHUNK: usize = 32 * 1024;

/// What to run and under which limits.
#[derive(Debug, Clone)]
pub struct ExecRequest {
    /// Program and arguments; `argv[0]` is looked up in `env`'s `PATH`.
    pub argv: Vec<String>,
    /// Working directory; must exist.
    pub cwd: PathBuf,
    /// The complete environment of the command (nothing is inherited).
    pub env: Vec<(String, String)>,
    /// Wall-clock limit, after which the group is killed and the exit code
    /// is [`TIMEOUT_EXIT_CODE`].
    pub timeout: Duration,
    /// Bytes of aggregated output kept for clients.
    pub client_output_cap: usize,
    /// Bytes of the head+tail copy kept for the model.
    pub model_output_cap: usize,
    /// Optional wrapper: the argv actually spawned is `wrapper ++ argv`
    /// (the sandbox helper, later).
    pub wrapper: Vec<String>,
}

impl ExecRequest {
    /// A request with default caps and no wrapper.
    pub fn new(
        argv: Vec<String>,
        cwd: PathBuf,
        env: Vec<(String, String)>,
        timeout: Duration,
    ) -> Self {
        Self {
            argv,
            cwd,
            env,
            timeout,
            client_output_cap: DEFAULT_CLIENT_OUTPUT_CAP,
            model_output_cap: DEFAULT_MODEL_OUTPUT_CAP,
            wrapper: Vec::new(),
        }
    }
}

/// The result of a command that ran to completion or timed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// Exit code; [`TIMEOUT_EXIT_CODE`] on timeout, 128 + signal when a
    /// signal ended the command.
    pub exit_code: i32,
    /// The command hit [`ExecRequest::timeout`] and was killed.
    pub timed_out: bool,
    /// The timeout that applied (echoed so the model can be told the limit).
    pub timeout: Duration,
    /// Wall time from spawn until the group was gone.
    pub duration: Duration,
    /// stdout+stderr interleaved in arrival order, lossy UTF-8, capped at
    /// `client_output_cap` bytes plus an omission marker.
    pub aggregated: String,
    /// Head + tail of the output within `model_output_cap` bytes, with a
    /// marker saying how many bytes and lines were omitted.
    pub model_output: String,
    /// Either copy dropped bytes.
    pub truncated: bool,
}

/// Why [`run`] could not produce an [`ExecOutput`].
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// `wrapper ++ argv` was empty.
    #[error("empty command: no program to run")]
    EmptyCommand,
    /// The program could not be started: not found, not executable, or the
    /// working directory is missing (named in `source`).
    #[error("failed to spawn `{program}`: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    /// Waiting for the child failed (should not happen on Linux).
    #[error("failed to wait for `{program}`: {source}")]
    Wait {
        program: String,
        source: std::io::Error,
    },
    /// The `cancel` future completed first; the command was killed.
    #[error("command cancelled after {:.1} s", partial.duration.as_secs_f64())]
    Cancelled {
        /// Whatever the command printed until it was killed.
        partial: Box<ExecOutput>,
    },
}

/// Which pipe a chunk of output came from (for [`run_with_input`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Why the command is being stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Timeout,
    Cancel,
}

/// Runs `req` to completion, timeout, or cancellation.
///
/// `on_output` gets every chunk of stdout and stderr, uncapped and in arrival
/// order. `cancel` is any future; when it completes first the group is killed
/// and [`ExecError::Cancelled`] is returned (pass `std::future::pending()` to
/// never cancel). Dropping the returned future SIGKILLs the group too.
pub async fn run(
    req: ExecRequest,
    mut on_output: impl FnMut(&[u8]) + Send,
    cancel: impl Future<Output = ()> + Send,
) -> Result<ExecOutput, ExecError> {
    run_with_input(req, None, move |_, chunk| on_output(chunk), cancel).await
}

/// [`run`], but the command reads `input` on its stdin (then EOF) instead of `/dev/null`, and
/// `on_output` is told which pipe each chunk came from. Lifecycle hooks use this: they get a
/// JSON description on stdin and give their reasons on stderr.
///
/// The input is written by a task of its own, so a command that never reads its stdin cannot
/// block the run (the write fails with `EPIPE` once the command is gone, and is dropped).
pub async fn run_with_input(
    req: ExecRequest,
    input: Option<Vec<u8>>,
    mut on_output: impl FnMut(Stream, &[u8]) + Send,
    cancel: impl Future<Output = ()> + Send,
) -> Result<ExecOutput, ExecError> {
    let start = Instant::now();
    let mut spawned = spawn::spawn(&req, input.is_some())?;
    write_stdin(&mut spawned.child, input);
    let pgid = spawned.pgid;
    let mut guard = kill::GroupGuard::new(pgid);
    let mut capture = output::OutputCapture::new(req.client_output_cap, req.model_output_cap);
    // `None` for timeouts too large to represent: effectively no timeout.
    let deadline = start.checked_add(req.timeout);
    let mut cancel = std::pin::pin!(cancel);
    let mut stopping = Stopping {
        pgid,
        stop: None,
        kill_at: None,
    };

    let status = supervise(
        &mut spawned,
        &mut stopping,
        deadline,
        cancel.as_mut(),
        &mut on_output,
        &mut capture,
    )
    .await?;

    // Pipes are closed or abandoned; make sure the group is really empty.
    kill::sweep_group(pgid, stopping.kill_at.unwrap_or_else(Instant::now)).await;
    guard.disarm();
    outcome(&req, start, stopping.stop, status, capture)
}

/// Hands `input` to a task of its own that writes it to the child's stdin pipe (see
/// [`run_with_input`] for why it must not be written inline).
fn write_stdin(child: &mut tokio::process::Child, input: Option<Vec<u8>>) {
    if let (Some(input), Some(mut pipe)) = (input, child.stdin.take()) {
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let _ = pipe.write_all(&input).await;
        });
    }
}

/// How far the group's shutdown has got: the select loop advances it, and the sweep and the
/// result read it afterwards.
struct Stopping {
    pgid: nix::unistd::Pid,
    stop: Option<Stop>,
    /// Set when SIGTERM goes to the group; SIGKILL follows at this instant.
    kill_at: Option<Instant>,
}

impl Stopping {
    /// Sends SIGTERM to the group once and schedules the SIGKILL; later calls do nothing.
    fn terminate(&mut self) {
        if self.kill_at.is_none() {
            kill::signal_group(self.pgid, Some(Signal::SIGTERM));
            self.kill_at = Some(Instant::now() + KILL_GRACE);
        }
    }
}

/// The run's event loop: reads both pipes, waits for the child, and drives timeout,
/// cancellation and the SIGTERM→SIGKILL escalation until the child has exited and its pipes
/// are closed (or the drain time after its exit ran out).
async fn supervise<C: Future<Output = ()>>(
    spawned: &mut spawn::Spawned,
    stopping: &mut Stopping,
    deadline: Option<Instant>,
    mut cancel: std::pin::Pin<&mut C>,
    on_output: &mut impl FnMut(Stream, &[u8]),
    capture: &mut output::OutputCapture,
) -> Result<ExitStatus, ExecError> {
    let mut out_buf = vec![0u8; READ_CHUNK];
    let mut err_buf = vec![0u8; READ_CHUNK];
    let (mut out_open, mut err_open) = (true, true);
    let mut status: Option<ExitStatus> = None;
    let mut killed = false;
    let mut drain_until: Option<Instant> = None;

    loop {
        if let (Some(st), false, false) = (status, out_open, err_open) {
            return Ok(st);
        }
        tokio::select! {
            r = spawned.stdout.read(&mut out_buf), if out_open => match r {
                Ok(n) if n > 0 => {
                    on_output(Stream::Stdout, &out_buf[..n]);
                    capture.push(&out_buf[..n]);
                }
                // EOF, or a read error on our own pipe: nothing more will come.
                _ => out_open = false,
            },
            r = spawned.stderr.read(&mut err_buf), if err_open => match r {
                Ok(n) if n > 0 => {
                    on_output(Stream::Stderr, &err_buf[..n]);
                    capture.push(&err_buf[..n]);
                }
                _ => err_open = false,
            },
            r = spawned.child.wait(), if status.is_none() => {
                status = Some(r.map_err(|source| ExecError::Wait {
                    program: spawned.program.clone(),
                    source,
                })?);
                // The leader is gone; anything left in its group is a
                // background straggler that would become an orphan.
                stopping.terminate();
                drain_until = Some(Instant::now() + DRAIN_TIMEOUT);
            }
            () = sleep_until(deadline), if stopping.stop.is_none() && status.is_none() => {
                stopping.stop = Some(Stop::Timeout);
                stopping.terminate();
            }
            () = cancel.as_mut(), if stopping.stop.is_none() && status.is_none() => {
                stopping.stop = Some(Stop::Cancel);
                stopping.terminate();
            }
            () = sleep_until(stopping.kill_at), if stopping.kill_at.is_some() && !killed => {
                kill::signal_group(stopping.pgid, Some(Signal::SIGKILL));
                killed = true;
            }
            () = sleep_until(drain_until), if drain_until.is_some() => {
                if let Some(st) = status {
                    return Ok(st);
                }
            }
        }
    }
}

/// Turns what the run left behind into its result; a cancelled run is an error that still
/// carries the output.
fn outcome(
    req: &ExecRequest,
    start: Instant,
    stop: Option<Stop>,
    status: ExitStatus,
    capture: output::OutputCapture,
) -> Result<ExecOutput, ExecError> {
    let timed_out = stop == Some(Stop::Timeout);
    let captured = capture.finish();
    let out = ExecOutput {
        exit_code: if timed_out {
            TIMEOUT_EXIT_CODE
        } else {
            kill::exit_code(status)
        },
        timed_out,
        timeout: req.timeout,
        duration: start.elapsed(),
        aggregated: captured.aggregated,
        model_output: captured.model_output,
        truncated: captured.truncated,
    };
    match stop {
        Some(Stop::Cancel) => Err(ExecError::Cancelled {
            partial: Box::new(out),
        }),
        _ => Ok(out),
    }
}

/// Sleeps until `at`, or forever when there is no such instant.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Renders a result the way the model sees it:
///
/// ```text
/// Exit code: 0
/// Wall time: 0.3 s
/// Output:
/// …
/// ```
///
/// with a `command timed out after N ms` line before `Output:` on timeout,
/// so the model knows to retry differently rather than read 124 as a failure
/// of the command itself.
pub fn format_for_model(out: &ExecOutput) -> String {
    let mut s = format!(
        "Exit code: {}\nWall time: {:.1} s\n",
        out.exit_code,
        out.duration.as_secs_f64()
    );
    if out.timed_out {
        s.push_str(&format!(
            "command timed out after {} ms\n",
            out.timeout.as_millis()
        ));
    }
    s.push_str("Output:\n");
    s.push_str(&out.model_output);
    s
}
