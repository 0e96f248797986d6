//! Unit tests: `parse.rs` (rule files and their errors), `matching.rs` (rules against argv,
//! loading), `shell.rs` (shell wrappers), `builtin.rs` (the known-safe and dangerous lists).

mod builtin;
mod matching;
mod parse;
mod shell;

use super::{Assessment, ExecPolicy, PolicyError, Safety};

/// Splits a command line the way a test reads it.
fn argv(line: &str) -> Vec<String> {
    shlex::split(line).expect("test command line should split")
}

/// Assesses `line` against the rules in `rules` (named `test.rules`).
fn assess_with(rules: &str, line: &str) -> Assessment {
    let policy = ExecPolicy::parse("test.rules", rules).expect("test rules should parse");
    policy.assess(&argv(line))
}

/// Assesses `line` with no rules, for the built-in lists.
fn safety(line: &str) -> Safety {
    ExecPolicy::empty().assess(&argv(line)).safety
}

/// The error message of a rule file that must not parse.
fn parse_error(text: &str) -> String {
    match ExecPolicy::parse("/path/x.rules", text) {
        Ok(policy) => panic!("expected an error, parsed {policy:?}"),
        Err(err @ PolicyError::Syntax { .. }) => err.to_string(),
        Err(err) => panic!("expected a syntax error, got {err}"),
    }
}
