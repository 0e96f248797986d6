//! Running one hook's command: its own process group (killed whole at its timeout or when the
//! turn is interrupted), the event's JSON on stdin, stdout and stderr kept up to a cap.

use std::path::Path;

use tokio_util::sync::CancellationToken;

use super::set::{Hook, Style};
use crate::tools::exec::{self, ExecError, ExecRequest, Stream};

/// Bytes of stdout kept (the JSON control object, or context text).
const STDOUT_CAP: usize = 64 * 1024;
/// Bytes of stderr kept (the reason of a block).
const STDERR_CAP: usize = 8 * 1024;

/// How a hook's process ended.
pub enum Exit {
    /// Exit 0, with its stdout.
    Ok(Vec<u8>),
    /// Exit 2, with its stderr (trimmed).
    Block(String),
    /// Anything else: another exit code, a timeout, a program that could not start.
    Failed(String),
}

pub async fn execute(hook: &Hook, cwd: &Path, input: &[u8], cancel: &CancellationToken) -> Exit {
    let mut env: Vec<(String, String)> = std::env::vars().collect();
    if let (Style::Claude, Some(project)) = (hook.style, &hook.project_dir) {
        env.push(("CLAUDE_PROJECT_DIR".into(), project.display().to_string()));
    }
    let request = ExecRequest {
        argv: hook.command.clone(),
        cwd: cwd.to_path_buf(),
        // The user's own command: it gets the daemon's environment, as their shell would.
        env,
        timeout: hook.timeout,
        client_output_cap: STDOUT_CAP,
        model_output_cap: STDOUT_CAP,
        wrapper: Vec::new(),
    };
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let cancel = cancel.clone();
    let result = exec::run_with_input(
        request,
        Some(input.to_vec()),
        |stream, chunk| {
            let (buf, cap) = match stream {
                Stream::Stdout => (&mut stdout, STDOUT_CAP),
                Stream::Stderr => (&mut stderr, STDERR_CAP),
            };
            let room = cap.saturating_sub(buf.len());
            buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        },
        async move { cancel.cancelled().await },
    )
    .await;
    let stderr = String::from_utf8_lossy(&stderr).trim().to_owned();
    match result {
        Ok(out) if out.timed_out => Exit::Failed(format!(
            "timed out after {} ms and was killed",
            hook.timeout.as_millis()
        )),
        Ok(out) if out.exit_code == 0 => Exit::Ok(stdout),
        Ok(out) if out.exit_code == 2 => Exit::Block(if stderr.is_empty() {
            "(the hook gave no reason)".to_owned()
        } else {
            stderr
        }),
        Ok(out) if stderr.is_empty() => Exit::Failed(format!("exited with code {}", out.exit_code)),
        Ok(out) => Exit::Failed(format!("exited with code {}: {stderr}", out.exit_code)),
        Err(ExecError::Cancelled { .. }) => Exit::Failed("killed: the turn was interrupted".into()),
        Err(e) => Exit::Failed(e.to_string()),
    }
}
