//! The two tools `agentd mcp-server` offers, as Codex's `codex mcp-server` does: `agentd`
//! starts a thread and runs one turn; `agentd-reply` runs another turn on a thread.

use std::sync::Arc;

use rmcp::handler::server::common::schema_for_type;
use rmcp::model::{Tool, ToolAnnotations};
use schemars::JsonSchema;
use serde::Deserialize;

pub const START: &str = "agentd";
pub const REPLY: &str = "agentd-reply";

/// `agentd`'s arguments (Codex's `codex` tool's names).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartArgs {
    /// What to do: the first message of the thread.
    pub prompt: String,
    /// The working directory (default: the daemon's).
    #[serde(default)]
    pub cwd: Option<String>,
    /// `untrusted`, `on-request` or `never`. Nobody can be asked through this tool: questions
    /// are declined, so `never` lets the agent do whatever the sandbox allows.
    #[serde(default, rename = "approval-policy")]
    pub approval_policy: Option<String>,
    /// `read-only`, `workspace-write` or `danger-full-access`.
    #[serde(default)]
    pub sandbox: Option<String>,
    /// The model (default: the daemon's).
    #[serde(default)]
    pub model: Option<String>,
    /// A `[profiles.NAME]` of the config file: its model, provider, approval policy and
    /// sandbox, unless given here.
    #[serde(default)]
    pub profile: Option<String>,
    /// Replaces the built-in instructions.
    #[serde(default, rename = "base-instructions")]
    pub base_instructions: Option<String>,
    /// Added as a developer message.
    #[serde(default, rename = "developer-instructions")]
    pub developer_instructions: Option<String>,
}

/// `agentd-reply`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyArgs {
    /// The thread to continue (from `agentd`'s result).
    #[serde(rename = "threadId", alias = "conversationId")]
    pub thread_id: String,
    /// The next message.
    pub prompt: String,
}

pub fn list() -> Vec<Tool> {
    let start = Tool::new(
        START,
        "Run a coding agent (agentd) on a task: it starts a thread, works until its turn ends \
         (reading and editing files, running commands in a sandbox), and returns its final \
         message and the threadId to continue with agentd-reply.",
        schema_for_type::<StartArgs>(),
    )
    .annotate(ToolAnnotations::new().read_only(false));
    let reply = Tool::new(
        REPLY,
        "Continue an agentd thread with another message; returns the agent's final message.",
        schema_for_type::<ReplyArgs>(),
    )
    .annotate(ToolAnnotations::new().read_only(false));
    vec![start, reply]
}

/// The input schema of a tool, for tests.
pub fn schema(name: &str) -> Option<Arc<rmcp::model::JsonObject>> {
    list()
        .into_iter()
        .find(|t| t.name == name)
        .map(|t| t.input_schema)
}
