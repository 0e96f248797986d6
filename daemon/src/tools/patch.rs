//! The `apply_patch` tool: plan the whole patch, show it (asking first when the policy says so),
//! then write it atomically.

use std::path::{Path, PathBuf};

use agentd_protocol::{
    ApprovalDecision, AskForApproval, FileChangeItem, FileUpdateChange, ItemStatus,
    PatchChangeKind, SandboxPolicy, ThreadItem,
};
use serde_json::json;

use super::apply_patch::{plan_patch, ChangeKind, FileChange};
use super::approval::ask;
use super::orchestrator::{ToolCtx, ToolOutcome};
use crate::threads::{now_ms, ThreadError};

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

pub async fn apply_patch(ctx: &mut ToolCtx<'_>, input: &str) -> Result<ToolOutcome, ThreadError> {
    let auto_roots = writable_roots(&ctx.cwd, &ctx.settings.sandbox);
    // Read-only still lets a person approve a write inside the workdir.
    let roots = auto_roots.clone().unwrap_or_else(|| vec![ctx.cwd.clone()]);
    let plan = match plan_patch(input, &ctx.cwd, &roots) {
        Ok(plan) => plan,
        Err(e) => return Ok(ToolOutcome::Output(format!("apply_patch failed: {e}"))),
    };
    let changes: Vec<FileUpdateChange> = plan.changes().iter().map(wire_change).collect();
    let paths: Vec<PathBuf> = plan
        .changes()
        .iter()
        .flat_map(|c| {
            let mut v = vec![ctx.cwd.join(&c.path)];
            if let ChangeKind::Update { move_path: Some(m) } = &c.kind {
                v.push(ctx.cwd.join(m));
            }
            v
        })
        .collect();

    let item_id = uuid::Uuid::now_v7().to_string();
    let position = ctx.emitter.next_position();
    let mut item = FileChangeItem {
        id: item_id.clone(),
        changes: changes.clone(),
        status: ItemStatus::InProgress,
    };
    ctx.emitter
        .item_started(&ThreadItem::FileChange(item.clone()))
        .await?;

    let pre_approved = ctx.session.files_approved(&paths);
    let must_ask = !pre_approved
        && match ctx.settings.approval_policy {
            AskForApproval::Untrusted => true,
            AskForApproval::Never => false,
            AskForApproval::OnRequest | AskForApproval::OnFailure => auto_roots.is_none(),
        };
    if auto_roots.is_none()
        && ctx.settings.approval_policy == AskForApproval::Never
        && !pre_approved
    {
        item.status = ItemStatus::Declined;
        ctx.emitter
            .item_completed(&ThreadItem::FileChange(item), position)
            .await?;
        return Ok(ToolOutcome::Output(
            "apply_patch refused: the sandbox is read-only and approvals are off".into(),
        ));
    }
    if must_ask {
        let params = json!({
            "threadId": ctx.emitter.thread_id, "turnId": ctx.emitter.turn_id, "itemId": item_id,
            "startedAtMs": now_ms(), "changes": changes, "reason": null,
        });
        let outcome = ask(
            ctx.emitter,
            "item/fileChange/requestApproval",
            params,
            ctx.approval_timeout,
            ctx.cancel,
        )
        .await?;
        match outcome.decision {
            ApprovalDecision::Accept => {}
            ApprovalDecision::AcceptForSession => ctx.session.approve_files(&paths),
            ApprovalDecision::Decline | ApprovalDecision::Cancel => {
                item.status = ItemStatus::Declined;
                ctx.emitter
                    .item_completed(&ThreadItem::FileChange(item), position)
                    .await?;
                if outcome.decision == ApprovalDecision::Cancel {
                    return Ok(ToolOutcome::Interrupt);
                }
                return Ok(ToolOutcome::Output(format!(
                    "apply_patch was declined by {}; the files are unchanged",
                    outcome.decided_by
                )));
            }
        }
    }

    match plan.commit() {
        Ok(outcome) => {
            item.status = ItemStatus::Completed;
            ctx.emitter
                .item_completed(&ThreadItem::FileChange(item), position)
                .await?;
            for c in &outcome.changes {
                ctx.turn_diff.push_str(&c.diff);
                if !c.diff.ends_with('\n') {
                    ctx.turn_diff.push('\n');
                }
            }
            ctx.emitter
                .event(
                    "turn/diff/updated",
                    json!({"threadId": ctx.emitter.thread_id, "turnId": ctx.emitter.turn_id,
                           "diff": ctx.turn_diff}),
                    Vec::new(),
                )
                .await?;
            Ok(ToolOutcome::Output(outcome.summary()))
        }
        Err(e) => {
            item.status = ItemStatus::Failed;
            ctx.emitter
                .item_completed(&ThreadItem::FileChange(item), position)
                .await?;
            Ok(ToolOutcome::Output(format!("apply_patch failed: {e}")))
        }
    }
}
