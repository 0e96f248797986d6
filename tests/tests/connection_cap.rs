//! The WebSocket listener serves at most `--max-connections` connections; one more is refused
//! with HTTP 503 before the upgrade, and a slot that frees is usable again.

use agentd_tests::{Agentd, Client, Options};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_cap_a_connection_gets_503_and_a_freed_slot_is_reused() {
    let d = Agentd::start(Options::default().arg("--max-connections").arg("2"))
        .await
        .unwrap();
    let mut a = d.client("a").await.unwrap();
    let _b = d.client("b").await.unwrap();
    let refused = Client::connect_ws(&d.url)
        .await
        .err()
        .expect("a third connection");
    assert!(refused.to_string().contains("503"), "{refused:#}");

    // The two admitted ones work; closing one lets a new one in.
    a.call("thread/list", serde_json::json!({})).await.unwrap();
    a.close();
    let mut c = None;
    for _ in 0..50 {
        match d.client("c").await {
            Ok(client) => {
                c = Some(client);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
    let mut c = c.expect("a freed slot admits a new connection");
    c.call("thread/list", serde_json::json!({})).await.unwrap();
}
