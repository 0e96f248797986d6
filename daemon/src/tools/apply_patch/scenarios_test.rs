//! Runs the portable conformance corpus (`shared/reference/apply-patch-scenarios/`): for each
//! case, copy `input/` to a temporary directory, apply `patch.txt`, and compare the whole tree
//! with `expected/`. Case 015 records a non-atomic implementation's partial result; ours is
//! atomic, so there the tree must be left exactly as the input and an error returned.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::apply_patch;

/// The one case whose stored `expected/` we deliberately do not match (see the corpus README).
const PARTIAL_APPLICATION_CASE: &str = "015_failure_after_partial_success_leaves_changes";

/// Placeholder that keeps an otherwise empty `input/` in git; not part of the tree.
const KEEP_FILE: &str = ".keep";

fn scenarios_dir() -> PathBuf {
    agentd_protocol::reference::reference_dir("apply-patch-scenarios")
}

/// One filesystem entry of a snapshot.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Node {
    Dir,
    File(Vec<u8>),
    Symlink(PathBuf),
}

/// Every path under `root` (relative), with its kind and bytes.
pub(super) fn snapshot(root: &Path) -> BTreeMap<PathBuf, Node> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Node>) {
        let mut entries: Vec<_> = fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()))
            .map(|e| e.expect("dir entry").path())
            .collect();
        entries.sort();
        for path in entries {
            let rel = path.strip_prefix(root).expect("under root").to_path_buf();
            let meta = fs::symlink_metadata(&path).expect("metadata");
            if meta.file_type().is_symlink() {
                out.insert(rel, Node::Symlink(fs::read_link(&path).expect("read_link")));
            } else if meta.is_dir() {
                out.insert(rel, Node::Dir);
                walk(root, &path, out);
            } else {
                out.insert(rel, Node::File(fs::read(&path).expect("read")));
            }
        }
    }
    let mut out = BTreeMap::new();
    if root.is_dir() {
        walk(root, root, &mut out);
    }
    out.remove(Path::new(KEEP_FILE));
    out
}

fn copy_tree(from: &Path, to: &Path) {
    if !from.is_dir() {
        return;
    }
    for entry in fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("dir entry");
        let (src, name) = (entry.path(), entry.file_name());
        if name == KEEP_FILE {
            continue;
        }
        let dst = to.join(&name);
        if src.is_dir() {
            fs::create_dir(&dst).expect("create_dir");
            copy_tree(&src, &dst);
        } else {
            fs::copy(&src, &dst).expect("copy");
        }
    }
}

#[test]
fn reference_scenarios() {
    let dir = scenarios_dir();
    let mut cases: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("scenarios at {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.join("patch.txt").is_file())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 23,
        "expected the 23 reference cases, found {}",
        cases.len()
    );

    let mut failures = Vec::new();
    for case in &cases {
        let name = case
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let work = tempfile::tempdir().expect("tempdir");
        copy_tree(&case.join("input"), work.path());
        let patch = fs::read_to_string(case.join("patch.txt")).expect("patch.txt");
        let result = apply_patch(&patch, work.path(), &[work.path().to_path_buf()]);

        let expected = if name == PARTIAL_APPLICATION_CASE {
            if result.is_ok() {
                failures.push(format!("{name}: expected an error, got {result:?}"));
            }
            snapshot(&case.join("input"))
        } else {
            snapshot(&case.join("expected"))
        };
        // Every case whose tree must stay as it was is a rejection: it must report an error.
        if expected == snapshot(&case.join("input")) && result.is_ok() {
            failures.push(format!("{name}: tree unchanged but no error was returned"));
        }
        let actual = snapshot(work.path());
        if actual != expected {
            failures.push(format!(
                "{name}: tree differs (result {result:?})\n  actual:   {actual:?}\n  expected: {expected:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!("{} reference scenarios passed", cases.len());
}
