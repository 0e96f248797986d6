//! What each tool does when called. Tool-level failures are `CallToolResult::error` (the
//! model sees them); only `protocol_error`, bad arguments and unknown tools answer with a
//! JSON-RPC error.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResult, ContentBlock, ElicitRequestParams, ElicitationSchema,
    JsonObject,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use super::tools::{self, BIG_MAX_BYTES, TINY_PNG_BASE64};
use super::MockServer;

#[derive(Deserialize)]
struct EchoArgs {
    text: String,
}

#[derive(Deserialize)]
struct SlowArgs {
    ms: u64,
}

#[derive(Deserialize)]
struct WriteArgs {
    path: String,
    text: String,
}

#[derive(Deserialize)]
struct BigArgs {
    bytes: u64,
}

pub(super) async fn call(
    server: &MockServer,
    request: CallToolRequestParams,
    ctx: RequestContext<RoleServer>,
) -> Result<CallToolResult, ErrorData> {
    let args = request.arguments.unwrap_or_default();
    let name = request.name.as_ref();
    Ok(match name {
        "echo" => text(format!("echo: {}", parse::<EchoArgs>(args)?.text)),
        "image" => CallToolResult::success(vec![
            ContentBlock::text("here is an image"),
            ContentBlock::image(TINY_PNG_BASE64, "image/png"),
        ]),
        "fail" => CallToolResult::error(vec![ContentBlock::text("boom")]),
        "protocol_error" => return Err(ErrorData::internal_error("protocol boom", None)),
        "slow" => return slow(server, parse::<SlowArgs>(args)?.ms, &ctx).await,
        "write" => write(parse(args)?).await,
        "structured" => CallToolResult::structured(json!({"answer": 42})),
        "ask" => ask(&ctx).await,
        // A server crashing mid-call: no answer, the pipe or connection just closes.
        "die" => std::process::exit(1),
        "add_tool" => {
            server.late.store(true, Ordering::SeqCst);
            if let Err(err) = ctx.peer.notify_tool_list_changed().await {
                eprintln!("mock-mcp: cannot send tools/list_changed: {err}");
            }
            text("added")
        }
        "env" => text(env_json()),
        "big" => text(big(parse::<BigArgs>(args)?.bytes)),
        // A chatty server's long stderr line (and a write that fails if nobody reads).
        "stderr" => {
            let line = big(parse::<BigArgs>(args)?.bytes);
            let mut err = std::io::stderr().lock();
            match writeln!(err, "{line}").and_then(|()| err.flush()) {
                Ok(()) => text("said"),
                Err(e) => return Err(ErrorData::internal_error(format!("stderr: {e}"), None)),
            }
        }
        tools::DOTTED => text("dotted ok"),
        tools::LONG_NAME => text("long ok"),
        tools::NO_TYPE_SCHEMA => text("no type ok"),
        tools::LATE if server.has_late_tool() => text("late tool"),
        other => {
            return Err(ErrorData::invalid_params(
                format!("unknown tool {other}"),
                None,
            ))
        }
    })
}

fn text(text: impl Into<String>) -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::text(text)])
}

fn parse<T: DeserializeOwned>(args: JsonObject) -> Result<T, ErrorData> {
    serde_json::from_value(Value::Object(args))
        .map_err(|err| ErrorData::invalid_params(format!("bad arguments: {err}"), None))
}

/// Sleeps, unless the request is cancelled first (`notifications/cancelled`, or the
/// connection closing), which is recorded as `cancelled slow`.
async fn slow(
    server: &MockServer,
    ms: u64,
    ctx: &RequestContext<RoleServer>,
) -> Result<CallToolResult, ErrorData> {
    tokio::select! {
        () = tokio::time::sleep(Duration::from_millis(ms)) => Ok(text(format!("slept {ms}"))),
        () = ctx.ct.cancelled() => {
            server.record.line("cancelled slow");
            // rmcp drops the answer to a cancelled request; this only ends the handler.
            Err(ErrorData::internal_error("cancelled", None))
        }
    }
}

async fn write(args: WriteArgs) -> CallToolResult {
    match tokio::fs::write(&args.path, &args.text).await {
        Ok(()) => text(format!("wrote {}", args.path)),
        Err(err) => CallToolResult::error(vec![ContentBlock::text(format!(
            "cannot write {}: {err}",
            args.path
        ))]),
    }
}

/// Asks the client for a name over `elicitation/create` (form mode) and reports the answer
/// as `answer: <action> <content as JSON, or null>`.
async fn ask(ctx: &RequestContext<RoleServer>) -> CallToolResult {
    let schema = match ElicitationSchema::builder().required_string("name").build() {
        Ok(schema) => schema,
        Err(err) => return CallToolResult::error(vec![ContentBlock::text(err)]),
    };
    let params = ElicitRequestParams::FormElicitationParams {
        meta: None,
        message: "What is your name?".to_owned(),
        requested_schema: schema,
    };
    match ctx.peer.create_elicitation(params).await {
        Ok(answer) => {
            let action = serde_json::to_value(&answer.action)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| format!("{:?}", answer.action));
            let content = answer.content.unwrap_or(Value::Null);
            text(format!("answer: {action} {content}"))
        }
        Err(err) => CallToolResult::error(vec![ContentBlock::text(format!(
            "elicitation failed: {err}"
        ))]),
    }
}

/// The environment as one JSON object with sorted keys (non-UTF-8 made lossy).
fn env_json() -> String {
    let env: BTreeMap<String, String> = std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect();
    serde_json::to_string(&env).unwrap_or_else(|err| format!("{{\"error\": \"{err}\"}}"))
}

/// `HEAD`, `x`s and `TAIL`, `bytes` long in all (at least 8, at most [`BIG_MAX_BYTES`]), so a
/// truncated result shows which end was cut.
fn big(bytes: u64) -> String {
    let total = usize::try_from(bytes.min(BIG_MAX_BYTES))
        .unwrap_or(0)
        .max(8);
    let mut out = String::with_capacity(total);
    out.push_str("HEAD");
    out.extend(std::iter::repeat_n('x', total - 8));
    out.push_str("TAIL");
    out
}
