//! How a failed daemon call reads to the ACP client.

use agentd_protocol::jsonrpc::ErrorObject;

use crate::client::ClientError;

/// The daemon's own error code and message when it answered with one (a bad parameter stays
/// -32602 naming the field); anything else is an internal error saying what broke.
pub fn from_client(e: &ClientError) -> ErrorObject {
    match e {
        ClientError::Rpc { code, message, .. } => ErrorObject::new(*code, message.clone()),
        other => ErrorObject::new(agentd_protocol::jsonrpc::INTERNAL_ERROR, other.to_string()),
    }
}

pub fn invalid_params(detail: impl std::fmt::Display) -> ErrorObject {
    ErrorObject::new(
        agentd_protocol::jsonrpc::INVALID_PARAMS,
        format!("invalid params: {detail}"),
    )
}

pub fn internal(detail: impl std::fmt::Display) -> ErrorObject {
    ErrorObject::new(agentd_protocol::jsonrpc::INTERNAL_ERROR, detail.to_string())
}

pub fn invalid_request(detail: impl std::fmt::Display) -> ErrorObject {
    ErrorObject::new(
        agentd_protocol::jsonrpc::INVALID_REQUEST,
        format!("invalid request: {detail}"),
    )
}
