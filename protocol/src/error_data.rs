//! The `data` member of error answers, one type per error that carries one (PROTOCOL.md §2).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// -32601: the method asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MethodNotFoundData {
    pub method: String,
}

/// -32602: which field is wrong, as a dotted path (`""` or `"."` for the params as a whole).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvalidParamsData {
    pub field: String,
}

/// -32003: the method, the connection's scope, and the scope the method needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ForbiddenData {
    pub method: String,
    pub scope: String,
    pub needed: String,
}

/// -32004 for a thread: which one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadNotFoundData {
    pub thread_id: String,
}

/// -32603: the id under which the daemon logged what went wrong (the log has the details; the
/// answer does not carry store or driver text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InternalErrorData {
    pub error_id: String,
}

/// `data` of a -32001 error the client may retry as it is: the database or the daemon running
/// the thread was out of reach (several daemons on PostgreSQL).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetryableErrorData {
    pub retryable: bool,
}
