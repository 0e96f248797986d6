//! Running the tool calls one response asked for, in order, each through the tool pipeline;
//! every call's output enters the history so calls and outputs stay paired — and a call a crash
//! or kill cut off gets one when the history is next read.

use std::collections::HashSet;

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
        let policy = self.services.exec_policy(&self.cwd).await;
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

/// What the model is told of a call the daemon died during.
const CUT_OFF: &str = "aborted: the daemon stopped before this call finished";

/// Gives each call that has no output one, right after its group of calls: a daemon killed
/// while a tool ran (a parent in `wait_agent`, a long command) left it unanswered in the stored
/// history, and providers refuse a request with an unanswered call.
pub(super) fn answer_cut_off_calls(history: &mut Vec<HistoryItem>) {
    let answered: HashSet<&str> = history
        .iter()
        .filter_map(|h| match h {
            HistoryItem::FunctionCallOutput { call_id, .. }
            | HistoryItem::CustomToolCallOutput { call_id, .. } => Some(call_id.as_str()),
            _ => None,
        })
        .collect();
    let owed = |h: &HistoryItem| match h {
        HistoryItem::FunctionCall { call_id, .. } if !answered.contains(call_id.as_str()) => {
            Some(HistoryItem::FunctionCallOutput {
                call_id: call_id.clone(),
                output: CUT_OFF.into(),
                images: Vec::new(),
            })
        }
        HistoryItem::CustomToolCall { call_id, .. } if !answered.contains(call_id.as_str()) => {
            Some(HistoryItem::CustomToolCallOutput {
                call_id: call_id.clone(),
                output: CUT_OFF.into(),
            })
        }
        _ => None,
    };
    let missing: Vec<(usize, HistoryItem)> = history
        .iter()
        .enumerate()
        .filter_map(|(i, h)| Some((i, owed(h)?)))
        .collect();
    if missing.is_empty() {
        return;
    }
    let in_group = |h: &HistoryItem| {
        matches!(
            h,
            HistoryItem::FunctionCall { .. }
                | HistoryItem::CustomToolCall { .. }
                | HistoryItem::FunctionCallOutput { .. }
                | HistoryItem::CustomToolCallOutput { .. }
        )
    };
    let mut missing = missing.into_iter().peekable();
    let mut repaired = Vec::with_capacity(history.len() + missing.len());
    let mut pending = Vec::new();
    for (i, h) in std::mem::take(history).into_iter().enumerate() {
        if !in_group(&h) {
            repaired.append(&mut pending);
        }
        repaired.push(h);
        if let Some((_, output)) = missing.next_if(|(at, _)| *at == i) {
            pending.push(output);
        }
    }
    repaired.append(&mut pending);
    *history = repaired;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(id: &str) -> HistoryItem {
        HistoryItem::FunctionCall {
            call_id: id.into(),
            name: "wait_agent".into(),
            arguments: "{}".into(),
        }
    }

    fn output(id: &str, text: &str) -> HistoryItem {
        HistoryItem::FunctionCallOutput {
            call_id: id.into(),
            output: text.into(),
            images: Vec::new(),
        }
    }

    #[test]
    fn a_cut_off_call_is_answered_after_its_group() {
        let mut history = vec![
            HistoryItem::user("go"),
            call("a"),
            call("b"),
            output("a", "done"),
            HistoryItem::user("again"),
            call("c"),
        ];
        answer_cut_off_calls(&mut history);
        assert_eq!(
            history,
            vec![
                HistoryItem::user("go"),
                call("a"),
                call("b"),
                output("a", "done"),
                output("b", CUT_OFF),
                HistoryItem::user("again"),
                call("c"),
                output("c", CUT_OFF),
            ]
        );
        let before = history.clone();
        answer_cut_off_calls(&mut history);
        assert_eq!(history, before, "a paired history is left alone");
    }
}
