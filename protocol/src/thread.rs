//! The thread: a conversation with its settings, status and (when asked for) its turns.
//!
//! Shaped after Codex's `Thread` definition so that Codex clients can read it: every field Codex
//! requires is always written (`projectId` as `null`), and agentd adds `archived` and `lastSeq`
//! beside them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::turn::Turn;

/// A thread as the daemon reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Thread {
    /// UUIDv7.
    pub id: String,
    /// The id of the root of this thread's fork tree (the thread's own id if it is no fork).
    pub session_id: String,
    /// The start of the first user message, for lists.
    pub preview: String,
    /// The name a client gave the thread, if any.
    #[serde(default)]
    pub name: Option<String>,
    /// Absolute working directory.
    pub cwd: String,
    pub model_provider: String,
    #[serde(default)]
    pub model: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
    /// An ephemeral thread is not listed and not kept after the daemon stops.
    pub ephemeral: bool,
    /// agentd's version.
    pub cli_version: String,
    /// Always [`SessionSource::AppServer`] for threads agentd starts.
    pub source: SessionSource,
    /// Codex projects; agentd has none, so always `null` (but always present: Codex requires it).
    #[serde(default)]
    pub project_id: Option<String>,
    /// The thread this one was forked from.
    #[serde(default)]
    pub forked_from_id: Option<String>,
    /// agentd: whether the thread is archived.
    #[serde(default)]
    pub archived: bool,
    pub status: ThreadStatus,
    /// agentd: the `seq` of the newest event in the thread's log (0 when there is none).
    #[serde(default)]
    pub last_seq: u64,
    /// Empty unless the request asked for turns.
    #[serde(default)]
    pub turns: Vec<Turn>,
}

/// Where a thread was started from (Codex `SessionSource`): a word, `{"custom": name}`, or
/// `{"subAgent": …}` for a thread another thread spawned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum SessionSource {
    Cli,
    Vscode,
    Exec,
    #[default]
    AppServer,
    Unknown,
    Custom(String),
    SubAgent(SubAgentSource),
}

impl SessionSource {
    /// The kind `thread/list {sourceKinds}` filters by (Codex `ThreadSourceKind`).
    pub fn kind(&self) -> &'static str {
        match self {
            SessionSource::Cli => "cli",
            SessionSource::Vscode => "vscode",
            SessionSource::Exec => "exec",
            SessionSource::AppServer => "appServer",
            SessionSource::Unknown | SessionSource::Custom(_) => "unknown",
            SessionSource::SubAgent(SubAgentSource::Review) => "subAgentReview",
            SessionSource::SubAgent(SubAgentSource::Compact) => "subAgentCompact",
            SessionSource::SubAgent(SubAgentSource::ThreadSpawn(_)) => "subAgentThreadSpawn",
            SessionSource::SubAgent(_) => "subAgentOther",
        }
    }
}

/// Which kind of sub-agent a thread is (Codex `SubAgentSource`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubAgentSource {
    Review,
    Compact,
    MemoryConsolidation,
    ThreadSpawn(ThreadSpawnSource),
    Other(String),
}

/// A child a thread spawned (`spawn_agent`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct ThreadSpawnSource {
    pub parent_thread_id: String,
    pub depth: i32,
    #[serde(default)]
    pub agent_nickname: Option<String>,
    #[serde(default)]
    pub agent_role: Option<String>,
}

/// Whether a thread is loaded and what it is doing, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum ThreadStatus {
    /// Stored but not loaded in the daemon.
    NotLoaded,
    /// Loaded, no turn running.
    Idle,
    /// Loaded but broken (e.g. its log could not be read).
    SystemError,
    /// A turn is running; the flags say what it waits for, if anything.
    Active { active_flags: Vec<ThreadActiveFlag> },
}

/// What an active thread is waiting on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ThreadActiveFlag {
    WaitingOnApproval,
    WaitingOnUserInput,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::schema_check::assert_required_fields;
    use serde_json::json;

    pub(crate) fn sample_thread() -> Thread {
        Thread {
            id: "01a20a1f-9940-7d20-9102-536f953a2322".into(),
            session_id: "01a20a1f-9940-7d20-9102-536f953a2322".into(),
            preview: "hi there".into(),
            name: None,
            cwd: "/home/user".into(),
            model_provider: "mock".into(),
            model: Some("mock-model".into()),
            created_at: 1_700_000_000,
            updated_at: 1_700_000_001,
            ephemeral: false,
            cli_version: "0.1.0".into(),
            source: SessionSource::AppServer,
            project_id: None,
            forked_from_id: None,
            archived: false,
            status: ThreadStatus::Idle,
            last_seq: 7,
            turns: vec![crate::turn::tests::sample_turn()],
        }
    }

    #[test]
    fn thread_has_codex_required_fields() {
        let v = json!(sample_thread());
        assert_required_fields("Thread", &v);
        assert_eq!(v["projectId"], json!(null));
        assert_eq!(v["source"], json!("appServer"));
        assert_eq!(v["lastSeq"], json!(7));
    }

    #[test]
    fn status_shapes() {
        assert_eq!(json!(ThreadStatus::NotLoaded), json!({"type": "notLoaded"}));
        let active = ThreadStatus::Active {
            active_flags: vec![ThreadActiveFlag::WaitingOnApproval],
        };
        let v = json!(active);
        assert_eq!(
            v,
            json!({"type": "active", "activeFlags": ["waitingOnApproval"]})
        );
        assert_required_fields("ThreadStatus", &v);
        assert_eq!(serde_json::from_value::<ThreadStatus>(v).unwrap(), active);
    }
}
