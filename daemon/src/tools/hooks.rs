//! Lifecycle hooks: commands the user configures to run at fixed points of a turn, able to veto
//! what happens next (`[[hooks.PreToolUse]]`, `[[hooks.PostToolUse]]`,
//! `[[hooks.UserPromptSubmit]]`, `[[hooks.Stop]]` in `config.toml`).
//!
//! The contract with a hook (docs/decisions/006-lifecycle-hooks.md):
//! - **stdin**: one JSON object: `event`, `threadId`, `turnId`, `cwd`, and per event `tool
//!   {name, input}` (both tool events), `output` (PostToolUse), `prompt` (UserPromptSubmit),
//!   `lastAgentMessage` and `stopHookActive` (Stop).
//! - **exit 0**: carry on. **exit 2**: block, with stderr as the reason. What a block does
//!   depends on the event (see [`HookEvent`]).
//! - **anything else** (another exit code, a program that cannot start, the timeout): the hook
//!   failed. That is logged and reported to clients, and the turn carries on as if the hook were
//!   not configured: a broken hook must not wedge every turn.
//!
//! Hooks run through [`exec::run_with_input`], so a hook is its own process group, is killed
//! whole at its timeout or when the turn is interrupted, and never hangs a turn. The hooks of
//! one event run one after another, in configuration order; the first block ends the round
//! (the action is refused either way). Every run is shown to clients as a `hook/started` and a
//! `hook/completed` event of the thread.

use std::path::Path;
use std::time::{Duration, Instant};

use agentd_protocol::{
    HookCompletedNotification, HookEventName, HookExecutionMode, HookHandlerType, HookInfo,
    HookOutputEntry, HookOutputEntryKind, HookRunStatus, HookRunSummary, HookScope, HookSource,
    HookStartedNotification,
};
use serde_json::{json, Map, Value};
use tokio_util::sync::CancellationToken;

use super::exec::{self, ExecError, ExecRequest, Stream};
use crate::clock::unix_now;
use crate::config::{HookConfig, HooksConfig, Origin};
use crate::port::{ThreadError, TurnEmitter};

/// Bytes of a hook's stderr kept as its reason; the rest is cut.
const REASON_CAP: usize = 8 * 1024;
/// Bytes of a hook's combined output kept at all (it is not shown anywhere else).
const OUTPUT_CAP: usize = 16 * 1024;

/// The lifecycle points agentd runs hooks at, and what a block (exit 2) means at each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookEvent {
    /// Before a tool call runs. A block refuses the call: the model gets
    /// `blocked by hook: <reason>` as its output.
    PreToolUse,
    /// After a tool call produced output. A block appends the reason to that output.
    PostToolUse,
    /// Before the model first sees a turn's prompt. A block fails the turn (`hookBlocked`).
    UserPromptSubmit,
    /// When the model ends the turn. A block sends the agent on with the reason as a new user
    /// message, once per turn.
    Stop,
}

impl HookEvent {
    /// The name in `config.toml` and on the hook's stdin.
    pub fn name(self) -> &'static str {
        match self {
            HookEvent::PreToolUse => "PreToolUse",
            HookEvent::PostToolUse => "PostToolUse",
            HookEvent::UserPromptSubmit => "UserPromptSubmit",
            HookEvent::Stop => "Stop",
        }
    }

    fn wire(self) -> HookEventName {
        match self {
            HookEvent::PreToolUse => HookEventName::PreToolUse,
            HookEvent::PostToolUse => HookEventName::PostToolUse,
            HookEvent::UserPromptSubmit => HookEventName::UserPromptSubmit,
            HookEvent::Stop => HookEventName::Stop,
        }
    }

    fn configured(self, hooks: &HooksConfig) -> &[HookConfig] {
        match self {
            HookEvent::PreToolUse => &hooks.pre_tool_use,
            HookEvent::PostToolUse => &hooks.post_tool_use,
            HookEvent::UserPromptSubmit => &hooks.user_prompt_submit,
            HookEvent::Stop => &hooks.stop,
        }
    }
}

/// What the hooks of one event decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookVerdict {
    Continue,
    /// A hook exited 2; its stderr (trimmed) is the reason.
    Block(String),
}

/// How one hook run ended.
enum RunEnd {
    Completed,
    Blocked(String),
    Failed(String),
}

/// Where hooks run and report: the turn they belong to.
pub struct HookSite<'a> {
    pub hooks: &'a HooksConfig,
    pub emitter: &'a TurnEmitter,
    pub cwd: &'a Path,
    pub cancel: &'a CancellationToken,
}

/// What a hook sees as a tool call's `input`: the arguments as JSON when they are JSON (the
/// function tools), else the raw text (`apply_patch`'s patch).
pub fn tool_input(arguments: &str) -> Value {
    serde_json::from_str(arguments).unwrap_or_else(|_| Value::String(arguments.to_owned()))
}

impl HookSite<'_> {
    pub async fn pre_tool_use(
        &self,
        tool: &str,
        input: &Value,
    ) -> Result<HookVerdict, ThreadError> {
        self.run(
            HookEvent::PreToolUse,
            Some(tool),
            json!({"tool": {"name": tool, "input": input}}),
        )
        .await
    }

    pub async fn post_tool_use(
        &self,
        tool: &str,
        input: &Value,
        output: &str,
    ) -> Result<HookVerdict, ThreadError> {
        self.run(
            HookEvent::PostToolUse,
            Some(tool),
            json!({"tool": {"name": tool, "input": input}, "output": output}),
        )
        .await
    }

    pub async fn user_prompt_submit(&self, prompt: &str) -> Result<HookVerdict, ThreadError> {
        self.run(
            HookEvent::UserPromptSubmit,
            None,
            json!({ "prompt": prompt }),
        )
        .await
    }

    /// `stop_hook_active`: a Stop hook already sent the agent on in this turn (so this round
    /// cannot do it again; a hook may use it to avoid asking twice).
    pub async fn stop(
        &self,
        last_agent_message: Option<&str>,
        stop_hook_active: bool,
    ) -> Result<HookVerdict, ThreadError> {
        self.run(
            HookEvent::Stop,
            None,
            json!({"lastAgentMessage": last_agent_message, "stopHookActive": stop_hook_active}),
        )
        .await
    }

    /// Runs the event's hooks that match `tool`, in order, until one blocks.
    async fn run(
        &self,
        event: HookEvent,
        tool: Option<&str>,
        details: Value,
    ) -> Result<HookVerdict, ThreadError> {
        let configured = event.configured(self.hooks);
        if configured.is_empty() {
            return Ok(HookVerdict::Continue);
        }
        let mut payload = Map::new();
        payload.insert("event".into(), event.name().into());
        payload.insert("threadId".into(), self.emitter.thread_id().into());
        payload.insert("turnId".into(), self.emitter.turn_id().into());
        payload.insert("cwd".into(), self.cwd.display().to_string().into());
        if let Value::Object(details) = details {
            payload.extend(details);
        }
        let mut input = Value::Object(payload).to_string().into_bytes();
        input.push(b'\n');
        for (index, hook) in configured.iter().enumerate() {
            if !matches(hook.matcher.as_deref(), tool) {
                continue;
            }
            if self.cancel.is_cancelled() {
                break;
            }
            if let Some(reason) = self.run_one(event, index, hook, &input).await? {
                return Ok(HookVerdict::Block(reason));
            }
        }
        Ok(HookVerdict::Continue)
    }

    /// Runs one hook and reports it; `Some(reason)` when it blocked.
    async fn run_one(
        &self,
        event: HookEvent,
        index: usize,
        hook: &HookConfig,
        input: &[u8],
    ) -> Result<Option<String>, ThreadError> {
        let info = HookInfo {
            event: event.wire(),
            command: display_command(&hook.command),
        };
        let (source, source_path) = source_of(&hook.origin);
        let mut run = HookRunSummary {
            id: uuid::Uuid::now_v7().to_string(),
            event_name: event.wire(),
            handler_type: HookHandlerType::Command,
            execution_mode: HookExecutionMode::Sync,
            scope: HookScope::Turn,
            source,
            source_path,
            display_order: index as i64,
            status: HookRunStatus::Running,
            status_message: None,
            started_at: unix_now(),
            completed_at: None,
            duration_ms: None,
            entries: Vec::new(),
        };
        let started = HookStartedNotification {
            thread_id: self.emitter.thread_id().to_owned(),
            turn_id: Some(self.emitter.turn_id().to_owned()),
            run: run.clone(),
            hook: info.clone(),
            seq: 0,
        };
        self.emitter.notify(&started, Vec::new()).await?;

        let clock = Instant::now();
        let end = self.execute(hook, input).await;
        let (status, reason, entry_kind) = match &end {
            RunEnd::Completed => (HookRunStatus::Completed, None, None),
            RunEnd::Blocked(r) => (
                HookRunStatus::Blocked,
                Some(r.clone()),
                Some(HookOutputEntryKind::Feedback),
            ),
            RunEnd::Failed(r) => (
                HookRunStatus::Failed,
                Some(r.clone()),
                Some(HookOutputEntryKind::Error),
            ),
        };
        if let RunEnd::Failed(why) = &end {
            tracing::warn!(thread = %self.emitter.thread_id(), turn = %self.emitter.turn_id(),
                event = event.name(), command = %info.command, "hook failed: {why}; carrying on");
        }
        run.status = status;
        run.status_message = reason.clone();
        run.completed_at = Some(unix_now());
        run.duration_ms = Some(clock.elapsed().as_millis() as i64);
        if let (Some(kind), Some(text)) = (entry_kind, &reason) {
            run.entries.push(HookOutputEntry {
                kind,
                text: text.clone(),
            });
        }
        let completed = HookCompletedNotification {
            thread_id: self.emitter.thread_id().to_owned(),
            turn_id: Some(self.emitter.turn_id().to_owned()),
            run,
            hook: info,
            outcome: status,
            reason,
            seq: 0,
        };
        self.emitter.notify(&completed, Vec::new()).await?;
        Ok(match end {
            RunEnd::Blocked(reason) => Some(reason),
            _ => None,
        })
    }

    async fn execute(&self, hook: &HookConfig, input: &[u8]) -> RunEnd {
        let timeout = Duration::from_millis(hook.timeout_ms);
        let request = ExecRequest {
            argv: hook.command.clone(),
            cwd: self.cwd.to_path_buf(),
            // The user's own command: it gets the daemon's environment, as their shell would.
            env: std::env::vars().collect(),
            timeout,
            client_output_cap: OUTPUT_CAP,
            model_output_cap: OUTPUT_CAP,
            wrapper: Vec::new(),
        };
        let mut stderr = Vec::new();
        let cancel = self.cancel.clone();
        let result = exec::run_with_input(
            request,
            Some(input.to_vec()),
            |stream, chunk| {
                if stream == Stream::Stderr && stderr.len() < REASON_CAP {
                    let room = REASON_CAP - stderr.len();
                    stderr.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
            },
            async move { cancel.cancelled().await },
        )
        .await;
        let stderr = String::from_utf8_lossy(&stderr).trim().to_owned();
        match result {
            Ok(out) if out.timed_out => RunEnd::Failed(format!(
                "timed out after {} ms and was killed",
                timeout.as_millis()
            )),
            Ok(out) if out.exit_code == 0 => RunEnd::Completed,
            Ok(out) if out.exit_code == 2 => RunEnd::Blocked(if stderr.is_empty() {
                "(the hook gave no reason)".to_owned()
            } else {
                stderr
            }),
            Ok(out) if stderr.is_empty() => {
                RunEnd::Failed(format!("exited with code {}", out.exit_code))
            }
            Ok(out) => RunEnd::Failed(format!("exited with code {}: {stderr}", out.exit_code)),
            Err(ExecError::Cancelled { .. }) => {
                RunEnd::Failed("killed: the turn was interrupted".to_owned())
            }
            Err(e) => RunEnd::Failed(e.to_string()),
        }
    }
}

/// Whether a hook's matcher selects this tool. Events without a tool match every hook.
fn matches(matcher: Option<&str>, tool: Option<&str>) -> bool {
    match (matcher, tool) {
        (None, _) | (_, None) => true,
        (Some(m), Some(tool)) => m
            .split('|')
            .map(str::trim)
            .any(|name| name == "*" || name == tool),
    }
}

fn display_command(argv: &[String]) -> String {
    shlex::try_join(argv.iter().map(String::as_str)).unwrap_or_else(|_| argv.join(" "))
}

/// How a run names where its hook was configured. An override is shown as `-c override`, never
/// with its text (which may hold a secret).
fn source_of(origin: &Origin) -> (HookSource, String) {
    match origin {
        Origin::File(path) => (HookSource::User, path.display().to_string()),
        Origin::Profile { file, .. } => (HookSource::User, file.display().to_string()),
        Origin::CommandLine { .. } => (HookSource::SessionFlags, origin.to_string()),
        Origin::Default => (HookSource::Unknown, String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchers_are_tool_names_or_a_star() {
        assert!(matches(None, Some("shell")));
        assert!(matches(Some("*"), Some("shell")));
        assert!(matches(Some("shell|apply_patch"), Some("apply_patch")));
        assert!(matches(Some("shell | apply_patch"), Some("shell")));
        assert!(!matches(Some("shell|apply_patch"), Some("update_plan")));
        assert!(!matches(Some("shel"), Some("shell")), "names, not prefixes");
        assert!(
            matches(Some("shell"), None),
            "events without a tool ignore matchers"
        );
    }

    #[test]
    fn tool_input_is_json_when_it_can_be() {
        assert_eq!(
            tool_input(r#"{"command":["ls"]}"#),
            json!({"command": ["ls"]})
        );
        assert_eq!(
            tool_input("*** Begin Patch\n*** End Patch"),
            json!("*** Begin Patch\n*** End Patch")
        );
    }
}
