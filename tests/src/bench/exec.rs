//! `agentd exec` start-up: from spawning the process to the model request arriving at the mock
//! model, on an empty data directory (the database created and migrated each time) — the path
//! a CI job takes. With `$CODEX_BIN` (a `codex` binary, e.g. from the npm package
//! `@openai/codex`), `codex exec` against the same mock is timed the same way.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use agentd_tests::mock_llm::{MockConfig, MockLlm, Scripted};
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use tokio::process::Command;

use super::stats::{ms, Summary};
use super::Ctx;

const RUN_TIMEOUT: Duration = Duration::from_secs(30);

pub async fn run(ctx: &Ctx) -> Result<Value> {
    let runs = ctx.opts.runs.max(1);
    println!("== exec: spawn → model request at the mock, empty data dir each run; {runs} timed runs after 1 warm-up");
    let mock = MockLlm::start_with(MockConfig {
        script: vec![Scripted::responses_text("ok")],
        cycle: true,
        ..MockConfig::default()
    })
    .await?;
    let agentd = time_runs(&mock, runs, |temp| {
        agentd_exec(&ctx.bin, &mock.base_url(), temp)
    })
    .await?;
    println!("agentd exec: {}", line(&agentd));
    let mut out = json!({"agentdExecToRequestMs": agentd.json_ms()});
    match std::env::var_os("CODEX_BIN") {
        Some(codex) => {
            let codex = std::path::PathBuf::from(codex);
            let timed = time_runs(&mock, runs, |temp| {
                codex_exec(&codex, &mock.base_url(), temp)
            })
            .await?;
            println!("codex exec:  {}", line(&timed));
            out["codexExecToRequestMs"] = timed.json_ms();
        }
        None => println!("codex exec:  not timed (set CODEX_BIN to a codex binary to compare)"),
    }
    println!("target: agentd well under 50 ms");
    Ok(out)
}

fn line(s: &Summary) -> String {
    format!("median {}  p90 {}  max {}", ms(s.p50), ms(s.p90), ms(s.max))
}

/// Spawns each run in a fresh temporary directory and times spawn → the run's request.
async fn time_runs(
    mock: &MockLlm,
    runs: usize,
    command: impl Fn(&Path) -> Command,
) -> Result<Summary> {
    let mut samples = Vec::with_capacity(runs);
    for i in 0..=runs {
        let temp = tempfile::tempdir()?;
        let before = mock.requests().len();
        let spawned = Instant::now();
        let status = tokio::time::timeout(RUN_TIMEOUT, command(temp.path()).status())
            .await
            .context("the run did not end")??;
        if !status.success() {
            bail!("run {i} exited with {status}");
        }
        let requests = mock.requests();
        let Some(first) = requests.get(before) else {
            bail!("run {i} sent no model request");
        };
        if i > 0 {
            samples.push(first.received_at.duration_since(spawned).as_nanos() as u64);
        }
    }
    Ok(Summary::of(&mut samples))
}

fn agentd_exec(bin: &Path, base_url: &str, temp: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.arg("exec")
        .args(["--data-dir", &temp.join("data").display().to_string()])
        .args(["-c", "model_provider=\"mock\""])
        .args(["-c", "model_providers.mock.name=\"mock\""])
        .args([
            "-c",
            &format!("model_providers.mock.base_url=\"{base_url}\""),
        ])
        .args(["-c", "model_providers.mock.wire_api=\"responses\""])
        .args(["-c", "model=\"mock-model\""])
        .args(["--cd", &temp.display().to_string(), "say ok"])
        .env("XDG_CONFIG_HOME", temp.join("config"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

fn codex_exec(bin: &Path, base_url: &str, temp: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.arg("exec")
        .arg("--skip-git-repo-check")
        .args(["-c", "model_provider=\"mock\""])
        .args(["-c", "model_providers.mock.name=\"mock\""])
        .args([
            "-c",
            &format!("model_providers.mock.base_url=\"{base_url}\""),
        ])
        .args(["-c", "model_providers.mock.wire_api=\"responses\""])
        .args(["-c", "model=\"mock-model\""])
        .args(["--cd", &temp.display().to_string(), "say ok"])
        .env("CODEX_HOME", temp)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}
