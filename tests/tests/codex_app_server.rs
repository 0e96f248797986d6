//! `agentd app-server` is a drop-in for `codex app-server`: started with Codex's command line
//! (`-c key=value` in Codex's keys, the provider as an inline table, a key agentd does not have),
//! it serves the recorded Codex TUI session over stdio with valid answers and says on stderr
//! which keys it ignored; with `--strict-config` an unknown key stops it, named.

use std::process::Stdio;
use std::sync::{Arc, Mutex};

use agentd_tests::harness::agentd_bin;
use agentd_tests::mock_llm::{MockLlm, Scripted};
use agentd_tests::{Client, TIMEOUT};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::codex_tui_replay::{recorded_sessions, Replay};

/// `agentd app-server ARGS…` with its config and runtime directories in `dir`, run in `cwd`.
fn app_server(dir: &std::path::Path, cwd: &std::path::Path, args: &[String]) -> Command {
    let mut cmd = Command::new(agentd_bin().unwrap());
    cmd.arg("app-server")
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(args)
        .current_dir(cwd)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_RUNTIME_DIR", dir.join("run"))
        .env_remove("AGENTD_DATA_DIR")
        .kill_on_drop(true);
    cmd
}

/// Collects what `child` writes to stderr.
fn stderr_of(child: &mut Child) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let sink = text.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            let mut s = sink.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
    text
}

fn codex_flags(base_url: &str) -> Vec<String> {
    [
        "model=\"mock-model\"".to_owned(),
        "model_provider=\"mock\"".to_owned(),
        format!(
            "model_providers.mock={{ name = \"Mock\", base_url = \"{base_url}\", wire_api = \"responses\" }}"
        ),
        "some_unknown_key=1".to_owned(),
    ]
    .into_iter()
    .flat_map(|kv| ["-c".to_owned(), kv])
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_server_takes_codex_flags_and_serves_the_recorded_session_on_stdio() {
    let mock = MockLlm::start(
        (0..6)
            .map(|_| Scripted::responses_text("Hello from agentd"))
            .collect(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let sessions = recorded_sessions(home.path());
    let mut child = app_server(dir.path(), home.path(), &codex_flags(&mock.base_url()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = stderr_of(&mut child);
    let mut c = Client::over_stdio(child.stdin.take().unwrap(), child.stdout.take().unwrap());

    // The first session: start-up, the TUI's thread/start (with its config map), a text turn,
    // and the title turn on an ephemeral thread.
    let mut replay = Replay::default();
    replay.session(&mut c, &sessions[0]).await;
    for m in [
        "initialize",
        "model/list",
        "config/read",
        "thread/start",
        "turn/start",
        "thread/loaded/list",
        "skills/list",
    ] {
        assert!(replay.served.contains(m), "{m} was not served");
    }
    assert!(
        replay.validated >= 20,
        "only {} validated",
        replay.validated
    );
    let requests = mock
        .wait_for_requests(2, TIMEOUT)
        .await
        .expect("the turns reached the -c provider");
    assert_eq!(requests[0].body["model"], "mock-model");

    drop(c);
    let status = tokio::time::timeout(TIMEOUT, child.wait())
        .await
        .expect("app-server exits when stdin closes")
        .unwrap();
    assert!(status.success(), "{status}");
    let stderr = stderr.lock().unwrap().clone();
    let warning = stderr
        .lines()
        .find(|l| l.contains("ignoring config keys"))
        .unwrap_or_else(|| panic!("no warning about the unknown key: {stderr}"));
    assert!(warning.contains("some_unknown_key"), "{warning}");
    assert!(
        !warning.contains("model"),
        "known keys are not warned about: {warning}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_server_with_strict_config_refuses_an_unknown_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = codex_flags("http://127.0.0.1:9/v1");
    args.push("--strict-config".to_owned());
    let out = tokio::time::timeout(
        TIMEOUT,
        app_server(dir.path(), dir.path(), &args)
            .stdin(Stdio::null())
            .output(),
    )
    .await
    .expect("app-server --strict-config exits")
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("some_unknown_key"), "{stderr}");
    assert!(out.stdout.is_empty(), "it served nothing");

    // A malformed -c is an error too, strict or not.
    let out = app_server(dir.path(), dir.path(), &["-c".to_owned(), "=x".to_owned()])
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("=x"));
}
