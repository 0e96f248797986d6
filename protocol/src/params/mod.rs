//! Params and results of the client→server requests and the server→client approval requests,
//! one file per method family.

pub mod approval;
pub mod config;
pub mod initialize;
pub mod instructions;
pub mod mcp;
pub mod memory;
pub mod surface;
pub mod thread;
pub mod turn;
