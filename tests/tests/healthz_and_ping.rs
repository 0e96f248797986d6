//! `GET /healthz` answers 200 on the WebSocket port, and WebSocket pings get pongs with the same
//! payload (PROTOCOL.md §1).

use std::time::Duration;

use agentd_tests::access::read_http_answer;
use agentd_tests::{Agentd, Options, TIMEOUT};
use serde_json::json;
use tokio::io::AsyncWriteExt;

/// Sends a raw HTTP/1.1 request and returns the status line and everything read up to the end
/// of the body (`Connection: close` is not sent: the answer must be complete on its own).
async fn http_get(base: &str, path: &str) -> (String, String) {
    let addr = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let text = read_http_answer(&mut stream).await;
    let status = text.lines().next().unwrap_or_default().to_owned();
    (status, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_200_on_the_websocket_port() {
    let daemon = Agentd::start(Options::default()).await.unwrap();
    // A WebSocket client is connected on the same port throughout.
    let mut c = daemon.client("ws").await.unwrap();
    let (status, text) = http_get(&daemon.http_base(), "/healthz").await;
    assert!(status.starts_with("HTTP/1.1 200"), "{text}");

    // The same through an ordinary HTTP client.
    let resp = reqwest::get(format!("{}/healthz", daemon.http_base()))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    let (status, text) = http_get(&daemon.http_base(), "/no-such-page").await;
    assert!(status.starts_with("HTTP/1.1 404"), "{text}");

    let r = c.call("thread/list", json!({})).await.unwrap();
    assert_eq!(r["data"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_ping_gets_a_pong_with_the_same_payload() {
    let daemon = Agentd::start(Options::default()).await.unwrap();
    let mut c = daemon.client("pinger").await.unwrap();
    let payload = b"agentd ping \x00\x01\xff".to_vec();
    c.send_ping(payload.clone()).unwrap();
    let pong = c.wait_for_pong(TIMEOUT).await.unwrap();
    assert_eq!(pong, payload);

    // Several pings interleaved with requests: each answered, nothing else disturbed.
    for i in 0..3u8 {
        c.send_ping(vec![i; 10]).unwrap();
        let r = c.call("thread/list", json!({})).await.unwrap();
        assert_eq!(r["data"], json!([]));
        assert_eq!(c.wait_for_pong(TIMEOUT).await.unwrap(), vec![i; 10]);
    }
    assert!(c.pongs.is_empty(), "unexpected extra pongs: {:?}", c.pongs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_before_initialize_gets_a_pong() {
    let daemon = Agentd::start(Options::default()).await.unwrap();
    let mut c = daemon.raw_client().await.unwrap();
    c.send_ping(b"early".to_vec()).unwrap();
    assert_eq!(
        c.wait_for_pong(Duration::from_secs(5)).await.unwrap(),
        b"early".to_vec()
    );
    c.initialize("after-ping").await.unwrap();
}
