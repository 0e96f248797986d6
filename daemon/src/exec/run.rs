//! The run: resolve the prompt, reach a daemon, start the turn, follow it to its end, exit.

use std::path::{Path, PathBuf};

use agentd_protocol::jsonrpc::RequestId;
use agentd_protocol::methods::{McpServerElicitationRequest, TurnInterrupt};
use agentd_protocol::{
    ApprovalDecision, McpServerElicitationAction, McpServerElicitationRequestResponse,
    ServerRequestMethod, TurnInterruptParams, TurnStatus, UserInput,
};
use serde_json::Value;
use tokio::signal::unix::{signal, SignalKind};

use super::args::{ExecArgs, ExecCommand};
use super::{human::Human, jsonl::Jsonl, prompt, session};
use crate::client::RpcClient;

/// How the turn ended, for the exit status and the reports.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    Completed { message: Option<String> },
    Failed { message: String },
    Interrupted,
}

/// What a report is told as the run goes.
pub trait Report {
    fn thread_started(&mut self, thread_id: &str);
    /// A notification of the run's thread.
    fn event(&mut self, method: &str, params: &Value);
    /// A non-fatal problem (a `-c` key not applied, a retry).
    fn warning(&mut self, message: &str);
    fn ended(&mut self, ending: &Ending);
    /// The run failed before or outside its turn (the message also goes to stderr).
    fn fatal(&mut self, _message: &str) {}
    /// Redraws a progress line, when the report keeps one (a terminal).
    fn tick(&mut self) {}
}

pub async fn run(args: ExecArgs) -> u8 {
    let mut report: Box<dyn Report + Send> = if args.json {
        Box::new(Jsonl::default())
    } else {
        Box::new(Human::new())
    };
    match drive(&args, report.as_mut()).await {
        Ok(code) => code,
        Err(Failure::Usage(message)) => {
            eprintln!("agentd exec: {message}");
            2
        }
        Err(Failure::Run(e)) => {
            let message = crate::errors::describe(&e);
            report.fatal(&message);
            eprintln!("agentd exec: {message}");
            1
        }
    }
}

enum Failure {
    Usage(String),
    Run(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Run(e.into())
    }
}

async fn drive(args: &ExecArgs, report: &mut (dyn Report + Send)) -> Result<u8, Failure> {
    let prompt_arg = match &args.command {
        Some(ExecCommand::Resume(r)) => resume_prompt(r),
        None => args.prompt.clone(),
    };
    let prompt =
        prompt::resolve(prompt_arg.as_deref()).map_err(|e| Failure::Usage(e.to_string()))?;
    let cwd = working_dir(args)?;
    let schema = read_schema(args)?;
    let (known, unknown) = crate::config::sort_codex_overrides(&args.config)?;
    for key in &unknown {
        report.warning(&format!("-c {key}: not an agentd config key; ignored"));
    }
    let mut reached = session::reach(args, known.clone()).await?;
    let result = follow(
        args,
        &mut reached.client,
        report,
        &cwd,
        prompt,
        schema,
        &known,
    )
    .await;
    if let Some(host) = reached.host {
        host.stop().await;
    }
    Ok(result?)
}

/// `resume [THREAD_ID] [PROMPT]`: with `--last`, a single word is the prompt.
fn resume_prompt(r: &super::args::ResumeArgs) -> Option<String> {
    match (&r.thread_id, &r.prompt) {
        (Some(word), None) if r.last => Some(word.clone()),
        (_, prompt) => prompt.clone(),
    }
}

fn working_dir(args: &ExecArgs) -> anyhow::Result<PathBuf> {
    let dir = match &args.cd {
        Some(d) => d.clone(),
        None => std::env::current_dir()?,
    };
    std::fs::canonicalize(&dir).map_err(|e| anyhow::anyhow!("--cd {}: {e}", dir.display()))
}

fn read_schema(args: &ExecArgs) -> anyhow::Result<Option<Value>> {
    let Some(path) = &args.output_schema else {
        return Ok(None);
    };
    let bytes = crate::paths::read_limited(path, 1024 * 1024)
        .map_err(|e| anyhow::anyhow!("--output-schema {}: {e}", path.display()))?;
    let schema = serde_json::from_slice(&bytes)
        .map_err(|e| anyhow::anyhow!("--output-schema {}: not JSON: {e}", path.display()))?;
    Ok(Some(schema))
}

/// The prompt's input: the images first (as `codex exec` sends them), then the text.
fn input(args: &ExecArgs, cwd: &Path, prompt: String) -> Vec<UserInput> {
    let mut input: Vec<UserInput> = args
        .images
        .iter()
        .map(|p| UserInput::LocalImage {
            path: cwd.join(p).display().to_string(),
        })
        .collect();
    input.push(UserInput::text(prompt));
    input
}

/// Starts the thread and the turn, then follows the turn to its end.
async fn follow(
    args: &ExecArgs,
    client: &mut RpcClient,
    report: &mut (dyn Report + Send),
    cwd: &Path,
    prompt: String,
    schema: Option<Value>,
    codex_keys: &[String],
) -> anyhow::Result<u8> {
    let policy = session::policy(client, args, codex_keys).await?;
    let thread = session::thread(client, args, cwd, &policy).await?;
    report.thread_started(&thread);
    let roots: Vec<PathBuf> = args.add_dir.iter().map(|d| cwd.join(d)).collect();
    let input = input(args, cwd, prompt);
    let turn = session::turn(client, &thread, input, schema, &roots, &policy).await?;
    let (ending, signalled) = watch(client, report, &thread, &turn).await?;
    report.ended(&ending);
    Ok(match ending {
        Ending::Completed { message } => {
            if let (Some(path), Some(text)) = (&args.output_last_message, &message) {
                std::fs::write(path, text)
                    .map_err(|e| anyhow::anyhow!("-o {}: {e}", path.display()))?;
            }
            0
        }
        Ending::Interrupted if signalled == Some(SignalKind::interrupt()) => 130,
        Ending::Failed { .. } | Ending::Interrupted => 1,
    })
}

/// Reads the thread's events until the turn's `turn/completed`. A Ctrl-C (or SIGTERM)
/// interrupts the turn first; every question the daemon asks is declined (nobody is there).
async fn watch(
    client: &mut RpcClient,
    report: &mut (dyn Report + Send),
    thread: &str,
    turn: &str,
) -> anyhow::Result<(Ending, Option<SignalKind>)> {
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut signalled = None;
    let mut last_message: Option<String> = None;
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(120));
    loop {
        let message = tokio::select! {
            m = client.next() => m?,
            _ = int.recv() => { signalled = interrupt(client, thread, turn, SignalKind::interrupt()).await?; continue }
            _ = term.recv() => { signalled = interrupt(client, thread, turn, SignalKind::terminate()).await?; continue }
            _ = tick.tick() => { report.tick(); continue }
        };
        let Some(method) = message.get("method").and_then(Value::as_str) else {
            continue;
        };
        if let Some(id) = message.get("id") {
            decline(client, id, method)?;
            continue;
        }
        let params = message.get("params").cloned().unwrap_or(Value::Null);
        if params.get("threadId").and_then(Value::as_str) != Some(thread) {
            continue;
        }
        if method == "item/completed" && params["item"]["type"] == "agentMessage" {
            last_message = params["item"]["text"].as_str().map(str::to_owned);
        }
        report.event(method, &params);
        if method == "turn/completed" && params["turn"]["id"] == turn {
            return Ok((ending(&params["turn"], last_message), signalled));
        }
    }
}

fn ending(turn: &Value, message: Option<String>) -> Ending {
    match serde_json::from_value::<TurnStatus>(turn["status"].clone()) {
        Ok(TurnStatus::Completed) => Ending::Completed { message },
        Ok(TurnStatus::Interrupted) => Ending::Interrupted,
        _ => Ending::Failed {
            message: turn["error"]["message"]
                .as_str()
                .unwrap_or("the turn failed")
                .to_owned(),
        },
    }
}

async fn interrupt(
    client: &mut RpcClient,
    thread: &str,
    turn: &str,
    kind: SignalKind,
) -> anyhow::Result<Option<SignalKind>> {
    let params = TurnInterruptParams {
        thread_id: thread.to_owned(),
        turn_id: turn.to_owned(),
    };
    client.call::<TurnInterrupt>(&params).await?;
    Ok(Some(kind))
}

/// Answers a question of the daemon's: declined, since nobody can answer it.
fn decline(client: &RpcClient, id: &Value, method: &str) -> anyhow::Result<()> {
    let id: RequestId = serde_json::from_value(id.clone())?;
    if method == McpServerElicitationRequest::METHOD {
        client.respond(
            id,
            McpServerElicitationRequestResponse {
                action: McpServerElicitationAction::Decline,
                content: None,
                meta: None,
            },
        )?;
        return Ok(());
    }
    let answer = agentd_protocol::CommandExecutionRequestApprovalResponse {
        decision: ApprovalDecision::Decline,
    };
    client.respond(id, answer)?;
    Ok(())
}
