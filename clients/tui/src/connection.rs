//! The byte pipe to the daemon: NDJSON over a spawned `agentd serve` on stdio, or text frames over
//! WebSocket. Both look the same to the app — frames out, parsed messages in — so everything above
//! this file is transport-agnostic and testable without either.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// How long a spawned daemon's stderr may stay open after its stdout closed, for its last line.
const STDERR_GRACE: Duration = Duration::from_millis(500);

/// What the daemon side of the pipe produced.
#[derive(Debug)]
pub enum Incoming {
    /// One JSON value (a request, response or notification).
    Message(Value),
    /// A frame that was not JSON; shown to the user, the connection stays up.
    Garbled(String),
    /// The pipe is gone; the reason is for the status line.
    Closed(String),
}

/// Where to reach the daemon; kept so a dropped WebSocket can be dialled again.
#[derive(Debug, Clone)]
pub enum Endpoint {
    /// `ws://` or `wss://` URL and the Bearer token, if any.
    WebSocket { url: String, token: Option<String> },
    /// The `agentd` binary and the arguments after `serve`.
    Spawn { agentd: PathBuf, args: Vec<String> },
}

impl Endpoint {
    /// A short description for the status line (never the token).
    pub fn describe(&self) -> String {
        match self {
            Endpoint::WebSocket { url, .. } => url.clone(),
            Endpoint::Spawn { agentd, .. } => format!("{} serve (stdio)", agentd.display()),
        }
    }
}

/// A live pipe: frames go into `outgoing`, messages come out of `incoming`.
pub struct Connection {
    outgoing: mpsc::UnboundedSender<String>,
    pub incoming: mpsc::UnboundedReceiver<Incoming>,
    /// The spawned daemon, killed when the connection is dropped.
    _child: Option<Child>,
}

impl Connection {
    /// Opens the pipe described by `endpoint`.
    pub async fn open(endpoint: &Endpoint) -> Result<Connection> {
        match endpoint {
            Endpoint::WebSocket { url, token } => websocket(url, token.as_deref()).await,
            Endpoint::Spawn { agentd, args } => spawn(agentd, args),
        }
    }

    /// Queues one frame; fails only when the pipe is already closed.
    pub fn send(&self, frame: String) -> Result<()> {
        self.outgoing
            .send(frame)
            .map_err(|_| anyhow::anyhow!("the connection to agentd is closed"))
    }
}

fn parse(text: &str) -> Incoming {
    match serde_json::from_str::<Value>(text) {
        Ok(v) => Incoming::Message(v),
        Err(e) => Incoming::Garbled(format!("agentd sent something that is not JSON ({e})")),
    }
}

async fn websocket(url: &str, token: Option<&str>) -> Result<Connection> {
    let mut request = url
        .into_client_request()
        .with_context(|| format!("{url} is not a WebSocket URL"))?;
    if let Some(token) = token {
        let value = HeaderValue::from_str(&format!("Bearer {token}"))
            .context("the token contains characters a header cannot carry")?;
        request.headers_mut().insert("authorization", value);
    }
    let (ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .with_context(|| format!("connecting to {url}"))?;
    let (mut sink, mut stream) = ws.split();
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<String>();
    let (in_tx, in_rx) = mpsc::unbounded_channel();

    tokio::spawn(async move {
        while let Some(frame) = out_rx.recv().await {
            if sink.send(WsMessage::text(frame)).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    tokio::spawn(async move {
        let reason = loop {
            match stream.next().await {
                Some(Ok(WsMessage::Text(text))) => {
                    if in_tx.send(parse(text.as_str())).is_err() {
                        return;
                    }
                }
                Some(Ok(WsMessage::Close(frame))) => {
                    break match frame {
                        Some(f) if !f.reason.is_empty() => {
                            format!("closed by agentd: {}", f.reason)
                        }
                        _ => "closed by agentd".to_string(),
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => break format!("connection lost: {e}"),
                None => break "connection lost".to_string(),
            }
        };
        let _ = in_tx.send(Incoming::Closed(reason));
    });
    Ok(Connection {
        outgoing: out_tx,
        incoming: in_rx,
        _child: None,
    })
}

fn spawn(agentd: &PathBuf, args: &[String]) -> Result<Connection> {
    let mut child = Command::new(agentd)
        .arg("serve")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        // The daemon's logs would draw over the screen: they are read here instead, and the
        // last one explains an exit (a config error, a locked data directory).
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {} serve", agentd.display()))?;
    let (Some(mut stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        bail!("{} serve started without pipes", agentd.display());
    };
    // Ends when the daemon's stderr closes, with its last line.
    let last_log = tokio::spawn(async move {
        let mut last = String::new();
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if !line.trim().is_empty() {
                last = line;
            }
        }
        last
    });
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<String>();
    let (in_tx, in_rx) = mpsc::unbounded_channel();

    tokio::spawn(async move {
        while let Some(mut frame) = out_rx.recv().await {
            frame.push('\n');
            if stdin.write_all(frame.as_bytes()).await.is_err() || stdin.flush().await.is_err() {
                break;
            }
        }
    });
    tokio::spawn(async move {
        let mut lines = BufReader::new(stdout).lines();
        let reason = loop {
            match lines.next_line().await {
                Ok(Some(line)) if line.trim().is_empty() => {}
                Ok(Some(line)) => {
                    if in_tx.send(parse(&line)).is_err() {
                        return;
                    }
                }
                Ok(None) => break "agentd exited".to_string(),
                Err(e) => break format!("reading from agentd: {e}"),
            }
        };
        // Its stderr closes with it (bounded: a child of the daemon could hold it open).
        let last = tokio::time::timeout(STDERR_GRACE, last_log)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let reason = if last.is_empty() {
            reason
        } else {
            format!("{reason}: {}", crate::render::sanitize(&last))
        };
        let _ = in_tx.send(Incoming::Closed(reason));
    });
    Ok(Connection {
        outgoing: out_tx,
        incoming: in_rx,
        _child: Some(child),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_that_is_not_json_is_reported_not_fatal() {
        assert!(matches!(parse(r#"{"id":1}"#), Incoming::Message(_)));
        match parse("{not json") {
            Incoming::Garbled(why) => assert!(why.contains("not JSON"), "{why}"),
            other => panic!("{other:?}"),
        }
    }
}
