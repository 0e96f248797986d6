//! Thread items (what happened inside a turn) and user input.
//!
//! `ThreadItem` is tagged by `type` with the Codex variant names; each variant's payload is its
//! own struct so the daemon can build and update one kind of item without matching on the rest.
//! Codex has more variants (web search, image generation, …); agentd only produces these.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One item of a turn, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ThreadItem {
    UserMessage(UserMessageItem),
    AgentMessage(AgentMessageItem),
    Reasoning(ReasoningItem),
    CommandExecution(CommandExecutionItem),
    FileChange(FileChangeItem),
    Plan(PlanItem),
    ContextCompaction(ContextCompactionItem),
    CollabAgentToolCall(CollabAgentToolCallItem),
    McpToolCall(McpToolCallItem),
    HookPrompt(HookPromptItem),
    WebSearch(WebSearchItem),
}

impl ThreadItem {
    /// The item's id, whatever its kind.
    pub fn id(&self) -> &str {
        match self {
            ThreadItem::UserMessage(i) => &i.id,
            ThreadItem::AgentMessage(i) => &i.id,
            ThreadItem::Reasoning(i) => &i.id,
            ThreadItem::CommandExecution(i) => &i.id,
            ThreadItem::FileChange(i) => &i.id,
            ThreadItem::Plan(i) => &i.id,
            ThreadItem::ContextCompaction(i) => &i.id,
            ThreadItem::CollabAgentToolCall(i) => &i.id,
            ThreadItem::McpToolCall(i) => &i.id,
            ThreadItem::HookPrompt(i) => &i.id,
            ThreadItem::WebSearch(i) => &i.id,
        }
    }
}

/// A search the provider ran for the model (its hosted `web_search` tool, `web_search =
/// "live"`). Codex's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebSearchItem {
    pub id: String,
    /// What was searched for (the action's query; empty when the action has none).
    pub query: String,
    #[serde(default)]
    pub action: Option<WebSearchAction>,
    /// Results, when the provider sent them (opaque, as Codex passes them).
    #[serde(default)]
    pub results: Option<Vec<serde_json::Value>>,
}

/// What a web search did, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum WebSearchAction {
    Search {
        #[serde(default)]
        query: Option<String>,
        #[serde(default)]
        queries: Option<Vec<String>>,
    },
    OpenPage {
        #[serde(default)]
        url: Option<String>,
    },
    FindInPage {
        #[serde(default)]
        url: Option<String>,
        #[serde(default)]
        pattern: Option<String>,
    },
    /// Any other action (or one a newer provider added).
    #[serde(other)]
    Other,
}

/// Context hooks added to the model's input (`additionalContext` of SessionStart,
/// UserPromptSubmit, …), one fragment per hook run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookPromptItem {
    pub id: String,
    pub fragments: Vec<HookPromptFragment>,
}

/// What one hook run added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookPromptFragment {
    pub hook_run_id: String,
    pub text: String,
}

/// A call of an MCP server's tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct McpToolCallItem {
    pub id: String,
    /// The server's name in the config.
    pub server: String,
    /// The tool's name on the server.
    pub tool: String,
    pub status: crate::params::mcp::McpToolCallStatus,
    /// The arguments the model gave (an object; `{}` when it gave none).
    pub arguments: serde_json::Value,
    #[serde(default)]
    pub result: Option<crate::params::mcp::McpToolCallResult>,
    #[serde(default)]
    pub error: Option<crate::params::mcp::McpToolCallError>,
    #[serde(default)]
    pub duration_ms: Option<i64>,
    /// The tool's `readOnlyHint` annotation.
    #[serde(default)]
    pub read_only_hint: Option<bool>,
}

/// What the user sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserMessageItem {
    pub id: String,
    pub content: Vec<UserInput>,
}

/// Text the model wrote for the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentMessageItem {
    pub id: String,
    pub text: String,
}

/// The model's reasoning: summary parts and (when the provider exposes it) raw content parts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReasoningItem {
    pub id: String,
    #[serde(default)]
    pub summary: Vec<String>,
    #[serde(default)]
    pub content: Vec<String>,
}

/// A shell command the agent ran (or asked to run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommandExecutionItem {
    pub id: String,
    /// The command line as one string.
    pub command: String,
    pub cwd: String,
    pub status: ItemStatus,
    /// What the command does, parsed for display; `[]` or one `unknown` when not parsed.
    #[serde(default)]
    pub command_actions: Vec<CommandAction>,
    /// stdout and stderr interleaved, possibly truncated.
    #[serde(default)]
    pub aggregated_output: Option<String>,
    #[serde(default)]
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub duration_ms: Option<i64>,
}

/// A parsed reading of a command, for display (Codex `CommandAction`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum CommandAction {
    Read {
        command: String,
        name: String,
        path: String,
    },
    ListFiles {
        command: String,
        #[serde(default)]
        path: Option<String>,
    },
    Search {
        command: String,
        #[serde(default)]
        query: Option<String>,
        #[serde(default)]
        path: Option<String>,
    },
    Unknown {
        command: String,
    },
}

/// Edits to files, applied as one patch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileChangeItem {
    pub id: String,
    pub changes: Vec<FileUpdateChange>,
    pub status: ItemStatus,
}

/// One file's change within a [`FileChangeItem`] or a file-change approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileUpdateChange {
    pub path: String,
    pub kind: PatchChangeKind,
    /// Unified diff (for `add`, the new content as a diff).
    pub diff: String,
}

/// What happens to the file, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum PatchChangeKind {
    Add,
    Delete,
    Update {
        /// New path when the file is also moved. Codex spells it `move_path` (PROTOCOL.md's
        /// `movePath` is accepted on input).
        #[serde(default, rename = "move_path", alias = "movePath")]
        move_path: Option<String>,
    },
}

/// The plan the agent keeps (`update_plan`), as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanItem {
    pub id: String,
    pub text: String,
}

/// The history was compacted (summarised) at this point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContextCompactionItem {
    pub id: String,
}

/// A sub-agent tool call: spawning, messaging or waiting on other threads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CollabAgentToolCallItem {
    pub id: String,
    pub tool: CollabAgentTool,
    pub status: CollabAgentToolCallStatus,
    pub sender_thread_id: String,
    pub receiver_thread_ids: Vec<String>,
    #[serde(default)]
    pub prompt: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    /// State of each receiver thread, by thread id (required by Codex; may be empty).
    #[serde(default)]
    pub agents_states: BTreeMap<String, CollabAgentState>,
}

/// Which sub-agent tool was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum CollabAgentTool {
    SpawnAgent,
    SendInput,
    ResumeAgent,
    Wait,
    CloseAgent,
    SendMessage,
    FollowupTask,
    InterruptAgent,
    ListAgents,
}

/// Status of a sub-agent tool call (Codex has `interrupted` here, not `declined`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum CollabAgentToolCallStatus {
    InProgress,
    Completed,
    Failed,
    Interrupted,
}

/// A sub-agent thread's state as seen from the calling thread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CollabAgentState {
    pub status: CollabAgentStatus,
    #[serde(default)]
    pub message: Option<String>,
}

/// Life state of a sub-agent thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum CollabAgentStatus {
    PendingInit,
    Running,
    Interrupted,
    Completed,
    Errored,
    Shutdown,
    NotFound,
}

/// Status of a command execution or file change (Codex `CommandExecutionStatus` and
/// `PatchApplyStatus`, which have the same values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ItemStatus {
    InProgress,
    Completed,
    Failed,
    /// A client declined the approval; the tool did not run.
    Declined,
}

/// Codex's name for the status of a command execution.
pub type CommandExecutionStatus = ItemStatus;
/// Codex's name for the status of a file change.
pub type PatchApplyStatus = ItemStatus;

/// One piece of user input, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum UserInput {
    Text {
        text: String,
        /// UI spans inside `text` (Codex `TextElement`s), kept as sent and otherwise ignored.
        /// Codex spells it `text_elements`; `textElements` is accepted too.
        #[serde(
            default,
            rename = "text_elements",
            alias = "textElements",
            skip_serializing_if = "Vec::is_empty"
        )]
        text_elements: Vec<serde_json::Value>,
    },
    /// An image by URL (`https:` or `data:`).
    Image { url: String },
    /// An image file on the daemon's machine.
    LocalImage { path: String },
    /// A skill the user picked (Codex): agentd has no skills, so the model gets it as a
    /// reference to read.
    Skill { name: String, path: String },
    /// A file or symbol the user mentioned (Codex `@mention`): a reference for the model.
    Mention { name: String, path: String },
}

impl UserInput {
    /// Plain text input.
    pub fn text(text: impl Into<String>) -> Self {
        UserInput::Text {
            text: text.into(),
            text_elements: Vec::new(),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::schema_check::{assert_required_fields, assert_required_in_variant};
    use serde_json::json;

    pub(crate) fn sample_items() -> Vec<ThreadItem> {
        vec![
            ThreadItem::UserMessage(UserMessageItem {
                id: "i1".into(),
                content: vec![
                    UserInput::text("hi"),
                    UserInput::Image {
                        url: "https://x/y.png".into(),
                    },
                    UserInput::LocalImage {
                        path: "/tmp/a.png".into(),
                    },
                ],
            }),
            ThreadItem::AgentMessage(AgentMessageItem {
                id: "i2".into(),
                text: "hello".into(),
            }),
            ThreadItem::Reasoning(ReasoningItem {
                id: "i3".into(),
                summary: vec!["thinking".into()],
                content: vec![],
            }),
            ThreadItem::CommandExecution(CommandExecutionItem {
                id: "i4".into(),
                command: "ls -la".into(),
                cwd: "/home/user".into(),
                status: ItemStatus::Completed,
                command_actions: vec![CommandAction::ListFiles {
                    command: "ls -la".into(),
                    path: None,
                }],
                aggregated_output: Some("total 0\n".into()),
                exit_code: Some(0),
                duration_ms: Some(12),
            }),
            ThreadItem::FileChange(FileChangeItem {
                id: "i5".into(),
                changes: vec![
                    FileUpdateChange {
                        path: "a.txt".into(),
                        kind: PatchChangeKind::Add,
                        diff: "+a\n".into(),
                    },
                    FileUpdateChange {
                        path: "b.txt".into(),
                        kind: PatchChangeKind::Update {
                            move_path: Some("c.txt".into()),
                        },
                        diff: "-b\n+c\n".into(),
                    },
                ],
                status: ItemStatus::Declined,
            }),
            ThreadItem::Plan(PlanItem {
                id: "i6".into(),
                text: "1. do it".into(),
            }),
            ThreadItem::ContextCompaction(ContextCompactionItem { id: "i7".into() }),
            ThreadItem::CollabAgentToolCall(CollabAgentToolCallItem {
                id: "i8".into(),
                tool: CollabAgentTool::SpawnAgent,
                status: CollabAgentToolCallStatus::InProgress,
                sender_thread_id: "t1".into(),
                receiver_thread_ids: vec!["t2".into()],
                prompt: Some("go".into()),
                model: None,
                agents_states: BTreeMap::from([(
                    "t2".to_string(),
                    CollabAgentState {
                        status: CollabAgentStatus::Running,
                        message: None,
                    },
                )]),
            }),
            ThreadItem::McpToolCall(McpToolCallItem {
                id: "i9".into(),
                server: "files".into(),
                tool: "read".into(),
                status: crate::params::mcp::McpToolCallStatus::Completed,
                arguments: json!({"path": "a.txt"}),
                result: Some(crate::params::mcp::McpToolCallResult {
                    content: vec![json!({"type": "text", "text": "hello"})],
                    structured_content: None,
                }),
                error: None,
                duration_ms: Some(3),
                read_only_hint: Some(true),
            }),
        ]
    }

    #[test]
    fn every_item_has_codex_required_fields() {
        for item in sample_items() {
            let v = json!(item);
            let tag = v["type"].as_str().unwrap().to_string();
            assert_required_in_variant("ThreadItem", &tag, &v);
            let back: ThreadItem = serde_json::from_value(v).unwrap();
            assert_eq!(back, item);
        }
    }

    #[test]
    fn nested_item_types_have_codex_required_fields() {
        let items = sample_items();
        let v = json!(items);
        assert_required_fields("FileUpdateChange", &v[4]["changes"][0]);
        assert_required_in_variant("PatchChangeKind", "update", &v[4]["changes"][1]["kind"]);
        assert_eq!(v[4]["changes"][1]["kind"]["move_path"], json!("c.txt"));
        assert_required_in_variant("CommandAction", "listFiles", &v[3]["commandActions"][0]);
        assert_required_fields("CollabAgentState", &v[7]["agentsStates"]["t2"]);
        assert_required_fields("McpToolCallResult", &v[8]["result"]);
        for input in v[0]["content"].as_array().unwrap() {
            let tag = input["type"].as_str().unwrap().to_string();
            assert_required_in_variant("UserInput", &tag, input);
        }
    }

    #[test]
    fn user_input_is_lenient() {
        let a: UserInput = serde_json::from_value(
            json!({"type": "text", "text": "hi", "text_elements": [], "extra": 1}),
        )
        .unwrap();
        assert_eq!(a, UserInput::text("hi"));
        let b: UserInput =
            serde_json::from_value(json!({"type": "text", "text": "hi", "textElements": []}))
                .unwrap();
        assert_eq!(b, UserInput::text("hi"));
        assert_eq!(json!(a), json!({"type": "text", "text": "hi"}));
        let kind: PatchChangeKind =
            serde_json::from_value(json!({"type": "update", "movePath": "x"})).unwrap();
        assert_eq!(
            kind,
            PatchChangeKind::Update {
                move_path: Some("x".into())
            }
        );
    }
}
