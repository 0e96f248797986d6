//! `mock-mcp http`: rmcp's Streamable HTTP service behind a tiny hyper front that does what
//! rmcp leaves to the host: routing (`/mcp` only), the bearer check, and recording the
//! `x-test` header so tests can see the client's configured headers arrive.

use std::convert::Infallible;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::TcpListener;

use super::{MockServer, Record};

type Body = BoxBody<Bytes, Infallible>;

/// Everything a connection task needs.
struct Front {
    mcp: StreamableHttpService<MockServer, LocalSessionManager>,
    /// The whole expected `Authorization` value (`Bearer TOKEN`), if one is required.
    authorization: Option<String>,
    record: Record,
}

/// Listens on a free loopback port, prints `listening http://127.0.0.1:<port>/mcp` as the one
/// line on stdout, then serves until the process is killed.
pub async fn serve_http(bearer: Option<String>, record: Record) -> anyhow::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("mock-mcp: cannot bind 127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    // One server value shared by every session, so `add_tool` is seen process-wide.
    let server = MockServer::new(record.clone());
    let mcp = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let front = Arc::new(Front {
        mcp,
        authorization: bearer.map(|token| format!("Bearer {token}")),
        record,
    });
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening http://127.0.0.1:{port}/mcp")?;
    stdout.flush()?;
    drop(stdout);
    loop {
        let (stream, _peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                // E.g. out of file descriptors: back off instead of spinning.
                eprintln!("mock-mcp: accept failed: {err}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let front = Arc::clone(&front);
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(req, Arc::clone(&front)));
            // A client hanging up mid-stream is normal here.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(req: Request<Incoming>, front: Arc<Front>) -> Result<Response<Body>, Infallible> {
    for value in req.headers().get_all("x-test") {
        let value = String::from_utf8_lossy(value.as_bytes());
        front.record.line(&format!("header x-test {value}"));
    }
    if req.uri().path() != "/mcp" {
        return Ok(plain(StatusCode::NOT_FOUND, "not found"));
    }
    if let Some(expected) = &front.authorization {
        let given = req.headers().get(AUTHORIZATION).map(HeaderValue::as_bytes);
        if given != Some(expected.as_bytes()) {
            let mut resp = plain(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
            resp.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"mock-mcp\""),
            );
            return Ok(resp);
        }
    }
    Ok(front.mcp.handle(req).await)
}

fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut resp = Response::new(Full::new(Bytes::from_static(text.as_bytes())).boxed());
    *resp.status_mut() = status;
    resp
}
