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

/// Opens `path` for reading only if it is a regular file. Files a repository or the model
/// controls are hostile: a FIFO blocks `open` until a writer appears (forever, on the daemon's
/// one worker thread), and a device may never end. So the file is opened with `O_NONBLOCK`
/// (which returns at once for a FIFO and changes nothing for a regular file) and the opened
/// file itself is checked with `fstat`, leaving no window between the check and the open.
/// Symlinks are followed (callers check where they may lead).
pub fn open_regular(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} is not a regular file", path.display()),
        ));
    }
    Ok(file)
}

/// Reads a regular file of at most `limit` bytes. Files from a repository (AGENTS.md, project
/// rules, files a patch edits) are as hostile as anything else: a huge one, a symlink to
/// `/dev/zero` or a FIFO must cost an error, not the daemon's memory or its worker thread (see
/// [`open_regular`]).
pub fn read_limited(path: &std::path::Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = open_regular(path)?;
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
pub(crate) mod tests {
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

    /// A FIFO with no writer would block a plain `open` forever.
    #[test]
    fn a_fifo_is_refused_at_once_not_waited_on() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("settings.json");
        make_fifo(&fifo);
        let (tx, rx) = std::sync::mpsc::channel();
        let path = fifo.clone();
        std::thread::spawn(move || {
            let _ = tx.send(read_limited(&path, 100).map_err(|e| e.kind()));
        });
        let result = rx
            .recv_timeout(std::time::Duration::from_secs(5))
            .expect("reading a FIFO must not block");
        assert_eq!(result, Err(std::io::ErrorKind::InvalidInput));
        // A symlink to it is refused the same way.
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&fifo, &link).unwrap();
        assert!(read_limited(&link, 100).is_err());
    }

    pub(crate) fn make_fifo(path: &std::path::Path) {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
        // SAFETY: `c` is a valid NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
    }
}
