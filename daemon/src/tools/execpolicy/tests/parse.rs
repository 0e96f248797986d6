use super::super::matcher::PatternToken;
use super::super::{Decision, ExecPolicy};
use super::parse_error;

fn only_rule(text: &str) -> super::super::matcher::Rule {
    let policy = ExecPolicy::parse("a.rules", text).expect("should parse");
    assert_eq!(policy.rules.len(), 1, "{policy:?}");
    policy.rules.into_iter().next().expect("one rule")
}

fn exact(words: &[&str]) -> Vec<PatternToken> {
    words
        .iter()
        .map(|w| PatternToken::Exact(w.to_string()))
        .collect()
}

#[test]
fn single_and_double_quotes() {
    let rule = only_rule(r#"prefix_rule(pattern=['git', "push"], decision='forbidden')"#);
    assert_eq!(rule.pattern, exact(&["git", "push"]));
    assert_eq!(rule.decision, Decision::Forbidden);
    assert_eq!(rule.justification, None);
    assert_eq!(rule.source, "a.rules:1");
}

#[test]
fn escapes_and_other_quote_inside_strings() {
    let rule =
        only_rule(r#"prefix_rule(pattern=["it's", 'say "hi"', "a\\b\"c"], decision="allow")"#);
    assert_eq!(rule.pattern, exact(&["it's", "say \"hi\"", "a\\b\"c"]));
}

#[test]
fn nested_alternatives() {
    let rule = only_rule(r#"prefix_rule(pattern=["npm", ["test", "run"]], decision="allow")"#);
    assert_eq!(
        rule.pattern,
        vec![
            PatternToken::Exact("npm".into()),
            PatternToken::AnyOf(vec!["test".into(), "run".into()]),
        ]
    );
}

#[test]
fn multi_line_rule_with_comments_reports_its_first_line() {
    let text = "# header comment\n\nprefix_rule(  # the rule\n    pattern = [\n        \"git\",  # program\n        \"push\",\n    ],\n    decision = \"prompt\",\n)\n";
    let rule = only_rule(text);
    assert_eq!(rule.pattern, exact(&["git", "push"]));
    assert_eq!(rule.decision, Decision::Prompt);
    assert_eq!(rule.source, "a.rules:3");
}

#[test]
fn trailing_commas_keyword_order_and_justification() {
    let rule = only_rule(
        r#"prefix_rule(justification="humans push", decision="forbidden", pattern=["git", "push",],)"#,
    );
    assert_eq!(rule.pattern, exact(&["git", "push"]));
    assert_eq!(rule.decision, Decision::Forbidden);
    assert_eq!(rule.justification.as_deref(), Some("humans push"));
}

#[test]
fn several_rules_and_empty_files() {
    let text = "prefix_rule(pattern=[\"a\"], decision=\"allow\")\nprefix_rule(pattern=[\"b\"], decision=\"prompt\") prefix_rule(pattern=[\"c\"], decision=\"forbidden\")\n";
    let policy = ExecPolicy::parse("a.rules", text).expect("should parse");
    assert_eq!(policy.len(), 3);
    assert_eq!(policy.rules[2].source, "a.rules:2");
    for empty in ["", "\n\n", "# only a comment\n   # another"] {
        assert!(ExecPolicy::parse("e.rules", empty)
            .expect("should parse")
            .is_empty());
    }
}

#[test]
fn missing_pattern_or_decision() {
    assert_eq!(
        parse_error("\nprefix_rule(decision=\"allow\")"),
        "execpolicy: /path/x.rules:2:1: prefix_rule is missing `pattern`"
    );
    assert_eq!(
        parse_error("prefix_rule(\n  pattern=[\"ls\"],\n)"),
        "execpolicy: /path/x.rules:1:1: prefix_rule is missing `decision`"
    );
}

#[test]
fn empty_pattern_and_empty_alternatives() {
    assert_eq!(
        parse_error("prefix_rule(pattern=[], decision=\"allow\")"),
        "execpolicy: /path/x.rules:1:21: `pattern` must not be empty"
    );
    assert_eq!(
        parse_error("prefix_rule(pattern=[\"npm\", []], decision=\"allow\")"),
        "execpolicy: /path/x.rules:1:29: a list of alternatives in `pattern` must not be empty"
    );
    assert!(
        parse_error("prefix_rule(pattern=[[\"a\", [\"b\"]]], decision=\"allow\")").starts_with(
            "execpolicy: /path/x.rules:1:28: alternatives in `pattern` must be strings"
        )
    );
    assert!(
        parse_error("prefix_rule(pattern=\"git\", decision=\"allow\")")
            .starts_with("execpolicy: /path/x.rules:1:21: expected `pattern` to be a list")
    );
}

#[test]
fn bad_decision_value() {
    let text = "# one\n\nprefix_rule(pattern=[\"ls\"], decision=\"maybe\")";
    assert_eq!(
        parse_error(text),
        "execpolicy: /path/x.rules:3:38: expected `decision` to be one of \"allow\", \"prompt\", \"forbidden\", got \"maybe\""
    );
}

#[test]
fn unknown_and_duplicate_keywords() {
    assert_eq!(
        parse_error("prefix_rule(pattern=[\"ls\"], decison=\"allow\")"),
        "execpolicy: /path/x.rules:1:29: unknown keyword `decison` in prefix_rule (expected `pattern`, `decision` or `justification`)"
    );
    assert_eq!(
        parse_error("prefix_rule(pattern=[\"ls\"],\n decision=\"allow\", decision=\"prompt\")"),
        "execpolicy: /path/x.rules:2:20: `decision` is given twice"
    );
}

#[test]
fn unterminated_string_is_reported_where_it_starts() {
    assert_eq!(
        parse_error("prefix_rule(pattern=[\"ls\"],\n  decision=\"allow)\nprefix_rule(pattern=[\"a\"], decision=\"allow\")"),
        "execpolicy: /path/x.rules:2:12: unterminated string"
    );
    assert_eq!(
        parse_error("prefix_rule(pattern=['ls"),
        "execpolicy: /path/x.rules:1:22: unterminated string"
    );
}

#[test]
fn garbage_lines() {
    assert_eq!(
        parse_error("prefix_rule(pattern=[\"ls\"], decision=\"allow\")\nhello world"),
        "execpolicy: /path/x.rules:2:1: expected a rule like `prefix_rule(pattern=[...], decision=\"...\")`, got `hello` followed by `world`"
    );
    assert_eq!(
        parse_error("\n  \"ls\""),
        "execpolicy: /path/x.rules:2:3: expected a rule like `prefix_rule(pattern=[...], decision=\"...\")`, got \"ls\""
    );
    assert_eq!(
        parse_error("prefix_rule(pattern=[\"ls\"], decision=\"allow\");"),
        "execpolicy: /path/x.rules:1:46: unexpected character ';'"
    );
}

#[test]
fn unknown_function_name() {
    assert_eq!(
        parse_error("\n\nsuffix_rule(pattern=[\"ls\"], decision=\"allow\")"),
        "execpolicy: /path/x.rules:3:1: unknown function `suffix_rule` (the only one is `prefix_rule`)"
    );
}

#[test]
fn malformed_arguments() {
    assert_eq!(
        parse_error("prefix_rule(pattern=[\"ls\"], decision=allow)"),
        "execpolicy: /path/x.rules:1:38: expected a string or a list, got `allow` (strings need quotes)"
    );
    assert_eq!(
        parse_error("prefix_rule(pattern=[\"ls\"] decision=\"allow\")"),
        "execpolicy: /path/x.rules:1:28: expected `,` or `)` in prefix_rule, got `decision`"
    );
    assert_eq!(
        parse_error("prefix_rule([\"ls\"], decision=\"allow\")"),
        "execpolicy: /path/x.rules:1:13: expected a keyword argument like `pattern=[...]`, got `[`"
    );
    assert_eq!(
        parse_error("prefix_rule(pattern [\"ls\"])"),
        "execpolicy: /path/x.rules:1:21: expected `=` after `pattern`, got `[`"
    );
    assert_eq!(
        parse_error("prefix_rule(pattern=[\"a\" \"b\"], decision=\"allow\")"),
        "execpolicy: /path/x.rules:1:26: expected `,` or `]` in list, got \"b\""
    );
    assert_eq!(
        parse_error("prefix_rule(pattern=[\"a\"], decision=\"allow\", justification=[\"x\"])"),
        "execpolicy: /path/x.rules:1:60: expected `justification` to be a string, got a list"
    );
    assert_eq!(
        parse_error("prefix_rule(pattern=[\"a\\q\"], decision=\"allow\")"),
        "execpolicy: /path/x.rules:1:24: unknown escape `\\` followed by 'q' in string"
    );
    assert_eq!(
        parse_error("prefix_rule(pattern=[\"a\"]"),
        "execpolicy: /path/x.rules:1:26: expected `,` or `)` in prefix_rule, got end of file"
    );
}
