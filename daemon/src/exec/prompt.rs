//! The prompt: the argument, or stdin (`-`, or no argument with stdin not a terminal).

use std::io::{IsTerminal, Read};

/// Largest prompt read from stdin.
const MAX_STDIN_PROMPT: u64 = 16 * 1024 * 1024;

/// Why there is no prompt (a usage error: exit 2).
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("no prompt: give one as an argument, or pipe it into stdin (`-` reads stdin)")]
    Missing,
    #[error("no prompt on stdin")]
    EmptyStdin,
    #[error("cannot read the prompt from stdin: {0}")]
    Read(std::io::Error),
}

/// The prompt for this run. With an argument, stdin is left alone (a caller may keep it open).
pub fn resolve(arg: Option<&str>) -> Result<String, PromptError> {
    match arg {
        Some("-") => read_stdin(),
        Some(text) => Ok(text.to_owned()),
        None if std::io::stdin().is_terminal() => Err(PromptError::Missing),
        None => read_stdin(),
    }
}

fn read_stdin() -> Result<String, PromptError> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .take(MAX_STDIN_PROMPT)
        .read_to_end(&mut bytes)
        .map_err(PromptError::Read)?;
    let text = String::from_utf8_lossy(&bytes);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text).trim_end();
    if text.trim().is_empty() {
        return Err(PromptError::EmptyStdin);
    }
    Ok(text.to_owned())
}
