//! What a sandboxed command may write: its workspace (in `workspace-write`), nothing else —
//! not outside the workspace, not `/etc`, not `.git` (existing or not), not through a symlink —
//! and no mount call can change that, even for a root daemon. Run through `agentd
//! sandbox-exec` directly, exactly as the daemon runs it.

use crate::sandbox_support;

use sandbox_support::{confinement_or_refusal, Workspace};

#[test]
fn workspace_write_writes_inside_the_workspace() {
    if !confinement_or_refusal() {
        return;
    }
    let ws = Workspace::new();
    let r =
        ws.run_write("mkdir -p sub/dir && echo hello > sub/dir/f && cat sub/dir/f && rm sub/dir/f");
    assert!(r.ok(), "{r:?}");
    assert_eq!(r.stdout, "hello\n");
    assert!(ws.path("sub/dir").is_dir());
    assert!(!ws.path("sub/dir/f").exists());
}

#[test]
fn writes_outside_the_workspace_are_denied_in_every_confined_mode() {
    if !confinement_or_refusal() {
        return;
    }
    let ws = Workspace::new();
    let target = ws.outside.join("escaped");
    let script = format!(
        "touch {t} || echo denied; touch /etc/agentd-sandbox-test || echo denied",
        t = target.display()
    );
    let write = ws.write_flags();
    let write: Vec<&str> = write.iter().map(String::as_str).collect();
    for flags in [write, vec!["--mode", "read-only"]] {
        let r = ws.run(&flags, &script);
        let _ = std::fs::remove_file("/etc/agentd-sandbox-test");
        assert_eq!(
            r.stdout, "denied\ndenied\n",
            "both writes fail ({flags:?}): {r:?}"
        );
        assert!(r.stderr.contains("Read-only file system"), "{r:?}");
        assert!(!target.exists(), "nothing escaped ({flags:?})");
    }
}

#[test]
fn read_only_mode_reads_but_does_not_write_the_workspace() {
    if !confinement_or_refusal() {
        return;
    }
    let ws = Workspace::new();
    std::fs::write(ws.path("existing"), "content\n").unwrap();
    let r = ws.run(
        &["--mode", "read-only"],
        "cat existing; echo changed > existing; touch new",
    );
    assert_ne!(r.code, 0);
    assert_eq!(r.stdout, "content\n");
    assert!(r.stderr.contains("Read-only file system"), "{r:?}");
    assert_eq!(
        std::fs::read_to_string(ws.path("existing")).unwrap(),
        "content\n"
    );
    assert!(!ws.path("new").exists());
}

#[test]
fn an_existing_git_dir_is_read_only_and_cannot_be_moved_or_removed() {
    if !confinement_or_refusal() {
        return;
    }
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path(".git/hooks")).unwrap();
    std::fs::write(ws.path(".git/config"), "[core]\n").unwrap();
    let r = ws.run_write(
        "(echo evil > .git/hooks/pre-commit) 2>&1 || echo denied; \
         (echo x >> .git/config) 2>&1 || echo denied; \
         rm -rf .git 2>&1 || echo denied; \
         mv .git moved 2>&1 || echo denied",
    );
    assert_eq!(r.stdout.matches("denied").count(), 4, "{r:?}");
    assert!(r.stdout.contains("Read-only file system"), "{r:?}");
    assert!(!ws.path(".git/hooks/pre-commit").exists());
    assert_eq!(
        std::fs::read_to_string(ws.path(".git/config")).unwrap(),
        "[core]\n"
    );
    assert!(!ws.path("moved").exists());
}

#[test]
fn missing_protected_paths_cannot_be_created_and_leave_nothing_behind() {
    if !confinement_or_refusal() {
        return;
    }
    let ws = Workspace::new();
    std::fs::write(ws.path("keep"), "").unwrap();
    for script in [
        "git init -q . ",
        "mkdir -p .git/hooks && echo evil > .git/hooks/post-checkout",
        "echo gitdir: /tmp/evil > .git",
        "rmdir .git && ln -s /tmp .git",
        "mkdir -p .agentd/rules && echo 'prefix_rule(pattern=[\"rm\"], decision=\"allow\")' > .agentd/rules/x.rules",
        "mkdir -p .agents && touch .agents/skill.md",
        "mv .agents elsewhere",
    ] {
        let r = ws.run_write(script);
        assert_ne!(r.code, 0, "`{script}` must fail: {r:?}");
        ws.assert_listing(&["keep"]);
    }
    // And the command sees them as empty read-only directories while it runs.
    let r = ws.run_write("ls -a .git .agentd .agents | tr '\\n' ' '");
    assert!(r.ok(), "{r:?}");
    assert_eq!(r.stdout.matches("..").count(), 3, "{r:?}");
    ws.assert_listing(&["keep"]);
}

#[test]
fn a_symlink_out_of_the_workspace_does_not_lead_out() {
    if !confinement_or_refusal() {
        return;
    }
    let ws = Workspace::new();
    let target = ws.outside.join("target");
    std::fs::write(&target, "original\n").unwrap();
    std::os::unix::fs::symlink(&target, ws.path("link")).unwrap();
    std::os::unix::fs::symlink(&ws.outside, ws.path("dirlink")).unwrap();
    let r = ws.run_write(
        "(echo changed > link) 2>/dev/null || echo denied; \
         touch dirlink/new 2>/dev/null || echo denied; cat link",
    );
    assert_eq!(r.stdout, "denied\ndenied\noriginal\n", "{r:?}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "original\n");
    assert!(!ws.outside.join("new").exists());
}

#[test]
fn mount_and_umount_are_denied_even_for_a_root_daemon() {
    if !confinement_or_refusal() {
        return;
    }
    let ws = Workspace::new();
    std::fs::create_dir(ws.path(".git")).unwrap();
    std::fs::create_dir(ws.path("mnt")).unwrap();
    // Straight system calls (perl, so no setuid-aware `umount` binary second-guesses them).
    let r = ws.run_write(
        "umount .git; echo umount=$?; umount -l .git; echo lazy=$?; \
         mount -t tmpfs none mnt; echo mount=$?; mount --bind mnt .git; echo bind=$?; \
         unshare -Urm true; echo unshare=$?; \
         perl -e 'my $p = \".git\"; syscall(166, $p, 2) == -1 and print \"errno=\", $!+0, \"\\n\"'; \
         touch .git/written; echo write=$?",
    );
    for line in ["umount=", "lazy=", "mount=", "bind=", "unshare=", "write="] {
        let v = r
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix(line))
            .unwrap_or_else(|| panic!("no {line} in {r:?}"));
        assert_ne!(v, "0", "{line} must fail: {r:?}");
    }
    if cfg!(target_arch = "x86_64") {
        // umount2(2) is 166 on x86_64; EPERM is 1.
        assert!(r.stdout.contains("errno=1\n"), "{r:?}");
    }
    assert!(!ws.path(".git/written").exists());
    assert!(ws.path(".git").is_dir());
}

#[test]
fn danger_full_access_is_not_confined() {
    if !confinement_or_refusal() {
        return;
    }
    let ws = Workspace::new();
    let target = ws.outside.join("free");
    let r = ws.run(
        &["--mode", "danger-full-access"],
        &format!("touch {} && echo ok", target.display()),
    );
    assert!(r.ok(), "{r:?}");
    assert!(target.exists());
}

#[test]
fn many_runs_leave_the_workspace_as_the_commands_left_it() {
    if !confinement_or_refusal() {
        return;
    }
    let ws = Workspace::new();
    for i in 0..5 {
        let r = ws.run_write(&format!("echo {i} > out-{i}"));
        assert!(r.ok(), "{r:?}");
    }
    ws.assert_listing(&["out-0", "out-1", "out-2", "out-3", "out-4"]);
}

#[test]
fn a_protected_path_that_is_a_symlink_stays_as_it_is() {
    if !confinement_or_refusal() {
        return;
    }
    let ws = Workspace::new();
    std::fs::create_dir(ws.path("shared-skills")).unwrap();
    std::os::unix::fs::symlink("shared-skills", ws.path(".agents")).unwrap();
    let r = ws.run_write(
        "(echo x > .agents/skill.md) 2>/dev/null || echo denied; \
         rm .agents 2>/dev/null || echo denied; \
         ln -sfn elsewhere .agents 2>/dev/null || echo denied; \
         (echo x > shared-skills/skill.md) 2>/dev/null || echo denied",
    );
    assert_eq!(r.stdout, "denied\ndenied\ndenied\ndenied\n", "{r:?}");
    assert_eq!(
        std::fs::read_link(ws.path(".agents")).unwrap(),
        std::path::Path::new("shared-skills")
    );
    assert!(!ws.path("shared-skills/skill.md").exists());
}

#[test]
fn a_protected_symlink_dangling_into_the_workspace_cannot_be_brought_to_life() {
    if !confinement_or_refusal() {
        return;
    }
    let ws = Workspace::new();
    std::os::unix::fs::symlink("real-git", ws.path(".git")).unwrap();
    let r = ws.run_write(
        "(mkdir -p real-git/hooks && echo evil > real-git/hooks/post-checkout) 2>/dev/null \
         || echo denied; (echo evil > .git/config) 2>/dev/null || echo denied",
    );
    assert_eq!(r.stdout, "denied\ndenied\n", "{r:?}");
    // The placeholder that kept the target from being created is removed by the helper's
    // cleaner after the command is reported done (off its critical path): wait for that.
    ws.assert_listing(&[".git"]);
    assert!(
        !ws.path("real-git").exists(),
        "nothing is left behind: {r:?}"
    );
    assert_eq!(
        std::fs::read_link(ws.path(".git")).unwrap(),
        std::path::Path::new("real-git")
    );
}
