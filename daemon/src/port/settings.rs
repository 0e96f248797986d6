//! The per-thread choices a turn runs under, kept in the thread row's `settings` JSON.

use agentd_protocol::{AskForApproval, SandboxPolicy};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadSettings {
    pub approval_policy: AskForApproval,
    pub sandbox: SandboxPolicy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_instructions: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub developer_instructions: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<String>,
    /// The thread's own MCP servers, as `thread/start {config: {"mcp_servers": …}}` gave them
    /// (checked then; `config::mcp_servers_from_json` reads them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_servers: Option<serde_json::Map<String, serde_json::Value>>,
    /// A sub-agent's role limits its tools to these (agentd's names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<String>>,
    /// A sub-agent working in its own git worktree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worktree: Option<WorktreeMeta>,
}

/// Where a sub-agent's worktree is, to report and clean it up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorktreeMeta {
    pub path: String,
    pub branch: String,
    /// The repository the worktree belongs to.
    pub repo: String,
    /// The commit it was created from.
    pub base: String,
}

impl Default for ThreadSettings {
    /// What a thread whose stored settings cannot be read falls back to: the most careful
    /// policy that still works (read-only, ask on request).
    fn default() -> Self {
        ThreadSettings {
            approval_policy: AskForApproval::OnRequest,
            sandbox: SandboxPolicy::ReadOnly {
                network_access: false,
            },
            base_instructions: None,
            developer_instructions: None,
            reasoning_effort: None,
            mcp_servers: None,
            tools: None,
            worktree: None,
        }
    }
}
