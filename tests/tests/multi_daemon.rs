//! Several daemons serving the same threads on one PostgreSQL database (a real server, started
//! for each test from the machine's packages): reads through any daemon, turns forwarded to
//! the thread's holder with identical event streams everywhere, take-over after a kill -9,
//! fencing of a stalled holder, and a database restart.

use std::time::Duration;

use agentd_tests::client::{event_thread_id, seq_of};
use agentd_tests::mock_llm::{MockLlm, Scripted, Step, Usage};
use agentd_tests::postgres::TestPostgres;
use agentd_tests::tools::{shell_call, tool_calls, COMMAND_APPROVAL};
use agentd_tests::{Agentd, Client, Options};
use serde_json::{json, Value};

/// Short leases keep take-over tests fast: the holder renews every third of it.
const LEASE_MS: u64 = 2500;

/// Long enough for a take-over: the lease, the sweep that notices it, and a margin.
const TAKE_OVER: Duration = Duration::from_secs(15);

struct Cluster {
    pg: TestPostgres,
    url: String,
    /// The daemons' lease (`store_lease_ms`); [`LEASE_MS`] unless a test needs the holder to
    /// outlive an outage.
    lease_ms: u64,
}

impl Cluster {
    async fn start(name: &str) -> Cluster {
        let pg = TestPostgres::start().expect("a throwaway PostgreSQL server");
        let url = pg.create_database(name).await.expect("a database");
        Cluster {
            pg,
            url,
            lease_ms: LEASE_MS,
        }
    }

    /// A connection of the test's own to the shared database, to write what a daemon (or
    /// anyone with the database) could.
    async fn db(&self) -> sqlx::PgConnection {
        <sqlx::PgConnection as sqlx::Connection>::connect(&self.url)
            .await
            .unwrap()
    }

    /// A daemon on the shared database, talking to `mock`.
    async fn daemon(&self, mock: &MockLlm) -> Agentd {
        self.daemon_with(mock, Options::default()).await
    }

    /// A daemon that asks before every command (and runs it unsandboxed once accepted).
    async fn asking_daemon(&self, mock: &MockLlm) -> Agentd {
        let opts = Options::default().policies("untrusted", "danger-full-access");
        self.daemon_with(mock, opts).await
    }

    async fn daemon_with(&self, mock: &MockLlm, opts: Options) -> Agentd {
        let opts = opts
            .mock_provider(&mock.base_url(), "responses")
            // Gated streams wait on the test, not on a timeout.
            .arg("-c")
            .arg("model_providers.mock.stream_idle_timeout_ms=120000")
            .arg("--store")
            .arg(&self.url)
            .arg("-c")
            .arg(format!("store_lease_ms={}", self.lease_ms));
        Agentd::start(opts)
            .await
            .expect("a daemon on the shared store")
    }
}

/// Two daemons on one database: A runs a turn whose model stream waits at a gate (after
/// `before`; `after` follows the gate), and a client on B follows the thread from its start.
/// Every field must outlive the test's use of the others (the database, the model), so tests
/// bind them all.
struct Running {
    mock: MockLlm,
    cluster: Cluster,
    a: Agentd,
    b: Agentd,
    ca: Client,
    cb: Client,
    thread: String,
    turn: String,
}

async fn running(name: &str, before: &[&str], after: &[&str], then: Vec<Scripted>) -> Running {
    let mut first = vec![Step::created(), Step::message(before), Step::gate()];
    if !after.is_empty() {
        first.push(Step::message(after));
    }
    first.push(Step::completed(Usage::default()));
    let mut scripts = vec![Scripted::responses(first)];
    scripts.extend(then);
    let mock = MockLlm::start(scripts).await.unwrap();
    let cluster = Cluster::start(name).await;
    let a = cluster.daemon(&mock).await;
    let b = cluster.daemon(&mock).await;
    let mut ca = a.client("a").await.unwrap();
    let thread = ca.start_thread(json!({})).await.unwrap();
    let turn = ca.start_turn(&thread, "go").await.unwrap();
    ca.wait_for("item/agentMessage/delta").await.unwrap();
    let mut cb = b.client("b").await.unwrap();
    cb.call("thread/resume", json!({"threadId": thread, "afterSeq": 0}))
        .await
        .unwrap();
    Running {
        mock,
        cluster,
        a,
        b,
        ca,
        cb,
        thread,
        turn,
    }
}

/// Runs a turn to its end through `c`; returns the turn's id.
async fn run_turn(c: &mut Client, thread: &str, text: &str) -> String {
    let turn = c.start_turn(thread, text).await.unwrap();
    loop {
        let n = c.wait_for("turn/completed").await.unwrap();
        if n["params"]["turn"]["id"] == turn.as_str() {
            return turn;
        }
    }
}

/// Every message `c` receives until the end of `turn`, that end included.
async fn until_completed(c: &mut Client, turn: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let m = c.next_message(Duration::from_secs(10)).await.unwrap();
        let done = m["method"] == "turn/completed" && m["params"]["turn"]["id"] == turn;
        seen.push(m);
        if done {
            return seen;
        }
    }
}

/// The thread's events 1..=last as `client` receives them after `thread/resume {afterSeq: 0}`.
async fn replay(c: &mut Client, thread: &str) -> Vec<Value> {
    let read = c
        .call("thread/read", json!({"threadId": thread}))
        .await
        .unwrap();
    let last = read["thread"]["lastSeq"].as_u64().unwrap();
    c.call("thread/resume", json!({"threadId": thread, "afterSeq": 0}))
        .await
        .unwrap();
    let events = c.thread_events(thread, last).await.unwrap();
    assert_gap_free(&events, 1, last);
    events
}

fn assert_gap_free(events: &[Value], first: u64, last: u64) {
    let seqs: Vec<u64> = events.iter().filter_map(seq_of).collect();
    assert_eq!(
        seqs,
        (first..=last).collect::<Vec<_>>(),
        "seqs must be gap-free and unique"
    );
}

fn completions<'a>(events: &'a [Value], turn: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["method"] == "turn/completed" && e["params"]["turn"]["id"] == turn)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_started_on_one_daemon_is_listed_read_and_searched_on_another() {
    let mock = MockLlm::start(vec![Scripted::responses_text("zebra crossings everywhere")])
        .await
        .unwrap();
    let cluster = Cluster::start("listing").await;
    let a = cluster.daemon(&mock).await;
    let b = cluster.daemon(&mock).await;
    let mut ca = a.client("a").await.unwrap();
    let thread = ca.start_thread(json!({})).await.unwrap();
    let turn = run_turn(&mut ca, &thread, "tell me about zebras").await;

    let mut cb = b.client("b").await.unwrap();
    let list = cb.call("thread/list", json!({})).await.unwrap();
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert_eq!(ids, [thread.as_str()]);
    let read = cb
        .call(
            "thread/read",
            json!({"threadId": thread, "includeTurns": true}),
        )
        .await
        .unwrap();
    let turns = read["thread"]["turns"].as_array().unwrap();
    assert_eq!(turns.len(), 1);
    assert_eq!(turns[0]["id"], turn.as_str());
    assert_eq!(turns[0]["status"], "completed");
    let texts: Vec<&str> = turns[0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["text"].as_str())
        .collect();
    assert_eq!(texts, ["zebra crossings everywhere"]);
    let found = cb
        .call("thread/search", json!({"query": "zebra"}))
        .await
        .unwrap();
    assert_eq!(found["data"][0]["thread"]["id"], thread.as_str(), "{found}");
    // Resuming through B with settings (as Codex clients do on every resume) works; the
    // settings live with the holder, so B says it did not change them.
    let resumed = cb
        .call(
            "thread/resume",
            json!({"threadId": thread, "model": "another-model"}),
        )
        .await
        .unwrap();
    assert_eq!(resumed["thread"]["id"], thread.as_str());
    let warning = cb.wait_for("warning").await.unwrap();
    assert!(
        warning["params"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("another daemon")),
        "{warning}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_started_through_another_daemon_runs_on_the_holder_with_identical_streams() {
    let mock = MockLlm::start(vec![Scripted::responses(vec![
        Step::created(),
        Step::message(&["one ", "two ", "three"]),
        Step::completed(Usage::default()),
    ])])
    .await
    .unwrap();
    let cluster = Cluster::start("forwarding").await;
    let a = cluster.daemon(&mock).await;
    let b = cluster.daemon(&mock).await;
    let c = cluster.daemon(&mock).await;
    let mut ca = a.client("a").await.unwrap();
    let thread = ca.start_thread(json!({})).await.unwrap();
    // A holds the thread (it created it, and `ca` keeps it loaded there); B and C follow it.
    let mut cb = b.client("b").await.unwrap();
    let mut cc = c.client("c").await.unwrap();
    for client in [&mut cb, &mut cc] {
        client
            .call("thread/resume", json!({"threadId": thread, "afterSeq": 0}))
            .await
            .unwrap();
    }
    let turn = cc.start_turn(&thread, "count").await.unwrap();
    let on_c = thread_only(until_completed(&mut cc, &turn).await, &thread);
    let last = seq_of(on_c.last().unwrap()).unwrap();
    assert_eq!(mock.requests().len(), 1, "the turn ran exactly once");
    let on_a = ca.thread_events(&thread, last).await.unwrap();
    let on_b = cb.thread_events(&thread, last).await.unwrap();
    // `thread/start` answered A's client with the thread (seq 1); B and C replayed it.
    assert_gap_free(&on_b, 1, last);
    assert_eq!(on_b, on_c, "clients of both followers see the same events");
    assert_eq!(on_a[..], on_b[1..], "and the same as the holder's client");
    assert_eq!(completions(&on_a, &turn).len(), 1);
    // The holder ran it: the thread is loaded (an actor, not a follower) on A.
    let loaded_on_a = ca.call("thread/loaded/list", json!({})).await.unwrap();
    assert!(
        loaded_on_a["data"].to_string().contains(&thread),
        "{loaded_on_a}"
    );
    // A steer and an interrupt through a follower reach the running turn on the holder too:
    // here the turn is over, and the holder's answer (an error) comes back as it is.
    let steer = cb
        .request(
            "turn/steer",
            json!({"threadId": thread, "expectedTurnId": turn,
                   "input": [{"type": "text", "text": "more"}]}),
        )
        .await
        .unwrap();
    assert_eq!(
        steer["error"]["code"], -32005,
        "the holder's answer: {steer}"
    );
}

fn thread_only(messages: Vec<Value>, thread: &str) -> Vec<Value> {
    messages
        .into_iter()
        .filter(|e| event_thread_id(e) == Some(thread) && seq_of(e).is_some())
        .collect()
}

/// Two asking daemons on one database; Alice on A started a turn whose `touch approved` waits
/// for approval, and Bob on B follows the thread: both have been asked. Every field must
/// outlive the test's use of the others (tests keep the whole struct).
struct Asked {
    /// Kept alive, not read: the model and the holder.
    _mock: MockLlm,
    cluster: Cluster,
    _a: Agentd,
    b: Agentd,
    work: tempfile::TempDir,
    ca: Client,
    cb: Client,
    thread: String,
    turn: String,
    on_a: Value,
    on_b: Value,
}

async fn asked(name: &str, lease_ms: u64) -> Asked {
    let mock = MockLlm::start(vec![
        tool_calls(vec![shell_call("c1", &["touch", "approved"])]),
        Scripted::responses_text("done"),
    ])
    .await
    .unwrap();
    let mut cluster = Cluster::start(name).await;
    cluster.lease_ms = lease_ms;
    let a = cluster.asking_daemon(&mock).await;
    let b = cluster.asking_daemon(&mock).await;
    let work = tempfile::tempdir().unwrap();
    let mut ca = a.client("alice").await.unwrap();
    let thread = ca.start_thread(json!({"cwd": work.path()})).await.unwrap();
    let mut cb = b.client("bob").await.unwrap();
    cb.call("thread/resume", json!({"threadId": thread}))
        .await
        .unwrap();
    let turn = ca.start_turn(&thread, "make the file").await.unwrap();
    let on_a = ca.server_request(COMMAND_APPROVAL).await.unwrap();
    let on_b = cb.server_request(COMMAND_APPROVAL).await.unwrap();
    Asked {
        _mock: mock,
        cluster,
        _a: a,
        b,
        work,
        ca,
        cb,
        thread,
        turn,
        on_a,
        on_b,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_asked_on_the_holder_is_answered_through_another_daemon() {
    let mut t = asked("approvals", LEASE_MS).await;
    assert_eq!(
        t.on_a["params"], t.on_b["params"],
        "both daemons' clients are asked the same"
    );
    assert!(!t.work.path().join("approved").exists());

    t.cb.respond(&t.on_b, json!({"decision": "accept"}))
        .unwrap();
    let events = until_completed(&mut t.ca, &t.turn).await;
    let resolved = events
        .iter()
        .find(|e| e["method"] == "serverRequest/resolved")
        .expect("alice hears how it ended");
    assert_eq!(resolved["params"]["decision"], "accept");
    assert_eq!(resolved["params"]["resolvedBy"]["clientName"], "bob");
    assert_eq!(resolved["params"]["requestId"], t.on_a["id"]);
    let done = events.last().unwrap();
    assert_eq!(done["params"]["turn"]["status"], "completed");
    assert!(
        t.work.path().join("approved").exists(),
        "the command ran once accepted"
    );
    // Bob hears it too, for the id he was asked under; Alice's late answer changes nothing.
    let on_b_events = until_completed(&mut t.cb, &t.turn).await;
    assert!(on_b_events
        .iter()
        .any(|e| e["method"] == "serverRequest/resolved"
            && e["params"]["requestId"] == t.on_b["id"]
            && e["params"]["decision"] == "accept"));
    t.ca.respond(&t.on_a, json!({"decision": "decline"}))
        .unwrap();
    let read =
        t.ca.call(
            "thread/read",
            json!({"threadId": t.thread, "includeTurns": true}),
        )
        .await
        .unwrap();
    assert_eq!(read["thread"]["turns"][0]["status"], "completed");
}

/// An answer given on the holder while PostgreSQL is away is shared once it is back: the other
/// daemon's client hears how its question ended instead of keeping a stale one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_given_during_a_database_restart_still_reaches_the_other_daemon() {
    // The holder keeps the thread through the outage.
    let mut t = asked("outage_answer", 30_000).await;

    // Longer than a request waits for a connection (5 s), so the answer's first write fails;
    // well inside a commit's patience (10 s), so the second, waiting for a connection, finds
    // the server back even if it is slow to start.
    t.cluster.pg.stop().unwrap();
    t.ca.respond(&t.on_a, json!({"decision": "accept"}))
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5600)).await;
    t.cluster.pg.start_again().unwrap();

    let events = until_completed(&mut t.ca, &t.turn).await;
    assert_eq!(
        events.last().unwrap()["params"]["turn"]["status"],
        "completed"
    );
    assert!(
        t.work.path().join("approved").exists(),
        "the command ran once accepted"
    );
    // Bob's daemon reads the answer and the events after it separately once its wake-ups are
    // back, so the answer may come after the turn's end there (decision 018).
    let mut at_b = until_completed(&mut t.cb, &t.turn).await;
    let is_answer = |e: &Value| {
        e["method"] == "serverRequest/resolved" && e["params"]["requestId"] == t.on_b["id"]
    };
    if !at_b.iter().any(is_answer) {
        at_b.push(t.cb.wait_for("serverRequest/resolved").await.unwrap());
    }
    let resolved = at_b
        .iter()
        .find(|e| is_answer(e))
        .expect("bob hears how his question ended");
    assert_eq!(resolved["params"]["decision"], "accept");
    assert_eq!(resolved["params"]["resolvedBy"]["clientName"], "alice");
    let mut late = t.b.client("late").await.unwrap();
    let replayed = replay(&mut late, &t.thread).await;
    assert_eq!(completions(&replayed, &t.turn).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_the_holder_mid_turn_hands_the_thread_to_another_daemon() {
    let then = vec![Scripted::responses_text("second turn on b")];
    let Running {
        mock: _mock,
        cluster: _cluster,
        a,
        b,
        ca: _ca,
        mut cb,
        thread,
        turn: first,
    } = running("failover", &["started"], &[], then).await;
    a.kill().await.unwrap();

    // B notices the lapsed lease, takes the thread and ends the cut-off turn; its client,
    // which followed the thread through the hand-over from follower to actor, has every event
    // once, in order.
    let seen = tokio::time::timeout(TAKE_OVER, until_completed(&mut cb, &first))
        .await
        .expect("the cut-off turn ends after the lease lapses");
    let ended = seen.last().unwrap();
    assert_eq!(ended["params"]["turn"]["status"], "interrupted");
    let seen = thread_only(seen, &thread);
    let last = seq_of(seen.last().unwrap()).unwrap();
    assert_gap_free(&seen, 1, last);

    // Everything committed is there, once, in order, for a client arriving now.
    let mut late = b.client("late").await.unwrap();
    let events = replay(&mut late, &thread).await;
    assert_eq!(completions(&events, &first).len(), 1);
    assert!(events
        .iter()
        .any(|e| e["method"] == "item/agentMessage/delta"));
    // And the thread goes on, on B.
    let second = run_turn(&mut cb, &thread, "again").await;
    let read = cb
        .call(
            "thread/read",
            json!({"threadId": thread, "includeTurns": true}),
        )
        .await
        .unwrap();
    let statuses: Vec<(&str, &str)> = read["thread"]["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_str().unwrap(), t["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        [
            (first.as_str(), "interrupted"),
            (second.as_str(), "completed")
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_holder_is_fenced_when_it_resumes() {
    let then = vec![Scripted::responses_text("the next turn")];
    let Running {
        mock,
        cluster: _cluster,
        mut a,
        b,
        mut ca,
        mut cb,
        thread,
        turn,
    } = running("fencing", &["before the stall"], &["after the stall"], then).await;

    a.signal("STOP").unwrap();
    let ended = tokio::time::timeout(TAKE_OVER, async {
        loop {
            let n = cb.wait_for("turn/completed").await.unwrap();
            if n["params"]["turn"]["id"] == turn.as_str() {
                return n;
            }
        }
    })
    .await
    .expect("B takes the thread over from the stalled holder");
    assert_eq!(ended["params"]["turn"]["status"], "interrupted");

    // A wakes up with a turn still streaming: whatever it writes now is refused.
    mock.release(1);
    a.signal("CONT").unwrap();
    a.wait_for_log("fenced", TAKE_OVER)
        .await
        .expect("the old holder says it was fenced");

    // A's own client hears how the turn really ended (A follows the thread now), in order.
    let on_a = tokio::time::timeout(TAKE_OVER, until_completed(&mut ca, &turn))
        .await
        .expect("A's client hears the turn's end from the new holder");
    assert_eq!(
        on_a.last().unwrap()["params"]["turn"]["status"],
        "interrupted"
    );
    let seqs: Vec<u64> = thread_only(on_a, &thread)
        .iter()
        .filter_map(seq_of)
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "in order, once: {seqs:?}"
    );

    let mut late = b.client("late").await.unwrap();
    let events = replay(&mut late, &thread).await;
    assert_eq!(completions(&events, &turn).len(), 1, "one end of the turn");
    assert!(
        !events
            .iter()
            .any(|e| e.to_string().contains("after the stall")),
        "nothing the fenced holder produced reached the log"
    );
    // A new turn sent to A runs on B, the holder now: A forwards it.
    let next = ca.start_turn(&thread, "again").await.unwrap();
    let ended = tokio::time::timeout(TAKE_OVER, until_completed(&mut cb, &next))
        .await
        .expect("the forwarded turn runs");
    assert_eq!(
        ended.last().unwrap()["params"]["turn"]["status"],
        "completed"
    );
    let loaded_on_b = cb.call("thread/loaded/list", json!({})).await.unwrap();
    assert!(
        loaded_on_b["data"].to_string().contains(&thread),
        "{loaded_on_b}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restart_mid_turn_loses_nothing_and_requests_meanwhile_are_retryable() {
    let mock = MockLlm::start(vec![
        Scripted::responses(vec![
            Step::created(),
            Step::message(&["before "]),
            Step::gate(),
            Step::message(&["during ", "the ", "outage"]),
            Step::completed(Usage::default()),
        ]),
        Scripted::responses_text("after"),
    ])
    .await
    .unwrap();
    let cluster = Cluster::start("restart").await;
    let a = cluster.daemon(&mock).await;
    let mut ca = a.client("a").await.unwrap();
    let thread = ca.start_thread(json!({})).await.unwrap();
    let turn = ca.start_turn(&thread, "first").await.unwrap();
    ca.wait_for("item/agentMessage/delta").await.unwrap();

    cluster.pg.stop().unwrap();
    let answer = ca.request("thread/list", json!({})).await.unwrap();
    assert_eq!(answer["error"]["code"], -32001, "{answer}");
    assert_eq!(answer["error"]["data"]["retryable"], true, "{answer}");
    // The model goes on while the database is away: its deltas wait in the thread.
    mock.release(1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    cluster.pg.start_again().unwrap();

    let events = until_completed(&mut ca, &turn).await;
    let done = events.last().unwrap();
    assert_eq!(done["params"]["turn"]["status"], "completed", "{done}");
    let text: String = events
        .iter()
        .filter(|e| e["method"] == "item/agentMessage/delta")
        .filter_map(|e| e["params"]["delta"].as_str())
        .collect();
    assert_eq!(
        text, "during the outage",
        "every delta after the first, once, in order"
    );
    let listed = ca.call("thread/list", json!({})).await.unwrap();
    assert_eq!(listed["data"][0]["id"], thread.as_str());
    run_turn(&mut ca, &thread, "second").await;
    let mut late = a.client("late").await.unwrap();
    let replayed = replay(&mut late, &thread).await;
    assert_eq!(
        replayed
            .iter()
            .filter(|e| e["method"] == "turn/completed")
            .count(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_take_over_of_a_thread_whose_worktree_is_on_another_machine_says_so() {
    let mock = MockLlm::start(vec![Scripted::responses_text("hi")])
        .await
        .unwrap();
    let cluster = Cluster::start("worktree").await;
    let a = cluster.daemon(&mock).await;
    let mut ca = a.client("a").await.unwrap();
    let thread = ca.start_thread(json!({})).await.unwrap();
    run_turn(&mut ca, &thread, "hello").await;
    a.kill().await.unwrap();
    // As if the thread were a sub-agent whose worktree a daemon on another machine made, and
    // that daemon had held it last.
    let mut db = cluster.db().await;
    sqlx::query(
        "UPDATE threads SET settings = (settings::jsonb || jsonb_build_object('worktree', \
         jsonb_build_object('path', '/srv/wt/child', 'branch', 'agent/child', 'repo', '/srv/repo', \
         'base', 'abc123', 'host', 'build-box-7')))::text WHERE id = $1",
    )
    .bind(&thread)
    .execute(&mut db)
    .await
    .unwrap();
    sqlx::query("UPDATE thread_leases SET host = 'build-box-7' WHERE thread_id = $1")
        .bind(&thread)
        .execute(&mut db)
        .await
        .unwrap();

    let b = cluster.daemon(&mock).await;
    let mut cb = b.client("b").await.unwrap();
    let events = tokio::time::timeout(TAKE_OVER, async {
        loop {
            let read = cb
                .call("thread/read", json!({"threadId": thread}))
                .await
                .unwrap();
            let last = read["thread"]["lastSeq"].as_u64().unwrap();
            let mut c = b.client("reader").await.unwrap();
            let events = replay(&mut c, &thread).await;
            if events.iter().any(|e| e["method"] == "warning") {
                return events;
            }
            assert!(last > 0);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .expect("the daemon taking the thread over warns about the worktree");
    let warning = events.iter().find(|e| e["method"] == "warning").unwrap();
    let message = warning["params"]["message"].as_str().unwrap();
    assert!(
        message.contains("build-box-7") && message.contains("/srv/wt/child"),
        "{message}"
    );
    assert_eq!(warning["params"]["threadId"], thread.as_str());
    assert!(
        seq_of(warning).is_some(),
        "it is an event of the thread's log: {warning}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steer_and_interrupt_through_another_daemon_reach_the_running_turn() {
    let Running {
        mock: _mock,
        cluster: _cluster,
        a: _a,
        b: _b,
        mut ca,
        mut cb,
        thread,
        turn,
    } = running("steering", &["working"], &[], Vec::new()).await;

    let steered = cb
        .call(
            "turn/steer",
            json!({"threadId": thread, "expectedTurnId": turn,
                   "input": [{"type": "text", "text": "also this"}]}),
        )
        .await
        .unwrap();
    assert_eq!(steered["turnId"], turn.as_str(), "{steered}");
    let wrong = cb
        .request(
            "turn/steer",
            json!({"threadId": thread, "expectedTurnId": "not-the-turn",
                   "input": [{"type": "text", "text": "x"}]}),
        )
        .await
        .unwrap();
    // The holder's refusal comes back as it is.
    assert_eq!(wrong["error"]["code"], -32005, "{wrong}");

    cb.call(
        "turn/interrupt",
        json!({"threadId": thread, "turnId": turn}),
    )
    .await
    .unwrap();
    let on_a = until_completed(&mut ca, &turn).await;
    assert_eq!(
        on_a.last().unwrap()["params"]["turn"]["status"],
        "interrupted"
    );
    let on_b = until_completed(&mut cb, &turn).await;
    assert_eq!(
        on_b.last().unwrap()["params"]["turn"]["status"],
        "interrupted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_deleted_through_a_follower_is_gone_everywhere() {
    let mock = MockLlm::start(vec![Scripted::responses_text("hi")])
        .await
        .unwrap();
    let cluster = Cluster::start("deleting").await;
    let a = cluster.daemon(&mock).await;
    let b = cluster.daemon(&mock).await;
    let mut ca = a.client("a").await.unwrap();
    let thread = ca.start_thread(json!({})).await.unwrap();
    run_turn(&mut ca, &thread, "hello").await;
    let mut cb = b.client("b").await.unwrap();
    cb.call("thread/resume", json!({"threadId": thread}))
        .await
        .unwrap();
    let mut watcher = b.client("watcher").await.unwrap();
    watcher
        .call("thread/resume", json!({"threadId": thread}))
        .await
        .unwrap();

    // Sent to B, run by A (the holder): both daemons' clients hear it.
    cb.call("thread/delete", json!({"threadId": thread}))
        .await
        .unwrap();
    let on_a = ca.wait_for("thread/deleted").await.unwrap();
    assert_eq!(on_a["params"]["threadId"], thread.as_str());
    let on_b = tokio::time::timeout(TAKE_OVER, watcher.wait_for("thread/deleted"))
        .await
        .expect("a follower's clients hear the deletion")
        .unwrap();
    assert_eq!(on_b["params"]["threadId"], thread.as_str());
    for client in [&mut ca, &mut cb] {
        let read = client
            .request("thread/read", json!({"threadId": thread}))
            .await
            .unwrap();
        assert_eq!(read["error"]["code"], -32004, "{read}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_is_not_postgres_or_not_reachable_stops_the_daemon_with_a_clear_message() {
    let (status, log) = Agentd::start_failing(Options::default().arg("--store").arg("mysql://x/y"))
        .await
        .unwrap();
    assert!(!status.success());
    assert!(
        log.contains("store") && log.contains("postgres://"),
        "{log}"
    );
    // Nothing listens on port 1: refused, with the URL shown without its password.
    let (status, log) = Agentd::start_failing(
        Options::default()
            .arg("--store")
            .arg("postgres://agentd:s3cret@127.0.0.1:1/db"),
    )
    .await
    .unwrap();
    assert!(!status.success());
    assert!(log.contains("cannot open the PostgreSQL store"), "{log}");
    assert!(
        !log.contains("s3cret"),
        "the password is not printed: {log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_in_the_forwarded_commands_table_gets_error_answers_and_costs_nothing_else() {
    let mock = MockLlm::start(vec![Scripted::responses_text("still fine")])
        .await
        .unwrap();
    let cluster = Cluster::start("junk").await;
    let a = cluster.daemon(&mock).await;
    let mut ca = a.client("a").await.unwrap();
    let thread = ca.start_thread(json!({})).await.unwrap();
    let mut db = cluster.db().await;
    let owner = lease_owner(&mut db, &thread).await;
    // What another daemon (or anyone with the database) could write for A to run, and the
    // error each must get: (method, params, code, words of the message).
    let envelope = |params: Value, scope: &str, hops: u32| {
        json!({"params": params, "scope": scope, "client_name": "z", "hops": hops}).to_string()
    };
    let junk: Vec<(&str, String, i64, &str)> = vec![
        (
            "turn/start",
            "not json at all".into(),
            -32600,
            "forwarded request",
        ),
        (
            "no/such/method",
            envelope(json!({"threadId": thread}), "admin", 0),
            -32600,
            "not a method daemons forward",
        ),
        (
            "thread/start",
            envelope(json!({"threadId": thread}), "admin", 0),
            -32600,
            "not a method daemons forward",
        ),
        (
            "turn/start",
            envelope(json!({"threadId": 12}), "admin", 0),
            -32600,
            "another thread",
        ),
        (
            "thread/name/set",
            envelope(json!({"threadId": "someone-else", "name": "x"}), "admin", 0),
            -32600,
            "another thread",
        ),
        (
            "turn/start",
            envelope(json!({"threadId": thread}), "nobody", 0),
            -32600,
            "forwarded request",
        ),
        (
            "thread/name/set",
            envelope(json!({"threadId": thread, "name": "x"}), "admin", 3),
            -32001,
            "changed hands",
        ),
        ("agentd/approvalAnswer", r#"{"thread_id": 5}"#.into(), 0, ""),
    ];
    let mut ids = Vec::new();
    for (method, params, _, _) in &junk {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO thread_commands (thread_id, target, origin, method, params, created_at) \
             VALUES ($1, $2, 'junk', $3, $4, extract(epoch from now())::bigint) RETURNING id",
        )
        .bind(&thread)
        .bind(&owner)
        .bind(method)
        .bind(params)
        .fetch_one(&mut db)
        .await
        .unwrap();
        ids.push(id);
    }
    sqlx::query("SELECT pg_notify('agentd', $1)")
        .bind(format!("c {owner}"))
        .execute(&mut db)
        .await
        .unwrap();
    let answers: Vec<Option<String>> = tokio::time::timeout(TAKE_OVER, async {
        loop {
            let answers: Vec<Option<String>> = sqlx::query_scalar(
                "SELECT answer FROM thread_commands WHERE id = ANY($1) ORDER BY id",
            )
            .bind(&ids)
            .fetch_all(&mut db)
            .await
            .unwrap();
            if answers.iter().all(Option::is_some) {
                return answers;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("every command is answered");
    assert_eq!(
        answers.len(),
        ids.len(),
        "junk rows were swept before they were read"
    );
    for ((method, _, code, words), answer) in junk.iter().zip(&answers).take(junk.len() - 1) {
        let answer: Value = serde_json::from_str(answer.as_deref().unwrap()).unwrap();
        assert_eq!(answer["error"]["code"], *code, "{method}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(words), "{method}: {answer}");
    }
    let read = ca
        .call("thread/read", json!({"threadId": thread}))
        .await
        .unwrap();
    assert!(
        read["thread"]["name"].is_null(),
        "a junk rename ran: {read}"
    );
    // The daemon goes on as before.
    run_turn(&mut ca, &thread, "hello").await;
}

/// A lease row in a daemon's name that no actor of it uses (a release that failed, or a row
/// written by something else) does not send the daemon's requests for that thread to itself,
/// round and round until the row expires: it takes the lease again and runs them, and runs
/// those forwarded to it from another daemon too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_left_in_a_daemons_name_is_taken_again_not_forwarded_to_itself() {
    let mock = MockLlm::start(vec![]).await.unwrap();
    let cluster = Cluster::start("own_lease").await;
    let a = cluster.daemon(&mock).await;
    let mut ca = a.client("a").await.unwrap();
    let on_a = ca.start_thread(json!({})).await.unwrap();
    // A thread made on a daemon that is gone (its lease released), and one that never had it.
    let thread = {
        let gone = cluster.daemon(&mock).await;
        let mut c = gone.client("gone").await.unwrap();
        let thread = c.start_thread(json!({})).await.unwrap();
        drop(c);
        gone.terminate().await.unwrap();
        thread
    };
    let b = cluster.daemon(&mock).await;
    let mut cb = b.client("b").await.unwrap();
    let mut db = cluster.db().await;
    let a_id = lease_owner(&mut db, &on_a).await;
    // The thread is now A's for an hour, though A has never loaded it.
    lease_for_an_hour(&mut db, &thread, &a_id).await;

    let rename = |name: &str| json!({"threadId": thread, "name": name});
    let quickly = Duration::from_secs(10);
    tokio::time::timeout(quickly, ca.call("thread/name/set", rename("through A")))
        .await
        .expect("A answered its own request")
        .unwrap();
    tokio::time::timeout(quickly, cb.call("thread/name/set", rename("through B")))
        .await
        .expect("A answered B's forwarded request")
        .unwrap();
    let read = ca
        .call("thread/read", json!({"threadId": thread}))
        .await
        .unwrap();
    assert_eq!(read["thread"]["name"], "through B");
    let owner = lease_owner(&mut db, &thread).await;
    assert_eq!(owner, a_id);
}

/// The questions table is outside input to a follower: junk rows in it ask B's client no more
/// than the newest 64 questions, none numbered below zero, none with params past 4 MiB; older
/// questions it still asked are not told ended for being out of that window; and a question
/// resolved with a decision that does not parse still ends, as `cancel`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_in_the_questions_table_asks_a_bounded_few_and_ends_what_it_resolves() {
    let mock = MockLlm::start(vec![]).await.unwrap();
    let cluster = Cluster::start("junk_questions").await;
    let a = cluster.daemon(&mock).await;
    let b = cluster.daemon(&mock).await;
    let mut ca = a.client("a").await.unwrap();
    let thread = ca.start_thread(json!({})).await.unwrap();
    let mut cb = b.client("b").await.unwrap();
    cb.call("thread/resume", json!({"threadId": thread}))
        .await
        .unwrap();
    let mut db = cluster.db().await;
    let owner = lease_owner(&mut db, &thread).await;
    // Question n asks for command `qn`; question 31 has 5 MB of (valid JSON) params instead.
    let questions = |ids: &str| {
        format!(
            "INSERT INTO pending_approvals (thread_id, approval_id, owner, method, params, \
             created_at) SELECT $1, n, $2, $3, CASE WHEN n = 31 \
             THEN '{{\"pad\":\"' || repeat('x', 5000000) || '\"}}' \
             ELSE json_build_object('threadId', $1::text, 'command', 'q' || n)::text END, 0 \
             FROM ({ids}) ids(n)"
        )
    };
    let commands = |asked: &[Value]| -> Vec<String> {
        asked
            .iter()
            .map(|r| r["params"]["command"].as_str().unwrap_or("-").to_owned())
            .collect()
    };

    // 30 questions, one numbered below zero, one with 5 MB of params.
    let first = questions("SELECT generate_series(1, 31) UNION ALL SELECT -5");
    run_question_sql(&mut db, &first, &thread, &owner).await;
    wake_for_questions(&mut db, &thread).await;
    let asked = questions_asked(&mut cb, &mut db, &thread, 31).await;
    let mut expected: Vec<String> = (1..=30).map(|n| format!("q{n}")).collect();
    expected.push("-".into());
    assert_eq!(commands(&asked), expected);
    assert!(asked[30]["params"].is_null(), "the 5 MB params were read");

    // 200 more: only the newest 64 are asked, and the first 31 are not told ended.
    let more = questions("SELECT generate_series(1001, 1200)");
    run_question_sql(&mut db, &more, &thread, &owner).await;
    wake_for_questions(&mut db, &thread).await;
    let newest = questions_asked(&mut cb, &mut db, &thread, 64).await;
    let expected: Vec<String> = (1137..=1200).map(|n| format!("q{n}")).collect();
    assert_eq!(commands(&newest), expected);

    // The newest question is resolved with a decision nobody defined.
    sqlx::query(
        "UPDATE pending_approvals SET decision = '\"maybe\"', resolved_by = 'junk', \
         resolved_at = extract(epoch from now())::bigint \
         WHERE thread_id = $1 AND approval_id = 1200",
    )
    .bind(&thread)
    .execute(&mut db)
    .await
    .unwrap();
    wake_for_questions(&mut db, &thread).await;
    let resolved = cb.wait_for("serverRequest/resolved").await.unwrap();
    assert_eq!(resolved["params"]["decision"], "cancel", "{resolved}");
    assert_eq!(resolved["params"]["requestId"], newest[63]["id"]);
    cb.call("thread/read", json!({"threadId": thread}))
        .await
        .unwrap();
    let others = cb
        .drain(Duration::from_millis(500))
        .await
        .into_iter()
        .filter(|m| m["method"] == "serverRequest/resolved")
        .count();
    assert_eq!(
        others, 0,
        "questions out of the read window were told ended"
    );
}

async fn run_question_sql(db: &mut sqlx::PgConnection, sql: &str, thread: &str, owner: &str) {
    sqlx::query(sql)
        .bind(thread)
        .bind(owner)
        .bind(COMMAND_APPROVAL)
        .execute(db)
        .await
        .unwrap();
}

/// Exactly `count` questions reach the client, in order, and no more after another wake-up
/// (a `thread/read` answered after it is the positive signal that the follower had its turn).
async fn questions_asked(
    c: &mut Client,
    db: &mut sqlx::PgConnection,
    thread: &str,
    count: usize,
) -> Vec<Value> {
    let mut asked = Vec::new();
    while asked.len() < count {
        asked.push(c.server_request(COMMAND_APPROVAL).await.unwrap());
    }
    wake_for_questions(db, thread).await;
    c.call("thread/read", json!({"threadId": thread}))
        .await
        .unwrap();
    let drained = c.drain(Duration::from_millis(500)).await;
    let method = |name: &str| drained.iter().filter(|m| m["method"] == name).count();
    assert_eq!(
        method(COMMAND_APPROVAL),
        0,
        "more than {count} questions were asked"
    );
    assert_eq!(
        method("serverRequest/resolved"),
        0,
        "a question was told ended"
    );
    asked
}

/// What the holder sends when a thread's questions change.
async fn wake_for_questions(db: &mut sqlx::PgConnection, thread: &str) {
    sqlx::query("SELECT pg_notify('agentd', $1)")
        .bind(format!("p {thread}"))
        .execute(db)
        .await
        .unwrap();
}

/// Writes a thread's lease row over to `owner` for an hour, at the next epoch, whatever held it.
async fn lease_for_an_hour(db: &mut sqlx::PgConnection, thread: &str, owner: &str) {
    sqlx::query(
        "UPDATE thread_leases SET owner = $2, epoch = epoch + 1, \
         expires_at = (extract(epoch from clock_timestamp()) * 1000)::bigint + 3600000 \
         WHERE thread_id = $1",
    )
    .bind(thread)
    .bind(owner)
    .execute(db)
    .await
    .unwrap();
}

/// The daemon whose name a thread's lease row carries.
async fn lease_owner(db: &mut sqlx::PgConnection, thread: &str) -> String {
    sqlx::query_scalar("SELECT owner FROM thread_leases WHERE thread_id = $1")
        .bind(thread)
        .fetch_one(db)
        .await
        .unwrap()
}

/// A daemon whose write is fenced (another daemon holds the thread now) answers the request
/// with a retryable -32001, not an internal error; sent again, it reaches the new holder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fenced_request_is_retryable_and_the_retry_reaches_the_new_holder() {
    let mock = MockLlm::start(vec![]).await.unwrap();
    let cluster = Cluster::start("fenced_retry").await;
    let a = cluster.daemon(&mock).await;
    let b = cluster.daemon(&mock).await;
    let mut ca = a.client("a").await.unwrap();
    let mut cb = b.client("b").await.unwrap();
    let on_a = ca.start_thread(json!({})).await.unwrap();
    let thread = cb.start_thread(json!({})).await.unwrap();
    let mut db = cluster.db().await;
    let a_id = lease_owner(&mut db, &on_a).await;
    // A takes B's thread behind B's back (as a take-over after a stall would).
    lease_for_an_hour(&mut db, &thread, &a_id).await;

    let rename = |name: &str| json!({"threadId": thread, "name": name});
    let refused = cb
        .request("thread/name/set", rename("fenced"))
        .await
        .unwrap();
    assert_eq!(refused["error"]["code"], -32001, "{refused}");
    assert_eq!(refused["error"]["data"]["retryable"], true, "{refused}");
    tokio::time::timeout(
        Duration::from_secs(10),
        cb.call("thread/name/set", rename("again")),
    )
    .await
    .expect("the retry was answered")
    .unwrap();
    let read = ca
        .call("thread/read", json!({"threadId": thread}))
        .await
        .unwrap();
    assert_eq!(read["thread"]["name"], "again");
}
