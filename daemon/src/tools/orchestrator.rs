//! Every tool call passes through here: PreToolUse hooks → exec-policy check → approval (if
//! required) → sandbox choice → execution → on a sandbox denial, escalation → PostToolUse hooks
//! → result for the model.
//!
//! The turn loop hands each call to [`handle_call`] with a [`ToolCtx`]; the tools themselves
//! (`shell`, `patch`, `plan`) only do their own job.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::execpolicy::ExecPolicy;
use super::hooks::{self, HookSite, HookVerdict};
use super::{patch, plan, shell, spec};
use crate::config::HooksConfig;
use crate::threads::{ThreadError, ThreadSettings, TurnEmitter};

/// What a tool call produced for the turn loop.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolOutcome {
    /// Text for the model (also for refusals and failures: the model carries on).
    Output(String),
    /// A person chose `cancel`: the turn ends `interrupted`.
    Interrupt,
}

/// `acceptForSession` decisions remembered for a thread.
#[derive(Debug, Default)]
pub struct SessionApprovals {
    commands: Mutex<HashSet<Vec<String>>>,
    files: Mutex<HashSet<PathBuf>>,
}

impl SessionApprovals {
    /// Whether exactly this command line was approved for the session. Exactly, not as a
    /// prefix: approving `rm -rf build` must not approve `rm -rf build /`.
    pub fn command_approved(&self, argv: &[String]) -> bool {
        self.commands
            .lock()
            .map(|c| c.contains(argv))
            .unwrap_or(false)
    }

    pub fn approve_command(&self, argv: &[String]) {
        if let Ok(mut c) = self.commands.lock() {
            c.insert(argv.to_vec());
        }
    }

    pub fn files_approved(&self, paths: &[PathBuf]) -> bool {
        !paths.is_empty()
            && self
                .files
                .lock()
                .map(|f| paths.iter().all(|p| f.contains(p)))
                .unwrap_or(false)
    }

    pub fn approve_files(&self, paths: &[PathBuf]) {
        if let Ok(mut f) = self.files.lock() {
            f.extend(paths.iter().cloned());
        }
    }
}

/// Limits the shell tool applies (config keys `shell_timeout_ms`, `shell_output_cap_bytes`,
/// `shell_model_output_bytes`).
#[derive(Debug, Clone, Copy)]
pub struct ShellLimits {
    pub default_timeout: Duration,
    pub client_output_cap: usize,
    pub model_output_cap: usize,
}

impl Default for ShellLimits {
    fn default() -> Self {
        ShellLimits {
            default_timeout: Duration::from_secs(120),
            client_output_cap: 1024 * 1024,
            model_output_cap: 10 * 1024,
        }
    }
}

/// Everything a tool call may use.
pub struct ToolCtx<'a> {
    pub emitter: &'a mut TurnEmitter,
    pub cwd: PathBuf,
    pub settings: &'a ThreadSettings,
    pub session: &'a SessionApprovals,
    pub policy: &'a ExecPolicy,
    pub cancel: &'a CancellationToken,
    pub approval_timeout: Duration,
    pub shell: ShellLimits,
    /// The turn's aggregated diff, grown by each applied patch.
    pub turn_diff: &'a mut String,
    /// Lifecycle hooks run around each call.
    pub hooks: &'a HooksConfig,
    /// Where confined commands run (the probed level, the config's sandbox defaults).
    pub sandbox: &'a crate::sandbox::Sandbox,
}

impl ToolCtx<'_> {
    pub fn resolve(&self, p: &str) -> PathBuf {
        let path = Path::new(p);
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.cwd.join(path)
        }
    }
}

/// Runs one call by name, between its PreToolUse and PostToolUse hooks. Unknown tools and bad
/// arguments are answered with an error the model can act on, never a failed turn.
pub async fn handle_call(
    ctx: &mut ToolCtx<'_>,
    name: &str,
    arguments: &str,
) -> Result<ToolOutcome, ThreadError> {
    let input = hooks::tool_input(arguments);
    if let HookVerdict::Block(reason) = ctx.hook_site().pre_tool_use(name, &input).await? {
        return Ok(ToolOutcome::Output(format!("blocked by hook: {reason}")));
    }
    // An interrupt that arrived while a hook ran stops the call before it has any effect.
    if ctx.cancel.is_cancelled() {
        return Ok(ToolOutcome::Interrupt);
    }
    let ToolOutcome::Output(output) = run_tool(ctx, name, arguments).await? else {
        return Ok(ToolOutcome::Interrupt);
    };
    Ok(ToolOutcome::Output(
        match ctx.hook_site().post_tool_use(name, &input, &output).await? {
            HookVerdict::Continue => output,
            HookVerdict::Block(reason) => format!("{output}\n\nPostToolUse hook: {reason}"),
        },
    ))
}

impl ToolCtx<'_> {
    fn hook_site(&self) -> HookSite<'_> {
        HookSite {
            hooks: self.hooks,
            emitter: &*self.emitter,
            cwd: &self.cwd,
            cancel: self.cancel,
        }
    }
}

async fn run_tool(
    ctx: &mut ToolCtx<'_>,
    name: &str,
    arguments: &str,
) -> Result<ToolOutcome, ThreadError> {
    match name {
        spec::SHELL => shell::shell(ctx, arguments).await,
        spec::APPLY_PATCH => {
            // Chat Completions has no freeform tools: there the input arrives as `{input}`.
            let input = serde_json::from_str::<serde_json::Value>(arguments)
                .ok()
                .and_then(|v| v.get("input").and_then(|i| i.as_str()).map(str::to_owned))
                .unwrap_or_else(|| arguments.to_owned());
            patch::apply_patch(ctx, &input).await
        }
        spec::UPDATE_PLAN => Ok(ToolOutcome::Output(
            plan::update_plan(ctx.emitter, arguments).await?,
        )),
        other => Ok(ToolOutcome::Output(format!(
            "error: no tool named `{other}`; available: shell, apply_patch, update_plan"
        ))),
    }
}
