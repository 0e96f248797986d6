use std::fs;
use std::path::PathBuf;

use super::super::{Decision, ExecPolicy, PolicyError, RuleMatch};
use super::{argv, assess_with};

const PUSH_FORBIDDEN: &str = r#"prefix_rule(pattern=["git", "push"], decision="forbidden", justification="pushing is for humans")"#;

fn decision(rules: &str, line: &str) -> Option<Decision> {
    assess_with(rules, line).rule.map(|r| r.decision)
}

#[test]
fn prefix_matches_longer_and_equal_argv() {
    assert_eq!(
        decision(PUSH_FORBIDDEN, "git push origin main"),
        Some(Decision::Forbidden)
    );
    assert_eq!(
        decision(PUSH_FORBIDDEN, "git push"),
        Some(Decision::Forbidden)
    );
}

#[test]
fn other_words_and_positions_do_not_match() {
    assert_eq!(decision(PUSH_FORBIDDEN, "git pull"), None);
    assert_eq!(decision(PUSH_FORBIDDEN, "git status push"), None);
    assert_eq!(decision(PUSH_FORBIDDEN, "Git push"), None);
    assert_eq!(
        ExecPolicy::parse("t", PUSH_FORBIDDEN)
            .map(|p| p.assess(&[]).rule)
            .ok(),
        Some(None)
    );
}

#[test]
fn pattern_longer_than_argv_does_not_match() {
    assert_eq!(decision(PUSH_FORBIDDEN, "git"), None);
}

#[test]
fn alternatives_match_any_listed_word() {
    let rules = r#"prefix_rule(pattern=["npm", ["test", "run"]], decision="allow")"#;
    assert_eq!(decision(rules, "npm test"), Some(Decision::Allow));
    assert_eq!(decision(rules, "npm run build"), Some(Decision::Allow));
    assert_eq!(decision(rules, "npm install"), None);
}

#[test]
fn strictest_rule_wins_in_either_order() {
    let allow = r#"prefix_rule(pattern=["git"], decision="allow")"#;
    let prompt = r#"prefix_rule(pattern=["git", "push"], decision="prompt")"#;
    for rules in [
        format!("{allow}\n{PUSH_FORBIDDEN}\n{prompt}"),
        format!("{PUSH_FORBIDDEN}\n{prompt}\n{allow}"),
    ] {
        assert_eq!(decision(&rules, "git push"), Some(Decision::Forbidden));
        assert_eq!(decision(&rules, "git log"), Some(Decision::Allow));
    }
    let both = format!("{allow}\n{prompt}");
    assert_eq!(decision(&both, "git push -u"), Some(Decision::Prompt));
}

#[test]
fn justification_and_source_are_reported() {
    let rules =
        format!("# comment\n{PUSH_FORBIDDEN}\nprefix_rule(pattern=[\"ls\"], decision=\"allow\")");
    let pushed = assess_with(&rules, "git push");
    assert_eq!(
        pushed.rule,
        Some(RuleMatch {
            decision: Decision::Forbidden,
            justification: Some("pushing is for humans".into()),
            source: "test.rules:2".into(),
        })
    );
    assert_eq!(
        pushed.describe(),
        "forbidden (rule test.rules:2: pushing is for humans); unknown"
    );
    let listed = assess_with(&rules, "ls -la");
    assert_eq!(
        listed.rule.as_ref().and_then(|r| r.justification.clone()),
        None
    );
    assert_eq!(listed.describe(), "allow (rule test.rules:3); known-safe");
    assert_eq!(assess_with("", "rm -rf x").describe(), "no matching rule; dangerous: rm with recursive and force flags deletes whole trees without asking");
}

#[test]
fn equally_strict_rules_report_the_first_written_and_merge_appends() {
    let a = ExecPolicy::parse(
        "a.rules",
        r#"prefix_rule(pattern=["git"], decision="prompt")"#,
    );
    let b = ExecPolicy::parse(
        "b.rules",
        r#"prefix_rule(pattern=["git", "push"], decision="prompt")"#,
    );
    let (mut a, b) = (a.expect("a"), b.expect("b"));
    a.merge(b);
    assert_eq!(a.len(), 2);
    let rule = a.assess(&argv("git push")).rule.expect("a match");
    assert_eq!(rule.source, "a.rules:1");
}

#[test]
fn restrictive_rules_also_match_a_program_given_by_path() {
    let rules = format!("{PUSH_FORBIDDEN}\nprefix_rule(pattern=[\"ls\"], decision=\"allow\")");
    assert_eq!(
        decision(&rules, "/usr/bin/git push"),
        Some(Decision::Forbidden)
    );
    // Trust is not borrowed by a look-alike program in the workspace.
    assert_eq!(decision(&rules, "./ls"), None);
    assert_eq!(decision(&rules, "ls"), Some(Decision::Allow));
}

#[test]
fn load_reads_rules_files_sorted_and_skips_missing_dirs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let b = r#"prefix_rule(pattern=["cargo"], decision="prompt", justification="from b")"#;
    let a = "\n".to_string()
        + r#"prefix_rule(pattern=["cargo", "publish"], decision="prompt", justification="from a")"#;
    fs::write(dir.path().join("b.rules"), b).expect("write b");
    fs::write(dir.path().join("a.rules"), a).expect("write a");
    fs::write(dir.path().join("c.txt"), "not a rule file").expect("write c");
    fs::create_dir(dir.path().join("d.rules")).expect("mkdir d.rules");
    let missing = dir.path().join("no-such-dir");

    let policy = ExecPolicy::load(&[missing, dir.path().to_path_buf()]).expect("load");
    assert_eq!(policy.len(), 2);
    let a_path = dir.path().join("a.rules").display().to_string();
    let b_path = dir.path().join("b.rules").display().to_string();
    // a.rules is read first, so its rule wins the tie.
    let publish = policy.assess(&argv("cargo publish")).rule.expect("match");
    assert_eq!(publish.source, format!("{a_path}:2"));
    assert_eq!(publish.justification.as_deref(), Some("from a"));
    let build = policy.assess(&argv("cargo build")).rule.expect("match");
    assert_eq!(build.source, format!("{b_path}:1"));

    assert!(ExecPolicy::load(&[PathBuf::from("/definitely/not/here")])
        .expect("missing dir is fine")
        .is_empty());
}

#[test]
fn load_reports_the_broken_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("x.rules");
    fs::write(&path, "prefix_rule(pattern=[\"ls\"], decision=\"maybe\")").expect("write");
    let err = ExecPolicy::load(&[dir.path().to_path_buf()]).expect_err("must fail");
    assert!(
        err.to_string().starts_with(&format!(
            "execpolicy: {}:1:38: expected `decision`",
            path.display()
        )),
        "{err}"
    );
    // A rules "directory" that is a file is an error, not silently no rules.
    let err = ExecPolicy::load(std::slice::from_ref(&path)).expect_err("must fail");
    assert!(matches!(err, PolicyError::Io { .. }), "{err}");
    assert!(err
        .to_string()
        .starts_with(&format!("execpolicy: cannot read {}", path.display())));
}

/// A directory of many rule files is an error naming the limit, not that many reads for every
/// response that calls tools.
#[test]
fn load_refuses_a_directory_of_too_many_rule_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rule = r#"prefix_rule(pattern=["ls"], decision="allow")"#;
    for i in 0..64 {
        fs::write(dir.path().join(format!("r{i}.rules")), rule).expect("write");
    }
    assert_eq!(
        ExecPolicy::load(&[dir.path().to_path_buf()])
            .expect("64 files")
            .len(),
        64
    );
    fs::write(dir.path().join("r64.rules"), rule).expect("write");
    let err = ExecPolicy::load(&[dir.path().to_path_buf()]).expect_err("65 files");
    assert!(
        err.to_string().contains("more than 64 .rules files"),
        "{err}"
    );
}
