//! `make demo`: a full streamed turn with no API key.
//!
//! Starts the real `mock-llm` (a scripted model server) and the real `agentd` wired to it over
//! WebSocket, then acts as a tiny client: starts a thread, sends a prompt, and prints every
//! notification as it streams in, the agent's text inline.

use std::io::Write;
use std::process::Stdio;

use agentd_tests::{Agentd, Options};
use anyhow::{Context, Result};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::main]
async fn main() -> Result<()> {
    let bin_dir = std::env::current_exe()?
        .parent()
        .context("no binary directory")?
        .to_path_buf();
    let mut mock = tokio::process::Command::new(bin_dir.join("mock-llm"))
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
    println!("mock model serving at {base_url}");

    if std::env::var_os("AGENTD_BIN").is_none() {
        std::env::set_var("AGENTD_BIN", bin_dir.join("agentd"));
    }
    let daemon = Agentd::start(Options::default().mock_provider(&base_url, "responses")).await?;
    println!(
        "agentd listening on {} (data in a temporary directory)\n",
        daemon.ws_url()
    );

    let mut client = daemon.client("agentd-demo").await?;
    let thread = client.start_thread(json!({})).await?;
    let prompt = "Say hello and explain what you are.";
    println!("> {prompt}\n");
    let turn = client.start_turn(&thread, prompt).await?;
    loop {
        let msg = client.next_message(agentd_tests::TIMEOUT).await?;
        let method = msg["method"].as_str().unwrap_or_default();
        let p = &msg["params"];
        match method {
            "item/agentMessage/delta" => {
                print!("{}", p["delta"].as_str().unwrap_or_default());
                std::io::stdout().flush()?;
            }
            "item/reasoning/summaryTextDelta" => {
                print!("\x1b[2m{}\x1b[0m", p["delta"].as_str().unwrap_or_default());
                std::io::stdout().flush()?;
            }
            "item/completed" if p["item"]["type"] == "reasoning" => println!("\n"),
            "turn/completed" if p["turn"]["id"] == turn.as_str() => {
                println!(
                    "\n\n[turn {} {} — seq {}]",
                    turn,
                    p["turn"]["status"].as_str().unwrap_or_default(),
                    p["seq"]
                );
                break;
            }
            _ => {}
        }
    }
    let read = client
        .call(
            "thread/read",
            json!({"threadId": thread, "includeTurns": true}),
        )
        .await?;
    println!(
        "the thread now holds {} turn(s) and {} events; it was persisted before you saw each one.",
        read["thread"]["turns"].as_array().map_or(0, Vec::len),
        read["thread"]["lastSeq"]
    );
    Ok(())
}
