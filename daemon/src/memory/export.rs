//! The summaries as files people can read: `<data dir>/memory/<project>/memory_summary.md`,
//! written whole (a temporary file renamed over the old one).

use std::path::{Path, PathBuf};

use super::project::file_stem;

pub fn summary_path(data_dir: &Path, project: &str) -> PathBuf {
    data_dir
        .join("memory")
        .join(file_stem(project))
        .join("memory_summary.md")
}

pub fn write(data_dir: &Path, project: &str, summary: &str) -> std::io::Result<()> {
    let path = summary_path(data_dir, project);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("md.tmp");
    std::fs::write(&tmp, format!("# Memory of {project}\n\n{summary}\n"))?;
    std::fs::rename(&tmp, &path)
}

/// Removes the exported files of one project (every project's when `None`).
pub fn remove(data_dir: &Path, project: Option<&str>) {
    let dir = match project {
        Some(p) => data_dir.join("memory").join(file_stem(p)),
        None => data_dir.join("memory"),
    };
    if let Err(e) = std::fs::remove_dir_all(&dir) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot remove exported memory");
        }
    }
}
