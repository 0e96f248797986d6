//! Running the tool calls one response asked for, in order, each through the tool pipeline;
//! every call's output enters the history so calls and outputs stay paired.

use super::fold::ToolCall;
use super::{Ending, TurnRun};
use crate::model::HistoryItem;
use crate::tools::{handle_call, ToolCtx, ToolOutcome, ToolRegistry};

impl TurnRun {
    pub(super) async fn run_calls(
        &mut self,
        calls: Vec<ToolCall>,
        tools: &ToolRegistry,
    ) -> Result<(), Ending> {
        let policy = self.services.exec_policy(&self.cwd);
        for call in calls {
            if self.cancel().is_cancelled() {
                return Err(Ending::Interrupted);
            }
            let mut ctx = ToolCtx {
                emitter: &mut self.emitter,
                cwd: self.cwd.clone(),
                settings: &self.spec.settings,
                session: &self.spec.session,
                policy: &policy,
                cancel: &self.spec.cancel,
                approval_timeout: self.services.approval_timeout,
                shell: self.services.shell_limits,
                turn_diff: &mut self.turn_diff,
                hooks: &self.hooks,
                notify_after: self.services.notify_after,
                sandbox: &self.services.sandbox,
            };
            let outcome =
                handle_call(&mut ctx, tools, &call.name, &call.call_id, &call.input).await?;
            // Every call gets its output, so history stays paired, even when the turn ends.
            let (text, images, end) = match outcome {
                ToolOutcome::Output(text) => (text, Vec::new(), None),
                ToolOutcome::Rich { text, images } => (text, images, None),
                ToolOutcome::Interrupt => (
                    "interrupted by the user".to_owned(),
                    Vec::new(),
                    Some(Ending::Interrupted),
                ),
                ToolOutcome::Stop(reason) => (
                    format!("stopped by a hook: {reason}"),
                    Vec::new(),
                    Some(Ending::failed(reason, "hookStopped")),
                ),
            };
            let output = if call.freeform {
                HistoryItem::CustomToolCallOutput {
                    call_id: call.call_id,
                    output: text,
                }
            } else {
                HistoryItem::FunctionCallOutput {
                    call_id: call.call_id,
                    output: text,
                    images,
                }
            };
            let rows = self.emitter.history_rows(std::slice::from_ref(&output));
            self.history.push(output);
            self.emitter.link().persist(rows).await?;
            if let Some(end) = end {
                return Err(end);
            }
            if self.cancel().is_cancelled() {
                return Err(Ending::Interrupted);
            }
        }
        Ok(())
    }
}
