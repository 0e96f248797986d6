//! Where agentd keeps things on disk when no flag says otherwise. A leaf: the CLI, the server,
//! the token commands and the exec-policy command all need the same answers.

use std::path::PathBuf;

use anyhow::Context;

/// Where state lives when `--data-dir` is not given: `$XDG_DATA_HOME/agentd`, falling back to
/// `~/.local/share/agentd` as the XDG spec says.
pub fn default_data_dir() -> anyhow::Result<PathBuf> {
    xdg_dir("XDG_DATA_HOME", ".local/share")
}

/// Where `config.toml` lives when `--config-file` is not given: `$XDG_CONFIG_HOME/agentd`,
/// falling back to `~/.config/agentd`.
pub fn default_config_dir() -> anyhow::Result<PathBuf> {
    xdg_dir("XDG_CONFIG_HOME", ".config")
}

fn xdg_dir(var: &str, fallback: &str) -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os(var).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir).join("agentd"));
    }
    let home = std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .with_context(|| format!("neither {var} nor HOME is set; pass --data-dir"))?;
    Ok(PathBuf::from(home).join(fallback).join("agentd"))
}
