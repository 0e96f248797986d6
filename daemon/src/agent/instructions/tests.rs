//! The instructions pipeline end to end on temporary directories: discovery order, imports,
//! de-duplication and caps. The import parser's own cases are in `imports.rs`.

use std::path::{Path, PathBuf};

use super::files::{candidates, FileKind, UserDirs};
use super::gather::{gather, read_head, Caps, Cut, InstructionFile};
use super::{files_for, render, BASE_INSTRUCTIONS};

/// A temporary home, config dir and repository (`repo/` with `.git`).
struct Setup {
    _dir: tempfile::TempDir,
    home: PathBuf,
    config: PathBuf,
    repo: PathBuf,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let config = dir.path().join("config/agentd");
        let repo = dir.path().join("repo");
        for d in [&home.join(".claude"), &config, &repo.join(".git")] {
            std::fs::create_dir_all(d).unwrap();
        }
        Setup {
            _dir: dir,
            home,
            config,
            repo,
        }
    }

    fn write(&self, path: &Path, text: &str) -> PathBuf {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        path.to_path_buf()
    }

    fn user(&self) -> UserDirs {
        UserDirs {
            agentd_config: Some(self.config.clone()),
            home: Some(self.home.clone()),
        }
    }

    /// The files for `cwd` in an untrusted repository.
    fn files(&self, cwd: &Path, caps: Caps) -> Vec<InstructionFile> {
        gather(&candidates(cwd, &self.user()), Some(&self.home), caps)
    }

    /// The files for `cwd` in a trusted repository (imports may leave it).
    fn trusted_files(&self, cwd: &Path) -> Vec<InstructionFile> {
        files_for(cwd, &self.user(), true)
    }

    fn text(&self, cwd: &Path, developer: Option<&str>) -> String {
        let files = self.files(cwd, Caps::default());
        render(BASE_INSTRUCTIONS, Some("MEMORY"), &files, developer)
    }
}

fn texts(files: &[InstructionFile]) -> Vec<&str> {
    files.iter().map(|f| f.text.as_str()).collect()
}

fn positions(text: &str, parts: &[&str]) -> Vec<usize> {
    parts
        .iter()
        .map(|p| {
            text.find(p)
                .unwrap_or_else(|| panic!("{p} missing from {text}"))
        })
        .collect()
}

#[test]
fn base_memory_user_files_then_root_down_then_developer() {
    let s = Setup::new();
    let sub = s.repo.join("a/b");
    s.write(&s.repo.parent().unwrap().join("AGENTS.md"), "OUTSIDE");
    s.write(&s.config.join("AGENTS.md"), "USER-AGENTS");
    s.write(&s.home.join(".claude/CLAUDE.md"), "USER-CLAUDE");
    s.write(&s.repo.join("AGENTS.md"), "ROOT-AGENTS");
    s.write(&s.repo.join("CLAUDE.md"), "ROOT-CLAUDE");
    s.write(&s.repo.join("CLAUDE.local.md"), "ROOT-LOCAL");
    s.write(&sub.join("CLAUDE.md"), "DEEP-CLAUDE");
    s.write(&sub.join("AGENTS.md"), "DEEP-AGENTS");
    let text = s.text(&sub, Some("DEV"));
    let order = [
        "MEMORY",
        "USER-AGENTS",
        "USER-CLAUDE",
        "ROOT-AGENTS",
        "ROOT-CLAUDE",
        "ROOT-LOCAL",
        "DEEP-AGENTS",
        "DEEP-CLAUDE",
        "DEV",
    ];
    let pos = positions(&text, &order);
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "{text}");
    assert!(text.starts_with(BASE_INSTRUCTIONS));
    assert!(text.contains("# Memory from earlier threads in this project\n\nMEMORY"));
    let heading = format!("# Instructions from {}", s.repo.join("CLAUDE.md").display());
    assert!(text.contains(&heading), "{text}");
    assert!(
        !text.contains("OUTSIDE"),
        "files above the repo root are not read"
    );
}

#[test]
fn without_a_repo_only_cwd_counts() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("AGENTS.md"), "HERE").unwrap();
    let files = gather(
        &candidates(dir.path(), &UserDirs::default()),
        None,
        Caps::default(),
    );
    let text = render("BASE", None, &files, None);
    assert!(text.starts_with("BASE") && text.contains("HERE"));
    assert!(!text.contains("Memory"));
}

#[test]
fn imports_relative_home_absolute_and_nested_follow_their_importer() {
    let s = Setup::new();
    let abs = s.write(&s.repo.join("elsewhere/abs.md"), "ABS");
    s.write(&s.home.join("mine.md"), "HOME-IMPORT");
    s.write(&s.repo.join("docs/style.md"), "STYLE @nested/deeper.md");
    s.write(&s.repo.join("docs/nested/deeper.md"), "DEEPER");
    let claude = s.write(
        &s.repo.join("CLAUDE.md"),
        &format!("ROOT @docs/style.md @~/mine.md @{}.\n", abs.display()),
    );
    s.write(&s.repo.join("CLAUDE.local.md"), "LOCAL");
    let files = s.trusted_files(&s.repo);
    assert_eq!(
        texts(&files)[1..],
        [
            "STYLE @nested/deeper.md",
            "DEEPER",
            "HOME-IMPORT",
            "ABS",
            "LOCAL"
        ]
    );
    assert_eq!(files[0].kind, FileKind::Claude);
    let style = &files[1];
    assert_eq!(style.kind, FileKind::Import);
    assert_eq!(style.imported_from.as_deref(), Some(claude.as_path()));
    let canonical_style = std::fs::canonicalize(s.repo.join("docs/style.md")).unwrap();
    assert_eq!(
        files[2].imported_from.as_deref(),
        Some(canonical_style.as_path())
    );
    let text = render("B", None, &files, None);
    assert!(text.contains(&format!(
        "(imported by {})\n\nDEEPER",
        canonical_style.display()
    )));
}

#[test]
fn imports_stop_after_five_hops() {
    let s = Setup::new();
    for i in 1..=7 {
        s.write(
            &s.repo.join(format!("d{i}.md")),
            &format!("D{i} @d{}.md", i + 1),
        );
    }
    s.write(&s.repo.join("CLAUDE.md"), "@d1.md");
    let files = s.files(&s.repo, Caps::default());
    let got: Vec<&str> = files.iter().map(|f| &f.text[..2]).collect();
    assert_eq!(got, ["@d", "D1", "D2", "D3", "D4", "D5"]);
}

#[test]
fn import_cycles_end_and_each_file_comes_once() {
    let s = Setup::new();
    s.write(&s.repo.join("a.md"), "A @b.md");
    s.write(&s.repo.join("b.md"), "B @a.md @CLAUDE.md");
    s.write(&s.repo.join("CLAUDE.md"), "TOP @a.md @b.md");
    let files = s.files(&s.repo, Caps::default());
    assert_eq!(
        texts(&files),
        ["TOP @a.md @b.md", "A @b.md", "B @a.md @CLAUDE.md"]
    );
}

#[test]
fn code_mentions_missing_files_and_agents_md_mentions_are_not_imports() {
    let s = Setup::new();
    for name in ["span.md", "fenced.md", "from-agents.md"] {
        s.write(&s.repo.join(name), name);
    }
    s.write(&s.repo.join("AGENTS.md"), "@from-agents.md");
    s.write(
        &s.repo.join("CLAUDE.md"),
        "`@span.md` @missing.md\n```\n@fenced.md\n```\n",
    );
    let files = s.files(&s.repo, Caps::default());
    let kinds: Vec<FileKind> = files.iter().map(|f| f.kind).collect();
    assert_eq!(kinds, [FileKind::Agents, FileKind::Claude]);
}

#[cfg(unix)]
#[test]
fn a_claude_md_linked_to_agents_md_is_included_once_but_its_imports_are_followed() {
    let s = Setup::new();
    s.write(&s.repo.join("AGENTS.md"), "SHARED @extra.md");
    s.write(&s.repo.join("extra.md"), "EXTRA");
    let claude = s.repo.join("CLAUDE.md");
    std::os::unix::fs::symlink("AGENTS.md", &claude).unwrap();
    let files = s.files(&s.repo, Caps::default());
    assert_eq!(texts(&files), ["SHARED @extra.md", "EXTRA"]);
    assert_eq!(files[0].kind, FileKind::Agents);
    assert_eq!(files[1].imported_from.as_deref(), Some(claude.as_path()));
}

#[test]
fn each_file_is_cut_at_its_cap_and_all_at_the_total() {
    let s = Setup::new();
    s.write(&s.config.join("AGENTS.md"), &"u".repeat(30));
    s.write(&s.repo.join("AGENTS.md"), &"a".repeat(20));
    s.write(&s.repo.join("CLAUDE.md"), "c");
    s.write(&s.repo.join("CLAUDE.local.md"), "l");
    let caps = Caps {
        file: 16,
        total: 24,
        depth: 5,
    };
    let files = s.files(&s.repo, caps);
    let summary: Vec<(usize, Option<Cut>)> = files.iter().map(|f| (f.bytes(), f.cut)).collect();
    assert_eq!(
        summary,
        [
            (16, Some(Cut::FileCap)),
            (8, Some(Cut::TotalCap)),
            (0, Some(Cut::LeftOut)),
            (0, Some(Cut::LeftOut)),
        ]
    );
    let text = render("B", None, &files, None);
    assert!(text.contains("[truncated: only its first 32 KiB are read]"));
    assert!(text.contains("[truncated: the 128 KiB total for instruction files was reached]"));
    let left_out = format!(
        "[Left out, over the 128 KiB total for instruction files: {}, {}]",
        s.repo.join("CLAUDE.md").display(),
        s.repo.join("CLAUDE.local.md").display()
    );
    assert!(text.contains(&left_out), "{text}");
}

#[test]
fn a_cut_never_splits_a_character() {
    let s = Setup::new();
    s.write(&s.repo.join("AGENTS.md"), "ééééé");
    let caps = Caps {
        file: 5,
        total: 100,
        depth: 5,
    };
    let files = s.files(&s.repo, caps);
    assert_eq!(files[0].text, "éé");
}

#[test]
fn an_untrusted_repository_imports_only_from_inside_itself() {
    let s = Setup::new();
    let secret = s.write(&s.home.join("secret.md"), "SECRET");
    s.write(&s.home.join("mine.md"), "MINE");
    s.write(&s.repo.join("inside.md"), "INSIDE");
    s.write(
        &s.repo.join("CLAUDE.md"),
        &format!("@~/secret.md @{} @inside.md", secret.display()),
    );
    #[cfg(unix)]
    std::os::unix::fs::symlink(&secret, s.repo.join("CLAUDE.local.md")).unwrap();
    // The user's own file may import from anywhere.
    s.write(&s.home.join(".claude/CLAUDE.md"), "@~/mine.md");
    let files = s.files(&s.repo, Caps::default());
    let kinds: Vec<FileKind> = files.iter().map(|f| f.kind).collect();
    use FileKind::*;
    assert_eq!(kinds, [User, Import, Claude, Import]);
    assert_eq!(texts(&files)[1], "MINE");
    assert_eq!(texts(&files)[3], "INSIDE");
    let trusted = s.trusted_files(&s.repo);
    assert!(trusted.iter().any(|f| f.text == "SECRET"));
}

#[cfg(unix)]
#[test]
fn rereading_a_linked_file_for_its_imports_is_charged_to_the_total() {
    let s = Setup::new();
    s.write(&s.repo.join("AGENTS.md"), &"a".repeat(20));
    std::os::unix::fs::symlink("AGENTS.md", s.repo.join("CLAUDE.md")).unwrap();
    s.write(&s.repo.join("CLAUDE.local.md"), "local");
    let caps = Caps {
        file: 16 * 1024,
        total: 30,
        depth: 5,
    };
    let files = s.files(&s.repo, caps);
    let summary: Vec<(usize, Option<Cut>)> = files.iter().map(|f| (f.bytes(), f.cut)).collect();
    // 20 for AGENTS.md, the other 10 spent reading it again as CLAUDE.md: nothing is left.
    assert_eq!(summary, [(20, None), (0, Some(Cut::LeftOut))]);
}

#[test]
fn a_fifo_instruction_file_is_skipped_not_waited_on() {
    let s = Setup::new();
    crate::paths::tests::make_fifo(&s.repo.join("AGENTS.md"));
    crate::paths::tests::make_fifo(&s.repo.join("imported.md"));
    s.write(&s.repo.join("CLAUDE.md"), "ROOT @imported.md");
    let (tx, rx) = std::sync::mpsc::channel();
    let repo = s.repo.clone();
    let user = s.user();
    let home = s.home.clone();
    std::thread::spawn(move || {
        let files = gather(&candidates(&repo, &user), Some(&home), Caps::default());
        let _ = tx.send(files.into_iter().map(|f| f.text).collect::<Vec<_>>());
    });
    let texts = rx
        .recv_timeout(std::time::Duration::from_secs(5))
        .expect("a FIFO must not block the instructions");
    assert_eq!(texts, ["ROOT @imported.md"]);
    // Read directly (as when one is swapped in after the walk looked), it is refused at once.
    assert!(read_head(&s.repo.join("AGENTS.md"), 100).is_none());
}
