//! What the sub-agent tools ask of the daemon: the thread layer (`threads/agents/`) implements
//! [`AgentControl`]; the tools and the turn only see this trait.

use std::collections::BTreeMap;
use std::time::Duration;

use agentd_protocol::CollabAgentStatus;
use async_trait::async_trait;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

/// `spawn_agent`'s request, with the calling thread.
#[derive(Debug, Clone)]
pub struct SpawnRequest {
    pub parent_thread_id: String,
    pub message: String,
    pub role: Option<String>,
    pub model: Option<String>,
    pub reasoning_effort: Option<String>,
    pub worktree: bool,
}

/// A child as the parent's tools report it.
#[derive(Debug, Clone, Serialize)]
pub struct AgentReport {
    pub agent_id: String,
    pub nickname: String,
    pub role: String,
    pub status: CollabAgentStatus,
    /// Its last message to the parent (its last turn's final answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worktree: Option<WorktreeReport>,
}

/// A child's git worktree, for the parent to review.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct WorktreeReport {
    pub path: String,
    pub branch: String,
    /// Uncommitted changes, untracked files included (`git status --porcelain` paths).
    pub changed_files: Vec<String>,
    /// `git diff --stat` of the uncommitted changes against the branch's HEAD.
    pub diff_stat: String,
    /// Commits the child made on its branch.
    pub commits_ahead: u32,
    /// Removed on close (nothing to review).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub removed: bool,
}

/// What `wait_agent` saw.
#[derive(Debug, Clone, Serialize)]
pub struct WaitReport {
    pub status: BTreeMap<String, AgentReport>,
    pub timed_out: bool,
}

#[async_trait]
pub trait AgentControl: Send + Sync {
    /// Creates the child thread and starts its first turn with the message.
    async fn spawn(&self, request: SpawnRequest) -> Result<AgentReport, String>;
    /// A new turn for an idle child, or the message steered into its running turn
    /// (`interrupt`: the running turn is interrupted first).
    async fn send_input(
        &self,
        parent: &str,
        target: &str,
        message: &str,
        interrupt: bool,
    ) -> Result<AgentReport, String>;
    /// Waits until any (or all) targets have finished their turn, the timeout, or `cancel`.
    async fn wait(
        &self,
        parent: &str,
        targets: &[String],
        all: bool,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> Result<WaitReport, String>;
    /// Closes the child and its own children; frees its slot.
    async fn close(&self, parent: &str, target: &str) -> Result<AgentReport, String>;
    async fn list(&self, parent: &str) -> Result<Vec<AgentReport>, String>;
    /// Interrupts the running turns of every open descendant (the parent's turn was interrupted).
    async fn interrupt_children(&self, parent: &str);
    /// Notes about children that finished while the parent was busy, for its next request.
    fn take_notes(&self, parent: &str) -> Vec<String>;
    /// How deep `thread` is (0 for a thread no agent spawned).
    async fn depth(&self, thread: &str) -> u32;
}
