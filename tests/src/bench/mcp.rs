//! MCP tool calls through the daemon: from the model's request that ends in a call of
//! `mcp__mock__echo` to the next request carrying its output (parse, item started, approval
//! policy, the call over stdio to `mock-mcp`, item completed, history committed, the next
//! request built and sent), against the same call made directly with rmcp's client, and against
//! the same round trip with `update_plan` (the tool pipeline without MCP).

use std::path::Path;
use std::time::{Duration, Instant};

use agentd_tests::mock_llm::{MockConfig, MockLlm, Scripted, Step, Usage};
use anyhow::{bail, Context, Result};
use rmcp::model::{CallToolRequestParams, ClientConfig, Implementation, ProtocolVersion};
use rmcp::{object, ServiceExt};
use serde_json::{json, Value};

use super::daemon::WsDaemon;
use super::stats::{ms, Summary};
use super::ws::{self, Ws};
use super::Ctx;

/// Calls timed per figure, after [`WARMUP`] untimed ones.
const CALLS: usize = 200;
const WARMUP: usize = 20;

pub async fn run(ctx: &Ctx) -> Result<Value> {
    println!("== mcp: a tool call's round trip, model request → next model request; {CALLS} timed after {WARMUP}");
    let mock_mcp = super::sibling_bin("mock-mcp")?;
    let direct = direct_calls(&mock_mcp).await?;
    println!(
        "direct rmcp call of mock-mcp echo:        {}",
        line(&direct)
    );
    let plan = through_daemon(ctx, &mcp_args(&mock_mcp), "update_plan", r#"{"plan":[]}"#).await?;
    println!("through agentd, update_plan (no MCP):     {}", line(&plan));
    let mcp = through_daemon(
        ctx,
        &mcp_args(&mock_mcp),
        "mcp__mock__echo",
        r#"{"text":"hi"}"#,
    )
    .await?;
    println!("through agentd, mcp__mock__echo:          {}", line(&mcp));
    println!(
        "MCP call overhead in the daemon (p50): {} over the direct call",
        ms(mcp.p50.saturating_sub(direct.p50))
    );
    Ok(json!({
        "directCallMs": direct.json_ms(),
        "updatePlanRoundTripMs": plan.json_ms(),
        "mcpRoundTripMs": mcp.json_ms(),
    }))
}

fn line(s: &Summary) -> String {
    format!("p50 {}  p99 {}  max {}", ms(s.p50), ms(s.p99), ms(s.max))
}

/// The baseline: rmcp's client calling `echo` on a `mock-mcp` child over stdio.
async fn direct_calls(mock_mcp: &Path) -> Result<Summary> {
    let mut child = tokio::process::Command::new(mock_mcp)
        .arg("stdio")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let io = (
        child.stdout.take().context("no stdout")?,
        child.stdin.take().context("no stdin")?,
    );
    let info = ClientConfig::new(Default::default(), Implementation::new("bench", "0"))
        .with_protocol_version(ProtocolVersion::V_2025_11_25);
    let client = info.serve(io).await?;
    let mut samples = Vec::with_capacity(CALLS);
    for i in 0..WARMUP + CALLS {
        let params = CallToolRequestParams::new("echo").with_arguments(object!({"text": "hi"}));
        let start = Instant::now();
        client.call_tool(params).await?;
        if i >= WARMUP {
            samples.push(start.elapsed().as_nanos() as u64);
        }
    }
    let _ = client.cancel().await;
    Ok(Summary::of(&mut samples))
}

/// `-c` settings configuring `mock-mcp` as the server `mock`.
fn mcp_args(mock_mcp: &Path) -> Vec<String> {
    vec![
        format!(
            "mcp_servers.mock.command={:?}",
            mock_mcp.display().to_string()
        ),
        "mcp_servers.mock.args=[\"stdio\"]".to_owned(),
    ]
}

/// One thread, one turn per call: the model calls `tool`, then answers. The round trip is the
/// time between the two requests' arrivals at the mock. `settings`: `-c` values for the daemon.
pub(super) async fn through_daemon(
    ctx: &Ctx,
    settings: &[String],
    tool: &str,
    args: &str,
) -> Result<Summary> {
    let call = Scripted::responses(vec![
        Step::created(),
        Step::function_call("c", tool, args),
        Step::completed(Usage::default()),
    ]);
    let mock = MockLlm::start_with(MockConfig {
        script: vec![call, Scripted::responses_text("ok")],
        cycle: true,
        ..MockConfig::default()
    })
    .await?;
    let mut daemon_args = super::turns::provider_args(&mock.base_url());
    for kv in settings
        .iter()
        .cloned()
        .chain(["approval_policy=\"never\"".to_owned()])
    {
        daemon_args.push("-c".into());
        daemon_args.push(kv);
    }
    let daemon = WsDaemon::start(&ctx.bin, &daemon_args).await?;
    let mut c = daemon.connect("bench-mcp").await?;
    let thread = ws::call(&mut c, 1, "thread/start", json!({})).await?["thread"]["id"]
        .as_str()
        .context("thread/start without an id")?
        .to_owned();
    for i in 0..WARMUP + CALLS {
        run_turn(&mut c, 2 + i as u64, &thread).await?;
    }
    let reqs = mock.requests();
    let mut samples: Vec<u64> = reqs
        .chunks(2)
        .skip(WARMUP)
        .filter_map(|pair| match pair {
            [ask, answered] => Some(
                answered
                    .received_at
                    .duration_since(ask.received_at)
                    .as_nanos() as u64,
            ),
            _ => None,
        })
        .collect();
    daemon.stop().await;
    if samples.len() != CALLS {
        bail!("expected {CALLS} round trips, got {}", samples.len());
    }
    Ok(Summary::of(&mut samples))
}

async fn run_turn(c: &mut Ws, id: u64, thread: &str) -> Result<()> {
    let params = json!({"threadId": thread, "input": [{"type": "text", "text": "go"}]});
    let turn = ws::call(c, id, "turn/start", params).await?["turn"]["id"]
        .as_str()
        .context("turn/start without an id")?
        .to_owned();
    loop {
        let text = ws::next_text(c, Duration::from_secs(30)).await?;
        if text.contains("\"turn/completed\"") && text.contains(&turn) {
            return Ok(());
        }
    }
}
