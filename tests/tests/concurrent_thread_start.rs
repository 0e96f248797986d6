//! Many connections starting threads at the same moment each get their own thread, listed once,
//! and each creator gets its own `thread/started` with seq 1.

use std::collections::HashSet;

use agentd_tests::client::seq_of;
use agentd_tests::{Agentd, Options};
use serde_json::json;

const CONNECTIONS: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_connections_starting_threads_at_once_get_twenty_threads() {
    let daemon = Agentd::start(Options::default()).await.unwrap();
    let mut clients = Vec::new();
    for i in 0..CONNECTIONS {
        clients.push(daemon.client(&format!("c{i}")).await.unwrap());
    }

    // Every connection sends its thread/start before any answer is awaited.
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(CONNECTIONS));
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|mut c| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let result = c.call("thread/start", json!({})).await.unwrap();
                let id = result["thread"]["id"].as_str().unwrap().to_owned();
                let started = c.thread_events(&id, 1).await.unwrap();
                (c, result, id, started)
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }

    let ids: HashSet<String> = outcomes.iter().map(|(_, _, id, _)| id.clone()).collect();
    assert_eq!(ids.len(), CONNECTIONS, "thread ids are not distinct");
    for (_, result, id, started) in &outcomes {
        assert_eq!(result["thread"]["lastSeq"], 1, "{result}");
        assert_eq!(started.len(), 1, "{started:?}");
        let ev = &started[0];
        assert_eq!(ev["method"], "thread/started");
        assert_eq!(ev["params"]["thread"]["id"], *id);
        assert_eq!(seq_of(ev), Some(1));
    }
    // No creator heard about anyone else's thread.
    for (c, _, id, _) in &mut outcomes {
        assert!(!c.has_buffered(), "creator of {id} got other messages");
        let r = c.call("thread/list", json!({"limit": 100})).await.unwrap();
        let listed: Vec<String> = r["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(listed.len(), CONNECTIONS);
        assert_eq!(listed.iter().cloned().collect::<HashSet<_>>(), ids);
        assert!(!c.has_buffered(), "creator of {id} got other messages");
    }
}
