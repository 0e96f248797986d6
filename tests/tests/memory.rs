//! Persistent memory against the mock model: a thread states a fact, `memory/rebuild` mines it
//! (the extraction request carries the history with a planted secret redacted, asks for JSON
//! by schema), consolidates it, and the summary reaches the next thread of the same project
//! only; off means absent; reset forgets; a restart keeps it; a non-JSON answer is retried and
//! reported; the summary cap holds; a job whose daemon was killed is taken over after its lease.

use std::path::Path;
use std::time::Duration;

use agentd_tests::mock_llm::{MockLlm, Scripted, Step, Usage};
use agentd_tests::{Agentd, Options};
use serde_json::json;

const SECRET: &str = "sk-abcdefghijklmnopqrstuvwx0123";
const EXTRACTED: &str = r#"{"raw_memory": "- the project builds with `make ci`", "summary": "Builds with make ci.", "slug": "Build Command"}"#;

fn memory_toml(extra: &str) -> String {
    format!("[memory]\nenabled = true\n{extra}\n")
}

/// A git repository (its root is the project) and a directory elsewhere.
fn projects() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let repo = root.path().join("repo");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    std::fs::create_dir_all(repo.join("src")).unwrap();
    let other = root.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    (root, repo, other)
}

async fn daemon(mock: &MockLlm, data: &Path, toml: &str) -> Agentd {
    Agentd::start(
        Options::default()
            .mock_provider(&mock.base_url(), "responses")
            .data_dir(data)
            .config_toml(toml),
    )
    .await
    .unwrap()
}

async fn one_turn(c: &mut agentd_tests::client::Client, cwd: &Path, text: &str) -> String {
    let thread = c.start_thread(json!({ "cwd": cwd })).await.unwrap();
    let turn = c.start_turn(&thread, text).await.unwrap();
    c.until_turn_completed(&turn).await.unwrap();
    thread
}

fn instructions(mock: &MockLlm, index: usize) -> String {
    mock.requests()[index].body["instructions"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fact_is_mined_redacted_consolidated_and_reaches_only_its_project() {
    let (_root, repo, other) = projects();
    let data = tempfile::tempdir().unwrap();
    let mock = MockLlm::start(vec![
        Scripted::responses_text("noted"),
        Scripted::responses_text(EXTRACTED),
        Scripted::responses_text("- Build with `make ci`."),
        Scripted::responses_text("in the repo"),
        Scripted::responses_text("elsewhere"),
        Scripted::responses_text("after the reset"),
    ])
    .await
    .unwrap();
    let d = daemon(&mock, data.path(), &memory_toml("")).await;
    let mut c = d.client("t").await.unwrap();
    let told = format!("we build with make ci; my key is {SECRET}");
    let thread = one_turn(&mut c, &repo, &told).await;

    let done = c.call("memory/rebuild", json!({})).await.unwrap();
    assert_eq!(done, json!({"extracted": 1, "consolidated": 1}));
    let extraction = &mock.requests()[1].body;
    let sent = extraction.to_string();
    assert!(sent.contains("make ci"), "{sent}");
    assert!(
        !sent.contains(SECRET),
        "the secret reached the model: {sent}"
    );
    assert!(sent.contains("[REDACTED]"));
    assert_eq!(
        extraction["text"]["format"]["type"], "json_schema",
        "{sent}"
    );
    let updated = c.wait_for("memory/updated").await.unwrap();
    assert_eq!(updated["params"]["project"], repo.display().to_string());

    let read = c
        .call("memory/read", json!({ "cwd": repo.join("src") }))
        .await
        .unwrap();
    assert_eq!(read["summary"], "- Build with `make ci`.");
    assert_eq!(read["memories"][0]["threadId"], thread.as_str());
    assert_eq!(read["memories"][0]["slug"], "build-command");
    let exported = data
        .path()
        .join("memory")
        .join(
            repo.display()
                .to_string()
                .trim_matches('/')
                .replace('/', "_"),
        )
        .join("memory_summary.md");
    assert!(std::fs::read_to_string(&exported)
        .unwrap()
        .contains("make ci"));

    one_turn(&mut c, &repo.join("src"), "what now?").await;
    let with = instructions(&mock, 3);
    assert!(with.contains("make ci"), "{with}");
    one_turn(&mut c, &other, "and here?").await;
    assert!(!instructions(&mock, 4).contains("make ci"));

    c.call("memory/reset", json!({ "cwd": repo }))
        .await
        .unwrap();
    let read = c.call("memory/read", json!({ "cwd": repo })).await.unwrap();
    assert_eq!(read["summary"], "");
    assert_eq!(read["memories"], json!([]));
    assert!(!exported.exists());
    one_turn(&mut c, &repo, "forgotten?").await;
    assert!(!instructions(&mock, 5).contains("make ci"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_by_default_and_nothing_is_added() {
    let (_root, repo, _other) = projects();
    let data = tempfile::tempdir().unwrap();
    let mock = MockLlm::start(vec![Scripted::responses_text("ok")])
        .await
        .unwrap();
    let d = daemon(&mock, data.path(), "").await;
    let mut c = d.client("t").await.unwrap();
    one_turn(&mut c, &repo, "hello").await;
    let refused = c.request("memory/rebuild", json!({})).await.unwrap();
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
    let read = c.call("memory/read", json!({})).await.unwrap();
    assert_eq!(read["enabled"], false);
    assert_eq!(mock.requests().len(), 1, "no memory job asked the model");
    assert!(!instructions(&mock, 0).contains("Memory"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_survives_a_restart() {
    let (_root, repo, _other) = projects();
    let data = tempfile::tempdir().unwrap();
    let mock = MockLlm::start(vec![
        Scripted::responses_text("noted"),
        Scripted::responses_text(EXTRACTED),
        Scripted::responses_text("- Build with `make ci`."),
        Scripted::responses_text("after the restart"),
    ])
    .await
    .unwrap();
    let d = daemon(&mock, data.path(), &memory_toml("")).await;
    let mut c = d.client("t").await.unwrap();
    one_turn(&mut c, &repo, "we build with make ci").await;
    c.call("memory/rebuild", json!({})).await.unwrap();
    d.terminate().await.unwrap();

    let d = daemon(&mock, data.path(), &memory_toml("")).await;
    let mut c = d.client("t").await.unwrap();
    let read = c.call("memory/read", json!({ "cwd": repo })).await.unwrap();
    assert_eq!(read["summary"], "- Build with `make ci`.");
    one_turn(&mut c, &repo, "again").await;
    assert!(instructions(&mock, 3).contains("make ci"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_json_answer_is_retried_then_reported_and_the_summary_cap_holds() {
    let (_root, repo, other) = projects();
    let data = tempfile::tempdir().unwrap();
    let long = "- a remembered point that goes on and on\n".repeat(200);
    let mock = MockLlm::start(vec![
        Scripted::responses_text("noted"),
        Scripted::responses_text("noted too"),
        // The first thread mined (the newest: `other`) answers prose three times.
        Scripted::responses_text("I think the user likes tabs"),
        Scripted::responses_text(EXTRACTED),
        Scripted::responses_text("still not json"),
        Scripted::responses_text("no json here either"),
        Scripted::responses_text(&long),
    ])
    .await
    .unwrap();
    let d = daemon(
        &mock,
        data.path(),
        &memory_toml("max_summary_tokens = 20\nconcurrency = 1"),
    )
    .await;
    let mut c = d.client("t").await.unwrap();
    one_turn(&mut c, &repo, "one").await;
    one_turn(&mut c, &other, "two").await;
    let done = c.call("memory/rebuild", json!({})).await.unwrap();
    assert_eq!(done, json!({"extracted": 1, "consolidated": 1}), "{done}");
    assert_eq!(
        mock.requests().len(),
        7,
        "three tries for the bad thread, one for the good"
    );

    let read = c.call("memory/read", json!({})).await.unwrap();
    let errors = read["errors"].to_string();
    assert!(errors.contains("not the JSON asked for"), "{read}");
    let summary = read["summary"].as_str().unwrap();
    assert!(
        summary.len() <= 20 * 3 + 200,
        "cap broken: {} bytes",
        summary.len()
    );
    let own = c.call("memory/read", json!({ "cwd": repo })).await.unwrap();
    assert!(own["summary"].as_str().unwrap().len() <= 60, "{own}");

    // Out of attempts: a later rebuild leaves the thread alone until it changes.
    let again = c.call("memory/rebuild", json!({})).await.unwrap();
    assert_eq!(again["extracted"], 0);
    assert_eq!(mock.requests().len(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_daemon_was_killed_is_taken_over_after_its_lease() {
    let (_root, repo, _other) = projects();
    let data = tempfile::tempdir().unwrap();
    let stalled = Scripted::responses(vec![
        Step::created(),
        Step::Stall(Duration::from_secs(30)),
        Step::completed(Usage::default()),
    ]);
    let mock = MockLlm::start(vec![
        Scripted::responses_text("noted"),
        stalled,
        Scripted::responses_text(EXTRACTED),
        Scripted::responses_text("- Build with `make ci`."),
    ])
    .await
    .unwrap();
    let toml = memory_toml("lease_secs = 10");
    let d = daemon(&mock, data.path(), &toml).await;
    let mut c = d.client("t").await.unwrap();
    one_turn(&mut c, &repo, "we build with make ci").await;
    c.send_raw(r#"{"id": 99, "method": "memory/rebuild", "params": {}}"#)
        .unwrap();
    while mock.requests().len() < 2 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let killed_at = std::time::Instant::now();
    d.kill().await.unwrap();

    let d = daemon(&mock, data.path(), &toml).await;
    let mut c = d.client("t").await.unwrap();
    let early = c.call("memory/rebuild", json!({})).await.unwrap();
    assert!(
        killed_at.elapsed() < Duration::from_secs(10),
        "the restart outlasted the lease; raise lease_secs"
    );
    assert_eq!(early["extracted"], 0, "the dead daemon's lease still holds");
    tokio::time::sleep(Duration::from_secs(10).saturating_sub(killed_at.elapsed())).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let late = c.call("memory/rebuild", json!({})).await.unwrap();
    assert_eq!(late, json!({"extracted": 1, "consolidated": 1}));
    let read = c.call("memory/read", json!({ "cwd": repo })).await.unwrap();
    assert_eq!(read["summary"], "- Build with `make ci`.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_chat_provider_extracts_and_consolidates_too() {
    let (_root, repo, _other) = projects();
    let data = tempfile::tempdir().unwrap();
    let mock = MockLlm::start(vec![
        Scripted::chat_text("noted"),
        Scripted::chat_text(EXTRACTED),
        Scripted::chat_text("- Build with `make ci`."),
    ])
    .await
    .unwrap();
    let d = Agentd::start(
        Options::default()
            .mock_provider(&mock.base_url(), "chat")
            .data_dir(data.path())
            .config_toml(memory_toml("")),
    )
    .await
    .unwrap();
    let mut c = d.client("t").await.unwrap();
    one_turn(&mut c, &repo, "we build with make ci").await;
    let done = c.call("memory/rebuild", json!({})).await.unwrap();
    assert_eq!(done, json!({"extracted": 1, "consolidated": 1}));
    let extraction = &mock.requests()[1].body;
    assert_eq!(
        extraction["response_format"]["type"], "json_schema",
        "structured output on the chat wire: {extraction}"
    );
    let read = c.call("memory/read", json!({ "cwd": repo })).await.unwrap();
    assert_eq!(read["summary"], "- Build with `make ci`.");
}
