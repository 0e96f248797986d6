//! Starting the real `agentd` binary and talking to it the way a client would: over a real
//! WebSocket or real stdio pipes. Every integration test goes through here.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStderr, Command};
use tokio::sync::mpsc;

pub use crate::client::Client;

/// Default wait for anything the daemon should do promptly.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Path of the `agentd` binary: `$AGENTD_BIN`, else built once with cargo (a no-op when fresh).
pub fn agentd_bin() -> Result<PathBuf> {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("AGENTD_BIN") {
            return Ok(PathBuf::from(p));
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "--quiet", "-p", "agentd", "--bin", "agentd"])
            .current_dir(&root)
            .status()
            .map_err(|e| format!("cannot run cargo build: {e}"))?;
        if !status.success() {
            return Err("cargo build -p agentd failed".into());
        }
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        Ok(target.join("debug").join("agentd"))
    })
    .clone()
    .map_err(|e| anyhow!(e))
}

/// How to start a daemon.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Reuse a data dir (for restart tests); a fresh temporary one otherwise.
    pub data_dir: Option<PathBuf>,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Written to `$XDG_CONFIG_HOME/agentd/config.toml` before the daemon starts.
    pub config_toml: Option<String>,
    /// Exec policy files written to `$XDG_CONFIG_HOME/agentd/rules/NAME` before the daemon
    /// starts: `(NAME, text)`.
    pub rules_files: Vec<(String, String)>,
    /// `--listen` for [`Agentd::start`] and [`Agentd::start_failing`] (default
    /// `ws://127.0.0.1:0`).
    pub listen: Option<String>,
    /// Use this directory as `$XDG_CONFIG_HOME` instead of a fresh one (to share `tokens.toml`
    /// with `agentd token` run beforehand, see [`agentd_command`]).
    pub config_home: Option<PathBuf>,
}

impl Options {
    pub fn arg(mut self, a: impl Into<String>) -> Self {
        self.args.push(a.into());
        self
    }

    pub fn data_dir(mut self, d: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(d.into());
        self
    }

    /// Gives the daemon this `config.toml` (in the config dir the harness points it at).
    pub fn config_toml(mut self, text: impl Into<String>) -> Self {
        self.config_toml = Some(text.into());
        self
    }

    /// Sets an environment variable for the daemon.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// `--listen ADDR` instead of `ws://127.0.0.1:0`.
    pub fn listen(mut self, addr: impl Into<String>) -> Self {
        self.listen = Some(addr.into());
        self
    }

    /// `$XDG_CONFIG_HOME` for the daemon (where `agentd/config.toml` and `agentd/tokens.toml`
    /// are looked for).
    pub fn config_home(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config_home = Some(dir.into());
        self
    }

    /// Gives the daemon an exec policy file `rules/NAME` (in the config dir the harness points
    /// it at), e.g. `rules_file("x.rules", r#"prefix_rule(pattern=["rm"], decision="prompt")"#)`.
    pub fn rules_file(mut self, name: impl Into<String>, text: impl Into<String>) -> Self {
        self.rules_files.push((name.into(), text.into()));
        self
    }
}

/// A running daemon serving WebSocket on a loopback port.
pub struct Agentd {
    child: Child,
    /// `ws://HOST:PORT`, plus `/?token=T` when the daemon printed a one-time token: pass it to
    /// [`Client::connect_ws`] (which sends the token as `Authorization: Bearer`). Use
    /// [`Agentd::ws_url`] for the address alone and [`Agentd::token`] for the token.
    pub url: String,
    pub data_dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    /// Everything the daemon wrote to stderr after its `listening on` line.
    pub stderr: mpsc::UnboundedReceiver<String>,
    /// The one-time token from the `listening on … token=T` line.
    token: Option<String>,
    /// The daemon's `$XDG_CONFIG_HOME` and `$XDG_RUNTIME_DIR`.
    config_home: PathBuf,
    runtime_dir: PathBuf,
}

/// Where `base_command` points `$XDG_CONFIG_HOME`.
fn config_home_of(opts: &Options, temp_root: &Path) -> PathBuf {
    opts.config_home
        .clone()
        .unwrap_or_else(|| temp_root.join("config"))
}

/// `agentd` with `$XDG_CONFIG_HOME` set to `config_home` (for `agentd token …` before a daemon
/// is started with [`Options::config_home`]).
pub fn agentd_command(config_home: &Path) -> Result<std::process::Command> {
    let mut cmd = std::process::Command::new(agentd_bin()?);
    cmd.env("XDG_CONFIG_HOME", config_home)
        .env("HOME", config_home.join("home"))
        .env_remove("AGENTD_DATA_DIR");
    Ok(cmd)
}

/// `listening on ws://HOST:PORT[ token=T]` → (`ws://HOST:PORT`, T).
pub fn parse_listening(line: &str) -> Option<(String, Option<String>)> {
    let rest = line.strip_prefix("listening on ")?;
    let mut words = rest.split_whitespace();
    let url = words.next()?.to_owned();
    let token = words.find_map(|w| w.strip_prefix("token=").map(str::to_owned));
    Some((url, token))
}

fn base_command(opts: &Options, data_dir: &Path, temp_root: &Path) -> Result<Command> {
    let config_home = config_home_of(opts, temp_root);
    if let Some(text) = &opts.config_toml {
        let dir = config_home.join("agentd");
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("config.toml"), text)?;
    }
    if !opts.rules_files.is_empty() {
        let dir = config_home.join("agentd").join("rules");
        std::fs::create_dir_all(&dir)?;
        for (name, text) in &opts.rules_files {
            std::fs::write(dir.join(name), text)?;
        }
    }
    let mut cmd = Command::new(agentd_bin()?);
    cmd.arg("serve")
        .arg("--data-dir")
        .arg(data_dir)
        .args(&opts.args)
        .env("XDG_CONFIG_HOME", &config_home)
        .env("XDG_RUNTIME_DIR", temp_root.join("run"))
        // A home of its own: the developer's ~/.claude/CLAUDE.md (or settings) must not reach
        // a test's instructions. Tests that want a user-level file set HOME through `env`.
        .env("HOME", temp_root.join("home"))
        .env_remove("AGENTD_DATA_DIR")
        .kill_on_drop(true);
    for (k, v) in &opts.env {
        cmd.env(k, v);
    }
    Ok(cmd)
}

/// A spawned daemon before it is known to listen: its temporary directory, data directory,
/// process and stderr.
type Spawned = (tempfile::TempDir, PathBuf, Child, ChildStderr);

impl Agentd {
    /// `agentd serve --listen …` (default `ws://127.0.0.1:0`) in a fresh temporary directory,
    /// with stderr piped: what [`Agentd::start`] and [`Agentd::start_failing`] share.
    fn spawn_ws(opts: &Options) -> Result<Spawned> {
        let temp = tempfile::tempdir()?;
        let data_dir = opts
            .data_dir
            .clone()
            .unwrap_or_else(|| temp.path().join("data"));
        let mut cmd = base_command(opts, &data_dir, temp.path())?;
        cmd.args([
            "--listen",
            opts.listen.as_deref().unwrap_or("ws://127.0.0.1:0"),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().context("spawning agentd")?;
        let stderr = child.stderr.take().context("no stderr")?;
        Ok((temp, data_dir, child, stderr))
    }

    /// Starts `agentd serve --listen ws://127.0.0.1:0` and waits for its address.
    pub async fn start(opts: Options) -> Result<Agentd> {
        let (temp, data_dir, child, stderr) = Self::spawn_ws(&opts)?;
        let (tx, rx) = mpsc::unbounded_channel();
        let mut lines = BufReader::new(stderr).lines();
        let (address, token) = tokio::time::timeout(TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(found) = parse_listening(&line) {
                    return Ok::<_, anyhow::Error>(found);
                }
                let _ = tx.send(line);
            }
            bail!("agentd exited before listening")
        })
        .await
        .context("agentd did not start listening in time")??;
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let url = match &token {
            Some(t) => format!("{address}/?token={t}"),
            None => address,
        };
        Ok(Agentd {
            child,
            url,
            data_dir,
            stderr: rx,
            token,
            config_home: config_home_of(&opts, temp.path()),
            runtime_dir: temp.path().join("run"),
            _temp: Some(temp),
        })
    }

    /// Starts a daemon that is expected to refuse to start: waits for it to exit and returns its
    /// exit status and everything it wrote to stderr. Fails if it starts listening instead.
    pub async fn start_failing(opts: Options) -> Result<(std::process::ExitStatus, String)> {
        let (_temp, _data_dir, mut child, stderr) = Self::spawn_ws(&opts)?;
        let mut lines = BufReader::new(stderr).lines();
        let mut text = String::new();
        let read = tokio::time::timeout(TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                if line.starts_with("listening on ") {
                    bail!("agentd started listening although it should have refused: {text}");
                }
                text.push_str(&line);
                text.push('\n');
            }
            Ok(())
        })
        .await;
        match read {
            Err(_) => bail!("agentd neither exited nor listened within {TIMEOUT:?}: {text}"),
            Ok(Err(e)) => return Err(e),
            Ok(Ok(())) => {}
        }
        let status = tokio::time::timeout(TIMEOUT, child.wait())
            .await
            .context("agentd closed stderr but did not exit")??;
        Ok((status, text))
    }

    /// A new initialized WebSocket client.
    pub async fn client(&self, name: &str) -> Result<Client> {
        let mut c = Client::connect_ws(&self.url).await?;
        c.initialize(name).await?;
        Ok(c)
    }

    /// A WebSocket client that has not sent `initialize`.
    pub async fn raw_client(&self) -> Result<Client> {
        Client::connect_ws(&self.url).await
    }

    /// The `http://` base of the listener (for `/healthz`), without the token.
    pub fn http_base(&self) -> String {
        self.ws_url().replacen("ws://", "http://", 1)
    }

    /// `ws://HOST:PORT`, without the token.
    pub fn ws_url(&self) -> String {
        crate::client::split_token(&self.url)
            .0
            .trim_end_matches('/')
            .to_owned()
    }

    /// The one-time token the daemon printed (none with `--no-auth` or configured tokens).
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The daemon's `$XDG_CONFIG_HOME` (`agentd/tokens.toml` lives below it).
    pub fn config_home(&self) -> &Path {
        &self.config_home
    }

    /// The daemon's `$XDG_RUNTIME_DIR` (the one-time token is written to `agentd/token` below).
    pub fn runtime_dir(&self) -> &Path {
        &self.runtime_dir
    }

    /// Runs `agentd ARGS…` (e.g. `token create …`) against this daemon's config directory and
    /// returns its output.
    pub fn cli(&self, args: &[&str]) -> Result<std::process::Output> {
        Ok(agentd_command(&self.config_home)?.args(args).output()?)
    }

    /// Kills the daemon with SIGKILL, keeping its data dir.
    pub async fn kill(mut self) -> Result<(PathBuf, Option<tempfile::TempDir>)> {
        self.child.kill().await?;
        Ok((self.data_dir.clone(), self._temp.take()))
    }

    /// Sends SIGTERM and waits for the exit status.
    pub async fn terminate(
        mut self,
    ) -> Result<(std::process::ExitStatus, PathBuf, Option<tempfile::TempDir>)> {
        let pid = self.child.id().context("already exited")?;
        nix_kill(pid, "TERM")?;
        let status = tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .context("agentd did not exit after SIGTERM")??;
        Ok((status, self.data_dir.clone(), self._temp.take()))
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Sends a signal (`"STOP"`, `"CONT"`, `"KILL"`, …) to the daemon.
    pub fn signal(&self, signal: &str) -> Result<()> {
        let pid = self.pid().context("the daemon has exited")?;
        nix_kill(pid, signal)
    }

    /// Waits until the daemon logs a line containing `needle`; returns that line.
    pub async fn wait_for_log(&mut self, needle: &str, within: Duration) -> Result<String> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.stderr.recv()).await {
                Ok(Some(line)) if line.contains(needle) => return Ok(line),
                Ok(Some(_)) => {}
                Ok(None) => bail!("the daemon's log ended before {needle:?}"),
                Err(_) => bail!("no log line with {needle:?} within {within:?}"),
            }
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

fn nix_kill(pid: u32, signal: &str) -> Result<()> {
    let status = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()?;
    if !status.success() {
        bail!("kill -{signal} {pid} failed");
    }
    Ok(())
}

/// A daemon on stdio: the test is its only client.
pub struct StdioAgentd {
    pub client: Client,
    pub child: Child,
    _temp: tempfile::TempDir,
}

impl StdioAgentd {
    pub async fn start(opts: Options) -> Result<StdioAgentd> {
        let temp = tempfile::tempdir()?;
        let data_dir = opts
            .data_dir
            .clone()
            .unwrap_or_else(|| temp.path().join("data"));
        let mut cmd = base_command(&opts, &data_dir, temp.path())?;
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().context("spawning agentd")?;
        let stdin = child.stdin.take().context("no stdin")?;
        let stdout = child.stdout.take().context("no stdout")?;
        Ok(StdioAgentd {
            client: Client::over_stdio(stdin, stdout),
            child,
            _temp: temp,
        })
    }
}
