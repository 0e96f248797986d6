//! `make demo`: one daemon, one scripted model, and the three thin clients on it, no API key.
//!
//! Starts the real `mock-llm --demo` (a scripted model server whose first answer is a `shell`
//! call) and the real `agentd` wired to it over WebSocket, with `approval_policy = "untrusted"`
//! so that call needs a client's approval. Then:
//!
//! 1. the TypeScript SDK (`clients/typescript/examples/demo.mjs`) starts a thread in a temporary
//!    workspace, runs one turn, prints what streams in and accepts the approval (without Node,
//!    a small built-in Rust client does the same, so the thread still exists for the others);
//! 2. it prints the web page's address (`clients/web`, served by the daemon itself);
//! 3. `agentd exec --connect …` runs one turn as a CI job would, its answer on stdout;
//! 4. on a terminal it runs `agentd-tui` against the same daemon, in the foreground, and shuts
//!    everything down when the TUI exits; otherwise (CI, pipes) it prints the TUI's command line
//!    and exits, unless `--keep-running` asks it to wait for Ctrl-C.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, SystemTime};

use agentd_tests::{Agentd, Client, Options};
use anyhow::{bail, Context, Result};
use clap::Parser;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// The prompt both demo clients send (the mock ignores it; a real model would not).
const PROMPT: &str = "Say hello, then show me what is in this workspace.";

/// How long the scripted turn may take, the TypeScript SDK build excluded.
const TURN_TIMEOUT: Duration = Duration::from_secs(90);

/// Runs a scripted agentd session and shows it in the TypeScript, web and terminal clients.
#[derive(Parser, Debug)]
#[command(name = "agentd-demo")]
struct Args {
    /// Without a terminal, keep the daemon running (until Ctrl-C) so the web page and the TUI
    /// command it prints can still be used.
    #[arg(long)]
    keep_running: bool,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let bin_dir = std::env::current_exe()?
        .parent()
        .context("no binary directory")?
        .to_path_buf();
    let repo_root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("tests/ has no parent directory")?
        .to_path_buf();

    // `kill_on_drop`: every process started here ends when `main` returns, whichever way.
    let mut mock = Command::new(bin_dir.join("mock-llm"))
        .arg("--demo")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting mock-llm (run `cargo build --workspace --bins` first)")?;
    let stdout = mock.stdout.take().context("mock-llm has no stdout")?;
    let base_url = BufReader::new(stdout)
        .lines()
        .next_line()
        .await?
        .context("mock-llm printed no address")?;

    if std::env::var_os("AGENTD_BIN").is_none() {
        std::env::set_var("AGENTD_BIN", bin_dir.join("agentd"));
    }
    // `untrusted` asks a client before any command not known to be read-only, so the scripted
    // `shell` call shows an approval; no sandbox, because the model is a script and the demo
    // must not depend on the host's sandboxing support.
    let daemon = Agentd::start(
        Options::default()
            .mock_provider(&base_url, "responses")
            .policies("untrusted", "danger-full-access"),
    )
    .await?;
    let ws_url = daemon.ws_url();
    let token = daemon
        .token()
        .context("agentd printed no one-time token")?
        .to_owned();
    let workspace = tempfile::Builder::new()
        .prefix("agentd-demo-")
        .tempdir()
        .context("creating the demo workspace")?;
    let cwd = workspace.path().display().to_string();

    heading("agentd and a scripted model");
    println!("mock model   {base_url}");
    println!("agentd       {ws_url}  (token {token}; data in a temporary directory)");
    println!("workspace    {cwd}");

    heading("1. TypeScript SDK: one streamed turn (clients/typescript/examples/demo.mjs)");
    let sdk_dir = repo_root.join("clients").join("typescript");
    match node_version().await {
        Some(version) => {
            ensure_sdk_built(&sdk_dir, &repo_root).await?;
            println!("(node {version})\n");
            run_ts_demo(&sdk_dir, &ws_url, &token, &cwd).await?;
        }
        None => {
            println!(
                "Node.js not found: skipping the TypeScript client (install Node >= 18 to see \
                 it).\nThe built-in Rust client runs the same turn instead.\n"
            );
            let mut client = daemon.client("agentd-demo").await?;
            tokio::time::timeout(TURN_TIMEOUT, rust_turn(&mut client, &cwd))
                .await
                .context("the demo turn did not finish in time")??;
        }
    }

    heading("2. Web page (clients/web, served by the daemon)");
    // `?thread=ID` makes the page open the demo's thread instead of only listing it.
    let thread_id = demo_thread(&daemon, &cwd).await?;
    let open_thread = match &thread_id {
        Some(id) => format!("?thread={id}"),
        None => String::new(),
    };
    let web_url = format!("{}/{open_thread}#token={token}", daemon.http_base());
    println!("Open {web_url}");
    println!("in a browser: it shows the thread above and follows it live, whichever client");
    println!("acts on it, and can answer approvals and send prompts of its own.");

    heading("3. agentd exec: one turn from a script, the answer on stdout");
    run_exec_demo(&bin_dir, &ws_url, &token, &cwd).await?;

    heading("4. Terminal client (clients/tui)");
    let tui = bin_dir.join("agentd-tui");
    let thread_arg: Vec<String> = match &thread_id {
        Some(id) => vec!["--thread".into(), id.clone()],
        None => Vec::new(),
    };
    let tui_command = format!(
        "{} --connect {ws_url} --token {token} --cwd {cwd} {}",
        tui.display(),
        thread_arg.join(" ")
    );
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    if interactive && tui.is_file() {
        println!("Starting: {tui_command}");
        println!("It opens on the thread the TypeScript client made: type more prompts; Ctrl-Q");
        println!("quits the TUI and ends the demo. Press Enter to start.");
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("reading the terminal")?;
        // The token goes through the environment (which the TUI reads as well), not argv,
        // where other users of the machine could read it for as long as the TUI runs.
        let status = Command::new(&tui)
            .args(["--connect", &ws_url, "--cwd", &cwd])
            .args(&thread_arg)
            .env("AGENTD_TOKEN", &token)
            .status()
            .await
            .with_context(|| format!("running {}", tui.display()))?;
        if !status.success() {
            eprintln!("agentd-tui exited with {status}");
        }
    } else {
        if !tui.is_file() {
            println!("agentd-tui is not built yet: `cargo build -p agentd-tui`.");
        } else if !interactive {
            println!("Not a terminal, so the TUI is not started. In a terminal, run:");
        }
        println!("  {tui_command}");
        if args.keep_running {
            println!("\nThe daemon keeps running until Ctrl-C.");
            tokio::signal::ctrl_c()
                .await
                .context("waiting for Ctrl-C")?;
        } else {
            println!(
                "(this daemon stops when the demo exits: `make demo` in a terminal starts the TUI \
                 for you, and\n`./target/debug/agentd-demo --keep-running` keeps the daemon up \
                 for the web page and the TUI)"
            );
        }
    }

    println!("\nagentd-demo: shutting down the daemon and the mock model.");
    drop(daemon);
    drop(mock);
    Ok(())
}

/// The thread step 1 made (the newest one in the workspace), asked of the daemon because the
/// TypeScript client runs in another process.
async fn demo_thread(daemon: &Agentd, cwd: &str) -> Result<Option<String>> {
    let mut client = daemon.client("agentd-demo").await?;
    let list = client
        .call("thread/list", json!({ "cwd": cwd, "limit": 1 }))
        .await?;
    client.close();
    Ok(list["data"][0]["id"].as_str().map(str::to_owned))
}

/// A section title, bold on a terminal.
fn heading(title: &str) {
    if std::io::stdout().is_terminal() {
        println!("\n\x1b[1m== {title}\x1b[0m\n");
    } else {
        println!("\n== {title}\n");
    }
}

/// `node --version`, or `None` when Node is not installed (the demo then skips the SDK).
async fn node_version() -> Option<String> {
    let out = Command::new("node")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .await
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Builds the SDK into `dist/` when it is missing or older than its sources or the generated
/// protocol bindings it copies in (`schema/typescript`), so the demo never runs stale code.
/// Installs its dev dependencies (TypeScript) first if `node_modules` is missing.
async fn ensure_sdk_built(sdk_dir: &Path, repo_root: &Path) -> Result<()> {
    if !sdk_dir.join("node_modules").is_dir() {
        println!("installing the SDK's build dependencies (npm ci in clients/typescript)…");
        run_npm(sdk_dir, &["ci", "--no-audit", "--no-fund"]).await?;
    }
    let built = modified(&sdk_dir.join("dist").join("src").join("node.js"));
    let sources = [
        sdk_dir.join("src"),
        sdk_dir.join("package.json"),
        sdk_dir.join("tsconfig.json"),
        repo_root.join("schema").join("typescript"),
    ];
    let newest_source = sources.iter().filter_map(|p| newest_modified(p)).max();
    let fresh = matches!((built, newest_source), (Some(b), Some(s)) if b >= s);
    if !fresh {
        println!("building the SDK (npm run build in clients/typescript)…");
        run_npm(sdk_dir, &["run", "build"]).await?;
    }
    Ok(())
}

/// Runs `npm ARGS` in `dir`, showing its output only if it fails.
async fn run_npm(dir: &Path, args: &[&str]) -> Result<()> {
    let out = Command::new("npm")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .await
        .with_context(|| format!("running npm {} (is npm installed?)", args.join(" ")))?;
    if !out.status.success() {
        std::io::stderr().write_all(&out.stdout)?;
        std::io::stderr().write_all(&out.stderr)?;
        bail!(
            "npm {} in {} failed with {}",
            args.join(" "),
            dir.display(),
            out.status
        );
    }
    Ok(())
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The latest modification time of `path` or anything below it.
fn newest_modified(path: &Path) -> Option<SystemTime> {
    let own = modified(path);
    let Ok(entries) = std::fs::read_dir(path) else {
        return own;
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| newest_modified(&e.path()))
        .chain(own)
        .max()
}

/// Runs the SDK demo script with inherited stdout/stderr; the token travels in the environment.
async fn run_ts_demo(sdk_dir: &Path, ws_url: &str, token: &str, cwd: &str) -> Result<()> {
    let script: PathBuf = ["examples", "demo.mjs"].iter().collect();
    let mut child = Command::new("node")
        .arg(&script)
        .arg(ws_url)
        .arg(PROMPT)
        .current_dir(sdk_dir)
        .env("AGENTD_TOKEN", token)
        .env("AGENTD_CWD", cwd)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting node examples/demo.mjs")?;
    let status = tokio::time::timeout(TURN_TIMEOUT, child.wait())
        .await
        .context("the TypeScript demo did not finish in time")?
        .context("waiting for node")?;
    if !status.success() {
        bail!("the TypeScript demo (clients/typescript/examples/demo.mjs) failed with {status}");
    }
    Ok(())
}

/// The same turn as `demo.mjs`, for machines without Node: prints what streams in and accepts
/// every approval request.
async fn rust_turn(client: &mut Client, cwd: &str) -> Result<()> {
    let dim = |s: &str| {
        if std::io::stdout().is_terminal() {
            format!("\x1b[2m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    };
    let thread = client.start_thread(json!({ "cwd": cwd })).await?;
    println!("[rust-demo] thread {thread} in {cwd}\n\n> {PROMPT}\n");
    let turn = client.start_turn(&thread, PROMPT).await?;
    loop {
        let msg = client.next_message(Duration::from_secs(30)).await?;
        let method = msg["method"].as_str().unwrap_or_default();
        let p = &msg["params"];
        let text = |key: &str| p[key].as_str().unwrap_or_default().to_owned();
        match method {
            "item/commandExecution/requestApproval" | "item/fileChange/requestApproval"
                if msg.get("id").is_some() =>
            {
                println!(
                    "\n[approval] {} -> accept (answered by the Rust client)",
                    p["command"].as_str().unwrap_or("a file change")
                );
                client.respond(&msg, json!({ "decision": "accept" }))?;
            }
            "item/agentMessage/delta" => print!("{}", text("delta")),
            "item/reasoning/summaryTextDelta" | "item/commandExecution/outputDelta" => {
                print!("{}", dim(&text("delta")))
            }
            "item/started" if p["item"]["type"] == "commandExecution" => {
                println!(
                    "\n\n$ {}",
                    p["item"]["command"].as_str().unwrap_or_default()
                );
            }
            "item/completed" => completed_item(&p["item"]),
            "turn/completed" if p["turn"]["id"] == turn.as_str() => {
                println!(
                    "\n\n[rust-demo] turn {turn} {}; thread {thread} is at seq {}",
                    p["turn"]["status"].as_str().unwrap_or_default(),
                    p["seq"]
                );
                return Ok(());
            }
            _ => {}
        }
        std::io::stdout().flush()?;
    }
}

/// What the Rust client prints when an item completes: the end of a reasoning block, or a
/// command's exit code.
fn completed_item(item: &Value) {
    match item["type"].as_str() {
        Some("reasoning") => println!("\n"),
        Some("commandExecution") => println!(
            "[exit {}, {}]\n",
            item["exitCode"],
            item["status"].as_str().unwrap_or_default()
        ),
        _ => {}
    }
}

/// `agentd exec --connect …`: what a CI job runs. Its progress goes to stderr, the answer to
/// stdout; both are shown as they come.
async fn run_exec_demo(bin_dir: &Path, ws_url: &str, token: &str, cwd: &str) -> Result<()> {
    let prompt = "Summarise what is in this directory.";
    println!("$ agentd exec --connect {ws_url} --cd {cwd} \"{prompt}\"\n");
    let status = Command::new(bin_dir.join("agentd"))
        .args([
            "exec",
            "--connect",
            ws_url,
            "--token",
            token,
            "--cd",
            cwd,
            prompt,
        ])
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .status();
    let status = tokio::time::timeout(TURN_TIMEOUT, status)
        .await
        .context("agentd exec did not finish in time")??;
    println!("\n(exit status {})", status.code().unwrap_or(-1));
    Ok(())
}
