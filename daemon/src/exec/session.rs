//! Reaching a daemon and starting the thread and the turn.

use std::path::{Path, PathBuf};

use agentd_protocol::methods::{ConfigRead, ThreadList, ThreadResume, ThreadStart, TurnStart};
use agentd_protocol::{
    AskForApproval, ConfigReadParams, GranularApproval, SandboxMode, SandboxPolicy, SessionSource,
    ThreadListCwdFilter, ThreadListParams, ThreadOverrides, ThreadResumeParams, ThreadStartParams,
    TurnStartParams, UserInput,
};
use anyhow::bail;

use super::args::{ExecArgs, ExecCommand};
use crate::client::RpcClient;
use crate::server::{Host, ServeOptions};

/// A daemon to drive, and the one this process runs when it had to start one.
pub struct Reached {
    pub client: RpcClient,
    pub host: Option<Host>,
}

/// `--connect`, else the daemon serving the data directory, else a daemon in this process.
pub async fn reach(args: &ExecArgs, known_config: Vec<String>) -> anyhow::Result<Reached> {
    let connect = args.connect.clone().map(|url| {
        let token = args
            .token
            .clone()
            .or_else(|| crate::client::local_token(args.data_dir.as_deref()));
        (url, token)
    });
    let opts = ServeOptions {
        data_dir: args.data_dir.clone(),
        config_file: args.config_file.clone(),
        config_overrides: known_config,
        profile: args.profile.clone(),
        ..ServeOptions::default()
    };
    let reached = crate::client::reach(&opts, connect).await?;
    let client = match reached.connector.connect("agentd-exec").await {
        Ok(client) => client,
        Err(e) => {
            if let Some(host) = reached.host {
                host.stop().await;
            }
            return Err(e);
        }
    };
    Ok(Reached {
        client,
        host: reached.host,
    })
}

/// What the run decided about the sandbox and approvals.
pub struct Policy {
    /// `None`: whatever the daemon's config says.
    pub sandbox: Option<SandboxMode>,
    pub approval: AskForApproval,
}

/// exec's defaults, as `codex exec`'s: read-only unless the config or an option says otherwise;
/// no question asked of anyone, unless the config's approval policy is `never` or everything is
/// bypassed.
pub async fn policy(
    client: &mut RpcClient,
    args: &ExecArgs,
    codex_keys: &[String],
) -> anyhow::Result<Policy> {
    let read = client
        .call::<ConfigRead>(&ConfigReadParams::default())
        .await?;
    let configured =
        |key: &str| read.origins.contains_key(key) || codex_keys.iter().any(|k| k.starts_with(key));
    let sandbox = if args.dangerously_bypass_approvals_and_sandbox {
        Some(SandboxMode::DangerFullAccess)
    } else if args.full_auto {
        Some(SandboxMode::WorkspaceWrite)
    } else if args.sandbox.is_some() {
        args.sandbox
    } else if configured("sandbox_mode") {
        None
    } else {
        Some(SandboxMode::ReadOnly)
    };
    let never = args.dangerously_bypass_approvals_and_sandbox
        || read.config.get("approval_policy").and_then(|v| v.as_str()) == Some("never")
            && configured("approval_policy");
    let approval = if never {
        AskForApproval::Never
    } else {
        AskForApproval::Granular(GranularApproval::none())
    };
    Ok(Policy { sandbox, approval })
}

/// Starts the thread, or finds the one to resume; returns its id.
pub async fn thread(
    client: &mut RpcClient,
    args: &ExecArgs,
    cwd: &Path,
    policy: &Policy,
) -> anyhow::Result<String> {
    let overrides = ThreadOverrides {
        cwd: Some(cwd.display().to_string()),
        model: args.model.clone(),
        approval_policy: Some(policy.approval),
        sandbox: policy.sandbox,
        ..ThreadOverrides::default()
    };
    if let Some(id) = resume_target(client, args, cwd).await? {
        let params = ThreadResumeParams {
            thread_id: id,
            after_seq: None,
            exclude_turns: Some(true),
            overrides,
        };
        let r = client.call::<ThreadResume>(&params).await?;
        return Ok(r.thread.id);
    }
    let params = ThreadStartParams {
        overrides,
        ephemeral: None,
        session_source: Some(SessionSource::Exec),
    };
    Ok(client.call::<ThreadStart>(&params).await?.thread.id)
}

/// The thread `resume` names: the id given, or with `--last` the newest `exec` thread in this
/// directory (none: a new thread starts, as with `codex exec resume --last`).
async fn resume_target(
    client: &mut RpcClient,
    args: &ExecArgs,
    cwd: &Path,
) -> anyhow::Result<Option<String>> {
    let Some(ExecCommand::Resume(resume)) = &args.command else {
        return Ok(None);
    };
    if !resume.last {
        return match &resume.thread_id {
            Some(id) => Ok(Some(id.clone())),
            None => bail!("resume needs a THREAD_ID or --last"),
        };
    }
    let params = ThreadListParams {
        limit: Some(1),
        cwd: Some(ThreadListCwdFilter::One(cwd.display().to_string())),
        source_kinds: Some(vec!["exec".into()]),
        ..ThreadListParams::default()
    };
    let list = client.call::<ThreadList>(&params).await?;
    Ok(list.data.into_iter().next().map(|t| t.id))
}

/// Starts the turn; returns its id.
pub async fn turn(
    client: &mut RpcClient,
    thread_id: &str,
    input: Vec<UserInput>,
    output_schema: Option<serde_json::Value>,
    writable_roots: &[PathBuf],
    policy: &Policy,
) -> anyhow::Result<String> {
    let sandbox_policy = (!writable_roots.is_empty()
        && policy.sandbox == Some(SandboxMode::WorkspaceWrite))
    .then(|| SandboxPolicy::WorkspaceWrite {
        writable_roots: writable_roots
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        network_access: false,
        exclude_tmpdir_env_var: false,
        exclude_slash_tmp: false,
    });
    let params = TurnStartParams {
        thread_id: thread_id.to_owned(),
        input,
        output_schema,
        sandbox_policy,
        ..TurnStartParams::default()
    };
    Ok(client.call::<TurnStart>(&params).await?.turn.id)
}
