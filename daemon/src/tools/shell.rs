//! The `shell` tool: decide whether to ask, where to run, then run and report.

use std::path::{Path, PathBuf};

use agentd_protocol::{
    ApprovalDecision, AskForApproval, CommandAction, CommandExecutionItem, ItemStatus, SandboxMode,
    SandboxPolicy, ThreadItem,
};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc;

use super::approval::ask;
use super::exec::{self, ExecError, ExecOutput, ExecRequest};
use super::execpolicy::{Assessment, Decision, Safety};
use super::orchestrator::{ToolCtx, ToolOutcome};
use crate::sandbox;
use crate::threads::{now_ms, ThreadError};

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

/// Why a command needs a person's yes, if it does.
fn approval_reason(
    policy: AskForApproval,
    assessment: &Assessment,
    escalate: bool,
) -> Option<String> {
    let rule_prompt = assessment
        .rule
        .as_ref()
        .filter(|r| r.decision == Decision::Prompt)
        .map(|r| {
            format!(
                "exec policy asks for approval{}",
                r.justification
                    .as_ref()
                    .map(|j| format!(": {j}"))
                    .unwrap_or_default()
            )
        });
    let rule_allows = assessment
        .rule
        .as_ref()
        .is_some_and(|r| r.decision == Decision::Allow);
    let dangerous = match &assessment.safety {
        Safety::Dangerous(why) => Some(format!("potentially destructive: {why}")),
        _ => None,
    };
    match policy {
        AskForApproval::Never => None,
        AskForApproval::Untrusted => rule_prompt.or(dangerous).or_else(|| {
            (!rule_allows && !matches!(assessment.safety, Safety::KnownSafe))
                .then(|| "not a known-safe command".to_owned())
        }),
        AskForApproval::OnRequest => rule_prompt
            .or(dangerous)
            .or_else(|| escalate.then(|| "asks to run outside the sandbox".to_owned())),
        AskForApproval::OnFailure => rule_prompt.or(dangerous),
    }
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

pub async fn shell(ctx: &mut ToolCtx<'_>, arguments: &str) -> Result<ToolOutcome, ThreadError> {
    let args: ShellArgs = match serde_json::from_str(arguments) {
        Ok(a) => a,
        Err(e) => {
            return Ok(ToolOutcome::Output(format!(
                "error: invalid shell arguments: {e}"
            )))
        }
    };
    if args.command.is_empty() {
        return Ok(ToolOutcome::Output("error: `command` is empty".into()));
    }
    let cwd: PathBuf = args
        .workdir
        .as_deref()
        .map(|w| ctx.resolve(w))
        .unwrap_or_else(|| ctx.cwd.clone());
    let assessment = ctx.policy.assess(&args.command);
    // A rule's verdict is final when nobody can be asked: `forbidden`, and `prompt` under
    // approval policy `never` (running it unasked would ignore the rule).
    let never_ask = ctx.settings.approval_policy == AskForApproval::Never;
    if let Some(rule) = assessment.rule.as_ref().filter(|r| {
        r.decision == Decision::Forbidden || (r.decision == Decision::Prompt && never_ask)
    }) {
        let why = rule
            .justification
            .as_ref()
            .map(|j| format!(": {j}"))
            .unwrap_or_default();
        return Ok(ToolOutcome::Output(
            if rule.decision == Decision::Forbidden {
                format!("command forbidden by exec policy ({}){why}", rule.source)
            } else {
                format!(
                    "command not run: exec policy ({}) requires approval{why}; approvals are off \
                 (approval_policy = never)",
                    rule.source
                )
            },
        ));
    }
    let escalate = args.escalate.unwrap_or(false);
    let command_text = display_command(&args.command);
    let item_id = uuid::Uuid::now_v7().to_string();
    let position = ctx.emitter.next_position();
    let mut item = CommandExecutionItem {
        id: item_id.clone(),
        command: command_text.clone(),
        cwd: cwd.display().to_string(),
        status: ItemStatus::InProgress,
        command_actions: vec![CommandAction::Unknown {
            command: command_text.clone(),
        }],
        aggregated_output: None,
        exit_code: None,
        duration_ms: None,
    };
    ctx.emitter
        .item_started(&ThreadItem::CommandExecution(item.clone()))
        .await?;

    // A person's yes to this command — now, or earlier with `acceptForSession` — also covers
    // running it outside the sandbox should the sandbox refuse it (as Codex does): nobody is
    // asked twice about one command.
    let mut approved = ctx.session.command_approved(&args.command);
    let reason = if approved {
        None
    } else {
        approval_reason(ctx.settings.approval_policy, &assessment, escalate)
    };
    if let Some(reason) = reason {
        let reason = args
            .justification
            .clone()
            .map_or(reason.clone(), |j| format!("{reason}; {j}"));
        match request(ctx, &item, &args.command, Some(reason)).await? {
            Some(outcome) => return finish_declined(ctx, item, position, outcome).await,
            None => approved = true,
        }
    }

    // An approved request to run outside the sandbox runs there straight away.
    if !(escalate && approved) {
        match ctx.sandbox.plan(&ctx.settings.sandbox, &ctx.cwd).await {
            Ok(None) => {}
            Ok(Some(plan)) => {
                let result = execute(ctx, &item, &args, &cwd, plan.wrapper_argv()).await?;
                let denied = match &result {
                    Ok(out) => {
                        sandbox::looks_like_denial(out.exit_code, out.timed_out, &out.aggregated)
                    }
                    Err(_) => false,
                };
                let out = match result {
                    Ok(out) if denied => out,
                    other => return finish(ctx, item, position, other, None).await,
                };
                let denial = denial_note(&ctx.settings.sandbox, &out);
                if !approved {
                    if matches!(ctx.settings.approval_policy, AskForApproval::Never) {
                        return finish(ctx, item, position, Ok(out), Some(denial)).await;
                    }
                    let reason = format!("{}; run it without the sandbox?", denial_summary(&out));
                    if let Some(d) = request(ctx, &item, &args.command, Some(reason)).await? {
                        return finish_denial_declined(ctx, item, position, out, denial, d).await;
                    }
                }
            }
            Err(unavailable) => {
                // Confinement is impossible here: never run silently unconfined; refuse, and
                // offer escalation where the policy lets a person be asked.
                let denial = format!(
                    "sandbox denied: confinement is not available on this machine \
                     ({unavailable}), so the command was not run"
                );
                if !approved {
                    if matches!(ctx.settings.approval_policy, AskForApproval::Never) {
                        item.status = ItemStatus::Failed;
                        item.aggregated_output = Some(denial.clone());
                        ctx.emitter
                            .item_completed(&ThreadItem::CommandExecution(item), position)
                            .await?;
                        return Ok(ToolOutcome::Output(denial));
                    }
                    let reason = format!("{denial}; run it without the sandbox?");
                    if let Some(outcome) = request(ctx, &item, &args.command, Some(reason)).await? {
                        return finish_declined(ctx, item, position, outcome).await;
                    }
                }
            }
        }
    }
    let result = execute(ctx, &item, &args, &cwd, Vec::new()).await?;
    finish(ctx, item, position, result, None).await
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

/// Asks for approval; `None` means go ahead, `Some(decision)` means stop with it.
async fn request(
    ctx: &mut ToolCtx<'_>,
    item: &CommandExecutionItem,
    argv: &[String],
    reason: Option<String>,
) -> Result<Option<ApprovalDecision>, ThreadError> {
    let params = json!({
        "threadId": ctx.emitter.thread_id, "turnId": ctx.emitter.turn_id, "itemId": item.id,
        "startedAtMs": now_ms(), "command": item.command, "cwd": item.cwd, "reason": reason,
    });
    let outcome = ask(
        ctx.emitter,
        "item/commandExecution/requestApproval",
        params,
        ctx.approval_timeout,
        ctx.cancel,
    )
    .await?;
    Ok(match outcome.decision {
        ApprovalDecision::Accept => None,
        ApprovalDecision::AcceptForSession => {
            ctx.session.approve_command(argv);
            None
        }
        d => Some(d),
    })
}

async fn finish_declined(
    ctx: &mut ToolCtx<'_>,
    mut item: CommandExecutionItem,
    position: i64,
    decision: ApprovalDecision,
) -> Result<ToolOutcome, ThreadError> {
    item.status = ItemStatus::Declined;
    ctx.emitter
        .item_completed(&ThreadItem::CommandExecution(item), position)
        .await?;
    Ok(if decision == ApprovalDecision::Cancel {
        ToolOutcome::Interrupt
    } else {
        ToolOutcome::Output("the user declined to run this command".into())
    })
}

/// Runs the command (behind `wrapper`, the sandbox helper, when confined), streaming its output
/// to clients as `outputDelta` events of `item`.
async fn execute(
    ctx: &mut ToolCtx<'_>,
    item: &CommandExecutionItem,
    args: &ShellArgs,
    cwd: &Path,
    wrapper: Vec<String>,
) -> Result<Result<ExecOutput, ExecError>, ThreadError> {
    let timeout = args
        .timeout_ms
        .map(std::time::Duration::from_millis)
        .unwrap_or(ctx.shell.default_timeout);
    let request = ExecRequest {
        argv: args.command.clone(),
        cwd: cwd.to_path_buf(),
        env: command_env(),
        timeout,
        client_output_cap: ctx.shell.client_output_cap,
        model_output_cap: ctx.shell.model_output_cap,
        wrapper,
    };
    // Output streams to clients while the command runs: the runner's callback feeds a channel
    // that this task drains into `outputDelta` events.
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let cancel = ctx.cancel.clone();
    let run = exec::run(
        request,
        move |chunk: &[u8]| {
            let _ = tx.send(chunk.to_vec());
        },
        async move { cancel.cancelled().await },
    );
    tokio::pin!(run);
    let (thread_id, turn_id, item_id) = (
        ctx.emitter.thread_id.clone(),
        ctx.emitter.turn_id.clone(),
        item.id.clone(),
    );
    // A character split between two reads is sent whole, with the second delta.
    let mut text = exec::Utf8Stream::default();
    let result = loop {
        tokio::select! {
            r = &mut run => break r,
            Some(chunk) = rx.recv() => {
                let delta = text.push(&chunk);
                if delta.is_empty() {
                    continue;
                }
                ctx.emitter.event(
                    "item/commandExecution/outputDelta",
                    json!({"threadId": thread_id, "turnId": turn_id, "itemId": item_id, "delta": delta}),
                    Vec::new(),
                ).await?;
            }
        }
    };
    let mut rest: Vec<String> = std::iter::from_fn(|| rx.try_recv().ok())
        .map(|chunk| text.push(&chunk))
        .collect();
    rest.push(text.finish());
    for delta in rest.into_iter().filter(|d| !d.is_empty()) {
        ctx.emitter
            .event(
                "item/commandExecution/outputDelta",
                json!({"threadId": thread_id, "turnId": turn_id, "itemId": item_id, "delta": delta}),
                Vec::new(),
            )
            .await?;
    }
    Ok(result)
}

/// Completes the item with a run's result; `denial` (a sandbox denial under approval policy
/// `never`) is put before the output the model sees.
async fn finish(
    ctx: &mut ToolCtx<'_>,
    mut item: CommandExecutionItem,
    position: i64,
    result: Result<ExecOutput, ExecError>,
    denial: Option<String>,
) -> Result<ToolOutcome, ThreadError> {
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
    ctx.emitter
        .item_completed(&ThreadItem::CommandExecution(item), position)
        .await?;
    Ok(outcome)
}

/// The sandbox stopped the command and a person declined running it outside: the item keeps
/// what the confined run printed, and the model learns both.
async fn finish_denial_declined(
    ctx: &mut ToolCtx<'_>,
    mut item: CommandExecutionItem,
    position: i64,
    out: ExecOutput,
    denial: String,
    decision: ApprovalDecision,
) -> Result<ToolOutcome, ThreadError> {
    item.status = ItemStatus::Declined;
    item.exit_code = Some(out.exit_code);
    item.duration_ms = Some(out.duration.as_millis() as i64);
    item.aggregated_output = Some(out.aggregated.clone());
    ctx.emitter
        .item_completed(&ThreadItem::CommandExecution(item), position)
        .await?;
    Ok(if decision == ApprovalDecision::Cancel {
        ToolOutcome::Interrupt
    } else {
        ToolOutcome::Output(format!(
            "{denial}; the user declined to run it outside the sandbox\n{}",
            exec::format_for_model(&out)
        ))
    })
}
