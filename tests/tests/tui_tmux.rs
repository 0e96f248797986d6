//! `agentd-tui` end to end: the real binary in a real terminal (tmux), driven by keys
//! (`send-keys`) and read off the screen (`capture-pane`), against the real daemon and the mock
//! model — a full turn with an approval over WebSocket, and a turn over a spawned stdio daemon.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use agentd_tests::harness::agentd_bin;
use agentd_tests::mock_llm::{MockLlm, Scripted, Step, Usage};
use agentd_tests::tools::ToolRig;
use agentd_tests::turns::mock_provider_settings;
use agentd_tests::{Agentd, Client, Options};
use anyhow::{bail, Context, Result};
use serde_json::json;

const SCREEN_WAIT: Duration = Duration::from_secs(20);

fn tui_bin() -> Result<PathBuf> {
    let bin = agentd_bin()?
        .parent()
        .context("agentd has no directory")?
        .join("agentd-tui");
    if !bin.is_file() {
        bail!(
            "{} is missing: run `cargo build --workspace --bins`",
            bin.display()
        );
    }
    Ok(bin)
}

/// One detached tmux server of our own (its own socket), killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// Runs `command` (a shell line) in a `width`×`height` terminal.
    fn start(command: &str, width: u16, height: u16) -> Result<Tmux> {
        static N: AtomicUsize = AtomicUsize::new(0);
        let socket = format!(
            "agentd-tui-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let tmux = Tmux { socket };
        let (w, h) = (width.to_string(), height.to_string());
        tmux.run(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "tui",
            "-x",
            &w,
            "-y",
            &h,
            command,
        ])
        .context("tmux is required for this test (apt-get install tmux; .ci/run installs it)")?;
        Ok(tmux)
    }

    fn run(&self, args: &[&str]) -> Result<String> {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .with_context(|| format!("running tmux {args:?}"))?;
        if !out.status.success() {
            bail!(
                "tmux {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Types `text` literally.
    fn type_text(&self, text: &str) -> Result<()> {
        self.run(&["send-keys", "-t", "tui", "-l", text]).map(drop)
    }

    /// Presses keys by tmux name (`Enter`, `C-q`, `y`).
    fn keys(&self, keys: &[&str]) -> Result<()> {
        let mut args = vec!["send-keys", "-t", "tui"];
        args.extend_from_slice(keys);
        self.run(&args).map(drop)
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "tui"])
            .unwrap_or_else(|e| format!("(no screen: {e:#})"))
    }

    /// Waits until the screen shows every one of `texts`; returns that screen.
    async fn wait_for(&self, texts: &[&str]) -> Result<String> {
        let deadline = Instant::now() + SCREEN_WAIT;
        loop {
            let screen = self.screen();
            if texts.iter().all(|t| screen.contains(t)) {
                return Ok(screen);
            }
            if Instant::now() > deadline {
                bail!("the screen never showed {texts:?}; it shows:\n{screen}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

/// `'text'` for a shell line.
fn quoted(text: impl AsRef<str>) -> String {
    format!("'{}'", text.as_ref().replace('\'', r"'\''"))
}

/// Runs `line` then writes its exit status to `exit_file`, so the test can see how it ended.
fn recording_exit(line: &str, exit_file: &Path) -> String {
    format!(
        "{line}; echo $? > {}",
        quoted(exit_file.display().to_string())
    )
}

async fn exit_status(exit_file: &Path) -> Result<String> {
    let deadline = Instant::now() + SCREEN_WAIT;
    loop {
        if let Ok(text) = std::fs::read_to_string(exit_file) {
            if !text.is_empty() {
                return Ok(text.trim().to_string());
            }
        }
        if Instant::now() > deadline {
            bail!("agentd-tui did not exit");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Subscribes `client` to the one thread the TUI made; returns its id.
async fn attach_to_only_thread(client: &mut Client) -> String {
    let threads = client.call("thread/list", json!({})).await.unwrap();
    let thread_id = threads["data"][0]["id"].as_str().unwrap().to_string();
    client
        .call("thread/resume", json!({"threadId": thread_id}))
        .await
        .unwrap();
    thread_id
}

fn one_response(steps: Vec<Step>) -> Scripted {
    let mut all = vec![Step::created()];
    all.extend(steps);
    all.push(Step::completed(Usage::default()));
    Scripted::responses(all)
}

fn shell_call(argv: &[&str]) -> Step {
    Step::function_call("call-1", "shell", &json!({ "command": argv }).to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_turn_with_an_approval_over_websocket() {
    let rig = ToolRig::start(
        vec![
            one_response(vec![shell_call(&[
                "sh",
                "-c",
                "echo hello from the shell | tee note.txt",
            ])]),
            Scripted::responses_text("All done: the command ran."),
        ],
        Options::default().policies("untrusted", "danger-full-access"),
    )
    .await
    .unwrap();
    let exit_file = rig.path("../tui-exit");
    let mut line = format!(
        "{} --connect {} --cwd {}",
        quoted(tui_bin().unwrap().display().to_string()),
        rig.daemon.ws_url(),
        quoted(rig.cwd()),
    );
    if let Some(token) = rig.daemon.token() {
        line.push_str(&format!(" --token {token}"));
    }
    let tmux = Tmux::start(&recording_exit(&line, &exit_file), 110, 34).unwrap();
    tmux.wait_for(&[
        "connected to agentd",
        "Message (Enter sends)",
        "No thread open.",
    ])
    .await
    .unwrap();

    tmux.type_text("please run the echo").unwrap();
    tmux.keys(&["Enter"]).unwrap();
    let prompt = tmux
        .wait_for(&[
            "Approval needed",
            "hello from the shell | tee note.txt",
            "[y] yes",
        ])
        .await
        .unwrap();
    assert!(prompt.contains("Run this command?"), "{prompt}");
    assert!(
        !rig.path("note.txt").exists(),
        "nothing runs before the answer"
    );

    // A second frontend on the same thread sees the approval, and who answered it.
    let mut observer = rig.client("observer").await.unwrap();
    attach_to_only_thread(&mut observer).await;
    let request = observer
        .server_request("item/commandExecution/requestApproval")
        .await
        .unwrap();
    assert_eq!(
        request["params"]["command"],
        "sh -c 'echo hello from the shell | tee note.txt'"
    );

    tmux.keys(&["y"]).unwrap();
    let done = tmux
        .wait_for(&[
            "✓ exit 0",
            "All done: the command ran.",
            "── turn completed ──",
        ])
        .await
        .unwrap();
    assert!(!done.contains("Approval needed"), "{done}");
    assert!(done.contains("› please run the echo"), "{done}");
    let output_lines = done
        .lines()
        .filter(|l| l.contains("│  hello from the shell "))
        .count();
    assert_eq!(output_lines, 1, "the output is shown once:\n{done}");

    let resolved = observer.wait_for("serverRequest/resolved").await.unwrap();
    assert_eq!(resolved["params"]["decision"], "accept");
    assert_eq!(resolved["params"]["resolvedBy"]["clientName"], "agentd-tui");
    let completed = observer.wait_for("turn/completed").await.unwrap();
    assert_eq!(completed["params"]["turn"]["status"], "completed");
    assert_eq!(
        std::fs::read_to_string(rig.path("note.txt")).unwrap(),
        "hello from the shell\n"
    );
    let sent = rig.model_saw(2, "call-1").await.unwrap();
    assert!(sent.contains("hello from the shell"), "{sent}");

    tmux.keys(&["C-q"]).unwrap();
    assert_eq!(exit_status(&exit_file).await.unwrap(), "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spawned_stdio_daemon_is_restarted_after_a_crash_and_exits_with_the_client() {
    let mock = MockLlm::start(vec![
        one_response(vec![shell_call(&["echo", "spawned and streaming"])]),
        Scripted::responses_text("Finished over stdio."),
        Scripted::responses_text("Answered by the restarted daemon."),
    ])
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (config, data, work) = (
        dir.path().join("config"),
        dir.path().join("data"),
        dir.path().join("work"),
    );
    for d in [&config, &data, &work] {
        std::fs::create_dir_all(d).unwrap();
    }
    let mut serve = vec!["--data-dir".to_string(), data.display().to_string()];
    for kv in mock_provider_settings(&mock.base_url(), "responses")
        .into_iter()
        .chain([
            "approval_policy=\"never\"".into(),
            "sandbox_mode=\"danger-full-access\"".into(),
        ])
    {
        serve.push("-c".into());
        serve.push(kv);
    }
    let serve: Vec<String> = serve.iter().map(quoted).collect();
    let line = format!(
        "env XDG_CONFIG_HOME={} {} --agentd {} --cwd {} -- {}",
        quoted(config.display().to_string()),
        quoted(tui_bin().unwrap().display().to_string()),
        quoted(agentd_bin().unwrap().display().to_string()),
        quoted(work.display().to_string()),
        serve.join(" "),
    );
    let exit_file = dir.path().join("exit");
    let tmux = Tmux::start(&recording_exit(&line, &exit_file), 100, 30).unwrap();
    tmux.wait_for(&["connected to agentd", "serve (stdio)", "No thread open."])
        .await
        .unwrap();
    tmux.type_text("stream something").unwrap();
    tmux.keys(&["Enter"]).unwrap();
    tmux.wait_for(&[
        "$ echo 'spawned and streaming'",
        "  spawned and streaming",
        "Finished over stdio.",
        "── turn completed ──",
    ])
    .await
    .unwrap();

    // The daemon dies under the client: it is started again on the same data directory, the
    // thread is caught up, and the conversation goes on.
    let pattern = format!("agentd serve --data-dir {}", data.display());
    let first = spawned_daemon(&pattern).expect("the TUI spawned a daemon");
    let killed = Command::new("kill")
        .args(["-KILL", &first.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + SCREEN_WAIT;
    while spawned_daemon(&pattern).is_none_or(|pid| pid == first) {
        assert!(Instant::now() < deadline, "no daemon was started again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The new daemon's `initialize` answer is what puts its name on the status line.
    tmux.wait_for(&["connected to agentd"]).await.unwrap();
    tmux.type_text("are you back").unwrap();
    tmux.keys(&["Enter"]).unwrap();
    let screen = tmux
        .wait_for(&["› are you back", "Answered by the restarted daemon."])
        .await
        .unwrap();
    assert_eq!(
        screen.matches("Finished over stdio.").count(),
        1,
        "{screen}"
    );
    assert_eq!(
        screen.matches("── turn completed ──").count(),
        2,
        "{screen}"
    );

    tmux.keys(&["C-q"]).unwrap();
    assert_eq!(exit_status(&exit_file).await.unwrap(), "0");

    // The spawned daemon went with the client: its data directory is free, and the turn is in it.
    let daemon = Agentd::start(Options::default().data_dir(&data))
        .await
        .unwrap();
    let mut client = daemon.client("after").await.unwrap();
    let threads = client.call("thread/list", json!({})).await.unwrap();
    assert_eq!(
        threads["data"].as_array().map(Vec::len),
        Some(1),
        "{threads}"
    );
    assert_eq!(threads["data"][0]["preview"], "stream something");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spawned_daemon_that_cannot_start_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let line = format!(
        "env XDG_CONFIG_HOME={} {} --agentd {} --cwd {} -- --config /nonexistent/agentd.toml",
        quoted(dir.path().display().to_string()),
        quoted(tui_bin().unwrap().display().to_string()),
        quoted(agentd_bin().unwrap().display().to_string()),
        quoted(dir.path().display().to_string()),
    );
    let exit_file = dir.path().join("exit");
    let tmux = Tmux::start(&recording_exit(&line, &exit_file), 140, 20).unwrap();
    tmux.wait_for(&[
        "disconnected: agentd exited: agentd: cannot read config file /nonexistent/agentd.toml",
    ])
    .await
    .unwrap();
    tmux.keys(&["C-q"]).unwrap();
    assert_eq!(exit_status(&exit_file).await.unwrap(), "0");
}

/// The pid of the process whose command line contains `pattern`, if one runs.
fn spawned_daemon(pattern: &str) -> Option<u32> {
    let out = Command::new("pgrep").args(["-f", pattern]).output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
}

/// A loopback port nothing listens on right now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_daemon_restarts_the_client_reconnects_and_misses_nothing() {
    let mock = MockLlm::start(vec![
        Scripted::responses_text("First answer."),
        Scripted::responses_text("Second answer, while the client was away."),
    ])
    .await
    .unwrap();
    let url = format!("ws://127.0.0.1:{}", free_port());
    let opts = Options::default()
        .mock_provider(&mock.base_url(), "responses")
        .listen(url.clone())
        .arg("--no-auth");
    let first = Agentd::start(opts.clone()).await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let exit_file = work.path().join("exit");
    let line = format!(
        "env -u XDG_RUNTIME_DIR -u AGENTD_TOKEN {} --connect {url} --cwd {}",
        quoted(tui_bin().unwrap().display().to_string()),
        quoted(work.path().display().to_string()),
    );
    let tmux = Tmux::start(&recording_exit(&line, &exit_file), 100, 30).unwrap();
    tmux.wait_for(&["connected to agentd"]).await.unwrap();
    tmux.type_text("first question").unwrap();
    tmux.keys(&["Enter"]).unwrap();
    tmux.wait_for(&["First answer.", "── turn completed ──"])
        .await
        .unwrap();

    let (data_dir, _keep) = first.kill().await.unwrap();
    tmux.wait_for(&["disconnected"]).await.unwrap();
    let second = Agentd::start(opts.data_dir(&data_dir)).await.unwrap();

    // Another frontend runs a turn on the thread; whether it lands before the client is back
    // (replayed from afterSeq) or after (live), the client shows it, once.
    let mut other = second.client("other").await.unwrap();
    let thread_id = attach_to_only_thread(&mut other).await;
    let turn = other
        .start_turn(&thread_id, "question from elsewhere")
        .await
        .unwrap();
    other.until_turn_completed(&turn).await.unwrap();

    let screen = tmux
        .wait_for(&[
            "connected to agentd",
            "› question from elsewhere",
            "Second answer, while the client was away.",
        ])
        .await
        .unwrap();
    assert_eq!(screen.matches("First answer.").count(), 1, "{screen}");
    assert_eq!(screen.matches("› first question").count(), 1, "{screen}");
    assert_eq!(
        screen.matches("── turn completed ──").count(),
        2,
        "{screen}"
    );
    tmux.keys(&["C-q"]).unwrap();
    assert_eq!(exit_status(&exit_file).await.unwrap(), "0");
}

/// Bad input that is found before the screen is taken over: an error on stderr, exit 1, and no
/// terminal escape sequences written.
#[test]
fn a_bad_directory_or_an_unreachable_daemon_fails_with_a_plain_error() {
    let port = free_port();
    for (args, expected) in [
        (
            vec![
                "--connect".to_string(),
                format!("ws://127.0.0.1:{port}"),
                "--cwd".into(),
                "/nonexistent/dir".into(),
            ],
            "--cwd /nonexistent/dir does not exist",
        ),
        (
            vec!["--connect".to_string(), format!("ws://127.0.0.1:{port}")],
            "connecting to ws://127.0.0.1:",
        ),
        (
            vec!["--connect".to_string(), "not a url".into()],
            "not a url is not a WebSocket URL",
        ),
    ] {
        let out = Command::new(tui_bin().unwrap())
            .args(&args)
            .env_remove("AGENTD_TOKEN")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.starts_with("agentd-tui: "), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(
            out.stdout.is_empty(),
            "the terminal was touched: {:?}",
            out.stdout
        );
    }
}
