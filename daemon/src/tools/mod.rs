//! Tools the model can call, and what stands between a call and its effect.
//!
//! A tool is a [`ToolHandler`] (its spec for the model, the risk of its calls, its handler)
//! registered once in the [`ToolRegistry`]; the registry routes a call by name and the
//! [`orchestrator`] runs every call through the same stages: PreToolUse [`hooks`] → [`policy`]
//! → approval → sandbox choice → attempt → escalation on a sandbox denial → PostToolUse hooks.
//! agentd's own tools are `shell` (a command via [`exec`]), `apply_patch` (atomic file edits via
//! [`apply_patch`]) and `update_plan`; docs/ARCHITECTURE.md has the recipe for adding one.

pub mod apply_patch;
pub mod exec;
pub mod execpolicy;
pub mod handler;
pub mod hooks;
pub mod orchestrator;
mod patch;
mod plan;
pub mod policy;
pub mod registry;
pub mod session;
mod shell;

pub use handler::{ToolHandler, ToolOutcome};
pub use orchestrator::{handle_call, ShellLimits, ToolCtx};
pub use registry::ToolRegistry;
pub use session::SessionApprovals;
