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
/// Codex 0.169 allows `untrusted | on-request | never` (plus a `granular` object agentd does not
/// accept); `on-failure` is agentd's own (PROTOCOL.md §4): run sandboxed, ask only when the
/// sandbox refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AskForApproval {
    /// Ask for everything except commands known to be safe.
    Untrusted,
    /// Run in the sandbox; ask only when the sandbox blocks the command.
    OnFailure,
    /// The model decides when to ask.
    OnRequest,
    /// Never ask; failures go back to the model.
    Never,
}

/// The sandbox a client asks for, as a single word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SandboxMode {
    ReadOnly,
    WorkspaceWrite,
    DangerFullAccess,
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
