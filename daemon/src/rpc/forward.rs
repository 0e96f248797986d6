//! Requests for a thread another daemon runs (PostgreSQL store; docs/decisions/018).
//!
//! A request that changes a thread (`turn/start`, `turn/steer`, `turn/interrupt`, approval
//! answers, renames, archiving, rollback, compaction, deletion) must run on the daemon holding
//! the thread's lease. When that is another daemon, this one writes the request into the
//! database with a `NOTIFY` ([`forward`]); the holder runs it through its own dispatch, with
//! the caller's scope, and writes the JSON-RPC answer into the same row ([`serve`]), which
//! comes back to the caller unchanged. A holder that dies before claiming the request has it
//! withdrawn and the request routed again (now to whoever took the thread over); one that dies
//! after claiming it makes it fail as retryable, since it may or may not have run.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use agentd_protocol::jsonrpc::ErrorObject;
use agentd_protocol::method::ClientMethod;
use agentd_protocol::methods::{
    ThreadArchive, ThreadCompactStart, ThreadDelete, ThreadRevert, ThreadRollback, ThreadSetName,
    ThreadUnarchive, TurnInterrupt, TurnStart, TurnSteer,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{mpsc, Semaphore};

use super::connection::Session;
use super::dispatch::{Answer, Handled};
use super::error::RpcError;
use crate::auth::Scope;
use crate::daemon::Daemon;
use crate::store::postgres::{ForwardedCommand, LeaseHolder, PgStore, Wake};
use crate::threads::{ConnInfo, Route};

/// How often a waiting forwarder looks at its answer row when no wake-up came.
const POLL: Duration = Duration::from_millis(500);

/// The methods that must run where the thread runs.
fn forwarded(method: &str) -> bool {
    [
        TurnStart::METHOD,
        TurnSteer::METHOD,
        TurnInterrupt::METHOD,
        ThreadSetName::METHOD,
        ThreadArchive::METHOD,
        ThreadUnarchive::METHOD,
        ThreadRollback::METHOD,
        ThreadRevert::METHOD,
        ThreadCompactStart::METHOD,
        ThreadDelete::METHOD,
    ]
    .contains(&method)
}

/// How many times a request may be sent on by a daemon that lost the thread since it was
/// forwarded to it (each take-over in between is one more).
const MAX_HOPS: u32 = 3;

/// Forwarded requests this daemon runs at once; more wait in the database, unclaimed.
const ANSWERING: usize = 64;

/// What travels with a forwarded request: its params and who asked.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Envelope {
    params: Option<Value>,
    scope: Scope,
    client_name: String,
    /// Daemons it was sent on from (none for the first).
    #[serde(default)]
    hops: u32,
}

/// The holder's answer: exactly one of the two.
#[derive(Debug, Serialize, Deserialize)]
struct Reply {
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorObject>,
}

/// Runs the request on the thread's holder when that is another daemon; `None` when it runs
/// here.
pub async fn route(
    daemon: &Daemon,
    session: &Session,
    method: &str,
    params: &Option<Value>,
) -> Option<Result<Answer, RpcError>> {
    let pg = daemon.hub.store().shared()?;
    if !forwarded(method) {
        return None;
    }
    let thread_id = params.as_ref()?.get("threadId")?.as_str()?.to_owned();
    let holder = match daemon.hub.route(&thread_id).await {
        Ok(Route::Local) => return None,
        Ok(Route::Remote(holder)) => holder,
        Err(e) => return Some(Err(e.into())),
    };
    let envelope = Envelope {
        params: params.clone(),
        scope: session.scope,
        client_name: session.client_name.clone().unwrap_or_default(),
        hops: 0,
    };
    let answer = forward(daemon, pg, &holder, &thread_id, method, &envelope).await;
    Some(answer.and_then(|reply| {
        match (reply.result, reply.error) {
            (_, Some(error)) => Err(RpcError(error)),
            (result, None) => Handled {
                result: result.unwrap_or(Value::Null),
                after: None,
            }
            .into_answer(),
        }
    }))
}

/// Queues the request for `holder` and waits for its answer.
async fn forward(
    daemon: &Daemon,
    pg: &PgStore,
    holder: &LeaseHolder,
    thread_id: &str,
    method: &str,
    envelope: &Envelope,
) -> Result<Reply, RpcError> {
    let body = serde_json::to_string(envelope)
        .map_err(|e| RpcError::internal("forwarding a request", e))?;
    // Subscribed before the row exists, so the answer's wake-up cannot be missed.
    let mut wakes = pg.wakes();
    let id = pg
        .forward_command(thread_id, &holder.owner, method, &body)
        .await?;
    let deadline =
        tokio::time::Instant::now() + crate::threads::forward_patience(pg.lease_length());
    loop {
        if let Some(text) = pg.command_answer(id).await? {
            let _ = pg.forget_command(id).await;
            return serde_json::from_str(&text)
                .map_err(|e| RpcError::internal("reading a forwarded answer", e));
        }
        if holder_gone(pg, thread_id, holder).await && pg.withdraw_command(id).await? {
            // Never claimed: safe to route again, to whoever holds the thread now.
            return retry(daemon, pg, thread_id, method, envelope).await;
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(gave_up(pg, id, holder, thread_id).await);
        }
        tokio::select! {
            _ = wakes.recv() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
    }
}

/// The error for a request its holder did not answer in time. Withdrawn unclaimed, it never
/// ran and may be sent again; claimed, it may have run, and sending it again could run it twice.
async fn gave_up(pg: &PgStore, id: i64, holder: &LeaseHolder, thread_id: &str) -> RpcError {
    let who = format!("daemon {} on {}", holder.owner, holder.host);
    match pg.withdraw_command(id).await {
        Ok(true) => RpcError::unavailable(format!(
            "{who} holds thread {thread_id} but did not take the request"
        )),
        _ => RpcError::new(
            agentd_protocol::jsonrpc::INTERNAL_ERROR,
            format!(
                "{who} took the request for thread {thread_id} but did not answer: it may or may \
                 not have run; read the thread before sending it again"
            ),
        ),
    }
}

async fn holder_gone(pg: &PgStore, thread_id: &str, holder: &LeaseHolder) -> bool {
    !matches!(pg.lease_holder(thread_id).await, Ok(Some(h)) if h.owner == holder.owner)
}

/// Routes a withdrawn request again: here if this daemon can take the thread now.
async fn retry(
    daemon: &Daemon,
    pg: &PgStore,
    thread_id: &str,
    method: &str,
    envelope: &Envelope,
) -> Result<Reply, RpcError> {
    match daemon.hub.route(thread_id).await? {
        Route::Remote(holder) => {
            Box::pin(forward(daemon, pg, &holder, thread_id, method, envelope)).await
        }
        Route::Local => Ok(run(daemon, method, envelope).await),
    }
}

/// Serves requests other daemons forward to this one, for as long as the daemon lives.
pub fn serve(daemon: Arc<Daemon>) {
    let Some(pg) = daemon.hub.store().shared().cloned() else {
        return;
    };
    let me = pg.node().id.clone();
    let mut wakes = pg.wakes();
    let stop = daemon.background.clone();
    let answering = Arc::new(Semaphore::new(ANSWERING));
    tokio::spawn(stop.run_until_cancelled_owned(async move {
        loop {
            // Claims only what it can start now; the rest stays for the next round (or, its
            // forwarder having given up waiting, is withdrawn).
            let Ok(first) = answering.clone().acquire_owned().await else {
                return;
            };
            let room = answering.available_permits() + 1;
            match pg.claim_commands(room).await {
                Ok(commands) => {
                    // More may be waiting: claim again at once instead of after a wake-up.
                    let full = commands.len() >= room;
                    let mut permit = Some(first);
                    for c in commands {
                        // Only this loop takes permits, so these are free; waiting keeps every
                        // claimed command answered even if that changes.
                        let permit = match permit.take() {
                            Some(p) => p,
                            None => match answering.clone().acquire_owned().await {
                                Ok(p) => p,
                                Err(_) => return,
                            },
                        };
                        let (daemon, pg) = (daemon.clone(), pg.clone());
                        tokio::spawn(async move {
                            answer(daemon, pg, c).await;
                            drop(permit);
                        });
                    }
                    if full {
                        continue;
                    }
                }
                Err(e) => tracing::debug!(error = %e, "cannot read forwarded requests"),
            }
            loop {
                tokio::select! {
                    wake = wakes.recv() => match wake {
                        Ok(Wake::Command { target }) if target == me => break,
                        Ok(Wake::Resync) | Err(_) => break,
                        Ok(_) => continue,
                    },
                    _ = tokio::time::sleep(POLL) => break,
                }
            }
        }
    }));
}

/// Runs one forwarded request and stores its answer.
async fn answer(daemon: Arc<Daemon>, pg: PgStore, c: ForwardedCommand) {
    if c.method == crate::threads::APPROVAL_ANSWER {
        // Nobody waits for this one: answers travel one way, like a client's response.
        daemon
            .hub
            .apply_remote_answer(&c.thread_id, &c.params)
            .await;
        let _ = pg.answer_command(c.id, "{}").await;
        return;
    }
    let reply = match admit(&c) {
        Ok(envelope) => match daemon.hub.route(&c.thread_id).await {
            // This daemon lost the thread since the request was sent: on to the new holder.
            Ok(Route::Remote(holder)) => {
                let onward = Envelope {
                    hops: envelope.hops + 1,
                    ..envelope
                };
                forward(&daemon, &pg, &holder, &c.thread_id, &c.method, &onward)
                    .await
                    .unwrap_or_else(|e| Reply {
                        result: None,
                        error: Some(e.0),
                    })
            }
            _ => run(&daemon, &c.method, &envelope).await,
        },
        Err(e) => Reply {
            result: None,
            error: Some(e.0),
        },
    };
    let text = serde_json::to_string(&reply).unwrap_or_else(|_| "{}".to_owned());
    if let Err(e) = pg.answer_command(c.id, &text).await {
        tracing::warn!(command = c.id, error = %e, "cannot answer a forwarded request");
    }
}

/// The request of a command row, if it is one a daemon forwards: a row is outside input (any
/// client of the database can write one), so it runs only a method that must run where the
/// thread runs, on the thread the row names, not sent on more than [`MAX_HOPS`] times.
fn admit(c: &ForwardedCommand) -> Result<Envelope, RpcError> {
    if !forwarded(&c.method) {
        return Err(RpcError::invalid_request(format!(
            "forwarded request: {:?} is not a method daemons forward",
            c.method
        )));
    }
    let envelope: Envelope = serde_json::from_str(&c.params)
        .map_err(|e| RpcError::invalid_request(format!("forwarded request: {e}")))?;
    let names = envelope
        .params
        .as_ref()
        .and_then(|p| p.get("threadId"))
        .and_then(Value::as_str);
    if names != Some(c.thread_id.as_str()) {
        return Err(RpcError::invalid_request(
            "forwarded request: its params name another thread than its row",
        ));
    }
    if envelope.hops >= MAX_HOPS {
        return Err(RpcError::unavailable(format!(
            "thread {} changed hands {MAX_HOPS} times while the request was on its way; send it again",
            c.thread_id
        )));
    }
    Ok(envelope)
}

/// Runs a request here, as the forwarding daemon's client would have, and captures its answer.
async fn run(daemon: &Daemon, method: &str, envelope: &Envelope) -> Reply {
    // Notifications meant for the caller alone (a `warning`) have nowhere to go from here.
    let (out, _discarded) = mpsc::channel(16);
    let conn = daemon.next_connection_id();
    let mut session = Session {
        conn,
        out,
        client_name: Some(envelope.client_name.clone()),
        opt_out: Arc::new(HashSet::new()),
        subscriptions: HashSet::new(),
        info: Arc::new(ConnInfo::new(conn)),
        scope: envelope.scope,
    };
    match super::dispatch::dispatch_here(daemon, &mut session, method, envelope.params.clone())
        .await
    {
        Ok(answer) => Reply {
            result: serde_json::from_str(answer.result()).ok(),
            error: None,
        },
        Err(e) => Reply {
            result: None,
            error: Some(e.0),
        },
    }
}
