//! `agentd exec`'s command line: `codex exec`'s flags (so scripts and Codex's TypeScript SDK,
//! which runs `codex exec --experimental-json …`, carry over) plus agentd's own.

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    /// The prompt; `-` (or none, with stdin not a terminal) reads it from stdin.
    #[arg(value_name = "PROMPT")]
    pub prompt: Option<String>,
    /// Print the run as JSON Lines in `codex exec --json`'s event format on stdout.
    #[arg(long, alias = "experimental-json", global = true)]
    pub json: bool,
    /// Write the final agent message to FILE once the turn completes.
    #[arg(
        short = 'o',
        long = "output-last-message",
        value_name = "FILE",
        global = true
    )]
    pub output_last_message: Option<PathBuf>,
    /// A JSON Schema the final answer must follow; the answer on stdout is that JSON.
    #[arg(long, value_name = "FILE", global = true)]
    pub output_schema: Option<PathBuf>,
    /// The model to use.
    #[arg(short = 'm', long, global = true)]
    pub model: Option<String>,
    /// Set a config key (`key=value`, the value read as TOML); repeatable.
    #[arg(short = 'c', long = "config", value_name = "KEY=VALUE", global = true)]
    pub config: Vec<String>,
    /// Apply `[profiles.NAME]` from the config file.
    #[arg(short = 'p', long, global = true)]
    pub profile: Option<String>,
    /// read-only (the default unless the config says otherwise), workspace-write or
    /// danger-full-access.
    #[arg(short = 's', long, value_name = "MODE", value_parser = sandbox_mode, global = true)]
    pub sandbox: Option<agentd_protocol::SandboxMode>,
    /// workspace-write, with no approval prompts.
    #[arg(long, global = true)]
    pub full_auto: bool,
    /// No sandbox and no approvals: commands run as you, unconfined.
    #[arg(long, alias = "yolo", global = true, conflicts_with = "full_auto")]
    pub dangerously_bypass_approvals_and_sandbox: bool,
    /// Work in DIR (default: the current directory).
    #[arg(short = 'C', long = "cd", value_name = "DIR", global = true)]
    pub cd: Option<PathBuf>,
    /// Another directory the agent may write to; repeatable.
    #[arg(long = "add-dir", value_name = "DIR", global = true)]
    pub add_dir: Vec<PathBuf>,
    /// Accepted for Codex compatibility (agentd needs no git repository).
    #[arg(long, global = true)]
    pub skip_git_repo_check: bool,
    /// An image to attach to the prompt; repeatable, or comma-separated.
    #[arg(
        short = 'i',
        long = "image",
        value_name = "FILE",
        value_delimiter = ',',
        global = true
    )]
    pub images: Vec<PathBuf>,
    /// Read this config file instead of `$XDG_CONFIG_HOME/agentd/config.toml`.
    #[arg(long, value_name = "PATH", global = true)]
    pub config_file: Option<PathBuf>,
    /// Where the database lives (default: `$XDG_DATA_HOME/agentd`).
    #[arg(long, env = "AGENTD_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Drive the daemon at this WebSocket address instead (`ws://HOST:PORT`).
    #[arg(long, value_name = "URL", global = true)]
    pub connect: Option<String>,
    /// The token for `--connect` (default: `$AGENTD_TOKEN`, else the daemon's token file).
    #[arg(long, env = "AGENTD_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// Codex flags accepted and ignored (the TypeScript SDK may pass them).
    #[arg(long, hide = true, global = true)]
    pub thread_source: Option<String>,
    #[arg(long, hide = true, global = true)]
    pub cyber_access_program: Option<String>,
    #[arg(long, hide = true, global = true)]
    pub color: Option<String>,
    #[command(subcommand)]
    pub command: Option<ExecCommand>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum ExecCommand {
    /// Continue a thread: `resume --last` (the newest `exec` thread in this directory) or
    /// `resume THREAD_ID`, with an optional prompt.
    Resume(ResumeArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ResumeArgs {
    /// The thread to continue (unless `--last`).
    #[arg(value_name = "THREAD_ID")]
    pub thread_id: Option<String>,
    /// The prompt; `-` (or none) reads it from stdin.
    #[arg(value_name = "PROMPT")]
    pub prompt: Option<String>,
    /// The most recent thread `agentd exec` started in this directory.
    #[arg(long)]
    pub last: bool,
}

fn sandbox_mode(text: &str) -> Result<agentd_protocol::SandboxMode, String> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| format!("{text:?}: expected read-only, workspace-write or danger-full-access"))
}
