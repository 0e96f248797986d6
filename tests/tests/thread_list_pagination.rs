//! `thread/list` over many threads: newest first, cursor pages without duplicates or holes, and
//! the `archived` and `cwd` filters (PROTOCOL.md §5).

use std::collections::HashSet;
use std::path::PathBuf;

use agentd_tests::json::{assert_null, field};
use agentd_tests::{Agentd, Client, Options};
use serde_json::{json, Value};

const THREADS: usize = 250;

struct Fixture {
    _daemon: Agentd,
    c: Client,
    /// Thread ids in creation order.
    ids: Vec<String>,
    dirs: [PathBuf; 2],
    _temps: [tempfile::TempDir; 2],
}

/// Starts `THREADS` threads, alternating between two existing directories as cwd.
async fn fixture() -> Fixture {
    let daemon = Agentd::start(Options::default()).await.unwrap();
    let mut c = daemon.client("lister").await.unwrap();
    let temps = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let dirs = [
        temps[0].path().canonicalize().unwrap(),
        temps[1].path().canonicalize().unwrap(),
    ];
    let calls: Vec<(String, Value)> = (0..THREADS)
        .map(|i| {
            (
                "thread/start".to_owned(),
                json!({"cwd": dirs[i % 2].display().to_string()}),
            )
        })
        .collect();
    let results = c.call_pipelined(calls, 16).await.unwrap();
    let mut ids = Vec::new();
    for (i, r) in results.iter().enumerate() {
        ids.push(r["thread"]["id"].as_str().unwrap().to_owned());
        assert_eq!(r["cwd"], dirs[i % 2].display().to_string(), "{r}");
        assert_eq!(r["thread"]["cwd"], r["cwd"], "{r}");
    }
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), THREADS);
    Fixture {
        _daemon: daemon,
        c,
        ids,
        dirs,
        _temps: temps,
    }
}

/// Every page of a listing, following `nextCursor` to the end.
async fn pages(c: &mut Client, params: Value) -> Vec<Vec<Value>> {
    let mut out = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let mut p = params.clone();
        p["cursor"] = cursor;
        let r = c.call("thread/list", p).await.unwrap();
        out.push(r["data"].as_array().unwrap().clone());
        cursor = field(&r, "nextCursor").clone();
        if cursor.is_null() {
            return out;
        }
        assert!(cursor.is_string(), "nextCursor is a string or null: {r}");
        assert!(out.len() <= THREADS, "pagination does not end");
    }
}

fn ids_of(threads: &[Value]) -> Vec<String> {
    threads
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_of_100_100_50_cover_every_thread_once_newest_first() {
    let mut f = fixture().await;
    let pages = pages(&mut f.c, json!({"limit": 100})).await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![100, 100, 50]);

    let all: Vec<Value> = pages.concat();
    let listed = ids_of(&all);
    // Newest first: exactly the reverse of creation order.
    let expected: Vec<String> = f.ids.iter().rev().cloned().collect();
    assert_eq!(listed, expected);
    assert_eq!(listed.iter().collect::<HashSet<_>>().len(), THREADS);
    let created: Vec<i64> = all
        .iter()
        .map(|t| t["createdAt"].as_i64().unwrap())
        .collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "{created:?}");
    for t in &all {
        assert_eq!(t["archived"], false);
        assert_eq!(t["turns"], json!([]));
    }

    // A limit that divides the total exactly: the last full page has a null cursor (no empty page).
    let pages = self::pages(&mut f.c, json!({"limit": 125})).await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![125, 125]);
    assert_eq!(ids_of(&pages.concat()), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_archived_filter_splits_the_listing() {
    let mut f = fixture().await;
    // Archive every tenth thread.
    let archived: Vec<String> = f.ids.iter().step_by(10).cloned().collect();
    let calls: Vec<(String, Value)> = archived
        .iter()
        .map(|id| ("thread/archive".to_owned(), json!({"threadId": id})))
        .collect();
    f.c.call_pipelined(calls, 16).await.unwrap();

    let listed_archived = pages(&mut f.c, json!({"archived": true, "limit": 10}))
        .await
        .concat();
    let expected: Vec<String> = archived.iter().rev().cloned().collect();
    assert_eq!(ids_of(&listed_archived), expected);
    assert!(listed_archived.iter().all(|t| t["archived"] == true));

    let unarchived_expected: Vec<String> = f
        .ids
        .iter()
        .rev()
        .filter(|id| !archived.contains(id))
        .cloned()
        .collect();
    for params in [
        json!({"limit": 100}),
        json!({"limit": 100, "archived": false}),
    ] {
        let pages = pages(&mut f.c, params).await;
        let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![100, 100, 25]);
        let listed = pages.concat();
        assert_eq!(ids_of(&listed), unarchived_expected);
        assert!(listed.iter().all(|t| t["archived"] == false));
    }

    // Unarchiving moves a thread back.
    f.c.call("thread/unarchive", json!({"threadId": archived[0]}))
        .await
        .unwrap();
    let listed_archived = pages(&mut f.c, json!({"archived": true})).await.concat();
    assert_eq!(listed_archived.len(), archived.len() - 1);
    assert!(!ids_of(&listed_archived).contains(&archived[0]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cwd_filter_lists_only_threads_started_there() {
    let mut f = fixture().await;
    for (which, dir) in f.dirs.iter().enumerate() {
        let dir = dir.display().to_string();
        let pages = pages(&mut f.c, json!({"cwd": dir, "limit": 50})).await;
        let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![50, 50, 25]);
        let listed = pages.concat();
        let expected: Vec<String> = f
            .ids
            .iter()
            .enumerate()
            .rev()
            .filter(|(i, _)| i % 2 == which)
            .map(|(_, id)| id.clone())
            .collect();
        assert_eq!(ids_of(&listed), expected);
        for t in &listed {
            assert_eq!(t["cwd"], dir);
        }
    }

    // A directory no thread was started in lists nothing.
    let other = tempfile::tempdir().unwrap();
    let r =
        f.c.call(
            "thread/list",
            json!({"cwd": other.path().display().to_string()}),
        )
        .await
        .unwrap();
    assert_eq!(r["data"], json!([]));
    assert_null(&r, "nextCursor");
}
