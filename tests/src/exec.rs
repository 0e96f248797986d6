//! Running `agentd exec` the way a script does: a real process, its stdout and stderr, its exit
//! status, against the mock model.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context, Result};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::harness::{agentd_bin, TIMEOUT};
use crate::mock_llm::MockLlm;
use crate::turns::mock_provider_settings;

/// A place for exec runs: a data directory, a config home with the mock provider in
/// `config.toml`, and a working directory.
pub struct ExecRig {
    _temp: tempfile::TempDir,
    pub data_dir: PathBuf,
    pub config_home: PathBuf,
    pub cwd: PathBuf,
}

/// What one run printed and how it ended.
#[derive(Debug)]
pub struct ExecRun {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl ExecRun {
    /// stdout's JSON Lines.
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
            .collect()
    }
}

impl ExecRig {
    pub fn new(mock: &MockLlm, wire: &str) -> Result<Self> {
        Self::with_config(mock, wire, "")
    }

    /// As [`ExecRig::new`], with more `config.toml` lines.
    pub fn with_config(mock: &MockLlm, wire: &str, extra: &str) -> Result<Self> {
        let temp = tempfile::tempdir()?;
        let config_home = temp.path().join("config");
        let dir = config_home.join("agentd");
        std::fs::create_dir_all(&dir)?;
        let mut toml: String = mock_provider_settings(&mock.base_url(), wire)
            .into_iter()
            .map(|kv| kv + "\n")
            .collect();
        toml.push_str(extra);
        std::fs::write(dir.join("config.toml"), toml)?;
        let cwd = temp.path().join("work");
        std::fs::create_dir_all(&cwd)?;
        Ok(ExecRig {
            data_dir: temp.path().join("data"),
            config_home,
            cwd,
            _temp: temp,
        })
    }

    /// `agentd exec ARGS…` in the rig's working directory, stdin closed.
    pub fn command(&self, args: &[&str]) -> Result<Command> {
        let mut cmd = Command::new(agentd_bin()?);
        cmd.arg("exec")
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(args)
            .current_dir(&self.cwd)
            .env("XDG_CONFIG_HOME", &self.config_home)
            .env("XDG_RUNTIME_DIR", self.config_home.join("run"))
            .env_remove("AGENTD_DATA_DIR")
            .env_remove("AGENTD_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        Ok(cmd)
    }

    /// Runs `agentd exec ARGS…` to its end.
    pub async fn run(&self, args: &[&str]) -> Result<ExecRun> {
        self.run_with_stdin(args, None).await
    }

    /// Runs it with `stdin` piped in (then closed).
    pub async fn run_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Result<ExecRun> {
        let mut cmd = self.command(args)?;
        if stdin.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let mut child = cmd.spawn().context("spawning agentd exec")?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes()).await?;
        }
        let out = tokio::time::timeout(TIMEOUT * 3, child.wait_with_output())
            .await
            .context("agentd exec did not end")??;
        Ok(ExecRun {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.cwd.join(name)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
}
