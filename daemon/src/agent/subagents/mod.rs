//! Sub-agents: the tools the model uses to split work (`spawn_agent`, `send_input`,
//! `wait_agent`, `close_agent`, `list_agents`). Children are ordinary threads; the thread layer
//! makes them (`threads/agents/`) behind [`AgentControl`]. Each call is a `collabAgentToolCall`
//! item of the calling thread.

mod control;
mod tools;

pub use control::{AgentControl, AgentReport, SpawnRequest, WaitReport, WorktreeReport};
pub use tools::register;
