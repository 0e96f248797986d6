//! The record file (`--record FILE`): one event per line, appended and flushed at once, so a
//! test can read it while the server runs or after it was killed, and several server processes
//! (restarts, one per session) can share one file.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

/// Where events go; `Record::default()` records nothing.
#[derive(Clone, Debug, Default)]
pub struct Record {
    path: Option<Arc<PathBuf>>,
}

impl Record {
    pub fn new(path: Option<PathBuf>) -> Self {
        Self {
            path: path.map(Arc::new),
        }
    }

    /// Appends `line` (one `write` call, so lines of concurrent writers never interleave).
    /// A failure is reported on stderr only: the tool call itself should still be answered.
    pub fn line(&self, line: &str) {
        let Some(path) = &self.path else { return };
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path.as_path())
            .and_then(|mut f| {
                f.write_all(format!("{line}\n").as_bytes())?;
                f.flush()
            });
        if let Err(err) = appended {
            eprintln!("mock-mcp: cannot append to {}: {err}", path.display());
        }
    }
}
