//! Starting `agentd` for a benchmark: a fresh temporary data dir each time, the spawn instant
//! recorded, and the WebSocket address (and token, if the daemon prints one) read from stderr.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::ws::{self, Ws};

/// How long the daemon may take to print its `listening on` line.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);
/// Daemon stderr lines echoed to ours after start-up (warnings are worth seeing, a flood is not).
const ECHOED_STDERR_LINES: usize = 20;

/// `agentd serve` on a fresh data dir under `temp_root`, with config and runtime dirs there too.
pub fn command(bin: &Path, temp_root: &Path, args: &[String]) -> Command {
    let mut cmd = Command::new(bin);
    cmd.arg("serve")
        .arg("--data-dir")
        .arg(temp_root.join("data"))
        .args(args)
        .env("XDG_CONFIG_HOME", temp_root.join("config"))
        .env("XDG_RUNTIME_DIR", temp_root.join("run"))
        .env_remove("AGENTD_DATA_DIR")
        .kill_on_drop(true);
    cmd
}

/// A daemon listening on a loopback WebSocket port; killed when dropped.
pub struct WsDaemon {
    child: Child,
    pub pid: u32,
    pub url: String,
    pub token: Option<String>,
    /// When `spawn` was called.
    pub spawned_at: Instant,
    /// From spawn to the `listening on` line.
    pub listening_after: Duration,
    _temp: tempfile::TempDir,
}

impl WsDaemon {
    /// Spawns `agentd serve --listen ws://127.0.0.1:0 ARGS…` and waits for its address.
    pub async fn start(bin: &Path, args: &[String]) -> Result<WsDaemon> {
        let temp = tempfile::tempdir().context("creating a temp dir")?;
        let mut cmd = command(bin, temp.path(), args);
        cmd.args(["--listen", "ws://127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let spawned_at = Instant::now();
        let mut child = cmd
            .spawn()
            .with_context(|| format!("spawning {}", bin.display()))?;
        let pid = child.id().context("agentd exited at once")?;
        let stderr = child.stderr.take().context("no stderr pipe")?;
        let mut lines = BufReader::new(stderr).lines();
        let mut before = Vec::new();
        let found = tokio::time::timeout(LISTEN_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(found) = parse_listening(&line) {
                    return Ok::<_, anyhow::Error>(Some(found));
                }
                before.push(line);
            }
            Ok(None)
        })
        .await;
        let listening_after = spawned_at.elapsed();
        let (url, token) = match found {
            Ok(Ok(Some(found))) => found,
            Ok(Ok(None)) => bail!(
                "agentd exited before listening; stderr:\n{}",
                before.join("\n")
            ),
            Ok(Err(e)) => return Err(e).context("reading agentd's stderr"),
            Err(_) => bail!(
                "agentd did not print `listening on` within {LISTEN_TIMEOUT:?}; stderr:\n{}",
                before.join("\n")
            ),
        };
        tokio::spawn(async move {
            let mut echoed = 0;
            while let Ok(Some(line)) = lines.next_line().await {
                if echoed < ECHOED_STDERR_LINES {
                    eprintln!("  [agentd {pid}] {line}");
                    echoed += 1;
                }
            }
        });
        Ok(WsDaemon {
            child,
            pid,
            url,
            token,
            spawned_at,
            listening_after,
            _temp: temp,
        })
    }

    /// A new raw connection that has completed `initialize`.
    pub async fn connect(&self, name: &str) -> Result<Ws> {
        let mut c = ws::connect(&self.url, self.token.as_deref()).await?;
        ws::initialize(&mut c, name).await?;
        Ok(c)
    }

    /// The daemon's resident set size in KiB (`VmRSS` of `/proc/PID/status`).
    pub fn rss_kib(&self) -> Result<u64> {
        rss_kib(self.pid)
    }

    /// CPU time the daemon has used so far (user + system).
    pub fn cpu_time(&self) -> Result<Duration> {
        cpu_time(self.pid)
    }

    /// Kills the daemon (SIGKILL) and reaps it; its data dir goes with `self`.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// `listening on ws://HOST:PORT[ token=T]` → (url, token).
pub fn parse_listening(line: &str) -> Option<(String, Option<String>)> {
    let rest = line.trim().strip_prefix("listening on ")?;
    let mut words = rest.split_whitespace();
    let url = words.next()?.to_owned();
    let token = words
        .find_map(|w| w.strip_prefix("token="))
        .map(str::to_owned);
    Some((url, token))
}

pub fn rss_kib(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
        .with_context(|| format!("no VmRSS in {path}"))
}

/// User + system CPU time of a process, from `/proc/PID/stat`.
pub fn cpu_time(pid: u32) -> Result<Duration> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    // Fields after the command name (which may contain spaces) start at the state, field 3;
    // utime and stime are fields 14 and 15.
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .with_context(|| format!("unexpected {path}"))?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| -> Result<u64> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .with_context(|| format!("unexpected {path}"))
    };
    let total = ticks(11)? + ticks(12)?;
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Ok(Duration::from_nanos(total * 1_000_000_000 / hz))
}

/// "X% of one core, Y µs per event" for CPU used over `wall` while handling `events` events.
pub fn cpu_line(cpu: Duration, wall_ns: u64, events: u64) -> String {
    let share = cpu.as_nanos() as f64 / wall_ns.max(1) as f64 * 100.0;
    let per_event = cpu.as_nanos() as f64 / 1e3 / events.max(1) as f64;
    format!("daemon CPU {share:.0}% of one core, {per_event:.1} µs per event")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_listening_line_with_and_without_token() {
        assert_eq!(
            parse_listening("listening on ws://127.0.0.1:4000"),
            Some(("ws://127.0.0.1:4000".into(), None))
        );
        assert_eq!(
            parse_listening("listening on ws://127.0.0.1:4000 token=abc"),
            Some(("ws://127.0.0.1:4000".into(), Some("abc".into())))
        );
        assert_eq!(parse_listening("warming up"), None);
    }
}
