//! Raw WebSocket connections for the benchmarks: no reader task, no channel, no parsing beyond
//! what the caller does, so the client costs as little as possible next to the daemon.

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

pub type Ws = WebSocketStream<TcpStream>;

/// How long a setup call may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Opens a WebSocket to `url` (`ws://HOST:PORT`), with the bearer token if the daemon printed one.
pub async fn connect(url: &str, token: Option<&str>) -> Result<Ws> {
    let mut req = url
        .into_client_request()
        .with_context(|| format!("bad url {url}"))?;
    if let Some(token) = token {
        req.headers_mut().insert(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_str(&format!("Bearer {token}"))
                .context("token is not a valid header value")?,
        );
    }
    let addr = url
        .trim_start_matches("ws://")
        .split('/')
        .next()
        .context("bad url")?;
    let stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true).context("TCP_NODELAY")?;
    let (ws, _) = tokio_tungstenite::client_async(req, stream)
        .await
        .context("websocket handshake")?;
    Ok(ws)
}

/// The next text message; pings are answered by tungstenite itself, a close is an error.
pub async fn next_text(ws: &mut Ws, timeout: Duration) -> Result<String> {
    loop {
        let msg = tokio::time::timeout(timeout, ws.next())
            .await
            .map_err(|_| anyhow!("no message within {timeout:?}"))?
            .context("connection closed")?
            .context("websocket read")?;
        match msg {
            Message::Text(t) => return Ok(t.as_str().to_owned()),
            Message::Close(c) => bail!("connection closed by the daemon: {c:?}"),
            _ => continue,
        }
    }
}

pub async fn send_json(ws: &mut Ws, v: &Value) -> Result<()> {
    ws.send(Message::text(v.to_string()))
        .await
        .context("websocket send")
}

/// Sends a request and waits for its answer, skipping any notification in between; returns the
/// `result`, or fails on an error answer.
pub async fn call(ws: &mut Ws, id: u64, method: &str, params: Value) -> Result<Value> {
    send_json(
        ws,
        &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
    )
    .await?;
    loop {
        let text = next_text(ws, CALL_TIMEOUT)
            .await
            .with_context(|| format!("waiting for the answer to {method}"))?;
        let v: Value = serde_json::from_str(&text)
            .with_context(|| format!("daemon sent non-JSON: {text:.200}"))?;
        if v.get("method").is_some() || v.get("id") != Some(&json!(id)) {
            continue;
        }
        if let Some(err) = v.get("error") {
            bail!("{method} failed: {err}");
        }
        return v
            .get("result")
            .cloned()
            .with_context(|| format!("answer to {method} without a result: {text:.200}"));
    }
}

/// `initialize` (id 0) then the `initialized` notification.
pub async fn initialize(ws: &mut Ws, name: &str) -> Result<Value> {
    let r = call(
        ws,
        0,
        "initialize",
        json!({"clientInfo": {"name": name, "version": "0.0.0"}}),
    )
    .await?;
    send_json(ws, &json!({"jsonrpc": "2.0", "method": "initialized"})).await?;
    Ok(r)
}

/// The unsigned integer right after `key` in `text`, e.g. `"seq":` → 42. A plain scan: the
/// benchmarks read a few fields of a million frames and must not cost more than the daemon.
pub fn u64_after(text: &str, key: &str) -> Option<u64> {
    let start = text.find(key)? + key.len();
    let digits = text[start..].bytes().take_while(u8::is_ascii_digit).count();
    text[start..start + digits].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_numbers_after_keys() {
        let t = r#"{"params":{"seq":17,"threadId":"x","threadName":"b:123456"}}"#;
        assert_eq!(u64_after(t, r#""seq":"#), Some(17));
        assert_eq!(u64_after(t, r#""threadName":"b:"#), Some(123456));
        assert_eq!(u64_after(t, r#""nope":"#), None);
    }
}
