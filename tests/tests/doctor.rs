//! `agentd doctor`: one line per check with a fix for what is wrong; exit 0 when everything a
//! turn needs is fine; `--json` for scripts.

use agentd_tests::harness::agentd_command;
use agentd_tests::mock_llm::{MockLlm, Scripted};
use agentd_tests::turns::mock_provider_settings;
use serde_json::Value;

struct Doctor {
    code: Option<i32>,
    stdout: String,
}

fn doctor(config_toml: &str, extra: &[&str]) -> Doctor {
    let temp = tempfile::tempdir().unwrap();
    let config_home = temp.path().join("config");
    std::fs::create_dir_all(config_home.join("agentd")).unwrap();
    std::fs::write(config_home.join("agentd").join("config.toml"), config_toml).unwrap();
    let out = agentd_command(&config_home)
        .unwrap()
        .arg("doctor")
        .args([
            "--data-dir",
            &temp.path().join("data").display().to_string(),
        ])
        .args(["--listen", "ws://127.0.0.1:0"])
        .args(extra)
        .env_remove("OPENAI_API_KEY")
        .current_dir(temp.path())
        .output()
        .unwrap();
    Doctor {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
    }
}

fn mock_config(base_url: &str) -> String {
    mock_provider_settings(base_url, "responses")
        .into_iter()
        .map(|kv| kv + "\n")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reachable_provider_passes_and_the_report_is_json_on_request() {
    let mock = MockLlm::start(vec![Scripted::responses_text("unused")])
        .await
        .unwrap();
    let d = doctor(&mock_config(&mock.base_url()), &[]);
    assert_eq!(d.code, Some(0), "{}", d.stdout);
    assert!(d.stdout.contains("✓ provider mock:"), "{}", d.stdout);
    assert!(d.stdout.contains("✓ config:"), "{}", d.stdout);
    assert!(d.stdout.contains("✓ data directory:"), "{}", d.stdout);
    let d = doctor(&mock_config(&mock.base_url()), &["--json"]);
    let report: Value = serde_json::from_str(d.stdout.trim()).unwrap();
    assert_eq!(report["ok"], true);
    let names: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for expected in [
        "config",
        "data directory",
        "token file",
        "sandbox",
        "provider mock",
        "instructions",
        "port",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    // A tiny request (the model list), never a model call.
    assert!(mock.requests().is_empty());
}

#[test]
fn a_provider_that_is_down_fails_with_its_address_and_what_to_do() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let d = doctor(&mock_config(&format!("http://127.0.0.1:{port}/v1")), &[]);
    assert_eq!(d.code, Some(1), "{}", d.stdout);
    let line = d
        .stdout
        .lines()
        .find(|l| l.starts_with("✗ provider mock:"))
        .unwrap_or_else(|| panic!("{}", d.stdout));
    assert!(line.contains(&format!("127.0.0.1:{port}")), "{line}");
    assert!(
        d.stdout.contains("model_provider = \"ollama\""),
        "{}",
        d.stdout
    );
}

#[test]
fn a_config_error_names_the_key_and_fails() {
    let d = doctor("approval_policy = \"sometimes\"\n", &[]);
    assert_eq!(d.code, Some(1), "{}", d.stdout);
    let line = d.stdout.lines().next().unwrap();
    assert!(line.starts_with("✗ config:"), "{line}");
    assert!(line.contains("approval_policy"), "{line}");
}

#[test]
fn a_missing_key_says_which_variable_and_never_prints_a_secret() {
    let d = doctor("", &[]);
    assert_eq!(d.code, Some(1), "{}", d.stdout);
    assert!(
        d.stdout.contains("OPENAI_API_KEY is not set"),
        "{}",
        d.stdout
    );
    let secret = "sk-do-not-print-me";
    let temp = tempfile::tempdir().unwrap();
    let out = agentd_command(temp.path())
        .unwrap()
        .args([
            "doctor",
            "--data-dir",
            &temp.path().join("d").display().to_string(),
        ])
        .args(["--listen", "ws://127.0.0.1:0", "--timeout-secs", "1"])
        .args([
            "-c",
            "model_providers.openai.base_url=\"http://127.0.0.1:9/v1\"",
        ])
        .env("OPENAI_API_KEY", secret)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains(secret), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_servers_are_started_listed_and_stopped() {
    let mock = MockLlm::start(vec![Scripted::responses_text("unused")])
        .await
        .unwrap();
    let bin = agentd_tests::mcp::mock_mcp_bin()
        .unwrap()
        .display()
        .to_string();
    let servers = format!(
        "{}[mcp_servers.good]\ncommand = {bin:?}\nargs = [\"stdio\"]\n\n\
         [mcp_servers.broken]\ncommand = {bin:?}\nargs = [\"stdio\", \"--mode\", \"exit-at-start\"]\n",
        mock_config(&mock.base_url())
    );
    let d = doctor(&servers, &[]);
    assert_eq!(
        d.code,
        Some(0),
        "an optional server's failure is a warning: {}",
        d.stdout
    );
    assert!(
        d.stdout.contains("✓ MCP server good: started (mock-mcp"),
        "{}",
        d.stdout
    );
    assert!(d.stdout.contains("tools offered"), "{}", d.stdout);
    assert!(
        d.stdout
            .contains("! MCP server broken: the server exited during start-up"),
        "{}",
        d.stdout
    );
    let required = servers.replace("exit-at-start\"]\n", "exit-at-start\"]\nrequired = true\n");
    let d = doctor(&required, &[]);
    assert_eq!(d.code, Some(1), "{}", d.stdout);
    assert!(d.stdout.contains("✗ MCP server broken"), "{}", d.stdout);
}

/// With `store` set, the shared database is checked: reachable and its schema, or down (a
/// failure naming the URL without its password, and how to fix it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_store_is_checked_when_configured() {
    let mock = MockLlm::start(vec![Scripted::responses_text("unused")])
        .await
        .unwrap();
    let pg = agentd_tests::postgres::TestPostgres::start().unwrap();
    let url = pg.create_database("doctor").await.unwrap();
    let config = format!("{}store = \"{url}\"\n", mock_config(&mock.base_url()));
    let d = doctor(&config, &[]);
    assert_eq!(d.code, Some(0), "{}", d.stdout);
    assert!(
        d.stdout.contains("✓ shared store:") && d.stdout.contains("tables made at the first start"),
        "{}",
        d.stdout
    );
    // With a daemon on it holding a thread.
    let daemon = agentd_tests::Agentd::start(
        agentd_tests::Options::default()
            .mock_provider(&mock.base_url(), "responses")
            .arg("--store")
            .arg(&url),
    )
    .await
    .unwrap();
    let mut client = daemon.client("c").await.unwrap();
    client.start_thread(serde_json::json!({})).await.unwrap();
    let d = doctor(&config, &[]);
    assert!(
        d.stdout
            .contains("schema version 1, 1 daemon(s) holding threads now"),
        "{}",
        d.stdout
    );
    drop(client);
    daemon.kill().await.unwrap();
    pg.stop().unwrap();
    let with_password = url.replacen("agentd@", "agentd:s3cret@", 1);
    let config = format!(
        "{}store = \"{with_password}\"\n",
        mock_config(&mock.base_url())
    );
    let d = doctor(&config, &["--timeout-secs", "2"]);
    assert_ne!(d.code, Some(0), "{}", d.stdout);
    assert!(d.stdout.contains("✗ shared store:"), "{}", d.stdout);
    assert!(
        !d.stdout.contains("s3cret"),
        "the password is not printed: {}",
        d.stdout
    );
}
