//! `command/exec`: a command outside any thread (Codex's shape; admin scope). No approval is
//! asked — only an admin token reaches it — but it runs confined as its `sandboxPolicy`, or
//! the configured sandbox mode, says, with the configured timeout and output caps as ceilings.

use std::path::PathBuf;
use std::time::Duration;

use agentd_protocol::{CommandExecParams, CommandExecResponse, SandboxPolicy};

use super::dispatch::Handled;
use super::error::RpcError;
use crate::daemon::Daemon;
use crate::tools::exec::{self, ExecError, ExecRequest, Stream};

/// The longest a command may run, whatever it asks.
const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

pub async fn exec(daemon: &Daemon, p: CommandExecParams) -> Result<Handled, RpcError> {
    if p.command.is_empty() || p.command[0].is_empty() {
        return Err(RpcError::invalid_params("command", "must name a program"));
    }
    if p.tty || p.stream_stdin || p.stream_stdout_stderr || p.process_id.is_some() {
        return Err(RpcError::invalid_params(
            "tty",
            "agentd runs command/exec buffered only (no tty, streaming or processId)",
        ));
    }
    let services = daemon.hub.services();
    let cwd = match &p.cwd {
        Some(c) => super::thread::resolve_cwd(daemon, Some(c))?,
        None => daemon.config.default_cwd.clone(),
    };
    let policy = p
        .sandbox_policy
        .clone()
        .unwrap_or_else(|| SandboxPolicy::from_mode(daemon.config.sandbox_mode));
    let wrapper = match services.sandbox.plan(&policy, &cwd).await {
        Ok(Some(plan)) => plan.wrapper_argv(),
        Ok(None) => Vec::new(),
        Err(e) => {
            return Err(RpcError::invalid_request(format!(
                "the sandbox cannot confine this command here: {e}"
            )))
        }
    };
    let limits = services.shell_limits;
    let timeout = match p.timeout_ms {
        Some(ms) if ms > 0 => Duration::from_millis(ms as u64).min(MAX_TIMEOUT),
        _ if p.disable_timeout => MAX_TIMEOUT,
        _ => limits.default_timeout,
    };
    let cap = p
        .output_bytes_cap
        .map_or(limits.client_output_cap, |c| c as usize)
        .min(limits.client_output_cap);
    let env = env(&p);
    run(p.command, cwd, env, timeout, cap, wrapper).await
}

fn env(p: &CommandExecParams) -> Vec<(String, String)> {
    let mut env: std::collections::BTreeMap<String, String> = std::env::vars().collect();
    for (k, v) in p.env.iter().flatten() {
        match v {
            Some(v) => env.insert(k.clone(), v.clone()),
            None => env.remove(k),
        };
    }
    env.into_iter().collect()
}

async fn run(
    argv: Vec<String>,
    cwd: PathBuf,
    env: Vec<(String, String)>,
    timeout: Duration,
    cap: usize,
    wrapper: Vec<String>,
) -> Result<Handled, RpcError> {
    let request = ExecRequest {
        argv,
        cwd,
        env,
        timeout,
        client_output_cap: cap,
        model_output_cap: 0,
        wrapper,
    };
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let result = exec::run_with_input(
        request,
        None,
        |stream, chunk| {
            let buf = match stream {
                Stream::Stdout => &mut stdout,
                Stream::Stderr => &mut stderr,
            };
            let room = cap.saturating_sub(buf.len());
            buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        },
        std::future::pending::<()>(),
    )
    .await;
    let out = result.map_err(|e: ExecError| {
        RpcError::invalid_request(format!("cannot run the command: {e}"))
    })?;
    Handled::new(CommandExecResponse {
        exit_code: out.exit_code,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    })
}
