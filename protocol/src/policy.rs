//! The approval and sandbox policies a thread or turn runs under.
//!
//! Two sandbox types exist on purpose: a client *asks* for a [`SandboxMode`] (a kebab-case word,
//! `thread/start` param `sandbox`), while results and `turn/start` carry the effective
//! [`SandboxPolicy`] (a tagged object with the details the sandbox needs). Both mirror the Codex
//! definitions of the same name.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// When the agent must ask a client before running a tool.
///
/// Codex 0.169 allows `untrusted | on-request | never` and a `granular` object; `on-failure` is
/// agentd's own (PROTOCOL.md §4): run sandboxed, ask only when the sandbox refused. On the wire
/// a kebab-case word, or `{"granular": {...}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AskForApproval {
    /// Ask for everything except commands known to be safe.
    Untrusted,
    /// Run in the sandbox; ask only when the sandbox blocks the command.
    OnFailure,
    /// The model decides when to ask.
    OnRequest,
    /// Never ask; failures go back to the model.
    Never,
    /// Decide as `on-request`, but each kind of question is either asked (`true`) or answered
    /// "no" at once without asking anyone (`false`). `agentd exec` runs with every kind off:
    /// nobody can answer a question in a headless run.
    Granular(GranularApproval),
}

/// Which kinds of question a `granular` policy lets reach a person (Codex's names).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct GranularApproval {
    /// Questions an exec-policy rule (`prompt`) or the built-in lists raise about a command.
    pub rules: bool,
    /// Running outside the sandbox, and writes the sandbox would not allow.
    pub sandbox_approval: bool,
    /// MCP tools' approvals and MCP servers' own questions.
    pub mcp_elicitations: bool,
    /// Codex's: accepted, and ignored.
    #[serde(default)]
    pub request_permissions: bool,
    /// Codex's: accepted, and ignored.
    #[serde(default)]
    pub skill_approval: bool,
}

impl GranularApproval {
    /// Every kind of question answered "no" without asking.
    pub fn none() -> Self {
        GranularApproval::default()
    }
}

/// The words, in the order the schema lists them.
const APPROVAL_WORDS: [&str; 4] = ["untrusted", "on-failure", "on-request", "never"];

impl AskForApproval {
    fn word(self) -> Option<&'static str> {
        match self {
            AskForApproval::Untrusted => Some("untrusted"),
            AskForApproval::OnFailure => Some("on-failure"),
            AskForApproval::OnRequest => Some("on-request"),
            AskForApproval::Never => Some("never"),
            AskForApproval::Granular(_) => None,
        }
    }
}

impl Serialize for AskForApproval {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match (self.word(), self) {
            (Some(word), _) => s.serialize_str(word),
            (None, AskForApproval::Granular(g)) => {
                let mut map = s.serialize_map(Some(1))?;
                map.serialize_entry("granular", g)?;
                map.end()
            }
            (None, _) => s.serialize_str("on-request"),
        }
    }
}

impl<'de> Deserialize<'de> for AskForApproval {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(d)?;
        if let Some(word) = value.as_str() {
            return match word {
                "untrusted" => Ok(AskForApproval::Untrusted),
                "on-failure" => Ok(AskForApproval::OnFailure),
                "on-request" => Ok(AskForApproval::OnRequest),
                "never" => Ok(AskForApproval::Never),
                other => Err(D::Error::unknown_variant(other, &APPROVAL_WORDS)),
            };
        }
        match value.get("granular") {
            Some(g) => serde_json::from_value(g.clone())
                .map(AskForApproval::Granular)
                .map_err(|e| D::Error::custom(format!("granular: {e}"))),
            None => Err(D::Error::custom(format!(
                "expected one of {} or {{\"granular\": {{…}}}}, not {value}",
                APPROVAL_WORDS.join(", ")
            ))),
        }
    }
}

impl JsonSchema for AskForApproval {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AskForApproval".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let granular = generator.subschema_for::<GranularApproval>();
        schemars::json_schema!({
            "description": "When the agent must ask before running a tool: a word, or a granular policy.",
            "oneOf": [
                {"type": "string", "enum": APPROVAL_WORDS},
                {
                    "title": "GranularAskForApproval",
                    "type": "object",
                    "properties": {"granular": granular},
                    "required": ["granular"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

/// The sandbox a client asks for, as a single word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SandboxMode {
    ReadOnly,
    WorkspaceWrite,
    DangerFullAccess,
}

impl SandboxMode {
    pub const ALL: [SandboxMode; 3] = [
        SandboxMode::ReadOnly,
        SandboxMode::WorkspaceWrite,
        SandboxMode::DangerFullAccess,
    ];

    /// The id of Codex's built-in permission profile that is this mode. A leading `:` marks a
    /// built-in profile; clients that offer both sandbox modes and profiles (Codex's ACP
    /// adapter) leave these out of their profile list instead of showing each mode twice.
    pub fn permission_profile(self) -> &'static str {
        match self {
            SandboxMode::ReadOnly => ":read-only",
            SandboxMode::WorkspaceWrite => ":workspace",
            SandboxMode::DangerFullAccess => ":danger-full-access",
        }
    }

    /// The mode a permission profile id names: a built-in profile's id, or the mode's own name.
    pub fn from_permission_profile(id: &str) -> Option<Self> {
        match id {
            ":read-only" | "read-only" => Some(SandboxMode::ReadOnly),
            ":workspace" | "workspace-write" => Some(SandboxMode::WorkspaceWrite),
            ":danger-full-access" | "danger-full-access" => Some(SandboxMode::DangerFullAccess),
            _ => None,
        }
    }
}

/// The effective sandbox policy, tagged by `type`.
///
/// Codex also has `externalSandbox`; agentd does not, so a `turn/start` naming it fails with
/// -32602. Every field other than `type` defaults when absent, as in Codex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum SandboxPolicy {
    /// Read anywhere, write nowhere.
    ReadOnly {
        #[serde(default)]
        network_access: bool,
    },
    /// Read anywhere, write inside the workspace and `writableRoots`.
    WorkspaceWrite {
        /// Absolute paths writable in addition to the workspace.
        #[serde(default)]
        writable_roots: Vec<String>,
        #[serde(default)]
        network_access: bool,
        /// Do not make `$TMPDIR` writable.
        #[serde(default)]
        exclude_tmpdir_env_var: bool,
        /// Do not make `/tmp` writable.
        #[serde(default)]
        exclude_slash_tmp: bool,
    },
    /// No sandbox at all.
    DangerFullAccess,
}

impl SandboxPolicy {
    /// The policy a [`SandboxMode`] stands for, with every detail at its default.
    pub fn from_mode(mode: SandboxMode) -> Self {
        match mode {
            SandboxMode::ReadOnly => SandboxPolicy::ReadOnly {
                network_access: false,
            },
            SandboxMode::WorkspaceWrite => SandboxPolicy::WorkspaceWrite {
                writable_roots: Vec::new(),
                network_access: false,
                exclude_tmpdir_env_var: false,
                exclude_slash_tmp: false,
            },
            SandboxMode::DangerFullAccess => SandboxPolicy::DangerFullAccess,
        }
    }

    /// The single-word mode this policy belongs to.
    pub fn mode(&self) -> SandboxMode {
        match self {
            SandboxPolicy::ReadOnly { .. } => SandboxMode::ReadOnly,
            SandboxPolicy::WorkspaceWrite { .. } => SandboxMode::WorkspaceWrite,
            SandboxPolicy::DangerFullAccess => SandboxMode::DangerFullAccess,
        }
    }
}

impl From<SandboxMode> for SandboxPolicy {
    fn from(mode: SandboxMode) -> Self {
        SandboxPolicy::from_mode(mode)
    }
}

/// Who reviews approval requests. agentd always answers `user` (a person at a client).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ApprovalsReviewer {
    #[default]
    #[serde(rename = "user")]
    User,
    #[serde(rename = "auto_review")]
    AutoReview,
    #[serde(rename = "guardian_subagent")]
    GuardianSubagent,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn words_are_kebab_case() {
        assert_eq!(json!(AskForApproval::OnRequest), json!("on-request"));
        assert_eq!(json!(AskForApproval::OnFailure), json!("on-failure"));
        assert_eq!(json!(SandboxMode::ReadOnly), json!("read-only"));
        assert_eq!(
            json!(SandboxMode::DangerFullAccess),
            json!("danger-full-access")
        );
        assert_eq!(json!(ApprovalsReviewer::User), json!("user"));
    }

    #[test]
    fn permission_profiles_are_the_sandbox_modes() {
        for mode in SandboxMode::ALL {
            assert_eq!(
                SandboxMode::from_permission_profile(mode.permission_profile()),
                Some(mode)
            );
        }
        assert_eq!(
            SandboxMode::from_permission_profile(":workspace"),
            Some(SandboxMode::WorkspaceWrite)
        );
        assert_eq!(
            SandboxMode::from_permission_profile("read-only"),
            Some(SandboxMode::ReadOnly)
        );
        assert_eq!(SandboxMode::from_permission_profile(":custom"), None);
        assert_eq!(SandboxMode::from_permission_profile("workspace"), None);
    }

    #[test]
    fn policy_is_tagged_and_lenient() {
        let p: SandboxPolicy = serde_json::from_value(json!({"type": "workspaceWrite"})).unwrap();
        assert_eq!(p, SandboxPolicy::from_mode(SandboxMode::WorkspaceWrite));
        assert_eq!(
            json!(p),
            json!({"type": "workspaceWrite", "writableRoots": [], "networkAccess": false,
                   "excludeTmpdirEnvVar": false, "excludeSlashTmp": false})
        );
        assert_eq!(
            json!(SandboxPolicy::from_mode(SandboxMode::ReadOnly)),
            json!({"type": "readOnly", "networkAccess": false})
        );
        assert_eq!(
            json!(SandboxPolicy::DangerFullAccess),
            json!({"type": "dangerFullAccess"})
        );
    }
}

/// Whether the model may search the web (Codex's `web_search` key): `live` offers the
/// provider's hosted search tool (Responses API only); `cached` and `indexed` offer it without
/// live access to the web; `disabled` (the default) offers nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WebSearchMode {
    #[default]
    Disabled,
    Cached,
    Indexed,
    Live,
}
