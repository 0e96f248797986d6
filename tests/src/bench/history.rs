//! History reads and search at scale: `thread/read` and `thread/resume` of one thread with 10k
//! items and 100k events, and `thread/search` over 10k threads, against the real binary over a
//! real WebSocket.
//!
//! The data is written in-process through the daemon library's `Store::commit` (the same
//! transactions the daemon itself writes, search index included), then a daemon is started on
//! that data dir. Each figure is request sent → complete answer frame received (the answer is
//! parsed and checked outside the timed span).

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use agentd::clock::unix_now;
use agentd::store::{
    CommitBatch, HistoryRow, ItemRow, NewEvent, Projection, Store, ThreadRow, TurnRow,
};
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};

use super::daemon::{command, parse_listening};
use super::stats::{ms, Summary};
use super::ws::{self, Ws};
use super::Ctx;

/// The big thread: turns × items per turn = 10k items; events per turn × turns = 100k events.
const BIG_TURNS: usize = 1000;
const ITEMS_PER_TURN: usize = 10;
const EVENTS_PER_TURN: usize = 100;
/// The search corpus: threads, each with a user message, an agent message and a command.
const SEARCH_THREADS: usize = 10_000;
/// Timed requests per figure (after warm-up ones).
const RUNS: usize = 30;
const WARMUP: usize = 3;
/// Words the corpus is made of.
const VOCABULARY: usize = 2000;
/// A word only every 500th search thread says.
const RARE_WORD: &str = "quasar";

pub async fn run(ctx: &Ctx) -> Result<Value> {
    println!(
        "== history: thread/read and thread/resume of a thread with {} items and {} events; \
         thread/search over {SEARCH_THREADS} threads",
        BIG_TURNS * ITEMS_PER_TURN,
        BIG_TURNS * EVENTS_PER_TURN
    );
    let temp = tempfile::tempdir().context("creating a temp dir")?;
    let data = temp.path().join("data");
    std::fs::create_dir_all(&data)?;
    let built = Instant::now();
    let big = populate(&data.join("agentd.db")).await?;
    println!(
        "built the data dir in {:.1} s ({} MiB)",
        built.elapsed().as_secs_f64(),
        dir_size(&data) / (1024 * 1024)
    );
    let parts = read_in_process(&data.join("agentd.db"), &big).await?;

    let mut daemon = command(&ctx.bin, temp.path(), &[]);
    daemon
        .args(["--listen", "ws://127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = daemon.spawn().context("spawning agentd")?;
    let stderr = child.stderr.take().context("no stderr")?;
    let mut lines = BufReader::new(stderr).lines();
    let (url, token) = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await? {
            if let Some(found) = parse_listening(&line) {
                return Ok(found);
            }
        }
        bail!("agentd exited before listening")
    })
    .await
    .context("agentd did not start listening")??;
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let mut c = ws::connect(&url, token.as_deref()).await?;
    ws::initialize(&mut c, "agentd-bench-history").await?;

    let mut next_id = 1000;
    let read = timed(
        &mut c,
        &mut next_id,
        "thread/read",
        || json!({"threadId": big, "includeTurns": true}),
    )
    .await?;
    check_turns(&read.last, BIG_TURNS)?;
    let resume = timed(
        &mut c,
        &mut next_id,
        "thread/resume",
        || json!({"threadId": big}),
    )
    .await?;
    check_turns(&resume.last, BIG_TURNS)?;
    ws::call(&mut c, 1, "thread/unsubscribe", json!({"threadId": big})).await?;

    let mut search = serde_json::Map::new();
    let mut search_lines = Vec::new();
    for (label, query) in [
        ("rare", RARE_WORD.to_owned()),
        ("common", word(3)),
        ("twoWords", format!("{} {}", word(10), word(11))),
        ("prefix", format!("{}*", &word(500)[..5])),
    ] {
        let r = timed(
            &mut c,
            &mut next_id,
            "thread/search",
            || json!({"query": query, "limit": 20}),
        )
        .await?;
        let hits = r.last["data"].as_array().map_or(0, Vec::len);
        search_lines.push(format!(
            "thread/search {label:<9} {query:<22} {hits:>2} hits  p50 {}  p99 {}",
            ms(r.summary.p50),
            ms(r.summary.p99)
        ));
        search.insert(
            label.to_owned(),
            json!({"query": query, "hits": hits,
            "latencyMs": r.summary.json_ms()}),
        );
    }
    let _ = child.kill().await;

    println!(
        "thread/read  (includeTurns, {} KiB answer)  p50 {}  p99 {}   target ≤ 50 ms",
        read.bytes / 1024,
        ms(read.summary.p50),
        ms(read.summary.p99)
    );
    println!(
        "thread/resume ({} KiB answer)              p50 {}  p99 {}   target ≤ 100 ms",
        resume.bytes / 1024,
        ms(resume.summary.p50),
        ms(resume.summary.p99)
    );
    println!("  in-process, same data: {}", parts.0);
    for l in &search_lines {
        println!("{l}");
    }
    println!("target: thread/search ≤ 20 ms");
    Ok(json!({
        "items": BIG_TURNS * ITEMS_PER_TURN,
        "events": BIG_TURNS * EVENTS_PER_TURN,
        "searchThreads": SEARCH_THREADS,
        "readLatencyMs": read.summary.json_ms(),
        "readAnswerBytes": read.bytes,
        "resumeLatencyMs": resume.summary.json_ms(),
        "resumeAnswerBytes": resume.bytes,
        "readInProcessMs": parts.1,
        "search": Value::Object(search),
    }))
}

/// The parts of `thread/read`'s work inside the daemon, timed through the daemon library on
/// the same data (median of RUNS): store reads, building the turns' JSON, writing the answer.
async fn read_in_process(db: &Path, thread: &str) -> Result<(String, Value)> {
    use agentd::threads::turns_json;
    let store = Store::open(db).await?;
    let (mut read_ns, mut build_ns, mut write_ns) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let t0 = Instant::now();
        let turns = store.turns_with_items_json(thread).await?;
        let t1 = Instant::now();
        let json = turns_json(turns);
        let t2 = Instant::now();
        let text = json.to_string();
        let t3 = Instant::now();
        std::hint::black_box(text);
        read_ns.push((t1 - t0).as_nanos() as u64);
        build_ns.push((t2 - t1).as_nanos() as u64);
        write_ns.push((t3 - t2).as_nanos() as u64);
    }
    store.close().await;
    let p50 = |v: &mut Vec<u64>| Summary::of(v).p50;
    let (a, b, c) = (p50(&mut read_ns), p50(&mut build_ns), p50(&mut write_ns));
    Ok((
        format!(
            "store read {}, build JSON {}, serialise {} (p50)",
            ms(a),
            ms(b),
            ms(c)
        ),
        json!({"storeRead": a as f64 / 1e6, "buildJson": b as f64 / 1e6,
               "serialise": c as f64 / 1e6}),
    ))
}

struct Timed {
    summary: Summary,
    /// The last answer's result, parsed.
    last: Value,
    bytes: usize,
}

/// Sends `method` WARMUP + RUNS times, one at a time; times send → whole answer frame.
async fn timed(
    c: &mut Ws,
    next_id: &mut u64,
    method: &str,
    params: impl Fn() -> Value,
) -> Result<Timed> {
    let mut samples = Vec::with_capacity(RUNS);
    let mut last = String::new();
    for run in 0..WARMUP + RUNS {
        *next_id += 1;
        let request =
            json!({"jsonrpc": "2.0", "id": *next_id, "method": method, "params": params()});
        let started = Instant::now();
        ws::send_json(c, &request).await?;
        let answer = loop {
            let text = ws::next_text(c, Duration::from_secs(60)).await?;
            // Notifications (a resume's catch-up has none here) are skipped.
            if !text.contains("\"method\":") || text.contains("\"result\":") {
                break text;
            }
        };
        let elapsed = started.elapsed().as_nanos() as u64;
        if run >= WARMUP {
            samples.push(elapsed);
        }
        last = answer;
    }
    let v: Value = serde_json::from_str(&last).context("answer is not JSON")?;
    if let Some(e) = v.get("error") {
        bail!("{method} failed: {e}");
    }
    Ok(Timed {
        summary: Summary::of(&mut samples),
        bytes: last.len(),
        last: v["result"].clone(),
    })
}

fn check_turns(result: &Value, want: usize) -> Result<()> {
    let got = result["thread"]["turns"].as_array().map_or(0, Vec::len);
    if got != want {
        bail!("expected {want} turns, the answer has {got}");
    }
    Ok(())
}

/// A word of the corpus vocabulary: made-up but tokenizer-friendly (`w0042x`-like words would
/// all share prefixes; these do not).
fn word(i: usize) -> String {
    const SYLLABLES: [&str; 16] = [
        "ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pu", "ga", "do", "fe", "hi", "jo",
        "be",
    ];
    let mut s = String::new();
    let mut n = i + VOCABULARY;
    while n > 0 {
        s.push_str(SYLLABLES[n % 16]);
        n /= 16;
    }
    s
}

/// A small deterministic generator (xorshift), so every run builds the same corpus.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Zipf-like: small indices are much more frequent, as words are in text.
    fn word(&mut self) -> String {
        let a = self.next() % VOCABULARY as u64;
        let b = self.next() % VOCABULARY as u64;
        word((a * b / VOCABULARY as u64) as usize)
    }

    fn sentence(&mut self, words: usize) -> String {
        (0..words)
            .map(|_| self.word())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn thread_row(id: String, preview: String) -> ThreadRow {
    let now = unix_now();
    ThreadRow {
        session_id: id.clone(),
        id,
        forked_from_id: None,
        name: None,
        preview,
        cwd: "/".into(),
        model: "bench".into(),
        model_provider: "bench".into(),
        settings: json!({"approvalPolicy": "never", "sandbox": {"type": "dangerFullAccess"}}),
        ephemeral: false,
        archived: false,
        created_at: now,
        updated_at: now,
        last_seq: 0,
        source: "\"appServer\"".into(),
        source_kind: "appServer".into(),
        parent_id: None,
    }
}

fn turn_row(thread: &str, id: &str, position: i64) -> TurnRow {
    TurnRow {
        id: id.to_owned(),
        thread_id: thread.to_owned(),
        position,
        status: agentd::store::TurnState::Completed,
        error: None,
        started_at: Some(unix_now()),
        completed_at: Some(unix_now()),
        duration_ms: Some(1200),
        usage: Some(
            json!({"totalTokens": 1200, "inputTokens": 1000, "cachedInputTokens": 0,
                           "outputTokens": 200, "reasoningOutputTokens": 0}),
        ),
        client_request_id: None,
        rolled_back: false,
    }
}

/// One item of the big thread: messages, commands with output, reasoning.
fn item(rng: &mut Rng, thread: &str, turn: &str, position: usize) -> (ItemRow, Option<Value>) {
    let id = format!("{turn}-i{position}");
    let (kind, payload, history) = match position % ITEMS_PER_TURN {
        0 => {
            let text = rng.sentence(20);
            (
                "userMessage",
                json!({"type": "userMessage", "id": id, "content": [{"type": "text", "text": text}]}),
                Some(json!({"type": "user_message", "text": text})),
            )
        }
        1 | 5 => (
            "reasoning",
            json!({"type": "reasoning", "id": id, "summary": [rng.sentence(15)], "content": []}),
            None,
        ),
        2 | 4 | 6 => {
            let cmd = format!("cargo test -p {}", rng.word());
            (
                "commandExecution",
                json!({"type": "commandExecution", "id": id, "command": cmd, "cwd": "/work",
                       "status": "completed", "commandActions": [],
                       "aggregatedOutput": rng.sentence(40), "exitCode": 0, "durationMs": 800}),
                Some(json!({"type": "function_call_output", "call_id": id,
                            "output": rng.sentence(40)})),
            )
        }
        _ => {
            let text = rng.sentence(40);
            (
                "agentMessage",
                json!({"type": "agentMessage", "id": id, "text": text}),
                Some(json!({"type": "assistant_message", "text": text})),
            )
        }
    };
    (
        ItemRow {
            id,
            thread_id: thread.to_owned(),
            turn_id: turn.to_owned(),
            position: position as i64,
            kind: kind.into(),
            payload,
        },
        history,
    )
}

/// Writes the big thread and the search corpus; returns the big thread's id.
async fn populate(db: &Path) -> Result<String> {
    let store = Store::open(db).await?;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let big = uuid_like(0);
    let mut row = thread_row(big.clone(), "the big thread".into());
    let mut seq = 0u64;
    let now = unix_now();
    for t in 0..BIG_TURNS {
        let turn = format!("{big}-t{t:05}");
        let mut projections = vec![Projection::Turn(turn_row(&big, &turn, t as i64))];
        let mut history_rows = Vec::new();
        let mut events = Vec::with_capacity(EVENTS_PER_TURN);
        for i in 0..ITEMS_PER_TURN {
            let (item, history) = item(&mut rng, &big, &turn, i);
            for _ in 0..EVENTS_PER_TURN / ITEMS_PER_TURN - 1 {
                seq += 1;
                events.push(NewEvent {
                    seq,
                    kind: "item/agentMessage/delta".into(),
                    payload: json!({"threadId": big, "turnId": turn, "itemId": item.id,
                                    "delta": rng.sentence(3), "seq": seq})
                    .to_string(),
                    created_at: now,
                });
            }
            seq += 1;
            events.push(NewEvent {
                seq,
                kind: "item/completed".into(),
                payload: json!({"threadId": big, "turnId": turn, "item": item.payload,
                                "completedAtMs": 0, "seq": seq})
                .to_string(),
                created_at: now,
            });
            if let Some(h) = history {
                history_rows.push(Projection::History(HistoryRow {
                    thread_id: big.clone(),
                    turn_id: turn.clone(),
                    payload: h,
                }));
            }
            projections.push(Projection::Item(item));
        }
        projections.extend(history_rows);
        row.last_seq = seq;
        store
            .commit(&CommitBatch {
                thread: row.clone(),
                events,
                projections,
            })
            .await?;
    }
    for n in 1..=SEARCH_THREADS {
        let id = uuid_like(n);
        let mut user = rng.sentence(12);
        if n % 500 == 0 {
            user.push(' ');
            user.push_str(RARE_WORD);
        }
        let mut row = thread_row(id.clone(), user.clone());
        row.last_seq = 1;
        let turn = format!("{id}-t0");
        let items = [
            json!({"type": "userMessage", "id": format!("{turn}-u"),
                   "content": [{"type": "text", "text": user}]}),
            json!({"type": "agentMessage", "id": format!("{turn}-a"), "text": rng.sentence(30)}),
            json!({"type": "commandExecution", "id": format!("{turn}-c"),
                   "command": format!("grep -rn {} src", rng.word()), "cwd": "/", "status": "completed",
                   "commandActions": []}),
        ];
        let mut projections = vec![Projection::Turn(turn_row(&id, &turn, 0))];
        for (position, payload) in items.into_iter().enumerate() {
            projections.push(Projection::Item(ItemRow {
                id: payload["id"].as_str().unwrap_or_default().to_owned(),
                thread_id: id.clone(),
                turn_id: turn.clone(),
                position: position as i64,
                kind: payload["type"].as_str().unwrap_or_default().to_owned(),
                payload,
            }));
        }
        store
            .commit(&CommitBatch {
                thread: row,
                events: vec![NewEvent {
                    seq: 1,
                    kind: "thread/started".into(),
                    payload: json!({"thread": {"id": id}, "seq": 1}).to_string(),
                    created_at: now,
                }],
                projections,
            })
            .await?;
    }
    store.close().await;
    Ok(big)
}

/// A UUIDv7-shaped id that sorts by `n` (thread ids sort by creation).
fn uuid_like(n: usize) -> String {
    format!("01900000-0000-7000-8000-{n:012}")
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}
