//! WebSocket access at the handshake (PROTOCOL.md §9): the one-time token the daemon prints,
//! sent as a bearer token or as a browser subprotocol; 401 without it; 403 for a foreign
//! `Origin`; the token file the user can read and nobody else.

use std::os::unix::fs::PermissionsExt;

use agentd_tests::access::{read_http_answer, refused_at_start};
use agentd_tests::{Agentd, Client, Options};
use tokio::io::AsyncWriteExt;

/// Sends a raw upgrade request with `extra` header lines; returns the status code and the
/// answer's body (read by its Content-Length).
async fn raw_upgrade(d: &Agentd, extra: &str) -> (u16, String) {
    let addr = d.ws_url().trim_start_matches("ws://").to_owned();
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let text = read_http_answer(&mut s).await;
    let end = text.find("\r\n\r\n").unwrap();
    (text[9..12].parse().unwrap(), text[end + 4..].to_owned())
}

fn bearer(token: &str) -> Vec<(String, String)> {
    vec![("Authorization".into(), format!("Bearer {token}"))]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_printed_token_the_upgrade_is_401_with_no_detail() {
    let d = Agentd::start(Options::default()).await.unwrap();
    let token = d
        .token()
        .expect("a one-time token on the listening line")
        .to_owned();
    assert_eq!(token.len(), 64);
    assert!(d.url.ends_with(&format!("?token={token}")), "{}", d.url);

    // No token, a wrong one, a wrong scheme, an empty subprotocol token: 401 and an empty body.
    for extra in [
        String::new(),
        "Authorization: Bearer nope\r\n".to_owned(),
        format!("Authorization: Basic {token}\r\n"),
        "Sec-WebSocket-Protocol: agentd.token.\r\n".to_owned(),
        format!("Authorization: Bearer {}\r\n", &token[..63]),
    ] {
        let (status, body) = raw_upgrade(&d, &extra).await;
        assert_eq!(status, 401, "{extra:?}");
        assert_eq!(body, "", "{extra:?}");
    }
    let refused = Client::handshake(&d.ws_url(), Vec::new(), None)
        .await
        .unwrap();
    assert_eq!(refused.err(), Some(401));

    // The right one, explicitly and through the harness's URL.
    let mut c = Client::connect_ws_request(&d.ws_url(), bearer(&token), None)
        .await
        .unwrap();
    c.initialize("bearer").await.unwrap();
    let mut c2 = d.client("via-url").await.unwrap();
    c2.call("thread/list", serde_json::json!({})).await.unwrap();
    // Health checks need no token.
    let (status, _) = raw_get(&d, "/healthz").await;
    assert_eq!(status, 200);
}

async fn raw_get(d: &Agentd, path: &str) -> (u16, String) {
    let resp = reqwest::get(format!("{}{path}", d.http_base()))
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_sends_the_token_as_a_subprotocol_and_gets_it_echoed() {
    let d = Agentd::start(Options::default()).await.unwrap();
    let token = d.token().unwrap().to_owned();
    let proto = format!("agentd.token.{token}");
    let (mut c, headers) = Client::handshake(
        &d.ws_url(),
        vec![("Sec-WebSocket-Protocol".into(), proto.clone())],
        None,
    )
    .await
    .unwrap()
    .expect("the subprotocol token is accepted");
    assert_eq!(
        headers
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok()),
        Some(proto.as_str())
    );
    c.initialize("browser").await.unwrap();

    let wrong = Client::handshake(
        &d.ws_url(),
        vec![("Sec-WebSocket-Protocol".into(), "agentd.token.wrong".into())],
        None,
    )
    .await
    .unwrap();
    assert_eq!(wrong.err(), Some(401));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_file_is_private_and_removed_at_a_clean_stop() {
    let d = Agentd::start(Options::default()).await.unwrap();
    let path = d.runtime_dir().join("agentd").join("token");
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.trim(), d.token().unwrap());
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);

    let (status, _, _keep) = d.terminate().await.unwrap();
    assert!(status.success());
    assert!(
        !path.exists(),
        "a stopped daemon's token is not left behind"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_origin_is_403_even_with_the_token_and_allowed_ones_pass() {
    let d = Agentd::start(
        Options::default().config_toml("allowed_origins = [\"https://app.example.com\"]\n"),
    )
    .await
    .unwrap();
    let token = d.token().unwrap().to_owned();
    let with_origin = |origin: &str| {
        let mut h = bearer(&token);
        h.push(("Origin".into(), origin.to_owned()));
        h
    };
    // Cross-site WebSocket hijacking: a page the user visits tries to drive the daemon.
    for origin in [
        "http://evil.example",
        "null",
        "https://app.example.com.evil.example",
    ] {
        let r = Client::handshake(&d.ws_url(), with_origin(origin), None)
            .await
            .unwrap();
        assert_eq!(r.err(), Some(403), "{origin}");
    }
    let (status, body) = raw_upgrade(
        &d,
        &format!("Authorization: Bearer {token}\r\nOrigin: http://evil.example\r\n"),
    )
    .await;
    assert_eq!((status, body.as_str()), (403, ""));

    // The configured origin, and the daemon's own (its built-in page).
    let own = d.http_base();
    let port = own.rsplit(':').next().unwrap().to_owned();
    for origin in [
        "https://app.example.com".to_owned(),
        own.clone(),
        format!("http://localhost:{port}"),
    ] {
        let (mut c, _) = Client::handshake(&d.ws_url(), with_origin(&origin), None)
            .await
            .unwrap()
            .unwrap_or_else(|s| panic!("{origin} refused with {s}"));
        c.initialize("page").await.unwrap();
    }
    // An allowed origin still needs the token.
    let r = Client::handshake(&d.ws_url(), vec![("Origin".into(), own.clone())], None)
        .await
        .unwrap();
    assert_eq!(r.err(), Some(401));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_allowed_origin_stops_the_daemon_at_start() {
    let stderr = refused_at_start(
        Options::default().config_toml("allowed_origins = [\"evil.example/*\"]\n"),
    )
    .await;
    assert!(stderr.contains("allowed_origins"), "{stderr}");
}
