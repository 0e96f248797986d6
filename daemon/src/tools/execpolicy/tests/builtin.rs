use super::super::Safety;
use super::safety;

fn assert_all(lines: &[&str], expected: fn(&Safety) -> bool, what: &str) {
    for line in lines {
        let got = safety(line);
        assert!(expected(&got), "{line:?} should be {what}, got {got:?}");
    }
}

fn known_safe(lines: &[&str]) {
    assert_all(lines, |s| *s == Safety::KnownSafe, "known-safe");
}

fn unknown(lines: &[&str]) {
    assert_all(lines, |s| *s == Safety::Unknown, "unknown");
}

fn dangerous(lines: &[&str]) {
    assert_all(lines, |s| matches!(s, Safety::Dangerous(_)), "dangerous");
}

#[test]
fn plain_read_only_commands_are_known_safe() {
    known_safe(&[
        "ls -la src",
        "cat Cargo.toml",
        "head -n 5 a",
        "tail -f log",
        "wc -l a b",
        "pwd",
        "echo hello world",
        "grep -rn TODO src",
        "rg -n 'fn main' --glob '*.rs'",
        "which cargo",
        "file a.out",
        "stat -c %s a",
        "diff -u a b",
        "sort -n -k 2 a",
        "uniq -c a",
        "cut -d: -f1 /etc/passwd",
        "tr a-z A-Z",
        "true",
        "false",
        "basename /a/b",
        "du -sh .",
    ]);
}

#[test]
fn programs_by_path_or_unlisted_are_unknown() {
    unknown(&[
        "/bin/ls",
        "./cat a",
        "make",
        "python3 x.py",
        "env ls",
        "xargs cat",
        "npm test",
    ]);
    assert_eq!(safety(""), Safety::Unknown);
}

#[test]
fn find_is_safe_only_without_actions_that_run_or_write() {
    known_safe(&["find . -name '*.rs' -type f", "find src -maxdepth 2 -print"]);
    unknown(&[
        "find . -exec rm {} ;",
        "find . -execdir ls ;",
        "find . -ok rm {} ;",
        "find . -delete",
        "find . -fprint out",
        "find . -fprintf out %p",
        "find . -fls out",
    ]);
}

#[test]
fn sed_is_safe_only_as_a_quiet_printer() {
    known_safe(&[
        "sed -n 1,20p a.rs",
        "sed -n '$p' a",
        "sed -n p a",
        "sed -nE '/fn main/,/^}/p' a.rs",
        "sed --quiet '5p;10p' a",
    ]);
    unknown(&[
        "sed -i s/a/b/ f",
        "sed -n -i 1p f",
        "sed -n 1p f -i",
        "sed -ni 1p f",
        "sed --in-place -n 1p f",
        "sed -n '1w out' f",
        "sed -n '/x/w out' f",
        "sed -n '1e id' f",
        "sed -n 's/a/b/p' f",
        "sed 1,5p f",
        "sed -n -e 1p f",
        "sed -n '1,p' f",
        "sed -n '/unterminated p' f",
    ]);
}

#[test]
fn options_that_write_or_run_programs_are_not_safe() {
    unknown(&[
        "sort -o out a",
        "sort a --output=out",
        "sort --compress-program=sh a",
        "uniq in out",
        "rg --pre ./script pat",
        "rg -z pat",
        "rg --search-zip pat",
        "file -C -m magic",
    ]);
    known_safe(&["uniq -- in", "rg --pre-glob '*.gz' pat"]);
}

#[test]
fn git_read_only_subcommands_are_safe() {
    known_safe(&[
        "git status",
        "git status --short",
        "git log --oneline -n 5",
        "git diff HEAD~1 -- src",
        "git show HEAD:Cargo.toml",
        "git rev-parse --show-toplevel",
        "git ls-files",
        "git blame -L 1,5 a.rs",
        "git -C sub status",
        "git --no-pager log",
    ]);
    unknown(&[
        "git diff --output=patch",
        "git log --out=patch",
        "git -c core.pager=sh log",
        "git --git-dir=x status",
        "git commit -m x",
        "git push",
        "git checkout main",
        "git",
        "git -C",
    ]);
}

#[test]
fn git_branch_is_safe_only_for_listing() {
    known_safe(&[
        "git branch",
        "git branch -a",
        "git branch -vv",
        "git branch --show-current",
        "git branch --list 'feat*'",
        "git branch -l 'feat*'",
        "git branch --format=%(refname)",
    ]);
    unknown(&[
        "git branch new-feature",
        "git branch -D old",
        "git branch -m a b",
        "git branch --delete x",
    ]);
}

#[test]
fn cargo_read_only_subcommands() {
    known_safe(&[
        "cargo check --all-targets",
        "cargo tree -d",
        "cargo metadata --format-version 1",
    ]);
    unknown(&[
        "cargo build",
        "cargo test",
        "cargo check --config build.rustc-wrapper=sh",
        "cargo check -Zunstable-options",
        "cargo +nightly check",
    ]);
}

#[test]
fn rm_recursive_and_force_in_any_spelling_is_dangerous() {
    dangerous(&[
        "rm -rf /x",
        "rm -fr x",
        "rm -r -f x",
        "rm -f -R x",
        "rm -Rf x",
        "rm -rfv x",
        "rm --recursive --force x",
        "rm --rec --forc x",
        "rm x -rf",
        "/bin/rm -rf x",
        "rm --no-preserve-root -r /",
    ]);
    unknown(&["rm x", "rm -r x", "rm -f x", "rm -- -rf"]);
}

#[test]
fn git_history_destroying_commands_are_dangerous() {
    dangerous(&[
        "git reset --hard",
        "git reset --hard HEAD~1",
        "git -C x reset --hard",
        "git push --force",
        "git push -f origin main",
        "git push -uf origin main",
        "git push --force-with-lease",
        "git push --force-with-lease=main:abc",
        "git push origin +main",
        "git push origin --delete old",
        "git push origin :old",
        "git push --mirror",
        "git clean -f",
        "git clean -fdx",
        "git clean --force",
    ]);
    unknown(&[
        "git push origin main",
        "git push -u origin main",
        "git reset HEAD~1",
        "git clean -n",
    ]);
}

#[test]
fn privilege_disk_and_power_commands_are_dangerous() {
    dangerous(&[
        "sudo ls",
        "sudo -u nobody cat x",
        "doas ls",
        "dd if=/dev/zero of=/dev/sda",
        "mkfs.ext4 /dev/sda1",
        "mkfs -t ext4 /dev/sda1",
        "shutdown -h now",
        "reboot",
        "poweroff",
        "shred -u secret",
        "chmod -R 777 .",
        "chmod -R a+w .",
        "chmod --recursive 0777 .",
    ]);
    unknown(&[
        "chmod 777 x",
        "chmod -R 755 .",
        "chmod -R go-w .",
        "chmod +x run.sh",
    ]);
}

#[test]
fn dangerous_reasons_say_why() {
    assert_eq!(
        safety("sudo ls"),
        Safety::Dangerous("`sudo` runs commands with another user's rights".into())
    );
    assert_eq!(
        safety("git reset --hard"),
        Safety::Dangerous("git reset --hard discards uncommitted work".into())
    );
    assert_eq!(
        safety("git push --force"),
        Safety::Dangerous("git push --force rewrites remote history".into())
    );
}
