//! Opening up `bash -lc "a && b | c"` so the commands inside are judged, not the shell.
//!
//! Models wrap almost every command in a login shell, so without this every command would be
//! "unknown". But a script is only split when we can read it *exactly*: plain words and quoted
//! strings joined by `&&`, `||`, `;`, `|` (or newlines). Anything that could make the commands
//! that run differ from the words we see — redirections, substitutions, variables, grouping,
//! heredocs, background jobs, comments, assignments, shell keywords, a glob in command
//! position — makes the whole line one unknown command. Globs in arguments stay plain words:
//! they pick files, not programs. A command that is itself a shell wrapper is not opened
//! again; it is simply unknown. The operator scan is ours; the words of each part come from `shlex` (POSIX rules),
//! which agrees with the shell once everything it does not handle has been rejected here.

/// What an argv turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Wrapped {
    /// Not a `sh`/`bash`/`zsh` `-c` invocation: judge the argv as it is.
    NotShell,
    /// A shell wrapper around a plain script: judge each of these commands.
    Script(Vec<Vec<String>>),
    /// A shell wrapper around a script we cannot read exactly: one unknown command.
    Complex,
}

/// Shells whose `-c` scripts we open. Only bare names and the standard system paths, so that
/// a `./bash` in the workspace is not mistaken for the real shell.
const SHELLS: &[&str] = &["bash", "sh", "zsh"];
const SHELL_DIRS: &[&str] = &["/bin/", "/usr/bin/"];

/// Classifies `argv` as a shell wrapper or not (`bash -lc S`, `sh -c S`, `bash -l -c S`,
/// `zsh --login -c S`, …, with exactly one argument after the `-c`).
pub(crate) fn unwrap_shell(argv: &[String]) -> Wrapped {
    let Some((program, args)) = argv.split_first() else {
        return Wrapped::NotShell;
    };
    let name = SHELL_DIRS
        .iter()
        .find_map(|dir| program.strip_prefix(dir))
        .unwrap_or(program);
    if !SHELLS.contains(&name) {
        return Wrapped::NotShell;
    }
    let mut rest = args;
    loop {
        match rest.split_first() {
            Some((flag, tail)) if flag == "-l" || flag == "--login" => rest = tail,
            Some((flag, tail)) if ["-c", "-lc", "-cl"].contains(&flag.as_str()) => {
                rest = tail;
                break;
            }
            _ => return Wrapped::NotShell,
        }
    }
    // Extra arguments after the script would become `$0`, `$1`, … inside it; we do not
    // model that, so such a line is judged as the plain argv it is.
    match rest {
        [script] => split_script(script).map_or(Wrapped::Complex, Wrapped::Script),
        _ => Wrapped::NotShell,
    }
}

/// Words that make a part a compound command or otherwise not a plain command.
const RESERVED: &[&str] = &[
    "!", "[[", "]]", "{", "}", "case", "coproc", "do", "done", "elif", "else", "esac", "fi", "for",
    "function", "if", "in", "select", "then", "time", "until", "while",
];

/// Splits a plain script into its commands, or `None` if it is anything more than plain.
pub(crate) fn split_script(script: &str) -> Option<Vec<Vec<String>>> {
    let segments = split_operators(script)?;
    let mut parts = Vec::with_capacity(segments.len());
    for segment in segments {
        let words = shlex::split(segment)?;
        let first = words.first()?;
        // A glob in command position (`/bin/r? -rf x`) could name any program.
        let globbed = first.contains(['*', '?', '[']);
        if RESERVED.contains(&first.as_str()) || is_assignment(first) || globbed {
            return None;
        }
        parts.push(words);
    }
    if parts.is_empty() {
        // Nothing to run is odd enough not to call safe.
        return None;
    }
    Some(parts)
}

/// `NAME=value` in command position sets a variable for the command (or the shell).
fn is_assignment(word: &str) -> bool {
    match word.split_once('=') {
        Some((name, _)) => {
            let mut chars = name.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        None => false,
    }
}

/// Cuts `script` at top-level `&&`, `||`, `;`, `|` and newlines, or returns `None` on any
/// construct we do not read. Every segment is non-empty except that a trailing `;` or newline
/// is allowed, as the shell allows it.
fn split_operators(script: &str) -> Option<Vec<&str>> {
    let bytes = script.as_bytes();
    let mut cutter = Cutter {
        script,
        segments: Vec::new(),
        start: 0,
        word_start: true,
        may_end: true,
    };
    let mut i = 0;

    while i < bytes.len() {
        let byte = bytes[i];
        let at_word_start = cutter.word_start;
        cutter.word_start = false;
        match byte {
            b' ' | b'\t' => cutter.word_start = true,
            b'\'' => {
                // Single quotes: everything literal up to the next `'`.
                i += 1 + bytes[i + 1..].iter().position(|&b| b == b'\'')?;
            }
            b'"' => i = closing_double_quote(bytes, i)?,
            b'\\' => {
                // A backslash quotes the next byte; one at the very end is incomplete.
                if i + 1 >= bytes.len() {
                    return None;
                }
                i += 1;
            }
            b'&' | b'|' if bytes.get(i + 1) == Some(&byte) => {
                cutter.cut_at(i, i + 2, false)?;
                i += 1;
            }
            // A lone `&` is a background job; `|&` and `&>` are redirections.
            b'&' => return None,
            b'|' if bytes.get(i + 1) == Some(&b'&') => return None,
            b'|' => cutter.cut_at(i, i + 1, false)?,
            // Blank lines are fine; an empty command before `;` is a syntax error.
            b'\n' if script[cutter.start..i].trim().is_empty() => {
                cutter.start = i + 1;
                cutter.word_start = true;
            }
            b';' | b'\n' => {
                // `;;` belongs to `case`.
                if byte == b';' && bytes.get(i + 1) == Some(&b';') {
                    return None;
                }
                cutter.cut_at(i, i + 1, true)?;
            }
            b'$' | b'`' | b'<' | b'>' | b'(' | b')' | b'{' | b'}' => return None,
            // Comments hide text, `!` negates a pipeline, `=cmd` is a zsh path expansion.
            b'#' | b'!' | b'=' if at_word_start => return None,
            _ => {}
        }
        i += 1;
    }
    cutter.finish()
}

/// The index of the `"` closing the double-quoted string opened at `open`, or `None` when it
/// is unterminated or expands something: inside double quotes `\` escapes, but `$` and
/// backticks still expand.
fn closing_double_quote(bytes: &[u8], open: usize) -> Option<usize> {
    let mut i = open + 1;
    loop {
        match *bytes.get(i)? {
            b'"' => return Some(i),
            b'$' | b'`' => return None,
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
}

/// [`split_operators`]' state between bytes: the commands cut so far and what the scan at the
/// current position may accept.
struct Cutter<'s> {
    script: &'s str,
    segments: Vec<&'s str>,
    /// Where the current command began.
    start: usize,
    /// Whether the next byte begins a word (where `#`, `!`, `=`, `~`-style rules apply).
    word_start: bool,
    /// Whether the last cut was `;` or a newline, after which the script may simply end.
    may_end: bool,
}

impl<'s> Cutter<'s> {
    /// Ends the current command at `end` at an operator; the next command begins at `next`.
    /// `may_end` says whether the operator (`;`, newline) may also end the script.
    fn cut_at(&mut self, end: usize, next: usize, may_end: bool) -> Option<()> {
        cut(self.script, &mut self.segments, self.start, end)?;
        self.start = next;
        self.word_start = true;
        self.may_end = may_end;
        Some(())
    }

    /// The commands, once the text after the last operator has been judged.
    fn finish(mut self) -> Option<Vec<&'s str>> {
        let script = self.script;
        if script[self.start..].trim().is_empty() {
            // Only a trailing `;`/newline (or nothing at all before it) may end the script.
            if !self.may_end || self.segments.is_empty() {
                return None;
            }
        } else {
            cut(script, &mut self.segments, self.start, script.len())?;
        }
        Some(self.segments)
    }
}

/// Pushes `script[start..end]` as a command, or fails if there is no command there.
fn cut<'s>(script: &'s str, segments: &mut Vec<&'s str>, start: usize, end: usize) -> Option<()> {
    let segment = &script[start..end];
    if segment.trim().is_empty() {
        return None;
    }
    segments.push(segment);
    Some(())
}
