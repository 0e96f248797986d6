//! What the stdio entry points that drive a daemon share (`agentd mcp-server`, `agentd acp`):
//! their flags (which daemon, which config) and running one async task to an exit status.

use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::server::ServeOptions;

/// Which daemon to drive: the one serving the data directory (or one started in this
/// process), or the one at `--connect`.
#[derive(Debug, Clone, Args)]
pub struct DriveArgs {
    /// The data directory of the daemon to use (default: `$XDG_DATA_HOME/agentd`).
    #[arg(long, env = "AGENTD_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Read this config file instead of `$XDG_CONFIG_HOME/agentd/config.toml`.
    #[arg(long = "config-file", value_name = "PATH")]
    pub config_file: Option<PathBuf>,
    /// Set a config key (`key=value`, read as TOML); repeatable.
    #[arg(short = 'c', long = "config", value_name = "KEY=VALUE")]
    pub config: Vec<String>,
    /// Apply `[profiles.NAME]` from the config file.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Drive the daemon at this WebSocket URL instead.
    #[arg(long, value_name = "URL")]
    pub connect: Option<String>,
    /// The token for `--connect` (default: `$AGENTD_TOKEN`, then the local token file).
    #[arg(long, env = "AGENTD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

impl DriveArgs {
    /// The options a daemon started in this process would be served with.
    pub fn serve_options(&self) -> ServeOptions {
        ServeOptions {
            data_dir: self.data_dir.clone(),
            config_file: self.config_file.clone(),
            config_overrides: self.config.clone(),
            profile: self.profile.clone(),
            ..ServeOptions::default()
        }
    }

    /// `--connect`'s URL and the token to present there.
    pub fn connect_to(&self) -> Option<(String, Option<String>)> {
        self.connect.clone().map(|url| {
            let token = self
                .token
                .clone()
                .or_else(|| super::local_token(self.data_dir.as_deref()));
            (url, token)
        })
    }
}

/// Runs `task` on the daemon's runtime (`runtime::build`): success is exit status 0, an error
/// is said on stderr as `agentd NAME: …` with status 1.
pub fn run_to_exit<F>(name: &str, task: F) -> ExitCode
where
    F: Future<Output = anyhow::Result<()>>,
{
    let runtime = match crate::runtime::build(None) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("agentd {name}: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(task);
    crate::runtime::shut_down(runtime);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("agentd {name}: {}", crate::errors::describe(&e));
            ExitCode::FAILURE
        }
    }
}
