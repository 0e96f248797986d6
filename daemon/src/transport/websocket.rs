//! WebSocket transport: one JSON message per text frame, plus `GET /healthz`, on one port.
//!
//! hyper serves the HTTP side so that a plain GET (health checks, later the web page) and the
//! upgrade share the listener; after the 101 the socket is handed to tokio-tungstenite. The
//! codec's own message limit is set well above the protocol's frame limit so that an oversized
//! message is *ours* to reject (with -32600, connection kept) rather than a codec error that
//! would close the socket.
//!
//! Access is decided before the upgrade completes (`auth::Gate`): a refused handshake gets 401
//! or 403 with an empty body. With `[tls]` configured the same service runs over rustls.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{
    HeaderValue, CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL,
    SEC_WEBSOCKET_VERSION, UPGRADE,
};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;

use super::log_throttle::LogThrottle;
use super::{Inbound, Limits, Link, INBOUND_BUFFER};
use crate::auth::{Gate, Grant, Refusal};

/// Called once per accepted WebSocket connection with its link.
pub type Accept = Arc<dyn Fn(Link) + Send + Sync>;

/// Serves HTTP + WebSocket on `listener` until `shutdown` resolves. Every upgrade is admitted
/// or refused by `gate` first; with `tls`, every connection is TLS from its first byte.
pub async fn serve(
    listener: TcpListener,
    limits: Limits,
    accept: Accept,
    gate: Arc<Gate>,
    tls: Option<TlsAcceptor>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    // One permit per WebSocket connection, held for its life: the cap is visible in one line.
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let refusals = Arc::new(LogThrottle::default());
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(pair) => pair,
                Err(e) => {
                    // EMFILE and friends: back off briefly instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let _ = stream.set_nodelay(true);
        let front = Front {
            limits,
            accept: accept.clone(),
            gate: gate.clone(),
            slots: slots.clone(),
            refusals: refusals.clone(),
        };
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve_http(stream, peer, front).await,
                Some(acceptor) => {
                    // A peer that connects and says nothing must not hold a task forever.
                    let handshake =
                        tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await;
                    match handshake {
                        Ok(Ok(stream)) => serve_http(stream, peer, front).await,
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
}

/// How long a TLS client may take to finish its handshake.
const TLS_HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// What every HTTP connection of the listener shares.
#[derive(Clone)]
struct Front {
    limits: Limits,
    accept: Accept,
    gate: Arc<Gate>,
    /// The connection cap ([`Limits::max_connections`]).
    slots: Arc<Semaphore>,
    /// Refusals are logged at most once a second, with a count of the rest.
    refusals: Arc<LogThrottle>,
}

/// One HTTP/1.1 connection (plain or TLS): health checks, or one WebSocket upgrade.
async fn serve_http<S>(stream: S, peer: SocketAddr, front: Front)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req| {
        let front = front.clone();
        async move { Ok::<_, Infallible>(route(req, peer, &front)) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    if let Err(e) = conn.await {
        tracing::debug!(%peer, error = %e, "http connection ended with an error");
    }
}

fn text_response(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *resp.status_mut() = status;
    resp
}

/// Answers one HTTP request: plain GETs are served directly; an upgrade is admitted (gate, then
/// connection cap, then handshake headers, in that order) and answered with 101.
fn route(mut req: Request<Incoming>, peer: SocketAddr, front: &Front) -> Response<Full<Bytes>> {
    let limits = front.limits;
    if !is_websocket_upgrade(&req) {
        return plain_http(&req);
    }
    // Checked before anything else about the upgrade; the refusal says nothing but its status.
    let grant = match front.gate.admit(req.headers()) {
        Ok(grant) => grant,
        Err(refusal) => return refused(peer, refusal, &front.refusals),
    };
    let Ok(permit) = front.slots.clone().try_acquire_owned() else {
        if let Some(more) = front.refusals.allow() {
            tracing::warn!(%peer, cap = limits.max_connections, more, "websocket connection refused: at the connection cap");
        }
        return text_response(StatusCode::SERVICE_UNAVAILABLE, "too many connections\n");
    };
    let Some(key) = accept_key(&req) else {
        return text_response(StatusCode::BAD_REQUEST, "bad websocket handshake\n");
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    let subprotocol = grant.subprotocol.clone();
    let accept = front.accept.clone();
    tokio::spawn(finish_upgrade(
        on_upgrade, limits, peer, grant, permit, accept,
    ));
    switching_protocols(&key, subprotocol)
}

/// Whether the request asks for a WebSocket upgrade; anything else is plain HTTP.
fn is_websocket_upgrade(req: &Request<Incoming>) -> bool {
    req.headers()
        .get(UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// The non-upgrade side of the port: health checks and the embedded web page.
fn plain_http(req: &Request<Incoming>) -> Response<Full<Bytes>> {
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/healthz") => text_response(StatusCode::OK, "ok\n"),
        // The web page (clients/web), embedded: `/`, `/app.js`, `/sdk/…`.
        (&Method::GET, path) => super::web_assets::serve(path)
            .unwrap_or_else(|| text_response(StatusCode::NOT_FOUND, "not found\n")),
        _ => text_response(StatusCode::NOT_FOUND, "not found\n"),
    }
}

/// The answer to a handshake the gate refused: its status and nothing else.
fn refused(peer: SocketAddr, refusal: Refusal, log: &LogThrottle) -> Response<Full<Bytes>> {
    if let Some(more) = log.allow() {
        tracing::info!(%peer, ?refusal, more, "websocket handshake refused");
    }
    let status = match refusal {
        Refusal::Unauthorized => StatusCode::UNAUTHORIZED,
        Refusal::Origin => StatusCode::FORBIDDEN,
    };
    text_response(status, "")
}

/// The `Sec-WebSocket-Accept` value, or `None` when the handshake lacks a key or is not
/// version 13.
fn accept_key(req: &Request<Incoming>) -> Option<String> {
    match req.headers().get(SEC_WEBSOCKET_KEY) {
        Some(k)
            if req
                .headers()
                .get(SEC_WEBSOCKET_VERSION)
                .map(|v| v.as_bytes())
                == Some(b"13") =>
        {
            Some(derive_accept_key(k.as_bytes()))
        }
        _ => None,
    }
}

/// Runs after the 101 has gone out: wraps the upgraded socket in the codec and hands its
/// [`Link`] to `accept`.
async fn finish_upgrade(
    on_upgrade: hyper::upgrade::OnUpgrade,
    limits: Limits,
    peer: SocketAddr,
    grant: Grant,
    permit: OwnedSemaphorePermit,
    accept: Accept,
) {
    match on_upgrade.await {
        Ok(upgraded) => {
            let config = WebSocketConfig::default()
                // Idle connections are cheap only if buffers are not allocated eagerly large.
                .read_buffer_size(4 * 1024)
                // Frames fed in one burst go out in one write; nothing is allocated until
                // something is sent.
                .write_buffer_size(16 * 1024)
                .max_message_size(Some(codec_limit(limits.max_frame_bytes)))
                .max_frame_size(Some(codec_limit(limits.max_frame_bytes)));
            let ws = WebSocketStream::from_raw_socket(
                TokioIo::new(upgraded),
                Role::Server,
                Some(config),
            )
            .await;
            tracing::debug!(%peer, token = %grant.name, scope = %grant.scope, "websocket connection admitted");
            accept(pump(ws, limits, peer.to_string(), grant, permit));
        }
        Err(e) => tracing::debug!(%peer, error = %e, "websocket upgrade failed"),
    }
}

/// The 101 answer to an admitted handshake.
fn switching_protocols(key: &str, subprotocol: Option<HeaderValue>) -> Response<Full<Bytes>> {
    // Deliberately no Sec-WebSocket-Extensions (no permessage-deflate) and no compression
    // header: Codex clients offering `x-codex-app-server-compression` get plain text frames.
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(v) = HeaderValue::from_str(key) {
        h.insert(SEC_WEBSOCKET_ACCEPT, v);
    }
    // A browser sends its token as a subprotocol and fails the connection unless the server
    // accepts one of those it offered.
    if let Some(p) = subprotocol {
        h.insert(SEC_WEBSOCKET_PROTOCOL, p);
    }
    resp
}

/// The codec's hard cap: far enough above the protocol limit that an oversized message is read
/// and rejected with -32600 (connection kept); only a message beyond this closes the socket
/// (close code 1009), because reading it would mean buffering it.
fn codec_limit(max_frame_bytes: usize) -> usize {
    max_frame_bytes.saturating_mul(4).max(64 * 1024 * 1024)
}

/// Splits the socket into a reader task and a writer task joined to the [`Link`] channels.
/// The reader stops, and the writer sends a close frame, when the grant's `closed` fires (token
/// revoked, daemon stopping).
fn pump<S>(
    ws: WebSocketStream<S>,
    limits: Limits,
    peer: String,
    grant: Grant,
    permit: OwnedSemaphorePermit,
) -> Link
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (in_tx, in_rx) = mpsc::channel(INBOUND_BUFFER);
    let (out_tx, out_rx) = mpsc::channel::<Bytes>(limits.outbound_queue);
    let (sink, stream) = ws.split();
    let (close_tx, close_rx) = mpsc::channel::<Message>(1);

    tokio::spawn(read_loop(
        stream,
        in_tx,
        close_tx,
        grant.closed.clone(),
        limits,
        peer.clone(),
    ));
    tokio::spawn(write_loop(sink, out_rx, close_rx, peer.clone()));

    Link {
        inbound: in_rx,
        outbound: out_tx,
        peer,
        scope: grant.scope,
        permit: Some(permit),
    }
}

/// The reader task: socket messages in, [`Inbound`] items out, until the peer goes away, the
/// connection stops listening, or `closed` fires (then it asks the writer for a close frame).
async fn read_loop<S>(
    mut stream: SplitStream<WebSocketStream<S>>,
    in_tx: mpsc::Sender<Inbound>,
    close_tx: mpsc::Sender<Message>,
    closed: CancellationToken,
    limits: Limits,
    reader_peer: String,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        let msg = tokio::select! {
            m = stream.next() => match m {
                Some(m) => m,
                None => break,
            },
            _ = closed.cancelled() => {
                tracing::debug!(peer = %reader_peer, "closing the connection (token revoked or daemon stopping)");
                let _ = close_tx.try_send(Message::Close(Some(CloseFrame {
                    code: CloseCode::Policy,
                    reason: "access revoked or daemon stopping".into(),
                })));
                break;
            }
        };
        let inbound = match msg {
            Ok(Message::Text(t)) if t.len() > limits.max_frame_bytes => Inbound::TooLarge {
                len: t.len(),
                limit: limits.max_frame_bytes,
            },
            Ok(Message::Text(t)) => Inbound::Text(t.as_str().to_owned()),
            Ok(Message::Binary(_)) => Inbound::Binary,
            // tungstenite queues the pong itself; the writer's next flush sends it.
            Ok(Message::Ping(_)) | Ok(Message::Pong(_)) | Ok(Message::Frame(_)) => continue,
            Ok(Message::Close(_)) => break,
            Err(e) => {
                tracing::debug!(peer = %reader_peer, error = %e, "websocket read ended");
                if let tokio_tungstenite::tungstenite::Error::Capacity(_) = e {
                    let _ = close_tx.try_send(Message::Close(None));
                }
                break;
            }
        };
        if in_tx.send(inbound).await.is_err() {
            break;
        }
    }
}

/// The writer task: outbound frames to the socket, batched into one flush per burst, until the
/// connection drops its sender, a write fails, or the reader asks for a close frame.
async fn write_loop<S>(
    mut sink: SplitSink<WebSocketStream<S>, Message>,
    mut out_rx: mpsc::Receiver<Bytes>,
    mut close_rx: mpsc::Receiver<Message>,
    writer_peer: String,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        let frame = tokio::select! {
            // Frames already queued go out before a close the daemon asked for.
            biased;
            f = out_rx.recv() => match f {
                Some(f) => f,
                None => break,
            },
            Some(close) = close_rx.recv() => {
                let _ = sink.send(close).await;
                break;
            }
        };
        let text = match Utf8Bytes::try_from(frame) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(peer = %writer_peer, error = %e, "dropping a non-UTF-8 outbound frame");
                continue;
            }
        };
        if sink.feed(Message::Text(text)).await.is_err() {
            break;
        }
        if !feed_queued(&mut sink, &mut out_rx).await || sink.flush().await.is_err() {
            break;
        }
    }
    let _ = sink.close().await;
}

/// Batches whatever else is already queued into the same flush; `false` when a feed failed.
async fn feed_queued<S>(
    sink: &mut SplitSink<WebSocketStream<S>, Message>,
    out_rx: &mut mpsc::Receiver<Bytes>,
) -> bool
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    while let Ok(frame) = out_rx.try_recv() {
        match Utf8Bytes::try_from(frame) {
            Ok(t) => {
                if sink.feed(Message::Text(t)).await.is_err() {
                    return false;
                }
            }
            Err(e) => tracing::error!(error = %e, "dropping a non-UTF-8 outbound frame"),
        }
    }
    true
}
