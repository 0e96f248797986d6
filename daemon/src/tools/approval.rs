//! Asking the people watching a thread, with a deadline.

use std::time::Duration;

use agentd_protocol::ApprovalDecision;
use serde_json::Value;

use crate::threads::{ApprovalOutcome, ThreadError, TurnEmitter};

/// Sends an approval request to the thread's subscribers and waits for the first valid answer.
/// No answer within `timeout` counts as `decline` (and everyone is told so).
pub async fn ask(
    emitter: &TurnEmitter,
    method: &str,
    params: Value,
    timeout: Duration,
) -> Result<ApprovalOutcome, ThreadError> {
    let handle = emitter.handle();
    let (id, outcome) = handle.request_approval(method, params).await?;
    match tokio::time::timeout(timeout, outcome).await {
        Ok(Ok(outcome)) => Ok(outcome),
        // The actor dropped it: the turn is ending.
        Ok(Err(_)) => Ok(ApprovalOutcome {
            decision: ApprovalDecision::Cancel,
            decided_by: "agentd".into(),
        }),
        Err(_) => {
            handle
                .cancel_approval(id, ApprovalDecision::Decline, "timeout")
                .await;
            Ok(ApprovalOutcome {
                decision: ApprovalDecision::Decline,
                decided_by: "timeout".into(),
            })
        }
    }
}
