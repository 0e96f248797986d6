//! The per-thread choices a turn runs under, kept in the thread row's `settings` JSON.

use agentd_protocol::{AskForApproval, SandboxPolicy};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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
    /// The thread's own model providers (`config: {"model_providers.ID": …}`, admin only), as
    /// given (checked then; `config::thread_providers` reads them over the daemon's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_providers: Option<serde_json::Map<String, serde_json::Value>>,
    /// The thread's own `web_search` (over the config's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_search: Option<agentd_protocol::WebSearchMode>,
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
    /// The machine it is on: several daemons may share the thread (decision 018), the
    /// worktree stays where it was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
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
            model_providers: None,
            web_search: None,
            tools: None,
            worktree: None,
        }
    }
}

/// A change to a thread's settings that a client asked for: the typed overrides of
/// `thread/start` / `thread/resume` / `turn/start` and the keys of their `config`. Each `Some`
/// replaces the thread's value; `None` keeps it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SettingsPatch {
    pub model: Option<String>,
    pub model_provider: Option<String>,
    pub approval_policy: Option<AskForApproval>,
    pub sandbox: Option<SandboxPolicy>,
    pub base_instructions: Option<String>,
    pub developer_instructions: Option<String>,
    pub reasoning_effort: Option<String>,
    pub mcp_servers: Option<Map<String, Value>>,
    pub model_providers: Option<Map<String, Value>>,
    pub web_search: Option<agentd_protocol::WebSearchMode>,
}

impl SettingsPatch {
    /// Applies the patch to a thread's settings, model and provider.
    pub fn apply(self, settings: &mut ThreadSettings, model: &mut String, provider: &mut String) {
        let SettingsPatch {
            model: new_model,
            model_provider,
            approval_policy,
            sandbox,
            base_instructions,
            developer_instructions,
            reasoning_effort,
            mcp_servers,
            model_providers,
            web_search,
        } = self;
        if let Some(m) = new_model {
            *model = m;
        }
        if let Some(p) = model_provider {
            *provider = p;
        }
        if let Some(a) = approval_policy {
            settings.approval_policy = a;
        }
        if let Some(s) = sandbox {
            settings.sandbox = s;
        }
        if base_instructions.is_some() {
            settings.base_instructions = base_instructions;
        }
        if developer_instructions.is_some() {
            settings.developer_instructions = developer_instructions;
        }
        if reasoning_effort.is_some() {
            settings.reasoning_effort = reasoning_effort;
        }
        if mcp_servers.is_some() {
            settings.mcp_servers = mcp_servers;
        }
        if model_providers.is_some() {
            settings.model_providers = model_providers;
        }
        if web_search.is_some() {
            settings.web_search = web_search;
        }
    }
}
