//! The terminal client's parts, as a library so the binary, its screen tests and its render
//! benchmark share them: `app` (the state machine), `transcript` (folding a thread's events),
//! `render` and `ui` (drawing), `tree` (sub-agents under their parents), `connection` and `run`
//! (the only I/O).

pub mod app;
pub mod cli;
pub mod connection;
pub mod render;
pub mod run;
pub mod transcript;
pub mod tree;
pub mod ui;

#[cfg(test)]
mod screen_tests;
