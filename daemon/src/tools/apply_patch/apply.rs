//! Applying the chunks of an Update File hunk to a file's text, in memory.
//!
//! The file is modelled as lines that each remember their own line ending, so a CRLF file stays
//! CRLF, a mixed file keeps every untouched line as it was, and lines the patch adds take the
//! file's dominant ending. Context lines keep the file's text, not the patch's: a context line
//! that only matched fuzzily (say, curly quotes in the file, straight ones in the patch) must not
//! be rewritten as a side effect.

use super::seek::seek_sequence;
use super::{ChunkLine, UpdateChunk};

/// Why a chunk could not be applied. Chunk numbers are 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChunkError {
    /// The `@@ context` line was not found after the previous chunk.
    Header { chunk: usize, context: String },
    /// The chunk's context and removed lines were not found.
    Lines { chunk: usize, lines: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Lf,
    CrLf,
    /// The last line of a file that does not end with a newline.
    Missing,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    text: String,
    ending: Ending,
}

/// A file's text split into lines, with what is needed to write it back the same way.
#[derive(Debug)]
struct TextFile {
    bom: bool,
    lines: Vec<Line>,
    /// CRLF when most lines end with CRLF; used for added lines and the final newline.
    dominant: Ending,
}

impl TextFile {
    fn parse(text: &str) -> Self {
        let (bom, body) = match text.strip_prefix('\u{FEFF}') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let lines: Vec<Line> = body
            .split_inclusive('\n')
            .map(|piece| {
                if let Some(t) = piece.strip_suffix("\r\n") {
                    Line {
                        text: t.to_string(),
                        ending: Ending::CrLf,
                    }
                } else if let Some(t) = piece.strip_suffix('\n') {
                    Line {
                        text: t.to_string(),
                        ending: Ending::Lf,
                    }
                } else {
                    Line {
                        text: piece.to_string(),
                        ending: Ending::Missing,
                    }
                }
            })
            .collect();
        let crlf = lines.iter().filter(|l| l.ending == Ending::CrLf).count();
        let lf = lines.iter().filter(|l| l.ending == Ending::Lf).count();
        let dominant = if crlf > lf { Ending::CrLf } else { Ending::Lf };
        TextFile {
            bom,
            lines,
            dominant,
        }
    }

    /// Renders the text; every line, the last one included, gets a line ending.
    fn render(&self) -> String {
        let mut out = String::new();
        if self.bom {
            out.push('\u{FEFF}');
        }
        for line in &self.lines {
            out.push_str(&line.text);
            let ending = match line.ending {
                Ending::Missing => self.dominant,
                e => e,
            };
            out.push_str(if ending == Ending::CrLf { "\r\n" } else { "\n" });
        }
        out
    }
}

/// A planned edit: replace `old_len` lines at `start` with `lines`.
struct Replacement {
    start: usize,
    old_len: usize,
    lines: Vec<Line>,
}

/// Applies `chunks` in order to `original` and returns the new text.
///
/// Each chunk is searched for after the previous one (after its `@@ context` line first, if it
/// has one). A chunk with no context or removed lines inserts right after its `@@ context` line,
/// or at the end of the file when it has none.
pub(crate) fn apply_chunks(original: &str, chunks: &[UpdateChunk]) -> Result<String, ChunkError> {
    let mut file = TextFile::parse(original);
    let hay: Vec<&str> = file.lines.iter().map(|l| l.text.as_str()).collect();
    let mut cursor = 0;
    let mut replacements = Vec::new();
    for (idx, chunk) in chunks.iter().enumerate() {
        let number = idx + 1;
        if let Some(context) = &chunk.context {
            match seek_sequence(&hay, &[context.as_str()], cursor, false) {
                Some(found) => cursor = found + 1,
                None => {
                    return Err(ChunkError::Header {
                        chunk: number,
                        context: context.clone(),
                    })
                }
            }
        }
        let mut ops = chunk.lines.as_slice();
        if ops.iter().all(|l| matches!(l, ChunkLine::Insert(_))) {
            let start = if chunk.context.is_some() && !chunk.is_end_of_file {
                cursor
            } else {
                hay.len()
            };
            replacements.push(Replacement {
                start,
                old_len: 0,
                lines: inserted(ops, file.dominant),
            });
            continue;
        }
        let mut found = find(&hay, ops, cursor, chunk.is_end_of_file);
        // A trailing empty context line often stands for the file's final newline rather than
        // a real blank line; retry without it before giving up.
        while found.is_none() && matches!(ops.last(), Some(ChunkLine::Context(s)) if s.is_empty()) {
            ops = &ops[..ops.len() - 1];
            found = find(&hay, ops, cursor, chunk.is_end_of_file);
        }
        let Some(start) = found else {
            return Err(ChunkError::Lines {
                chunk: number,
                lines: chunk.old_lines().join("\n"),
            });
        };
        let mut k = start;
        let mut lines = Vec::new();
        for op in ops {
            match op {
                ChunkLine::Context(_) => {
                    lines.push(file.lines[k].clone());
                    k += 1;
                }
                ChunkLine::Delete(_) => k += 1,
                ChunkLine::Insert(text) => lines.push(Line {
                    text: text.clone(),
                    ending: file.dominant,
                }),
            }
        }
        replacements.push(Replacement {
            start,
            old_len: k - start,
            lines,
        });
        cursor = k;
    }
    // Stable sort: insertions at the same position keep the order of their chunks.
    replacements.sort_by_key(|r| r.start);
    let mut result = Vec::with_capacity(file.lines.len());
    let mut pos = 0;
    for r in replacements {
        result.extend_from_slice(&file.lines[pos..r.start]);
        result.extend(r.lines);
        pos = r.start + r.old_len;
    }
    result.extend_from_slice(&file.lines[pos..]);
    file.lines = result;
    Ok(file.render())
}

fn find(hay: &[&str], ops: &[ChunkLine], cursor: usize, at_end: bool) -> Option<usize> {
    let old: Vec<&str> = ops
        .iter()
        .filter_map(|l| match l {
            ChunkLine::Context(s) | ChunkLine::Delete(s) => Some(s.as_str()),
            ChunkLine::Insert(_) => None,
        })
        .collect();
    if old.is_empty() {
        return None;
    }
    seek_sequence(hay, &old, cursor, at_end)
}

fn inserted(ops: &[ChunkLine], ending: Ending) -> Vec<Line> {
    ops.iter()
        .filter_map(|l| match l {
            ChunkLine::Insert(text) => Some(Line {
                text: text.clone(),
                ending,
            }),
            _ => None,
        })
        .collect()
}
