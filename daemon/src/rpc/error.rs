//! Every error that reaches a client maps to one JSON-RPC code, here and nowhere else.

use agentd_protocol::error_data::{
    ForbiddenData, InternalErrorData, InvalidParamsData, MethodNotFoundData, ThreadNotFoundData,
};
use agentd_protocol::jsonrpc::{self, ErrorObject};
use serde::Serialize;

use crate::store::StoreError;
use crate::threads::ThreadError;

/// An error answer on its way to the client.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError(pub ErrorObject);

impl RpcError {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        RpcError(ErrorObject::new(code, message))
    }

    pub fn parse_error(detail: impl std::fmt::Display) -> Self {
        Self::new(jsonrpc::PARSE_ERROR, format!("parse error: {detail}"))
    }

    pub fn invalid_request(detail: impl std::fmt::Display) -> Self {
        Self::new(
            jsonrpc::INVALID_REQUEST,
            format!("invalid request: {detail}"),
        )
    }

    pub fn method_not_found(method: &str) -> Self {
        Self::new(
            jsonrpc::METHOD_NOT_FOUND,
            format!("method not found: {method}"),
        )
        .with_data(MethodNotFoundData {
            method: method.to_owned(),
        })
    }

    /// Bad params, naming the offending field (a dotted path, `""` for the params as a whole).
    pub fn invalid_params(field: &str, detail: impl std::fmt::Display) -> Self {
        let where_ = if field.is_empty() || field == "." {
            "params".to_owned()
        } else {
            format!("field `{field}`")
        };
        Self::new(
            jsonrpc::INVALID_PARAMS,
            format!("invalid params: {where_}: {detail}"),
        )
        .with_data(InvalidParamsData {
            field: field.to_owned(),
        })
    }

    pub fn not_initialized() -> Self {
        Self::new(
            jsonrpc::NOT_INITIALIZED,
            "not initialized: send `initialize` first",
        )
    }

    pub fn already_initialized() -> Self {
        Self::new(jsonrpc::NOT_INITIALIZED, "already initialized")
    }

    pub fn overloaded() -> Self {
        Self::new(
            jsonrpc::OVERLOADED,
            "overloaded: the connection's request queue is full; retry later",
        )
    }

    /// Something this request needs is out of reach for now (the database, or the daemon
    /// running its thread): -32001 with `data.retryable`, so a client knows to try again.
    pub fn unavailable(what: impl std::fmt::Display) -> Self {
        Self::new(jsonrpc::OVERLOADED, format!("{what}; retry later"))
            .with_data(agentd_protocol::error_data::RetryableErrorData { retryable: true })
    }

    /// The connection's token scope does not cover the method.
    pub fn forbidden(method: &str, have: crate::auth::Scope, needed: crate::auth::Scope) -> Self {
        Self::new(
            jsonrpc::FORBIDDEN,
            format!("forbidden: {method} needs a {needed} token; this connection's is {have}"),
        )
        .with_data(ForbiddenData {
            method: method.to_owned(),
            scope: have.to_string(),
            needed: needed.to_string(),
        })
    }

    pub fn not_found(what: impl std::fmt::Display) -> Self {
        Self::new(jsonrpc::NOT_FOUND, format!("not found: {what}"))
    }

    pub fn conflict(what: impl std::fmt::Display) -> Self {
        Self::new(jsonrpc::CONFLICT, format!("conflict: {what}"))
    }

    /// A bug or an environment failure: logged with its context under a fresh id; the client
    /// gets the id, not the store's or driver's text.
    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        let id = crate::errors::incident_id();
        tracing::error!(error_id = %id, %context, error = %err, "internal error");
        Self::logged(&id)
    }

    /// An internal error already logged under `id`.
    pub fn logged(id: &str) -> Self {
        Self::new(
            jsonrpc::INTERNAL_ERROR,
            format!("internal error (id {id}); the daemon's log has the details"),
        )
        .with_data(InternalErrorData {
            error_id: id.to_owned(),
        })
    }

    pub fn with_data(mut self, data: impl Serialize) -> Self {
        self.0.data = serde_json::to_value(data).ok();
        self
    }

    pub fn code(&self) -> i64 {
        self.0.code
    }
}

impl From<ThreadError> for RpcError {
    fn from(e: ThreadError) -> Self {
        match e {
            ThreadError::NotFound(id) => RpcError::not_found(format!("thread {id}"))
                .with_data(ThreadNotFoundData { thread_id: id }),
            ThreadError::Conflict(what) => RpcError::conflict(what),
            ThreadError::Invalid(field, detail) => RpcError::invalid_params(field, detail),
            // The actor logged the failed commit under this id.
            ThreadError::CommitFailed(id) => RpcError::logged(&id),
            ThreadError::Unavailable(_) => RpcError::unavailable("the database is unavailable"),
            ThreadError::Moved(_) => RpcError::unavailable(e),
            ThreadError::Closed(_) => RpcError::internal("thread", e),
            ThreadError::Store(s) => RpcError::from(s),
        }
    }
}

impl From<StoreError> for RpcError {
    fn from(e: StoreError) -> Self {
        if e.is_unavailable() {
            tracing::warn!(error = %e, "the database is unavailable");
            return RpcError::unavailable("the database is unavailable");
        }
        RpcError::internal("store", e)
    }
}
