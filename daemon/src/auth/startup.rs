//! The access decision a WebSocket listener makes once, at start (PROTOCOL.md §9).
//!
//! - `--no-auth`: everyone who can reach the port is admin, so it is allowed on loopback only.
//! - Tokens in `tokens.toml`: those, and nothing else.
//! - No tokens: loopback is no boundary on a shared machine, so the daemon makes a one-time
//!   token, as notebook servers do, prints it and writes it to a file only the user can read.
//!   A non-loopback address without configured tokens is refused: a token printed to a
//!   terminal is not how a remote client should get in.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use super::tokens::{self, TokenFile};
use super::Mode;

/// What the listener will do, decided before it binds.
pub struct Plan {
    pub mode: Mode,
    /// The one-time token to print and write, when there is one.
    pub startup_token: Option<String>,
}

/// Decides how connections are admitted; fails (before anything listens) when the combination
/// is unsafe.
pub fn plan(listen: &str, loopback: bool, no_auth: bool, file: &TokenFile) -> anyhow::Result<Plan> {
    if no_auth {
        if !loopback {
            bail!(
                "--no-auth is allowed on a loopback address only, and {listen} is not one; \
                 create a token with `agentd token create --scope control --name NAME` instead"
            );
        }
        tracing::warn!("--no-auth: any local process or user can drive this daemon");
        return Ok(Plan {
            mode: Mode::Open,
            startup_token: None,
        });
    }
    let entries = file.read()?;
    if !entries.is_empty() {
        return Ok(Plan {
            mode: Mode::Tokens {
                file: file.clone(),
                startup: None,
            },
            startup_token: None,
        });
    }
    if !loopback {
        bail!(
            "refusing to listen on {listen} (not a loopback address) without tokens: \
             create one with `agentd token create --scope control --name NAME` (it goes to {})",
            file.path().display()
        );
    }
    let token = tokens::generate()?;
    Ok(Plan {
        mode: Mode::Tokens {
            file: file.clone(),
            startup: Some(tokens::digest(&token)),
        },
        startup_token: Some(token),
    })
}

/// Where the one-time token is written: `$XDG_RUNTIME_DIR/agentd/token`, or, with no runtime
/// directory, `token` in the data directory.
pub fn runtime_token_path(data_dir: &Path) -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir).join("agentd").join("token"),
        None => data_dir.join("token"),
    }
}

/// Writes the one-time token, readable by the user only (directory 0700, file 0600).
pub fn write_runtime_token(path: &Path, token: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        let fresh = !dir.exists();
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        if fresh {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("cannot make {} private", dir.display()))?;
        }
    }
    let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        f.write_all(token.as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().with_context(|| format!("cannot write the token to {}", path.display()))
}

/// Removes the token file at shutdown, unless another daemon has since written its own there.
pub fn remove_runtime_token(path: &Path, token: &str) {
    if std::fs::read_to_string(path).is_ok_and(|t| t.trim() == token) {
        let _ = std::fs::remove_file(path);
    }
}
