//! `memory/read`, `memory/reset`, `memory/rebuild` (agentd): the persistent memory kept per
//! project across threads (docs/memory.md).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `memory/read` and `memory/reset` params: one project (the repository or directory `cwd` is
/// in), or every project when `cwd` is absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemoryScopeParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
}

/// `memory/read` result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemoryReadResponse {
    /// Whether memory is on (`[memory] enabled`).
    pub enabled: bool,
    /// The project read (`null` for every project).
    #[serde(default)]
    pub project: Option<String>,
    /// The project's summary; for every project, each summary under a heading naming it.
    pub summary: String,
    /// What each thread taught, newest first.
    pub memories: Vec<MemoryEntry>,
    /// When the summary last changed (Unix seconds; `null`: never).
    #[serde(default)]
    pub updated_at: Option<i64>,
    /// The last failures of memory jobs (extraction or consolidation), newest first.
    pub errors: Vec<String>,
}

/// One thread's memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemoryEntry {
    pub thread_id: String,
    pub project: String,
    pub summary: String,
    pub slug: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// `memory/reset` result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MemoryResetResponse {}

/// `memory/rebuild` params (none).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MemoryRebuildParams {}

/// `memory/rebuild` result: threads extracted and summaries consolidated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemoryRebuildResponse {
    pub extracted: u32,
    pub consolidated: u32,
}
