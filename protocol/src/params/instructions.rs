//! `instructions/list` (agentd): the instruction files the model gets in a working directory —
//! the user's own, AGENTS.md, CLAUDE.md, CLAUDE.local.md and their `@path` imports — in the
//! order they are sent, so a UI can show which files apply and what they cost.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `instructions/list` params.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstructionsListParams {
    /// The working directory to look from (default: the daemon's); relative to the daemon's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
}

/// `instructions/list` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstructionsListResponse {
    /// In the order the model reads them.
    pub files: Vec<InstructionFileMetadata>,
}

/// One instruction file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstructionFileMetadata {
    pub path: String,
    pub kind: InstructionFileKind,
    /// Bytes of it the instructions carry (after the caps).
    pub bytes: u64,
    /// Whether some of it was left out: it is over the per-file cap, or the total cap for all
    /// instruction files was reached (then `bytes` may be 0).
    pub truncated: bool,
    /// The file whose `@path` named it, for an import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported_from: Option<String>,
}

/// Where an instruction file comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum InstructionFileKind {
    /// The user's own, for every project: `$XDG_CONFIG_HOME/agentd/AGENTS.md` or
    /// `~/.claude/CLAUDE.md`.
    User,
    /// A directory's `AGENTS.md`.
    Agents,
    /// A directory's `CLAUDE.md`.
    Claude,
    /// A directory's `CLAUDE.local.md`.
    ClaudeLocal,
    /// A file reached through a CLAUDE.md's `@path`.
    Import,
}
