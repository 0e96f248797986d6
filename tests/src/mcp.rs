//! Helpers for the MCP client tests: the `mock-mcp` binary (stdio and HTTP), its record file,
//! orphan checks, and the optional reference server `@modelcontextprotocol/server-everything`
//! (installed by `npm ci` in tests/node).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;

use anyhow::{anyhow, bail, Context, Result};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::harness::TIMEOUT;

/// Path of the `mock-mcp` binary: `$MOCK_MCP_BIN`; else `$CARGO_BIN_EXE_mock-mcp`, which
/// `cargo test` and nextest set when running this package's integration tests (the binary is
/// built with them, and no nested `cargo build` waits for the build lock); else built once
/// with cargo.
pub fn mock_mcp_bin() -> Result<PathBuf> {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BIN.get_or_init(|| {
        let given = ["MOCK_MCP_BIN", "CARGO_BIN_EXE_mock-mcp"]
            .into_iter()
            .find_map(std::env::var_os);
        if let Some(p) = given {
            return Ok(PathBuf::from(p));
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let status = std::process::Command::new(env!("CARGO"))
            .args([
                "build",
                "--quiet",
                "-p",
                "agentd-tests",
                "--bin",
                "mock-mcp",
            ])
            .current_dir(&root)
            .status()
            .map_err(|e| format!("cannot run cargo build: {e}"))?;
        if !status.success() {
            return Err("cargo build -p agentd-tests --bin mock-mcp failed".into());
        }
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        Ok(target.join("debug").join("mock-mcp"))
    })
    .clone()
    .map_err(|e| anyhow!(e))
}

/// Starts `mock-mcp http ARGS…` (e.g. `["--bearer", "T", "--record", path]`) and waits for
/// its `listening …` line: returns the child (killed on drop) and the `http://…/mcp` URL.
/// Its stderr is forwarded to the test's stderr.
pub async fn start_http<I, S>(args: I) -> Result<(Child, String)>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut child = Command::new(mock_mcp_bin()?)
        .arg("http")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("spawning mock-mcp http")?;
    let stdout = child.stdout.take().context("mock-mcp: no stdout")?;
    let stderr = child.stderr.take().context("mock-mcp: no stderr")?;
    tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("[mock-mcp http] {line}");
        }
    });
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(TIMEOUT, lines.next_line())
        .await
        .context("mock-mcp http did not print its address in time")??;
    let Some(line) = line else {
        bail!("mock-mcp http exited before listening");
    };
    let url = line
        .strip_prefix("listening ")
        .with_context(|| format!("unexpected first line from mock-mcp http: {line:?}"))?;
    Ok((child, url.to_owned()))
}

/// The lines of a record file (`--record`); none if it does not exist yet.
pub fn read_record(path: impl AsRef<Path>) -> Vec<String> {
    std::fs::read_to_string(path)
        .map(|text| text.lines().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The pids of every `mock-mcp` process that started with this record file.
pub fn pids_in_record(path: impl AsRef<Path>) -> Vec<i32> {
    read_record(path)
        .iter()
        .filter_map(|line| line.strip_prefix("pid ")?.trim().parse().ok())
        .collect()
}

/// Whether `pid` is a live process. A zombie (exited, not yet reaped) counts as dead: it runs
/// no code and holds no pipes.
pub fn process_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state letter follows the parenthesised command name, which may hold spaces.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) if Path::new("/proc/self/stat").exists() => false,
        // No /proc: signal 0 checks existence only (zombies count as alive there).
        // SAFETY: kill with signal 0 sends nothing; it only reports whether pid exists.
        Err(_) => unsafe { libc::kill(pid, 0) == 0 },
    }
}

/// `tests/node/node_modules/@modelcontextprotocol/server-everything/dist/index.js` when it is
/// installed (`npm ci` in tests/node) and `node` is on `PATH`; otherwise `None`, after saying
/// on stderr what is missing, so the caller can print its skip message and return.
pub fn server_everything() -> Option<PathBuf> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("node/node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    if !script.is_file() {
        eprintln!(
            "server-everything not installed at {} (run `npm ci --omit=optional` in tests/node)",
            script.display()
        );
        return None;
    }
    let on_path = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("node").is_file()));
    if !on_path {
        eprintln!("server-everything needs `node` on PATH, which has none");
        return None;
    }
    Some(script)
}
