//! Starting a stdio MCP server: a child in its own process group, with a cleared environment
//! plus an allow-list, its stderr in the daemon's log under the server's name, and a
//! parent-death signal so it never outlives the daemon — even a `kill -9` of the daemon.
//!
//! Stopping it: SIGTERM to the group, SIGKILL 2 s later if anything is left.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};

use crate::tools::exec::{signal_group, sweep_group};

/// Variables a server gets from the daemon's environment without asking (Codex's list): enough
/// to find programs and a home, nothing that is a credential.
const ALLOWED_ENV: &[&str] = &[
    "HOME",
    "LOGNAME",
    "PATH",
    "SHELL",
    "USER",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "LC_MESSAGES",
    "TERM",
    "TMPDIR",
    "TZ",
];
/// How long a stopped server has between SIGTERM and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(2);
/// Longest stderr line logged (longer ones are dropped, not buffered).
const MAX_STDERR_LINE: usize = 4096;
/// Last stderr lines kept to explain a failed start.
const STDERR_TAIL: usize = 8;

/// What to run.
pub struct StdioCommand<'a> {
    pub server: &'a str,
    pub command: &'a str,
    pub args: &'a [String],
    pub env: &'a BTreeMap<String, String>,
    pub env_vars: &'a [String],
    pub cwd: Option<&'a Path>,
    pub default_cwd: &'a Path,
}

/// A running server process; [`Process::stop`] ends it and its group.
pub struct Process {
    child: Child,
    pgid: Option<Pid>,
    /// Its last stderr lines.
    pub tail: Arc<Mutex<VecDeque<String>>>,
}

/// Spawns the server; the pipes are for the MCP transport.
pub fn spawn(c: &StdioCommand<'_>) -> std::io::Result<(Process, ChildStdout, ChildStdin)> {
    let mut cmd = Command::new(c.command);
    cmd.args(c.args)
        .env_clear()
        .envs(environment(c))
        // A relative `cwd` is taken from the daemon's working directory.
        .current_dir(
            c.cwd
                .map_or_else(|| c.default_cwd.to_path_buf(), |p| c.default_cwd.join(p)),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own group, so stopping it reaches what it started (npx → node).
        .process_group(0)
        .kill_on_drop(true);
    let parent = std::process::id();
    // SAFETY: only async-signal-safe calls (prctl, getppid, _exit) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            // The parent-death signal follows the thread that forked: tokio's worker threads
            // live as long as the runtime, i.e. the daemon.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The daemon died between fork and prctl: nothing will send the signal now.
            if libc::getppid() as u32 != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    let pgid = child.id().map(|id| Pid::from_raw(id as i32));
    let (Some(stdout), Some(stdin), Some(stderr)) =
        (child.stdout.take(), child.stdin.take(), child.stderr.take())
    else {
        return Err(std::io::Error::other("the child's pipes were not created"));
    };
    let tail = Arc::new(Mutex::new(VecDeque::new()));
    tokio::spawn(log_stderr(c.server.to_owned(), stderr, tail.clone()));
    Ok((Process { child, pgid, tail }, stdout, stdin))
}

fn environment(c: &StdioCommand<'_>) -> BTreeMap<String, String> {
    let names = ALLOWED_ENV
        .iter()
        .copied()
        .chain(c.env_vars.iter().map(String::as_str));
    let mut env: BTreeMap<String, String> = names
        .filter_map(|name| Some((name.to_owned(), std::env::var(name).ok()?)))
        .collect();
    env.extend(c.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    env
}

/// Each stderr line goes to the log with the server's name; the last few are kept. A line
/// longer than [`MAX_STDERR_LINE`] is cut and one that is not UTF-8 is read lossily — the pipe
/// is read to its end whatever comes, since a server writing to a pipe nobody reads would die
/// of `SIGPIPE`.
async fn log_stderr(server: String, stderr: ChildStderr, tail: Arc<Mutex<VecDeque<String>>>) {
    let mut reader = BufReader::new(stderr);
    let mut bytes = Vec::new();
    while let Ok(Some(more)) = read_line(&mut reader, &mut bytes, MAX_STDERR_LINE).await {
        let mut line = String::from_utf8_lossy(&bytes).into_owned();
        if more > 0 {
            line.push_str(&format!("… [{more} more bytes]"));
        }
        tracing::info!(target: "agentd::mcp", server = %server, "{line}");
        if let Ok(mut t) = tail.lock() {
            if t.len() == STDERR_TAIL {
                t.pop_front();
            }
            t.push_back(line);
        }
    }
}

/// Reads one line into `line` (without its newline), keeping at most `max` bytes of it:
/// `Some(bytes left out)`, or `None` at the end of the stream.
async fn read_line(
    reader: &mut (impl AsyncBufRead + Unpin),
    line: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Option<usize>> {
    line.clear();
    let mut left_out = 0;
    loop {
        let buf = reader.fill_buf().await?;
        if buf.is_empty() {
            let any = !line.is_empty() || left_out > 0;
            return Ok(any.then_some(left_out));
        }
        let newline = buf.iter().position(|&b| b == b'\n');
        let chunk = &buf[..newline.unwrap_or(buf.len())];
        let keep = chunk.len().min(max - line.len());
        line.extend_from_slice(&chunk[..keep]);
        left_out += chunk.len() - keep;
        let used = chunk.len() + usize::from(newline.is_some());
        reader.consume(used);
        if newline.is_some() {
            return Ok(Some(left_out));
        }
    }
}

impl Process {
    /// How it ended, if it has.
    pub fn exit_status(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            _ => None,
        }
    }

    /// Its last stderr lines, joined.
    pub fn stderr_tail(&self) -> String {
        self.tail
            .lock()
            .map(|t| t.iter().cloned().collect::<Vec<_>>().join("\n"))
            .unwrap_or_default()
    }

    /// SIGTERM to the group, SIGKILL after [`STOP_GRACE`], then reaps the child.
    pub async fn stop(mut self) {
        if let Some(pgid) = self.pgid {
            signal_group(pgid, Some(Signal::SIGTERM));
            sweep_group(pgid, tokio::time::Instant::now() + STOP_GRACE).await;
        }
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(STOP_GRACE, self.child.wait()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A long line is cut and the lines after it are still read (a codec that gives up on
    /// the first long line would stop reading, and the server would die of `SIGPIPE`).
    #[tokio::test]
    async fn long_and_binary_lines_do_not_end_the_reading() {
        let mut input = vec![b'x'; 10_000];
        input.extend_from_slice(b"\n\xff\xfe not utf-8\nlast words");
        let mut reader = BufReader::with_capacity(64, &input[..]);
        let mut line = Vec::new();
        let mut lines = Vec::new();
        while let Some(more) = read_line(&mut reader, &mut line, 100).await.unwrap() {
            lines.push((String::from_utf8_lossy(&line).into_owned(), more));
        }
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(lines[0], ("x".repeat(100), 9_900));
        assert!(lines[1].0.ends_with(" not utf-8"));
        assert_eq!(lines[2], ("last words".to_owned(), 0));
    }
}
