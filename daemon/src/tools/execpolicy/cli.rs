//! `agentd execpolicy check -- CMD…`: what the exec policy says about a command.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::ExecPolicy;

#[derive(Debug, Clone, Args)]
pub struct ExecpolicyArgs {
    #[command(subcommand)]
    pub command: ExecpolicyCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum ExecpolicyCommand {
    /// Print the decision for a command.
    Check {
        /// Directories of `*.rules` files (default: the config dir's `rules/` and the current
        /// directory's `.agentd/rules/`).
        #[arg(long = "rules")]
        rules: Vec<PathBuf>,
        /// The command, after `--`.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
}

pub fn run(args: ExecpolicyArgs) -> anyhow::Result<()> {
    match args.command {
        ExecpolicyCommand::Check { rules, command } => {
            let dirs = if rules.is_empty() {
                let mut d = Vec::new();
                if let Ok(config) = crate::paths::default_config_dir() {
                    d.push(config.join("rules"));
                }
                d.push(PathBuf::from(".agentd").join("rules"));
                d
            } else {
                rules
            };
            let policy = ExecPolicy::load(&dirs)?;
            println!("{}", policy.assess(&command).describe());
            Ok(())
        }
    }
}
