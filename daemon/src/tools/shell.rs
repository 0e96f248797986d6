//! The `shell` tool: decide whether to ask, where to run, then run and report.

use std::path::PathBuf;

use agentd_protocol::{
    ApprovalDecision, AskForApproval, CommandAction, CommandExecutionItem, ItemStatus,
    SandboxPolicy, ThreadItem,
};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc;

use super::approval::ask;
use super::exec::{self, ExecError, ExecRequest};
use super::execpolicy::{Assessment, Decision, Safety};
use super::orchestrator::{ToolCtx, ToolOutcome};
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
    if let Some(rule) = assessment
        .rule
        .as_ref()
        .filter(|r| r.decision == Decision::Forbidden)
    {
        return Ok(ToolOutcome::Output(format!(
            "command forbidden by exec policy ({}){}",
            rule.source,
            rule.justification
                .as_ref()
                .map(|j| format!(": {j}"))
                .unwrap_or_default()
        )));
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

    let mut unconfined = matches!(ctx.settings.sandbox, SandboxPolicy::DangerFullAccess);
    let reason = if ctx.session.command_approved(&args.command) {
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
            None => unconfined |= escalate,
        }
    }

    if !unconfined {
        // The sandbox arrives with its own issue; until then a confined run is refused rather
        // than silently run without confinement, and escalation is offered where allowed.
        let denial = "sandbox denied: confinement is not available in this build, so the \
                      command was not run";
        let may_escalate = !matches!(ctx.settings.approval_policy, AskForApproval::Never);
        if !may_escalate {
            item.status = ItemStatus::Failed;
            item.aggregated_output = Some(denial.to_owned());
            ctx.emitter
                .item_completed(&ThreadItem::CommandExecution(item), position)
                .await?;
            return Ok(ToolOutcome::Output(denial.to_owned()));
        }
        let reason = format!("{denial}; run it without the sandbox?");
        if let Some(outcome) = request(ctx, &item, &args.command, Some(reason)).await? {
            return finish_declined(ctx, item, position, outcome).await;
        }
    }
    run(ctx, item, position, &args, cwd).await
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

async fn run(
    ctx: &mut ToolCtx<'_>,
    mut item: CommandExecutionItem,
    position: i64,
    args: &ShellArgs,
    cwd: PathBuf,
) -> Result<ToolOutcome, ThreadError> {
    let timeout = args
        .timeout_ms
        .map(std::time::Duration::from_millis)
        .unwrap_or(ctx.shell.default_timeout);
    let request = ExecRequest {
        argv: args.command.clone(),
        cwd,
        env: command_env(),
        timeout,
        client_output_cap: ctx.shell.client_output_cap,
        model_output_cap: ctx.shell.model_output_cap,
        wrapper: Vec::new(),
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
    let result = loop {
        tokio::select! {
            r = &mut run => break r,
            Some(chunk) = rx.recv() => {
                let delta = String::from_utf8_lossy(&chunk).into_owned();
                ctx.emitter.event(
                    "item/commandExecution/outputDelta",
                    json!({"threadId": thread_id, "turnId": turn_id, "itemId": item_id, "delta": delta}),
                    Vec::new(),
                ).await?;
            }
        }
    };
    while let Ok(chunk) = rx.try_recv() {
        let delta = String::from_utf8_lossy(&chunk).into_owned();
        ctx.emitter
            .event(
                "item/commandExecution/outputDelta",
                json!({"threadId": thread_id, "turnId": turn_id, "itemId": item_id, "delta": delta}),
                Vec::new(),
            )
            .await?;
    }
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
            ToolOutcome::Output(exec::format_for_model(&out))
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
