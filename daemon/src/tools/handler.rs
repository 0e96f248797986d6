//! What a tool is: a [`ToolHandler`] registered once under its name. The handler parses a call
//! into a [`PreparedCall`]; the orchestrator then takes that call through the same stages as
//! every other (hooks, policy, approval, sandbox choice, attempt, escalation) and asks it only
//! for what is its own: how risky it is, what its item looks like, how to run it, and what to
//! tell the model when it was refused.

use std::path::PathBuf;

use agentd_protocol::{ApprovalDecision, ThreadItem};
use async_trait::async_trait;

use super::exec::ExecOutput;
use super::execpolicy::Assessment;
use super::orchestrator::ToolCtx;
use crate::model::ToolSpec;
use crate::port::{ApprovalRequest, ThreadError};
use crate::sandbox::SandboxPlan;

/// A tool the model can call.
pub trait ToolHandler: Send + Sync {
    /// The tool as the model sees it (name, description, parameters).
    fn spec(&self) -> ToolSpec;

    /// Parses the model's input for one call. An `Err` is told to the model as the call's
    /// output; nothing else happens.
    fn prepare(&self, ctx: &ToolCtx<'_>, input: &str) -> Result<Box<dyn PreparedCall>, String>;
}

/// How much a call could change, which decides (with the thread's approval policy) whether a
/// person is asked first. See `policy.rs`.
#[derive(Debug, Clone)]
pub enum Risk {
    /// Changes nothing outside the thread (a plan).
    Inert,
    /// Reads only (an MCP tool annotated `readOnlyHint`).
    ReadOnly,
    /// May change anything (an MCP tool without that hint).
    Mutating,
    /// Writes files in-process; `writable` says whether the sandbox lets anything be written
    /// at all (a read-only sandbox does not).
    WritesFiles { writable: bool },
    /// Runs a command, judged by the exec policy.
    Command {
        assessment: Assessment,
        /// The model asked to run it outside the sandbox.
        escalate: bool,
        /// The model's reason for asking, added to the question.
        justification: Option<String>,
    },
}

/// What `acceptForSession` remembers, so the same call is not asked about again in the thread.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ApprovalKey {
    /// Exactly this command line: approving `rm -rf build` must not approve `rm -rf build /`.
    Command(Vec<String>),
    /// Writes to exactly these files.
    Files(Vec<PathBuf>),
    /// Any call of this tool (MCP tools).
    Tool(String),
}

/// Where a call runs.
pub enum Confinement {
    /// Inside the sandbox, as planned.
    Confined(SandboxPlan),
    /// Outside it: full access, an approved escalation, or a tool that runs in-process.
    Unconfined,
}

/// The sandbox stopped a command (or could not be set up at all).
pub struct Denial {
    /// First line of what the model is told.
    pub note: String,
    /// What the person asked about running it outside the sandbox is shown.
    pub summary: String,
    /// What the confined run printed, when it ran.
    pub partial: Option<ExecOutput>,
}

/// How one attempt ended.
pub enum Attempt {
    Done(Completion),
    /// The sandbox denied it; the orchestrator decides about escalation.
    Denied(Denial),
}

/// What a call produced.
pub enum ToolOutcome {
    /// Text for the model (also for refusals and failures: the model carries on).
    Output(String),
    /// Text and images (URLs) for the model: an MCP tool's image content.
    Rich { text: String, images: Vec<String> },
    /// A person chose `cancel`: the turn ends `interrupted`.
    Interrupt,
    /// A hook said `continue: false`: the turn ends, with this reason.
    Stop(String),
}

/// A finished call: the item's final state (if the call shows one) and the outcome.
pub struct Completion {
    pub item: Option<ThreadItem>,
    pub outcome: ToolOutcome,
}

impl Completion {
    pub fn output(item: Option<ThreadItem>, text: impl Into<String>) -> Self {
        Completion {
            item,
            outcome: ToolOutcome::Output(text.into()),
        }
    }
}

/// Why a call did not run.
pub enum Refusal {
    /// The policy refused it and nobody could be asked.
    Policy(String),
    /// A person answered `decline` or `cancel`; `by` is who.
    Person {
        decision: ApprovalDecision,
        by: String,
    },
}

/// One parsed call, carried through the pipeline by the orchestrator.
#[async_trait]
pub trait PreparedCall: Send + Sync {
    fn risk(&self, ctx: &ToolCtx<'_>) -> Risk;

    /// The item clients see while the call runs (`None`: the call is not an item).
    fn item(&self) -> Option<ThreadItem>;

    /// What an `acceptForSession` answer about this call remembers.
    fn approval_key(&self) -> Option<ApprovalKey> {
        None
    }

    /// The question asked about this call, with the reason the pipeline gives; `None` for a
    /// tool nobody can be asked about (its calls then only run where the policy lets them).
    fn approval_request(
        &self,
        _ctx: &ToolCtx<'_>,
        _item_id: &str,
        _reason: String,
    ) -> Option<ApprovalRequest> {
        None
    }

    /// Whether the call runs a process the sandbox can confine.
    fn confinable(&self) -> bool {
        false
    }

    /// The model asked to run outside the sandbox: once approved, it runs there directly.
    fn wants_unconfined(&self) -> bool {
        false
    }

    /// Runs the call where `confinement` says.
    async fn attempt(
        &mut self,
        ctx: &mut ToolCtx<'_>,
        confinement: Confinement,
    ) -> Result<Attempt, ThreadError>;

    /// The call did not run.
    fn refused(&self, refusal: Refusal) -> Completion;

    /// The sandbox denied the call and it will not run outside it: `declined` is the person's
    /// answer, `None` when nobody could be asked.
    fn denied(&self, denial: Denial, declined: Option<ApprovalDecision>) -> Completion {
        let _ = declined;
        Completion::output(self.item(), denial.note)
    }

    /// Runs after the item's completion is queued (an applied patch updates the turn's diff).
    async fn after(&mut self, _ctx: &mut ToolCtx<'_>) -> Result<(), ThreadError> {
        Ok(())
    }
}
