//! Generating the protocol's JSON Schema and TypeScript bindings from the Rust types in
//! `agentd-protocol` (not yet implemented).

use std::path::{Path, PathBuf};

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct OutArgs {
    /// Directory to write into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
}

pub fn generate_json_schema(out: &Path) -> anyhow::Result<()> {
    anyhow::bail!(
        "generate-json-schema is not implemented yet ({})",
        out.display()
    )
}

pub fn generate_ts(out: &Path) -> anyhow::Result<()> {
    anyhow::bail!("generate-ts is not implemented yet ({})", out.display())
}
