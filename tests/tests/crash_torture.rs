//! Crash torture (ARCHITECTURE.md, "events before effects"): start the daemon, run streaming
//! turns against the mock model, `kill -9` it at a random moment, restart — and again, 100
//! times by default (`AGENTD_TORTURE_ITERATIONS`; `AGENTD_TORTURE_SEED` replays a run).
//!
//! After every restart (then a clean stop: no other process may open a daemon's file while it
//! runs): `PRAGMA integrity_check` is ok; every thread event the client received
//! before the kill is in the store under the same seq with the same content; no turn is left
//! `inProgress`; and each thread's seqs run 1..=last_seq with no gap.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use agentd_tests::mock_llm::{MockLlm, Scripted};
use agentd_tests::{Agentd, Options, TIMEOUT};
use serde_json::{json, Value};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Row};

/// xorshift64*: enough randomness to vary kill moments, reproducible from a printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// A streamed answer of `chunks` deltas, one every 2 ms.
fn streamed(chunks: usize) -> Scripted {
    let text: String = (0..chunks).map(|i| format!("w{i} ")).collect();
    Scripted::responses_text(&text).with_chunk_delay(Duration::from_millis(2))
}

/// Checks the store against what the client saw; returns the number of threads checked.
async fn check_store(db: &Path, received: &BTreeMap<(String, u64), Value>, it: usize) -> usize {
    let mut c = SqliteConnectOptions::new()
        .filename(db)
        .read_only(true)
        .connect()
        .await
        .unwrap();
    let verdict: String = sqlx::query("PRAGMA integrity_check")
        .fetch_one(&mut c)
        .await
        .unwrap()
        .get(0);
    assert_eq!(verdict, "ok", "iteration {it}");

    let running: i64 = sqlx::query("SELECT count(*) FROM turns WHERE status = 'inProgress'")
        .fetch_one(&mut c)
        .await
        .unwrap()
        .get(0);
    assert_eq!(running, 0, "iteration {it}: a turn was left inProgress");

    // A batch of events alone does not rewrite the row: the daemon reads a thread's last seq
    // as the newer of the row's and the log's (decision 019), and so does this check.
    let threads = sqlx::query(
        "SELECT id, max(last_seq, coalesce((SELECT max(seq) FROM events e \
         WHERE e.thread_id = threads.id), 0)) FROM threads",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    for t in &threads {
        let id: String = t.get(0);
        let last: i64 = t.get(1);
        let seqs: Vec<i64> = sqlx::query("SELECT seq FROM events WHERE thread_id = ? ORDER BY seq")
            .bind(&id)
            .fetch_all(&mut c)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(
            seqs,
            (1..=last).collect::<Vec<_>>(),
            "iteration {it}: thread {id} has a gap or a wrong last_seq"
        );
    }

    for ((thread, seq), params) in received {
        let row = sqlx::query("SELECT kind, payload FROM events WHERE thread_id = ? AND seq = ?")
            .bind(thread)
            .bind(*seq as i64)
            .fetch_optional(&mut c)
            .await
            .unwrap()
            .unwrap_or_else(|| {
                panic!("iteration {it}: seq {seq} of {thread} was received but is not stored")
            });
        let kind: String = row.get(0);
        let payload: String = row.get(1);
        let stored: Value = serde_json::from_str(&payload).unwrap();
        assert_eq!(
            &stored, &params["params"],
            "iteration {it}: seq {seq} differs"
        );
        assert_eq!(kind, params["method"].as_str().unwrap(), "iteration {it}");
    }
    threads.len()
}

/// Restarts the daemon on the killed one's data (it recovers: interrupted turns end), stops it,
/// and checks the store: no other process can open the file while a daemon has it.
async fn recover_and_check(
    base: &Options,
    data: &Path,
    received: &BTreeMap<(String, u64), Value>,
    it: usize,
) -> usize {
    let d = Agentd::start(base.clone().data_dir(data))
        .await
        .unwrap_or_else(|e| panic!("iteration {it}: restart failed: {e:#}"));
    let (status, _, _) = d.terminate().await.unwrap();
    assert!(
        status.success(),
        "iteration {it}: the restarted daemon stopped with {status}"
    );
    check_store(&data.join("agentd.db"), received, it).await
}

/// Moves every thread event in `msgs` into `received`, keyed by (thread, seq); a seq seen twice
/// must carry the same event.
fn record(received: &mut BTreeMap<(String, u64), Value>, msgs: Vec<Value>) {
    for m in msgs {
        let p = &m["params"];
        let (Some(seq), Some(method)) = (p["seq"].as_u64(), m["method"].as_str()) else {
            continue;
        };
        // Not a log event: answered per connection with the seq it follows.
        if method == "serverRequest/resolved" || m.get("id").is_some() {
            continue;
        }
        let thread = p["threadId"]
            .as_str()
            .or_else(|| p["thread"]["id"].as_str())
            .unwrap_or_default()
            .to_owned();
        if let Some(prev) = received.insert((thread, seq), m.clone()) {
            assert_eq!(prev, m, "one seq, two different events");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_random_moments_never_loses_or_corrupts_what_clients_saw() {
    let iterations = env_u64("AGENTD_TORTURE_ITERATIONS").unwrap_or(100) as usize;
    let seed = env_u64("AGENTD_TORTURE_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
            | 1
    });
    eprintln!("crash torture: {iterations} iterations, AGENTD_TORTURE_SEED={seed}");
    let mut rng = Rng(seed);
    let mock = MockLlm::start(Vec::new()).await.unwrap();
    let base = Options::default().mock_provider(&mock.base_url(), "responses");
    let data = tempfile::tempdir().unwrap();
    let mut received: BTreeMap<(String, u64), Value> = BTreeMap::new();
    let mut threads: Vec<String> = Vec::new();
    let started = Instant::now();

    for it in 0..iterations {
        if it > 0 {
            recover_and_check(&base, data.path(), &received, it).await;
        }
        let d = Agentd::start(base.clone().data_dir(data.path()))
            .await
            .unwrap_or_else(|e| panic!("iteration {it}: restart failed: {e:#}"));
        let mut c = d.client("torture").await.unwrap();

        // Pick up the threads again (replay from a random point), or start one.
        for t in &threads {
            let after = rng.below(5);
            c.call("thread/resume", json!({"threadId": t, "afterSeq": after}))
                .await
                .unwrap();
        }
        if threads.len() < 3 && (threads.is_empty() || rng.below(4) == 0) {
            threads.push(c.start_thread(json!({})).await.unwrap());
        }
        let thread = threads[rng.below(threads.len() as u64) as usize].clone();
        if rng.below(3) == 0 {
            c.call(
                "thread/name/set",
                json!({"threadId": thread, "name": format!("it{it}")}),
            )
            .await
            .unwrap();
        }
        mock.push(streamed(5 + rng.below(30) as usize));
        mock.push(streamed(5));
        // A turn may be refused if one still runs after recovery; that is fine too.
        let _ = c
            .request(
                "turn/start",
                json!({"threadId": thread, "input": [{"type": "text", "text": format!("go {it}")}]}),
            )
            .await
            .unwrap();

        // Read for a random while, then kill without warning.
        let deadline = Instant::now() + Duration::from_millis(rng.below(120));
        let mut msgs = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match c.next_message(left).await {
                Ok(m) => msgs.push(m),
                Err(_) => break,
            }
        }
        let (_dir, _keep) = d.kill().await.unwrap();
        // What was already on its way to us counts as received: all of it has arrived once
        // the connection the kill closed reads as closed.
        msgs.extend(c.read_until_closed(TIMEOUT).await.unwrap());
        record(&mut received, msgs);
    }

    // The final restart is checked too.
    let n = recover_and_check(&base, data.path(), &received, iterations).await;
    assert!(n >= 1);
    assert!(!received.is_empty());
    eprintln!(
        "crash torture: {iterations} kills, {} events checked, {:?}",
        received.len(),
        started.elapsed()
    );
}
