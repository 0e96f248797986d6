//! Our own cases. The table cases (`success.rs`, `rejections.rs`) each set up a working
//! directory, apply a patch and check either the exact resulting tree or the error message
//! together with an unchanged tree (and an unchanged directory outside the workdir, which
//! symlink cases point into). `api.rs` covers the plan/commit API, rollback and symlinks.

mod api;
mod rejections;
mod success;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use super::apply_patch;
use super::scenarios_test::{snapshot, Node};

/// A working directory and, beside it, a directory outside the writable roots.
pub(super) struct Env {
    pub work: TempDir,
    pub outside: TempDir,
}

impl Env {
    pub fn new(files: &[(&str, &str)]) -> Env {
        let env = Env {
            work: tempfile::tempdir().expect("tempdir"),
            outside: tempfile::tempdir().expect("tempdir"),
        };
        for (path, contents) in files {
            env.write(path, contents.as_bytes());
        }
        env
    }

    pub fn path(&self) -> &Path {
        self.work.path()
    }

    pub fn roots(&self) -> Vec<PathBuf> {
        vec![self.path().to_path_buf()]
    }

    /// Writes a file, or creates a directory if `path` ends with `/`.
    pub fn write(&self, path: &str, contents: &[u8]) {
        let full = self.path().join(path);
        if path.ends_with('/') {
            fs::create_dir_all(&full).expect("create_dir_all");
            return;
        }
        if let Some(parent) = full.parent() {
            fs::create_dir_all(parent).expect("create_dir_all");
        }
        fs::write(&full, contents).expect("write");
    }

    pub fn read(&self, path: &str) -> String {
        fs::read_to_string(self.path().join(path)).expect("read")
    }

    #[cfg(unix)]
    pub fn symlink(&self, target: &Path, link: &str) {
        std::os::unix::fs::symlink(target, self.path().join(link)).expect("symlink");
    }
}

/// What a case must end in.
pub(super) enum Expect {
    /// Success, and the whole tree afterwards: files with contents (a path ending in `/` is a
    /// directory, which must exist and may be empty; parents of files are implied).
    Tree(&'static [(&'static str, &'static str)]),
    /// An error whose message contains every string, and no change anywhere.
    Error(&'static [&'static str]),
}

pub(super) struct Case {
    pub files: &'static [(&'static str, &'static str)],
    /// Extra setup beyond `files`, e.g. symlinks or non-UTF-8 files.
    pub setup: Option<fn(&Env)>,
    pub patch: &'static str,
    pub expect: Expect,
}

impl Case {
    pub const DEFAULT: Case = Case {
        files: &[],
        setup: None,
        patch: "",
        expect: Expect::Tree(&[]),
    };
}

fn expected_tree(files: &[(&str, &str)]) -> BTreeMap<PathBuf, Node> {
    let mut tree = BTreeMap::new();
    for (path, contents) in files {
        let p = PathBuf::from(path.trim_end_matches('/'));
        for ancestor in p.ancestors().skip(1) {
            if !ancestor.as_os_str().is_empty() {
                tree.insert(ancestor.to_path_buf(), Node::Dir);
            }
        }
        let node = if path.ends_with('/') {
            Node::Dir
        } else {
            Node::File(contents.as_bytes().to_vec())
        };
        tree.insert(p, node);
    }
    tree
}

pub(super) fn run(case: &Case) {
    let env = Env::new(case.files);
    if let Some(setup) = case.setup {
        setup(&env);
    }
    let before = snapshot(env.path());
    let outside_before = snapshot(env.outside.path());
    let result = apply_patch(case.patch, env.path(), &env.roots());
    match case.expect {
        Expect::Tree(files) => {
            if let Err(e) = &result {
                panic!("expected success, got error: {e}");
            }
            assert_eq!(snapshot(env.path()), expected_tree(files));
        }
        Expect::Error(needles) => {
            let message = match &result {
                Ok(outcome) => panic!("expected an error, got {outcome:?}"),
                Err(e) => e.to_string(),
            };
            for needle in needles {
                assert!(
                    message.contains(needle),
                    "error message {message:?} does not contain {needle:?}"
                );
            }
            assert_eq!(snapshot(env.path()), before, "the tree must be unchanged");
        }
    }
    assert_eq!(
        snapshot(env.outside.path()),
        outside_before,
        "outside must be unchanged"
    );
}

/// Declares one `#[test]` per case, so each shows up (and fails) on its own.
macro_rules! cases {
    ($($name:ident: $case:expr;)+) => {
        $(
            #[test]
            fn $name() {
                super::run(&$case);
            }
        )+
    };
}
pub(super) use cases;
