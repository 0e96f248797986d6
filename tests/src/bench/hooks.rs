//! What a no-op hook costs a tool call: the `update_plan` round trip (model request → next
//! model request) with a PreToolUse and a PostToolUse hook that run `true`, against none.

use anyhow::Result;
use serde_json::{json, Value};

use super::mcp::through_daemon;
use super::stats::ms;
use super::Ctx;

pub async fn run(ctx: &Ctx) -> Result<Value> {
    println!("== hooks: update_plan round trip with no-op PreToolUse + PostToolUse hooks vs none");
    let args = r#"{"plan":[]}"#;
    let bare = through_daemon(ctx, &[], "update_plan", args).await?;
    println!(
        "no hooks:               p50 {}  p99 {}",
        ms(bare.p50),
        ms(bare.p99)
    );
    let hooks = [
        "hooks.PreToolUse=[{command=[\"true\"]}]".to_owned(),
        "hooks.PostToolUse=[{command=[\"true\"]}]".to_owned(),
    ];
    let hooked = through_daemon(ctx, &hooks, "update_plan", args).await?;
    println!(
        "two no-op hooks:        p50 {}  p99 {}",
        ms(hooked.p50),
        ms(hooked.p99)
    );
    println!(
        "per hook (p50): {}",
        ms(hooked.p50.saturating_sub(bare.p50) / 2)
    );
    Ok(json!({"noHooksMs": bare.json_ms(), "twoNoOpHooksMs": hooked.json_ms()}))
}
