//! The store contract: one suite of cases, run against both implementations of
//! `agentd::store::Store` — the embedded SQLite file and PostgreSQL (a throwaway server from
//! `agentd_tests::postgres`). Whatever the daemon relies on the store for is asserted here with
//! exact values, so the two cannot drift apart: threads read back column for column, commits
//! are atomic, pages have no duplicates, rollback and compaction hide exactly the right rows,
//! search finds exactly the right threads, memory leases hold until they lapse.
//!
//! Every case runs on one store after the others, each on thread ids (and words, projects) of
//! its own; a case reading something store-wide (ephemeral threads, running turns, memory
//! candidates) looks only at its own ids. On PostgreSQL only a thread's lease holder may commit
//! to it, so every commit here takes the lease first ([`hold`]); the cases about threads nobody
//! runs any more give their leases up first ([`let_go`]), as a stopping daemon does.

use std::future::Future;
use std::ops::RangeInclusive;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;

use agentd::store::postgres::{LeaseOutcome, PendingApproval, PgOptions};
use agentd::store::{
    is_last_page, CandidateQuery, CommitBatch, HistoryEntry, HistoryRow, ItemRow, MemoryCandidate,
    MemoryRow, NewEvent, Projection, RowWrite, SearchCursor, SearchHit, SearchQuery, Store,
    StoreError, StoredEvent, SummaryRow, ThreadListQuery, ThreadRow, TurnRow, TurnState,
};
use agentd_tests::postgres::TestPostgres;
use futures_util::FutureExt;
use serde_json::{json, Value};

/// One contract case: checks one behaviour on the store it is given.
type Case = for<'a> fn(&'a Store) -> Pin<Box<dyn Future<Output = ()> + 'a>>;

macro_rules! cases {
    ($($case:ident),* $(,)?) => {
        &[$((stringify!($case), |store| Box::pin($case(store)))),*]
    };
}

/// Every case, in the order they run. The memory case goes last: it resets all memory.
const CASES: &[(&str, Case)] = cases![
    new_thread_reads_back,
    commit_paths_agree,
    duplicate_seq_changes_nothing,
    progress_needs_a_stored_thread,
    events_after_pages,
    events_after_bounds_bytes,
    list_threads_filters,
    list_threads_pages,
    turns_and_items,
    history_compaction_and_rollback,
    forked_history_keeps_compaction,
    changed_files,
    running_turns,
    ephemeral_threads,
    search_finds_exactly,
    search_pages,
    delete_thread_removes_everything,
    memory_jobs_and_summaries,
];

#[tokio::test]
async fn contract_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("agentd.db")).await.unwrap();
    run_contract(&store).await;
    store.close().await;
}

#[tokio::test]
async fn contract_postgres() {
    let server = TestPostgres::start().unwrap();
    let url = server.create_database("store_contract").await.unwrap();
    let store = Store::connect(PgOptions::new(url)).await.unwrap();
    run_contract(&store).await;
    store.close().await;
}

/// Runs every case, each to its end: a failing case's panic is printed as it happens, and the
/// test fails at the end naming every case that failed (cases use their own threads, so one
/// failing leaves the others meaningful).
async fn run_contract(store: &Store) {
    let mut failed = Vec::new();
    for (name, case) in CASES {
        eprintln!("store contract: {name}");
        if AssertUnwindSafe(case(store)).catch_unwind().await.is_err() {
            failed.push(*name);
        }
    }
    assert!(failed.is_empty(), "store contract cases failed: {failed:?}");
}

// ---------------------------------------------------------------------------------------------
// Threads and commits

/// A thread's every column survives the round trip; an upsert overwrites every updatable
/// column and keeps those fixed when the thread was created.
async fn new_thread_reads_back(store: &Store) {
    assert_eq!(store.thread("new-1").await.unwrap(), None);
    let row = ThreadRow {
        id: "new-1".into(),
        session_id: "new-session".into(),
        forked_from_id: Some("new-0".into()),
        name: Some("Naïve «name» with 'single' and \"double\" quotes".into()),
        preview: "first line\nsecond line — ünïcödé 🚀 100% _done_ \\ back".into(),
        cwd: "/contract/new dir".into(),
        model: "gpt-test".into(),
        model_provider: "openai".into(),
        settings: json!({
            "approvalPolicy": "never",
            "sandbox": {"mode": "workspace-write", "roots": ["/a", "/b"]},
            "ratio": 12.5,
            "flag": true,
            "nothing": null,
        }),
        ephemeral: true,
        archived: true,
        created_at: 1_700_000_000_123,
        updated_at: 1_700_000_000_456,
        last_seq: 2,
        source: r#"{"subAgent":{"thread_spawn":{"parent_thread_id":"new-0","depth":1}}}"#.into(),
        source_kind: "subAgentThreadSpawn".into(),
        parent_id: Some("new-0".into()),
    };
    commit(store, batch(&row, events(1..=2), vec![])).await;
    assert_eq!(store.thread("new-1").await.unwrap(), Some(row.clone()));

    let changed = ThreadRow {
        name: Some("renamed".into()),
        preview: "second preview".into(),
        cwd: "/contract/moved".into(),
        model: "gpt-other".into(),
        model_provider: "other".into(),
        settings: json!({"approvalPolicy": "onRequest"}),
        archived: false,
        updated_at: 1_700_000_001_000,
        last_seq: 3,
        ..row.clone()
    };
    commit(store, batch(&changed, events(3..=3), vec![])).await;
    assert_eq!(store.thread("new-1").await.unwrap(), Some(changed.clone()));

    // The columns a thread is created with are not rewritten by a later upsert.
    let rewritten = ThreadRow {
        session_id: "other-session".into(),
        forked_from_id: None,
        ephemeral: false,
        created_at: 5,
        source: "\"exec\"".into(),
        source_kind: "exec".into(),
        parent_id: None,
        last_seq: 4,
        ..changed.clone()
    };
    commit(store, batch(&rewritten, events(4..=4), vec![])).await;
    let kept = ThreadRow {
        last_seq: 4,
        ..changed.clone()
    };
    assert_eq!(store.thread("new-1").await.unwrap(), Some(kept.clone()));

    // A name can be cleared.
    let unnamed = ThreadRow {
        name: None,
        last_seq: 5,
        ..kept
    };
    commit(store, batch(&unnamed, events(5..=5), vec![])).await;
    assert_eq!(store.thread("new-1").await.unwrap(), Some(unnamed));
}

/// A batch of events only and a batch with projections (SQLite commits them on different
/// paths) write the same thread row and events, for an upsert and for a progress update; a
/// batch of more events than one statement holds is stored whole.
async fn commit_paths_agree(store: &Store) {
    let mut row = ThreadRow {
        name: Some("n".into()),
        settings: json!({"k": 1}),
        last_seq: 2,
        ..thread("path-1")
    };
    commit(store, batch(&row, events(1..=2), vec![])).await;
    assert_eq!(store.thread("path-1").await.unwrap(), Some(row.clone()));

    row = ThreadRow {
        name: Some("n2".into()),
        preview: "p2".into(),
        cwd: "/contract/path2".into(),
        model: "m2".into(),
        model_provider: "mp2".into(),
        settings: json!({"k": 2}),
        archived: true,
        updated_at: 2_000,
        last_seq: 3,
        ..row
    };
    commit(store, batch(&row, events(3..=3), vec![])).await;
    assert_eq!(store.thread("path-1").await.unwrap(), Some(row.clone()));

    row = ThreadRow {
        name: Some("n3".into()),
        preview: "p3".into(),
        cwd: "/contract/path3".into(),
        model: "m3".into(),
        model_provider: "mp3".into(),
        settings: json!({"k": 3}),
        archived: false,
        updated_at: 2_500,
        last_seq: 4,
        ..row
    };
    let t0 = turn("path-1", "path-1-t0", 0);
    let with_turn = vec![Projection::Turn(t0.clone())];
    commit(store, batch(&row, events(4..=4), with_turn)).await;
    assert_eq!(store.thread("path-1").await.unwrap(), Some(row.clone()));

    // A progress update takes updated_at and last_seq from the batch and nothing else, on
    // both paths. Its events carry its updated_at, as the daemon's always do: a store may
    // read a thread's progress from its newest event (SQLite does, decision 019).
    let stale = ThreadRow {
        name: Some("ignored".into()),
        cwd: "/ignored".into(),
        archived: true,
        settings: json!({"ignored": true}),
        updated_at: 3_000,
        last_seq: 5,
        ..row.clone()
    };
    let progress = batch(&stale, made_at(events(5..=5), 3_000), vec![]);
    try_commit(store, &progress, RowWrite::Progress)
        .await
        .unwrap();
    row.updated_at = 3_000;
    row.last_seq = 5;
    assert_eq!(store.thread("path-1").await.unwrap(), Some(row.clone()));

    let stale = ThreadRow {
        updated_at: 4_000,
        last_seq: 6,
        ..stale
    };
    let t1 = turn("path-1", "path-1-t1", 1);
    let progress = batch(&stale, events(6..=6), vec![Projection::Turn(t1.clone())]);
    try_commit(store, &progress, RowWrite::Progress)
        .await
        .unwrap();
    row.updated_at = 4_000;
    row.last_seq = 6;
    assert_eq!(store.thread("path-1").await.unwrap(), Some(row.clone()));

    // 450 events in one batch.
    row.last_seq = 456;
    commit(store, batch(&row, events(7..=456), vec![])).await;
    assert_eq!(store.thread("path-1").await.unwrap(), Some(row));
    let stored = store.events_after("path-1", 0, 1_000).await.unwrap();
    assert_eq!(stored, stored_events(1..=456));
    assert_eq!(store.turns("path-1").await.unwrap(), [t0, t1]);
}

/// A batch repeating a stored seq fails as a whole (thread row, new events, projections all
/// unwritten), on every path; the next good batch commits.
async fn duplicate_seq_changes_nothing(store: &Store) {
    let row = ThreadRow {
        name: Some("dup".into()),
        last_seq: 3,
        ..thread("dup-1")
    };
    let t0 = turn("dup-1", "dup-1-t0", 0);
    let i0 = agent_message("dup-1", "dup-1-t0", "dup-1-i0", 0, "first");
    let seeded = vec![Projection::Turn(t0.clone()), Projection::Item(i0.clone())];
    commit(store, batch(&row, events(1..=3), seeded)).await;

    let broken = ThreadRow {
        name: Some("must not be stored".into()),
        archived: true,
        updated_at: 9_999,
        last_seq: 4,
        ..row.clone()
    };
    let repeat = vec![event(4), event(3)];
    let fast = batch(&broken, repeat.clone(), vec![]);
    assert!(try_commit(store, &fast, RowWrite::Upsert).await.is_err());
    assert!(try_commit(store, &fast, RowWrite::Progress).await.is_err());
    let t1 = turn("dup-1", "dup-1-t1", 1);
    let i1 = agent_message("dup-1", "dup-1-t1", "dup-1-i1", 0, "must not be stored");
    let projected = batch(
        &broken,
        repeat,
        vec![Projection::Turn(t1), Projection::Item(i1)],
    );
    assert!(try_commit(store, &projected, RowWrite::Upsert)
        .await
        .is_err());
    assert!(try_commit(store, &projected, RowWrite::Progress)
        .await
        .is_err());

    assert_eq!(store.thread("dup-1").await.unwrap(), Some(row.clone()));
    let stored = store.events_after("dup-1", 0, 100).await.unwrap();
    assert_eq!(stored, stored_events(1..=3));
    assert_eq!(store.turns("dup-1").await.unwrap(), [t0]);
    assert_eq!(store.items("dup-1").await.unwrap(), [i0]);

    let next = ThreadRow {
        last_seq: 4,
        updated_at: 1_004,
        ..row
    };
    commit(store, batch(&next, events(4..=4), vec![])).await;
    assert_eq!(store.thread("dup-1").await.unwrap(), Some(next));
    let stored = store.events_after("dup-1", 0, 100).await.unwrap();
    assert_eq!(stored, stored_events(1..=4));
}

/// A progress update of a thread that is not stored fails on both paths and writes nothing.
async fn progress_needs_a_stored_thread(store: &Store) {
    let row = ThreadRow {
        last_seq: 1,
        ..thread("orphan-1")
    };
    let fast = batch(&row, events(1..=1), vec![]);
    assert!(try_commit(store, &fast, RowWrite::Progress).await.is_err());
    let t0 = turn("orphan-1", "orphan-1-t0", 0);
    let projected = batch(&row, events(1..=1), vec![Projection::Turn(t0.clone())]);
    assert!(try_commit(store, &projected, RowWrite::Progress)
        .await
        .is_err());
    assert_eq!(store.thread("orphan-1").await.unwrap(), None);
    assert_eq!(store.events_after("orphan-1", 0, 100).await.unwrap(), []);
    assert_eq!(store.turns("orphan-1").await.unwrap(), []);

    // The same batch as an upsert creates the thread.
    try_commit(store, &projected, RowWrite::Upsert)
        .await
        .unwrap();
    assert_eq!(store.thread("orphan-1").await.unwrap(), Some(row));
    assert_eq!(store.turns("orphan-1").await.unwrap(), [t0]);
}

/// `events_after`: strictly after the seq, oldest first, at most `limit`, one thread's only,
/// kind and payload text exactly as committed.
async fn events_after_pages(store: &Store) {
    let mut row = thread("ev-1");
    for range in [1..=4, 5..=7, 8..=10] {
        row.last_seq = *range.end();
        commit(store, batch(&row, events(range), vec![])).await;
    }
    // Another thread with the same seqs and other payloads.
    let other: Vec<NewEvent> = (1..=5)
        .map(|seq| NewEvent {
            seq,
            kind: "turn/started".into(),
            payload: format!(r#"{{"other":{seq}}}"#),
            created_at: 8,
        })
        .collect();
    let other_row = ThreadRow {
        last_seq: 5,
        ..thread("ev-2")
    };
    commit(store, batch(&other_row, other.clone(), vec![])).await;

    let all = store.events_after("ev-1", 0, 100).await.unwrap();
    assert_eq!(all, stored_events(1..=10));
    assert_eq!(
        store.events_after("ev-1", 3, 4).await.unwrap(),
        stored_events(4..=7)
    );
    assert_eq!(
        store.events_after("ev-1", 9, 100).await.unwrap(),
        stored_events(10..=10)
    );
    assert_eq!(store.events_after("ev-1", 10, 100).await.unwrap(), []);
    // A seq from outside beyond what the database's integers hold is past every event, not a
    // wrapped-around negative number that replays them all.
    assert_eq!(store.events_after("ev-1", u64::MAX, 100).await.unwrap(), []);
    assert_eq!(
        store
            .events_after("ev-1", i64::MAX as u64 + 1, 100)
            .await
            .unwrap(),
        []
    );
    assert_eq!(store.events_after("ev-1", 0, 0).await.unwrap(), []);
    assert_eq!(store.events_after("ev-missing", 0, 100).await.unwrap(), []);

    let mut paged = Vec::new();
    let mut sizes = Vec::new();
    let mut after = 0;
    loop {
        let page = store.events_after("ev-1", after, 3).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        sizes.push(page.len());
        paged.extend(page);
    }
    assert_eq!(sizes, [3, 3, 3, 1]);
    assert_eq!(paged, all);

    let theirs: Vec<StoredEvent> = other
        .into_iter()
        .map(|e| StoredEvent {
            seq: e.seq,
            kind: e.kind,
            payload: e.payload,
        })
        .collect();
    assert_eq!(store.events_after("ev-2", 0, 100).await.unwrap(), theirs);
}

/// A page of events ends early once its payloads reach 32 MiB (whatever the count asked for),
/// and says so: `is_last_page` is false for it, true for the page that reaches the end.
async fn events_after_bounds_bytes(store: &Store) {
    const MIB: usize = 1 << 20;
    // Payloads of exactly 1 MiB: `{"x":"aaa…"}`.
    let big = |seq: u64| NewEvent {
        seq,
        kind: "item/completed".into(),
        payload: format!(r#"{{"x":"{}"}}"#, "a".repeat(MIB - 8)),
        created_at: 7,
    };
    let mut row = thread("ev-bytes");
    for first in (1..=40).step_by(10) {
        row.last_seq = first + 9;
        commit(
            store,
            batch(&row, (first..=first + 9).map(big).collect(), vec![]),
        )
        .await;
    }
    let first = store.events_after("ev-bytes", 0, 100).await.unwrap();
    assert_eq!(first.len(), 32, "the page was not ended at 32 MiB");
    assert!(first.iter().all(|e| e.payload.len() == MIB));
    assert!(!is_last_page(&first, 100));
    let rest = store.events_after("ev-bytes", 32, 100).await.unwrap();
    assert_eq!(
        rest.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (33..=40).collect::<Vec<_>>()
    );
    assert!(is_last_page(&rest, 100));
    // A page short by count alone is the end; a full page is not.
    assert!(is_last_page(&stored_events(1..=3), 4));
    assert!(!is_last_page(&stored_events(1..=4), 4));
}

/// Every `thread/list` filter, alone and combined (filters are ANDed), newest first.
async fn list_threads_filters(store: &Store) {
    const CWD: &str = "/contract/list";
    let threads = [
        ThreadRow {
            preview: "plain thread".into(),
            ..listed_thread("list-1", CWD)
        },
        ThreadRow {
            preview: "archived thread".into(),
            archived: true,
            ..listed_thread("list-2", CWD)
        },
        ThreadRow {
            name: Some("Refactor the Parser".into()),
            preview: "bugxnow".into(),
            source: "\"exec\"".into(),
            source_kind: "exec".into(),
            ..listed_thread("list-3", CWD)
        },
        ThreadRow {
            preview: "fix the 100% bug_now".into(),
            ephemeral: true,
            ..listed_thread("list-4", CWD)
        },
        ThreadRow {
            preview: "child".into(),
            source_kind: "subAgentThreadSpawn".into(),
            parent_id: Some("list-1".into()),
            ..listed_thread("list-5", CWD)
        },
        ThreadRow {
            preview: "elsewhere".into(),
            ..listed_thread("list-6", "/contract/list-other")
        },
    ];
    for t in &threads {
        commit(store, batch(t, vec![], vec![])).await;
    }
    let here = || ThreadListQuery {
        cwd: Some(CWD.into()),
        limit: 50,
        ..ThreadListQuery::default()
    };
    let matching = |term: &str| ThreadListQuery {
        search_term: Some(term.into()),
        ..here()
    };
    let kinds = |kinds: &[&str]| ThreadListQuery {
        source_kinds: kinds.iter().map(|k| k.to_string()).collect(),
        ..here()
    };

    // Whole rows, not just ids.
    let rows = store.list_threads(&here()).await.unwrap();
    let expected: Vec<ThreadRow> = [4, 3, 2, 0].iter().map(|&i| threads[i].clone()).collect();
    assert_eq!(rows, expected);

    assert_eq!(
        listed(store, here()).await,
        ["list-5", "list-4", "list-3", "list-1"]
    );
    let archived = ThreadListQuery {
        archived: true,
        ..here()
    };
    assert_eq!(listed(store, archived).await, ["list-2"]);
    let other_cwd = ThreadListQuery {
        cwd: Some("/contract/list-other".into()),
        ..here()
    };
    assert_eq!(listed(store, other_cwd).await, ["list-6"]);

    // The search term matches name or preview, in any case; % and _ are plain characters.
    assert_eq!(listed(store, matching("Parser")).await, ["list-3"]);
    assert_eq!(
        listed(store, matching("refactor the parser")).await,
        ["list-3"]
    );
    assert_eq!(listed(store, matching("plain")).await, ["list-1"]);
    assert_eq!(listed(store, matching("100%")).await, ["list-4"]);
    assert_eq!(listed(store, matching("bug_now")).await, ["list-4"]);
    assert_eq!(
        listed(store, matching("no such words")).await,
        Vec::<String>::new()
    );
    assert_eq!(
        listed(store, matching("")).await,
        ["list-5", "list-4", "list-3", "list-1"]
    );

    assert_eq!(listed(store, kinds(&["exec"])).await, ["list-3"]);
    assert_eq!(
        listed(store, kinds(&["exec", "subAgentThreadSpawn"])).await,
        ["list-5", "list-3"]
    );
    assert_eq!(
        listed(store, kinds(&["appServer"])).await,
        ["list-4", "list-1"]
    );

    let children = ThreadListQuery {
        parent_id: Some("list-1".into()),
        ..here()
    };
    assert_eq!(listed(store, children).await, ["list-5"]);
    let children_anywhere = ThreadListQuery {
        parent_id: Some("list-1".into()),
        limit: 50,
        ..ThreadListQuery::default()
    };
    assert_eq!(listed(store, children_anywhere).await, ["list-5"]);

    let durable = ThreadListQuery {
        without_ephemeral: true,
        ..here()
    };
    assert_eq!(listed(store, durable).await, ["list-5", "list-3", "list-1"]);
    let durable_app = ThreadListQuery {
        without_ephemeral: true,
        ..kinds(&["appServer"])
    };
    assert_eq!(listed(store, durable_app).await, ["list-1"]);

    let two = ThreadListQuery { limit: 2, ..here() };
    assert_eq!(listed(store, two).await, ["list-5", "list-4"]);
}

/// Keyset pages: newest first, each page after the previous one's last id, no duplicates and
/// nothing skipped, even when a newer thread arrives between pages.
async fn list_threads_pages(store: &Store) {
    const CWD: &str = "/contract/pages";
    for i in 1..=7 {
        let id = format!("page-{i}");
        commit(store, batch(&listed_thread(&id, CWD), vec![], vec![])).await;
    }
    let archived = ThreadRow {
        archived: true,
        ..listed_thread("page-9", CWD)
    };
    commit(store, batch(&archived, vec![], vec![])).await;
    let page = |after: Option<&str>| ThreadListQuery {
        cwd: Some(CWD.into()),
        after_id: after.map(str::to_owned),
        limit: 3,
        ..ThreadListQuery::default()
    };

    assert_eq!(
        listed(store, page(None)).await,
        ["page-7", "page-6", "page-5"]
    );
    // A newer thread between pages does not shift the next ones.
    let newer = listed_thread("page-8", CWD);
    commit(store, batch(&newer, vec![], vec![])).await;
    assert_eq!(
        listed(store, page(Some("page-5"))).await,
        ["page-4", "page-3", "page-2"]
    );
    assert_eq!(listed(store, page(Some("page-2"))).await, ["page-1"]);
    assert_eq!(
        listed(store, page(Some("page-1"))).await,
        Vec::<String>::new()
    );
    assert_eq!(
        listed(store, page(None)).await,
        ["page-8", "page-7", "page-6"]
    );
    let archived_pages = ThreadListQuery {
        archived: true,
        ..page(None)
    };
    assert_eq!(listed(store, archived_pages).await, ["page-9"]);
}

// ---------------------------------------------------------------------------------------------
// Turns, items, history

/// Turns with every column; items in position order whatever the commit order; the items
/// JSON of each visible turn; upserts of turns and items; rolled-back turns left out of the
/// turn list sent to clients but kept (with their items) in the store.
async fn turns_and_items(store: &Store) {
    let t1 = TurnRow {
        started_at: Some(10),
        completed_at: Some(20),
        duration_ms: Some(10_000),
        usage: Some(json!({"inputTokens": 100, "cachedInputTokens": 0, "outputTokens": 20})),
        client_request_id: Some("req-1".into()),
        ..turn("ti-1", "ti-1-t1", 0)
    };
    let t2 = TurnRow {
        status: TurnState::Failed,
        error: Some(json!({"message": "boom", "codexErrorInfo": "other"})),
        started_at: Some(30),
        completed_at: Some(31),
        duration_ms: Some(1_000),
        ..turn("ti-1", "ti-1-t2", 1)
    };
    let t3 = TurnRow {
        status: TurnState::Interrupted,
        ..turn("ti-1", "ti-1-t3", 2)
    };
    let t4 = TurnRow {
        status: TurnState::InProgress,
        started_at: Some(40),
        ..turn("ti-1", "ti-1-t4", 3)
    };
    let t1_items = [
        user_message("ti-1", "ti-1-t1", "ti-1-i0", 0, "hello there"),
        agent_message("ti-1", "ti-1-t1", "ti-1-i1", 1, "general kenobi"),
        command("ti-1", "ti-1-t1", "ti-1-i2", 2, "ls -la"),
    ];
    let t2_item = agent_message("ti-1", "ti-1-t2", "ti-1-i3", 0, "about to fail");
    let t4_item = agent_message("ti-1", "ti-1-t4", "ti-1-i4", 0, "streaming…");
    let mut projections: Vec<Projection> = [&t1, &t2, &t3, &t4]
        .into_iter()
        .map(|t| Projection::Turn(t.clone()))
        .collect();
    // Items committed out of position order.
    for i in [&t1_items[2], &t1_items[0], &t4_item, &t1_items[1], &t2_item] {
        projections.push(Projection::Item(i.clone()));
    }
    commit(store, batch(&thread("ti-1"), vec![], projections)).await;
    // Another thread's turn and item never show up in ti-1's.
    let other = vec![
        Projection::Turn(turn("ti-2", "ti-2-t1", 0)),
        Projection::Item(agent_message("ti-2", "ti-2-t1", "ti-2-i0", 0, "other")),
    ];
    commit(store, batch(&thread("ti-2"), vec![], other)).await;

    assert_eq!(
        store.turns("ti-1").await.unwrap(),
        [t1.clone(), t2.clone(), t3.clone(), t4.clone()]
    );
    let mut items = t1_items.to_vec();
    items.extend([t2_item.clone(), t4_item.clone()]);
    assert_eq!(store.items("ti-1").await.unwrap(), items);
    assert_eq!(
        turns_with_items(store, "ti-1").await,
        [
            (t1.clone(), payloads(&t1_items)),
            (t2.clone(), payloads([&t2_item])),
            (t3.clone(), json!([])),
            (t4.clone(), payloads([&t4_item])),
        ]
    );

    // The running turn completes and its item is rewritten: same ids, new contents.
    let t4_done = TurnRow {
        status: TurnState::Completed,
        completed_at: Some(50),
        duration_ms: Some(10_000),
        usage: Some(json!({"inputTokens": 7})),
        ..t4.clone()
    };
    let t4_item_done = agent_message("ti-1", "ti-1-t4", "ti-1-i4", 0, "streamed in full");
    let update = vec![
        Projection::Turn(t4_done.clone()),
        Projection::Item(t4_item_done.clone()),
    ];
    commit(store, batch(&thread("ti-1"), vec![], update)).await;
    // The rolled-back turn leaves the turns sent to clients, not the store.
    let rollback = vec![Projection::RollBack {
        thread_id: "ti-1".into(),
        turn_ids: vec!["ti-1-t2".into()],
    }];
    commit(store, batch(&thread("ti-1"), vec![], rollback)).await;

    let t2_rolled_back = TurnRow {
        rolled_back: true,
        ..t2
    };
    assert_eq!(
        store.turns("ti-1").await.unwrap(),
        [t1.clone(), t2_rolled_back, t3.clone(), t4_done.clone()]
    );
    items[4] = t4_item_done.clone();
    assert_eq!(store.items("ti-1").await.unwrap(), items);
    assert_eq!(
        turns_with_items(store, "ti-1").await,
        [
            (t1, payloads(&t1_items)),
            (t3, json!([])),
            (t4_done, payloads([&t4_item_done])),
        ]
    );
    assert_eq!(store.turns("ti-missing").await.unwrap(), []);
    assert_eq!(store.items("ti-missing").await.unwrap(), []);
    assert_eq!(store.turns_with_items_json("ti-missing").await.unwrap(), []);
}

/// The model-facing history: compaction hides what it replaced, rolling the compacting turn
/// back brings it back, a later compaction hides it again; the context size comes from the
/// newest turn still in the history.
async fn history_compaction_and_rollback(store: &Store) {
    let t = "hist-1";
    let ta = "hist-1-a";
    let tb = "hist-1-b";
    let tc = "hist-1-c";
    let td = "hist-1-d";
    assert_eq!(store.history(t).await.unwrap(), Vec::<Value>::new());
    assert_eq!(store.context_tokens(t).await.unwrap(), None);

    commit(
        store,
        batch(
            &thread(t),
            vec![],
            vec![
                Projection::Turn(turn(t, ta, 0)),
                Projection::Turn(turn(t, tb, 1)),
                history(t, ta, "alpha"),
                tokens(ta, 10),
                history(t, tb, "bravo"),
                tokens(tb, 20),
            ],
        ),
    )
    .await;
    assert_eq!(
        store.history(t).await.unwrap(),
        [said("alpha"), said("bravo")]
    );
    assert_eq!(store.context_tokens(t).await.unwrap(), Some(20));

    // Turn c compacts a and b away and leaves a summary.
    commit_projections(
        store,
        t,
        vec![
            Projection::Turn(turn(t, tc, 2)),
            compact(t, tc),
            tokens(tc, 42),
            history(t, tc, "summary"),
        ],
    )
    .await;
    assert_eq!(store.history(t).await.unwrap(), [said("summary")]);
    assert_eq!(store.context_tokens(t).await.unwrap(), Some(42));
    assert_eq!(
        store.history_entries(t).await.unwrap(),
        [
            entry(ta, "alpha", Some(tc)),
            entry(tb, "bravo", Some(tc)),
            entry(tc, "summary", None),
        ]
    );

    // Rolling c back brings a and b back (their rows still name c) and c's size goes.
    commit_projections(store, t, vec![roll_back(t, &[tc])]).await;
    assert_eq!(
        store.history(t).await.unwrap(),
        [said("alpha"), said("bravo")]
    );
    assert_eq!(store.context_tokens(t).await.unwrap(), Some(20));
    assert_eq!(
        store.history_entries(t).await.unwrap(),
        [
            entry(ta, "alpha", Some(tc)),
            entry(tb, "bravo", Some(tc)),
            entry(tc, "summary", None),
        ]
    );

    // A later compaction also takes the rows whose compaction was rolled back.
    commit_projections(
        store,
        t,
        vec![
            Projection::Turn(turn(t, td, 3)),
            compact(t, td),
            history(t, td, "second summary"),
        ],
    )
    .await;
    assert_eq!(store.history(t).await.unwrap(), [said("second summary")]);
    assert_eq!(
        store.history_entries(t).await.unwrap(),
        [
            entry(ta, "alpha", Some(td)),
            entry(tb, "bravo", Some(td)),
            entry(tc, "summary", Some(td)),
            entry(td, "second summary", None),
        ]
    );
    // d recorded no size: the newest visible turn that did is b.
    assert_eq!(store.context_tokens(t).await.unwrap(), Some(20));

    // Rolling back b and then d: a's row is in effect again, b's (rolled back) and c's are not.
    commit_projections(store, t, vec![roll_back(t, &[tb])]).await;
    assert_eq!(store.history(t).await.unwrap(), [said("second summary")]);
    assert_eq!(store.context_tokens(t).await.unwrap(), Some(10));
    commit_projections(store, t, vec![roll_back(t, &[td])]).await;
    assert_eq!(store.history(t).await.unwrap(), [said("alpha")]);
    assert_eq!(store.context_tokens(t).await.unwrap(), Some(10));
}

/// A fork's copied history keeps which rows were compacted, and by which of its turns.
async fn forked_history_keeps_compaction(store: &Store) {
    let t = "fork-1";
    let copied =
        |turn_id: &str, text: &str, compacted_by: Option<&str>| Projection::CopiedHistory {
            row: HistoryRow {
                thread_id: t.into(),
                turn_id: turn_id.into(),
                payload: said(text),
            },
            compacted_by: compacted_by.map(str::to_owned),
        };
    let fork = ThreadRow {
        forked_from_id: Some("hist-1".into()),
        ..thread(t)
    };
    let projections = vec![
        Projection::Turn(turn(t, "fork-1-a", 0)),
        Projection::Turn(turn(t, "fork-1-b", 1)),
        copied("fork-1-a", "alpha", Some("fork-1-b")),
        copied("fork-1-a", "kept", None),
        copied("fork-1-b", "summary", None),
    ];
    commit(store, batch(&fork, vec![], projections)).await;
    assert_eq!(
        store.history(t).await.unwrap(),
        [said("kept"), said("summary")]
    );
    assert_eq!(
        store.history_entries(t).await.unwrap(),
        [
            entry("fork-1-a", "alpha", Some("fork-1-b")),
            entry("fork-1-a", "kept", None),
            entry("fork-1-b", "summary", None),
        ]
    );
    commit_projections(store, t, vec![roll_back(t, &["fork-1-b"])]).await;
    assert_eq!(
        store.history(t).await.unwrap(),
        [said("alpha"), said("kept")]
    );
}

/// The paths the given turns changed: in turn then item order, each once, a move's both
/// paths, declined changes and other items left out.
async fn changed_files(store: &Store) {
    let t = "cf-1";
    let change = |turn_id: &str, id: &str, position: i64, status: &str, changes: Value| {
        let payload = json!({"type": "fileChange", "id": id, "status": status, "changes": changes});
        Projection::Item(item(t, turn_id, id, position, payload))
    };
    let projections = vec![
        Projection::Turn(turn(t, "cf-1-t1", 0)),
        Projection::Turn(turn(t, "cf-1-t2", 1)),
        Projection::Turn(turn(t, "cf-1-t3", 2)),
        // Committed before the earlier turn's changes: order is by position, not commit.
        change(
            "cf-1-t2",
            "cf-1-i4",
            0,
            "completed",
            json!([{"path": "src/b.rs", "kind": {"type": "update", "movePath": "src/b2.rs"}}]),
        ),
        change(
            "cf-1-t1",
            "cf-1-i1",
            1,
            "completed",
            json!([
                {"path": "src/a.rs", "kind": {"type": "add"}},
                {"path": "src/b.rs", "kind": {"type": "update", "movePath": null}},
            ]),
        ),
        change(
            "cf-1-t1",
            "cf-1-i0",
            0,
            "declined",
            json!([{"path": "src/declined.rs", "kind": {"type": "add"}}]),
        ),
        Projection::Item(item(
            t,
            "cf-1-t1",
            "cf-1-i2",
            2,
            json!({"type": "agentMessage", "id": "cf-1-i2", "text": "x",
                   "changes": [{"path": "src/not-a-change.rs"}]}),
        )),
        change(
            "cf-1-t3",
            "cf-1-i5",
            0,
            "failed",
            json!([{"path": "src/c.rs", "kind": {"type": "delete"}}]),
        ),
    ];
    commit(store, batch(&thread(t), vec![], projections)).await;

    let ids = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        store
            .changed_files(&ids(&["cf-1-t1", "cf-1-t2", "cf-1-t3"]))
            .await
            .unwrap(),
        ["src/a.rs", "src/b.rs", "src/b2.rs", "src/c.rs"]
    );
    assert_eq!(
        store
            .changed_files(&ids(&["cf-1-t3", "cf-1-t1"]))
            .await
            .unwrap(),
        ["src/a.rs", "src/b.rs", "src/c.rs"]
    );
    assert_eq!(
        store.changed_files(&ids(&["cf-1-t2"])).await.unwrap(),
        ["src/b.rs", "src/b2.rs"]
    );
    assert_eq!(
        store.changed_files(&[]).await.unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        store.changed_files(&ids(&["cf-missing"])).await.unwrap(),
        Vec::<String>::new()
    );
}

// ---------------------------------------------------------------------------------------------
// Store-wide reads

/// Threads with a turn still in progress, each once: what a starting daemon recovers. The
/// daemon that ran them stopped, so on PostgreSQL their leases are given up first; a thread
/// whose lease a live daemon holds is being run there, not cut off.
async fn running_turns(store: &Store) {
    let running = |t: &str, id: &str, position| TurnRow {
        status: TurnState::InProgress,
        ..turn(t, id, position)
    };
    let seeded = [
        ("run-1", vec![running("run-1", "run-1-t0", 0)]),
        ("run-2", vec![turn("run-2", "run-2-t0", 0)]),
        ("run-3", vec![running("run-3", "run-3-t0", 0)]),
        (
            "run-4",
            vec![
                running("run-4", "run-4-t0", 0),
                running("run-4", "run-4-t1", 1),
            ],
        ),
    ];
    for (t, turns) in seeded {
        let projections = turns.into_iter().map(Projection::Turn).collect();
        commit(store, batch(&thread(t), vec![], projections)).await;
    }
    let_go(store, &["run-1", "run-2", "run-3", "run-4"]).await;
    let found = store.threads_with_running_turns().await.unwrap();
    assert_eq!(ours(found, "run-"), ["run-1", "run-3", "run-4"]);

    // run-3's turn completes.
    let done = vec![Projection::Turn(turn("run-3", "run-3-t0", 0))];
    commit(store, batch(&thread("run-3"), vec![], done)).await;
    let_go(store, &["run-3"]).await;
    let found = store.threads_with_running_turns().await.unwrap();
    assert_eq!(ours(found, "run-"), ["run-1", "run-4"]);

    if store.shared().is_some() {
        hold(store, "run-1").await;
        let found = store.threads_with_running_turns().await.unwrap();
        assert_eq!(
            ours(found, "run-"),
            ["run-4"],
            "run-1 is held by a live daemon"
        );
        let_go(store, &["run-1"]).await;
    }
}

/// Ephemeral threads, archived or not, and only those: what a starting daemon forgets. As
/// above, on PostgreSQL the daemon that had them gave their leases up first; one still held
/// belongs to a live daemon's client.
async fn ephemeral_threads(store: &Store) {
    let rows = [
        ThreadRow {
            ephemeral: true,
            ..thread("eph-1")
        },
        thread("eph-2"),
        ThreadRow {
            ephemeral: true,
            archived: true,
            ..thread("eph-3")
        },
    ];
    for row in &rows {
        commit(store, batch(row, vec![], vec![])).await;
    }
    let_go(store, &["eph-1", "eph-2", "eph-3"]).await;
    let found = store.ephemeral_thread_ids().await.unwrap();
    assert_eq!(ours(found, "eph-"), ["eph-1", "eph-3"]);
    assert!(store.delete_thread("eph-1").await.unwrap());
    let found = store.ephemeral_thread_ids().await.unwrap();
    assert_eq!(ours(found, "eph-"), ["eph-3"]);

    if store.shared().is_some() {
        hold(store, "eph-3").await;
        let found = store.ephemeral_thread_ids().await.unwrap();
        assert_eq!(
            ours(found, "eph-"),
            Vec::<String>::new(),
            "eph-3 is held by a live daemon"
        );
        let_go(store, &["eph-3"]).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Search

/// `search_threads` finds exactly the threads whose user messages, agent messages or commands
/// hold every word (a trailing `*` a prefix, any case), one hit per thread, archived ones only
/// when asked, not in rolled-back turns, and follows rewritten items.
async fn search_finds_exactly(store: &Store) {
    let seed = |t: &'static str, row: ThreadRow, items: Vec<ItemRow>| async move {
        let mut projections = vec![Projection::Turn(turn(t, &format!("{t}-t0"), 0))];
        projections.extend(items.into_iter().map(Projection::Item));
        commit(store, batch(&row, vec![], projections)).await;
    };
    let t0 = |t: &str| format!("{t}-t0");
    seed(
        "srch-1",
        thread("srch-1"),
        vec![user_message(
            "srch-1",
            &t0("srch-1"),
            "srch-1-i0",
            0,
            "please zqrefactor the zqparser module",
        )],
    )
    .await;
    seed(
        "srch-2",
        thread("srch-2"),
        vec![
            agent_message(
                "srch-2",
                &t0("srch-2"),
                "srch-2-i0",
                0,
                "the zqparser was zqrefactored",
            ),
            agent_message(
                "srch-2",
                &t0("srch-2"),
                "srch-2-i1",
                1,
                "zqparser again, same thread",
            ),
        ],
    )
    .await;
    seed(
        "srch-3",
        ThreadRow {
            archived: true,
            ..thread("srch-3")
        },
        vec![agent_message(
            "srch-3",
            &t0("srch-3"),
            "srch-3-i0",
            0,
            "zqparser in an archived thread",
        )],
    )
    .await;
    seed(
        "srch-4",
        thread("srch-4"),
        vec![command(
            "srch-4",
            &t0("srch-4"),
            "srch-4-i0",
            0,
            "cargo test -p zqparser",
        )],
    )
    .await;
    // Text in an item kind that is not searched.
    let reasoning = json!({"type": "reasoning", "id": "srch-5-i0", "summary": ["zqhidden"],
                           "content": ["zqhidden"], "text": "zqhidden"});
    seed(
        "srch-5",
        thread("srch-5"),
        vec![item("srch-5", &t0("srch-5"), "srch-5-i0", 0, reasoning)],
    )
    .await;

    assert_eq!(
        found(store, "zqparser", false).await,
        ["srch-1", "srch-2", "srch-4"]
    );
    assert_eq!(
        found(store, "ZQParser", false).await,
        ["srch-1", "srch-2", "srch-4"]
    );
    assert_eq!(found(store, "zqparser", true).await, ["srch-3"]);
    assert_eq!(found(store, "zqrefactor", false).await, ["srch-1"]);
    assert_eq!(found(store, "zqref*", false).await, ["srch-1", "srch-2"]);
    assert_eq!(found(store, "zqparser zqrefactor", false).await, ["srch-1"]);
    assert_eq!(found(store, "cargo zqparser", false).await, ["srch-4"]);
    assert_eq!(found(store, "zqhidden", false).await, Vec::<String>::new());
    assert_eq!(found(store, "zqimage", false).await, Vec::<String>::new());
    assert_eq!(found(store, "zqnothing", false).await, Vec::<String>::new());
    assert_eq!(found(store, "  * - ", false).await, Vec::<String>::new());

    // A hit carries the thread as stored and the matching text with the word marked.
    let hits = search(store, "zqrefactor", false, None, 10).await;
    assert_eq!(hits.len(), 1);
    assert_eq!(
        Some(&hits[0].thread),
        store.thread("srch-1").await.unwrap().as_ref()
    );
    assert_eq!(hits[0].snippet, "please **zqrefactor** the zqparser module");
    assert_eq!(hits[0].cursor.thread_id, "srch-1");

    // A rolled-back turn's words are not found; another turn's still are.
    let rolled = vec![
        Projection::Turn(turn("srch-6", "srch-6-t0", 0)),
        Projection::Turn(turn("srch-6", "srch-6-t1", 1)),
        Projection::Item(agent_message(
            "srch-6",
            "srch-6-t0",
            "srch-6-i0",
            0,
            "zqkept zqcommon",
        )),
        Projection::Item(agent_message(
            "srch-6",
            "srch-6-t1",
            "srch-6-i1",
            0,
            "zqrollback zqcommon",
        )),
    ];
    commit(store, batch(&thread("srch-6"), vec![], rolled)).await;
    assert_eq!(found(store, "zqrollback", false).await, ["srch-6"]);
    commit_projections(store, "srch-6", vec![roll_back("srch-6", &["srch-6-t1"])]).await;
    assert_eq!(
        found(store, "zqrollback", false).await,
        Vec::<String>::new()
    );
    assert_eq!(found(store, "zqcommon", false).await, ["srch-6"]);

    // A rewritten item is found by its new text only.
    let rewritten = agent_message("srch-2", "srch-2-t0", "srch-2-i0", 0, "zqreplaced text");
    commit_projections(store, "srch-2", vec![Projection::Item(rewritten)]).await;
    assert_eq!(
        found(store, "zqrefactored", false).await,
        Vec::<String>::new()
    );
    assert_eq!(found(store, "zqreplaced", false).await, ["srch-2"]);
    assert_eq!(
        found(store, "zqparser", false).await,
        ["srch-1", "srch-2", "srch-4"]
    );

    // Words inside paths, addresses and hyphenated words are words of their own.
    let paths = vec![
        Projection::Turn(turn("srch-7", "srch-7-t0", 0)),
        Projection::Item(agent_message(
            "srch-7",
            "srch-7-t0",
            "srch-7-i0",
            0,
            "edited src/zqmain.rs and mailed zqops@example.com about zqbuild-zqfix",
        )),
    ];
    commit(store, batch(&thread("srch-7"), vec![], paths)).await;
    for query in [
        "zqmain",
        "zqmain.rs",
        "zqops",
        "zqbuild-zqfix",
        "zqfix",
        "zqma*",
    ] {
        assert_eq!(found(store, query, false).await, ["srch-7"], "{query}");
    }

    // Archiving moves a thread between the two searches.
    let archived = ThreadRow {
        archived: true,
        ..thread("srch-4")
    };
    commit(store, batch(&archived, vec![], vec![])).await;
    assert_eq!(found(store, "zqparser", false).await, ["srch-1", "srch-2"]);
    assert_eq!(found(store, "zqparser", true).await, ["srch-3", "srch-4"]);
}

/// Search pages: best first, ties in id order (newest first), and pages joined through the
/// cursor's wire form give exactly the one long page.
async fn search_pages(store: &Store) {
    let texts = [
        ("sp-1", "zqpage common text"),
        ("sp-2", "zqpage common text"),
        (
            "sp-3",
            "a much longer message that mentions zqpage once among many other words",
        ),
        ("sp-4", "zqpage common text"),
        ("sp-5", "zqpage zqpage zqpage"),
        ("sp-6", "zqpage common text"),
    ];
    for (t, text) in texts {
        let turn_id = format!("{t}-t0");
        let projections = vec![
            Projection::Turn(turn(t, &turn_id, 0)),
            Projection::Item(agent_message(t, &turn_id, &format!("{t}-i0"), 0, text)),
        ];
        commit(store, batch(&thread(t), vec![], projections)).await;
    }
    let whole = search(store, "zqpage", false, None, 10).await;
    let whole_ids: Vec<&str> = whole.iter().map(|h| h.thread.id.as_str()).collect();
    assert_eq!(whole.len(), 6, "{whole_ids:?}");
    assert_eq!(
        whole_ids[0], "sp-5",
        "the thread saying it three times ranks first"
    );
    let tied: Vec<&str> = whole_ids
        .iter()
        .copied()
        .filter(|id| ["sp-1", "sp-2", "sp-4", "sp-6"].contains(id))
        .collect();
    assert_eq!(
        tied,
        ["sp-6", "sp-4", "sp-2", "sp-1"],
        "ties go newest first"
    );

    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = search(store, "zqpage", false, after, 2).await;
        let Some(last) = page.last() else { break };
        assert!(page.len() <= 2);
        after = Some(SearchCursor::decode(&last.cursor.encode()).unwrap());
        paged.extend(page.into_iter().map(|h| h.thread.id));
    }
    assert_eq!(paged, whole_ids);
}

// ---------------------------------------------------------------------------------------------
// Deleting

/// Deleting a thread removes its row, events, turns, items, history, search entries, memory
/// and memory job, and nothing of another thread's; a second delete finds nothing.
async fn delete_thread_removes_everything(store: &Store) {
    const PROJECT: &str = "/contract/del";
    let seed = |t: &'static str, word: &'static str| async move {
        let turn_id = format!("{t}-t0");
        let row = ThreadRow {
            cwd: PROJECT.into(),
            last_seq: 3,
            ..thread(t)
        };
        let projections = vec![
            Projection::Turn(turn(t, &turn_id, 0)),
            Projection::Item(agent_message(t, &turn_id, &format!("{t}-i0"), 0, word)),
            history(t, &turn_id, word),
            tokens(&turn_id, 99),
        ];
        commit(store, batch(&row, events(1..=3), projections)).await;
        let job = candidate(t, PROJECT, 3);
        assert!(store
            .claim_memory_job(&job, PROJECT, "a", 100, 110)
            .await
            .unwrap());
        let memory = memory_row(t, PROJECT, 100);
        assert!(store.finish_memory_job("a", 3, &memory).await.unwrap());
        // Claimed again, until 10 000: only deleting the job frees it sooner.
        assert!(store
            .claim_memory_job(&job, PROJECT, "a", 200, 10_000)
            .await
            .unwrap());
    };
    seed("del-1", "zqdeleted").await;
    seed("del-2", "zqsurvivor").await;
    assert_eq!(found(store, "zqdeleted", false).await, ["del-1"]);
    assert_eq!(store.memories(Some(PROJECT)).await.unwrap().len(), 2);

    assert!(store.delete_thread("del-1").await.unwrap());

    assert_eq!(store.thread("del-1").await.unwrap(), None);
    assert_eq!(store.events_after("del-1", 0, 100).await.unwrap(), []);
    assert_eq!(store.turns("del-1").await.unwrap(), []);
    assert_eq!(store.turns_with_items_json("del-1").await.unwrap(), []);
    assert_eq!(store.items("del-1").await.unwrap(), []);
    assert_eq!(store.history("del-1").await.unwrap(), Vec::<Value>::new());
    assert_eq!(store.history_entries("del-1").await.unwrap(), []);
    assert_eq!(store.context_tokens("del-1").await.unwrap(), None);
    assert_eq!(found(store, "zqdeleted", false).await, Vec::<String>::new());
    let here = ThreadListQuery {
        cwd: Some(PROJECT.into()),
        limit: 10,
        ..ThreadListQuery::default()
    };
    assert_eq!(listed(store, here).await, ["del-2"]);
    assert_eq!(
        store.memories(Some(PROJECT)).await.unwrap(),
        [memory_row("del-2", PROJECT, 100)]
    );
    let job = candidate("del-1", PROJECT, 3);
    assert!(
        store
            .claim_memory_job(&job, PROJECT, "b", 300, 400)
            .await
            .unwrap(),
        "the deleted thread's memory job is gone with it"
    );
    let other_job = candidate("del-2", PROJECT, 3);
    assert!(!store
        .claim_memory_job(&other_job, PROJECT, "b", 300, 400)
        .await
        .unwrap());

    assert!(!store.delete_thread("del-1").await.unwrap());
    assert!(!store.delete_thread("del-missing").await.unwrap());

    // The other thread is whole.
    assert_eq!(
        store.events_after("del-2", 0, 100).await.unwrap(),
        stored_events(1..=3)
    );
    assert_eq!(store.turns("del-2").await.unwrap().len(), 1);
    assert_eq!(store.items("del-2").await.unwrap().len(), 1);
    assert_eq!(store.history("del-2").await.unwrap(), [said("zqsurvivor")]);
    assert_eq!(store.context_tokens("del-2").await.unwrap(), Some(99));
    assert_eq!(found(store, "zqsurvivor", false).await, ["del-2"]);
}

// ---------------------------------------------------------------------------------------------
// Memory

/// Memory candidates, the job lease (held until `lease_until`, then free for another owner,
/// whose finish alone counts), failures and retries, memories by project, summaries with their
/// own lease, ageing out, and reset.
async fn memory_jobs_and_summaries(store: &Store) {
    const P1: &str = "/contract/mem";
    const P2: &str = "/contract/mem-other";
    let idle = |id: &str, cwd: &str| ThreadRow {
        cwd: cwd.into(),
        updated_at: 100,
        last_seq: 3,
        ..thread(id)
    };
    let failed = |t: &str, id: &str| TurnRow {
        status: TurnState::Failed,
        ..turn(t, id, 1)
    };
    let in_progress = |t: &str, id: &str| TurnRow {
        status: TurnState::InProgress,
        ..turn(t, id, 1)
    };
    let seeded: Vec<(ThreadRow, Vec<TurnRow>)> = vec![
        (idle("mem-1", P1), vec![turn("mem-1", "mem-1-t0", 0)]),
        (
            ThreadRow {
                ephemeral: true,
                ..idle("mem-2", P1)
            },
            vec![turn("mem-2", "mem-2-t0", 0)],
        ),
        (
            // Changed too recently at every `now` below.
            ThreadRow {
                updated_at: 100_000,
                ..idle("mem-3", P1)
            },
            vec![turn("mem-3", "mem-3-t0", 0)],
        ),
        (
            idle("mem-4", P1),
            vec![
                turn("mem-4", "mem-4-t0", 0),
                in_progress("mem-4", "mem-4-t1"),
            ],
        ),
        (
            ThreadRow {
                parent_id: Some("mem-1".into()),
                ..idle("mem-5", P1)
            },
            vec![turn("mem-5", "mem-5-t0", 0)],
        ),
        (idle("mem-6", P1), vec![failed("mem-6", "mem-6-t0")]),
        (
            idle("mem-7", P1),
            vec![TurnRow {
                rolled_back: true,
                ..turn("mem-7", "mem-7-t0", 0)
            }],
        ),
        (idle("mem-8", P1), vec![turn("mem-8", "mem-8-t0", 0)]),
        (idle("mem-9", P2), vec![turn("mem-9", "mem-9-t0", 0)]),
    ];
    for (row, turns) in &seeded {
        let projections = turns.iter().cloned().map(Projection::Turn).collect();
        commit(store, batch(row, vec![], projections)).await;
    }
    let candidates = |now: i64, max_retries: u32| async move {
        let q = CandidateQuery {
            now,
            min_idle_secs: 60,
            max_retries,
            limit: 1_000,
        };
        let mut found: Vec<(String, String, u64)> = store
            .memory_candidates(&q)
            .await
            .unwrap()
            .into_iter()
            .filter(|c| c.thread_id.starts_with("mem-"))
            .map(|c| (c.thread_id, c.cwd, c.last_seq))
            .collect();
        found.sort();
        found
    };
    let cand = |t: &str, cwd: &str| (t.to_owned(), cwd.to_owned(), 3);
    assert_eq!(
        candidates(1_000, 3).await,
        [cand("mem-1", P1), cand("mem-8", P1), cand("mem-9", P2)]
    );

    // Owner a holds mem-1's job until 1 010: b cannot take it until then, and can after.
    let job = candidate("mem-1", P1, 3);
    assert!(store
        .claim_memory_job(&job, P1, "a", 1_000, 1_010)
        .await
        .unwrap());
    assert!(!store
        .claim_memory_job(&job, P1, "b", 1_005, 1_015)
        .await
        .unwrap());
    assert!(!store
        .claim_memory_job(&job, P1, "b", 1_010, 1_020)
        .await
        .unwrap());
    assert_eq!(
        candidates(1_005, 3).await,
        [cand("mem-8", P1), cand("mem-9", P2)]
    );
    assert_eq!(
        candidates(1_011, 3).await,
        [cand("mem-1", P1), cand("mem-8", P1), cand("mem-9", P2)]
    );
    assert!(store
        .claim_memory_job(&job, P1, "b", 1_011, 1_021)
        .await
        .unwrap());

    // a's late finish counts for nothing; b's stores the memory.
    let late = memory_row("mem-1", P1, 1_012);
    assert!(!store.finish_memory_job("a", 3, &late).await.unwrap());
    assert_eq!(store.memories(Some(P1)).await.unwrap(), []);
    let first = MemoryRow {
        raw_memory: "b's raw memory".into(),
        ..memory_row("mem-1", P1, 1_012)
    };
    assert!(store.finish_memory_job("b", 3, &first).await.unwrap());
    assert_eq!(store.memories(Some(P1)).await.unwrap(), [first]);
    // Extracted at its current seq: not a candidate until it changes.
    assert_eq!(
        candidates(5_000, 3).await,
        [cand("mem-8", P1), cand("mem-9", P2)]
    );
    let advanced = ThreadRow {
        last_seq: 4,
        updated_at: 200,
        ..idle("mem-1", P1)
    };
    commit(store, batch(&advanced, events(1..=4), vec![])).await;
    let mem1_again = ("mem-1".to_owned(), P1.to_owned(), 4);
    assert_eq!(
        candidates(5_000, 3).await,
        [mem1_again, cand("mem-8", P1), cand("mem-9", P2)]
    );
    // A new extraction keeps when the memory was first stored.
    let job = candidate("mem-1", P1, 4);
    assert!(store
        .claim_memory_job(&job, P1, "a", 5_000, 5_010)
        .await
        .unwrap());
    let second = MemoryRow {
        raw_memory: "a's second memory".into(),
        summary: "second".into(),
        slug: "second-slug".into(),
        ..memory_row("mem-1", P1, 2_000)
    };
    assert!(store.finish_memory_job("a", 4, &second).await.unwrap());
    let stored_second = MemoryRow {
        created_at: 1_012,
        ..second.clone()
    };
    assert_eq!(
        store.memories(Some(P1)).await.unwrap(),
        vec![stored_second.clone()]
    );

    // A failure frees the job and is reported; with its retries used up the thread waits
    // until it changes.
    let job8 = candidate("mem-8", P1, 3);
    assert!(store
        .claim_memory_job(&job8, P1, "a", 1_100, 1_110)
        .await
        .unwrap());
    store
        .fail_memory_job("mem-8", "b", 3, "not b's to fail", 1_101)
        .await
        .unwrap();
    assert_eq!(
        store.memory_job_errors(Some(P1)).await.unwrap(),
        Vec::<String>::new()
    );
    store
        .fail_memory_job("mem-8", "a", 3, "model refused", 1_102)
        .await
        .unwrap();
    assert_eq!(
        store.memory_job_errors(Some(P1)).await.unwrap(),
        ["thread mem-8: model refused"]
    );
    assert_eq!(
        store.memory_job_errors(Some(P2)).await.unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        candidates(5_000, 1).await,
        [cand("mem-9", P2)],
        "mem-1 was extracted at seq 4; mem-8 used its one attempt"
    );
    assert_eq!(
        candidates(5_000, 2).await,
        [cand("mem-8", P1), cand("mem-9", P2)]
    );

    // Memories of another project, and of every project (newest first).
    let job9 = candidate("mem-9", P2, 3);
    assert!(store
        .claim_memory_job(&job9, P2, "a", 1_200, 1_210)
        .await
        .unwrap());
    let other = memory_row("mem-9", P2, 1_500);
    assert!(store.finish_memory_job("a", 3, &other).await.unwrap());
    assert_eq!(store.memories(Some(P2)).await.unwrap(), vec![other.clone()]);
    let all: Vec<MemoryRow> = store
        .memories(None)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.thread_id.starts_with("mem-"))
        .collect();
    assert_eq!(all, [stored_second.clone(), other.clone()]);

    // Consolidation: leased per project like the jobs.
    assert_eq!(
        my_projects(store.projects_to_consolidate().await.unwrap()),
        [P1, P2]
    );
    assert!(store.claim_summary(P1, "a", 3_000, 3_010).await.unwrap());
    assert!(!store.claim_summary(P1, "b", 3_005, 3_015).await.unwrap());
    let fresh = SummaryRow {
        project: P1.into(),
        summary: String::new(),
        merged_until: 0,
        last_error: None,
        updated_at: 3_000,
    };
    assert_eq!(store.memory_summary(P1).await.unwrap(), Some(fresh));
    store
        .finish_summary(P1, "a", Ok(("the summary", 2_000)), 3_001)
        .await
        .unwrap();
    let summary1 = SummaryRow {
        project: P1.into(),
        summary: "the summary".into(),
        merged_until: 2_000,
        last_error: None,
        updated_at: 3_001,
    };
    assert_eq!(
        store.memory_summary(P1).await.unwrap(),
        Some(summary1.clone())
    );
    // Not the owner: no effect.
    store
        .finish_summary(P1, "b", Ok(("hijacked", 9_999)), 4_000)
        .await
        .unwrap();
    assert_eq!(
        store.memory_summary(P1).await.unwrap(),
        Some(summary1.clone())
    );
    assert_eq!(
        my_projects(store.projects_to_consolidate().await.unwrap()),
        [P2]
    );

    assert!(store.claim_summary(P2, "b", 3_000, 3_010).await.unwrap());
    store
        .finish_summary(P2, "b", Err("model down"), 3_002)
        .await
        .unwrap();
    let summary2 = SummaryRow {
        project: P2.into(),
        summary: String::new(),
        merged_until: 0,
        last_error: Some("model down".into()),
        updated_at: 3_000,
    };
    assert_eq!(
        store.memory_summary(P2).await.unwrap(),
        Some(summary2.clone())
    );
    let summaries: Vec<SummaryRow> = store
        .memory_summaries()
        .await
        .unwrap()
        .into_iter()
        .filter(|s| s.project.starts_with("/contract/mem"))
        .collect();
    assert_eq!(summaries, [summary1, summary2.clone()]);
    assert_eq!(
        my_projects(store.projects_to_consolidate().await.unwrap()),
        [P2]
    );

    // Ageing out: only memories not refreshed since `before` (these two are the store's
    // oldest).
    for (t, at) in [("mem-a1", 2), ("mem-a2", 3)] {
        let job = candidate(t, P2, 1);
        assert!(store.claim_memory_job(&job, P2, "a", 1, 100).await.unwrap());
        assert!(store
            .finish_memory_job("a", 1, &memory_row(t, P2, at))
            .await
            .unwrap());
    }
    assert_eq!(store.memories(Some(P2)).await.unwrap().len(), 3);
    assert_eq!(store.age_out_memories(4).await.unwrap(), 2);
    assert_eq!(store.memories(Some(P2)).await.unwrap(), vec![other.clone()]);

    // Reset one project: its memories, jobs and summary go; the other's stay.
    store.reset_memory(Some(P1)).await.unwrap();
    assert_eq!(store.memories(Some(P1)).await.unwrap(), []);
    assert_eq!(store.memory_summary(P1).await.unwrap(), None);
    assert_eq!(
        store.memory_job_errors(Some(P1)).await.unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(store.memories(Some(P2)).await.unwrap(), [other]);
    assert_eq!(store.memory_summary(P2).await.unwrap(), Some(summary2));
    // mem-8's job (and its used-up attempt) went with the reset.
    assert_eq!(
        candidates(5_000, 1).await,
        [("mem-1".to_owned(), P1.to_owned(), 4), cand("mem-8", P1)]
    );

    store.reset_memory(None).await.unwrap();
    assert_eq!(store.memories(None).await.unwrap(), []);
    assert_eq!(store.memory_summaries().await.unwrap(), []);
    assert_eq!(
        store.memory_job_errors(None).await.unwrap(),
        Vec::<String>::new()
    );
}

// ---------------------------------------------------------------------------------------------
// Rows and helpers

/// Thread `id`: not forked, unnamed, in `/contract`, created at 1 000, log empty.
fn thread(id: &str) -> ThreadRow {
    ThreadRow {
        id: id.into(),
        session_id: id.into(),
        forked_from_id: None,
        name: None,
        preview: String::new(),
        cwd: "/contract".into(),
        model: "m".into(),
        model_provider: "mp".into(),
        settings: json!({}),
        ephemeral: false,
        archived: false,
        created_at: 1_000,
        updated_at: 1_000,
        last_seq: 0,
        source: "\"appServer\"".into(),
        source_kind: "appServer".into(),
        parent_id: None,
    }
}

fn listed_thread(id: &str, cwd: &str) -> ThreadRow {
    ThreadRow {
        cwd: cwd.into(),
        ..thread(id)
    }
}

/// A completed turn, nothing else recorded.
fn turn(thread_id: &str, id: &str, position: i64) -> TurnRow {
    TurnRow {
        id: id.into(),
        thread_id: thread_id.into(),
        position,
        status: TurnState::Completed,
        error: None,
        started_at: None,
        completed_at: None,
        duration_ms: None,
        usage: None,
        client_request_id: None,
        rolled_back: false,
    }
}

/// An item whose kind is its payload's `type`, as the daemon stores them.
fn item(thread_id: &str, turn_id: &str, id: &str, position: i64, payload: Value) -> ItemRow {
    ItemRow {
        id: id.into(),
        thread_id: thread_id.into(),
        turn_id: turn_id.into(),
        position,
        kind: payload["type"].as_str().unwrap().into(),
        payload,
    }
}

fn agent_message(thread_id: &str, turn_id: &str, id: &str, position: i64, text: &str) -> ItemRow {
    let payload = json!({"type": "agentMessage", "id": id, "text": text});
    item(thread_id, turn_id, id, position, payload)
}

/// A user message of a text part and an image part (whose URL is not searched).
fn user_message(thread_id: &str, turn_id: &str, id: &str, position: i64, text: &str) -> ItemRow {
    let payload = json!({"type": "userMessage", "id": id, "content": [
        {"type": "text", "text": text},
        {"type": "image", "url": "https://example.com/zqimage.png"},
    ]});
    item(thread_id, turn_id, id, position, payload)
}

fn command(thread_id: &str, turn_id: &str, id: &str, position: i64, line: &str) -> ItemRow {
    let payload = json!({"type": "commandExecution", "id": id, "command": line,
                         "cwd": "/contract", "status": "completed", "exitCode": 0});
    item(thread_id, turn_id, id, position, payload)
}

/// A model-facing message.
fn said(text: &str) -> Value {
    json!({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]})
}

fn history(thread_id: &str, turn_id: &str, text: &str) -> Projection {
    Projection::History(HistoryRow {
        thread_id: thread_id.into(),
        turn_id: turn_id.into(),
        payload: said(text),
    })
}

fn entry(turn_id: &str, text: &str, compacted_by: Option<&str>) -> HistoryEntry {
    HistoryEntry {
        turn_id: turn_id.into(),
        payload: said(text),
        compacted_by: compacted_by.map(str::to_owned),
    }
}

fn compact(thread_id: &str, turn_id: &str) -> Projection {
    Projection::CompactHistory {
        thread_id: thread_id.into(),
        turn_id: turn_id.into(),
    }
}

fn tokens(turn_id: &str, tokens: u64) -> Projection {
    Projection::ContextTokens {
        turn_id: turn_id.into(),
        tokens,
    }
}

fn roll_back(thread_id: &str, turn_ids: &[&str]) -> Projection {
    Projection::RollBack {
        thread_id: thread_id.into(),
        turn_ids: turn_ids.iter().map(|s| s.to_string()).collect(),
    }
}

/// Event `seq`: its payload text has spacing and characters a re-encoding would change.
/// `events` as made at `at`.
fn made_at(events: Vec<NewEvent>, at: i64) -> Vec<NewEvent> {
    events
        .into_iter()
        .map(|e| NewEvent {
            created_at: at,
            ..e
        })
        .collect()
}

fn event(seq: u64) -> NewEvent {
    NewEvent {
        seq,
        kind: if seq.is_multiple_of(2) {
            "item/agentMessage/delta".into()
        } else {
            "item/completed".into()
        },
        payload: format!("{{ \"delta\" : \"d{seq} é\\n\\u00e9\", \"seq\":{seq} }}"),
        created_at: 7,
    }
}

fn events(seqs: RangeInclusive<u64>) -> Vec<NewEvent> {
    seqs.map(event).collect()
}

/// What [`events`] reads back as.
fn stored_events(seqs: RangeInclusive<u64>) -> Vec<StoredEvent> {
    seqs.map(event)
        .map(|e| StoredEvent {
            seq: e.seq,
            kind: e.kind,
            payload: e.payload,
        })
        .collect()
}

fn batch(thread: &ThreadRow, events: Vec<NewEvent>, projections: Vec<Projection>) -> CommitBatch {
    CommitBatch {
        thread: thread.clone(),
        events,
        projections,
    }
}

/// On PostgreSQL only the holder of a thread's lease may commit to it (the daemon takes the
/// lease before a thread's first commit); SQLite has no leases.
async fn hold(store: &Store, thread_id: &str) {
    if let Some(shared) = store.shared() {
        if shared.held_epoch(thread_id).is_some() {
            return;
        }
        let outcome = shared.acquire_lease(thread_id).await.unwrap();
        assert!(
            matches!(outcome, LeaseOutcome::Acquired { .. }),
            "lease of {thread_id}: {outcome:?}"
        );
    }
}

/// Gives the threads' leases up, as a daemon unloading them (or stopping) does: afterwards
/// nobody runs them. Nothing to do on SQLite.
async fn let_go(store: &Store, thread_ids: &[&str]) {
    if let Some(shared) = store.shared() {
        for id in thread_ids {
            if let Some(epoch) = shared.held_epoch(id) {
                shared.release_lease(id, epoch).await.unwrap();
            }
        }
    }
}

async fn try_commit(store: &Store, batch: &CommitBatch, write: RowWrite) -> Result<(), StoreError> {
    hold(store, &batch.thread.id).await;
    store.commit_with(batch, write).await
}

async fn commit(store: &Store, batch: CommitBatch) {
    if let Err(e) = try_commit(store, &batch, RowWrite::Upsert).await {
        panic!("committing to {}: {e}", batch.thread.id);
    }
}

/// Commits projections to a stored thread, its row unchanged.
async fn commit_projections(store: &Store, thread_id: &str, projections: Vec<Projection>) {
    let row = store.thread(thread_id).await.unwrap().unwrap();
    commit(store, batch(&row, vec![], projections)).await;
}

async fn listed(store: &Store, q: ThreadListQuery) -> Vec<String> {
    let rows = store.list_threads(&q).await.unwrap();
    rows.into_iter().map(|t| t.id).collect()
}

async fn search(
    store: &Store,
    text: &str,
    archived: bool,
    after: Option<SearchCursor>,
    limit: u32,
) -> Vec<SearchHit> {
    let q = SearchQuery {
        text: text.into(),
        archived,
        after,
        limit,
    };
    store.search_threads(&q).await.unwrap()
}

/// The ids of the threads a search finds (sorted: which threads, not their rank), each of
/// which must be found once.
async fn found(store: &Store, text: &str, archived: bool) -> Vec<String> {
    let mut ids: Vec<String> = search(store, text, archived, None, 100)
        .await
        .into_iter()
        .map(|h| h.thread.id)
        .collect();
    ids.sort();
    let count = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), count, "one hit per thread for {text:?}: {ids:?}");
    ids
}

/// The ids of a store-wide answer that belong to the case using `prefix`, sorted.
fn ours(ids: Vec<String>, prefix: &str) -> Vec<String> {
    let mut ids: Vec<String> = ids
        .into_iter()
        .filter(|id| id.starts_with(prefix))
        .collect();
    ids.sort();
    ids
}

fn my_projects(projects: Vec<String>) -> Vec<String> {
    projects
        .into_iter()
        .filter(|p| p.starts_with("/contract/mem"))
        .collect()
}

/// A turn's items JSON, parsed, with each turn.
async fn turns_with_items(store: &Store, thread_id: &str) -> Vec<(TurnRow, Value)> {
    let turns = store.turns_with_items_json(thread_id).await.unwrap();
    turns
        .into_iter()
        .map(|(turn, json)| {
            let items = serde_json::from_str(&json)
                .unwrap_or_else(|e| panic!("items of {} are not JSON ({e}): {json}", turn.id));
            (turn, items)
        })
        .collect()
}

/// The JSON array of these items' payloads.
fn payloads<'a>(items: impl IntoIterator<Item = &'a ItemRow>) -> Value {
    Value::Array(items.into_iter().map(|i| i.payload.clone()).collect())
}

fn candidate(thread_id: &str, cwd: &str, last_seq: u64) -> MemoryCandidate {
    MemoryCandidate {
        thread_id: thread_id.into(),
        cwd: cwd.into(),
        last_seq,
    }
}

/// A memory extracted at `at` (created and updated then).
fn memory_row(thread_id: &str, project: &str, at: i64) -> MemoryRow {
    MemoryRow {
        thread_id: thread_id.into(),
        project: project.into(),
        raw_memory: format!("raw memory of {thread_id}"),
        summary: format!("summary of {thread_id}"),
        slug: format!("slug-{thread_id}"),
        created_at: at,
        updated_at: at,
    }
}

/// What only the shared store has: leases whose every taking raises the epoch, commits fenced
/// by it, renewals that report what was lost, and forwarded commands each run once. Two stores
/// on one database stand for two daemons.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_leases_fence_and_forward() {
    let server = TestPostgres::start().unwrap();
    let url = server.create_database("leases").await.unwrap();
    let mut options = PgOptions::new(url);
    options.lease = std::time::Duration::from_millis(500);
    let a = Store::connect(options.clone()).await.unwrap();
    let b = Store::connect(options).await.unwrap();
    let (pa, pb) = (a.shared().unwrap(), b.shared().unwrap());

    let LeaseOutcome::Acquired {
        epoch: first,
        previous: None,
    } = pa.acquire_lease("l-1").await.unwrap()
    else {
        panic!("a free lease is taken");
    };
    let mut row = thread("l-1");
    row.last_seq = 1;
    a.commit_as(
        &batch(&row, events(1..=1), vec![]),
        RowWrite::Upsert,
        Some(first),
    )
    .await
    .unwrap();
    // B cannot take a live lease, and cannot write without one.
    let LeaseOutcome::HeldBy(holder) = pb.acquire_lease("l-1").await.unwrap() else {
        panic!("a live lease is not taken");
    };
    assert_eq!(
        (holder.owner.as_str(), holder.epoch),
        (pa.node().id.as_str(), first)
    );
    row.last_seq = 2;
    let refused = b
        .commit_as(
            &batch(&row, events(2..=2), vec![]),
            RowWrite::Progress,
            None,
        )
        .await;
    assert!(matches!(refused, Err(StoreError::Fenced(_))), "{refused:?}");

    // A stops renewing; once the lease lapses B takes it with a higher epoch, and A's
    // writes under its old epoch are refused from then on.
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let LeaseOutcome::Acquired {
        epoch: second,
        previous: Some(previous),
    } = pb.acquire_lease("l-1").await.unwrap()
    else {
        panic!("a lapsed lease is taken");
    };
    assert!(second > first);
    assert_eq!(previous.owner, pa.node().id);
    let late = a
        .commit_as(
            &batch(&row, events(2..=2), vec![]),
            RowWrite::Progress,
            Some(first),
        )
        .await;
    assert!(matches!(late, Err(StoreError::Fenced(_))), "{late:?}");
    // Nor does a question A shares late (a write retried through an outage) reach the
    // others; B's does.
    let question = |owner: &str, id: i64| PendingApproval {
        thread_id: "l-1".into(),
        approval_id: id,
        owner: owner.into(),
        method: "item/commandExecution/requestApproval".into(),
        params: "{}".into(),
        resolution: None,
    };
    pa.put_approval(&question(&pa.node().id, 1)).await.unwrap();
    pb.put_approval(&question(&pb.node().id, 2)).await.unwrap();
    let asked: Vec<i64> = pb
        .approvals_of("l-1")
        .await
        .unwrap()
        .iter()
        .map(|q| q.approval_id)
        .collect();
    assert_eq!(asked, vec![2]);
    assert_eq!(
        pa.renew_leases().await.unwrap(),
        Vec::<String>::new(),
        "already forgotten"
    );
    b.commit_as(
        &batch(&row, events(2..=2), vec![]),
        RowWrite::Progress,
        Some(second),
    )
    .await
    .unwrap();
    assert_eq!(
        a.events_after("l-1", 0, 10).await.unwrap(),
        stored_events(1..=2)
    );
    // Renewing keeps B's lease; releasing it lets A take it again, under a new epoch.
    assert_eq!(pb.renew_leases().await.unwrap(), Vec::<String>::new());
    pb.release_lease("l-1", second).await.unwrap();
    let LeaseOutcome::Acquired { epoch: third, .. } = pa.acquire_lease("l-1").await.unwrap() else {
        panic!("a released lease is taken at once");
    };
    assert!(third > second);
    // B's renewal of a lease it released reports nothing; a lease taken from under it is
    // reported lost once.
    let LeaseOutcome::Acquired { epoch: b_epoch, .. } = pb.acquire_lease("l-2").await.unwrap()
    else {
        panic!("l-2 is free");
    };
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert!(matches!(
        pa.acquire_lease("l-2").await.unwrap(),
        LeaseOutcome::Acquired { .. }
    ));
    assert_eq!(pb.renew_leases().await.unwrap(), ["l-2"]);
    assert_eq!(pb.renew_leases().await.unwrap(), Vec::<String>::new());
    assert!(!pb.holds_epoch("l-2", b_epoch));

    // A forwarded command is claimed by its target once; a claimed one cannot be withdrawn,
    // an unclaimed one can (and then nobody runs it).
    let id = pa
        .forward_command("l-1", &pb.node().id, "turn/start", "{}")
        .await
        .unwrap();
    assert_eq!(pa.claim_commands(64).await.unwrap(), [], "not A's");
    let claimed = pb.claim_commands(64).await.unwrap();
    assert_eq!(claimed.iter().map(|c| c.id).collect::<Vec<_>>(), [id]);
    assert_eq!(pb.claim_commands(64).await.unwrap(), [], "claimed once");
    assert!(!pa.withdraw_command(id).await.unwrap());
    pb.answer_command(id, r#"{"result":{}}"#).await.unwrap();
    assert_eq!(
        pa.command_answer(id).await.unwrap().as_deref(),
        Some(r#"{"result":{}}"#)
    );
    let unclaimed = pa
        .forward_command("l-1", &pb.node().id, "turn/interrupt", "{}")
        .await
        .unwrap();
    assert!(pa.withdraw_command(unclaimed).await.unwrap());
    assert_eq!(pb.claim_commands(64).await.unwrap(), []);
}
