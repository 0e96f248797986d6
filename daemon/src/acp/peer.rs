//! Our side of the ACP connection on stdout: answers, notifications, and the requests we make
//! of the client (permission questions) with the answers matched back to them. Every message
//! goes through one queue, so what a task sends arrives in the order it sent it: a prompt's
//! updates always reach the client before the prompt's answer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use agentd_protocol::jsonrpc::{ErrorObject, RequestId, Version};
use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::wire::{method, CancelRequestNotification, SessionNotification, SessionUpdate};

/// A request's result, or its JSON-RPC error.
pub type Answer = Result<Value, ErrorObject>;

pub struct Peer {
    out: mpsc::Sender<Bytes>,
    next_id: AtomicI64,
    /// Our requests still waiting for the client's answer, by id.
    pending: Mutex<HashMap<i64, oneshot::Sender<Answer>>>,
}

/// A request sent to the client: its id, and where its answer arrives. The receiver fails if
/// the request was [`Peer::forget`]-ten (cancelled) or the connection went away.
pub struct Outgoing {
    pub id: i64,
    pub answer: oneshot::Receiver<Answer>,
}

#[derive(Serialize)]
struct RequestOut<'a, P> {
    jsonrpc: Version,
    id: i64,
    method: &'a str,
    params: &'a P,
}

#[derive(Serialize)]
struct NotificationOut<'a, P> {
    jsonrpc: Version,
    method: &'a str,
    params: &'a P,
}

#[derive(Serialize)]
struct ResultOut<'a> {
    jsonrpc: Version,
    id: &'a RequestId,
    result: &'a Value,
}

#[derive(Serialize)]
struct ErrorOut<'a> {
    jsonrpc: Version,
    id: Option<&'a RequestId>,
    error: &'a ErrorObject,
}

impl Peer {
    pub fn new(out: mpsc::Sender<Bytes>) -> Arc<Peer> {
        Arc::new(Peer {
            out,
            next_id: AtomicI64::new(0),
            pending: Mutex::new(HashMap::new()),
        })
    }

    async fn write(&self, message: &impl Serialize) {
        match serde_json::to_vec(message) {
            Ok(bytes) => {
                if self.out.send(Bytes::from(bytes)).await.is_err() {
                    tracing::debug!("acp: stdout is closed; message dropped");
                }
            }
            Err(e) => tracing::error!(error = %e, "acp: cannot serialise a message"),
        }
    }

    /// Answers one of the client's requests.
    pub async fn respond(&self, id: &RequestId, answer: Answer) {
        match answer {
            Ok(result) => {
                self.write(&ResultOut {
                    jsonrpc: Version,
                    id,
                    result: &result,
                })
                .await
            }
            Err(error) => self.error(Some(id), &error).await,
        }
    }

    /// An error answer; `id` is `None` when the request's id could not be read.
    pub async fn error(&self, id: Option<&RequestId>, error: &ErrorObject) {
        self.write(&ErrorOut {
            jsonrpc: Version,
            id,
            error,
        })
        .await
    }

    pub async fn notify(&self, method: &str, params: &impl Serialize) {
        self.write(&NotificationOut {
            jsonrpc: Version,
            method,
            params,
        })
        .await
    }

    /// A `session/update`.
    pub async fn update(&self, session_id: &str, update: SessionUpdate) {
        let params = SessionNotification {
            session_id: session_id.to_owned(),
            update,
        };
        self.notify(method::SESSION_UPDATE, &params).await
    }

    /// Sends a request; the answer arrives on the returned receiver.
    pub async fn request(&self, method: &str, params: &impl Serialize) -> Outgoing {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending_map().insert(id, tx);
        self.write(&RequestOut {
            jsonrpc: Version,
            id,
            method,
            params,
        })
        .await;
        Outgoing { id, answer: rx }
    }

    /// Gives up on a request: its receiver fails at once, and the client is told with
    /// `$/cancel_request` so it can take the question off the screen. A late answer is ignored.
    pub async fn forget(&self, id: i64) {
        if self.pending_map().remove(&id).is_some() {
            let params = CancelRequestNotification {
                request_id: Value::from(id),
            };
            self.notify(method::CANCEL_REQUEST, &params).await;
        }
    }

    /// The client answered request `id` (unknown ids are answers to forgotten requests).
    pub fn resolve(&self, id: &Value, answer: Answer) {
        let Some(id) = id.as_i64() else {
            tracing::debug!(%id, "acp: an answer to a request we never sent");
            return;
        };
        match self.pending_map().remove(&id) {
            Some(tx) => {
                let _ = tx.send(answer);
            }
            None => tracing::debug!(id, "acp: an answer to a request no longer waiting"),
        }
    }

    fn pending_map(&self) -> std::sync::MutexGuard<'_, HashMap<i64, oneshot::Sender<Answer>>> {
        // A panic while the lock was held left a plain map behind: still usable.
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}
