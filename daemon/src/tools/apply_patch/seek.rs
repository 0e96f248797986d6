//! Locating a chunk's lines in a file.
//!
//! Models reproduce context imperfectly: they drop trailing spaces, re-indent, or type an ASCII
//! hyphen where the file has an en dash. Matching therefore goes through passes of increasing
//! leniency, and each pass scans the whole search range before the next one starts, so an exact
//! match anywhere always beats a fuzzy match earlier in the file.

/// How strictly two lines are compared, from strictest to most lenient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    Exact,
    TrimEnd,
    Trim,
    Normalised,
}

const PASSES: [Pass; 4] = [Pass::Exact, Pass::TrimEnd, Pass::Trim, Pass::Normalised];

/// Finds `pattern` in `lines` at or after `start`, returning the index of its first line.
///
/// With `at_end`, the only acceptable position is the one where the pattern ends on the
/// file's last line (`*** End of File`). An empty pattern matches at `start`.
pub(crate) fn seek_sequence(
    lines: &[&str],
    pattern: &[&str],
    start: usize,
    at_end: bool,
) -> Option<usize> {
    if pattern.is_empty() {
        return Some(start.min(lines.len()));
    }
    let last_start = lines.len().checked_sub(pattern.len())?;
    if start > last_start {
        return None;
    }
    let candidates = if at_end {
        last_start..=last_start
    } else {
        start..=last_start
    };
    for pass in PASSES {
        let found = if pass == Pass::Normalised {
            // Normalising allocates, so do it once per line rather than once per comparison.
            let hay: Vec<String> = lines.iter().map(|l| normalise(l)).collect();
            let pat: Vec<String> = pattern.iter().map(|l| normalise(l)).collect();
            candidates
                .clone()
                .find(|&i| hay[i..i + pat.len()] == pat[..])
        } else {
            candidates.clone().find(|&i| {
                lines[i..i + pattern.len()]
                    .iter()
                    .zip(pattern)
                    .all(|(a, b)| lines_equal(pass, a, b))
            })
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

fn lines_equal(pass: Pass, a: &str, b: &str) -> bool {
    match pass {
        Pass::Exact => a == b,
        Pass::TrimEnd => a.trim_end() == b.trim_end(),
        Pass::Trim => a.trim() == b.trim(),
        Pass::Normalised => normalise(a) == normalise(b),
    }
}

/// Maps Unicode look-alikes of ASCII punctuation and spaces to ASCII, then trims.
///
/// Models routinely emit `-`, `'`, `"` and plain spaces where source files (docs, comments,
/// strings) contain typographic dashes, curly quotes or non-breaking spaces, and vice versa.
pub(crate) fn normalise(s: &str) -> String {
    s.chars()
        .filter(|&c| c != '\u{FEFF}')
        .map(|c| match c {
            '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2015}'
            | '\u{2212}' => '-',
            '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' => '\'',
            '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' => '"',
            '\u{00A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => ' ',
            other => other,
        })
        .collect::<String>()
        .trim()
        .to_string()
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn exact_match_beats_earlier_fuzzy_match() {
        let lines = ["foo  ", "bar", "foo"];
        assert_eq!(seek_sequence(&lines, &["foo"], 0, false), Some(2));
    }

    #[test]
    fn passes_in_order() {
        assert_eq!(seek_sequence(&["a", "b "], &["b"], 0, false), Some(1));
        assert_eq!(seek_sequence(&["a", "  b "], &["b"], 0, false), Some(1));
        assert_eq!(
            seek_sequence(&["x \u{2014} \u{201C}y\u{201D}"], &["x - \"y\""], 0, false),
            Some(0)
        );
        assert_eq!(seek_sequence(&["a\u{00A0}b"], &["a b"], 0, false), Some(0));
        assert_eq!(seek_sequence(&["a", "b"], &["c"], 0, false), None);
    }

    #[test]
    fn respects_start_and_end_anchor() {
        let lines = ["x", "y", "x"];
        assert_eq!(seek_sequence(&lines, &["x"], 1, false), Some(2));
        assert_eq!(seek_sequence(&lines, &["x"], 3, false), None);
        assert_eq!(seek_sequence(&lines, &["x"], 0, true), Some(2));
        assert_eq!(seek_sequence(&lines, &["y"], 0, true), None);
        assert_eq!(seek_sequence(&lines, &["a", "b", "c", "d"], 0, false), None);
    }
}
