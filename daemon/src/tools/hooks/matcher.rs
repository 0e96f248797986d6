//! Which tools a hook's matcher selects. agentd's form (config.toml): `*`, exact names joined
//! by `|`, or a prefix ending in `*` (`mcp__files__*`). Claude Code's form (settings.json): empty
//! or `*` for all, a plain list of names (split on `|` or `,`), otherwise an unanchored regular
//! expression.

use regex::{Regex, RegexBuilder};

/// Compiled regexes are bounded: a settings file must not make matching slow or huge.
const REGEX_SIZE_LIMIT: usize = 256 * 1024;

#[derive(Debug, Clone)]
pub enum Matcher {
    All,
    /// Each entry a name, or a prefix when it ends in `*`.
    Names(Vec<String>),
    Regex(Regex),
}

impl Matcher {
    /// agentd's form.
    pub fn agentd(text: Option<&str>) -> Matcher {
        match text.map(str::trim) {
            None | Some("") | Some("*") => Matcher::All,
            Some(list) => Matcher::Names(list.split('|').map(|n| n.trim().to_owned()).collect()),
        }
    }

    /// Claude Code's form; `Err` for a regular expression that does not compile.
    pub fn claude(text: Option<&str>) -> Result<Matcher, String> {
        let text = text.map(str::trim).unwrap_or("");
        if text.is_empty() || text == "*" {
            return Ok(Matcher::All);
        }
        let plain = text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ' ' | ',' | '|'));
        if plain {
            let names = text
                .split(['|', ','])
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .collect();
            return Ok(Matcher::Names(names));
        }
        RegexBuilder::new(text)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map(Matcher::Regex)
            .map_err(|e| format!("matcher {text:?} is not a regular expression: {e}"))
    }

    pub fn selects(&self, tool: &str) -> bool {
        match self {
            Matcher::All => true,
            Matcher::Names(names) => names.iter().any(|n| match n.strip_suffix('*') {
                Some(prefix) => tool.starts_with(prefix),
                None => n == tool,
            }),
            Matcher::Regex(re) => re.is_match(tool),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agentd_names_prefixes_and_star() {
        assert!(Matcher::agentd(None).selects("shell"));
        assert!(Matcher::agentd(Some("*")).selects("shell"));
        let m = Matcher::agentd(Some("shell | apply_patch"));
        assert!(m.selects("shell") && m.selects("apply_patch"));
        assert!(!m.selects("update_plan"));
        assert!(
            !Matcher::agentd(Some("shel")).selects("shell"),
            "names, not prefixes"
        );
        let p = Matcher::agentd(Some("mcp__files__*"));
        assert!(p.selects("mcp__files__read"));
        assert!(!p.selects("mcp__git__log"));
    }

    #[test]
    fn claude_lists_and_regexes() {
        let list = Matcher::claude(Some("Edit|Write")).unwrap();
        assert!(list.selects("Edit") && list.selects("Write") && !list.selects("MultiEdit"));
        let comma = Matcher::claude(Some("Bash, Write")).unwrap();
        assert!(comma.selects("Write"));
        let re = Matcher::claude(Some("mcp__memory__.*")).unwrap();
        assert!(re.selects("mcp__memory__create"));
        assert!(!re.selects("mcp__git__log"));
        let unanchored = Matcher::claude(Some("Edit.*")).unwrap();
        assert!(
            unanchored.selects("NotebookEdit"),
            "Claude's regexes are unanchored"
        );
        assert!(Matcher::claude(Some("(")).is_err());
        assert!(Matcher::claude(Some("")).unwrap().selects("anything"));
    }
}
