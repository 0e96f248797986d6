//! A unified diff as the old and new text ACP's `diff` content wants. Only the hunks are known
//! (not the whole file), so each side is the hunks' lines of that side, hunks separated by a
//! blank line: enough for a client to show what changed.

/// `(old, new)` from a unified diff; lines without a diff prefix count as context.
pub fn old_and_new(diff: &str) -> (String, String) {
    let mut old = String::new();
    let mut new = String::new();
    let mut hunks = 0usize;
    for line in diff.lines() {
        if line.starts_with("--- ") || line.starts_with("+++ ") || line.starts_with("diff ") {
            continue;
        }
        if line.starts_with("@@") {
            if hunks > 0 {
                old.push('\n');
                new.push('\n');
            }
            hunks += 1;
            continue;
        }
        if line.starts_with('\\') {
            continue;
        }
        match line.split_at_checked(1) {
            Some(("-", rest)) => push_line(&mut old, rest),
            Some(("+", rest)) => push_line(&mut new, rest),
            Some((" ", rest)) => {
                push_line(&mut old, rest);
                push_line(&mut new, rest);
            }
            _ => {
                push_line(&mut old, line);
                push_line(&mut new, line);
            }
        }
    }
    (old, new)
}

fn push_line(out: &mut String, line: &str) {
    out.push_str(line);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sides_of_a_hunk() {
        let diff = "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n keep\n-old\n+new\n tail\n";
        let (old, new) = old_and_new(diff);
        assert_eq!(old, "keep\nold\ntail\n");
        assert_eq!(new, "keep\nnew\ntail\n");
    }

    #[test]
    fn an_added_file_is_all_new() {
        let (old, new) = old_and_new("@@ -0,0 +1,2 @@\n+a\n+b\n");
        assert_eq!(old, "");
        assert_eq!(new, "a\nb\n");
    }

    #[test]
    fn hunks_are_separated_and_markers_skipped() {
        let diff = "@@ -1 +1 @@\n-a\n+b\n\\ No newline at end of file\n@@ -9 +9 @@\n-c\n+d\n";
        let (old, new) = old_and_new(diff);
        assert_eq!(old, "a\n\nc\n");
        assert_eq!(new, "b\n\nd\n");
    }
}
