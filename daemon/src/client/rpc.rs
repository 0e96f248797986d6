//! Requests and their answers over a [`Connection`], typed by the protocol's method markers;
//! what arrives in between (notifications, the daemon's own requests) waits in order for the
//! caller.

use std::collections::VecDeque;

use agentd_protocol::jsonrpc::{Notification, Request, RequestId, Response, Version};
use agentd_protocol::ClientMethod;
use serde::Serialize;
use serde_json::Value;

use super::connection::{Connection, Incoming};

/// Why a call did not give its result.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The daemon answered with an error.
    #[error("{method}: {message} (code {code})")]
    Rpc {
        method: &'static str,
        code: i64,
        message: String,
    },
    #[error("{0}")]
    Closed(String),
    #[error("{method}: unreadable answer: {detail}")]
    Decode {
        method: &'static str,
        detail: String,
    },
}

pub struct RpcClient {
    conn: Connection,
    next_id: i64,
    /// Messages that arrived while a call waited for its answer.
    backlog: VecDeque<Value>,
}

impl RpcClient {
    pub fn new(conn: Connection) -> Self {
        RpcClient {
            conn,
            next_id: 1,
            backlog: VecDeque::new(),
        }
    }

    /// Sends a request and waits for its answer.
    pub async fn call<M: ClientMethod>(
        &mut self,
        params: &M::Params,
    ) -> Result<M::Response, ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        let request = Request {
            jsonrpc: Version,
            id: RequestId::Integer(id),
            method: M::METHOD.to_owned(),
            params: serde_json::to_value(params).ok(),
        };
        let frame = serde_json::to_string(&request).map_err(|e| ClientError::Decode {
            method: M::METHOD,
            detail: e.to_string(),
        })?;
        self.conn
            .send(frame)
            .map_err(|e| ClientError::Closed(e.to_string()))?;
        let answer = loop {
            let message = self.receive().await?;
            if message.get("method").is_none() && message.get("id") == Some(&Value::from(id)) {
                break message;
            }
            self.backlog.push_back(message);
        };
        if let Some(error) = answer.get("error") {
            return Err(ClientError::Rpc {
                method: M::METHOD,
                code: error["code"].as_i64().unwrap_or(0),
                message: error["message"].as_str().unwrap_or("").to_owned(),
            });
        }
        serde_json::from_value(answer.get("result").cloned().unwrap_or(Value::Null)).map_err(|e| {
            ClientError::Decode {
                method: M::METHOD,
                detail: e.to_string(),
            }
        })
    }

    /// The next notification or request from the daemon.
    pub async fn next(&mut self) -> Result<Value, ClientError> {
        if let Some(v) = self.backlog.pop_front() {
            return Ok(v);
        }
        self.receive().await
    }

    /// Answers one of the daemon's requests.
    pub fn respond(&self, id: RequestId, result: impl Serialize) -> Result<(), ClientError> {
        let answer = Response {
            jsonrpc: Version,
            id,
            result: serde_json::to_value(result).unwrap_or(Value::Null),
        };
        self.send(&answer)
    }

    /// Sends a notification (`initialized`).
    pub fn notify(&self, method: &str) -> Result<(), ClientError> {
        let note = Notification {
            jsonrpc: Version,
            method: method.to_owned(),
            params: None,
        };
        self.send(&note)
    }

    fn send(&self, message: &impl Serialize) -> Result<(), ClientError> {
        let frame =
            serde_json::to_string(message).map_err(|e| ClientError::Closed(e.to_string()))?;
        self.conn
            .send(frame)
            .map_err(|e| ClientError::Closed(e.to_string()))
    }

    async fn receive(&mut self) -> Result<Value, ClientError> {
        match self.conn.incoming.recv().await {
            Some(Incoming::Message(v)) => Ok(v),
            Some(Incoming::Closed(why)) => Err(ClientError::Closed(why)),
            None => Err(ClientError::Closed("the connection closed".into())),
        }
    }
}
