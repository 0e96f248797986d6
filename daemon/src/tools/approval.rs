//! Asking the people watching a thread, with a deadline.

use std::time::Duration;

use agentd_protocol::ApprovalDecision;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::threads::{ApprovalOutcome, ThreadError, TurnEmitter};

/// Sends an approval request to the thread's subscribers and waits for the first valid answer.
///
/// No answer within `timeout` counts as `decline`; the turn being interrupted meanwhile counts
/// as `cancel`. Either way the actor resolves the request (so everyone is told), and the outcome
/// returned is the one the actor recorded: if a client's answer reached the actor first, that
/// answer wins, and the turn never acts on a decision the clients were not told about.
pub async fn ask(
    emitter: &TurnEmitter,
    method: &str,
    params: Value,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<ApprovalOutcome, ThreadError> {
    let handle = emitter.handle();
    // The request is not a log event: the actor sends it at once, while events queued before it
    // (the item it is about) wait for their commit. Waiting for that commit first means every
    // client has seen the item before it is asked about it.
    handle.barrier().await?;
    let (id, mut outcome) = handle.request_approval(method, params).await?;
    let ended_by = tokio::select! {
        answered = &mut outcome => return Ok(answered.unwrap_or_else(|_| turn_over())),
        _ = tokio::time::sleep(timeout) => (ApprovalDecision::Decline, "timeout"),
        _ = cancel.cancelled() => (ApprovalDecision::Cancel, "agentd"),
    };
    handle.cancel_approval(id, ended_by.0, ended_by.1).await;
    Ok(outcome.await.unwrap_or_else(|_| turn_over()))
}

/// The actor dropped the request without an answer: the turn is ending.
fn turn_over() -> ApprovalOutcome {
    ApprovalOutcome {
        decision: ApprovalDecision::Cancel,
        decided_by: "agentd".into(),
    }
}
