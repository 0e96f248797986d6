//! Configuration: loaded once at start and passed down as values.
//!
//! This holds what the daemon needs today (defaults for new threads); the TOML file, profiles
//! and providers arrive with the agent loop.

use std::path::PathBuf;

use agentd_protocol::{AskForApproval, SandboxMode};

#[derive(Debug, Clone)]
pub struct Config {
    pub model: String,
    pub model_provider: String,
    pub approval_policy: AskForApproval,
    pub sandbox_mode: SandboxMode,
    /// The workspace of a thread started with `cwd: null`: the daemon's own working directory.
    pub default_cwd: PathBuf,
}

impl Config {
    pub fn defaults() -> Self {
        Config {
            model: "gpt-5".to_owned(),
            model_provider: "openai".to_owned(),
            approval_policy: AskForApproval::OnRequest,
            sandbox_mode: SandboxMode::WorkspaceWrite,
            default_cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
        }
    }
}
