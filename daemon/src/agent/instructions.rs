//! The instructions sent with every model request: built-in base instructions, then AGENTS.md
//! files from the repository root down to the working directory (deeper files refine shallower
//! ones, so they come later), then the thread's developer instructions.
//!
//! Every byte here is paid for on every request, so the base text is short.

use std::path::{Path, PathBuf};

/// Largest AGENTS.md read, per file; the rest is cut with a note.
const MAX_AGENTS_MD_BYTES: usize = 32 * 1024;

pub const BASE_INSTRUCTIONS: &str = "\
You are a coding agent running in agentd, working in the user's workspace on their behalf.
- Work autonomously until the task is done; keep the user informed with brief updates.
- Read before you change: inspect files and run commands to understand the code first.
- Make focused, minimal changes that fit the existing style; do not fix unrelated issues.
- Use the apply_patch tool to edit files and the shell tool to run commands (prefer rg to grep).
- Commands may run in a sandbox; if one is denied and it matters, explain why and ask to escalate.
- Verify your work (build, tests) when you can, and say what you could not verify.
- Finish with a concise summary of what you changed and anything left to do.";

/// The repository root for `cwd`: the nearest ancestor holding `.git`, else `cwd` itself.
fn repo_root(cwd: &Path) -> PathBuf {
    cwd.ancestors()
        .find(|dir| dir.join(".git").exists())
        .unwrap_or(cwd)
        .to_path_buf()
}

/// AGENTS.md files that apply to `cwd`, outermost first, with their contents.
pub fn agents_md_files(cwd: &Path) -> Vec<(PathBuf, String)> {
    let root = repo_root(cwd);
    let mut dirs: Vec<&Path> = cwd
        .ancestors()
        .take_while(|d| d.starts_with(&root))
        .collect();
    dirs.reverse();
    dirs.into_iter()
        .filter_map(|dir| {
            let path = dir.join("AGENTS.md");
            let (bytes, cut) = read_head(&path, MAX_AGENTS_MD_BYTES)?;
            let mut text = String::from_utf8_lossy(&bytes).into_owned();
            if cut {
                text.push_str("\n[AGENTS.md truncated]");
            }
            Some((path, text))
        })
        .collect()
}

/// The first `limit` bytes of a regular file, and whether there was more.
fn read_head(path: &Path, limit: usize) -> Option<(Vec<u8>, bool)> {
    use std::io::Read;
    let file = std::fs::File::open(path).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut bytes = Vec::new();
    file.take(limit as u64 + 1).read_to_end(&mut bytes).ok()?;
    let cut = bytes.len() > limit;
    bytes.truncate(limit);
    Some((bytes, cut))
}

pub fn build_instructions(base: Option<&str>, developer: Option<&str>, cwd: &Path) -> String {
    let mut out = String::from(base.unwrap_or(BASE_INSTRUCTIONS));
    for (path, text) in agents_md_files(cwd) {
        out.push_str(&format!(
            "\n\n# Instructions from {}\n\n{}",
            path.display(),
            text.trim_end()
        ));
    }
    if let Some(dev) = developer.filter(|d| !d.trim().is_empty()) {
        out.push_str("\n\n# Developer instructions\n\n");
        out.push_str(dev.trim_end());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_from_root_down_then_developer() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        let sub = root.join("a/b");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::write(dir.path().join("AGENTS.md"), "OUTSIDE").unwrap();
        std::fs::write(root.join("AGENTS.md"), "ROOT").unwrap();
        std::fs::write(root.join("a/b/AGENTS.md"), "DEEP").unwrap();
        let text = build_instructions(None, Some("DEV"), &sub);
        let (r, d, v) = (
            text.find("ROOT").unwrap(),
            text.find("DEEP").unwrap(),
            text.find("DEV").unwrap(),
        );
        assert!(r < d && d < v, "{text}");
        assert!(
            !text.contains("OUTSIDE"),
            "files above the repo root are not read"
        );
        assert!(text.starts_with(BASE_INSTRUCTIONS));
    }

    #[test]
    fn without_a_repo_only_cwd_counts() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("AGENTS.md"), "HERE").unwrap();
        let text = build_instructions(Some("BASE"), None, dir.path());
        assert!(text.starts_with("BASE") && text.contains("HERE"));
    }
}
