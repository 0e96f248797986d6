//! The `apply_patch` tool: plan the whole patch, then write it atomically. Asking first, when
//! the policy says so, is the orchestrator's; this file plans, shows, writes and reports.

use std::path::{Path, PathBuf};

use agentd_protocol::{
    ApprovalDecision, FileChangeItem, FileChangeRequestApprovalParams, FileUpdateChange,
    ItemStatus, PatchChangeKind, SandboxPolicy, ThreadItem, TurnDiffUpdatedNotification,
};
use async_trait::async_trait;

use super::apply_patch::{plan_patch, ChangeKind, FileChange, PatchPlan};
use super::handler::{
    ApprovalKey, Attempt, Completion, Confinement, PreparedCall, Refusal, Risk, ToolHandler,
    ToolOutcome,
};
use super::orchestrator::ToolCtx;
use crate::clock::now_ms;
use crate::model::ToolSpec;
use crate::port::{ApprovalRequest, ThreadError};

pub const NAME: &str = "apply_patch";

pub const DESCRIPTION: &str = "Edit files. Input is a patch:\n\
*** Begin Patch\n\
*** Add File: path\n+line\n\
*** Update File: path\n*** Move to: new/path (optional)\n@@ optional context line\n context\n-old\n+new\n\
*** Delete File: path\n\
*** End Patch\n\
Paths are relative to the workdir. Give 3 lines of context around each change; use @@ lines to \
disambiguate. `*** End of File` anchors a chunk at the end. All-or-nothing: any failed chunk \
changes nothing.";

pub struct ApplyPatchTool;

impl ToolHandler for ApplyPatchTool {
    fn spec(&self) -> ToolSpec {
        ToolSpec::Freeform {
            name: NAME.into(),
            description: DESCRIPTION.into(),
        }
    }

    fn prepare(&self, ctx: &ToolCtx<'_>, input: &str) -> Result<Box<dyn PreparedCall>, String> {
        // Chat Completions has no freeform tools: there the input arrives as `{input}`.
        let patch = serde_json::from_str::<serde_json::Value>(input)
            .ok()
            .and_then(|v| v.get("input").and_then(|i| i.as_str()).map(str::to_owned))
            .unwrap_or_else(|| input.to_owned());
        let writable = writable_roots(&ctx.cwd, &ctx.settings.sandbox);
        // Read-only still lets a person approve a write inside the workdir.
        let roots = writable.clone().unwrap_or_else(|| vec![ctx.cwd.clone()]);
        // Reads every file the patch touches and diffs it: off the async worker.
        let plan = crate::runtime::blocking(|| plan_patch(&patch, &ctx.cwd, &roots))
            .map_err(|e| format!("apply_patch failed: {e}"))?;
        let changes: Vec<FileUpdateChange> = plan.changes().iter().map(wire_change).collect();
        let paths = touched_paths(&ctx.cwd, plan.changes());
        let item = FileChangeItem {
            id: uuid::Uuid::now_v7().to_string(),
            changes,
            status: ItemStatus::InProgress,
        };
        Ok(Box::new(PatchCall {
            plan: Some(plan),
            paths,
            item,
            writable: writable.is_some(),
            applied: Vec::new(),
        }))
    }
}

struct PatchCall {
    /// Taken when the patch is written.
    plan: Option<PatchPlan>,
    paths: Vec<PathBuf>,
    item: FileChangeItem,
    writable: bool,
    /// The diffs written, for the turn's diff once the item is complete.
    applied: Vec<String>,
}

#[async_trait]
impl PreparedCall for PatchCall {
    fn risk(&self, _ctx: &ToolCtx<'_>) -> Risk {
        Risk::WritesFiles {
            writable: self.writable,
        }
    }

    fn item(&self) -> Option<ThreadItem> {
        Some(ThreadItem::FileChange(self.item.clone()))
    }

    fn approval_key(&self) -> Option<ApprovalKey> {
        Some(ApprovalKey::Files(self.paths.clone()))
    }

    fn approval_request(
        &self,
        ctx: &ToolCtx<'_>,
        item_id: &str,
        _reason: String,
    ) -> Option<ApprovalRequest> {
        Some(ApprovalRequest::FileChange(
            FileChangeRequestApprovalParams {
                thread_id: ctx.emitter.thread_id().to_owned(),
                turn_id: ctx.emitter.turn_id().to_owned(),
                item_id: item_id.to_owned(),
                started_at_ms: now_ms(),
                changes: self.item.changes.clone(),
                reason: None,
            },
        ))
    }

    async fn attempt(
        &mut self,
        _ctx: &mut ToolCtx<'_>,
        _confinement: Confinement,
    ) -> Result<Attempt, ThreadError> {
        let mut item = self.item.clone();
        let Some(plan) = self.plan.take() else {
            item.status = ItemStatus::Failed;
            return Ok(Attempt::Done(Completion::output(
                Some(ThreadItem::FileChange(item)),
                "apply_patch failed: the patch was already applied",
            )));
        };
        Ok(Attempt::Done(
            match crate::runtime::blocking(|| plan.commit()) {
                Ok(outcome) => {
                    item.status = ItemStatus::Completed;
                    self.applied = outcome.changes.iter().map(|c| c.diff.clone()).collect();
                    Completion::output(Some(ThreadItem::FileChange(item)), outcome.summary())
                }
                Err(e) => {
                    item.status = ItemStatus::Failed;
                    Completion::output(
                        Some(ThreadItem::FileChange(item)),
                        format!("apply_patch failed: {e}"),
                    )
                }
            },
        ))
    }

    fn refused(&self, refusal: Refusal) -> Completion {
        let mut item = self.item.clone();
        item.status = ItemStatus::Declined;
        let item = Some(ThreadItem::FileChange(item));
        match refusal {
            Refusal::Policy(reason) => {
                Completion::output(item, format!("apply_patch refused: {reason}"))
            }
            Refusal::Person {
                decision: ApprovalDecision::Cancel,
                ..
            } => Completion {
                item,
                outcome: ToolOutcome::Interrupt,
            },
            Refusal::Person { by, .. } => Completion::output(
                item,
                format!("apply_patch was declined by {by}; the files are unchanged"),
            ),
        }
    }

    /// The turn's combined diff grows by what was written.
    async fn after(&mut self, ctx: &mut ToolCtx<'_>) -> Result<(), ThreadError> {
        if self.applied.is_empty() {
            return Ok(());
        }
        for diff in std::mem::take(&mut self.applied) {
            ctx.turn_diff.push_str(&diff);
            if !diff.ends_with('\n') {
                ctx.turn_diff.push('\n');
            }
        }
        let event = TurnDiffUpdatedNotification {
            thread_id: ctx.emitter.thread_id().to_owned(),
            turn_id: ctx.emitter.turn_id().to_owned(),
            diff: ctx.turn_diff.clone(),
            seq: 0,
        };
        ctx.emitter.notify(&event, Vec::new()).await
    }
}

/// Where the patch may write without asking: the workdir and the sandbox's writable roots
/// (everything under full access; nothing under read-only, so writing there always asks).
fn writable_roots(cwd: &Path, sandbox: &SandboxPolicy) -> Option<Vec<PathBuf>> {
    match sandbox {
        SandboxPolicy::DangerFullAccess => Some(vec![PathBuf::from("/")]),
        SandboxPolicy::WorkspaceWrite { writable_roots, .. } => {
            let mut roots = vec![cwd.to_path_buf()];
            roots.extend(writable_roots.iter().map(PathBuf::from));
            Some(roots)
        }
        SandboxPolicy::ReadOnly { .. } => None,
    }
}

/// Every path the patch writes, moves included.
fn touched_paths(cwd: &Path, changes: &[FileChange]) -> Vec<PathBuf> {
    changes
        .iter()
        .flat_map(|c| {
            let mut v = vec![cwd.join(&c.path)];
            if let ChangeKind::Update { move_path: Some(m) } = &c.kind {
                v.push(cwd.join(m));
            }
            v
        })
        .collect()
}

fn wire_change(c: &FileChange) -> FileUpdateChange {
    FileUpdateChange {
        path: c.path.display().to_string(),
        kind: match &c.kind {
            ChangeKind::Add => PatchChangeKind::Add,
            ChangeKind::Delete => PatchChangeKind::Delete,
            ChangeKind::Update { move_path } => PatchChangeKind::Update {
                move_path: move_path.as_ref().map(|p| p.display().to_string()),
            },
        },
        diff: c.diff.clone(),
    }
}
