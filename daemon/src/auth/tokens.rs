//! `tokens.toml`: named, scoped access tokens, stored only as SHA-256 hashes.
//!
//! The file sits beside the config file in use and is managed with `agentd token
//! create|list|revoke`. A token is shown once, when it is created; the file keeps its hash, so
//! reading the file does not give access. Still, the file says which tokens exist and is the
//! place an attacker would add one, so it must be private: one that the group or others can read
//! or write is refused with an error saying how to fix it.
//!
//! Comparing a presented token's hash with the stored ones runs in constant time and visits
//! every entry, so timing says nothing about how close a guess was.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::Scope;

/// The file's name, beside `config.toml`.
pub const FILE_NAME: &str = "tokens.toml";

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{} is readable or writable by other users (mode {mode:04o}); it must be private: chmod 600 {}",
        path.display(),
        path.display()
    )]
    Insecure { path: PathBuf, mode: u32 },
    #[error("{}: {message}", path.display())]
    Syntax { path: PathBuf, message: String },
    #[error("a token named {0:?} already exists; revoke it first or pick another name")]
    Duplicate(String),
    #[error("no token named {0:?}")]
    NotFound(String),
    #[error("bad token name {0:?}: use 1 to 64 letters, digits, '.', '_' or '-'")]
    BadName(String),
    #[error("cannot get random bytes for a token: {0}")]
    Random(String),
}

/// One token as stored: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    pub name: String,
    pub scope: Scope,
    /// Lowercase hex SHA-256 of the token.
    pub sha256: String,
    /// Unix seconds.
    pub created_at: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokensToml {
    #[serde(default)]
    token: Vec<TokenEntry>,
}

/// The file's identity and version, to notice a change without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    ino: u64,
    size: u64,
    mtime: i64,
    mtime_nsec: i64,
}

/// The entries as last read, and the stamp of the file they were read from (`None`: no file).
#[derive(Debug, Default)]
pub struct Snapshot {
    pub entries: Vec<TokenEntry>,
    pub(super) stamp: Option<Stamp>,
}

/// `tokens.toml` in one directory.
#[derive(Debug, Clone)]
pub struct TokenFile {
    path: PathBuf,
}

impl TokenFile {
    /// The tokens file beside a config file (or in the config directory).
    pub fn in_dir(dir: &Path) -> Self {
        TokenFile {
            path: dir.join(FILE_NAME),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(super) fn stamp(&self) -> Option<Stamp> {
        let m = std::fs::metadata(&self.path).ok()?;
        Some(Stamp {
            ino: m.ino(),
            size: m.size(),
            mtime: m.mtime(),
            mtime_nsec: m.mtime_nsec(),
        })
    }

    pub(super) fn changed_since(&self, snapshot: &Snapshot) -> bool {
        self.stamp() != snapshot.stamp
    }

    /// Reads the entries; a missing file has none.
    pub fn read(&self) -> Result<Vec<TokenEntry>, TokenError> {
        Ok(self.snapshot()?.entries)
    }

    pub(super) fn snapshot(&self) -> Result<Snapshot, TokenError> {
        let io = |source| TokenError::Io {
            path: self.path.clone(),
            source,
        };
        let meta = match std::fs::metadata(&self.path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Snapshot::default()),
            Err(e) => return Err(io(e)),
        };
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(TokenError::Insecure {
                path: self.path.clone(),
                mode,
            });
        }
        let stamp = self.stamp();
        let text = std::fs::read_to_string(&self.path).map_err(io)?;
        let parsed: TokensToml = toml::from_str(&text).map_err(|e| TokenError::Syntax {
            path: self.path.clone(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        for entry in &parsed.token {
            if decode_hex(&entry.sha256).is_none() {
                return Err(TokenError::Syntax {
                    path: self.path.clone(),
                    message: format!("token {:?}: sha256 is not 64 hex digits", entry.name),
                });
            }
        }
        Ok(Snapshot {
            entries: parsed.token,
            stamp,
        })
    }

    /// Replaces the file with `entries`, atomically and private from the first byte.
    fn write(&self, entries: &[TokenEntry]) -> Result<(), TokenError> {
        let io = |source| TokenError::Io {
            path: self.path.clone(),
            source,
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let body = toml::to_string(&TokensToml {
            token: entries.to_vec(),
        })
        .map_err(|e| TokenError::Syntax {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        let text = format!(
            "# agentd access tokens (hashes only), managed with `agentd token create|list|revoke`.\n\n{body}"
        );
        let tmp = self
            .path
            .with_file_name(format!(".{FILE_NAME}.{}.tmp", std::process::id()));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io)?;
        // `mode` applies only to a new file; a stale temp file keeps its old mode otherwise.
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io)?;
        f.write_all(text.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)
    }

    /// Makes a new token named `name`, stores its hash and returns the token (shown once).
    pub fn create(&self, name: &str, scope: Scope) -> Result<String, TokenError> {
        check_name(name)?;
        let mut entries = self.read()?;
        if entries.iter().any(|e| e.name == name) {
            return Err(TokenError::Duplicate(name.to_owned()));
        }
        let token = generate()?;
        entries.push(TokenEntry {
            name: name.to_owned(),
            scope,
            sha256: hex(&digest(&token)),
            created_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        });
        self.write(&entries)?;
        Ok(token)
    }

    /// Removes the token named `name`.
    pub fn revoke(&self, name: &str) -> Result<(), TokenError> {
        let mut entries = self.read()?;
        let before = entries.len();
        entries.retain(|e| e.name != name);
        if entries.len() == before {
            return Err(TokenError::NotFound(name.to_owned()));
        }
        self.write(&entries)
    }
}

fn check_name(name: &str) -> Result<(), TokenError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(TokenError::BadName(name.to_owned()))
    }
}

/// A new random token: 32 bytes from the OS, as 64 hex digits (safe in a header and as a
/// WebSocket subprotocol).
pub fn generate() -> Result<String, TokenError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| TokenError::Random(e.to_string()))?;
    Ok(hex(&bytes))
}

pub fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

pub fn digests_equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.ct_eq(b).into()
}

/// The entry whose hash is `digest`. Every entry is compared, in constant time each, whatever
/// matches.
pub fn find<'a>(entries: &'a [TokenEntry], digest: &[u8; 32]) -> Option<&'a TokenEntry> {
    let mut found = None;
    for entry in entries {
        let stored = decode_hex(&entry.sha256).unwrap_or([0u8; 32]);
        if digests_equal(&stored, digest) {
            found = Some(entry);
        }
    }
    found
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_hex(text: &str) -> Option<[u8; 32]> {
    let text = text.as_bytes();
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in text.chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_list_revoke_and_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let file = TokenFile::in_dir(dir.path());
        assert!(file.read().unwrap().is_empty());
        let token = file.create("phone", Scope::Control).unwrap();
        assert_eq!(token.len(), 64);
        let mode = std::fs::metadata(file.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let entries = file.read().unwrap();
        assert_eq!(entries.len(), 1);
        assert!(!std::fs::read_to_string(file.path())
            .unwrap()
            .contains(&token));
        assert_eq!(find(&entries, &digest(&token)).unwrap().name, "phone");
        assert!(find(&entries, &digest("wrong")).is_none());
        assert!(matches!(
            file.create("phone", Scope::Observe),
            Err(TokenError::Duplicate(_))
        ));
        assert!(matches!(
            file.create("no spaces", Scope::Observe),
            Err(TokenError::BadName(_))
        ));
        file.revoke("phone").unwrap();
        assert!(file.read().unwrap().is_empty());
        assert!(matches!(file.revoke("phone"), Err(TokenError::NotFound(_))));
    }

    #[test]
    fn a_group_readable_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = TokenFile::in_dir(dir.path());
        file.create("a", Scope::Admin).unwrap();
        std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(0o640)).unwrap();
        let err = file.read().unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }
}
