//! Sub-agents: from the model's request that ends in `spawn_agent` to the child's first model
//! request at the mock (the call parsed, the child thread created and stored, the parent's
//! clients subscribed to it, its turn started, its request built and sent).

use std::time::Duration;

use agentd_tests::mock_llm::{MockConfig, MockLlm, Scripted, Step, Usage};
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use super::daemon::WsDaemon;
use super::stats::{ms, Summary};
use super::ws;
use super::Ctx;

const RUNS: usize = 50;
const WARMUP: usize = 5;

pub async fn run(ctx: &Ctx) -> Result<Value> {
    println!("== agents: spawn_agent call → the child's first model request; {RUNS} timed after {WARMUP}");
    let mock = MockLlm::start_with(MockConfig::default()).await?;
    let mut args = super::turns::provider_args(&mock.base_url());
    args.extend(["-c".to_owned(), "approval_policy=\"never\"".to_owned()]);
    let daemon = WsDaemon::start(&ctx.bin, &args).await?;
    let mut c = daemon.connect("bench-agents").await?;
    let mut samples = Vec::new();
    for i in 0..WARMUP + RUNS {
        let marker = format!("CHILD-{i}");
        let spawn = json!({"message": format!("{marker}: go")}).to_string();
        mock.push(Scripted::responses(vec![
            Step::created(),
            Step::function_call("s", "spawn_agent", &spawn),
            Step::completed(Usage::default()),
        ]));
        mock.push(Scripted::responses_text("ok"));
        mock.push_when_last(&marker, Scripted::responses_text("child ok"));
        let id = 10 + i as u64 * 3;
        let thread = ws::call(&mut c, id, "thread/start", json!({})).await?["thread"]["id"]
            .as_str()
            .context("no thread id")?
            .to_owned();
        let before = mock.requests().len();
        let params = json!({"threadId": thread, "input": [{"type": "text", "text": "spawn"}]});
        ws::call(&mut c, id + 1, "turn/start", params).await?;
        let reqs = mock
            .wait_for_requests(before + 3, Duration::from_secs(10))
            .await?;
        let parent = &reqs[before];
        let Some(child) = reqs[before..]
            .iter()
            .find(|r| r.body["input"][0].to_string().contains(&marker))
        else {
            bail!("the child's request did not arrive");
        };
        if i >= WARMUP {
            samples.push(
                child
                    .received_at
                    .duration_since(parent.received_at)
                    .as_nanos() as u64,
            );
        }
    }
    daemon.stop().await;
    let s = Summary::of(&mut samples);
    println!(
        "spawn_agent → child request: p50 {}  p99 {}  max {}",
        ms(s.p50),
        ms(s.p99),
        ms(s.max)
    );
    Ok(json!({"spawnToChildRequestMs": s.json_ms()}))
}
