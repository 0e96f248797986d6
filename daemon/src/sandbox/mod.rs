//! Confinement for commands the model runs (Linux: namespaces, seccomp, Landlock).
//!
//! The daemon re-executes its own binary as `agentd sandbox-exec …` because namespaces cannot
//! be entered from a multi-threaded tokio process; [`cli`] is that helper's entry point.

pub mod cli;
