//! Reads the instruction files that exist, in order, following Claude Code's `@path` imports.
//!
//! Repository files are as hostile as any input, and every byte kept is paid for on every model
//! request, so everything here is bounded: each file is read head-first up to a cap, all files
//! together share a total, imports go at most five hops deep (as in Claude Code), and no file is
//! included twice — compared by canonical path, since CLAUDE.md is often a symlink to AGENTS.md
//! — which also makes import cycles end.
//!
//! An import comes right after the file that names it, so each file's additions read next to it.
//! A repository's files, and what they import, must resolve inside the repository (see
//! `Candidate::within`); the caller lifts that for a trusted project.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::files::{Candidate, FileKind};
use super::imports;

/// Largest part of one file that is read; the rest is cut with a note.
pub const MAX_FILE_BYTES: usize = 32 * 1024;
/// Largest total of all instruction files; files past it are cut or left out with a note.
pub const MAX_TOTAL_BYTES: usize = 128 * 1024;
/// How many `@path` hops are followed from a top-level file (Claude Code's limit).
pub const MAX_IMPORT_DEPTH: usize = 5;
/// Most files listed: an import-heavy repository costs stat calls, not unbounded work.
const MAX_FILES: usize = 256;
/// Most `@path` mentions looked up in one walk: each costs a few `stat` calls, and every file
/// may name up to `imports::MAX_MENTIONS`.
const MAX_LOOKUPS: usize = 4096;

/// The limits, as a value so tests can use small ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    pub file: usize,
    pub total: usize,
    pub depth: usize,
}

impl Default for Caps {
    fn default() -> Self {
        Caps {
            file: MAX_FILE_BYTES,
            total: MAX_TOTAL_BYTES,
            depth: MAX_IMPORT_DEPTH,
        }
    }
}

/// Why a file's text is not all there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Longer than the per-file cap.
    FileCap,
    /// The total cap was reached inside it.
    TotalCap,
    /// The total cap was reached before it: nothing of it is included.
    LeftOut,
}

/// One instruction file as the model gets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstructionFile {
    /// Where it was found (an import's is its canonical path).
    pub path: PathBuf,
    pub kind: FileKind,
    /// What is included: the file's text up to the caps.
    pub text: String,
    pub cut: Option<Cut>,
    /// The file that imported it.
    pub imported_from: Option<PathBuf>,
}

impl InstructionFile {
    /// Bytes the instructions carry from this file.
    pub fn bytes(&self) -> usize {
        self.text.len()
    }

    pub fn truncated(&self) -> bool {
        self.cut.is_some()
    }
}

/// The files among `candidates` that exist, each followed by its imports; `home` for `@~/…`.
pub fn gather(candidates: &[Candidate], home: Option<&Path>, caps: Caps) -> Vec<InstructionFile> {
    let mut walk = Walk {
        home,
        caps,
        budget: caps.total,
        lookups: 0,
        included: HashSet::new(),
        expanded: HashSet::new(),
        files: Vec::new(),
    };
    for c in candidates {
        walk.visit(Visit {
            path: c.path.clone(),
            kind: c.kind,
            follows_imports: c.follows_imports,
            imported_from: None,
            depth: 0,
            within: c.within.clone(),
        });
    }
    walk.files
}

/// A file to look at, and how it was reached.
struct Visit {
    path: PathBuf,
    kind: FileKind,
    follows_imports: bool,
    imported_from: Option<PathBuf>,
    depth: usize,
    /// Where it must resolve (its candidate's `within`, passed on to its imports).
    within: Option<PathBuf>,
}

struct Walk<'a> {
    home: Option<&'a Path>,
    caps: Caps,
    /// What is left of the total cap.
    budget: usize,
    /// Mentions looked up so far (see [`MAX_LOOKUPS`]).
    lookups: usize,
    /// Canonical paths already included.
    included: HashSet<PathBuf>,
    /// Canonical paths whose imports were followed.
    expanded: HashSet<PathBuf>,
    files: Vec<InstructionFile>,
}

impl Walk<'_> {
    fn visit(&mut self, v: Visit) {
        if self.files.len() >= MAX_FILES {
            return;
        }
        let Some(canonical) = regular_file(&v.path) else {
            return;
        };
        if let Some(within) = v.within.as_ref().filter(|w| !canonical.starts_with(w)) {
            tracing::debug!(
                path = %v.path.display(),
                repository = %within.display(),
                "instruction file outside an untrusted repository skipped"
            );
            return;
        }
        let expands =
            v.follows_imports && v.depth < self.caps.depth && !self.expanded.contains(&canonical);
        let text = if self.included.insert(canonical.clone()) {
            self.include(&v, &canonical)
        } else if expands {
            // Already in (a CLAUDE.md symlinked to AGENTS.md), but Claude Code would follow its
            // imports, and AGENTS.md's were not.
            self.reread(&v.path)
        } else {
            None
        };
        let Some(text) = text else {
            return;
        };
        if v.follows_imports && v.depth < self.caps.depth && self.expanded.insert(canonical.clone())
        {
            self.follow_imports(&text, &canonical, &v);
        }
    }

    /// The text of an included file read again for its imports, charged to the total like an
    /// included one: otherwise every link to an included file would read up to a file cap
    /// more, past the total that is meant to bound what a repository costs.
    fn reread(&mut self, path: &Path) -> Option<String> {
        if self.budget == 0 {
            return None;
        }
        let (text, _) = read_head(path, self.caps.file.min(self.budget))?;
        self.budget -= text.len();
        Some(text)
    }

    /// Adds the file within what is left of the total; its included text, for its imports.
    fn include(&mut self, v: &Visit, canonical: &Path) -> Option<String> {
        let (text, cut) = if self.budget == 0 {
            (String::new(), Some(Cut::LeftOut))
        } else {
            let (mut text, cut) = read_head(&v.path, self.caps.file)?;
            let over = text.len() > self.budget;
            if over {
                text.truncate(char_floor(&text, self.budget));
            }
            (text, if over { Some(Cut::TotalCap) } else { cut })
        };
        self.budget -= text.len();
        let path = match v.kind {
            FileKind::Import => canonical.to_path_buf(),
            _ => v.path.clone(),
        };
        self.files.push(InstructionFile {
            path,
            kind: v.kind,
            text: text.clone(),
            cut,
            imported_from: v.imported_from.clone(),
        });
        (cut != Some(Cut::LeftOut)).then_some(text)
    }

    /// Visits each existing file `text` imports, relative to the file's real directory (a
    /// `~/.claude/CLAUDE.md` linked into a dotfiles repository imports from there).
    fn follow_imports(&mut self, text: &str, canonical: &Path, importer: &Visit) {
        let dir = canonical.parent().unwrap_or(Path::new("/"));
        let shown = match importer.kind {
            FileKind::Import => canonical.to_path_buf(),
            _ => importer.path.clone(),
        };
        for mention in imports::mentions(text) {
            if self.lookups >= MAX_LOOKUPS {
                return;
            }
            self.lookups += 1;
            let path = imports::spellings(&mention)
                .into_iter()
                .filter_map(|m| imports::resolve(m, dir, self.home))
                .find(|p| regular_file(p).is_some());
            if let Some(path) = path {
                self.visit(Visit {
                    path,
                    kind: FileKind::Import,
                    follows_imports: true,
                    imported_from: Some(shown.clone()),
                    depth: importer.depth + 1,
                    within: importer.within.clone(),
                });
            }
        }
    }
}

/// The canonical path of `path` if it is (or links to) a regular file.
fn regular_file(path: &Path) -> Option<PathBuf> {
    let canonical = std::fs::canonicalize(path).ok()?;
    std::fs::metadata(&canonical)
        .ok()?
        .is_file()
        .then_some(canonical)
}

/// The text of the first `limit` bytes of a regular file, and whether it was cut there.
pub(super) fn read_head(path: &Path, limit: usize) -> Option<(String, Option<Cut>)> {
    use std::io::Read;
    // Not a plain open: a FIFO swapped in after `regular_file` looked would block it forever.
    let file = crate::paths::open_regular(path).ok()?;
    let mut bytes = Vec::new();
    file.take(limit as u64 + 1).read_to_end(&mut bytes).ok()?;
    let cut = (bytes.len() > limit).then_some(Cut::FileCap);
    bytes.truncate(limit);
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    // Lossy decoding may grow the text (a bad byte becomes three); keep to the cap.
    text.truncate(char_floor(&text, limit));
    Some((text, cut))
}

/// The largest char boundary in `text` at or below `at`.
fn char_floor(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}
