//! Parser for the `*** Begin Patch` format.
//!
//! Models produce this format by hand, so the parser is deliberately tolerant of the mistakes
//! they make most (padding around markers, a shell heredoc wrapper, an omitted first `@@`,
//! blank lines standing for empty context lines, unified-diff style `@@ -1,2 +1,3 @@` headers)
//! while still rejecting anything ambiguous with an error that names the offending line, so the
//! model can correct its patch instead of having it half-understood.
//!
//! Known limitation of that tolerance: a context line whose content, after trimming, is itself a
//! patch marker (`*** Update File: x`, `@@ ...`) is read as the marker. This only matters when
//! patching files that contain patches.

use std::path::PathBuf;

use thiserror::Error;

use super::{ChunkLine, Hunk, Patch, UpdateChunk};

const BEGIN_PATCH: &str = "*** Begin Patch";
const END_PATCH: &str = "*** End Patch";
const ADD_FILE: &str = "*** Add File:";
const DELETE_FILE: &str = "*** Delete File:";
const UPDATE_FILE: &str = "*** Update File:";
const MOVE_TO: &str = "*** Move to:";
const END_OF_FILE: &str = "*** End of File";

/// Why a patch text could not be parsed. Line numbers are 1-based lines of the text as given.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    #[error("invalid patch: the patch is empty")]
    EmptyText,
    #[error("invalid patch: the first line of the patch must be '*** Begin Patch' (line {line})")]
    MissingBegin { line: usize },
    #[error("invalid patch: the last line of the patch must be '*** End Patch' (line {line})")]
    MissingEnd { line: usize },
    #[error("invalid patch: heredoc opened at line {line} is not closed by a line '{delimiter}'")]
    UnclosedHeredoc { line: usize, delimiter: String },
    #[error("invalid patch: the patch contains no file operations (no files were modified)")]
    NoHunks,
    #[error("invalid hunk at line {line}: {message}")]
    InvalidHunk { line: usize, message: String },
}

/// A patch line with its 1-based line number in the original text.
type Numbered<'a> = (usize, &'a str);

/// Parses patch text into a [`Patch`]. Does not look at the filesystem.
pub fn parse_patch(text: &str) -> Result<Patch, ParseError> {
    let all: Vec<Numbered<'_>> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
        .collect();
    let lines = unwrap_heredoc(trim_blank(&all))?;
    let lines = trim_blank(lines);
    let (Some(&(first_no, first)), Some(&(last_no, last))) = (lines.first(), lines.last()) else {
        return Err(ParseError::EmptyText);
    };
    if !is_marker(first, BEGIN_PATCH) {
        return Err(ParseError::MissingBegin { line: first_no });
    }
    if lines.len() < 2 || !is_marker(last, END_PATCH) {
        return Err(ParseError::MissingEnd { line: last_no });
    }
    let hunks = parse_hunks(&lines[1..lines.len() - 1])?;
    if hunks.is_empty() {
        return Err(ParseError::NoHunks);
    }
    Ok(Patch { hunks })
}

fn trim_blank<'s, 'a>(lines: &'s [Numbered<'a>]) -> &'s [Numbered<'a>] {
    let start = lines.iter().position(|(_, l)| !l.trim().is_empty());
    let end = lines.iter().rposition(|(_, l)| !l.trim().is_empty());
    match (start, end) {
        (Some(s), Some(e)) => &lines[s..=e],
        _ => &[],
    }
}

/// Strips a shell heredoc wrapper (`apply_patch <<'EOF'` ... `EOF`), which models often copy
/// from the way the tool is invoked from a shell.
fn unwrap_heredoc<'s, 'a>(lines: &'s [Numbered<'a>]) -> Result<&'s [Numbered<'a>], ParseError> {
    let Some(&(first_no, first)) = lines.first() else {
        return Ok(lines);
    };
    let first = first.trim();
    if first.starts_with("***") {
        return Ok(lines);
    }
    let Some((_, after)) = first.split_once("<<") else {
        return Ok(lines);
    };
    // The delimiter is the word after `<<` / `<<-`, possibly quoted; anything after it (as in
    // `cat <<'EOF' | apply_patch`) is shell syntax of no interest here.
    let after = after.strip_prefix('-').unwrap_or(after).trim_start();
    let word = after.split_whitespace().next().unwrap_or("");
    let delimiter = word.trim_matches(|c| c == '\'' || c == '"');
    if delimiter.is_empty() || !delimiter.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return Ok(lines);
    }
    match lines.last() {
        Some(&(_, last)) if lines.len() > 1 && last.trim() == delimiter => {
            Ok(&lines[1..lines.len() - 1])
        }
        _ => Err(ParseError::UnclosedHeredoc {
            line: first_no,
            delimiter: delimiter.to_string(),
        }),
    }
}

/// Case-insensitive match of a whole marker line, ignoring surrounding whitespace.
fn is_marker(line: &str, marker: &str) -> bool {
    line.trim().eq_ignore_ascii_case(marker)
}

/// If `line` (ignoring surrounding whitespace) starts with `marker`, returns the trimmed rest.
fn strip_marker<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    let t = line.trim();
    let head = t.get(..marker.len())?;
    head.eq_ignore_ascii_case(marker)
        .then(|| t[marker.len()..].trim())
}

/// Lines that end an Update File hunk: the start of another file operation.
fn is_file_marker(line: &str) -> bool {
    [ADD_FILE, DELETE_FILE, UPDATE_FILE]
        .iter()
        .any(|m| strip_marker(line, m).is_some())
        || is_marker(line, END_PATCH)
}

/// Parses an `@@` header. Returns `Some(context)` for a header line, where `context` is the text
/// after `@@` if any. A unified-diff range (`@@ -3,4 +3,5 @@ fn x`) is dropped, because models
/// sometimes write one and its numbers are never reliable enough to use.
fn parse_chunk_header(line: &str) -> Option<Option<String>> {
    let rest = line.trim().strip_prefix("@@")?.trim();
    let rest = strip_unified_range(rest).unwrap_or(rest);
    Some((!rest.is_empty()).then(|| rest.to_string()))
}

fn strip_unified_range(s: &str) -> Option<&str> {
    let mut parts = s.splitn(3, ' ');
    let is_range = |p: &str, sign: char| {
        p.strip_prefix(sign).is_some_and(|r| {
            !r.is_empty()
                && r.split(',')
                    .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
    };
    let (old, new) = (parts.next()?, parts.next()?);
    if !is_range(old, '-') || !is_range(new, '+') {
        return None;
    }
    let tail = parts.next().unwrap_or("").trim();
    Some(tail.strip_prefix("@@").unwrap_or(tail).trim())
}

fn invalid(line: usize, message: impl Into<String>) -> ParseError {
    ParseError::InvalidHunk {
        line,
        message: message.into(),
    }
}

fn parse_path(line_no: usize, raw: &str, what: &str) -> Result<PathBuf, ParseError> {
    if raw.is_empty() {
        return Err(invalid(line_no, format!("missing path after '{what}'")));
    }
    Ok(PathBuf::from(raw))
}

fn parse_hunks(body: &[Numbered<'_>]) -> Result<Vec<Hunk>, ParseError> {
    let mut hunks = Vec::new();
    let mut i = 0;
    while i < body.len() {
        let (line_no, line) = body[i];
        if line.trim().is_empty() {
            i += 1;
            continue;
        }
        if let Some(p) = strip_marker(line, ADD_FILE) {
            let path = parse_path(line_no, p, ADD_FILE)?;
            let (contents, next) = parse_add_body(body, i + 1);
            hunks.push(Hunk::Add { path, contents });
            i = next;
        } else if let Some(p) = strip_marker(line, DELETE_FILE) {
            hunks.push(Hunk::Delete {
                path: parse_path(line_no, p, DELETE_FILE)?,
            });
            i += 1;
        } else if let Some(p) = strip_marker(line, UPDATE_FILE) {
            let path = parse_path(line_no, p, UPDATE_FILE)?;
            let (hunk, next) = parse_update(body, i + 1, line_no, path)?;
            hunks.push(hunk);
            i = next;
        } else {
            return Err(invalid(
                line_no,
                format!(
                    "'{}' is not a valid hunk header; expected '*** Add File: <path>', \
                     '*** Delete File: <path>' or '*** Update File: <path>'",
                    line.trim()
                ),
            ));
        }
    }
    Ok(hunks)
}

/// Collects the `+` lines of an Add File hunk. Blank lines are kept as empty lines only when
/// more `+` lines follow, so blank separators before the next hunk are not added to the file.
fn parse_add_body(body: &[Numbered<'_>], mut i: usize) -> (String, usize) {
    let mut contents = String::new();
    while i < body.len() {
        let line = body[i].1;
        if let Some(rest) = line.strip_prefix('+') {
            contents.push_str(rest);
            contents.push('\n');
            i += 1;
        } else if line.trim().is_empty() {
            let next = body[i..].iter().position(|(_, l)| !l.trim().is_empty());
            match next.map(|n| i + n) {
                Some(n) if body[n].1.starts_with('+') => {
                    contents.push_str(&"\n".repeat(n - i));
                    i = n;
                }
                _ => break,
            }
        } else {
            break;
        }
    }
    (contents, i)
}

fn parse_update(
    body: &[Numbered<'_>],
    mut i: usize,
    header_no: usize,
    path: PathBuf,
) -> Result<(Hunk, usize), ParseError> {
    let skip_blank = |mut i: usize| {
        while i < body.len() && body[i].1.trim().is_empty() {
            i += 1;
        }
        i
    };
    i = skip_blank(i);
    let mut move_path = None;
    if let Some(&(no, line)) = body.get(i) {
        if let Some(p) = strip_marker(line, MOVE_TO) {
            move_path = Some(parse_path(no, p, MOVE_TO)?);
            i += 1;
        }
    }
    let mut chunks = Vec::new();
    loop {
        i = skip_blank(i);
        let Some(&(line_no, line)) = body.get(i) else {
            break;
        };
        if is_file_marker(line) {
            break;
        }
        let context = match parse_chunk_header(line) {
            Some(ctx) => {
                i += 1;
                ctx
            }
            // The first chunk's `@@` may be omitted: its lines then start right away.
            None if chunks.is_empty() && starts_chunk_line(line) => None,
            None => {
                return Err(invalid(
                    line_no,
                    format!(
                        "expected an '@@' chunk header or a new file operation, found '{line}'"
                    ),
                ))
            }
        };
        let (chunk, next) = parse_chunk_lines(body, i, line_no, context)?;
        chunks.push(chunk);
        i = next;
    }
    if chunks.is_empty() {
        return Err(invalid(
            header_no,
            format!(
                "Update File hunk for '{}' has no chunks; add '@@' sections with the lines to change",
                path.display()
            ),
        ));
    }
    Ok((
        Hunk::Update {
            path,
            move_path,
            chunks,
        },
        i,
    ))
}

fn starts_chunk_line(line: &str) -> bool {
    line.starts_with([' ', '+', '-'])
}

fn parse_chunk_lines(
    body: &[Numbered<'_>],
    mut i: usize,
    header_no: usize,
    context: Option<String>,
) -> Result<(UpdateChunk, usize), ParseError> {
    let mut lines = Vec::new();
    // Number of trailing lines that were bare blank lines rather than explicit " " context:
    // they are usually separators a model left before the next marker, not content.
    let mut trailing_implicit = 0;
    let mut is_end_of_file = false;
    while let Some(&(line_no, line)) = body.get(i) {
        if is_marker(line, END_OF_FILE) {
            is_end_of_file = true;
            i += 1;
            break;
        }
        if is_file_marker(line) || parse_chunk_header(line).is_some() {
            break;
        }
        if line.starts_with("\\ No newline") {
            // Copied from `diff` output; the final newline is normalised anyway.
            i += 1;
            continue;
        }
        let parsed = if let Some(rest) = line.strip_prefix(' ') {
            ChunkLine::Context(rest.to_string())
        } else if let Some(rest) = line.strip_prefix('+') {
            ChunkLine::Insert(rest.to_string())
        } else if let Some(rest) = line.strip_prefix('-') {
            ChunkLine::Delete(rest.to_string())
        } else if line.trim().is_empty() {
            trailing_implicit += 1;
            lines.push(ChunkLine::Context(String::new()));
            i += 1;
            continue;
        } else {
            return Err(invalid(
                line_no,
                format!(
                    "unexpected line in update chunk: '{line}'; every chunk line must start \
                     with ' ' (context), '+' (added) or '-' (removed)"
                ),
            ));
        };
        trailing_implicit = 0;
        lines.push(parsed);
        i += 1;
    }
    lines.truncate(lines.len() - trailing_implicit);
    if lines.is_empty() {
        return Err(invalid(header_no, "chunk has no lines"));
    }
    Ok((
        UpdateChunk {
            context,
            lines,
            is_end_of_file,
        },
        i,
    ))
}
