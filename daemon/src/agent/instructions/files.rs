//! Which instruction files may apply to a working directory, in the order the model reads them.
//!
//! The user's own files come first (`$XDG_CONFIG_HOME/agentd/AGENTS.md`, as Codex reads
//! `~/.codex/AGENTS.md`, then Claude Code's `~/.claude/CLAUDE.md`), then each directory from the
//! repository root down to the working directory, outer first, so that the more specific file
//! comes later and wins. Within a directory: Codex's `AGENTS.md`, then Claude Code's shared
//! `CLAUDE.md` and personal `CLAUDE.local.md`, so a repository set up for either tool works
//! unchanged. Whether a file exists is `gather`'s business; this only lists where to look.

use std::path::{Path, PathBuf};

/// Where an instruction file came from (the wire's `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// The user's own, for every project.
    User,
    Agents,
    Claude,
    ClaudeLocal,
    /// Reached through an `@path` import.
    Import,
}

/// A place an instruction file may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub path: PathBuf,
    pub kind: FileKind,
    /// Claude Code's files may `@import` others; AGENTS.md has no such syntax (Codex reads an
    /// `@` there as text), so its mentions are left alone.
    pub follows_imports: bool,
    /// The directory (canonical) the file and its imports must resolve inside: a repository's
    /// files are the repository's to write, and a cloned one must not pull `~/.ssh/…` into the
    /// model's context through a symlink or an `@` import. `None` for the user's own files.
    pub within: Option<PathBuf>,
}

/// The user's directories. Passed down rather than read from the environment where used, so
/// tests can point them at temporary directories.
#[derive(Debug, Clone, Default)]
pub struct UserDirs {
    /// agentd's config directory (`$XDG_CONFIG_HOME/agentd`).
    pub agentd_config: Option<PathBuf>,
    /// `$HOME`: for `~/.claude/CLAUDE.md` and `@~/…` imports.
    pub home: Option<PathBuf>,
}

impl UserDirs {
    pub fn from_env() -> Self {
        UserDirs {
            agentd_config: crate::paths::default_config_dir().ok(),
            home: std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(PathBuf::from),
        }
    }
}

/// The files of one directory, in the order they are read.
const DIRECTORY_FILES: [(&str, FileKind); 3] = [
    ("AGENTS.md", FileKind::Agents),
    ("CLAUDE.md", FileKind::Claude),
    ("CLAUDE.local.md", FileKind::ClaudeLocal),
];

/// Every place an instruction file for `cwd` may be, in reading order.
pub fn candidates(cwd: &Path, user: &UserDirs) -> Vec<Candidate> {
    let mut out = Vec::new();
    if let Some(dir) = &user.agentd_config {
        out.push(Candidate {
            path: dir.join("AGENTS.md"),
            kind: FileKind::User,
            follows_imports: false,
            within: None,
        });
    }
    if let Some(home) = &user.home {
        out.push(Candidate {
            path: home.join(".claude").join("CLAUDE.md"),
            kind: FileKind::User,
            follows_imports: true,
            within: None,
        });
    }
    let root = crate::paths::repo_root(cwd);
    let within = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    for dir in project_dirs(cwd, root) {
        out.extend(DIRECTORY_FILES.iter().map(|(name, kind)| Candidate {
            path: dir.join(name),
            kind: *kind,
            follows_imports: *kind != FileKind::Agents,
            within: Some(within.clone()),
        }));
    }
    out
}

/// The directories from the repository root down to `cwd`; only `cwd` outside a repository
/// (files above it belong to whatever else lives there).
fn project_dirs<'a>(cwd: &'a Path, root: &Path) -> Vec<&'a Path> {
    let mut dirs: Vec<&Path> = cwd
        .ancestors()
        .take_while(|d| d.starts_with(root))
        .collect();
    dirs.reverse();
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_files_then_root_down_with_agents_claude_local_per_directory() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        let sub = root.join("a");
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::create_dir_all(&sub).unwrap();
        let user = UserDirs {
            agentd_config: Some("/cfg/agentd".into()),
            home: Some("/home/u".into()),
        };
        let got: Vec<(PathBuf, FileKind, bool)> = candidates(&sub, &user)
            .into_iter()
            .map(|c| (c.path, c.kind, c.follows_imports))
            .collect();
        let within: Vec<Option<PathBuf>> = candidates(&sub, &user)
            .into_iter()
            .map(|c| c.within)
            .collect();
        let root_real = std::fs::canonicalize(&root).unwrap();
        assert_eq!(within[..2], [None, None]);
        assert!(within[2..].iter().all(|w| w.as_ref() == Some(&root_real)));
        use FileKind::*;
        let want = vec![
            ("/cfg/agentd/AGENTS.md".into(), User, false),
            ("/home/u/.claude/CLAUDE.md".into(), User, true),
            (root.join("AGENTS.md"), Agents, false),
            (root.join("CLAUDE.md"), Claude, true),
            (root.join("CLAUDE.local.md"), ClaudeLocal, true),
            (sub.join("AGENTS.md"), Agents, false),
            (sub.join("CLAUDE.md"), Claude, true),
            (sub.join("CLAUDE.local.md"), ClaudeLocal, true),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn outside_a_repository_only_cwd_is_looked_at() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("x");
        std::fs::create_dir_all(&sub).unwrap();
        let paths: Vec<PathBuf> = candidates(&sub, &UserDirs::default())
            .into_iter()
            .map(|c| c.path)
            .collect();
        assert_eq!(
            paths,
            ["AGENTS.md", "CLAUDE.md", "CLAUDE.local.md"].map(|n| sub.join(n))
        );
    }
}
