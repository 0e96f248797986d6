//! Where the WebSocket listener may bind (PROTOCOL.md §9): loopback by default; any other
//! address only with configured tokens; `--no-auth` on loopback only; a tokens file others can
//! read stops the daemon.

use std::os::unix::fs::PermissionsExt;

use agentd_tests::access::{create_token, refused_at_start, token_cmd};
use agentd_tests::{Agentd, Client, Options};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_loopback_bind_without_tokens_is_refused_at_start() {
    let stderr = refused_at_start(Options::default().listen("ws://0.0.0.0:0")).await;
    assert!(stderr.contains("not a loopback address"), "{stderr}");
    assert!(stderr.contains("agentd token create"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_loopback_bind_with_tokens_starts_and_admits_only_them() {
    let home = tempfile::tempdir().unwrap();
    let token = create_token(home.path(), "remote", "control");
    let d = Agentd::start(
        Options::default()
            .config_home(home.path())
            .listen("ws://0.0.0.0:0"),
    )
    .await
    .unwrap();
    assert_eq!(d.token(), None, "configured tokens: no one-time token");
    let port = d.ws_url().rsplit(':').next().unwrap().to_owned();
    let url = format!("ws://127.0.0.1:{port}");
    assert_eq!(
        Client::handshake(&url, Vec::new(), None)
            .await
            .unwrap()
            .err(),
        Some(401)
    );
    let mut c = Client::connect_ws(&format!("{url}/?token={token}"))
        .await
        .unwrap();
    c.initialize("remote").await.unwrap();
    c.call("thread/list", json!({})).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_auth_is_for_loopback_only() {
    let stderr =
        refused_at_start(Options::default().listen("ws://0.0.0.0:0").arg("--no-auth")).await;
    assert!(stderr.contains("--no-auth"), "{stderr}");

    let d = Agentd::start(Options::default().arg("--no-auth"))
        .await
        .unwrap();
    assert_eq!(d.token(), None);
    assert!(!d.url.contains("token="));
    let mut c = Client::connect_ws(&d.url).await.unwrap();
    c.initialize("anyone").await.unwrap();
    c.call("thread/start", json!({})).await.unwrap();
    // Even without auth, a foreign page may not connect.
    let r = Client::handshake(
        &d.url,
        vec![("Origin".into(), "http://evil.example".into())],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.err(), Some(403));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tokens_file_others_can_read_stops_the_daemon() {
    let home = tempfile::tempdir().unwrap();
    create_token(home.path(), "phone", "observe");
    let file = home.path().join("agentd").join("tokens.toml");
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let stderr = refused_at_start(Options::default().config_home(home.path())).await;
    assert!(stderr.contains("chmod 600"), "{stderr}");
    // `agentd token list` refuses it the same way.
    let out = token_cmd(home.path(), &["list"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("chmod 600"));
}
