//! Prefix matching of rules against an argv, and "strictest wins".
//!
//! A rule matches when its pattern is a prefix of the argv: each position equal to the token
//! or to one of the alternatives. Matching is on exact words — no globbing, no case folding —
//! because a rule file is a security boundary and should mean exactly what it says.

use super::{Decision, RuleMatch};

/// One position of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PatternToken {
    /// `"push"`: the word must be exactly this.
    Exact(String),
    /// `["test", "run"]`: the word must be one of these.
    AnyOf(Vec<String>),
}

impl PatternToken {
    fn matches(&self, word: &str) -> bool {
        match self {
            PatternToken::Exact(token) => token == word,
            PatternToken::AnyOf(alternatives) => alternatives.iter().any(|alt| alt == word),
        }
    }
}

/// One `prefix_rule(...)` from a rule file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rule {
    /// Never empty: the parser rejects an empty pattern, which would match every command.
    pub(crate) pattern: Vec<PatternToken>,
    pub(crate) decision: Decision,
    pub(crate) justification: Option<String>,
    /// `"file:line"` of the rule's first line.
    pub(crate) source: String,
}

/// Which rules take part in a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Every rule matches the literal argv; `prompt`/`forbidden` rules also match when the
    /// program is given by path (`/usr/bin/git` for `git`), so a path cannot dodge them.
    AllRules,
    /// Only `prompt`/`forbidden` rules are considered (with the same path widening): used for
    /// the unsplit `bash -lc …` line, which must not pick up trust from an `allow` rule.
    RestrictiveOnly,
}

impl Rule {
    /// Whether this rule applies to `argv` under `scope`.
    pub(crate) fn matches(&self, argv: &[String], scope: Scope) -> bool {
        let restrictive = self.decision > Decision::Allow;
        if scope == Scope::RestrictiveOnly && !restrictive {
            return false;
        }
        let Some((program, args)) = argv.split_first() else {
            return false;
        };
        let Some((first, rest)) = self.pattern.split_first() else {
            return false;
        };
        if rest.len() > args.len() || !rest.iter().zip(args).all(|(p, a)| p.matches(a)) {
            return false;
        }
        first.matches(program) || (restrictive && first.matches(basename(program)))
    }

    /// The public view of this rule as the one that decided.
    pub(crate) fn to_match(&self) -> RuleMatch {
        RuleMatch {
            decision: self.decision,
            justification: self.justification.clone(),
            source: self.source.clone(),
        }
    }
}

/// The strictest rule in `rules` matching `argv`; the first written among equals.
pub(crate) fn strictest<'r>(rules: &'r [Rule], argv: &[String], scope: Scope) -> Option<&'r Rule> {
    first_strictest(rules.iter().filter(|rule| rule.matches(argv, scope)))
}

/// The strictest of `candidates`, keeping the earliest among equally strict ones so that the
/// reported rule is stable and follows the order the rules were written in.
pub(crate) fn first_strictest<'r>(
    candidates: impl IntoIterator<Item = &'r Rule>,
) -> Option<&'r Rule> {
    let mut best: Option<&Rule> = None;
    for candidate in candidates {
        if best.is_none_or(|b| candidate.decision > b.decision) {
            best = Some(candidate);
        }
    }
    best
}

/// The last path component of a program name (`/usr/bin/git` → `git`).
pub(crate) fn basename(program: &str) -> &str {
    program.rsplit('/').next().unwrap_or(program)
}
