//! Every tool call passes through here, whatever the tool:
//!
//! PreToolUse hooks → policy (exec policy for commands, the tool's declared risk otherwise) →
//! approval when required → sandbox choice → attempt → escalation on a sandbox denial →
//! PostToolUse hooks → result for the model.
//!
//! The tools themselves (`shell.rs`, `patch.rs`, `plan.rs`, and MCP tools registered at run
//! time) only do their own job; see `handler.rs` for what they are asked.

use std::path::{Path, PathBuf};
use std::time::Duration;

use agentd_protocol::{ApprovalDecision, ThreadItem};
use tokio_util::sync::CancellationToken;

use super::execpolicy::ExecPolicy;
use super::handler::{
    Attempt, Completion, Confinement, Denial, PreparedCall, Refusal, ToolOutcome,
};
use super::hooks::{self, HookSet, HookSite, Permission, RequestAnswer, ToolTarget};
use super::policy::{self, Verdict};
use super::registry::ToolRegistry;
use super::session::SessionApprovals;
use crate::config::HookEvent;
use crate::port::{
    ask, ApprovalOutcome, ApprovalRequest, ThreadError, ThreadSettings, TurnEmitter,
};

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
    /// Lifecycle hooks run around each call (config.toml's and trusted settings files').
    pub hooks: &'a HookSet,
    /// How long an approval waits before a Notification hook is told nobody answered.
    pub notify_after: Duration,
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

    pub fn hook_site(&self) -> HookSite<'_> {
        HookSite {
            set: self.hooks,
            reporter: &*self.emitter,
            cwd: &self.cwd,
            cancel: self.cancel,
            permission_mode: hooks::permission_mode(self.settings.approval_policy),
        }
    }
}

/// Runs one call by name. Unknown tools and bad arguments are answered with an error the model
/// can act on, never a failed turn.
pub async fn handle_call(
    ctx: &mut ToolCtx<'_>,
    registry: &ToolRegistry,
    name: &str,
    call_id: &str,
    arguments: &str,
) -> Result<ToolOutcome, ThreadError> {
    let target = ToolTarget {
        name,
        call_id,
        arguments,
        output: None,
    };
    let pre = ctx.hook_site().pre_tool_use(target).await?;
    if let Some(reason) = pre.stop {
        return Ok(ToolOutcome::Stop(reason));
    }
    if let Some(reason) = pre.block {
        return Ok(ToolOutcome::Output(format!("blocked by hook: {reason}")));
    }
    // An interrupt that arrived while a hook ran stops the call before it has any effect.
    if ctx.cancel.is_cancelled() {
        return Ok(ToolOutcome::Interrupt);
    }
    // A hook's `updatedInput` is the call's input from here on: parsed, checked and judged by
    // the policy like the model's own.
    let arguments = pre.updated_arguments.as_deref().unwrap_or(arguments);
    let target = ToolTarget {
        arguments,
        ..target
    };
    let Some(handler) = registry.get(name) else {
        return Ok(ToolOutcome::Output(format!(
            "error: no tool named `{name}`; available: {}",
            registry.names().join(", ")
        )));
    };
    let prepared = match handler.prepare(ctx, arguments) {
        Ok(p) => p,
        Err(message) => return Ok(ToolOutcome::Output(message)),
    };
    let (outcome, failure) = run_prepared(ctx, prepared, pre.permission.clone(), target).await?;
    let (output, images) = match outcome {
        ToolOutcome::Output(text) => (text, Vec::new()),
        ToolOutcome::Rich { text, images } => (text, images),
        other => return Ok(other),
    };
    let done = ToolTarget {
        output: Some(&output),
        ..target
    };
    let post = match &failure {
        Some(error) => ctx.hook_site().post_tool_use_failure(done, error).await?,
        None => ctx.hook_site().post_tool_use(done).await?,
    };
    if let Some(reason) = post.stop {
        return Ok(ToolOutcome::Stop(reason));
    }
    let mut text = post.updated_output.clone().unwrap_or(output);
    if let Some(reason) = &post.block {
        text = format!("{text}\n\nPostToolUse hook: {reason}");
    }
    for context in [pre.context_text(), post.context_text()]
        .into_iter()
        .flatten()
    {
        text = format!("{text}\n\nContext from a hook: {context}");
    }
    Ok(if images.is_empty() {
        ToolOutcome::Output(text)
    } else {
        ToolOutcome::Rich { text, images }
    })
}

/// The stages between the hooks, for one parsed call; also says, when the call ran and failed,
/// how (for PostToolUseFailure).
async fn run_prepared(
    ctx: &mut ToolCtx<'_>,
    mut call: Box<dyn PreparedCall>,
    hook: Option<Permission>,
    target: ToolTarget<'_>,
) -> Result<(ToolOutcome, Option<String>), ThreadError> {
    let remembered = call.approval_key().is_some_and(|k| ctx.session.covers(&k));
    // A hook's `allow` skips the question (as a remembered yes does); never the sandbox.
    let mut approved = remembered || hook == Some(Permission::Allow);
    let verdict = match (
        policy::verdict(ctx.settings.approval_policy, &call.risk(ctx)),
        &hook,
    ) {
        (Verdict::Run, Some(Permission::Ask(why))) if !remembered => {
            Verdict::Ask(if why.is_empty() {
                "a PreToolUse hook asks for approval".into()
            } else {
                why.clone()
            })
        }
        (v, _) => v,
    };
    let item = call.item();
    let refusal = match &verdict {
        Verdict::Forbid(reason) => Some(reason.clone()),
        Verdict::Refuse(reason) if !approved => Some(reason.clone()),
        _ => None,
    };
    if let Some(reason) = refusal {
        let done = call.refused(Refusal::Policy(reason));
        return Ok((refused_before_start(ctx, item, done).await?, None));
    }
    let mut started = Started::begin(ctx, item).await?;
    if let (Verdict::Ask(reason), false) = (&verdict, approved) {
        match question(ctx, &*call, &started, reason.clone(), target).await? {
            Answer::Yes => approved = true,
            Answer::No(refusal) => {
                let done = call.refused(refusal);
                return started.finish(ctx, &mut *call, done).await;
            }
        }
    }
    let confinement = match choose_confinement(ctx, &*call, approved).await {
        Ok(c) => c,
        Err(denial) => {
            return escalate(ctx, call, started, denial, approved, target).await;
        }
    };
    match call.attempt(ctx, confinement).await? {
        Attempt::Done(done) => started.finish(ctx, &mut *call, done).await,
        Attempt::Denied(denial) => escalate(ctx, call, started, denial, approved, target).await,
    }
}

/// The sandbox stage: confined unless the tool runs in-process, the policy grants full access,
/// or a person approved running outside. `Err` when confinement is needed but impossible here.
async fn choose_confinement(
    ctx: &ToolCtx<'_>,
    call: &dyn PreparedCall,
    approved: bool,
) -> Result<Confinement, Denial> {
    if !call.confinable() || (call.wants_unconfined() && approved) {
        return Ok(Confinement::Unconfined);
    }
    match ctx.sandbox.plan(&ctx.settings.sandbox, &ctx.cwd).await {
        Ok(None) => Ok(Confinement::Unconfined),
        Ok(Some(plan)) => Ok(Confinement::Confined(plan)),
        // Never run silently unconfined: refuse, and offer escalation where a person can be
        // asked.
        Err(unavailable) => {
            let note = format!(
                "sandbox denied: confinement is not available on this machine ({unavailable}), \
                 so the command was not run"
            );
            Err(Denial {
                summary: note.clone(),
                note,
                partial: None,
            })
        }
    }
}

/// The sandbox stopped the call. A person's yes to the call — now, or earlier with
/// `acceptForSession` — also covers running it outside the sandbox (as Codex does): nobody is
/// asked twice about one call. Otherwise a person is asked, when one can be.
async fn escalate(
    ctx: &mut ToolCtx<'_>,
    mut call: Box<dyn PreparedCall>,
    mut started: Started,
    denial: Denial,
    approved: bool,
    target: ToolTarget<'_>,
) -> Result<(ToolOutcome, Option<String>), ThreadError> {
    if !approved {
        if !policy::may_ask_to_escalate(ctx.settings.approval_policy) {
            let done = call.denied(denial, None);
            return started.finish(ctx, &mut *call, done).await;
        }
        let reason = format!("{}; run it without the sandbox?", denial.summary);
        if let Answer::No(refusal) = question(ctx, &*call, &started, reason, target).await? {
            let done = match refusal {
                Refusal::Person { decision, .. } if denial.partial.is_some() => {
                    call.denied(denial, Some(decision))
                }
                other => call.refused(other),
            };
            return started.finish(ctx, &mut *call, done).await;
        }
    }
    let done = match call.attempt(ctx, Confinement::Unconfined).await? {
        Attempt::Done(done) => done,
        // Unconfined runs are never denied by a sandbox; report it as it is if one claims so.
        Attempt::Denied(d) => call.denied(d, None),
    };
    started.finish(ctx, &mut *call, done).await
}

enum Answer {
    Yes,
    No(Refusal),
}

/// Asks about the call: PermissionRequest hooks may answer first; otherwise the people watching
/// the thread are asked (a Notification hook hears when nobody answers for a while).
/// Remembers `acceptForSession`.
async fn question(
    ctx: &mut ToolCtx<'_>,
    call: &dyn PreparedCall,
    started: &Started,
    reason: String,
    target: ToolTarget<'_>,
) -> Result<Answer, ThreadError> {
    match ctx.hook_site().permission_request(target).await?.request {
        Some(RequestAnswer::Allow) => return Ok(Answer::Yes),
        Some(RequestAnswer::Deny { message, interrupt }) => {
            return Ok(Answer::No(if interrupt {
                Refusal::Person {
                    decision: ApprovalDecision::Cancel,
                    by: "a PermissionRequest hook".into(),
                }
            } else {
                Refusal::Policy(format!("denied by a PermissionRequest hook: {message}"))
            }))
        }
        None => {}
    }
    let Some(request) = call.approval_request(ctx, started.item_id(), reason) else {
        return Ok(Answer::No(Refusal::Policy(
            "this tool cannot be approved, and the approval policy asks".into(),
        )));
    };
    let outcome = ask_and_notify(ctx, request, target.name).await?;
    Ok(match outcome.decision {
        ApprovalDecision::Accept => Answer::Yes,
        ApprovalDecision::AcceptForSession => {
            if let Some(key) = call.approval_key() {
                ctx.session.remember(key);
            }
            Answer::Yes
        }
        decision => Answer::No(Refusal::Person {
            decision,
            by: outcome.decided_by,
        }),
    })
}

/// Waits for the answer; if none comes within `notify_after`, Notification hooks are run (once)
/// while the question stays open.
async fn ask_and_notify(
    ctx: &ToolCtx<'_>,
    request: ApprovalRequest,
    tool: &str,
) -> Result<ApprovalOutcome, ThreadError> {
    let asking = ask(
        ctx.emitter.link(),
        request,
        ctx.approval_timeout,
        ctx.cancel,
    );
    tokio::pin!(asking);
    if !ctx.hooks.has(HookEvent::Notification) {
        return asking.await;
    }
    tokio::select! {
        outcome = &mut asking => return outcome,
        _ = tokio::time::sleep(ctx.notify_after) => {}
    }
    let message = format!("agentd needs your permission to use {tool}");
    ctx.hook_site()
        .notification("permission_prompt", &message)
        .await?;
    asking.await
}

/// The call's item, started: its position in the turn is reserved when it starts.
struct Started {
    item: Option<(ThreadItem, i64)>,
}

impl Started {
    async fn begin(ctx: &mut ToolCtx<'_>, item: Option<ThreadItem>) -> Result<Self, ThreadError> {
        let item = match item {
            Some(item) => {
                let position = ctx.emitter.next_position();
                ctx.emitter.item_started(&item).await?;
                Some((item, position))
            }
            None => None,
        };
        Ok(Started { item })
    }

    fn item_id(&self) -> &str {
        self.item.as_ref().map_or("", |(i, _)| i.id())
    }

    /// Completes the item with the call's final state, then lets the call follow up. Says how
    /// the call failed, if its item says it did.
    async fn finish(
        &mut self,
        ctx: &mut ToolCtx<'_>,
        call: &mut dyn PreparedCall,
        done: Completion,
    ) -> Result<(ToolOutcome, Option<String>), ThreadError> {
        let failure = done.item.as_ref().and_then(failure_of);
        if let (Some((_, position)), Some(item)) = (self.item.take(), &done.item) {
            ctx.emitter.item_completed(item, position).await?;
        }
        call.after(ctx).await?;
        Ok((done.outcome, failure))
    }
}

/// A call refused before it started: its item (if the refusal shows one) appears and completes
/// at once.
async fn refused_before_start(
    ctx: &mut ToolCtx<'_>,
    started_item: Option<ThreadItem>,
    done: Completion,
) -> Result<ToolOutcome, ThreadError> {
    if let (Some(started), Some(item)) = (started_item, &done.item) {
        let position = ctx.emitter.next_position();
        ctx.emitter.item_started(&started).await?;
        ctx.emitter.item_completed(item, position).await?;
    }
    Ok(done.outcome)
}

/// How a call that ran failed, from its item (a command's exit code, an MCP error, a patch that
/// did not apply); `None` when it succeeded or was refused.
fn failure_of(item: &ThreadItem) -> Option<String> {
    use agentd_protocol::{ItemStatus, McpToolCallStatus};
    match item {
        ThreadItem::CommandExecution(c) if c.status == ItemStatus::Failed => Some(format!(
            "Exit code {}",
            c.exit_code
                .map_or("unknown".to_owned(), |code| code.to_string())
        )),
        ThreadItem::FileChange(f) if f.status == ItemStatus::Failed => {
            Some("the patch was not applied".into())
        }
        ThreadItem::McpToolCall(m) if m.status == McpToolCallStatus::Failed => Some(
            m.error
                .as_ref()
                .map_or_else(|| "the MCP tool failed".to_owned(), |e| e.message.clone()),
        ),
        _ => None,
    }
}
