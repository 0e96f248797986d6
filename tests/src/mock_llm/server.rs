//! The loopback HTTP server: accepts connections, records each model
//! request, hands it the next scripted answer and plays that answer as a
//! live, flushed-per-event SSE stream.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming};
use hyper::header::{HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

use super::faults::{self, Fault};
use super::record::{pairing_violations, RecordedRequest};
use super::script::Scripted;
use super::sse::Action;
use super::{chat, responses};

/// How to start a [`MockLlm`]. `MockConfig::default()` is what
/// [`MockLlm::start`] uses: any free port, answers consumed once.
#[derive(Clone, Debug, Default)]
pub struct MockConfig {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Answers, consumed in FIFO order.
    pub script: Vec<Scripted>,
    /// Put every consumed answer back at the end of the queue, so the
    /// script loops forever (demo and benchmark servers).
    pub cycle: bool,
    /// Serve a Responses script to a Chat Completions request by
    /// translating it, so one canned script suits either provider kind
    /// (demo and benchmark servers). Off in tests: a mismatch is a bug there.
    pub adapt_to_endpoint: bool,
}

/// A running scripted model server. Dropping it stops the server and ends
/// every open stream.
pub struct MockLlm {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

/// State shared by the server tasks and the test's handle.
struct Shared {
    state: Mutex<State>,
    cycle: bool,
    adapt: bool,
    /// Starts with no permits: each `release(n)` lets n gates pass.
    gate: Semaphore,
    request_count: watch::Sender<usize>,
    gates_reached: watch::Sender<usize>,
    /// Streams whose script is still being played.
    open_streams: watch::Sender<usize>,
    serial: AtomicU64,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Scripted>,
    /// Answers for requests whose last input item mentions a marker, taken before the main
    /// queue: how concurrent conversations (sub-agents) get their own scripts.
    routed: Vec<(String, VecDeque<Scripted>)>,
    requests: Vec<RecordedRequest>,
    violations: Vec<String>,
}

impl Shared {
    /// A poisoned lock only means a test panicked elsewhere; the data is
    /// still fine to read.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl MockLlm {
    /// Binds 127.0.0.1 on a free port and serves `script` in the background.
    pub async fn start(script: Vec<Scripted>) -> anyhow::Result<MockLlm> {
        MockLlm::start_with(MockConfig {
            script,
            ..MockConfig::default()
        })
        .await
    }

    /// Starts a server with explicit options (fixed port, looping script).
    pub async fn start_with(config: MockConfig) -> anyhow::Result<MockLlm> {
        let listener = TcpListener::bind(("127.0.0.1", config.port))
            .await
            .with_context(|| format!("mock-llm: cannot bind 127.0.0.1:{}", config.port))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queue: config.script.into(),
                ..State::default()
            }),
            cycle: config.cycle,
            adapt: config.adapt_to_endpoint,
            gate: Semaphore::new(0),
            request_count: watch::Sender::new(0),
            gates_reached: watch::Sender::new(0),
            open_streams: watch::Sender::new(0),
            serial: AtomicU64::new(0),
        });
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        Ok(MockLlm { addr, shared, task })
    }

    /// `http://127.0.0.1:PORT/v1`, the value for a provider's `base_url`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Appends an answer to the script while the server runs.
    pub fn push(&self, scripted: Scripted) {
        self.shared.lock().queue.push_back(scripted);
    }

    /// Appends an answer for the requests whose last input item (the newest message or tool
    /// output) contains `marker`; those take from here before the main queue.
    pub fn push_when_last(&self, marker: &str, scripted: Scripted) {
        let mut state = self.shared.lock();
        match state.routed.iter_mut().find(|(m, _)| m == marker) {
            Some((_, queue)) => queue.push_back(scripted),
            None => state
                .routed
                .push((marker.to_owned(), VecDeque::from([scripted]))),
        }
    }

    /// How many scripted answers have not been consumed yet.
    pub fn remaining(&self) -> usize {
        self.shared.lock().queue.len()
    }

    /// Every model request received so far, in arrival order (including
    /// ones answered with "no scripted response left").
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Waits until at least `n` requests were received, then returns all.
    pub async fn wait_for_requests(
        &self,
        n: usize,
        timeout: Duration,
    ) -> anyhow::Result<Vec<RecordedRequest>> {
        let mut rx = self.shared.request_count.subscribe();
        let reached = tokio::time::timeout(timeout, rx.wait_for(|count| *count >= n)).await;
        if reached.is_err() {
            let got: Vec<String> = self.requests().into_iter().map(|r| r.path).collect();
            anyhow::bail!(
                "mock-llm: waited {timeout:?} for {n} request(s), got {}: {got:?}",
                got.len()
            );
        }
        Ok(self.requests())
    }

    /// Tool-call pairing problems found in any request body so far.
    pub fn pairing_violations(&self) -> Vec<String> {
        self.shared.lock().violations.clone()
    }

    /// Panics with the list if any request broke tool-call pairing.
    #[track_caller]
    pub fn assert_pairing_ok(&self) {
        let v = self.pairing_violations();
        assert!(
            v.is_empty(),
            "tool-call pairing violations:\n{}",
            v.join("\n")
        );
    }

    /// Lets `n` streams waiting at (or later reaching) a gate step go on.
    pub fn release(&self, n: usize) {
        self.shared.gate.add_permits(n);
    }

    /// How many times a stream has arrived at a gate step so far.
    pub fn gates_reached(&self) -> usize {
        *self.shared.gates_reached.borrow()
    }

    /// Waits until streams have arrived at gate steps `n` times in total:
    /// everything scripted before the gate has then been written.
    pub async fn wait_for_gates(&self, n: usize, timeout: Duration) -> anyhow::Result<()> {
        let mut rx = self.shared.gates_reached.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|count| *count >= n))
            .await
            .map(|_| ())
            .map_err(|_| {
                anyhow::anyhow!(
                    "mock-llm: waited {timeout:?} for {n} gate arrival(s), got {}",
                    self.gates_reached()
                )
            })
    }

    /// How many streamed answers are still being played (not yet fully
    /// written, and their client has not hung up).
    pub fn open_streams(&self) -> usize {
        *self.shared.open_streams.borrow()
    }

    /// Waits until exactly `n` streams are open; with `n = 0` this checks
    /// that a client really hung up on an interrupted stream.
    pub async fn wait_for_open_streams(&self, n: usize, timeout: Duration) -> anyhow::Result<()> {
        let mut rx = self.shared.open_streams.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|count| *count == n))
            .await
            .map(|_| ())
            .map_err(|_| {
                anyhow::anyhow!(
                    "mock-llm: waited {timeout:?} for {n} open stream(s), got {}",
                    self.open_streams()
                )
            })
    }
}

impl Drop for MockLlm {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves connections until aborted; aborting drops the `JoinSet`, which
/// aborts every connection task and so closes every open stream.
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    // As a real provider's server: small SSE writes go out at once (with Nagle
                    // and the client's delayed ACK, each stream would wait ~40 ms).
                    let _ = stream.set_nodelay(true);
                    let shared = Arc::clone(&shared);
                    connections.spawn(async move {
                        let service = service_fn(move |req| handle(req, Arc::clone(&shared)));
                        // A client hanging up mid-stream is normal here.
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
                Err(err) => {
                    // E.g. out of file descriptors: back off instead of spinning.
                    eprintln!("mock-llm: accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

type MockBody = BoxBody<Bytes, Infallible>;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Endpoint {
    Responses,
    Chat,
}

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<MockBody>, Infallible> {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    if path.ends_with("/models") && method == Method::GET {
        return Ok(json_response(
            200,
            &[],
            &json!({"object": "list", "data": [
                {"id": "mock-model", "object": "model", "created": 0, "owned_by": "mock"}
            ]}),
        ));
    }
    let endpoint = if path.ends_with("/responses") {
        Endpoint::Responses
    } else if path.ends_with("/chat/completions") {
        Endpoint::Chat
    } else {
        return Ok(fault_response(faults::not_found(&path)));
    };
    if method != Method::POST {
        return Ok(fault_response(faults::not_found(&path)));
    }
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let raw = match req.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) => {
            return Ok(fault_response(faults::bad_request(&format!(
                "mock-llm: could not read the request body: {err}"
            ))))
        }
    };
    let body: Value = serde_json::from_slice(&raw)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&raw).into_owned()));
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("mock-model")
        .to_owned();
    let serial = shared.serial.fetch_add(1, Ordering::Relaxed) + 1;

    // Record and take the answer under one lock, so the n-th recorded
    // request is always the one that got the n-th answer.
    let scripted = {
        let mut state = shared.lock();
        let label = format!("request #{} ({path})", state.requests.len() + 1);
        let found = pairing_violations(&label, &body);
        state.violations.extend(found);
        let last = last_input_text(&body);
        state.requests.push(RecordedRequest {
            path: path.clone(),
            headers,
            body,
            received_at: std::time::Instant::now(),
        });
        let routed = state
            .routed
            .iter_mut()
            .find(|(marker, queue)| !queue.is_empty() && last.contains(marker.as_str()))
            .and_then(|(_, queue)| queue.pop_front());
        let next = routed.or_else(|| state.queue.pop_front());
        if let (Some(s), true) = (&next, shared.cycle) {
            state.queue.push_back(s.clone());
        }
        next
    };
    shared.request_count.send_modify(|n| *n += 1);

    let Some(scripted) = scripted else {
        return Ok(fault_response(faults::no_script_left()));
    };
    Ok(answer(scripted, endpoint, serial, &model, &shared))
}

fn answer(
    scripted: Scripted,
    endpoint: Endpoint,
    serial: u64,
    model: &str,
    shared: &Arc<Shared>,
) -> Response<MockBody> {
    let (actions, delay) = match scripted {
        Scripted::Responses(script) => {
            if endpoint == Endpoint::Chat && shared.adapt {
                let script = chat::from_responses(&script);
                (chat::render(&script, serial, model), script.chunk_delay)
            } else {
                warn_mismatch(endpoint, Endpoint::Responses);
                (
                    responses::render(&script, serial, model),
                    script.chunk_delay,
                )
            }
        }
        Scripted::Chat(script) => {
            warn_mismatch(endpoint, Endpoint::Chat);
            (chat::render(&script, serial, model), script.chunk_delay)
        }
        Scripted::HttpError {
            status,
            body,
            headers,
        } => {
            return fault_response(Fault {
                status,
                headers,
                body,
            })
        }
        Scripted::RateLimited {
            retry_after_secs,
            hint_secs,
        } => return fault_response(faults::rate_limited(retry_after_secs, hint_secs)),
        Scripted::ContextLengthExceeded => return fault_response(faults::context_length_exceeded()),
        Scripted::QuotaExceeded => return fault_response(faults::quota_exceeded()),
    };
    let (tx, rx) = mpsc::channel(8);
    tokio::spawn(play(actions, delay, tx, Arc::clone(shared)));
    let mut response = Response::new(ChannelBody { rx }.boxed());
    let h = response.headers_mut();
    h.insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(
        hyper::header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache"),
    );
    if let Ok(id) = HeaderValue::from_str(&format!("req_mock_{serial}")) {
        h.insert("x-request-id", id);
    }
    response
}

/// A script written for the other endpoint is most likely a test bug; say
/// so on stderr (the test output) rather than failing silently later.
fn warn_mismatch(endpoint: Endpoint, script: Endpoint) {
    if endpoint != script {
        eprintln!("mock-llm: warning: serving a {script:?} script to a {endpoint:?} request");
    }
}

/// Plays rendered actions into the response body. Every wait also watches
/// for the client hanging up, so an abandoned stream neither lingers nor
/// takes a gate permit meant for a later one.
async fn play(
    actions: Vec<Action>,
    chunk_delay: Option<Duration>,
    tx: mpsc::Sender<Bytes>,
    shared: Arc<Shared>,
) {
    shared.open_streams.send_modify(|n| *n += 1);
    let _open = OpenStream(Arc::clone(&shared));
    for action in actions {
        match action {
            Action::Send(bytes) => {
                if let Some(delay) = chunk_delay {
                    if !pause(&tx, delay).await {
                        return;
                    }
                }
                if tx.send(bytes).await.is_err() {
                    return;
                }
            }
            Action::Sleep(duration) => {
                if !pause(&tx, duration).await {
                    return;
                }
            }
            Action::Gate => {
                shared.gates_reached.send_modify(|n| *n += 1);
                tokio::select! {
                    permit = shared.gate.acquire() => match permit {
                        Ok(permit) => permit.forget(),
                        Err(_) => return,
                    },
                    _ = tx.closed() => return,
                }
            }
        }
    }
}

/// Counts a stream as open until `play` returns, however it returns.
struct OpenStream(Arc<Shared>);

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0
            .open_streams
            .send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// Sleeps unless the client goes away first; false if it went away.
async fn pause(tx: &mpsc::Sender<Bytes>, duration: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(duration) => true,
        _ = tx.closed() => false,
    }
}

/// A response body fed by a channel: each message becomes one data frame
/// as soon as it is sent, so hyper writes (and flushes) event by event.
struct ChannelBody {
    rx: mpsc::Receiver<Bytes>,
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.rx
            .poll_recv(cx)
            .map(|next| next.map(|bytes| Ok(Frame::data(bytes))))
    }
}

fn fault_response(fault: Fault) -> Response<MockBody> {
    json_response(fault.status, &fault.headers, &fault.body)
}

fn json_response(status: u16, headers: &[(String, String)], body: &Value) -> Response<MockBody> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())).boxed());
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = response.headers_mut();
    h.insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for (name, value) in headers {
        // A scripted header that is not valid HTTP is skipped, not fatal.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            h.insert(name, value);
        }
    }
    response
}

/// The last input item of a request (Responses `input`, Chat `messages`) that is not context
/// the daemon added (a developer message: hook context, a sub-agent's note), as JSON text.
fn last_input_text(body: &Value) -> String {
    body.get("input")
        .or_else(|| body.get("messages"))
        .and_then(Value::as_array)
        .and_then(|items| items.iter().rev().find(|i| i["role"] != "developer"))
        .map(Value::to_string)
        .unwrap_or_default()
}
