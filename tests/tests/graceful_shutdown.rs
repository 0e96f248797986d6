//! SIGTERM/SIGINT while a turn runs: the daemon stops accepting, ends the turn `interrupted`
//! (its subscribers are told), flushes the store and exits 0 within 5 s — no restart needed to
//! find the turn ended.

use std::path::Path;
use std::time::{Duration, Instant};

use agentd_tests::harness::agentd_bin;
use agentd_tests::mock_llm::{MockLlm, Scripted, Step, Usage};
use agentd_tests::{Agentd, Client, Options, TIMEOUT};
use serde_json::json;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Row};

/// Turn statuses straight from the database of a stopped daemon.
async fn stored_turn_statuses(data_dir: &Path) -> Vec<(String, String)> {
    let mut db = SqliteConnectOptions::new()
        .filename(data_dir.join("agentd.db"))
        .read_only(true)
        .connect()
        .await
        .unwrap();
    sqlx::query("SELECT id, status FROM turns ORDER BY position")
        .fetch_all(&mut db)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

fn held_turn() -> Scripted {
    Scripted::responses(vec![
        Step::created(),
        Step::message(&["working"]),
        Step::gate(),
        Step::completed(Usage::default()),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_turn_ends_it_interrupted_and_exits_0_within_5s() {
    let mock = MockLlm::start(vec![held_turn()]).await.unwrap();
    let d = Agentd::start(Options::default().mock_provider(&mock.base_url(), "responses"))
        .await
        .unwrap();
    let mut c = d.client("t").await.unwrap();
    let thread = c.start_thread(json!({})).await.unwrap();
    let turn = c.start_turn(&thread, "go").await.unwrap();
    c.wait_for("item/agentMessage/delta").await.unwrap();
    let url = d.url.clone();

    let t0 = Instant::now();
    let (status, data_dir, _keep) = d.terminate().await.unwrap();
    let took = t0.elapsed();
    assert!(status.success(), "exit status {status}");
    assert!(took < Duration::from_secs(5), "took {took:?}");

    // The client was told before the connection closed.
    let events = c.read_until_closed(TIMEOUT).await.unwrap();
    let done: Vec<_> = events
        .iter()
        .filter(|e| e["method"] == "turn/completed")
        .collect();
    assert_eq!(done.len(), 1, "{events:#?}");
    assert_eq!(done[0]["params"]["turn"]["id"], turn);
    assert_eq!(done[0]["params"]["turn"]["status"], "interrupted");
    assert!(c.closed, "the daemon closed the connection");
    // Nothing listens any more.
    assert!(Client::connect_ws(&url).await.is_err());
    assert_eq!(
        stored_turn_statuses(&data_dir).await,
        vec![(turn, "interrupted".to_owned())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_on_stdio_mid_turn_does_the_same() {
    let mock = MockLlm::start(vec![held_turn()]).await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(agentd_bin().unwrap())
        .args(["serve", "--data-dir"])
        .arg(data.path())
        .args(
            Options::default()
                .mock_provider(&mock.base_url(), "responses")
                .args,
        )
        .env("XDG_CONFIG_HOME", home.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut c = Client::over_stdio(child.stdin.take().unwrap(), child.stdout.take().unwrap());
    c.initialize("stdio").await.unwrap();
    let thread = c.start_thread(json!({})).await.unwrap();
    let turn = c.start_turn(&thread, "go").await.unwrap();
    c.wait_for("item/agentMessage/delta").await.unwrap();

    let t0 = Instant::now();
    nix_kill(child.id().unwrap(), "INT");
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
    assert!(t0.elapsed() < Duration::from_secs(5));
    // Everything the daemon wrote before it exited, up to the end of its output.
    let events = c.read_until_closed(TIMEOUT).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e["method"] == "turn/completed"
                && e["params"]["turn"]["status"] == "interrupted"),
        "{events:#?}"
    );
    assert_eq!(
        stored_turn_statuses(data.path()).await,
        vec![(turn, "interrupted".to_owned())]
    );
}

fn nix_kill(pid: u32, signal: &str) {
    let ok = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok);
}
