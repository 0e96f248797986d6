//! The `shell` tool: run a command line and report what it did. Whether to ask, where to run and
//! what to do when the sandbox refuses are the orchestrator's; this file parses, runs, streams
//! the output and words the result.

use std::path::PathBuf;

use agentd_protocol::{
    ApprovalDecision, CommandAction, CommandExecutionItem, CommandExecutionOutputDeltaNotification,
    CommandExecutionRequestApprovalParams, ItemStatus, SandboxMode, SandboxPolicy, ThreadItem,
};
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc;

use super::exec::{self, ExecError, ExecOutput, ExecRequest};
use super::handler::{
    ApprovalKey, Attempt, Completion, Confinement, Denial, PreparedCall, Refusal, Risk,
    ToolHandler, ToolOutcome,
};
use super::orchestrator::ToolCtx;
use crate::clock::now_ms;
use crate::model::ToolSpec;
use crate::port::{ApprovalRequest, ThreadError};
use crate::sandbox;

pub const NAME: &str = "shell";

/// Bytes of one command's output streamed to clients (and stored as `outputDelta` events); at
/// least the client copy's cap.
const MAX_STREAMED_BYTES: usize = 16 * 1024 * 1024;
/// Streamed when that is reached; the model still gets the output's head and tail.
const STREAM_CUT: &str = "\n[… the rest of the output is not streamed]\n";

/// Longest a command may run when the model asks for a timeout (1 hour).
const MAX_TIMEOUT_MS: u64 = 60 * 60 * 1000;

pub struct ShellTool;

impl ToolHandler for ShellTool {
    fn spec(&self) -> ToolSpec {
        ToolSpec::Function {
            name: NAME.into(),
            description:
                "Run a command (argv, no shell unless you call one, e.g. [\"bash\",\"-lc\",\"…\"]). \
                Output is truncated for you; exit code and wall time are reported."
                    .into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "command": {"type": "array", "items": {"type": "string"}, "description": "argv"},
                    "workdir": {"type": "string", "description": "Working directory (default: the thread's)."},
                    "timeout_ms": {"type": "number", "description": "Kill after this many ms."},
                    "justification": {"type": "string", "description": "Why, when asking to escalate."},
                    "escalate": {"type": "boolean", "description": "Ask the user to run it outside the sandbox."}
                },
                "required": ["command"],
                "additionalProperties": false
            }),
        }
    }

    fn prepare(&self, ctx: &ToolCtx<'_>, input: &str) -> Result<Box<dyn PreparedCall>, String> {
        let args: ShellArgs = serde_json::from_str(input)
            .map_err(|e| format!("error: invalid shell arguments: {e}"))?;
        if args.command.is_empty() {
            return Err("error: `command` is empty".into());
        }
        let cwd = args
            .workdir
            .as_deref()
            .map(|w| ctx.resolve(w))
            .unwrap_or_else(|| ctx.cwd.clone());
        let command = display_command(&args.command);
        let item = CommandExecutionItem {
            id: uuid::Uuid::now_v7().to_string(),
            command: command.clone(),
            cwd: cwd.display().to_string(),
            status: ItemStatus::InProgress,
            command_actions: vec![CommandAction::Unknown { command }],
            aggregated_output: None,
            exit_code: None,
            duration_ms: None,
        };
        Ok(Box::new(ShellCall { args, cwd, item }))
    }
}

#[derive(Debug, Deserialize)]
struct ShellArgs {
    command: Vec<String>,
    #[serde(default)]
    workdir: Option<String>,
    #[serde(default)]
    timeout_ms: Option<u64>,
    #[serde(default)]
    justification: Option<String>,
    #[serde(default)]
    escalate: Option<bool>,
}

struct ShellCall {
    args: ShellArgs,
    cwd: PathBuf,
    item: CommandExecutionItem,
}

#[async_trait]
impl PreparedCall for ShellCall {
    fn risk(&self, ctx: &ToolCtx<'_>) -> Risk {
        Risk::Command {
            assessment: ctx.policy.assess(&self.args.command),
            escalate: self.wants_unconfined(),
            justification: self.args.justification.clone(),
        }
    }

    fn item(&self) -> Option<ThreadItem> {
        Some(ThreadItem::CommandExecution(self.item.clone()))
    }

    fn approval_key(&self) -> Option<ApprovalKey> {
        Some(ApprovalKey::Command(self.args.command.clone()))
    }

    fn approval_request(
        &self,
        ctx: &ToolCtx<'_>,
        item_id: &str,
        reason: String,
    ) -> Option<ApprovalRequest> {
        Some(ApprovalRequest::Command(
            CommandExecutionRequestApprovalParams {
                thread_id: ctx.emitter.thread_id().to_owned(),
                turn_id: ctx.emitter.turn_id().to_owned(),
                item_id: item_id.to_owned(),
                started_at_ms: now_ms(),
                command: self.item.command.clone(),
                cwd: self.item.cwd.clone(),
                reason: Some(reason),
            },
        ))
    }

    fn confinable(&self) -> bool {
        true
    }

    fn wants_unconfined(&self) -> bool {
        self.args.escalate.unwrap_or(false)
    }

    async fn attempt(
        &mut self,
        ctx: &mut ToolCtx<'_>,
        confinement: Confinement,
    ) -> Result<Attempt, ThreadError> {
        let wrapper = match &confinement {
            Confinement::Confined(plan) => plan.wrapper_argv(),
            Confinement::Unconfined => Vec::new(),
        };
        let result = self.execute(ctx, wrapper).await?;
        if let (Confinement::Confined(_), Ok(out)) = (&confinement, &result) {
            if sandbox::looks_like_denial(out.exit_code, out.timed_out, &out.aggregated) {
                return Ok(Attempt::Denied(Denial {
                    note: denial_note(&ctx.settings.sandbox, out),
                    summary: denial_summary(out),
                    partial: Some(out.clone()),
                }));
            }
        }
        Ok(Attempt::Done(self.finish(result, None)))
    }

    fn refused(&self, refusal: Refusal) -> Completion {
        let mut item = self.item.clone();
        item.status = ItemStatus::Declined;
        match refusal {
            // A rule's verdict comes before the command shows at all: no item.
            Refusal::Policy(reason) => Completion::output(None, reason),
            Refusal::Person {
                decision: ApprovalDecision::Cancel,
                ..
            } => Completion {
                item: Some(ThreadItem::CommandExecution(item)),
                outcome: ToolOutcome::Interrupt,
            },
            Refusal::Person { .. } => Completion::output(
                Some(ThreadItem::CommandExecution(item)),
                "the user declined to run this command",
            ),
        }
    }

    fn denied(&self, denial: Denial, declined: Option<ApprovalDecision>) -> Completion {
        let Some(out) = denial.partial else {
            // Confinement was impossible: the command never ran.
            let mut item = self.item.clone();
            item.status = ItemStatus::Failed;
            item.aggregated_output = Some(denial.note.clone());
            return Completion::output(Some(ThreadItem::CommandExecution(item)), denial.note);
        };
        let Some(decision) = declined else {
            return self.finish(Ok(out), Some(denial.note));
        };
        let mut item = self.item.clone();
        item.status = ItemStatus::Declined;
        item.exit_code = Some(out.exit_code);
        item.duration_ms = Some(out.duration.as_millis() as i64);
        item.aggregated_output = Some(out.aggregated.clone());
        let item = Some(ThreadItem::CommandExecution(item));
        if decision == ApprovalDecision::Cancel {
            return Completion {
                item,
                outcome: ToolOutcome::Interrupt,
            };
        }
        Completion::output(
            item,
            format!(
                "{}; the user declined to run it outside the sandbox\n{}",
                denial.note,
                exec::format_for_model(&out)
            ),
        )
    }
}

impl ShellCall {
    /// Runs the command (behind `wrapper`, the sandbox helper, when confined), streaming its
    /// output to clients as `outputDelta` events of the item.
    async fn execute(
        &self,
        ctx: &mut ToolCtx<'_>,
        wrapper: Vec<String>,
    ) -> Result<Result<ExecOutput, ExecError>, ThreadError> {
        // The model's number is capped: a call cannot hold its turn (and the thread) forever.
        let timeout = self
            .args
            .timeout_ms
            .map(|ms| std::time::Duration::from_millis(ms.min(MAX_TIMEOUT_MS)))
            .unwrap_or(ctx.shell.default_timeout);
        let request = ExecRequest {
            argv: self.args.command.clone(),
            cwd: self.cwd.clone(),
            env: command_env(),
            timeout,
            client_output_cap: ctx.shell.client_output_cap,
            model_output_cap: ctx.shell.model_output_cap,
            wrapper,
        };
        // Output streams to clients while the command runs: the runner's callback feeds a
        // channel that this task drains into `outputDelta` events. All of it streams, up to
        // [`MAX_STREAMED_BYTES`]: a command that floods (`yes` for an hour) must not become
        // gigabytes of stored events, nor of queue.
        let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let cancel = ctx.cancel.clone();
        let mut left = MAX_STREAMED_BYTES.max(ctx.shell.client_output_cap);
        let run = exec::run(
            request,
            move |chunk: &[u8]| {
                if left == 0 {
                    return;
                }
                let take = chunk.len().min(left);
                left -= take;
                let _ = tx.send(chunk[..take].to_vec());
                if left == 0 {
                    let _ = tx.send(STREAM_CUT.as_bytes().to_vec());
                }
            },
            async move { cancel.cancelled().await },
        );
        tokio::pin!(run);
        // A character split between two reads is sent whole, with the second delta.
        let mut text = exec::Utf8Stream::default();
        let result = loop {
            tokio::select! {
                r = &mut run => break r,
                Some(chunk) = rx.recv() => self.delta(ctx, text.push(&chunk)).await?,
            }
        };
        while let Ok(chunk) = rx.try_recv() {
            self.delta(ctx, text.push(&chunk)).await?;
        }
        self.delta(ctx, text.finish()).await?;
        Ok(result)
    }

    async fn delta(&self, ctx: &ToolCtx<'_>, delta: String) -> Result<(), ThreadError> {
        if delta.is_empty() {
            return Ok(());
        }
        let event = CommandExecutionOutputDeltaNotification {
            thread_id: ctx.emitter.thread_id().to_owned(),
            turn_id: ctx.emitter.turn_id().to_owned(),
            item_id: self.item.id.clone(),
            delta,
            seq: 0,
        };
        ctx.emitter.notify(&event, Vec::new()).await
    }

    /// The item and the model's text for a run's result; `denial` (a sandbox denial nobody
    /// could be asked about) is put before the output the model sees.
    fn finish(&self, result: Result<ExecOutput, ExecError>, denial: Option<String>) -> Completion {
        let mut item = self.item.clone();
        let outcome = match result {
            Ok(out) => {
                item.status = if out.exit_code == 0 {
                    ItemStatus::Completed
                } else {
                    ItemStatus::Failed
                };
                item.exit_code = Some(out.exit_code);
                item.duration_ms = Some(out.duration.as_millis() as i64);
                item.aggregated_output = Some(out.aggregated.clone());
                let text = exec::format_for_model(&out);
                ToolOutcome::Output(match denial {
                    Some(note) => format!("{note}\n{text}"),
                    None => text,
                })
            }
            Err(ExecError::Cancelled { partial }) => {
                item.status = ItemStatus::Failed;
                item.exit_code = Some(partial.exit_code);
                item.duration_ms = Some(partial.duration.as_millis() as i64);
                item.aggregated_output = Some(partial.aggregated.clone());
                ToolOutcome::Interrupt
            }
            Err(e) => {
                item.status = ItemStatus::Failed;
                item.aggregated_output = Some(e.to_string());
                ToolOutcome::Output(format!("error: {e}"))
            }
        };
        Completion {
            item: Some(ThreadItem::CommandExecution(item)),
            outcome,
        }
    }
}

/// The first line of what the model is told when the sandbox stopped a command.
fn denial_note(policy: &SandboxPolicy, out: &ExecOutput) -> String {
    let mode = match policy.mode() {
        SandboxMode::ReadOnly => "read-only",
        SandboxMode::WorkspaceWrite => "workspace-write",
        SandboxMode::DangerFullAccess => "danger-full-access",
    };
    format!(
        "sandbox denied: the command failed inside the {mode} sandbox (exit code {}) with an \
         error the sandbox causes; it was not run outside the sandbox",
        out.exit_code
    )
}

/// For the approval prompt: the sandbox error itself, short.
fn denial_summary(out: &ExecOutput) -> String {
    let line = out
        .aggregated
        .lines()
        .rev()
        .find(|l| sandbox::looks_like_denial(1, false, l))
        .or_else(|| out.aggregated.lines().rev().find(|l| !l.trim().is_empty()))
        .unwrap_or("")
        .trim();
    let line: String = line.chars().take(200).collect();
    format!("the sandbox blocked this command: {line}")
}

/// The environment a command gets: the daemon's, without anything that looks like a secret.
fn command_env() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(k, _)| {
            let k = k.to_ascii_uppercase();
            !(k.contains("KEY") || k.contains("TOKEN") || k.contains("SECRET"))
        })
        .collect()
}

fn display_command(argv: &[String]) -> String {
    shlex::try_join(argv.iter().map(String::as_str)).unwrap_or_else(|_| argv.join(" "))
}
