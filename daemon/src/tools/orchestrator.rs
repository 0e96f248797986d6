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
use super::hooks::{self, HookSite, HookVerdict};
use super::policy::{self, Verdict};
use super::registry::ToolRegistry;
use super::session::SessionApprovals;
use crate::config::HooksConfig;
use crate::port::{ask, ThreadError, ThreadSettings, TurnEmitter};

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

    fn hook_site(&self) -> HookSite<'_> {
        HookSite {
            hooks: self.hooks,
            emitter: &*self.emitter,
            cwd: &self.cwd,
            cancel: self.cancel,
        }
    }
}

/// Runs one call by name. Unknown tools and bad arguments are answered with an error the model
/// can act on, never a failed turn.
pub async fn handle_call(
    ctx: &mut ToolCtx<'_>,
    registry: &ToolRegistry,
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
    let (output, images) = match run_prepared(ctx, prepared).await? {
        ToolOutcome::Output(text) => (text, Vec::new()),
        ToolOutcome::Rich { text, images } => (text, images),
        ToolOutcome::Interrupt => return Ok(ToolOutcome::Interrupt),
    };
    let text = match ctx.hook_site().post_tool_use(name, &input, &output).await? {
        HookVerdict::Continue => output,
        HookVerdict::Block(reason) => format!("{output}\n\nPostToolUse hook: {reason}"),
    };
    Ok(if images.is_empty() {
        ToolOutcome::Output(text)
    } else {
        ToolOutcome::Rich { text, images }
    })
}

/// The stages between the hooks, for one parsed call.
async fn run_prepared(
    ctx: &mut ToolCtx<'_>,
    mut call: Box<dyn PreparedCall>,
) -> Result<ToolOutcome, ThreadError> {
    let mut approved = call.approval_key().is_some_and(|k| ctx.session.covers(&k));
    let verdict = policy::verdict(ctx.settings.approval_policy, &call.risk(ctx));
    let item = call.item();
    let refusal = match &verdict {
        Verdict::Forbid(reason) => Some(reason.clone()),
        Verdict::Refuse(reason) if !approved => Some(reason.clone()),
        _ => None,
    };
    if let Some(reason) = refusal {
        let done = call.refused(Refusal::Policy(reason));
        return refused_before_start(ctx, item, done).await;
    }
    let mut started = Started::begin(ctx, item).await?;
    if let (Verdict::Ask(reason), false) = (&verdict, approved) {
        match question(ctx, &*call, &started, reason.clone()).await? {
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
            return escalate(ctx, call, started, denial, approved).await;
        }
    };
    match call.attempt(ctx, confinement).await? {
        Attempt::Done(done) => started.finish(ctx, &mut *call, done).await,
        Attempt::Denied(denial) => escalate(ctx, call, started, denial, approved).await,
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
) -> Result<ToolOutcome, ThreadError> {
    if !approved {
        if !policy::may_ask_to_escalate(ctx.settings.approval_policy) {
            let done = call.denied(denial, None);
            return started.finish(ctx, &mut *call, done).await;
        }
        let reason = format!("{}; run it without the sandbox?", denial.summary);
        if let Answer::No(refusal) = question(ctx, &*call, &started, reason).await? {
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

/// Asks the people watching the thread about the call; remembers `acceptForSession`.
async fn question(
    ctx: &mut ToolCtx<'_>,
    call: &dyn PreparedCall,
    started: &Started,
    reason: String,
) -> Result<Answer, ThreadError> {
    let Some(request) = call.approval_request(ctx, started.item_id(), reason) else {
        return Ok(Answer::No(Refusal::Policy(
            "this tool cannot be approved, and the approval policy asks".into(),
        )));
    };
    let outcome = ask(
        ctx.emitter.link(),
        request,
        ctx.approval_timeout,
        ctx.cancel,
    )
    .await?;
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

    /// Completes the item with the call's final state, then lets the call follow up.
    async fn finish(
        &mut self,
        ctx: &mut ToolCtx<'_>,
        call: &mut dyn PreparedCall,
        done: Completion,
    ) -> Result<ToolOutcome, ThreadError> {
        if let (Some((_, position)), Some(item)) = (self.item.take(), &done.item) {
            ctx.emitter.item_completed(item, position).await?;
        }
        call.after(ctx).await?;
        Ok(done.outcome)
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
