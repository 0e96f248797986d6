//! The plan/commit API, the write phase's rollback, symlinks inside the workdir, and parsing.

use std::fs;
use std::path::{Path, PathBuf};

use super::super::commit::FAIL_AFTER;
use super::super::{
    apply_patch, parse_patch, plan_patch, ApplyError, ApplyOutcome, ChangeKind, ChunkLine,
    FileChange, Hunk, Rollback, UpdateChunk,
};
use super::{snapshot, Env};

const MIXED: &str = "*** Begin Patch\n*** Add File: new/n.txt\n+n\n*** Update File: a.txt\n@@\n-a\n+A\n*** Delete File: b.txt\n*** Update File: c.txt\n*** Move to: d/c.txt\n@@\n-c\n+C\n*** End Patch";

fn mixed_env() -> Env {
    Env::new(&[("a.txt", "a\n"), ("b.txt", "b\n"), ("c.txt", "c\n")])
}

#[test]
fn plan_writes_nothing_and_commit_applies() {
    let env = mixed_env();
    let before = snapshot(env.path());
    let plan = plan_patch(MIXED, env.path(), &env.roots()).expect("plan");
    assert_eq!(snapshot(env.path()), before, "planning must not write");
    let kinds: Vec<_> = plan.changes().iter().map(|c| c.kind.clone()).collect();
    assert_eq!(
        kinds,
        [
            ChangeKind::Add,
            ChangeKind::Update { move_path: None },
            ChangeKind::Delete,
            ChangeKind::Update {
                move_path: Some(PathBuf::from("d/c.txt"))
            },
        ]
    );
    assert_eq!(
        plan.changes()[1].diff,
        "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-a\n+A\n"
    );
    assert_eq!(
        plan.changes()[0].diff,
        "--- /dev/null\n+++ b/new/n.txt\n@@ -0,0 +1 @@\n+n\n"
    );
    assert!(plan.changes()[2]
        .diff
        .starts_with("--- a/b.txt\n+++ /dev/null\n"));
    assert!(plan.changes()[3]
        .diff
        .starts_with("--- a/c.txt\n+++ b/d/c.txt\n"));

    let outcome = plan.commit().expect("commit");
    assert_eq!(
        outcome.summary(),
        "Success. Updated the following files:\nA new/n.txt\nM a.txt\nD b.txt\nM d/c.txt"
    );
    assert_eq!(env.read("new/n.txt"), "n\n");
    assert_eq!(env.read("a.txt"), "A\n");
    assert!(!env.path().join("b.txt").exists());
    assert!(!env.path().join("c.txt").exists());
    assert_eq!(env.read("d/c.txt"), "C\n");
}

#[test]
fn summary_lists_every_change() {
    let outcome = ApplyOutcome {
        changes: vec![FileChange {
            path: PathBuf::from("x.txt"),
            kind: ChangeKind::Delete,
            diff: String::new(),
        }],
    };
    assert_eq!(
        outcome.summary(),
        "Success. Updated the following files:\nD x.txt"
    );
}

#[test]
fn commit_refuses_a_stale_plan() {
    let env = mixed_env();
    let plan = plan_patch(MIXED, env.path(), &env.roots()).expect("plan");
    env.write("a.txt", b"edited meanwhile\n");
    let before = snapshot(env.path());
    let err = plan.commit().expect_err("stale");
    assert!(
        matches!(&err, ApplyError::Stale { path } if path == Path::new("a.txt")),
        "{err}"
    );
    assert_eq!(snapshot(env.path()), before, "nothing may be written");
}

#[test]
fn failed_rename_midway_is_rolled_back() {
    // MIXED has five steps: three renames, then two removals.
    for succeed in 0..5 {
        let env = mixed_env();
        let before = snapshot(env.path());
        FAIL_AFTER.with(|c| c.set(Some(succeed)));
        let err = apply_patch(MIXED, env.path(), &env.roots()).expect_err("injected");
        FAIL_AFTER.with(|c| c.set(None));
        match &err {
            ApplyError::Write { rollback, .. } => assert_eq!(*rollback, Rollback::Complete),
            other => panic!("expected a write error, got {other}"),
        }
        assert!(
            err.to_string()
                .contains("injected failure; no files were changed"),
            "{err}"
        );
        assert_eq!(
            snapshot(env.path()),
            before,
            "after {succeed} successful steps"
        );
    }
}

#[cfg(unix)]
#[test]
fn permissions_are_kept_and_follow_a_move() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new(&[("run.sh", "echo a\n"), ("tool.sh", "echo t\n")]);
    for f in ["run.sh", "tool.sh"] {
        fs::set_permissions(env.path().join(f), fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let patch = "*** Begin Patch\n*** Update File: run.sh\n@@\n-echo a\n+echo b\n*** Update File: tool.sh\n*** Move to: bin/tool.sh\n@@\n-echo t\n+echo u\n*** Add File: new.txt\n+x\n*** End Patch";
    apply_patch(patch, env.path(), &env.roots()).expect("apply");
    let mode = |p: &str| {
        fs::metadata(env.path().join(p))
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("run.sh"), 0o755);
    assert_eq!(mode("bin/tool.sh"), 0o755);
    assert_eq!(
        mode("new.txt") & 0o600,
        0o600,
        "new files are not temp-file private"
    );
    assert_ne!(
        mode("new.txt") & 0o044,
        0,
        "new files get the usual umask-based mode"
    );
}

#[cfg(unix)]
#[test]
fn symlink_inside_workdir_is_followed_for_update_and_removed_on_delete() {
    let env = Env::new(&[("real/target.txt", "t\n"), ("other.txt", "o\n")]);
    env.symlink(Path::new("real/target.txt"), "link.txt");
    env.symlink(Path::new("other.txt"), "other-link.txt");
    let patch = "*** Begin Patch\n*** Update File: link.txt\n@@\n-t\n+T\n*** Delete File: other-link.txt\n*** End Patch";
    apply_patch(patch, env.path(), &env.roots()).expect("apply");
    assert_eq!(env.read("real/target.txt"), "T\n");
    let link = fs::symlink_metadata(env.path().join("link.txt")).expect("link");
    assert!(link.file_type().is_symlink(), "the link stays a link");
    assert!(fs::symlink_metadata(env.path().join("other-link.txt")).is_err());
    assert_eq!(
        env.read("other.txt"),
        "o\n",
        "deleting a link keeps its target"
    );
}

#[test]
fn empty_writable_roots_make_nothing_writable() {
    let env = Env::new(&[]);
    let err = apply_patch(
        "*** Begin Patch\n*** Add File: x.txt\n+x\n*** End Patch",
        env.path(),
        &[],
    )
    .expect_err("refused");
    assert!(
        err.to_string().contains("outside the writable roots"),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn extra_writable_root_allows_symlinked_directory() {
    let env = Env::new(&[]);
    env.symlink(env.outside.path(), "shared");
    let roots = vec![env.path().to_path_buf(), env.outside.path().to_path_buf()];
    let patch = "*** Begin Patch\n*** Add File: shared/x.txt\n+x\n*** End Patch";
    apply_patch(patch, env.path(), &roots).expect("apply");
    let written = fs::read_to_string(env.outside.path().join("x.txt")).expect("read");
    assert_eq!(written, "x\n");
}

#[test]
fn missing_workdir_is_reported() {
    let err = apply_patch(
        "*** Begin Patch\n*** Add File: x.txt\n+x\n*** End Patch",
        Path::new("/nonexistent-agentd-workdir"),
        &[PathBuf::from("/nonexistent-agentd-workdir")],
    )
    .expect_err("no workdir");
    assert!(
        err.to_string().starts_with("invalid working directory"),
        "{err}"
    );
}

#[test]
fn parse_produces_the_expected_structure() {
    let patch = parse_patch(
        "*** Begin Patch\n*** Add File: a.txt\n+x\n*** Delete File: b.txt\n*** Update File: c.txt\n*** Move to: d.txt\n@@ fn main()\n ctx\n-old\n+new\n*** End of File\n*** End Patch",
    )
    .expect("parse");
    assert_eq!(
        patch.hunks,
        vec![
            Hunk::Add {
                path: PathBuf::from("a.txt"),
                contents: "x\n".to_string()
            },
            Hunk::Delete {
                path: PathBuf::from("b.txt")
            },
            Hunk::Update {
                path: PathBuf::from("c.txt"),
                move_path: Some(PathBuf::from("d.txt")),
                chunks: vec![UpdateChunk {
                    context: Some("fn main()".to_string()),
                    lines: vec![
                        ChunkLine::Context("ctx".to_string()),
                        ChunkLine::Delete("old".to_string()),
                        ChunkLine::Insert("new".to_string()),
                    ],
                    is_end_of_file: true,
                }],
            },
        ]
    );
    let chunk = match &patch.hunks[2] {
        Hunk::Update { chunks, .. } => &chunks[0],
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(chunk.old_lines(), ["ctx", "old"]);
    assert_eq!(chunk.new_lines(), ["ctx", "new"]);
}

/// One 40 MB file under four hard-linked names, each deleted by one line of patch: the plan
/// would keep 160 MB (and a diff of each) in memory, so it is refused before the fourth read.
#[test]
fn a_patch_reading_too_much_in_all_is_refused() {
    let env = Env::new(&[]);
    let big = env.path().join("h0");
    fs::write(&big, vec![b'x'; 40 << 20]).unwrap();
    for i in 1..4 {
        fs::hard_link(&big, env.path().join(format!("h{i}"))).unwrap();
    }
    let patch = "*** Begin Patch\n*** Delete File: h0\n*** Delete File: h1\n\
                 *** Delete File: h2\n*** Delete File: h3\n*** End Patch";
    let err = plan_patch(patch, env.path(), &env.roots()).unwrap_err();
    assert!(err.to_string().contains("128 MiB of files in all"), "{err}");
    assert!(env.path().join("h0").exists());
}
