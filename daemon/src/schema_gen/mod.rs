//! `agentd generate-json-schema` and `agentd generate-ts`: the protocol's JSON Schema and
//! TypeScript bindings, written from the Rust types in `agentd-protocol`.
//!
//! The protocol crate builds the schema as values ([`ProtocolSchema`]); this module lays it out
//! as files and writes them. Every file's content is a pure function of the types, with sorted
//! keys and a trailing newline, so regenerating is byte-identical and `schema/` can be checked
//! in and compared (`tests/tests/schema_fresh.rs`). See `docs/decisions/003-schema-generation.md`.
//!
//! - [`json`]: one `.json` per type, the method unions, a bundle, an index.
//! - [`typescript`]: the same types as `.ts` files, converted from the JSON Schema.
//! - [`compat`]: the snapshot of the published surface under `schema/compat/`, which only ever
//!   grows within one protocol version.

pub mod compat;
pub mod json;
pub mod typescript;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use agentd_protocol::schema::ProtocolSchema;
use anyhow::Context;
use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct OutArgs {
    /// Directory to write into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct JsonSchemaArgs {
    /// Directory to write into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Also update the compatibility snapshot `protocol-v<VERSION>.json` in this directory: the
    /// union of what it held and what the protocol publishes now.
    #[arg(long, value_name = "DIR")]
    pub compat: Option<PathBuf>,
}

/// `agentd generate-json-schema`.
pub fn run_json_schema(args: &JsonSchemaArgs) -> anyhow::Result<()> {
    generate_json_schema(&args.out)?;
    if let Some(dir) = &args.compat {
        update_compat_snapshot(dir)?;
    }
    Ok(())
}

/// Writes the JSON Schema files into `out`.
pub fn generate_json_schema(out: &Path) -> anyhow::Result<()> {
    let schema = ProtocolSchema::generate();
    write_files(out, &json::files(&schema))
}

/// Writes the TypeScript bindings into `out`.
pub fn generate_ts(out: &Path) -> anyhow::Result<()> {
    let schema = ProtocolSchema::generate();
    write_files(out, &typescript::files(&schema)?)
}

/// Merges the current surface into `dir/protocol-v<VERSION>.json` (creating it if needed).
pub fn update_compat_snapshot(dir: &Path) -> anyhow::Result<()> {
    let schema = ProtocolSchema::generate();
    let path = dir.join(compat::snapshot_file_name(schema.version));
    let current = compat::surface(&schema);
    let merged = match std::fs::read_to_string(&path) {
        Ok(text) => {
            let old: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", path.display()))?;
            let lost = compat::missing(&old, &current);
            if !lost.is_empty() {
                eprintln!(
                    "agentd: protocol v{} lost what {} lists (kept there; bump PROTOCOL_VERSION \
                     and add a CHANGELOG entry): {}",
                    schema.version,
                    path.display(),
                    lost.join(", ")
                );
            }
            compat::merge(&old, &current)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => current,
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let name = compat::snapshot_file_name(schema.version);
    write_files(
        dir,
        &BTreeMap::from([(name, agentd_protocol::schema::to_pretty_json(&merged))]),
    )
}

/// Writes `files` (name → content) into `dir`, creating it. Files already there and not named
/// are left alone (`make schema` empties the directories first).
fn write_files(dir: &Path, files: &BTreeMap<String, String>) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, content) in files {
        let path = dir.join(name);
        std::fs::write(&path, content).with_context(|| format!("writing {}", path.display()))?;
    }
    eprintln!("agentd: wrote {} files to {}", files.len(), dir.display());
    Ok(())
}
