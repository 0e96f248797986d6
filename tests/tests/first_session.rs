//! The first ten minutes: `serve` says where the token and the web page are, `agentd client`
//! talks to it with nothing else installed, and a turn without a model says what to do.

use agentd_tests::harness::agentd_command;
use agentd_tests::{Agentd, Options};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_prints_the_web_page_and_the_token_file_and_client_uses_them() {
    let mut d = Agentd::start(Options::default()).await.unwrap();
    let token = d.token().unwrap().to_owned();
    let mut lines = Vec::new();
    while lines.len() < 2 {
        lines.push(d.stderr.recv().await.unwrap());
    }
    let web = format!("web page: {}/#token={token}", d.http_base());
    assert_eq!(lines[0], web);
    let token_path = d.runtime_dir().join("agentd").join("token");
    assert!(
        lines[1].starts_with(&format!("token file: {}", token_path.display())),
        "{lines:?}"
    );
    assert_eq!(std::fs::read_to_string(&token_path).unwrap().trim(), token);

    // `agentd token path` gives the same file; `agentd client` reads it on its own.
    let path = agentd_command(d.config_home())
        .unwrap()
        .args([
            "token",
            "path",
            "--data-dir",
            &d.data_dir.display().to_string(),
        ])
        .env("XDG_RUNTIME_DIR", d.runtime_dir())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&path.stdout).trim(),
        token_path.display().to_string()
    );
    let mut client = agentd_command(d.config_home()).unwrap();
    client
        .args(["client", "--connect", &d.ws_url()])
        .env("XDG_RUNTIME_DIR", d.runtime_dir())
        .env_remove("AGENTD_TOKEN")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = client.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            b"{\"id\":1,\"method\":\"initialize\",\"params\":{\"clientInfo\":{\"name\":\"me\",\"version\":\"1\"}}}\n\
              {\"id\":2,\"method\":\"thread/start\",\"params\":{\"cwd\":null}}\n",
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let messages: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m["id"] == 2 && m["result"]["thread"]["id"].is_string()),
        "{text}"
    );
    assert!(
        messages.iter().any(|m| m["method"] == "thread/started"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_without_a_model_says_what_to_do() {
    let d = Agentd::start(Options::default().env("OPENAI_API_KEY", ""))
        .await
        .unwrap();
    let mut c = d.client("t").await.unwrap();
    let thread = c.start_thread(serde_json::json!({})).await.unwrap();
    let turn = c.start_turn(&thread, "hello").await.unwrap();
    let events = c.until_turn_completed(&turn).await.unwrap();
    let error = events.last().unwrap()["params"]["turn"]["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    for needed in [
        "OPENAI_API_KEY",
        "model_provider = \"ollama\"",
        "llamacpp",
        "make demo",
    ] {
        assert!(error.contains(needed), "{needed} missing from: {error}");
    }
    // The README says the same.
    let readme = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"),
    )
    .unwrap();
    assert!(readme.contains("model_provider = \"ollama\"   # or \"lmstudio\", \"llamacpp\""));
}
