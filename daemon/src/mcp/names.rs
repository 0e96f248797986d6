//! The names the model sees for MCP tools: `mcp__<server>__<tool>`, made acceptable to every
//! provider (`[A-Za-z0-9_-]`, at most 64 bytes) and unique within a turn's tools.

use std::collections::HashSet;

use sha2::{Digest, Sha256};

/// The longest function name providers accept.
pub const MAX_NAME_BYTES: usize = 64;
const PREFIX: &str = "mcp__";
const SEPARATOR: &str = "__";

/// Every character outside `[A-Za-z0-9_-]` becomes `_`.
pub fn sanitise(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `mcp__<server>__<tool>`, sanitised; a longer one is cut and ends in a hash of the real
/// names, so two long names with the same start still differ.
pub fn qualified(server: &str, tool: &str) -> String {
    let raw = format!("{PREFIX}{}{SEPARATOR}{}", sanitise(server), sanitise(tool));
    if raw.len() <= MAX_NAME_BYTES {
        raw
    } else {
        hashed(&raw, server, tool)
    }
}

/// `raw` cut to leave room for `_` and 8 hex digits of a hash of (server, tool). `raw` is ASCII
/// (sanitised), so any byte index is a character boundary.
fn hashed(raw: &str, server: &str, tool: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(server.as_bytes());
    hasher.update([0]);
    hasher.update(tool.as_bytes());
    let digest = hasher.finalize();
    let hash: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    let keep = raw.len().min(MAX_NAME_BYTES - 1 - hash.len());
    format!("{}_{hash}", &raw[..keep])
}

/// Names handed out for one turn's tools: a name already taken (two tools that sanitise alike)
/// gets the hashed form; `None` when even that is taken (the tool is left out, and logged).
#[derive(Default)]
pub struct NameSet {
    taken: HashSet<String>,
}

impl NameSet {
    pub fn assign(&mut self, server: &str, tool: &str) -> Option<String> {
        let plain = qualified(server, tool);
        if self.taken.insert(plain.clone()) {
            return Some(plain);
        }
        let raw = format!("{PREFIX}{}{SEPARATOR}{}", sanitise(server), sanitise(tool));
        let alternative = hashed(&raw, server, tool);
        self.taken
            .insert(alternative.clone())
            .then_some(alternative)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_pass_through() {
        assert_eq!(qualified("files", "read_file"), "mcp__files__read_file");
    }

    #[test]
    fn characters_outside_the_set_become_underscores() {
        assert_eq!(
            qualified("my.server", "dotted.name/with space"),
            "mcp__my_server__dotted_name_with_space"
        );
    }

    #[test]
    fn long_names_are_cut_with_a_hash_and_stay_distinct() {
        let a = qualified("srv", &"a".repeat(80));
        let b = qualified("srv", &format!("{}b", "a".repeat(79)));
        assert_eq!(a.len(), MAX_NAME_BYTES);
        assert_eq!(b.len(), MAX_NAME_BYTES);
        assert_ne!(a, b);
        assert!(a.starts_with("mcp__srv__aaaa"));
    }

    #[test]
    fn collisions_get_the_hashed_form() {
        let mut names = NameSet::default();
        let first = names.assign("s", "a.b").unwrap();
        let second = names.assign("s", "a/b").unwrap();
        assert_eq!(first, "mcp__s__a_b");
        assert_ne!(first, second);
        assert!(second.starts_with("mcp__s__a_b_"));
        assert!(second
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
    }
}
