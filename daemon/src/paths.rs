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

/// Reads a regular file of at most `limit` bytes. Files from a repository (AGENTS.md, project
/// rules, files a patch edits) are as hostile as anything else: a huge one, or a symlink to
/// `/dev/zero`, must cost an error, not the daemon's memory. Symlinks are followed (the caller
/// checks where they may lead); what they reach must be a regular file.
pub fn read_limited(path: &std::path::Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} is not a regular file", path.display()),
        ));
    }
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("{} is larger than {limit} bytes", path.display()),
        ));
    }
    Ok(bytes)
}

/// The git repository `cwd` is in (the nearest ancestor holding `.git`), else `cwd`: where
/// instruction files are looked up from, and the project memory is scoped to.
pub fn repo_root(cwd: &std::path::Path) -> &std::path::Path {
    cwd.ancestors()
        .find(|dir| dir.join(".git").exists())
        .unwrap_or(cwd)
}

/// This machine's host name (what a daemon sharing a database with others says it is), or
/// `unknown-host` when the system will not tell.
pub fn host_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".to_owned())
}

#[cfg(test)]
mod tests {
    use super::read_limited;

    #[test]
    fn reads_within_the_limit_and_refuses_beyond_it_and_non_files() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, b"12345").unwrap();
        assert_eq!(read_limited(&f, 5).unwrap(), b"12345");
        assert!(read_limited(&f, 4).is_err());
        assert!(read_limited(dir.path(), 100).is_err());
        assert!(read_limited(std::path::Path::new("/dev/zero"), 100).is_err());
    }
}
