//! The pipe to a daemon: frames out, parsed messages in, whichever way the daemon is reached.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::daemon::Daemon;
use crate::rpc::link::{Inbound, Link};

/// What arrives from the daemon.
#[derive(Debug)]
pub enum Incoming {
    Message(Value),
    /// The pipe closed; why, in a few words.
    Closed(String),
}

pub struct Connection {
    outgoing: mpsc::UnboundedSender<String>,
    pub(super) incoming: mpsc::UnboundedReceiver<Incoming>,
}

impl Connection {
    /// A connection to a daemon in this process, over channels (as lsp-server's
    /// `Connection::memory`): the same `rpc::serve` a socket's client gets.
    pub fn in_process(daemon: Arc<Daemon>) -> Connection {
        let limits = daemon.limits;
        let (to_daemon, inbound) = mpsc::channel(64);
        let (outbound, mut from_daemon) = mpsc::channel(limits.outbound_queue);
        let link = Link {
            inbound,
            outbound,
            peer: "in-process".into(),
            scope: crate::auth::Scope::Admin,
            permit: None,
        };
        tokio::spawn(crate::rpc::serve(daemon, link));
        let (out_tx, mut out_rx) = mpsc::unbounded_channel::<String>();
        let (in_tx, in_rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(frame) = out_rx.recv().await {
                if to_daemon.send(Inbound::Text(frame)).await.is_err() {
                    break;
                }
            }
        });
        tokio::spawn(async move {
            while let Some(bytes) = from_daemon.recv().await {
                let text = String::from_utf8_lossy(&bytes);
                if in_tx.send(parse(&text)).is_err() {
                    return;
                }
            }
            let _ = in_tx.send(Incoming::Closed("the daemon stopped".into()));
        });
        Connection {
            outgoing: out_tx,
            incoming: in_rx,
        }
    }

    /// A connection to the daemon serving `data_dir`, through its private socket.
    pub async fn local(data_dir: &Path) -> anyhow::Result<Connection> {
        let stream = crate::server::local::connect(data_dir, crate::server::CONNECT_PATIENCE)
            .await
            .with_context(|| {
                format!(
                    "a daemon holds {} but its socket does not answer",
                    data_dir.display()
                )
            })?;
        let (reader, mut writer) = stream.into_split();
        let (out_tx, mut out_rx) = mpsc::unbounded_channel::<String>();
        let (in_tx, in_rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(mut frame) = out_rx.recv().await {
                frame.push('\n');
                if writer.write_all(frame.as_bytes()).await.is_err() {
                    break;
                }
            }
            let _ = writer.shutdown().await;
        });
        tokio::spawn(async move {
            let mut lines = BufReader::new(reader).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if in_tx.send(parse(&line)).is_err() {
                    return;
                }
            }
            let _ = in_tx.send(Incoming::Closed("the daemon closed the socket".into()));
        });
        Ok(Connection {
            outgoing: out_tx,
            incoming: in_rx,
        })
    }

    /// A connection over WebSocket (`ws://HOST:PORT`), with a token when there is one.
    pub async fn websocket(url: &str, token: Option<&str>) -> anyhow::Result<Connection> {
        let mut request = url
            .into_client_request()
            .with_context(|| format!("{url} is not a WebSocket URL"))?;
        if let Some(token) = token {
            let value = HeaderValue::from_str(&format!("Bearer {token}"))
                .context("the token holds characters a header cannot carry")?;
            request.headers_mut().insert("authorization", value);
        }
        let (ws, _) = tokio_tungstenite::connect_async(request)
            .await
            .with_context(|| format!("cannot connect to {url}"))?;
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
            let why = loop {
                match stream.next().await {
                    Some(Ok(WsMessage::Text(text))) => {
                        if in_tx.send(parse(text.as_str())).is_err() {
                            return;
                        }
                    }
                    Some(Ok(WsMessage::Close(_))) | None => {
                        break "the daemon closed the connection"
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) => break "the connection to the daemon broke",
                }
            };
            let _ = in_tx.send(Incoming::Closed(why.into()));
        });
        Ok(Connection {
            outgoing: out_tx,
            incoming: in_rx,
        })
    }

    /// Queues a frame; fails only when the pipe is closed.
    pub fn send(&self, frame: String) -> anyhow::Result<()> {
        self.outgoing
            .send(frame)
            .map_err(|_| anyhow::anyhow!("the connection to the daemon is closed"))
    }
}

fn parse(text: &str) -> Incoming {
    match serde_json::from_str::<Value>(text) {
        Ok(v) => Incoming::Message(v),
        Err(e) => Incoming::Closed(format!("the daemon sent something that is not JSON ({e})")),
    }
}
