//! A connection's life: read frames, answer what can be answered at once, queue requests for
//! the connection's worker, and clean up when the peer goes away.
//!
//! Two tasks per connection. The *reader* never blocks on request handling: it decodes frames,
//! rejects malformed ones, routes answers to server→client requests, and offers requests to a
//! bounded queue — when that queue is full the request is answered -32001 at once, so one
//! flooding client cannot grow the daemon's memory or slow anyone else. The *worker* handles
//! requests in order, one at a time, which keeps a client's pipelined requests (`thread/start`
//! then `turn/start`) ordered without locks.

use std::collections::HashSet;
use std::sync::Arc;

use agentd_protocol::jsonrpc::{ErrorResponse, RequestId, Version};
use bytes::Bytes;
use tokio::sync::mpsc;

use super::decode::{decode, Decoded, Frame, Incoming, Rejected};
use super::dispatch::{dispatch, Answer};
use super::error::RpcError;
use super::link::{Inbound, Link};
use crate::auth::Scope;
use crate::daemon::Daemon;
use crate::threads::{CatchUp, ConnInfo, ConnectionId, Subscriber};

/// Per-connection state the handlers see.
pub struct Session {
    pub conn: ConnectionId,
    pub out: mpsc::Sender<Bytes>,
    /// Set by `initialize`; `None` means requests other than `initialize` get -32002.
    pub client_name: Option<String>,
    pub opt_out: Arc<HashSet<String>>,
    /// Threads this connection subscribed to, dropped when it closes.
    pub subscriptions: HashSet<String>,
    /// Shared with the reader and with the actors that send this connection requests.
    pub info: Arc<ConnInfo>,
    /// What the connection's token allows; checked per method in dispatch.
    pub scope: Scope,
}

/// Threads one connection may be subscribed to at once: each keeps its thread loaded, so the
/// number is a client's to choose only up to here.
pub const MAX_SUBSCRIPTIONS: usize = 1024;

impl Session {
    /// Refuses a subscription beyond [`MAX_SUBSCRIPTIONS`] (a thread already subscribed to is
    /// always fine).
    pub fn may_subscribe(&self, thread_id: Option<&str>) -> Result<(), RpcError> {
        let known = thread_id.is_some_and(|id| self.subscriptions.contains(id));
        if !known && self.subscriptions.len() >= MAX_SUBSCRIPTIONS {
            return Err(RpcError::conflict(format!(
                "this connection is subscribed to {MAX_SUBSCRIPTIONS} threads, the most it \
                 may be; unsubscribe from some first"
            )));
        }
        Ok(())
    }

    /// Sends a notification to this connection alone, unless it opted out of the method; like
    /// every notice, dropped when the connection's queue is full.
    pub fn notify<N: agentd_protocol::ServerNotification>(&self, notice: &N) {
        if self.opt_out.contains(N::METHOD) {
            return;
        }
        if let Ok(params) = serde_json::to_string(notice) {
            let _ = self
                .out
                .try_send(crate::threads::frame_for(N::METHOD, &params));
        }
    }

    pub fn subscriber(&self) -> Subscriber {
        Subscriber {
            conn: self.conn,
            tx: self.out.clone(),
            opt_out: self.opt_out.clone(),
            conn_info: self.info.clone(),
        }
    }
}

enum Work {
    One(Incoming),
    Batch(Vec<Decoded>),
}

/// Serves one connection until the peer closes it.
pub async fn serve(daemon: Arc<Daemon>, link: Link) {
    let conn = daemon.next_connection_id();
    let Link {
        mut inbound,
        outbound,
        peer,
        scope,
        permit: _permit,
    } = link;
    daemon.count_connection(true);
    tracing::debug!(conn, %peer, %scope, "connection opened");
    let (work_tx, work_rx) = mpsc::channel::<Work>(daemon.limits.request_queue);
    let mut info = ConnInfo::new(conn);
    info.observe_only = !scope.allows(crate::auth::ANSWER_APPROVALS);
    let info = Arc::new(info);
    let worker = tokio::spawn(work(
        daemon.clone(),
        info.clone(),
        outbound.clone(),
        work_rx,
        scope,
    ));

    while let Some(frame) = inbound.recv().await {
        let rejected = |error: RpcError| Rejected { id: None, error };
        let work = match frame {
            Inbound::Text(text) => match decode(&text) {
                Frame::Single(Ok(Incoming::Response { id, outcome })) => {
                    daemon.server_request_answered(&info, id, outcome).await;
                    continue;
                }
                Frame::Single(Ok(msg)) => Work::One(msg),
                Frame::Single(Err(r)) => {
                    if send(&outbound, error_frame(r)).await.is_err() {
                        break;
                    }
                    continue;
                }
                Frame::Batch(items) => Work::Batch(items),
            },
            Inbound::TooLarge { len, limit } => {
                let r = rejected(RpcError::invalid_request(format!(
                    "message of {len} bytes exceeds the {limit}-byte limit; it was dropped"
                )));
                if send(&outbound, error_frame(r)).await.is_err() {
                    break;
                }
                continue;
            }
            Inbound::Binary => {
                let r = rejected(RpcError::invalid_request(
                    "binary frames are not supported; send each JSON message as a text frame",
                ));
                if send(&outbound, error_frame(r)).await.is_err() {
                    break;
                }
                continue;
            }
            Inbound::NotUtf8 => {
                let r = rejected(RpcError::parse_error("the message is not valid UTF-8"));
                if send(&outbound, error_frame(r)).await.is_err() {
                    break;
                }
                continue;
            }
        };
        if let Err(mpsc::error::TrySendError::Full(work)) = work_tx.try_send(work) {
            if overloaded(&outbound, work).await.is_err() {
                break;
            }
        }
    }
    drop(work_tx);
    let _ = worker.await;
    daemon.stop_listening(conn);
    daemon.count_connection(false);
    tracing::debug!(conn, %peer, "connection closed");
}

/// Answers every request in work the queue had no room for with -32001.
async fn overloaded(out: &mpsc::Sender<Bytes>, work: Work) -> Result<(), ()> {
    let ids: Vec<RequestId> = match work {
        Work::One(Incoming::Request { id, .. }) => vec![id],
        Work::One(_) => Vec::new(),
        Work::Batch(items) => items
            .into_iter()
            .filter_map(|d| match d {
                Ok(Incoming::Request { id, .. }) => Some(id),
                _ => None,
            })
            .collect(),
    };
    for id in ids {
        let r = Rejected {
            id: Some(id),
            error: RpcError::overloaded(),
        };
        send(out, error_frame(r)).await?;
    }
    Ok(())
}

async fn send(out: &mpsc::Sender<Bytes>, frame: Bytes) -> Result<(), ()> {
    out.send(frame).await.map_err(|_| ())
}

async fn work(
    daemon: Arc<Daemon>,
    info: Arc<ConnInfo>,
    out: mpsc::Sender<Bytes>,
    mut rx: mpsc::Receiver<Work>,
    scope: Scope,
) {
    let conn = info.id;
    let mut session = Session {
        conn,
        out,
        client_name: None,
        opt_out: Arc::new(HashSet::new()),
        subscriptions: HashSet::new(),
        info,
        scope,
    };
    while let Some(work) = rx.recv().await {
        let ok = match work {
            Work::One(msg) => {
                let (reply, after) = handle(&daemon, &mut session, msg).await;
                let sent = match reply {
                    Some(frame) => send(&session.out, frame).await.is_ok(),
                    None => true,
                };
                if let Some(c) = after {
                    c.start();
                }
                sent
            }
            Work::Batch(items) => {
                let mut replies: Vec<Bytes> = Vec::new();
                let mut afters = Vec::new();
                for item in items {
                    let (reply, after) = match item {
                        Ok(msg) => handle(&daemon, &mut session, msg).await,
                        Err(r) => (Some(error_frame(r)), None),
                    };
                    replies.extend(reply);
                    afters.extend(after);
                }
                let sent =
                    replies.is_empty() || send(&session.out, join_batch(&replies)).await.is_ok();
                for c in afters {
                    c.start();
                }
                sent
            }
        };
        if !ok {
            break;
        }
    }
    let subs: Vec<String> = session.subscriptions.drain().collect();
    daemon.hub.unsubscribe_all(conn, &subs).await;
}

/// Handles one message; returns the frame to answer with (none for notifications) and a
/// catch-up to start once that answer is queued.
async fn handle(
    daemon: &Daemon,
    session: &mut Session,
    msg: Incoming,
) -> (Option<Bytes>, Option<CatchUp>) {
    match msg {
        Incoming::Request { id, method, params } => {
            match dispatch(daemon, session, &method, params).await {
                Ok(answer) => (Some(result_frame(id, &answer)), answer.after),
                Err(error) => (
                    Some(error_frame(Rejected {
                        id: Some(id),
                        error,
                    })),
                    None,
                ),
            }
        }
        Incoming::Notification { method, .. } => {
            if method != agentd_protocol::methods::INITIALIZED_NOTIFICATION {
                tracing::debug!(conn = session.conn, %method, "ignoring a client notification");
            }
            (None, None)
        }
        Incoming::Response { id, outcome } => {
            daemon
                .server_request_answered(&session.info, id, outcome)
                .await;
            (None, None)
        }
    }
}

/// `{"jsonrpc":"2.0","id":ID,"result":RESULT}` — the bytes `serde_json` writes for a
/// `jsonrpc::Response` — built by concatenation, so a result that is already JSON text (megabytes
/// for a long thread's `thread/read`) is copied once instead of parsed and written again.
fn result_frame(id: RequestId, answer: &Answer) -> Bytes {
    let id = match serde_json::to_string(&id) {
        Ok(id) => id,
        Err(e) => {
            let error = RpcError::internal("serialising a request id", e);
            return error_frame(Rejected { id: None, error });
        }
    };
    let result = answer.result();
    let mut frame = Vec::with_capacity(result.len() + id.len() + 40);
    frame.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
    frame.extend_from_slice(id.as_bytes());
    frame.extend_from_slice(b",\"result\":");
    frame.extend_from_slice(result.as_bytes());
    frame.push(b'}');
    Bytes::from(frame)
}

fn error_frame(r: Rejected) -> Bytes {
    let resp = ErrorResponse {
        jsonrpc: Version,
        id: r.id,
        error: r.error.0,
    };
    Bytes::from(serde_json::to_vec(&resp).unwrap_or_else(|e| {
        tracing::error!(error = %e, "could not serialise an error");
        b"{}".to_vec()
    }))
}

fn join_batch(replies: &[Bytes]) -> Bytes {
    let mut buf = Vec::with_capacity(replies.iter().map(|r| r.len() + 1).sum::<usize>() + 2);
    buf.push(b'[');
    for (i, r) in replies.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.extend_from_slice(r);
    }
    buf.push(b']');
    Bytes::from(buf)
}

#[cfg(test)]
mod tests {
    use agentd_protocol::jsonrpc::Response;
    use serde_json::{json, Value};

    use super::*;
    use crate::rpc::dispatch::Handled;

    /// The frame built by concatenation is exactly what serialising a `Response` writes.
    #[test]
    fn result_frames_are_what_serde_writes_for_a_response() {
        let results = [
            json!({}),
            json!(null),
            json!({"thread": {"turns": [{"items": [{"text": "é \"q\"\n\\ 🦀 \u{0001}"}]}]}}),
            json!([1, 2.5, "x"]),
        ];
        let ids = [
            RequestId::Integer(7),
            RequestId::Integer(-1),
            RequestId::String("id with \"quotes\" and ü".into()),
        ];
        for result in &results {
            for id in &ids {
                let answer = Handled::new(result).unwrap().into_answer().unwrap();
                let frame = result_frame(id.clone(), &answer);
                let want = serde_json::to_vec(&Response {
                    jsonrpc: Version,
                    id: id.clone(),
                    result: result.clone(),
                })
                .unwrap();
                assert_eq!(
                    std::str::from_utf8(&frame).unwrap(),
                    std::str::from_utf8(&want).unwrap()
                );
            }
        }
    }

    /// Spliced JSON text reaches the frame as it is, and the frame stays one JSON value.
    #[test]
    fn spliced_text_goes_into_the_frame_verbatim() {
        let items = r#"[{"type":"agentMessage","text":"line\nnext \"q\" \u00e9"}]"#;
        let answer = Handled::new(json!({"thread": {"id": "t", "turns": []}}))
            .unwrap()
            .into_answer_with(&["thread", "turns"], items)
            .unwrap();
        let frame = result_frame(RequestId::Integer(3), &answer);
        let text = std::str::from_utf8(&frame).unwrap();
        assert!(text.contains(items), "{text}");
        let parsed: Value = serde_json::from_str(text).unwrap();
        assert_eq!(parsed["id"], 3);
        assert_eq!(parsed["jsonrpc"], "2.0");
        assert_eq!(
            parsed["result"]["thread"]["turns"][0]["text"],
            "line\nnext \"q\" é"
        );
    }
}
