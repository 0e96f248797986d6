//! A protocol client for tests: sends requests, matches answers by id, keeps notifications in
//! arrival order so tests can assert on exactly what was received.

use std::collections::VecDeque;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{ChildStdin, ChildStdout};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

use crate::harness::TIMEOUT;

enum Outgoing {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Close,
}

/// Splits a `token=T` query parameter off a WebSocket URL: `(url without it, T)`.
pub fn split_token(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), None);
    };
    let mut token = None;
    let mut rest = Vec::new();
    for pair in query.split('&') {
        match pair.strip_prefix("token=") {
            Some(t) => token = Some(t.to_owned()),
            None => rest.push(pair),
        }
    }
    let base = base.trim_end_matches('/');
    let url = if rest.is_empty() {
        format!("{base}/")
    } else {
        format!("{base}/?{}", rest.join("&"))
    };
    (url, token)
}

/// What the reader task delivers.
#[derive(Debug)]
pub enum Received {
    Json(Value),
    /// A frame that was not JSON (should never happen).
    Garbage(String),
    Pong(Vec<u8>),
    Closed,
}

pub struct Client {
    out: mpsc::UnboundedSender<Outgoing>,
    inbox: mpsc::UnboundedReceiver<Received>,
    /// Messages read but not yet consumed by the test.
    pending: VecDeque<Value>,
    next_id: i64,
    paused: watch::Sender<bool>,
    pub pongs: Vec<Vec<u8>>,
    pub closed: bool,
}

impl Client {
    pub async fn connect_ws(url: &str) -> Result<Client> {
        Self::connect_ws_request(url, Vec::new(), None).await
    }

    /// Connects with extra handshake headers and, optionally, a small socket receive buffer (so
    /// a paused client pushes back on the daemon quickly).
    ///
    /// A `token=T` in the URL's query (as [`Agentd::url`](crate::Agentd) carries the token the
    /// daemon printed) is not sent in the URL: it becomes `Authorization: Bearer T`, unless
    /// `headers` already carry an `Authorization` or `Sec-WebSocket-Protocol` of their own.
    pub async fn connect_ws_request(
        url: &str,
        headers: Vec<(String, String)>,
        recv_buffer: Option<u32>,
    ) -> Result<Client> {
        match Self::handshake(url, headers, recv_buffer).await? {
            Ok((client, _)) => Ok(client),
            Err(status) => bail!("websocket handshake: HTTP error: {status}"),
        }
    }

    /// Like [`Client::connect_ws_request`], but a refused handshake is an answer, not an error:
    /// `Ok(Err(status))` for an HTTP refusal (401, 403, …), `Ok(Ok((client, response headers)))`
    /// for an accepted one.
    pub async fn handshake(
        url: &str,
        headers: Vec<(String, String)>,
        recv_buffer: Option<u32>,
    ) -> Result<std::result::Result<(Client, http::HeaderMap), u16>> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let (url, token) = split_token(url);
        let explicit = headers.iter().any(|(k, _)| {
            k.eq_ignore_ascii_case("authorization")
                || k.eq_ignore_ascii_case("sec-websocket-protocol")
        });
        let mut req = url.as_str().into_client_request()?;
        if let (Some(token), false) = (&token, explicit) {
            req.headers_mut().insert(
                http::header::AUTHORIZATION,
                http::HeaderValue::from_str(&format!("Bearer {token}"))?,
            );
        }
        for (k, v) in headers {
            req.headers_mut().insert(
                http::HeaderName::from_bytes(k.as_bytes())?,
                http::HeaderValue::from_str(&v)?,
            );
        }
        let addr = url
            .trim_start_matches("ws://")
            .split(['/', '?'])
            .next()
            .context("bad url")?
            .to_owned();
        let socket = tokio::net::TcpSocket::new_v4()?;
        if let Some(size) = recv_buffer {
            socket.set_recv_buffer_size(size)?;
        }
        let stream = socket
            .connect(addr.parse().context("bad address")?)
            .await
            .context("connecting")?;
        let (ws, response) = match tokio_tungstenite::client_async(req, stream).await {
            Ok(pair) => pair,
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
                return Ok(Err(resp.status().as_u16()))
            }
            Err(e) => return Err(anyhow::Error::new(e).context("websocket handshake")),
        };
        Ok(Ok((Self::over_ws(ws), response.headers().clone())))
    }

    /// A client over an already open WebSocket (e.g. one over TLS the test set up itself).
    pub fn over_ws<S>(ws: tokio_tungstenite::WebSocketStream<S>) -> Client
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (mut sink, mut stream) = ws.split();
        let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Outgoing>();
        let (in_tx, in_rx) = mpsc::unbounded_channel();
        let (paused_tx, mut paused_rx) = watch::channel(false);
        tokio::spawn(async move {
            while let Some(o) = out_rx.recv().await {
                let msg = match o {
                    Outgoing::Text(t) => Message::text(t),
                    Outgoing::Binary(b) => Message::binary(b),
                    Outgoing::Ping(p) => Message::Ping(p.into()),
                    Outgoing::Close => {
                        let _ = sink.send(Message::Close(None)).await;
                        break;
                    }
                };
                if sink.send(msg).await.is_err() {
                    break;
                }
            }
        });
        tokio::spawn(async move {
            loop {
                while *paused_rx.borrow() {
                    if paused_rx.changed().await.is_err() {
                        return;
                    }
                }
                let Some(msg) = stream.next().await else {
                    break;
                };
                let r = match msg {
                    Ok(Message::Text(t)) => match serde_json::from_str(t.as_str()) {
                        Ok(v) => Received::Json(v),
                        Err(_) => Received::Garbage(t.to_string()),
                    },
                    Ok(Message::Pong(p)) => Received::Pong(p.to_vec()),
                    Ok(Message::Close(_)) | Err(_) => break,
                    Ok(_) => continue,
                };
                if in_tx.send(r).is_err() {
                    return;
                }
            }
            let _ = in_tx.send(Received::Closed);
        });
        Client::new(out_tx, in_rx, paused_tx)
    }

    /// Talks NDJSON over a child's stdin/stdout.
    pub fn over_stdio(stdin: ChildStdin, stdout: ChildStdout) -> Client {
        let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Outgoing>();
        let (in_tx, in_rx) = mpsc::unbounded_channel();
        let (paused_tx, mut paused_rx) = watch::channel(false);
        tokio::spawn(async move {
            let mut stdin = stdin;
            while let Some(o) = out_rx.recv().await {
                let bytes = match o {
                    Outgoing::Text(t) => t.into_bytes(),
                    Outgoing::Binary(b) => b,
                    Outgoing::Ping(_) => continue,
                    Outgoing::Close => break,
                };
                if stdin.write_all(&bytes).await.is_err() || stdin.write_all(b"\n").await.is_err() {
                    break;
                }
                let _ = stdin.flush().await;
            }
        });
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            loop {
                while *paused_rx.borrow() {
                    if paused_rx.changed().await.is_err() {
                        return;
                    }
                }
                match lines.next_line().await {
                    Ok(Some(line)) => {
                        let r = match serde_json::from_str(&line) {
                            Ok(v) => Received::Json(v),
                            Err(_) => Received::Garbage(line),
                        };
                        if in_tx.send(r).is_err() {
                            return;
                        }
                    }
                    _ => break,
                }
            }
            let _ = in_tx.send(Received::Closed);
        });
        Client::new(out_tx, in_rx, paused_tx)
    }

    fn new(
        out: mpsc::UnboundedSender<Outgoing>,
        inbox: mpsc::UnboundedReceiver<Received>,
        paused: watch::Sender<bool>,
    ) -> Client {
        Client {
            out,
            inbox,
            pending: VecDeque::new(),
            next_id: 1,
            paused,
            pongs: Vec::new(),
            closed: false,
        }
    }

    /// Sends text exactly as given (for malformed-input tests).
    pub fn send_raw(&self, text: impl Into<String>) -> Result<()> {
        self.out
            .send(Outgoing::Text(text.into()))
            .map_err(|_| anyhow!("connection closed"))
    }

    pub fn send_binary(&self, bytes: Vec<u8>) -> Result<()> {
        self.out
            .send(Outgoing::Binary(bytes))
            .map_err(|_| anyhow!("connection closed"))
    }

    pub fn send_ping(&self, payload: Vec<u8>) -> Result<()> {
        self.out
            .send(Outgoing::Ping(payload))
            .map_err(|_| anyhow!("connection closed"))
    }

    pub fn send_json(&self, v: &Value) -> Result<()> {
        self.send_raw(v.to_string())
    }

    pub fn close(&self) {
        let _ = self.out.send(Outgoing::Close);
    }

    /// Stops (or resumes) reading from the socket, so the daemon sees a slow client.
    pub fn set_paused(&self, paused: bool) {
        let _ = self.paused.send(paused);
    }

    /// Sends a request without waiting; returns its id.
    pub fn send_request(&mut self, method: &str, params: Value) -> Result<i64> {
        let id = self.next_id;
        self.next_id += 1;
        self.send_json(&json!({"jsonrpc":"2.0","id":id,"method":method,"params":params}))?;
        Ok(id)
    }

    async fn read_one(&mut self, timeout: Duration) -> Result<Value> {
        loop {
            let r = tokio::time::timeout(timeout, self.inbox.recv())
                .await
                .map_err(|_| anyhow!("timed out after {timeout:?} waiting for a message"))?;
            match r {
                Some(Received::Json(v)) => return Ok(v),
                Some(Received::Garbage(g)) => bail!("daemon sent non-JSON: {g}"),
                Some(Received::Pong(p)) => self.pongs.push(p),
                Some(Received::Closed) | None => {
                    self.closed = true;
                    bail!("connection closed")
                }
            }
        }
    }

    /// The next message of any kind (buffered ones first).
    pub async fn next_message(&mut self, timeout: Duration) -> Result<Value> {
        if let Some(v) = self.pending.pop_front() {
            return Ok(v);
        }
        self.read_one(timeout).await
    }

    /// Waits for the answer with this id, buffering everything else in order.
    pub async fn response(&mut self, id: &Value) -> Result<Value> {
        if let Some(pos) = self.pending.iter().position(|m| is_answer_to(m, id)) {
            return Ok(self.pending.remove(pos).unwrap_or_default());
        }
        loop {
            let m = self.read_one(TIMEOUT).await?;
            if is_answer_to(&m, id) {
                return Ok(m);
            }
            self.pending.push_back(m);
        }
    }

    /// Sends a request and returns the whole answer message (result or error).
    pub async fn request(&mut self, method: &str, params: Value) -> Result<Value> {
        let id = self.send_request(method, params)?;
        self.response(&json!(id)).await
    }

    /// Sends a request and returns its `result`, failing on an error answer.
    pub async fn call(&mut self, method: &str, params: Value) -> Result<Value> {
        let resp = self.request(method, params).await?;
        if let Some(err) = resp.get("error") {
            bail!("{method} failed: {err}");
        }
        resp.get("result")
            .cloned()
            .ok_or_else(|| anyhow!("answer without result: {resp}"))
    }

    pub async fn initialize(&mut self, name: &str) -> Result<Value> {
        let r = self
            .call(
                "initialize",
                json!({"clientInfo": {"name": name, "version": "0.0.0"}}),
            )
            .await?;
        self.send_json(&json!({"jsonrpc":"2.0","method":"initialized"}))?;
        Ok(r)
    }

    /// The next notification (skipping nothing: answers in between are an error).
    pub async fn next_notification(&mut self) -> Result<Value> {
        let m = self.next_message(TIMEOUT).await?;
        if m.get("method").is_none() {
            bail!("expected a notification, got {m}");
        }
        Ok(m)
    }

    /// Reads until a notification with this method arrives; returns it and drops what came
    /// before it.
    pub async fn wait_for(&mut self, method: &str) -> Result<Value> {
        loop {
            let m = self.next_message(TIMEOUT).await?;
            if m.get("method").and_then(Value::as_str) == Some(method) {
                return Ok(m);
            }
        }
    }

    /// Everything that arrives within `quiet` of the previous message.
    pub async fn drain(&mut self, quiet: Duration) -> Vec<Value> {
        let mut out: Vec<Value> = self.pending.drain(..).collect();
        while let Ok(m) = self.read_one(quiet).await {
            out.push(m);
        }
        out
    }

    /// Waits for a server→client request with this method (an approval), keeping everything
    /// else that arrives meanwhile buffered, in order, for later reads.
    pub async fn server_request(&mut self, method: &str) -> Result<Value> {
        let is_it = |m: &Value| m.get("id").is_some() && m["method"] == method;
        if let Some(pos) = self.pending.iter().position(is_it) {
            return Ok(self.pending.remove(pos).unwrap_or_default());
        }
        loop {
            let m = self
                .read_one(TIMEOUT)
                .await
                .with_context(|| format!("waiting for a {method} request"))?;
            if is_it(&m) {
                return Ok(m);
            }
            self.pending.push_back(m);
        }
    }

    /// Answers a server→client request with `result`.
    pub fn respond(&self, request: &Value, result: Value) -> Result<()> {
        let id = request.get("id").context("not a request")?;
        self.send_json(&json!({"jsonrpc": "2.0", "id": id, "result": result}))
    }

    /// Starts a thread and returns its id, consuming the `thread/started` notification.
    pub async fn start_thread(&mut self, params: Value) -> Result<String> {
        let r = self.call("thread/start", params).await?;
        let id = r["thread"]["id"]
            .as_str()
            .context("thread/start without thread.id")?
            .to_owned();
        self.wait_for("thread/started").await?;
        Ok(id)
    }
}

impl Client {
    /// Sends `{"id": id, "method": method, "params": params}` exactly (no `"jsonrpc"`, as Codex
    /// clients send it) and returns the whole answer, for tests that need string ids.
    pub async fn request_with_id(
        &mut self,
        id: Value,
        method: &str,
        params: Value,
    ) -> Result<Value> {
        self.send_json(&json!({"id": id, "method": method, "params": params}))?;
        self.response(&id).await
    }

    /// Sends many requests keeping at most `window` unanswered at a time, and returns their
    /// answers (whole messages) in request order. Everything else that arrives meanwhile stays
    /// buffered, in order, for the next read.
    pub async fn request_pipelined(
        &mut self,
        calls: impl IntoIterator<Item = (String, Value)>,
        window: usize,
    ) -> Result<Vec<Value>> {
        let window = window.max(1);
        let mut in_flight: VecDeque<i64> = VecDeque::new();
        let mut answers = Vec::new();
        for (method, params) in calls {
            if in_flight.len() >= window {
                let id = in_flight.pop_front().expect("window is not empty");
                answers.push(self.response(&json!(id)).await?);
            }
            in_flight.push_back(self.send_request(&method, params)?);
        }
        for id in in_flight {
            answers.push(self.response(&json!(id)).await?);
        }
        Ok(answers)
    }

    /// As [`Client::request_pipelined`], failing on the first error answer; returns the results.
    pub async fn call_pipelined(
        &mut self,
        calls: impl IntoIterator<Item = (String, Value)>,
        window: usize,
    ) -> Result<Vec<Value>> {
        self.request_pipelined(calls, window)
            .await?
            .into_iter()
            .map(|m| match m.get("result") {
                Some(r) => Ok(r.clone()),
                None => Err(anyhow!("error answer: {m}")),
            })
            .collect()
    }

    /// Collects this thread's notifications (those whose `params.threadId`, or for
    /// `thread/started` `params.thread.id`, is `thread_id`) in arrival order until one with
    /// `params.seq >= through_seq` arrives. Other messages are kept, in order, for later reads.
    /// A `thread/resyncRequired` for the thread is an error: the sequence stops there.
    pub async fn thread_events(&mut self, thread_id: &str, through_seq: u64) -> Result<Vec<Value>> {
        self.thread_events_within(thread_id, through_seq, TIMEOUT)
            .await
    }

    /// The thread's whole log as a new subscriber replays it (`thread/resume` from seq 0,
    /// without turns), through `through_seq`: what the store holds, to compare with what was
    /// sent live.
    pub async fn replayed_log(&mut self, thread_id: &str, through_seq: u64) -> Result<Vec<Value>> {
        self.call(
            "thread/resume",
            json!({"threadId": thread_id, "afterSeq": 0, "excludeTurns": true}),
        )
        .await?;
        self.thread_events(thread_id, through_seq).await
    }

    /// [`Client::thread_events`] with an overall deadline.
    pub async fn thread_events_within(
        &mut self,
        thread_id: &str,
        through_seq: u64,
        within: Duration,
    ) -> Result<Vec<Value>> {
        let deadline = tokio::time::Instant::now() + within;
        let mut events = Vec::new();
        let mut others = Vec::new();
        let mut buffered: VecDeque<Value> = self.pending.drain(..).collect();
        let result = loop {
            let m = match buffered.pop_front() {
                Some(m) => m,
                None => {
                    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                    match self.read_one(left).await {
                        Ok(m) => m,
                        Err(e) => {
                            break Err(e.context(format!(
                                "waiting for seq {through_seq} of thread {thread_id}; got {} \
                                 events, last {:?}",
                                events.len(),
                                events.last().and_then(seq_of)
                            )))
                        }
                    }
                }
            };
            if event_thread_id(&m) == Some(thread_id) {
                if m["method"] == "thread/resyncRequired" {
                    events.push(m.clone());
                    break Err(anyhow!(
                        "waiting for seq {through_seq} of thread {thread_id}, got {m} after {} \
                         events",
                        events.len() - 1
                    ));
                }
                let done = seq_of(&m).is_some_and(|s| s >= through_seq);
                events.push(m);
                if done {
                    break Ok(());
                }
            } else {
                others.push(m);
            }
        };
        // Put back what was not ours, ahead of anything still buffered.
        others.extend(buffered);
        others.extend(self.pending.drain(..));
        self.pending = others.into();
        result.map(|()| events)
    }

    /// This thread's notifications with a `seq` above `after_seq` that the daemon has committed so
    /// far, in arrival order: asks `thread/read` for the thread's `lastSeq`, then collects the
    /// thread's notifications through it (none when `lastSeq` is not above `after_seq`). Events
    /// are committed before they are sent, so this is everything that followed `after_seq` by the
    /// time the read was answered — the positive signal to wait on before asserting that some
    /// event did *not* follow. Other messages are kept, in order, for later reads.
    pub async fn events_after(&mut self, thread_id: &str, after_seq: u64) -> Result<Vec<Value>> {
        let read = self
            .call("thread/read", json!({"threadId": thread_id}))
            .await?;
        let head = read["thread"]["lastSeq"]
            .as_u64()
            .with_context(|| format!("thread/read without thread.lastSeq: {read}"))?;
        if head <= after_seq {
            return Ok(Vec::new());
        }
        let events = self.thread_events(thread_id, head).await?;
        Ok(events
            .into_iter()
            .filter(|e| seq_of(e).is_none_or(|s| s > after_seq))
            .collect())
    }

    /// Everything already received and not yet consumed (buffered messages first), without
    /// waiting for more.
    pub fn take_received(&mut self) -> Vec<Value> {
        let mut out: Vec<Value> = self.pending.drain(..).collect();
        while let Ok(r) = self.inbox.try_recv() {
            match r {
                Received::Json(v) => out.push(v),
                Received::Garbage(g) => panic!("daemon sent non-JSON: {g}"),
                Received::Pong(p) => self.pongs.push(p),
                Received::Closed => {
                    self.closed = true;
                    break;
                }
            }
        }
        out
    }

    /// Reads until a pong arrives (keeping other messages for later reads); returns its payload.
    pub async fn wait_for_pong(&mut self, timeout: Duration) -> Result<Vec<u8>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if !self.pongs.is_empty() {
                return Ok(self.pongs.remove(0));
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.inbox.recv()).await {
                Err(_) => bail!("no pong within {timeout:?}"),
                Ok(Some(Received::Json(v))) => self.pending.push_back(v),
                Ok(Some(Received::Garbage(g))) => bail!("daemon sent non-JSON: {g}"),
                Ok(Some(Received::Pong(p))) => self.pongs.push(p),
                Ok(Some(Received::Closed)) | Ok(None) => {
                    self.closed = true;
                    bail!("connection closed while waiting for a pong")
                }
            }
        }
    }

    /// Every message until the peer closes the connection (buffered ones first). Fails if the
    /// peer sends anything that is not JSON, or does not close within `timeout`.
    pub async fn read_until_closed(&mut self, timeout: Duration) -> Result<Vec<Value>> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut out: Vec<Value> = self.pending.drain(..).collect();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.inbox.recv()).await {
                Err(_) => bail!("the connection did not close within {timeout:?}"),
                Ok(Some(Received::Json(v))) => out.push(v),
                Ok(Some(Received::Garbage(g))) => bail!("daemon sent non-JSON: {g}"),
                Ok(Some(Received::Pong(p))) => self.pongs.push(p),
                Ok(Some(Received::Closed)) | Ok(None) => {
                    self.closed = true;
                    return Ok(out);
                }
            }
        }
    }

    /// Whether a message is already buffered (read from the connection but not yet consumed).
    pub fn has_buffered(&self) -> bool {
        !self.pending.is_empty()
    }
}

/// The thread a notification is about: `params.threadId`, or `params.thread.id` for
/// `thread/started`.
pub fn event_thread_id(m: &Value) -> Option<&str> {
    m.get("method")?;
    let p = m.get("params")?;
    p.get("threadId")
        .and_then(Value::as_str)
        .or_else(|| p.get("thread")?.get("id")?.as_str())
}

/// `params.seq` of a thread notification.
pub fn seq_of(m: &Value) -> Option<u64> {
    m.get("params")?.get("seq")?.as_u64()
}

/// `error.code` of an error answer.
pub fn error_code(m: &Value) -> Option<i64> {
    m.get("error")?.get("code")?.as_i64()
}

fn is_answer_to(m: &Value, id: &Value) -> bool {
    m.get("method").is_none() && m.get("id") == Some(id)
}
