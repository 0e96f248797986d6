//! The instructions sent with every model request, in this order: the built-in base
//! instructions, memory from earlier threads in the project, the instruction files that apply
//! (the user's own, then AGENTS.md / CLAUDE.md / CLAUDE.local.md from the repository root down
//! to the working directory, with CLAUDE.md's `@path` imports — see [`files`] and [`gather`]),
//! then the thread's developer instructions. Later text refines earlier text.
//!
//! Every byte here is paid for on every request, so the base text is short and the files are
//! capped. Each file is labelled with its path, so the model (and a person reading a request)
//! can tell which rule came from where.

mod files;
mod gather;
mod imports;
#[cfg(test)]
mod tests;

use std::path::Path;

use crate::config::Projects;

pub use files::FileKind;
use files::UserDirs;
use gather::{Caps, Cut};
pub use gather::{InstructionFile, MAX_FILE_BYTES, MAX_TOTAL_BYTES};

pub const BASE_INSTRUCTIONS: &str = "\
You are a coding agent running in agentd, working in the user's workspace on their behalf.
- Work autonomously until the task is done; keep the user informed with brief updates.
- Read before you change: inspect files and run commands to understand the code first.
- Make focused, minimal changes that fit the existing style; do not fix unrelated issues.
- Use the apply_patch tool to edit files and the shell tool to run commands (prefer rg to grep).
- Commands may run in a sandbox; if one is denied and it matters, explain why and ask to escalate.
- Verify your work (build, tests) when you can, and say what you could not verify.
- Finish with a concise summary of what you changed and anything left to do.";

/// The instruction files that apply to `cwd`, in the order the model reads them, with the
/// user's directories taken from the environment. A repository's files and imports stay inside
/// it unless `projects` trusts `cwd` (as Claude Code asks before following a project's imports
/// out of the project).
pub fn instruction_files(cwd: &Path, projects: &Projects) -> Vec<InstructionFile> {
    files_for(cwd, &UserDirs::from_env(), projects.trusts(cwd))
}

fn files_for(cwd: &Path, user: &UserDirs, trusted: bool) -> Vec<InstructionFile> {
    let mut candidates = files::candidates(cwd, user);
    if trusted {
        candidates.iter_mut().for_each(|c| c.within = None);
    }
    gather::gather(&candidates, user.home.as_deref(), Caps::default())
}

/// The whole instructions text for a request made in `cwd`. `base` replaces the built-in base
/// instructions; `memory` is what earlier threads in the project left to remember.
pub fn build_instructions(
    base: Option<&str>,
    memory: Option<&str>,
    developer: Option<&str>,
    cwd: &Path,
    projects: &Projects,
) -> String {
    render(
        base.unwrap_or(BASE_INSTRUCTIONS),
        memory,
        &instruction_files(cwd, projects),
        developer,
    )
}

fn render(
    base: &str,
    memory: Option<&str>,
    files: &[InstructionFile],
    developer: Option<&str>,
) -> String {
    let mut out = String::from(base);
    if let Some(memory) = non_blank(memory) {
        section(
            &mut out,
            "Memory from earlier threads in this project",
            memory,
        );
    }
    for file in files.iter().filter(|f| !f.text.trim().is_empty()) {
        section(&mut out, &heading(file), &body(file));
    }
    if let Some(note) = left_out_note(files) {
        out.push_str(&note);
    }
    if let Some(dev) = non_blank(developer) {
        section(&mut out, "Developer instructions", dev);
    }
    out
}

fn section(out: &mut String, title: &str, text: &str) {
    out.push_str("\n\n# ");
    out.push_str(title);
    out.push_str("\n\n");
    out.push_str(text.trim_end());
}

fn non_blank(text: Option<&str>) -> Option<&str> {
    text.filter(|t| !t.trim().is_empty())
}

fn heading(file: &InstructionFile) -> String {
    match &file.imported_from {
        Some(from) => format!(
            "Instructions from {} (imported by {})",
            file.path.display(),
            from.display()
        ),
        None => format!("Instructions from {}", file.path.display()),
    }
}

/// The file's text, with a note where it was cut.
fn body(file: &InstructionFile) -> String {
    let note = match file.cut {
        Some(Cut::FileCap) => format!("only its first {} KiB are read", MAX_FILE_BYTES / 1024),
        Some(Cut::TotalCap) => format!(
            "the {} KiB total for instruction files was reached",
            MAX_TOTAL_BYTES / 1024
        ),
        Some(Cut::LeftOut) | None => return file.text.clone(),
    };
    format!("{}\n[truncated: {note}]", file.text.trim_end())
}

/// One line naming the files the total cap left out entirely, if any.
fn left_out_note(files: &[InstructionFile]) -> Option<String> {
    let left_out: Vec<String> = files
        .iter()
        .filter(|f| f.cut == Some(Cut::LeftOut))
        .map(|f| f.path.display().to_string())
        .collect();
    (!left_out.is_empty()).then(|| {
        format!(
            "\n\n[Left out, over the {} KiB total for instruction files: {}]",
            MAX_TOTAL_BYTES / 1024,
            left_out.join(", ")
        )
    })
}
