//! `thread/search`: full text over user messages, agent messages and command lines (SQLite
//! FTS5), best threads first with a snippet, keyset pages, archived threads only when asked, and
//! the same answers after a restart.

use std::collections::HashSet;

use agentd_tests::client::error_code;
use agentd_tests::json::assert_null;
use agentd_tests::mock_llm::{MockLlm, Scripted, Step, Usage};
use agentd_tests::{Agentd, Client, Options};
use serde_json::{json, Value};

const THREADS: usize = 500;

/// What thread `i` is told; a few threads mention a zebra, with different emphasis.
fn message(i: usize) -> String {
    match i {
        7 => "zebra zebra zebra".to_owned(),
        42 => "a zebra appears once in this much longer message about many other things \
               such as build scripts, release notes and the weather"
            .to_owned(),
        _ => format!("alpha note number {i}"),
    }
}

fn answer(i: usize) -> String {
    if i == 99 {
        "the quokka is a small marsupial".to_owned()
    } else {
        format!("reply {i}")
    }
}

/// Runs one turn on a new thread per message; returns the thread ids in creation order.
async fn populate(c: &mut Client) -> Vec<String> {
    let mut ids = Vec::with_capacity(THREADS);
    for i in 0..THREADS {
        let thread = c.start_thread(json!({})).await.unwrap();
        let turn = c.start_turn(&thread, &message(i)).await.unwrap();
        c.until_turn_completed(&turn).await.unwrap();
        c.call("thread/unsubscribe", json!({"threadId": thread}))
            .await
            .unwrap();
        ids.push(thread);
    }
    ids
}

async fn search(c: &mut Client, params: Value) -> Value {
    c.call("thread/search", params).await.unwrap()
}

fn hit_ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["thread"]["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Every page of a query, following `nextCursor`.
async fn all_pages(c: &mut Client, query: &str, limit: u32) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = search(c, json!({"query": query, "limit": limit, "cursor": cursor})).await;
        pages += 1;
        let got = hit_ids(&page);
        assert!(got.len() <= limit as usize);
        ids.extend(got);
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return (ids, pages),
        }
        assert!(pages <= THREADS, "pagination does not end");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranking_pagination_archive_and_restart_over_500_threads() {
    let script = (0..THREADS)
        .map(|i| Scripted::responses_text(&answer(i)))
        .collect();
    let mock = MockLlm::start(script).await.unwrap();
    let opts = Options::default().mock_provider(&mock.base_url(), "responses");
    let d = Agentd::start(opts.clone()).await.unwrap();
    let mut c = d.client("t").await.unwrap();
    let ids = populate(&mut c).await;

    // The thread that says "zebra" three times in three words ranks above the one that says it
    // once in a long message; the snippet marks the match.
    let page = search(&mut c, json!({"query": "zebra"})).await;
    assert_eq!(hit_ids(&page), [ids[7].clone(), ids[42].clone()]);
    assert_null(&page, "nextCursor");
    let snippet = page["data"][1]["snippet"].as_str().unwrap();
    assert!(snippet.contains("**zebra**"), "{snippet}");
    assert_eq!(page["data"][0]["thread"]["preview"], "zebra zebra zebra");

    // Agent messages are searched too, and words are matched case-insensitively.
    let page = search(&mut c, json!({"query": "QUOKKA marsupial"})).await;
    assert_eq!(hit_ids(&page), [ids[99].clone()]);
    assert!(page["data"][0]["snippet"]
        .as_str()
        .unwrap()
        .contains("**quokka**"));

    // 498 threads say "alpha": pages of 37 cover them exactly once.
    let (alpha, pages) = all_pages(&mut c, "alpha", 37).await;
    assert_eq!(alpha.len(), THREADS - 2);
    assert_eq!(alpha.iter().collect::<HashSet<_>>().len(), THREADS - 2);
    assert_eq!(pages, (THREADS - 2).div_ceil(37));
    // A prefix and a number narrow it down.
    let page = search(&mut c, json!({"query": "not* 123"})).await;
    assert_eq!(hit_ids(&page), [ids[123].clone()]);

    // Archived threads are found only when asked for.
    c.call("thread/archive", json!({"threadId": ids[7]}))
        .await
        .unwrap();
    let page = search(&mut c, json!({"query": "zebra"})).await;
    assert_eq!(hit_ids(&page), [ids[42].clone()]);
    let page = search(&mut c, json!({"query": "zebra", "archived": true})).await;
    assert_eq!(hit_ids(&page), [ids[7].clone()]);

    // Bad input is refused with the field named.
    let r = c
        .request("thread/search", json!({"query": "  \"*  "}))
        .await
        .unwrap();
    assert_eq!(error_code(&r), Some(-32602), "{r}");
    let r = c
        .request("thread/search", json!({"query": "zebra", "cursor": "junk"}))
        .await
        .unwrap();
    assert_eq!(error_code(&r), Some(-32602), "{r}");

    // After a restart the index answers the same.
    let (_, data_dir, temp) = d.terminate().await.unwrap();
    let d = Agentd::start(opts.data_dir(&data_dir)).await.unwrap();
    let mut c = d.client("t").await.unwrap();
    let page = search(&mut c, json!({"query": "zebra", "archived": true})).await;
    assert_eq!(hit_ids(&page), [ids[7].clone()]);
    let (again, _) = all_pages(&mut c, "alpha", 100).await;
    assert_eq!(again, alpha);
    drop(temp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_lines_are_searchable_and_rolled_back_turns_are_not() {
    let workspace = tempfile::tempdir().unwrap();
    let mock = MockLlm::start(vec![
        Scripted::responses(vec![
            Step::created(),
            Step::function_call(
                "c1",
                "shell",
                &json!({"command": ["echo", "wombat-marker"]}).to_string(),
            ),
            Step::completed(Usage::default()),
        ]),
        Scripted::responses_text("ran it"),
        Scripted::responses_text("a narwhal answer"),
    ])
    .await
    .unwrap();
    let d = Agentd::start(
        Options::default()
            .mock_provider(&mock.base_url(), "responses")
            .arg("-c")
            .arg("approval_policy=\"never\"")
            .arg("-c")
            .arg("sandbox_mode=\"danger-full-access\""),
    )
    .await
    .unwrap();
    let mut c = d.client("t").await.unwrap();
    let thread = c
        .start_thread(json!({"cwd": workspace.path().display().to_string()}))
        .await
        .unwrap();
    let t1 = c.start_turn(&thread, "run something").await.unwrap();
    c.until_turn_completed(&t1).await.unwrap();
    let page = search(&mut c, json!({"query": "wombat"})).await;
    assert_eq!(hit_ids(&page), std::slice::from_ref(&thread));
    assert!(page["data"][0]["snippet"]
        .as_str()
        .unwrap()
        .contains("echo"));

    let t2 = c
        .start_turn(&thread, "tell me about narwhals")
        .await
        .unwrap();
    c.until_turn_completed(&t2).await.unwrap();
    assert_eq!(
        hit_ids(&search(&mut c, json!({"query": "narwhal"})).await),
        std::slice::from_ref(&thread)
    );
    c.call(
        "thread/rollback",
        json!({"threadId": thread, "numTurns": 1}),
    )
    .await
    .unwrap();
    assert!(hit_ids(&search(&mut c, json!({"query": "narwhal"})).await).is_empty());
    assert_eq!(
        hit_ids(&search(&mut c, json!({"query": "wombat"})).await),
        [thread]
    );
}
