//! The approval requests the daemon sends to clients, and their answers.
//!
//! A request goes to every subscribed connection allowed to control the thread; the first valid
//! answer wins and everyone then gets `serverRequest/resolved`.

use schemars::JsonSchema;
use serde::de::Deserializer;
use serde::{Deserialize, Serialize};

use crate::item::FileUpdateChange;

/// `item/commandExecution/requestApproval` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommandExecutionRequestApprovalParams {
    pub thread_id: String,
    pub turn_id: String,
    /// The `commandExecution` item waiting on the answer.
    pub item_id: String,
    /// When the item started, unix ms (Codex clients need it).
    pub started_at_ms: i64,
    pub command: String,
    pub cwd: String,
    /// Why the agent asks (e.g. the sandbox refused the command).
    #[serde(default)]
    pub reason: Option<String>,
}

/// `item/commandExecution/requestApproval` result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommandExecutionRequestApprovalResponse {
    pub decision: ApprovalDecision,
}

/// `item/fileChange/requestApproval` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileChangeRequestApprovalParams {
    pub thread_id: String,
    pub turn_id: String,
    /// The `fileChange` item waiting on the answer.
    pub item_id: String,
    pub started_at_ms: i64,
    /// agentd: the changes to approve (Codex clients read them from the item).
    pub changes: Vec<FileUpdateChange>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// `item/fileChange/requestApproval` result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileChangeRequestApprovalResponse {
    pub decision: ApprovalDecision,
}

/// A client's answer to an approval request.
///
/// Codex clients may also answer a command approval with an object
/// (`{"acceptWithExecpolicyAmendment": …}` or `{"applyNetworkPolicyAmendment": …}`); agentd
/// has no persistent exec/network policy edits, so those read as `acceptForSession` and as
/// `accept` / `decline` (by the amendment's `action`) respectively.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ApprovalDecision {
    /// Run it, this once.
    Accept,
    /// Run it, and do not ask again for the same kind of request in this thread.
    AcceptForSession,
    /// Refuse the tool; the model carries on.
    Decline,
    /// Refuse and interrupt the turn.
    Cancel,
}

impl<'de> Deserialize<'de> for ApprovalDecision {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(d)?;
        if let Some(word) = value.as_str() {
            return match word {
                "accept" => Ok(ApprovalDecision::Accept),
                "acceptForSession" => Ok(ApprovalDecision::AcceptForSession),
                "decline" => Ok(ApprovalDecision::Decline),
                "cancel" => Ok(ApprovalDecision::Cancel),
                other => Err(D::Error::unknown_variant(
                    other,
                    &["accept", "acceptForSession", "decline", "cancel"],
                )),
            };
        }
        if value.get("acceptWithExecpolicyAmendment").is_some() {
            return Ok(ApprovalDecision::AcceptForSession);
        }
        if let Some(amendment) = value.get("applyNetworkPolicyAmendment") {
            let action = &amendment["network_policy_amendment"]["action"];
            return Ok(if action == "deny" {
                ApprovalDecision::Decline
            } else {
                ApprovalDecision::Accept
            });
        }
        Err(D::Error::custom(format!(
            "invalid approval decision {value}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decisions_read_codex_forms() {
        let d = |v| serde_json::from_value::<ApprovalDecision>(v).unwrap();
        assert_eq!(d(json!("accept")), ApprovalDecision::Accept);
        assert_eq!(
            d(json!("acceptForSession")),
            ApprovalDecision::AcceptForSession
        );
        assert_eq!(d(json!("decline")), ApprovalDecision::Decline);
        assert_eq!(d(json!("cancel")), ApprovalDecision::Cancel);
        assert_eq!(
            d(json!({"acceptWithExecpolicyAmendment": {"execpolicy_amendment": ["ls"]}})),
            ApprovalDecision::AcceptForSession
        );
        assert_eq!(
            d(
                json!({"applyNetworkPolicyAmendment": {"network_policy_amendment":
                {"host": "x", "action": "deny"}}})
            ),
            ApprovalDecision::Decline
        );
        assert!(serde_json::from_value::<ApprovalDecision>(json!("maybe")).is_err());
        assert_eq!(
            json!(ApprovalDecision::AcceptForSession),
            json!("acceptForSession")
        );
    }
}
