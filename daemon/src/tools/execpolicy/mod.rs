//! Exec policy: what the user's rules and our built-in knowledge say about a command line
//! before it runs.
//!
//! Two independent verdicts come out of [`ExecPolicy::assess`]:
//! - the strictest matching **rule** from the user's `*.rules` files ([`RuleMatch`]), and
//! - the built-in **safety** classification ([`Safety`]): known read-only, known dangerous, or
//!   unknown.
//!
//! Neither is a final answer. The orchestrator combines both with the approval policy and the
//! sandbox; in particular **an `allow` rule never by itself lifts the sandbox** — it only means
//! "do not ask the user about this command". Keeping the verdicts separate lets the
//! orchestrator show a user why something was prompted or refused.
//!
//! `bash -lc "a && b | c"`-style wrappers are opened up (see `shell_split.rs`) so that the
//! commands the model actually runs are the ones judged, not the shell. A script that is more
//! than plain words joined by `&&`, `||`, `;`, `|` is judged as one unknown command, because
//! anything we cannot read exactly we must not call safe.
//!
//! One principle runs through the matching: we only ever widen a match when that makes the
//! result *stricter*. `forbidden`/`prompt` rules also match `/usr/bin/git` for `git` and also
//! see the unsplit `bash -lc …` command line; `allow` rules and the known-safe list only trust
//! exact program names, so a `./git` in the workspace cannot borrow the trust given to `git`.
//!
//! Files: `rules.rs` (the rule file parser), `matcher.rs` (prefix matching and "strictest
//! wins"), `shell_split.rs` (opening up shell wrappers), `builtin.rs` (the known-safe and
//! dangerous lists).

mod builtin;
pub mod cli;
mod matcher;
mod rules;
mod shell_split;

#[cfg(test)]
mod tests;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

use matcher::{Rule, Scope};

/// Largest rules file read (a project's `.agentd/rules` comes with the repository).
const MAX_RULES_FILE: u64 = 1024 * 1024;
/// `.rules` files read from one directory: a project's rules are read for every response
/// that calls tools, and a directory of thousands must cost an error, not that many reads.
const MAX_RULES_FILES: usize = 64;
use shell_split::Wrapped;

/// What a rule says about a command. Ordered by strictness (`Allow < Prompt < Forbidden`) so
/// that "strictest wins" is simply the maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Decision {
    /// Run without asking the user. Does not lift the sandbox.
    Allow,
    /// Ask the user first.
    Prompt,
    /// Never run; report the justification to the model instead.
    Forbidden,
}

impl Decision {
    /// The spelling used in rule files and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Prompt => "prompt",
            Decision::Forbidden => "forbidden",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The rule that decided, with enough context to explain the decision to a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleMatch {
    pub decision: Decision,
    pub justification: Option<String>,
    /// Where the rule was written: `"file:line"`, or `"builtin"`.
    pub source: String,
}

/// The built-in classification of a command, independent of any rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Safety {
    /// Read-only: every command checked is on the known-safe list with harmless arguments.
    KnownSafe,
    /// At least one command checked is on the dangerous list; the string says why.
    Dangerous(String),
    /// Anything else, including every complex shell script.
    Unknown,
}

/// Everything the exec policy knows about one command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    /// The strictest rule matching any part (first written wins among equals); `None` if no
    /// rule matched.
    pub rule: Option<RuleMatch>,
    /// `KnownSafe` only if every part is known-safe; `Dangerous` if any part is.
    pub safety: Safety,
    /// The commands checked: the parts of a plain shell script, or else the argv itself.
    pub parts: Vec<Vec<String>>,
    /// The argv was a shell wrapper whose script was too complex to split; it was judged as
    /// one unknown command.
    pub complex_script: bool,
}

impl Assessment {
    /// One line for `agentd execpolicy check`, e.g.
    /// `forbidden (rule ~/.config/agentd/rules/a.rules:3: pushing is for humans); unknown`.
    pub fn describe(&self) -> String {
        let head = match &self.rule {
            Some(rule) => match &rule.justification {
                Some(why) => format!("{} (rule {}: {why})", rule.decision, rule.source),
                None => format!("{} (rule {})", rule.decision, rule.source),
            },
            None => "no matching rule".to_string(),
        };
        let safety = match &self.safety {
            Safety::KnownSafe => "known-safe".to_string(),
            Safety::Dangerous(why) => format!("dangerous: {why}"),
            Safety::Unknown if self.complex_script => "unknown (complex shell script)".to_string(),
            Safety::Unknown => "unknown".to_string(),
        };
        format!("{head}; {safety}")
    }
}

/// A problem with a rule file. Messages start with `execpolicy:` and name the file, line and
/// column so a user can fix the file without guessing.
#[derive(Debug, Error)]
pub enum PolicyError {
    #[error("execpolicy: {source_name}:{line}:{column}: {message}")]
    Syntax {
        source_name: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("execpolicy: cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// A set of prefix rules, in the order they were written (files sorted by name). The order
/// only matters to pick which of several equally strict rules is reported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecPolicy {
    rules: Vec<Rule>,
}

impl ExecPolicy {
    /// No rules: every assessment then rests on the built-in lists alone.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Parses one rule file's text; `source_name` (normally the path) is used in error
    /// messages and in each rule's `source`.
    pub fn parse(source_name: &str, text: &str) -> Result<Self, PolicyError> {
        Ok(Self {
            rules: rules::parse_rules(source_name, text)?,
        })
    }

    /// Reads every `*.rules` file in each of `dirs`, in the order given and by file name
    /// within a directory. A missing directory is fine (most users have none); any other read
    /// error, and any syntax error, fails the whole load so a broken rule is never silently
    /// ignored.
    pub fn load(dirs: &[PathBuf]) -> Result<Self, PolicyError> {
        let mut policy = Self::empty();
        for dir in dirs {
            for path in rule_files(dir)? {
                let io = |source| PolicyError::Io {
                    path: path.clone(),
                    source,
                };
                let bytes = crate::paths::read_limited(&path, MAX_RULES_FILE).map_err(io)?;
                let text = String::from_utf8(bytes)
                    .map_err(|e| io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
                policy.merge(Self::parse(&path.display().to_string(), &text)?);
            }
        }
        Ok(policy)
    }

    /// Appends `other`'s rules after ours (ours win ties).
    pub fn merge(&mut self, other: ExecPolicy) {
        self.rules.extend(other.rules);
    }

    /// The number of rules loaded.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether no rules are loaded.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Judges one command line. Never fails: what cannot be understood is `Unknown`.
    pub fn assess(&self, argv: &[String]) -> Assessment {
        let (parts, complex_script, wrapped) = match shell_split::unwrap_shell(argv) {
            Wrapped::NotShell => (vec![argv.to_vec()], false, false),
            Wrapped::Script(parts) => (parts, false, true),
            Wrapped::Complex => (vec![argv.to_vec()], true, false),
        };

        let mut matches: Vec<&Rule> = parts
            .iter()
            .filter_map(|part| matcher::strictest(&self.rules, part, Scope::AllRules))
            .collect();
        if wrapped {
            // The shell line itself is seen by restrictive rules only, so a rule forbidding
            // `bash` cannot be dodged by a script, and allowing `bash` cannot vouch for one.
            matches.extend(matcher::strictest(
                &self.rules,
                argv,
                Scope::RestrictiveOnly,
            ));
        }
        let best = matcher::first_strictest(matches);

        let safety = if complex_script {
            Safety::Unknown
        } else {
            combine_safety(parts.iter().map(|p| builtin::classify(p)))
        };

        Assessment {
            rule: best.map(Rule::to_match),
            safety,
            parts,
            complex_script,
        }
    }
}

/// Dangerous if any part is (the first reason), known-safe if all are, else unknown.
fn combine_safety(parts: impl Iterator<Item = Safety>) -> Safety {
    let mut all_safe = true;
    for safety in parts {
        match safety {
            Safety::Dangerous(why) => return Safety::Dangerous(why),
            Safety::Unknown => all_safe = false,
            Safety::KnownSafe => {}
        }
    }
    if all_safe {
        Safety::KnownSafe
    } else {
        Safety::Unknown
    }
}

/// The `*.rules` files directly in `dir`, sorted by path; none if `dir` does not exist.
fn rule_files(dir: &Path) -> Result<Vec<PathBuf>, PolicyError> {
    let io_err = |source| PolicyError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(io_err)?.path();
        // `is_file` follows symlinks, so a linked rule file counts.
        if path.extension().is_some_and(|ext| ext == "rules") && path.is_file() {
            files.push(path);
        }
        if files.len() > MAX_RULES_FILES {
            return Err(io_err(io::Error::other(format!(
                "more than {MAX_RULES_FILES} .rules files"
            ))));
        }
    }
    files.sort();
    Ok(files)
}
