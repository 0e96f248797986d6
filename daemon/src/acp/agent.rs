//! The agent side of ACP: each client request answered from the daemon's threads (a session
//! is a thread, its id the thread's id). Sessions run as tasks of their own ([`Session`]);
//! this routes prompts, cancels and mode changes to them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use agentd_protocol::jsonrpc::{ErrorObject, RequestId};
use agentd_protocol::methods::{ThreadList, ThreadResume, ThreadStart};
use agentd_protocol::{
    SessionSource, ThreadListCwdFilter, ThreadListParams, ThreadOverrides, ThreadResumeParams,
    ThreadStartParams,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;

use super::errors::{from_client, internal, invalid_params};
use super::input::user_input;
use super::mcp::mcp_servers_config;
use super::modes::Mode;
use super::peer::{Answer, Peer};
use super::session::{Command, Loading, Session};
use super::wire::{
    code, method, AgentCapabilities, CancelNotification, Empty, Implementation, InitializeRequest,
    InitializeResponse, ListSessionsRequest, ListSessionsResponse, LoadSessionRequest,
    LoadSessionResponse, McpCapabilities, NewSessionRequest, NewSessionResponse,
    PromptCapabilities, PromptRequest, SessionCapabilities, SessionInfo, SetModeRequest,
    PROTOCOL_VERSION,
};
use crate::client::{Connector, RpcClient};

/// Sessions one `agentd acp` keeps open at once (each holds a daemon connection).
const MAX_SESSIONS: usize = 64;
/// Prompts and commands that may wait for a busy session.
const SESSION_QUEUE: usize = 16;
/// Sessions per `session/list` page.
const LIST_PAGE: u32 = 50;

pub struct Agent {
    pub peer: Arc<Peer>,
    pub connector: Connector,
    sessions: Mutex<HashMap<String, mpsc::Sender<Command>>>,
    /// Requests being answered ([`MAX_REQUESTS`]); the next one waits for a permit.
    pub requests: Arc<tokio::sync::Semaphore>,
}

/// Requests answered at once.
const MAX_REQUESTS: usize = 32;

impl Agent {
    pub fn new(peer: Arc<Peer>, connector: Connector) -> Arc<Agent> {
        Arc::new(Agent {
            peer,
            connector,
            sessions: Mutex::new(HashMap::new()),
            requests: Arc::new(tokio::sync::Semaphore::new(MAX_REQUESTS)),
        })
    }

    /// Answers one request. `session/prompt` and `session/load` are answered by their session
    /// when the work is done; everything else here.
    pub async fn request(self: Arc<Self>, id: RequestId, method: String, params: Value) {
        let answer = match method.as_str() {
            method::INITIALIZE => parse::<InitializeRequest>(params).map(|_| initialize()),
            method::AUTHENTICATE => Ok(to_value(Empty {})),
            method::SESSION_NEW => match parse(params) {
                Ok(p) => self.new_session(p).await,
                Err(e) => Err(e),
            },
            method::SESSION_LIST => match parse(params) {
                Ok(p) => self.list(p).await,
                Err(e) => Err(e),
            },
            method::SESSION_SET_MODE => parse(params).and_then(|p| self.set_mode(p)),
            method::SESSION_LOAD => match parse(params) {
                Ok(p) => match self.load(id.clone(), p).await {
                    Ok(()) => return,
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            },
            method::SESSION_PROMPT => match parse(params) {
                Ok(p) => match self.prompt(id.clone(), p) {
                    Ok(()) => return,
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            },
            other => Err(ErrorObject::new(
                agentd_protocol::jsonrpc::METHOD_NOT_FOUND,
                format!("method not found: {other}"),
            )),
        };
        self.peer.respond(&id, answer).await;
    }

    /// `session/cancel`.
    pub fn cancel(&self, params: Value) {
        if let Ok(p) = serde_json::from_value::<CancelNotification>(params) {
            if let Some(tx) = self.session(&p.session_id) {
                let _ = tx.try_send(Command::Cancel);
            }
        }
    }

    async fn new_session(&self, p: NewSessionRequest) -> Answer {
        // Refused before the thread is made: a refused session must not leave a thread and its
        // MCP servers behind. (`open` checks again, for sessions made meanwhile.)
        room_in(&mut self.sessions_map(), None)?;
        let mut client = self.connect().await?;
        let config = mcp_servers_config(&p.mcp_servers).map_err(invalid_params)?;
        let params = ThreadStartParams {
            overrides: ThreadOverrides {
                cwd: Some(p.cwd.clone()),
                config,
                ..ThreadOverrides::default()
            },
            ephemeral: None,
            session_source: Some(SessionSource::Custom("acp".into())),
        };
        let started = client
            .call::<ThreadStart>(&params)
            .await
            .map_err(|e| from_client(&e))?;
        let mode = Mode::of_sandbox(&started.sandbox);
        let id = started.thread.id;
        self.open(&id, started.cwd.into(), mode, client, None)?;
        Ok(to_value(NewSessionResponse {
            session_id: id,
            modes: mode.state(),
        }))
    }

    /// `session/load`: subscribe from the first event, so the session replays the whole
    /// history as updates before it answers.
    async fn load(&self, id: RequestId, p: LoadSessionRequest) -> Result<(), ErrorObject> {
        let mut client = self.connect().await?;
        let config = mcp_servers_config(&p.mcp_servers).map_err(invalid_params)?;
        let params = ThreadResumeParams {
            thread_id: p.session_id.clone(),
            after_seq: Some(0),
            exclude_turns: Some(true),
            overrides: ThreadOverrides {
                config,
                ..ThreadOverrides::default()
            },
        };
        let resumed = client.call::<ThreadResume>(&params).await.map_err(|e| {
            let e = from_client(&e);
            if e.code == agentd_protocol::jsonrpc::NOT_FOUND {
                ErrorObject::new(code::RESOURCE_NOT_FOUND, e.message)
            } else {
                e
            }
        })?;
        let mode = Mode::of_sandbox(&resumed.sandbox);
        let loading = Loading {
            id,
            last_seq: resumed.thread.last_seq,
            answer: to_value(LoadSessionResponse {
                modes: mode.state(),
            }),
        };
        self.open(
            &p.session_id,
            resumed.cwd.into(),
            mode,
            client,
            Some(loading),
        )
    }

    fn open(
        &self,
        id: &str,
        cwd: std::path::PathBuf,
        mode: Mode,
        client: RpcClient,
        loading: Option<Loading>,
    ) -> Result<(), ErrorObject> {
        let (tx, rx) = mpsc::channel(SESSION_QUEUE);
        {
            let mut sessions = self.sessions_map();
            room_in(&mut sessions, Some(id))?;
            // A session loaded again replaces its old task (whose connection then closes).
            sessions.insert(id.to_owned(), tx);
        }
        let session = Session {
            id: id.to_owned(),
            cwd,
            mode,
            peer: self.peer.clone(),
            client,
            loading,
        };
        tokio::spawn(session.run(rx));
        Ok(())
    }

    fn prompt(&self, id: RequestId, p: PromptRequest) -> Result<(), ErrorObject> {
        let tx = self
            .session(&p.session_id)
            .ok_or_else(|| unknown(&p.session_id))?;
        let input = user_input(p.prompt).map_err(invalid_params)?;
        tx.try_send(Command::Prompt { id, input }).map_err(|_| {
            ErrorObject::new(
                agentd_protocol::jsonrpc::OVERLOADED,
                "the session is busy; try again",
            )
        })
    }

    fn set_mode(&self, p: SetModeRequest) -> Answer {
        let mode = Mode::from_id(&p.mode_id)
            .ok_or_else(|| invalid_params(format!("modeId: no mode {:?}", p.mode_id)))?;
        let tx = self
            .session(&p.session_id)
            .ok_or_else(|| unknown(&p.session_id))?;
        tx.try_send(Command::SetMode(mode)).map_err(|_| {
            ErrorObject::new(
                agentd_protocol::jsonrpc::OVERLOADED,
                "the session is busy; try again",
            )
        })?;
        Ok(to_value(Empty {}))
    }

    async fn list(&self, p: ListSessionsRequest) -> Answer {
        let mut client = self.connect().await?;
        let params = ThreadListParams {
            cursor: p.cursor,
            limit: Some(LIST_PAGE),
            cwd: p.cwd.map(ThreadListCwdFilter::One),
            ..ThreadListParams::default()
        };
        let page = client
            .call::<ThreadList>(&params)
            .await
            .map_err(|e| from_client(&e))?;
        let sessions = page
            .data
            .into_iter()
            .map(|t| SessionInfo {
                session_id: t.id,
                cwd: t.cwd,
                title: t
                    .name
                    .or_else(|| (!t.preview.is_empty()).then_some(t.preview)),
                updated_at: Some(crate::clock::iso8601(t.updated_at)),
            })
            .collect();
        Ok(to_value(ListSessionsResponse {
            sessions,
            next_cursor: page.next_cursor,
        }))
    }

    async fn connect(&self) -> Result<RpcClient, ErrorObject> {
        self.connector.connect("agentd-acp").await.map_err(|e| {
            internal(format!(
                "cannot reach agentd: {}",
                crate::errors::describe(&e)
            ))
        })
    }

    fn session(&self, id: &str) -> Option<mpsc::Sender<Command>> {
        self.sessions_map().get(id).cloned()
    }

    fn sessions_map(&self) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::Sender<Command>>> {
        // A panic while the lock was held left a plain map behind: still usable.
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn initialize() -> Value {
    to_value(InitializeResponse {
        protocol_version: PROTOCOL_VERSION,
        agent_capabilities: AgentCapabilities {
            load_session: true,
            prompt_capabilities: PromptCapabilities {
                image: true,
                audio: false,
                embedded_context: true,
            },
            mcp_capabilities: McpCapabilities {
                http: true,
                sse: false,
            },
            session_capabilities: SessionCapabilities { list: Empty {} },
        },
        agent_info: Implementation {
            name: "agentd".into(),
            title: "agentd".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        auth_methods: Vec::new(),
    })
}

fn unknown(session_id: &str) -> ErrorObject {
    ErrorObject::new(
        code::RESOURCE_NOT_FOUND,
        format!("no open session {session_id}: call session/new or session/load first"),
    )
}

fn parse<T: DeserializeOwned>(params: Value) -> Result<T, ErrorObject> {
    serde_json::from_value(params).map_err(invalid_params)
}

fn to_value(v: impl Serialize) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// Whether one more session (or `id` again) may open among `sessions`: at most
/// [`MAX_SESSIONS`].
fn room_in(
    sessions: &mut HashMap<String, mpsc::Sender<Command>>,
    id: Option<&str>,
) -> Result<(), ErrorObject> {
    sessions.retain(|_, tx| !tx.is_closed());
    let again = id.is_some_and(|id| sessions.contains_key(id));
    if sessions.len() >= MAX_SESSIONS && !again {
        return Err(ErrorObject::new(
            agentd_protocol::jsonrpc::OVERLOADED,
            format!("{MAX_SESSIONS} sessions are open in this agent; close an editor tab"),
        ));
    }
    Ok(())
}
