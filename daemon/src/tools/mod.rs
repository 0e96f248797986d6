//! Tools the model can call, and what stands between a call and its effect.
//!
//! Every call goes through the [`orchestrator`]: exec policy → approval → sandbox choice →
//! execution → escalation on a sandbox denial, with the user's lifecycle [`hooks`] around it.
//! The tools themselves are `shell` (runs a command via [`exec`]), `apply_patch` (atomic file
//! edits via [`apply_patch`]) and `update_plan`.

pub mod apply_patch;
mod approval;
pub mod exec;
pub mod execpolicy;
pub mod hooks;
pub mod orchestrator;
mod patch;
mod plan;
mod shell;
pub mod spec;

pub use orchestrator::{handle_call, SessionApprovals, ShellLimits, ToolCtx, ToolOutcome};
