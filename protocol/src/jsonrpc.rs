//! The JSON-RPC 2.0 envelope.
//!
//! The daemon always writes `"jsonrpc":"2.0"` but accepts messages without it (Codex clients omit
//! it), so the version is a field that serializes to a constant and defaults when absent. Request
//! ids are numbers or strings and are echoed verbatim, which is why [`RequestId`] keeps the
//! original representation instead of normalising it.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// Parse error: the bytes were not JSON, or nested deeper than the parser allows.
pub const PARSE_ERROR: i64 = -32700;
/// Not a valid request object (missing method, bad id type, a frame over the size limit, …).
pub const INVALID_REQUEST: i64 = -32600;
/// The method does not exist (or agentd does not implement it).
pub const METHOD_NOT_FOUND: i64 = -32601;
/// The params do not match the method's schema; `data.field` names the offending field.
pub const INVALID_PARAMS: i64 = -32602;
/// A bug in the daemon; logged with context.
pub const INTERNAL_ERROR: i64 = -32603;
/// The connection's request queue is full; retry later.
pub const OVERLOADED: i64 = -32001;
/// A request before `initialize`, or a second `initialize`.
pub const NOT_INITIALIZED: i64 = -32002;
/// The connection's token scope does not allow this method.
pub const FORBIDDEN: i64 = -32003;
/// Unknown thread, turn, item or server request.
pub const NOT_FOUND: i64 = -32004;
/// A conflicting state: a turn is already running, a stale `expectedTurnId`, …
pub const CONFLICT: i64 = -32005;

/// The `"jsonrpc":"2.0"` marker: always written, never required on input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Version;

impl JsonSchema for Version {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "JSONRPCVersion".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "const": "2.0"})
    }
}

impl Serialize for Version {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("2.0")
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = String::deserialize(d)?;
        if v == "2.0" {
            Ok(Version)
        } else {
            Err(serde::de::Error::custom(format!(
                "unsupported jsonrpc version {v:?}"
            )))
        }
    }
}

/// A request id: an integer or a string, echoed exactly as the peer sent it.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(untagged)]
pub enum RequestId {
    Integer(i64),
    String(String),
}

impl From<i64> for RequestId {
    fn from(v: i64) -> Self {
        RequestId::Integer(v)
    }
}

impl From<String> for RequestId {
    fn from(v: String) -> Self {
        RequestId::String(v)
    }
}

impl From<&str> for RequestId {
    fn from(v: &str) -> Self {
        RequestId::String(v.to_owned())
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RequestId::Integer(i) => write!(f, "{i}"),
            RequestId::String(s) => write!(f, "{s:?}"),
        }
    }
}

/// A call that expects an answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "JSONRPCRequest")]
pub struct Request {
    #[serde(default)]
    pub jsonrpc: Version,
    pub id: RequestId,
    pub method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
}

/// A one-way message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "JSONRPCNotification")]
pub struct Notification {
    #[serde(default)]
    pub jsonrpc: Version,
    pub method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
}

/// A successful answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "JSONRPCResponse")]
pub struct Response {
    #[serde(default)]
    pub jsonrpc: Version,
    pub id: RequestId,
    pub result: Value,
}

/// A failed answer. `id` is null when the request's id could not be read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "JSONRPCError")]
pub struct ErrorResponse {
    #[serde(default)]
    pub jsonrpc: Version,
    pub id: Option<RequestId>,
    pub error: ErrorObject,
}

/// The `error` member of a failed answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "JSONRPCErrorError")]
pub struct ErrorObject {
    pub code: i64,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl ErrorObject {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        ErrorObject {
            code,
            message: message.into(),
            data: None,
        }
    }

    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }
}

/// Any JSON-RPC message, as it appears on the wire. Order matters for untagged decoding:
/// a request has both `id` and `method`, a notification only `method`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
#[schemars(rename = "JSONRPCMessage")]
pub enum Message {
    Request(Request),
    Notification(Notification),
    Response(Response),
    Error(ErrorResponse),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn version_is_optional_on_input_and_always_written() {
        let r: Request = serde_json::from_value(json!({"id": 1, "method": "x"})).unwrap();
        assert_eq!(r.id, RequestId::Integer(1));
        let out = serde_json::to_value(&r).unwrap();
        assert_eq!(out["jsonrpc"], "2.0");
    }

    #[test]
    fn ids_round_trip_verbatim() {
        for id in [json!(7), json!("abc"), json!("7")] {
            let parsed: RequestId = serde_json::from_value(id.clone()).unwrap();
            assert_eq!(serde_json::to_value(&parsed).unwrap(), id);
        }
    }

    #[test]
    fn wrong_version_is_rejected() {
        let r = serde_json::from_value::<Request>(json!({"jsonrpc":"1.0","id":1,"method":"x"}));
        assert!(r.is_err());
    }
}
