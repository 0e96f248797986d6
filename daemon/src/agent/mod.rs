//! The agent loop: runs one turn from the user's input to the model's last word.
//!
//! A turn is a task of its own. It builds the model request from the thread's history and
//! instructions, streams the response, turns output into thread items (sent through its
//! [`ThreadLink`](crate::port::ThreadLink), so every event is ordered and committed by the thread
//! before anyone sees it), runs tool calls, and loops until the model ends the turn — then ends
//! it in exactly one `turn/completed`.

mod compaction;
pub mod input;
mod instructions;
mod services;
pub mod subagents;
mod turn;

pub use instructions::{
    build_instructions, instruction_files, FileKind, InstructionFile, BASE_INSTRUCTIONS,
};
pub use services::AgentServices;
pub use turn::fold;
pub use turn::{spawn_turn, TurnSpec};
