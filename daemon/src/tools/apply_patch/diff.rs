//! Unified diffs of planned changes, for showing a change before it is approved and for logs.

use std::path::Path;

use similar::TextDiff;

/// Lines of context around each change, as in `diff -u`.
const CONTEXT_RADIUS: usize = 3;

/// Unified diff from `old` to `new`. `None` for a side means the file does not exist on that
/// side, shown as `/dev/null` the way git shows added and deleted files.
pub(crate) fn unified_diff(old: Option<(&Path, &str)>, new: Option<(&Path, &str)>) -> String {
    let name = |side: Option<(&Path, &str)>, prefix: &str| match side {
        Some((path, _)) => format!("{prefix}{}", path.display()),
        None => "/dev/null".to_string(),
    };
    let old_name = name(old, "a/");
    let new_name = name(new, "b/");
    let old_text = old.map_or("", |(_, t)| t);
    let new_text = new.map_or("", |(_, t)| t);
    TextDiff::from_lines(old_text, new_text)
        .unified_diff()
        .context_radius(CONTEXT_RADIUS)
        .header(&old_name, &new_name)
        .to_string()
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn shows_changed_lines_with_headers() {
        let p = Path::new("f.txt");
        let d = unified_diff(Some((p, "a\nb\n")), Some((p, "a\nc\n")));
        assert!(
            d.starts_with("--- a/f.txt\n+++ b/f.txt\n@@ -1,2 +1,2 @@\n"),
            "{d}"
        );
        assert!(d.contains("-b\n+c\n"), "{d}");
        let added = unified_diff(None, Some((p, "x\n")));
        assert!(added.starts_with("--- /dev/null\n+++ b/f.txt\n"), "{added}");
    }
}
