//! Lifecycle hooks: commands the user configures to run at fixed points of a session, with
//! Claude Code's contract (docs/hooks.md; decision 006 for the first version).
//!
//! - **Where they come from** (`set.rs`): config.toml's `[[hooks.EVENT]]`, and Claude Code's
//!   settings files of the user (opt-in) and of a trusted project.
//! - **stdin**: one JSON object — `session_id` (the thread), `transcript_path` (null), `cwd`,
//!   `hook_event_name`, `permission_mode`, then the event's fields with Claude Code's names
//!   (`tool_name`, `tool_input`, `tool_use_id`, `tool_response`, `prompt`, `source`, …) and
//!   agentd's (`threadId`, `turnId`). Hooks from settings files see Claude Code's tool names
//!   and inputs (`claude.rs`).
//! - **exit 0**: carry on, reading stdout's JSON control object if it is one (`output.rs`);
//!   **exit 2**: block, stderr the reason, where the event can be blocked; **anything else**
//!   (another code, the timeout, invalid JSON): the hook failed — reported, logged, and the
//!   turn carries on as if it were not configured.
//!
//! Hooks of one event run one after another in order; the first that blocks, denies or stops
//! ends the round. Every run is a `hook/started` + `hook/completed` of the thread.

mod claude;
mod matcher;
mod output;
mod report;
mod run;
mod set;

use std::path::Path;
use std::time::Instant;

use agentd_protocol::{
    HookCompletedNotification, HookEventName, HookExecutionMode, HookHandlerType, HookInfo,
    HookOutputEntry, HookOutputEntryKind, HookRunStatus, HookRunSummary, HookScope,
    HookStartedNotification,
};
use serde_json::{json, Map, Value};
use tokio_util::sync::CancellationToken;

use crate::clock::unix_now;
use crate::config::HookEvent;
use crate::port::ThreadError;
use output::{HookJson, Stdout};
use run::Exit;

pub use claude::ToolView;
pub use report::HookReporter;
pub use set::{Hook, HookSet, Style};

/// Context a hook added to the model's input, with the run that added it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookContext {
    pub run_id: String,
    pub text: String,
}

/// A PreToolUse hook's say on asking a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Permission {
    /// Skip the approval (the sandbox still applies).
    Allow,
    /// Ask even where the policy would not.
    Ask(String),
}

/// A PermissionRequest hook's answer to the question about to be asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestAnswer {
    Allow,
    Deny { message: String, interrupt: bool },
}

/// What the hooks of one event decided, together.
#[derive(Debug, Default)]
pub struct Fired {
    /// Exit 2, `decision: "block"`, or a PreToolUse `deny`: the reason.
    pub block: Option<String>,
    /// `continue: false`: the turn ends, with this reason.
    pub stop: Option<String>,
    pub context: Vec<HookContext>,
    pub permission: Option<Permission>,
    /// PreToolUse `updatedInput`, as the tool's own arguments.
    pub updated_arguments: Option<String>,
    pub request: Option<RequestAnswer>,
    /// PostToolUse `updatedToolOutput`.
    pub updated_output: Option<String>,
}

/// A tool call as the tool events describe it.
#[derive(Clone, Copy)]
pub struct ToolTarget<'a> {
    pub name: &'a str,
    pub call_id: &'a str,
    pub arguments: &'a str,
    /// What the call printed (PostToolUse).
    pub output: Option<&'a str>,
}

/// Where hooks run and report.
pub struct HookSite<'a> {
    pub set: &'a HookSet,
    pub reporter: &'a dyn HookReporter,
    pub cwd: &'a Path,
    pub cancel: &'a CancellationToken,
    /// Claude Code's `permission_mode` for the thread's approval policy.
    pub permission_mode: &'static str,
}

/// What a hook sees as agentd's tool input: the arguments as JSON when they are JSON (the
/// function tools), else the raw text (`apply_patch`'s patch).
pub fn tool_input(arguments: &str) -> Value {
    serde_json::from_str(arguments).unwrap_or_else(|_| Value::String(arguments.to_owned()))
}

impl HookSite<'_> {
    pub async fn pre_tool_use(&self, t: ToolTarget<'_>) -> Result<Fired, ThreadError> {
        self.fire(HookEvent::PreToolUse, Some(t), Map::new()).await
    }

    pub async fn permission_request(&self, t: ToolTarget<'_>) -> Result<Fired, ThreadError> {
        self.fire(HookEvent::PermissionRequest, Some(t), Map::new())
            .await
    }

    pub async fn post_tool_use(&self, t: ToolTarget<'_>) -> Result<Fired, ThreadError> {
        self.fire(HookEvent::PostToolUse, Some(t), Map::new()).await
    }

    pub async fn post_tool_use_failure(
        &self,
        t: ToolTarget<'_>,
        error: &str,
    ) -> Result<Fired, ThreadError> {
        self.fire(
            HookEvent::PostToolUseFailure,
            Some(t),
            fields(json!({"error": error, "is_interrupt": false})),
        )
        .await
    }

    pub async fn user_prompt_submit(&self, prompt: &str) -> Result<Fired, ThreadError> {
        self.fire(
            HookEvent::UserPromptSubmit,
            None,
            fields(json!({"prompt": prompt})),
        )
        .await
    }

    /// `active`: a Stop hook already sent the agent on in this turn.
    pub async fn stop(&self, last: Option<&str>, active: bool) -> Result<Fired, ThreadError> {
        let details = json!({
            "stop_hook_active": active,
            "last_assistant_message": last,
            "lastAgentMessage": last,
            "stopHookActive": active,
        });
        self.fire(HookEvent::Stop, None, fields(details)).await
    }

    /// `source`: `startup`, `resume` or `fork`.
    pub async fn session_start(&self, source: &str, model: &str) -> Result<Fired, ThreadError> {
        let details = json!({"source": source, "model": model});
        self.fire(HookEvent::SessionStart, None, fields(details))
            .await
    }

    /// `reason`: `archived`, `shutdown`, …
    pub async fn session_end(&self, reason: &str) -> Result<Fired, ThreadError> {
        self.fire(
            HookEvent::SessionEnd,
            None,
            fields(json!({"reason": reason})),
        )
        .await
    }

    /// `kind`: Claude Code's `notification_type` (`permission_prompt`, `idle_prompt`).
    pub async fn notification(&self, kind: &str, message: &str) -> Result<Fired, ThreadError> {
        let details = json!({"notification_type": kind, "message": message, "title": "agentd"});
        self.fire(HookEvent::Notification, None, fields(details))
            .await
    }

    pub async fn subagent_start(
        &self,
        agent_id: &str,
        agent_type: &str,
    ) -> Result<Fired, ThreadError> {
        let details = json!({"agent_id": agent_id, "agent_type": agent_type});
        self.fire(HookEvent::SubagentStart, None, fields(details))
            .await
    }

    pub async fn subagent_stop(
        &self,
        agent_id: &str,
        agent_type: &str,
        last: Option<&str>,
    ) -> Result<Fired, ThreadError> {
        let details = json!({"agent_id": agent_id, "agent_type": agent_type,
            "last_assistant_message": last, "stop_hook_active": false});
        self.fire(HookEvent::SubagentStop, None, fields(details))
            .await
    }

    /// `trigger`: `manual` or `auto`.
    pub async fn pre_compact(&self, trigger: &str) -> Result<Fired, ThreadError> {
        let details = json!({"trigger": trigger, "custom_instructions": ""});
        self.fire(HookEvent::PreCompact, None, fields(details))
            .await
    }

    pub async fn post_compact(&self, trigger: &str, summary: &str) -> Result<Fired, ThreadError> {
        let details = json!({"trigger": trigger, "compact_summary": summary});
        self.fire(HookEvent::PostCompact, None, fields(details))
            .await
    }

    /// `request`: the request's number in the turn (1 first).
    pub async fn pre_model_request(
        &self,
        model: &str,
        request: usize,
    ) -> Result<Fired, ThreadError> {
        let details = json!({"model": model, "request": request});
        self.fire(HookEvent::PreModelRequest, None, fields(details))
            .await
    }

    /// Runs the event's hooks that select the call (if any), in order, until one blocks,
    /// denies or stops.
    async fn fire(
        &self,
        event: HookEvent,
        tool: Option<ToolTarget<'_>>,
        details: Map<String, Value>,
    ) -> Result<Fired, ThreadError> {
        let mut fired = Fired::default();
        for (index, hook) in self.set.of(event).enumerate() {
            for (payload, view) in self.payloads(event, hook, tool, &details) {
                if self.cancel.is_cancelled() {
                    return Ok(fired);
                }
                let mut input = Value::Object(payload).to_string().into_bytes();
                input.push(b'\n');
                let outcome = self
                    .run_one(event, index, hook, &input, tool.zip(view.as_ref()))
                    .await?;
                fired.take(outcome);
                if fired.block.is_some() || fired.stop.is_some() {
                    return Ok(fired);
                }
            }
        }
        Ok(fired)
    }

    /// One stdin object per run: a Claude-style hook on a patch runs once per file it selects.
    fn payloads(
        &self,
        event: HookEvent,
        hook: &Hook,
        tool: Option<ToolTarget<'_>>,
        details: &Map<String, Value>,
    ) -> Vec<(Map<String, Value>, Option<ToolView>)> {
        let mut base = Map::new();
        let thread = self.reporter.thread_id();
        base.insert("session_id".into(), thread.into());
        base.insert("transcript_path".into(), Value::Null);
        base.insert("cwd".into(), self.cwd.display().to_string().into());
        base.insert("hook_event_name".into(), event.name().into());
        base.insert("permission_mode".into(), self.permission_mode.into());
        base.insert("event".into(), event.name().into());
        base.insert("threadId".into(), thread.into());
        base.insert("turnId".into(), self.reporter.turn_id().into());
        base.extend(details.clone());
        let Some(t) = tool else {
            return vec![(base, None)];
        };
        match hook.style {
            Style::Agentd if hook.matcher.selects(t.name) => {
                let input = tool_input(t.arguments);
                base.insert("tool_name".into(), t.name.into());
                base.insert("tool_input".into(), input.clone());
                base.insert("tool_use_id".into(), t.call_id.into());
                base.insert("tool".into(), json!({"name": t.name, "input": input}));
                if let Some(output) = t.output {
                    base.insert("tool_response".into(), output.into());
                    base.insert("output".into(), output.into());
                }
                vec![(base, None)]
            }
            Style::Agentd => Vec::new(),
            Style::Claude => claude::views(t.name, t.arguments, self.cwd)
                .into_iter()
                .filter(|v| hook.matcher.selects(&v.name))
                .map(|view| {
                    let mut p = base.clone();
                    p.insert("tool_name".into(), view.name.clone().into());
                    p.insert("tool_input".into(), view.input.clone());
                    p.insert("tool_use_id".into(), t.call_id.into());
                    if let Some(output) = t.output {
                        p.insert("tool_response".into(), claude::response(&view, output));
                    }
                    (p, Some(view))
                })
                .collect(),
        }
    }

    /// Runs one hook, reports it, and says what it decided.
    async fn run_one(
        &self,
        event: HookEvent,
        index: usize,
        hook: &Hook,
        input: &[u8],
        claude_view: Option<(ToolTarget<'_>, &ToolView)>,
    ) -> Result<RunOutcome, ThreadError> {
        let command = display_command(&hook.command);
        let mut run = HookRunSummary {
            id: uuid::Uuid::now_v7().to_string(),
            event_name: wire(event),
            handler_type: HookHandlerType::Command,
            execution_mode: HookExecutionMode::Sync,
            scope: if self.reporter.turn_id().is_some() {
                HookScope::Turn
            } else {
                HookScope::Thread
            },
            source: hook.source,
            source_path: hook.source_path.clone(),
            display_order: index as i64,
            status: HookRunStatus::Running,
            status_message: None,
            started_at: unix_now(),
            completed_at: None,
            duration_ms: None,
            entries: Vec::new(),
        };
        let info = HookInfo {
            event: wire(event),
            command,
        };
        self.reporter
            .started(&HookStartedNotification {
                thread_id: self.reporter.thread_id().to_owned(),
                turn_id: self.reporter.turn_id().map(str::to_owned),
                run: run.clone(),
                hook: info.clone(),
                seq: 0,
            })
            .await?;
        let clock = Instant::now();
        let exit = run::execute(hook, self.cwd, input, self.cancel).await;
        let mut outcome = interpret(event, exit, &run.id);
        if let Some(updated) = outcome.updated_input.take() {
            let arguments = match claude_view {
                Some((t, view)) => claude::arguments_from(t.name, view, &updated),
                None => Ok(match updated {
                    Value::String(text) => text,
                    other => other.to_string(),
                }),
            };
            match arguments {
                Ok(a) => outcome.updated_arguments = Some(a),
                Err(why) => outcome.fail(why),
            }
        }
        if let HookRunStatus::Failed = outcome.status {
            tracing::warn!(thread = %self.reporter.thread_id(), event = event.name(),
                command = %info.command, reason = ?outcome.message, "hook failed; carrying on");
        }
        run.status = outcome.status;
        run.status_message = outcome.message.clone();
        run.completed_at = Some(unix_now());
        run.duration_ms = Some(clock.elapsed().as_millis() as i64);
        run.entries = outcome.entries.clone();
        self.reporter
            .completed(&HookCompletedNotification {
                thread_id: self.reporter.thread_id().to_owned(),
                turn_id: self.reporter.turn_id().map(str::to_owned),
                run,
                hook: info,
                outcome: outcome.status,
                reason: outcome.message.clone(),
                seq: 0,
            })
            .await?;
        Ok(outcome)
    }
}

fn fields(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// How a hook's own decision on permission reads (merged: deny > ask > allow).
#[derive(Debug, Clone, PartialEq, Eq)]
enum PermissionWord {
    Allow,
    Ask(String),
    Deny(String),
}

/// One run's decision, before it is merged with the others of its event.
#[derive(Debug, Clone)]
struct RunOutcome {
    status: HookRunStatus,
    message: Option<String>,
    entries: Vec<HookOutputEntry>,
    block: Option<String>,
    stop: Option<String>,
    context: Option<HookContext>,
    permission: Option<PermissionWord>,
    updated_input: Option<Value>,
    updated_arguments: Option<String>,
    request: Option<RequestAnswer>,
    updated_output: Option<String>,
}

impl RunOutcome {
    fn new(status: HookRunStatus) -> Self {
        RunOutcome {
            status,
            message: None,
            entries: Vec::new(),
            block: None,
            stop: None,
            context: None,
            permission: None,
            updated_input: None,
            updated_arguments: None,
            request: None,
            updated_output: None,
        }
    }

    fn entry(&mut self, kind: HookOutputEntryKind, text: &str) {
        self.entries.push(HookOutputEntry {
            kind,
            text: text.to_owned(),
        });
    }

    /// The hook failed after all: nothing it said counts.
    fn fail(&mut self, why: String) {
        *self = RunOutcome::new(HookRunStatus::Failed);
        self.entry(HookOutputEntryKind::Error, &why);
        self.message = Some(why);
    }
}

/// Whether exit 2 blocks at this event (elsewhere it is shown, and the action goes on).
fn exit_2_blocks(event: HookEvent) -> bool {
    matches!(
        event,
        HookEvent::PreToolUse
            | HookEvent::UserPromptSubmit
            | HookEvent::PostToolUse
            | HookEvent::PostToolUseFailure
            | HookEvent::Stop
            | HookEvent::SubagentStop
            | HookEvent::PreCompact
    )
}

/// Whether a hook's plain stdout is context for the model at this event.
fn text_is_context(event: HookEvent) -> bool {
    matches!(event, HookEvent::UserPromptSubmit | HookEvent::SessionStart)
}

fn interpret(event: HookEvent, exit: Exit, run_id: &str) -> RunOutcome {
    match exit {
        Exit::Failed(why) => {
            let mut o = RunOutcome::new(HookRunStatus::Failed);
            o.fail(why);
            o
        }
        Exit::Block(reason) if exit_2_blocks(event) => {
            let mut o = RunOutcome::new(HookRunStatus::Blocked);
            o.entry(HookOutputEntryKind::Feedback, &reason);
            o.message = Some(reason.clone());
            o.block = Some(reason);
            o
        }
        Exit::Block(reason) => {
            let mut o = RunOutcome::new(HookRunStatus::Completed);
            o.entry(HookOutputEntryKind::Warning, &reason);
            o
        }
        Exit::Ok(stdout) => match output::parse(&stdout) {
            Err(why) => {
                let mut o = RunOutcome::new(HookRunStatus::Failed);
                o.fail(why);
                o
            }
            Ok(Stdout::Text(text)) => {
                let mut o = RunOutcome::new(HookRunStatus::Completed);
                if text_is_context(event) && !text.is_empty() {
                    o.entry(HookOutputEntryKind::Context, &text);
                    o.context = Some(HookContext {
                        run_id: run_id.to_owned(),
                        text,
                    });
                }
                o
            }
            Ok(Stdout::Json(json)) => from_json(event, *json, run_id),
        },
    }
}

fn from_json(event: HookEvent, json: HookJson, run_id: &str) -> RunOutcome {
    let mut o = RunOutcome::new(HookRunStatus::Completed);
    if let Some(message) = &json.system_message {
        o.entry(HookOutputEntryKind::Warning, &output::cap(message));
    }
    let reason = json.reason.as_deref().map(output::cap);
    match json.decision.as_deref() {
        Some("block") if event == HookEvent::PreToolUse => {
            o.permission = Some(PermissionWord::Deny(
                reason.clone().unwrap_or_else(|| "denied by a hook".into()),
            ))
        }
        Some("approve") if event == HookEvent::PreToolUse => {
            o.permission = Some(PermissionWord::Allow)
        }
        Some("block") => {
            o.block = Some(reason.clone().unwrap_or_else(|| "blocked by a hook".into()))
        }
        _ => {}
    }
    if let Some(specific) = json.hook_specific_output {
        if let Some(context) = specific.additional_context.filter(|c| !c.trim().is_empty()) {
            let text = output::cap(&context);
            o.entry(HookOutputEntryKind::Context, &text);
            o.context = Some(HookContext {
                run_id: run_id.to_owned(),
                text,
            });
        }
        if event == HookEvent::PreToolUse {
            let why = specific
                .permission_decision_reason
                .as_deref()
                .map(output::cap);
            match specific.permission_decision.as_deref() {
                Some("deny") => {
                    o.permission = Some(PermissionWord::Deny(
                        why.unwrap_or_else(|| "denied by a PreToolUse hook".into()),
                    ))
                }
                Some("ask") => o.permission = Some(PermissionWord::Ask(why.unwrap_or_default())),
                Some("allow") => o.permission = Some(PermissionWord::Allow),
                _ => {}
            }
            o.updated_input = specific.updated_input;
        }
        if let (HookEvent::PermissionRequest, Some(d)) = (event, specific.decision) {
            o.request = match d.behavior.as_str() {
                "allow" => Some(RequestAnswer::Allow),
                "deny" => Some(RequestAnswer::Deny {
                    message: d
                        .message
                        .map(|m| output::cap(&m))
                        .unwrap_or_else(|| "denied by a PermissionRequest hook".into()),
                    interrupt: d.interrupt.unwrap_or(false),
                }),
                _ => None,
            };
        }
        if event == HookEvent::PostToolUse {
            o.updated_output = specific.updated_tool_output.map(|v| match v {
                Value::String(s) => s,
                other => other.to_string(),
            });
        }
    }
    if let Some(PermissionWord::Deny(why)) = &o.permission {
        o.status = HookRunStatus::Blocked;
        o.message = Some(why.clone());
        o.entry(HookOutputEntryKind::Feedback, &why.clone());
    } else if let Some(why) = &o.block {
        o.status = HookRunStatus::Blocked;
        o.message = Some(why.clone());
        o.entry(HookOutputEntryKind::Feedback, &why.clone());
    }
    if json.keep_going == Some(false) {
        let why = json
            .stop_reason
            .as_deref()
            .map(output::cap)
            .unwrap_or_else(|| "a hook stopped the turn".into());
        o.status = HookRunStatus::Stopped;
        o.entry(HookOutputEntryKind::Stop, &why);
        o.message = Some(why.clone());
        o.stop = Some(why);
    }
    o
}

impl Fired {
    fn take(&mut self, o: RunOutcome) {
        if let Some(c) = o.context {
            self.context.push(c);
        }
        match o.permission {
            Some(PermissionWord::Deny(why)) => self.block = Some(why),
            Some(PermissionWord::Ask(why)) => self.permission = Some(Permission::Ask(why)),
            Some(PermissionWord::Allow) if self.permission.is_none() => {
                self.permission = Some(Permission::Allow)
            }
            _ => {}
        }
        if o.block.is_some() {
            self.block = o.block;
        }
        if o.stop.is_some() {
            self.stop = o.stop;
        }
        if o.updated_arguments.is_some() {
            self.updated_arguments = o.updated_arguments;
        }
        if self.request.is_none() {
            self.request = o.request;
        }
        if o.updated_output.is_some() {
            self.updated_output = o.updated_output;
        }
    }

    /// The contexts, for a tool's output: appended after it.
    pub fn context_text(&self) -> Option<String> {
        (!self.context.is_empty()).then(|| {
            self.context
                .iter()
                .map(|c| c.text.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
    }
}

fn wire(event: HookEvent) -> HookEventName {
    match event {
        HookEvent::SessionStart => HookEventName::SessionStart,
        HookEvent::SessionEnd => HookEventName::SessionEnd,
        HookEvent::UserPromptSubmit => HookEventName::UserPromptSubmit,
        HookEvent::PreModelRequest => HookEventName::PreModelRequest,
        HookEvent::PreToolUse => HookEventName::PreToolUse,
        HookEvent::PermissionRequest => HookEventName::PermissionRequest,
        HookEvent::PostToolUse => HookEventName::PostToolUse,
        HookEvent::PostToolUseFailure => HookEventName::PostToolUseFailure,
        HookEvent::Notification => HookEventName::Notification,
        HookEvent::SubagentStart => HookEventName::SubagentStart,
        HookEvent::SubagentStop => HookEventName::SubagentStop,
        HookEvent::PreCompact => HookEventName::PreCompact,
        HookEvent::PostCompact => HookEventName::PostCompact,
        HookEvent::Stop => HookEventName::Stop,
    }
}

/// The event as `hooks/list` reports it.
pub fn wire_event(event: HookEvent) -> HookEventName {
    wire(event)
}

fn display_command(argv: &[String]) -> String {
    shlex::try_join(argv.iter().map(String::as_str)).unwrap_or_else(|_| argv.join(" "))
}

/// Claude Code's `permission_mode` for an approval policy.
pub fn permission_mode(policy: agentd_protocol::AskForApproval) -> &'static str {
    match policy {
        agentd_protocol::AskForApproval::Never => "bypassPermissions",
        _ => "default",
    }
}
