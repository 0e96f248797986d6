//! Questions of a thread another daemon runs: a follower asks its own clients what the
//! holder asked (read from the shared database), forwards their answers to the holder, and
//! tells them how each question was resolved — whichever daemon's client answered first.

use std::collections::{HashMap, HashSet};

use agentd_protocol::jsonrpc::{ErrorObject, RequestId};
use agentd_protocol::{ApprovalDecision, ResolvedBy, ServerRequestResolvedNotification};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::approvals::request_frame;
use super::event::notice_frame;
use super::follower::Follower;
use super::handle::ApprovalAnswer;
use super::hub::ThreadHub;
use super::subscriber::Subscriber;
use crate::store::postgres::{PendingApproval, QUESTIONS_READ};

/// The forwarded-command method an approval answer travels under.
pub const APPROVAL_ANSWER: &str = "agentd/approvalAnswer";

/// Where a follower asked each question: the connection and our request id there.
pub(super) type Asked = HashMap<i64, Vec<(Subscriber, i64)>>;

/// A client's answer, on its way to the holder.
#[derive(Debug, Serialize, Deserialize)]
pub struct RemoteAnswer {
    pub thread_id: String,
    pub approval: u64,
    pub client_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
}

impl Follower {
    /// Asks live subscribers the open questions they have not been asked, and tells them
    /// about the ones resolved since.
    pub(super) async fn sync_approvals(&mut self) {
        let Some(pg) = self.store.shared() else {
            return;
        };
        let rows = match pg.approvals_of(&self.row.id).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::debug!(thread = %self.row.id, error = %e, "cannot read the thread's questions");
                return;
            }
        };
        for row in &rows {
            match &row.resolution {
                None => self.ask(row),
                Some((decision, by)) => self.resolved(row.approval_id, decision, by),
            }
        }
        // A question whose row is gone was dropped with its holder (taken over) or swept:
        // whoever was asked hears it ended, and nothing keeps it here. Only the newest rows
        // are read: when the read is full, one older than all of them may still be there.
        let stored: HashSet<i64> = rows.iter().map(|r| r.approval_id).collect();
        let oldest_read = match rows.first() {
            Some(r) if rows.len() >= QUESTIONS_READ => r.approval_id,
            _ => i64::MIN,
        };
        let gone: Vec<i64> = self
            .asked
            .keys()
            .filter(|id| **id >= oldest_read && !stored.contains(id))
            .copied()
            .collect();
        for id in gone {
            self.resolved(id, "\"cancel\"", "agentd");
        }
    }

    fn ask(&mut self, row: &PendingApproval) {
        // The holder numbers its questions from 1; a row with another number is not one.
        let Ok(approval) = u64::try_from(row.approval_id) else {
            return;
        };
        let sent = self.asked.entry(row.approval_id).or_default();
        let mut params = None;
        for sub in &self.live {
            if sub.conn_info.observe_only || sent.iter().any(|(s, _)| s.conn == sub.conn) {
                continue;
            }
            // Parsed once, and only when someone is to be asked.
            let params = params.get_or_insert_with(|| {
                serde_json::from_str::<Value>(&row.params).unwrap_or(Value::Null)
            });
            let request_id = sub.conn_info.register(&self.row.id, approval);
            let frame = request_frame(request_id, &row.method, params.clone());
            if sub.tx.try_send(frame).is_ok() {
                sent.push((sub.clone(), request_id));
            } else {
                sub.conn_info.forget(request_id);
            }
        }
    }

    fn resolved(&mut self, approval_id: i64, decision: &str, by: &str) {
        let Some(sent) = self.asked.remove(&approval_id) else {
            return;
        };
        // Whoever was asked is told it ended either way: a decision that does not parse (a
        // row something else wrote) is told as `cancel`, the holder's answer to a question
        // it no longer has.
        let decision =
            serde_json::from_str::<ApprovalDecision>(decision).unwrap_or(ApprovalDecision::Cancel);
        for (sub, request_id) in sent {
            sub.conn_info.forget(request_id);
            let notice = ServerRequestResolvedNotification {
                thread_id: self.row.id.clone(),
                request_id: RequestId::Integer(request_id),
                decision,
                resolved_by: ResolvedBy {
                    client_name: by.to_owned(),
                },
                seq: self.cursor,
            };
            let _ = sub.tx.try_send(notice_frame(&notice));
        }
    }

    /// Sends a client's answer to the daemon holding the thread; the first answer to reach
    /// it wins there, as on one daemon.
    pub(super) fn forward_answer(&self, a: ApprovalAnswer) {
        let Some(pg) = self.store.shared().cloned() else {
            return;
        };
        let (result, error) = match a.outcome {
            Ok(v) => (Some(v), None),
            Err(e) => (None, Some(e)),
        };
        let answer = RemoteAnswer {
            thread_id: self.row.id.clone(),
            approval: a.approval,
            client_name: a.client_name,
            result,
            error,
        };
        tokio::spawn(async move {
            let holder = match pg.lease_holder(&answer.thread_id).await {
                Ok(Some(holder)) => holder,
                _ => {
                    tracing::info!(thread = %answer.thread_id, "answer to a question of a thread nobody runs now ignored");
                    return;
                }
            };
            let body = serde_json::to_string(&answer).unwrap_or_default();
            let sent = pg
                .forward_command(&answer.thread_id, &holder.owner, APPROVAL_ANSWER, &body)
                .await;
            if let Err(e) = sent {
                tracing::warn!(thread = %answer.thread_id, error = %e, "cannot forward an answer");
            }
        });
    }
}

impl ThreadHub {
    /// An answer a client of another daemon gave to one of this daemon's questions, sent in
    /// a command row for `thread_id` (an answer naming another thread is not taken).
    pub async fn apply_remote_answer(&self, thread_id: &str, body: &str) {
        let answer = match serde_json::from_str::<RemoteAnswer>(body) {
            Ok(a) if a.thread_id == thread_id => a,
            Ok(_) => {
                tracing::warn!(thread = %thread_id, "forwarded answer naming another thread ignored");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "malformed forwarded answer ignored");
                return;
            }
        };
        let outcome = match (answer.result, answer.error) {
            (_, Some(e)) => Err(e),
            (result, None) => Ok(result.unwrap_or(Value::Null)),
        };
        match self.loaded(&answer.thread_id).await {
            Some(handle) => {
                handle
                    .answer_approval(answer.approval, 0, answer.client_name, outcome)
                    .await
            }
            None => {
                tracing::info!(thread = %answer.thread_id, "forwarded answer for a thread not loaded here ignored")
            }
        }
    }
}
