//! `wss://` with the certificate and key named in `[tls]` (PROTOCOL.md §9): the token check is
//! the same over TLS, and a plain-text client gets nowhere.

use std::path::PathBuf;
use std::sync::Arc;

use agentd_tests::access::refused_at_start;
use agentd_tests::{Agentd, Client, Options};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/tls")
        .join(name)
}

/// A `[tls]` table naming these fixtures as the certificate and the key.
fn tls_config(cert: &str, key: &str) -> String {
    format!(
        "[tls]\ncert_file = {:?}\nkey_file = {:?}\n",
        fixture(cert).display().to_string(),
        fixture(key).display().to_string()
    )
}

/// Opens `wss://127.0.0.1:PORT/` trusting the test CA, with `token` as a bearer token.
async fn connect_wss(port: &str, token: Option<&str>) -> Result<Client, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(fixture("ca.pem")).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
        .await
        .unwrap();
    let tls = connector
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .map_err(|e| format!("tls: {e}"))?;
    let mut req = format!("wss://127.0.0.1:{port}/")
        .into_client_request()
        .unwrap();
    if let Some(t) = token {
        req.headers_mut()
            .insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    match tokio_tungstenite::client_async(req, tls).await {
        Ok((ws, _)) => Ok(Client::over_ws(ws)),
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().to_string()),
        Err(e) => Err(e.to_string()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_from_the_config_serves_wss_with_the_same_token_check() {
    let config = tls_config("server.pem", "server.key");
    let d = Agentd::start(Options::default().config_toml(config))
        .await
        .unwrap();
    assert!(d.url.starts_with("wss://127.0.0.1:"), "{}", d.url);
    let port = d
        .ws_url()
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    let token = d.token().unwrap().to_owned();

    let mut c = connect_wss(&port, Some(&token)).await.unwrap();
    c.initialize("tls").await.unwrap();
    c.call("thread/start", json!({})).await.unwrap();

    let refused = connect_wss(&port, None).await.err().unwrap();
    assert!(refused.contains("401"), "{refused}");
    // Plain text on the TLS port is no WebSocket.
    let plain = Client::handshake(
        &format!("ws://127.0.0.1:{port}/?token={token}"),
        Vec::new(),
        None,
    )
    .await;
    assert!(plain.is_err(), "plain ws on a wss port must fail");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_without_tls_config_and_a_bad_key_stop_the_daemon() {
    let stderr = refused_at_start(Options::default().listen("wss://127.0.0.1:0")).await;
    assert!(stderr.contains("[tls]"), "{stderr}");

    // A certificate where the key should be.
    let config = tls_config("server.pem", "ca.pem");
    let stderr = refused_at_start(Options::default().config_toml(config)).await;
    assert!(stderr.contains("private key"), "{stderr}");
}
