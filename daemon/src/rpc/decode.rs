//! Classifying an inbound text frame into requests, notifications and responses.
//!
//! Done by hand on a `serde_json::Value` rather than by deserialising into the envelope types,
//! because every way a message can be wrong has its own JSON-RPC answer (-32700 vs -32600, with
//! the id when it could be read), and a derive would collapse them into one.

use agentd_protocol::jsonrpc::{ErrorObject, RequestId};
use serde_json::{Map, Value};

use super::error::RpcError;

/// One well-formed message from the client.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    Request {
        id: RequestId,
        method: String,
        params: Option<Value>,
    },
    Notification {
        method: String,
        params: Option<Value>,
    },
    /// The client's answer to a server→client request (an approval).
    Response {
        id: RequestId,
        outcome: Result<Value, ErrorObject>,
    },
}

/// A message that could not be accepted, with the id to answer to when one was readable.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub id: Option<RequestId>,
    pub error: RpcError,
}

pub type Decoded = Result<Incoming, Rejected>;

/// A whole frame: one message, or a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Single(Decoded),
    Batch(Vec<Decoded>),
}

/// Parses a frame. serde_json's recursion limit (128) bounds nesting; deeper input is a parse
/// error like any other malformed JSON.
pub fn decode(text: &str) -> Frame {
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            return Frame::Single(Err(Rejected {
                id: None,
                error: RpcError::parse_error(e),
            }))
        }
    };
    match value {
        Value::Array(items) if items.is_empty() => Frame::Single(Err(Rejected {
            id: None,
            error: RpcError::invalid_request("empty batch"),
        })),
        Value::Array(items) => Frame::Batch(items.into_iter().map(classify).collect()),
        other => Frame::Single(classify(other)),
    }
}

fn read_id(v: &Value) -> Option<RequestId> {
    match v {
        Value::String(s) => Some(RequestId::String(s.clone())),
        Value::Number(n) => n.as_i64().map(RequestId::Integer),
        _ => None,
    }
}

fn reject(id: Option<RequestId>, detail: &str) -> Decoded {
    Err(Rejected {
        id,
        error: RpcError::invalid_request(detail),
    })
}

/// Classifies one message of a frame.
pub fn classify(value: Value) -> Decoded {
    let Value::Object(mut obj) = value else {
        return reject(None, "a message must be a JSON object");
    };
    let id = match obj.remove("id") {
        None => None,
        Some(raw) => match read_id(&raw) {
            Some(id) => Some(id),
            None => return reject(None, "`id` must be a string or an integer"),
        },
    };
    if let Some(v) = obj.get("jsonrpc") {
        if v != "2.0" {
            return reject(id, "`jsonrpc` must be \"2.0\" when present");
        }
    }
    match obj.remove("method") {
        Some(Value::String(method)) => {
            let params = match obj.remove("params") {
                None | Some(Value::Null) => None,
                Some(p @ (Value::Object(_) | Value::Array(_))) => Some(p),
                Some(_) => return reject(id, "`params` must be an object or an array"),
            };
            Ok(match id {
                Some(id) => Incoming::Request { id, method, params },
                None => Incoming::Notification { method, params },
            })
        }
        Some(_) => reject(id, "`method` must be a string"),
        None => classify_response(id, obj),
    }
}

fn classify_response(id: Option<RequestId>, mut obj: Map<String, Value>) -> Decoded {
    let Some(id) = id else {
        return reject(None, "missing `method`");
    };
    if let Some(result) = obj.remove("result") {
        return Ok(Incoming::Response {
            id,
            outcome: Ok(result),
        });
    }
    match obj
        .remove("error")
        .map(serde_json::from_value::<ErrorObject>)
    {
        Some(Ok(err)) => Ok(Incoming::Response {
            id,
            outcome: Err(err),
        }),
        Some(Err(_)) => reject(Some(id), "malformed `error` object"),
        None => reject(Some(id), "missing `method`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentd_protocol::jsonrpc;

    fn code(f: Frame) -> i64 {
        match f {
            Frame::Single(Err(r)) => r.error.code(),
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn the_error_classes() {
        assert_eq!(code(decode("{not json")), jsonrpc::PARSE_ERROR);
        assert_eq!(code(decode("42")), jsonrpc::INVALID_REQUEST);
        assert_eq!(code(decode("[]")), jsonrpc::INVALID_REQUEST);
        assert_eq!(code(decode(r#"{"id":1}"#)), jsonrpc::INVALID_REQUEST);
        assert_eq!(
            code(decode(r#"{"id":1.5,"method":"x"}"#)),
            jsonrpc::INVALID_REQUEST
        );
        assert_eq!(
            code(decode(r#"{"id":1,"method":7}"#)),
            jsonrpc::INVALID_REQUEST
        );
        assert_eq!(
            code(decode(r#"{"id":1,"method":"x","params":3}"#)),
            jsonrpc::INVALID_REQUEST
        );
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert_eq!(code(decode(&deep)), jsonrpc::PARSE_ERROR);
    }

    #[test]
    fn requests_with_and_without_version() {
        for text in [
            r#"{"id":"a","method":"m"}"#,
            r#"{"jsonrpc":"2.0","id":"a","method":"m"}"#,
        ] {
            assert_eq!(
                decode(text),
                Frame::Single(Ok(Incoming::Request {
                    id: "a".into(),
                    method: "m".into(),
                    params: None
                }))
            );
        }
    }

    #[test]
    fn responses_and_batches() {
        match decode(r#"[{"id":0,"result":{"decision":"accept"}},{"method":"initialized"},5]"#) {
            Frame::Batch(items) => {
                assert!(matches!(items[0], Ok(Incoming::Response { .. })));
                assert!(matches!(items[1], Ok(Incoming::Notification { .. })));
                assert!(items[2].is_err());
            }
            other => panic!("{other:?}"),
        }
    }
}
