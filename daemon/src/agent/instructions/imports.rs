//! Claude Code's `@path` imports: a CLAUDE.md may pull in other files by naming them as
//! `@docs/style.md`, `@~/.claude/mine.md` or `@/abs/path.md`. This file only finds the mentions
//! and says where they point; `gather` decides which files are read (depth, cycles, caps).
//!
//! As in Claude Code, a mention is an `@` at the start of a line or after whitespace (so an
//! e-mail address is not one), and mentions inside code — fenced blocks and inline code spans —
//! are examples, not imports. Indented code blocks are not recognised: telling them from
//! indented list text needs a full Markdown parser, and a wrong guess there only costs a
//! missing-file lookup.

use std::path::{Path, PathBuf};

/// Most mentions taken from one file: each costs path lookups, and a file is hostile text.
pub const MAX_MENTIONS: usize = 256;
/// Longest mention taken as a path, in bytes (Linux's `PATH_MAX`); a longer one names no file.
pub const MAX_MENTION_BYTES: usize = 4096;

/// The `@path` mentions in `text`, in order, with `\ ` unescaped to a space: at most
/// [`MAX_MENTIONS`], each at most [`MAX_MENTION_BYTES`].
pub fn mentions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for paragraph in prose_paragraphs(text) {
        if out.len() >= MAX_MENTIONS {
            break;
        }
        mentions_in_prose(&blank_code_spans(&paragraph), &mut out);
    }
    out
}

/// Where `mention` points: `~/…` under `home`, an absolute path as it is, anything else
/// relative to `dir` (the importing file's directory). `None` for `~/…` without a home.
pub fn resolve(mention: &str, dir: &Path, home: Option<&Path>) -> Option<PathBuf> {
    if let Some(rest) = mention.strip_prefix("~/") {
        return home.map(|h| h.join(rest));
    }
    let path = Path::new(mention);
    Some(if path.is_absolute() {
        path.to_path_buf()
    } else {
        dir.join(path)
    })
}

/// The ways to read a mention, most literal first: as written, then without the punctuation
/// that ends a sentence (`see @docs/a.md.` names `docs/a.md`; a file named `a.md.` still wins).
pub fn spellings(mention: &str) -> Vec<&str> {
    let bare = mention.trim_end_matches(['.', ',', ';', ':', '!', '?', ')']);
    if bare == mention || bare.is_empty() {
        vec![mention]
    } else {
        vec![mention, bare]
    }
}

/// The text outside fenced code blocks, as paragraphs (runs of non-blank lines): a code span
/// cannot cross a paragraph or a fence, so each is scanned for spans on its own.
fn prose_paragraphs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut fence: Option<(char, usize)> = None;
    for line in text.lines() {
        let marker = fence_marker(line);
        match (fence, marker) {
            (Some((c, n)), Some((mc, mn, rest)))
                if mc == c && mn >= n && rest.trim().is_empty() =>
            {
                fence = None;
            }
            (Some(_), _) => {}
            (None, Some((c, n, _))) => {
                flush(&mut out, &mut current);
                fence = Some((c, n));
            }
            (None, None) if line.trim().is_empty() => flush(&mut out, &mut current),
            (None, None) => {
                current.push_str(line);
                current.push('\n');
            }
        }
    }
    flush(&mut out, &mut current);
    out
}

fn flush(out: &mut Vec<String>, current: &mut String) {
    if !current.is_empty() {
        out.push(std::mem::take(current));
    }
}

/// A fence line: up to three spaces, then three or more backticks or tildes. Returns the
/// character, the run's length and what follows it (an info string when opening).
fn fence_marker(line: &str) -> Option<(char, usize, &str)> {
    let trimmed = line.trim_start_matches(' ');
    if line.len() - trimmed.len() > 3 {
        return None;
    }
    let c = trimmed.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let n = trimmed.chars().take_while(|x| *x == c).count();
    let rest = &trimmed[n..];
    // A backtick fence's info string may not hold a backtick (it would be a code span).
    (n >= 3 && !(c == '`' && rest.contains('`'))).then_some((c, n, rest))
}

/// `text` with every inline code span (a run of N backticks up to the next run of exactly N)
/// replaced by spaces; a run with no closer is literal text.
fn blank_code_spans(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'`' {
            let next = text[i..].find('`').map_or(text.len(), |at| i + at);
            out.push_str(&text[i..next]);
            i = next;
            continue;
        }
        let n = run_length(bytes, i);
        match closing_run(bytes, i + n, n) {
            Some(end) => {
                out.extend(std::iter::repeat_n(' ', end - i));
                i = end;
            }
            None => {
                out.push_str(&text[i..i + n]);
                i += n;
            }
        }
    }
    out
}

fn run_length(bytes: &[u8], at: usize) -> usize {
    bytes[at..].iter().take_while(|b| **b == b'`').count()
}

/// Where the run of exactly `n` backticks at or after `from` ends.
fn closing_run(bytes: &[u8], from: usize, n: usize) -> Option<usize> {
    let mut i = from;
    while i < bytes.len() {
        if bytes[i] == b'`' {
            let m = run_length(bytes, i);
            if m == n {
                return Some(i + m);
            }
            i += m;
        } else {
            i += 1;
        }
    }
    None
}

/// Adds the mentions in text free of code to `out` (up to [`MAX_MENTIONS`]): `@` after
/// whitespace or at the start, then the path up to the next unescaped whitespace. The scan
/// resumes after each mention, as a regular expression's matches do: an `@` inside a path (as
/// in `@a\ @b`, where the escaped space keeps the path going) is part of it, not a mention of
/// its own. That keeps the scan linear; rescanning from each such `@` to the end of the line was
/// quadratic in the line's length.
fn mentions_in_prose(text: &str, out: &mut Vec<String>) {
    let mut at = 0;
    let mut prev_space = true;
    while out.len() < MAX_MENTIONS {
        let Some(c) = text[at..].chars().next() else {
            break;
        };
        if c == '@' && prev_space {
            let (path, used) = path_after(&text[at + 1..]);
            at += 1 + used;
            // What follows a mention is whitespace (not consumed) or the end.
            prev_space = false;
            if let Some(path) = path.filter(|p| is_path(p)) {
                out.push(path);
            }
            continue;
        }
        prev_space = c.is_whitespace();
        at += c.len_utf8();
    }
}

/// The path that starts `text` (up to whitespace, with `\ ` standing for a space) and the
/// bytes of `text` it spans; `None` for the path when it is longer than [`MAX_MENTION_BYTES`]
/// (it is still spanned, so the scan goes on after it).
fn path_after(text: &str) -> (Option<String>, usize) {
    let mut path = String::new();
    let mut too_long = false;
    let mut used = text.len();
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let c = if c == '\\' && chars.peek().is_some_and(|(_, next)| *next == ' ') {
            chars.next();
            ' '
        } else if c.is_whitespace() {
            used = at;
            break;
        } else {
            c
        };
        if !too_long {
            path.push(c);
            too_long = path.len() > MAX_MENTION_BYTES;
        }
    }
    ((!too_long).then_some(path), used)
}

/// Whether a mention looks like a path rather than a handle or decoration (`@@`, `@#`, a lone
/// `@` or `/`).
fn is_path(path: &str) -> bool {
    let Some(first) = path.chars().next() else {
        return false;
    };
    path.starts_with("./")
        || path.starts_with("../")
        || path.starts_with("~/")
        || (path.starts_with('/') && path.len() > 1)
        || first.is_alphanumeric()
        || first == '.'
        || first == '_'
        || first == '-'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_mentions_after_whitespace_only() {
        let text = "See @docs/a.md and @./b.md,\n@~/c.md @/abs/d.md mail x@y.z @ @@e @#f";
        assert_eq!(
            mentions(text),
            ["docs/a.md", "./b.md,", "~/c.md", "/abs/d.md"]
        );
    }

    #[test]
    fn ignores_code_spans_and_fenced_blocks() {
        let text = "\
Use `@not/a.md` or ``x @nor/b.md `` but @yes.md.
```sh
@fenced.md
```
~~~~
@tilde.md
~~~
still fenced @tilde2.md
~~~~
after @after.md
an ` unmatched @open.md";
        assert_eq!(mentions(text), ["yes.md.", "after.md", "open.md"]);
    }

    #[test]
    fn an_unclosed_fence_hides_the_rest() {
        assert!(mentions("```\n@a.md\n\n@b.md").is_empty());
    }

    #[test]
    fn a_code_span_ends_with_its_paragraph() {
        assert_eq!(mentions("a ` b\n\n@c.md `"), ["c.md"]);
    }

    #[test]
    fn escaped_spaces_belong_to_the_path() {
        assert_eq!(mentions(r"@my\ notes.md next"), ["my notes.md"]);
        // An `@` inside a path is part of it, not a mention of its own.
        assert_eq!(mentions(r"@a\ @b.md @c.md"), ["a @b.md", "c.md"]);
    }

    #[test]
    fn a_line_of_escaped_mentions_is_scanned_once() {
        // 32 KiB of `@a\ `: one mention spanning the line (too long to be a path), not ~8K
        // each scanning to its end.
        let line = r"@a\ ".repeat(8 * 1024);
        let started = std::time::Instant::now();
        assert!(mentions(&line).is_empty());
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        // Shorter, the one mention is the whole line: `a @a @a … @a ` without the first `@`.
        let found = mentions(&r"@a\ ".repeat(1024));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].len(), 3 * 1024 - 1);
    }

    #[test]
    fn mentions_are_capped_in_number_and_length() {
        let many = "@a.md ".repeat(MAX_MENTIONS * 4);
        assert_eq!(mentions(&many).len(), MAX_MENTIONS);
        let long = format!("@{} @b.md", "x".repeat(MAX_MENTION_BYTES + 1));
        assert_eq!(mentions(&long), ["b.md"]);
        let fits = format!("@{}", "x".repeat(MAX_MENTION_BYTES));
        assert_eq!(mentions(&fits).len(), 1);
    }

    #[test]
    fn resolves_relative_home_and_absolute() {
        let dir = Path::new("/repo/sub");
        let home = Some(Path::new("/home/u"));
        assert_eq!(
            resolve("a/b.md", dir, home),
            Some(PathBuf::from("/repo/sub/a/b.md"))
        );
        assert_eq!(
            resolve("~/x.md", dir, home),
            Some(PathBuf::from("/home/u/x.md"))
        );
        assert_eq!(resolve("/etc/y.md", dir, home), Some("/etc/y.md".into()));
        assert_eq!(resolve("~/x.md", dir, None), None);
    }

    #[test]
    fn a_sentence_end_is_tried_without_its_punctuation() {
        assert_eq!(spellings("a.md"), ["a.md"]);
        assert_eq!(spellings("a.md)."), ["a.md).", "a.md"]);
        assert_eq!(spellings("..."), ["..."]);
    }
}
