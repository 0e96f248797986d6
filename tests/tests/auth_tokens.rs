//! Named tokens (PROTOCOL.md §9): `agentd token create|list|revoke`, tokens.toml beside the
//! config file in use, a token shown once and stored as a hash, and revocation closing that
//! token's live connections while others carry on.

use std::time::Duration;

use agentd_tests::access::{connect_with_token, create_token, succeeded, token_cmd};
use agentd_tests::{Agentd, Client, Options, TIMEOUT};
use serde_json::json;

async fn connect(d: &Agentd, token: &str, name: &str) -> Client {
    connect_with_token(d, token, name).await.unwrap()
}

/// Reads until the daemon closes the connection; fails if it does not within `TIMEOUT`.
async fn closed_by_daemon(c: &mut Client) {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while !c.closed {
        assert!(tokio::time::Instant::now() < deadline, "still open");
        let _ = c.next_message(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_list_revoke_and_revoking_closes_that_tokens_connections() {
    let home = tempfile::tempdir().unwrap();
    let phone = create_token(home.path(), "phone", "control");
    let laptop = create_token(home.path(), "laptop", "admin");
    assert_ne!(phone, laptop);
    let stored = std::fs::read_to_string(home.path().join("agentd/tokens.toml")).unwrap();
    assert!(!stored.contains(&phone), "only the hash is stored");

    let out = token_cmd(home.path(), &["list"]);
    let listed = String::from_utf8(out.stdout).unwrap();
    assert!(listed.contains("phone\tcontrol"), "{listed}");
    assert!(listed.contains("laptop\tadmin"), "{listed}");
    assert!(!listed.contains(&phone));
    // Names are unique.
    let dup = token_cmd(
        home.path(),
        &["create", "--scope", "observe", "--name", "phone"],
    );
    assert!(!dup.status.success());

    let d = Agentd::start(Options::default().config_home(home.path()))
        .await
        .unwrap();
    assert_eq!(d.token(), None);
    let mut p1 = connect(&d, &phone, "phone-1").await;
    let mut p2 = connect(&d, &phone, "phone-2").await;
    let mut l = connect(&d, &laptop, "laptop").await;
    let thread = p1.start_thread(json!({})).await.unwrap();

    // A token made while the daemon runs works at once.
    let late = create_token(home.path(), "late", "observe");
    let mut o = connect(&d, &late, "late").await;
    o.call("thread/read", json!({"threadId": thread}))
        .await
        .unwrap();

    succeeded(d.cli(&["token", "revoke", "phone"]).unwrap());
    closed_by_daemon(&mut p1).await;
    closed_by_daemon(&mut p2).await;
    // The others carry on.
    l.call("thread/read", json!({"threadId": thread}))
        .await
        .unwrap();
    o.call("thread/list", json!({})).await.unwrap();
    assert!(!l.closed && !o.closed);
    // And the revoked token no longer gets in.
    let again = Client::handshake(&format!("{}/?token={phone}", d.ws_url()), Vec::new(), None)
        .await
        .unwrap();
    assert_eq!(again.err(), Some(401));
    let out = token_cmd(home.path(), &["revoke", "phone"]);
    assert!(!out.status.success(), "revoking twice is an error");
    let listed = String::from_utf8(token_cmd(home.path(), &["list"]).stdout).unwrap();
    assert!(!listed.contains("phone"), "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_config_the_tokens_file_sits_beside_that_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("elsewhere.toml");
    std::fs::write(&config, "").unwrap();
    let unused_home = tempfile::tempdir().unwrap();
    let config_arg = config.display().to_string();
    let token = succeeded(token_cmd(
        unused_home.path(),
        &[
            "create",
            "--scope",
            "observe",
            "--name",
            "ci",
            "--config",
            &config_arg,
        ],
    ));
    assert!(dir.path().join("tokens.toml").exists());
    assert!(!unused_home.path().join("agentd/tokens.toml").exists());

    let d = Agentd::start(
        Options::default()
            .config_home(unused_home.path())
            .arg("--config")
            .arg(config_arg),
    )
    .await
    .unwrap();
    assert_eq!(d.token(), None);
    let mut c = connect(&d, &token, "ci").await;
    c.call("thread/list", json!({})).await.unwrap();
}
