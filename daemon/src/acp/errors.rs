//! How a failed daemon call reads to the ACP client.

use agentd_protocol::jsonrpc::ErrorObject;

use crate::client::ClientError;

/// The daemon's own error code and message when it answered with one (a bad parameter stays
/// -32602 naming the field); anything else is an internal error saying what broke.
pub fn from_client(e: &ClientError) -> ErrorObject {
    match e {
        ClientError::Rpc { code, message, .. } => ErrorObject::new(*code, message.clone()),
        other => ErrorObject::new(-32603, other.to_string()),
    }
}

pub fn invalid_params(detail: impl std::fmt::Display) -> ErrorObject {
    ErrorObject::new(-32602, format!("invalid params: {detail}"))
}

pub fn internal(detail: impl std::fmt::Display) -> ErrorObject {
    ErrorObject::new(-32603, detail.to_string())
}

pub fn invalid_request(detail: impl std::fmt::Display) -> ErrorObject {
    ErrorObject::new(-32600, format!("invalid request: {detail}"))
}
