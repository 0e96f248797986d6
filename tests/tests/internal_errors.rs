//! What the daemon cannot explain to a client: an internal error reaches the client as a short
//! message and an id that is in the daemon's log, never as the store's or driver's own text; and
//! a stored value the daemon does not know (a turn status) is such an error, not a silent
//! default.

use std::time::Duration;

use agentd_tests::mock_llm::{MockLlm, Scripted};
use agentd_tests::{Agentd, Options};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_stored_turn_status_is_an_internal_error_with_a_logged_id() {
    let mock = MockLlm::start(vec![Scripted::responses_text("ok")])
        .await
        .unwrap();
    let d = Agentd::start(Options::default().mock_provider(&mock.base_url(), "responses"))
        .await
        .unwrap();
    let mut c = d.client("t").await.unwrap();
    let thread = c.start_thread(json!({})).await.unwrap();
    let turn = c.start_turn(&thread, "hi").await.unwrap();
    c.until_turn_completed(&turn).await.unwrap();
    let (status, dir, _keep) = d.terminate().await.unwrap();
    assert!(status.success());

    let url = format!("sqlite://{}", dir.join("agentd.db").display());
    let mut db = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    sqlx::query("UPDATE turns SET status = 'bogus'")
        .execute(&mut db)
        .await
        .unwrap();
    drop(db);

    let mut d = Agentd::start(
        Options::default()
            .data_dir(&dir)
            .mock_provider(&mock.base_url(), "responses"),
    )
    .await
    .unwrap();
    let mut c = d.client("t").await.unwrap();
    let answer = c
        .request(
            "thread/read",
            json!({"threadId": thread, "includeTurns": true}),
        )
        .await
        .unwrap();
    let error = &answer["error"];
    assert_eq!(error["code"], -32603, "{answer}");
    let message = error["message"].as_str().unwrap();
    let id = error["data"]["errorId"].as_str().unwrap().to_owned();
    assert!(message.contains(&id), "{message}");
    assert!(
        !message.contains("bogus") && !message.contains("sql"),
        "{message}"
    );

    // The log has the id beside the real cause.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut log = String::new();
    while !(log.contains(&id) && log.contains("bogus")) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, d.stderr.recv()).await {
            Ok(Some(line)) => log.push_str(&line),
            _ => panic!("the log never named {id} with the cause: {log}"),
        }
    }
    // Other threads, and other requests about this one, still work.
    c.call("thread/list", json!({})).await.unwrap();
}
