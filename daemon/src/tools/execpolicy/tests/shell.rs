use super::super::{Decision, Safety};
use super::{argv, assess_with};

/// A `bash -lc` argv around `script`, without going through a shell-quoting round trip.
fn bash_lc(script: &str) -> Vec<String> {
    vec!["bash".into(), "-lc".into(), script.into()]
}

fn assess_script(rules: &str, script: &str) -> super::super::Assessment {
    let policy = super::super::ExecPolicy::parse("test.rules", rules).expect("rules");
    policy.assess(&bash_lc(script))
}

#[test]
fn plain_script_is_split_into_known_safe_parts() {
    let a = assess_script("", "git status && ls | wc -l");
    assert_eq!(a.parts, vec![argv("git status"), argv("ls"), argv("wc -l")]);
    assert_eq!(a.safety, Safety::KnownSafe);
    assert!(!a.complex_script);
    assert_eq!(a.describe(), "no matching rule; known-safe");
}

#[test]
fn all_four_operators_and_newlines_split() {
    let a = assess_script("", "ls; pwd || echo 'no' && cat a|head\n\nwc -l;\n");
    assert_eq!(
        a.parts,
        vec![
            argv("ls"),
            argv("pwd"),
            argv("echo no"),
            argv("cat a"),
            argv("head"),
            argv("wc -l")
        ]
    );
    assert_eq!(a.safety, Safety::KnownSafe);
}

#[test]
fn redirection_makes_the_script_one_unknown_command() {
    let a = assess_script("", "ls > out");
    assert!(a.complex_script);
    assert_eq!(a.safety, Safety::Unknown);
    assert_eq!(a.parts, vec![bash_lc("ls > out")]);
    assert_eq!(
        a.describe(),
        "no matching rule; unknown (complex shell script)"
    );
}

#[test]
fn complex_constructs_are_not_split() {
    for script in [
        "echo $(rm -rf x)",
        "echo `id`",
        "echo ${X}",
        "echo $HOME",
        "echo \"$HOME\"",
        "echo \"`id`\"",
        "(cd x && ls)",
        "{ ls; }",
        "cat <<EOF\nhi\nEOF",
        "sleep 1 &",
        "ls 2>&1",
        "ls &> out",
        "ls |& cat",
        "cat < in",
        "diff <(ls a) <(ls b)",
        "ls >> out",
        "ls # comment",
        "! ls",
        "FOO=1 ls",
        "if true; then ls; fi",
        "for f in a; do cat $f; done",
        "case x in x) ls;; esac",
        "time ls",
        "=ls",
        "/bin/r? -rf x",
        "[ -f x ] && ls",
        ":(){ :|:& };:",
        "echo 'unterminated",
        "ls \\",
    ] {
        let a = assess_script("", script);
        assert!(a.complex_script, "{script:?} should be complex: {a:?}");
        assert_eq!(a.safety, Safety::Unknown, "{script:?}");
    }
}

#[test]
fn malformed_operator_sequences_are_complex() {
    for script in [
        "",
        "  ",
        "&& ls",
        "ls &&",
        "ls |",
        "ls || ",
        "ls ;; pwd",
        "; ls",
        "ls && ; pwd",
    ] {
        assert!(assess_script("", script).complex_script, "{script:?}");
    }
}

#[test]
fn quoted_operators_are_not_split() {
    let a = assess_script("", "echo 'a && b' \"c | d; e\" f\\;g");
    assert_eq!(
        a.parts,
        vec![vec![
            "echo".to_string(),
            "a && b".into(),
            "c | d; e".into(),
            "f;g".into()
        ]]
    );
    assert_eq!(a.safety, Safety::KnownSafe);
    assert!(!a.complex_script);
}

#[test]
fn globs_and_mid_word_specials_are_plain_words() {
    let a = assess_script("", "ls *.rs src/?? && grep -n a#b x=y ~/f");
    assert_eq!(
        a.parts,
        vec![argv("ls *.rs src/??"), argv("grep -n a#b x=y ~/f")]
    );
    assert!(!a.complex_script);
}

#[test]
fn wrapper_spellings() {
    for wrapper in [
        &["sh", "-c"][..],
        &["bash", "-c"],
        &["zsh", "-lc"],
        &["bash", "-l", "-c"],
        &["bash", "--login", "-c"],
        &["/bin/bash", "-lc"],
        &["/usr/bin/sh", "-c"],
    ] {
        let mut argv_: Vec<String> = wrapper.iter().map(|s| s.to_string()).collect();
        argv_.push("ls && pwd".into());
        let a = super::super::ExecPolicy::empty().assess(&argv_);
        assert_eq!(a.parts, vec![argv("ls"), argv("pwd")], "{wrapper:?}");
        assert_eq!(a.safety, Safety::KnownSafe, "{wrapper:?}");
    }
}

#[test]
fn non_wrappers_are_judged_as_they_are() {
    for line in [
        "./bash -lc ls",
        "bash -lc ls extra-arg",
        "bash script.sh",
        "bash -x -c ls",
        "python -c ls",
    ] {
        let a = assess_with("", line);
        assert_eq!(a.parts, vec![argv(line)], "{line}");
        assert!(!a.complex_script, "{line}");
        assert_eq!(a.safety, Safety::Unknown, "{line}");
    }
}

#[test]
fn rules_apply_to_each_part_and_the_strictest_wins() {
    let rules = r#"
        prefix_rule(pattern=["cargo", "test"], decision="allow")
        prefix_rule(pattern=["git", "push"], decision="forbidden", justification="humans push")
        prefix_rule(pattern=["npm"], decision="prompt")
    "#;
    let a = assess_script(rules, "cargo test && npm i && git push origin");
    let rule = a.rule.expect("a rule");
    assert_eq!(
        (rule.decision, rule.source.as_str()),
        (Decision::Forbidden, "test.rules:3")
    );
    let a = assess_script(rules, "cargo test; npm i");
    assert_eq!(a.rule.map(|r| r.decision), Some(Decision::Prompt));
}

#[test]
fn complex_scripts_hide_inner_words_from_rules() {
    let rules = r#"
        prefix_rule(pattern=["ls"], decision="allow")
        prefix_rule(pattern=["bash", "-lc"], decision="prompt")
    "#;
    let a = assess_script(rules, "ls > out");
    assert_eq!(a.rule.map(|r| r.source), Some("test.rules:3".to_string()));
    let a = assess_script(
        r#"prefix_rule(pattern=["ls"], decision="allow")"#,
        "ls $(pwd)",
    );
    assert_eq!(a.rule, None);
}

#[test]
fn the_wrapper_line_meets_restrictive_rules_only() {
    let forbid = r#"prefix_rule(pattern=["bash"], decision="forbidden")"#;
    assert_eq!(
        assess_script(forbid, "ls").rule.map(|r| r.decision),
        Some(Decision::Forbidden)
    );
    let allow = r#"prefix_rule(pattern=["bash"], decision="allow")"#;
    assert_eq!(assess_script(allow, "git push").rule, None);
}

#[test]
fn a_dangerous_part_makes_the_script_dangerous() {
    let a = assess_script("", "ls && sudo ls");
    assert!(
        matches!(a.safety, Safety::Dangerous(ref why) if why.contains("sudo")),
        "{a:?}"
    );
    assert_eq!(assess_script("", "ls && make").safety, Safety::Unknown);
}
