//! One daemon per data directory, reachable from every entry point: a second `agentd serve` on
//! stdio attaches to the daemon that holds the directory instead of failing on its lock; two
//! stdio clients (two editor windows) both work, see each other's threads live, and closing
//! either does not disturb the other.

use std::time::Duration;

use agentd_tests::harness::StdioAgentd;
use agentd_tests::mock_llm::{MockLlm, Scripted};
use agentd_tests::{Agentd, Options, TIMEOUT};
use serde_json::json;

fn on(dir: &std::path::Path, mock: &MockLlm) -> Options {
    Options::default()
        .data_dir(dir)
        .mock_provider(&mock.base_url(), "responses")
}

async fn exits(child: &mut tokio::process::Child) -> std::process::ExitStatus {
    tokio::time::timeout(TIMEOUT, child.wait())
        .await
        .expect("the process exits")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stdio_clients_share_a_daemon_and_either_may_leave_first() {
    let mock = MockLlm::start(vec![
        Scripted::responses_text("from the first window"),
        Scripted::responses_text("from the second window"),
    ])
    .await
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut first = StdioAgentd::start(on(data.path(), &mock)).await.unwrap();
    first.client.initialize("first").await.unwrap();
    let mut second = StdioAgentd::start(on(data.path(), &mock)).await.unwrap();
    second.client.initialize("second").await.unwrap();

    // A thread the first starts is listed by the second, which follows its turn live.
    let thread = first.client.start_thread(json!({})).await.unwrap();
    let listed = second.client.call("thread/list", json!({})).await.unwrap();
    assert_eq!(listed["data"][0]["id"], thread);
    second
        .client
        .call("thread/resume", json!({"threadId": thread}))
        .await
        .unwrap();
    let turn = first.client.start_turn(&thread, "hi").await.unwrap();
    let seen = second.client.until_turn_completed(&turn).await.unwrap();
    assert!(
        seen.iter().any(|e| e["method"] == "item/completed"
            && e["params"]["item"]["text"] == "from the first window"),
        "{seen:#?}"
    );

    // The first window closes (its stdin ends): its stdout closes as a stdio server's does,
    // and the second goes on undisturbed (the first process, which hosts the daemon, keeps
    // serving it).
    first.client.close();
    let closed = first.client.read_until_closed(TIMEOUT).await.unwrap();
    assert!(closed.iter().all(|m| m.get("id").is_none()), "{closed:?}");
    let turn = second
        .client
        .start_turn(&thread, "still there?")
        .await
        .unwrap();
    let events = second.client.until_turn_completed(&turn).await.unwrap();
    assert_eq!(
        events.last().unwrap()["params"]["turn"]["status"],
        "completed"
    );

    // Then the second leaves; both processes end and the directory is free again.
    second.client.close();
    assert!(exits(&mut second.child).await.success());
    assert!(exits(&mut first.child).await.success());
    let third = Agentd::start(Options::default().data_dir(data.path()))
        .await
        .unwrap();
    let mut c = third.client("after").await.unwrap();
    let r = c
        .call(
            "thread/read",
            json!({"threadId": thread, "includeTurns": true}),
        )
        .await
        .unwrap();
    assert_eq!(r["thread"]["turns"].as_array().unwrap().len(), 2, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stdio_client_attaches_to_a_websocket_daemon_and_sees_its_threads_live() {
    let host = Agentd::start(Options::default()).await.unwrap();
    let mut ws = host.client("ws").await.unwrap();
    let mut local = StdioAgentd::start(Options::default().data_dir(&host.data_dir))
        .await
        .unwrap();
    local.client.initialize("local").await.unwrap();
    let thread = ws.start_thread(json!({})).await.unwrap();
    local
        .client
        .call("thread/resume", json!({"threadId": thread}))
        .await
        .unwrap();
    ws.call(
        "thread/name/set",
        json!({"threadId": thread, "name": "shared"}),
    )
    .await
    .unwrap();
    let named = local.client.wait_for("thread/name/updated").await.unwrap();
    assert_eq!(named["params"]["threadName"], "shared");
    // The attached client leaving does not touch the host.
    local.client.close();
    assert!(exits(&mut local.child).await.success());
    ws.call("thread/list", json!({})).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_private_socket_is_the_users_alone() {
    let host = Agentd::start(Options::default()).await.unwrap();
    let socket = host.data_dir.join("agentd.sock");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&socket).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "socket mode {mode:o}");
    // It speaks the protocol, as the local user (admin).
    let stream = tokio::net::UnixStream::connect(&socket).await.unwrap();
    let (r, mut w) = stream.into_split();
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    w.write_all(b"{\"id\":1,\"method\":\"initialize\",\"params\":{\"clientInfo\":{\"name\":\"raw\",\"version\":\"1\"}}}\n")
        .await
        .unwrap();
    let mut lines = tokio::io::BufReader::new(r).lines();
    let line = tokio::time::timeout(Duration::from_secs(5), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let answer: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(answer["result"]["serverInfo"]["name"], "agentd", "{answer}");
}
