//! `agentd sandbox-exec`: the confinement helper (not yet implemented).

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct SandboxExecArgs {
    /// The command to run, after `--`.
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

pub fn run(args: SandboxExecArgs) -> anyhow::Result<()> {
    anyhow::bail!(
        "sandbox-exec is not available in this build (asked to run {:?})",
        args.command
    )
}
