//! Named tokens (PROTOCOL.md §9): `agentd token create|list|revoke`, tokens.toml beside the
//! config file in use, a token shown once and stored as a hash, and revocation closing that
//! token's live connections while others carry on.

use std::path::Path;
use std::time::Duration;

use agentd_tests::harness::agentd_command;
use agentd_tests::{Agentd, Client, Options, TIMEOUT};
use serde_json::json;

fn token_cmd(config_home: &Path, args: &[&str]) -> std::process::Output {
    agentd_command(config_home)
        .unwrap()
        .arg("token")
        .args(args)
        .output()
        .unwrap()
}

fn create(config_home: &Path, name: &str, scope: &str) -> String {
    let out = token_cmd(config_home, &["create", "--scope", scope, "--name", name]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

async fn connect(d: &Agentd, token: &str, name: &str) -> Client {
    let mut c = Client::connect_ws(&format!("{}/?token={token}", d.ws_url()))
        .await
        .unwrap();
    c.initialize(name).await.unwrap();
    c
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
    let phone = create(home.path(), "phone", "control");
    let laptop = create(home.path(), "laptop", "admin");
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
    let late = create(home.path(), "late", "observe");
    let mut o = connect(&d, &late, "late").await;
    o.call("thread/read", json!({"threadId": thread}))
        .await
        .unwrap();

    let out = d.cli(&["token", "revoke", "phone"]).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    let out = agentd_command(unused_home.path())
        .unwrap()
        .args(["token", "create", "--scope", "observe", "--name", "ci"])
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(dir.path().join("tokens.toml").exists());
    assert!(!unused_home.path().join("agentd/tokens.toml").exists());

    let d = Agentd::start(
        Options::default()
            .config_home(unused_home.path())
            .arg("--config")
            .arg(config.display().to_string()),
    )
    .await
    .unwrap();
    assert_eq!(d.token(), None);
    let mut c = connect(&d, &token, "ci").await;
    c.call("thread/list", json!({})).await.unwrap();
}
