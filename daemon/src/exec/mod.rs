//! `agentd exec`: one turn from a script or CI job — a prompt in, the answer out, an exit
//! status, and optionally `codex exec --json`'s JSON Lines on stdout.
//!
//! exec is a client of the daemon like any other: it drives the daemon serving the data
//! directory through its private socket (or one at `--connect`), or, when none does, a daemon
//! in this process for the one turn (docs/decisions/011). Nobody can answer a question in a
//! headless run, so the turn runs under a `granular` approval policy with every kind of
//! question shut: what the policy would ask about is refused, and the model is told why.
//!
//! Files: `args.rs` (the command line), `prompt.rs`, `session.rs` (connecting, starting the
//! thread and the turn), `human.rs` and `jsonl.rs` (the two ways of reporting), `run.rs` (the
//! event loop and the exit status).

mod args;
mod human;
mod jsonl;
mod prompt;
mod run;
mod session;

pub use args::{ExecArgs, ExecCommand, ResumeArgs};

use std::process::ExitCode;

/// Runs `agentd exec` to its exit status: 0 the turn completed; 1 it failed or was interrupted
/// (or the run could not start); 130 Ctrl-C interrupted it; 2 a usage error.
pub fn main(args: ExecArgs) -> ExitCode {
    let runtime = match crate::runtime::build(None) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("agentd exec: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(run::run(args));
    crate::runtime::shut_down(runtime);
    ExitCode::from(code)
}
