//! Approvals: server→client requests owned by the thread actor.
//!
//! The actor owns the subscribers, so it is the natural owner of a pending approval: it sends the
//! request to every live subscriber (each with an id of that connection's own), takes the first
//! valid answer, tells every connection it asked that the request is resolved, and sends any
//! still-pending request again to a connection that subscribes later. The turn that asked waits
//! on a oneshot and never sees connections at all.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

use agentd_protocol::jsonrpc::{ErrorObject, Request, RequestId, Version};
use agentd_protocol::{
    ApprovalDecision, ResolvedBy, ServerRequestResolvedNotification, ThreadActiveFlag, ThreadStatus,
};
use bytes::Bytes;
use serde_json::Value;
use tokio::sync::oneshot;

use super::actor::ThreadActor;
use super::event::notice_frame;
use super::subscriber::{ConnectionId, Subscriber};
use crate::port::{ApprovalOutcome, ApprovalRequest};

/// Per-connection bookkeeping shared by the connection's reader and the actors that send it
/// requests: which of our request ids belong to which thread's approval.
#[derive(Debug, Default)]
pub struct ConnInfo {
    pub id: ConnectionId,
    pub client_name: Mutex<Option<String>>,
    /// The connection's token allows reading only: it is not sent approvals, and its answers
    /// are ignored (PROTOCOL.md §8, §9).
    pub observe_only: bool,
    next_request: AtomicI64,
    outstanding: Mutex<HashMap<i64, (String, u64)>>,
}

impl ConnInfo {
    pub fn new(id: ConnectionId) -> Self {
        ConnInfo {
            id,
            ..Default::default()
        }
    }

    pub(super) fn register(&self, thread_id: &str, approval: u64) -> i64 {
        let id = self.next_request.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut m) = self.outstanding.lock() {
            m.insert(id, (thread_id.to_owned(), approval));
        }
        id
    }

    pub(super) fn forget(&self, request_id: i64) {
        if let Ok(mut m) = self.outstanding.lock() {
            m.remove(&request_id);
        }
    }

    /// The thread and approval an answer with this id belongs to.
    pub fn lookup(&self, id: &RequestId) -> Option<(String, u64)> {
        let RequestId::Integer(n) = id else {
            return None;
        };
        self.outstanding.lock().ok()?.get(n).cloned()
    }

    pub fn client_name(&self) -> String {
        self.client_name
            .lock()
            .ok()
            .and_then(|n| n.clone())
            .unwrap_or_else(|| "unknown".into())
    }
}

pub(super) struct PendingApproval {
    id: u64,
    request: Box<ApprovalRequest>,
    waiter: Option<oneshot::Sender<ApprovalOutcome>>,
    /// Where it was sent: connection, our request id there, and how to reach it.
    sent: Vec<(Subscriber, i64)>,
}

#[derive(Default)]
pub(super) struct Approvals {
    next_id: u64,
    pending: Vec<PendingApproval>,
}

impl Approvals {
    /// Numbering for an actor running under lease `epoch`: ids go on from `epoch << 32`, so
    /// a question of one holder is never taken for another's (clients of other daemons answer
    /// by id, and a new holder's first question must not match an old dialog).
    pub(super) fn starting_at(epoch: Option<i64>) -> Self {
        Approvals {
            next_id: epoch.map_or(0, |e| (e.max(0) as u64) << 32),
            pending: Vec::new(),
        }
    }

    pub(super) fn any_pending(&self) -> bool {
        !self.pending.is_empty()
    }
}

/// A server→client request frame with our id `id` on that connection.
pub(super) fn request_frame(id: i64, method: &str, params: Value) -> Bytes {
    let msg = Request {
        jsonrpc: Version,
        id: RequestId::Integer(id),
        method: method.to_owned(),
        params: Some(params),
    };
    Bytes::from(serde_json::to_string(&msg).unwrap_or_default())
}

impl ThreadActor {
    pub(super) fn request_approval(
        &mut self,
        request: Box<ApprovalRequest>,
        waiter: oneshot::Sender<ApprovalOutcome>,
    ) -> u64 {
        self.approvals.next_id += 1;
        let id = self.approvals.next_id;
        let mut pending = PendingApproval {
            id,
            request,
            waiter: Some(waiter),
            sent: Vec::new(),
        };
        for sub in self.live.clone() {
            send_to(&self.row.id, &mut pending, sub);
        }
        self.share_approval(&pending, None);
        self.approvals.pending.push(pending);
        self.refresh_waiting_flag();
        id
    }

    /// Sends every pending approval to a subscriber that just went live.
    pub(super) fn send_pending_approvals(&mut self, sub: &Subscriber) {
        let thread_id = self.row.id.clone();
        for p in &mut self.approvals.pending {
            p.sent.retain(|(s, _)| s.conn != sub.conn);
            send_to(&thread_id, p, sub.clone());
        }
    }

    /// A client answered. The first valid answer wins; anything else is logged and ignored.
    pub(super) fn answer_approval(
        &mut self,
        approval: u64,
        conn: ConnectionId,
        client_name: String,
        outcome: Result<Value, ErrorObject>,
    ) {
        let Some(ix) = self.approvals.pending.iter().position(|p| p.id == approval) else {
            tracing::info!(thread = %self.row.id, approval, conn, "late answer to a resolved approval ignored");
            return;
        };
        let answer = match outcome {
            Ok(v) => match self.approvals.pending[ix].request.answer_in(&v) {
                Some(a) => a,
                None => {
                    tracing::warn!(thread = %self.row.id, conn, answer = %v, "invalid approval answer ignored");
                    return;
                }
            },
            Err(e) => {
                tracing::warn!(thread = %self.row.id, conn, error = %e.message, "approval answered with an error; still pending");
                return;
            }
        };
        let pending = self.approvals.pending.remove(ix);
        self.resolve(pending, answer.decision, client_name, answer.content);
    }

    /// Ends every pending approval (the turn that asked is over).
    pub(super) fn cancel_all_approvals(&mut self) {
        for p in std::mem::take(&mut self.approvals.pending) {
            self.resolve(p, ApprovalDecision::Cancel, "agentd".to_owned(), None);
        }
    }

    /// Ends an approval without a client's answer (timeout, turn over).
    pub(super) fn cancel_approval(&mut self, approval: u64, decision: ApprovalDecision, by: &str) {
        if let Some(ix) = self.approvals.pending.iter().position(|p| p.id == approval) {
            let pending = self.approvals.pending.remove(ix);
            self.resolve(pending, decision, by.to_owned(), None);
        }
    }

    fn resolve(
        &mut self,
        mut pending: PendingApproval,
        decision: ApprovalDecision,
        by: String,
        content: Option<Value>,
    ) {
        if let Some(w) = pending.waiter.take() {
            let _ = w.send(ApprovalOutcome {
                decision,
                decided_by: by.clone(),
                content,
            });
        }
        self.share_approval(&pending, Some((decision, by.clone())));
        // Not a log event: each connection is told the id *it* was sent.
        let seq = self.committed_seq();
        for (sub, request_id) in pending.sent {
            sub.conn_info.forget(request_id);
            let notice = ServerRequestResolvedNotification {
                thread_id: self.row.id.clone(),
                request_id: RequestId::Integer(request_id),
                decision,
                resolved_by: ResolvedBy {
                    client_name: by.clone(),
                },
                seq,
            };
            let _ = sub.tx.try_send(notice_frame(&notice));
        }
        self.refresh_waiting_flag();
    }

    /// On a shared store, clients of every daemon get the question (their followers read it
    /// from the database) and hear how it was resolved. The write runs beside the actor, again
    /// while the database is away ([`share_patiently`]); the next commit waits for it
    /// (`commit.rs`), so a follower reads a resolution before the events that came after it.
    fn share_approval(
        &mut self,
        p: &PendingApproval,
        resolution: Option<(ApprovalDecision, String)>,
    ) {
        let Some(pg) = self.store.shared().cloned() else {
            return;
        };
        let row = crate::store::postgres::PendingApproval {
            thread_id: self.row.id.clone(),
            approval_id: p.id as i64,
            owner: pg.node().id.clone(),
            method: p.request.method().to_owned(),
            params: p.request.params().to_string(),
            resolution: None,
        };
        let share = tokio::spawn(async move {
            let result = share_patiently(|| async {
                match &resolution {
                    None => pg.put_approval(&row).await,
                    Some((decision, by)) => {
                        let decision = serde_json::to_string(decision).unwrap_or_default();
                        pg.resolve_approval(&row, &decision, by).await
                    }
                }
            })
            .await;
            if let Err(e) = result {
                tracing::warn!(thread = %row.thread_id, error = %e,
                    "cannot share a question with the other daemons");
            }
        });
        self.shares.push(share);
    }

    fn refresh_waiting_flag(&mut self) {
        if !self.turns.is_running() {
            return;
        }
        let flags = if self.approvals.any_pending() {
            vec![ThreadActiveFlag::WaitingOnApproval]
        } else {
            Vec::new()
        };
        self.set_status(ThreadStatus::Active {
            active_flags: flags,
        });
    }
}

fn send_to(thread_id: &str, pending: &mut PendingApproval, sub: Subscriber) {
    if sub.conn_info.observe_only {
        return;
    }
    let request_id = sub.conn_info.register(thread_id, pending.id);
    let frame = request_frame(
        request_id,
        pending.request.method(),
        pending.request.params(),
    );
    if sub.tx.try_send(frame).is_ok() {
        pending.sent.push((sub, request_id));
    } else {
        sub.conn_info.forget(request_id);
    }
}

/// Runs a write of a shared question until it lands, riding out a database that went away as
/// a commit does ([`super::commit::Patience`]): a question asked during a PostgreSQL restart
/// still reaches the other daemons' clients once it is back. Both writes are idempotent
/// (`ON CONFLICT`), so one whose answer was lost with the connection can run again.
async fn share_patiently<F, Fut>(mut write: F) -> Result<(), crate::store::StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), crate::store::StoreError>>,
{
    let mut patience = super::commit::Patience::new();
    loop {
        let result = write().await;
        let retry = matches!(&result, Err(e) if e.is_unavailable());
        if !retry || !patience.wait().await {
            return result;
        }
    }
}
