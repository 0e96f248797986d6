//! The client's state machine: messages from the daemon and keys from the user go in, frames for
//! the daemon come out (`take_outgoing`). No I/O and no terminal here, so every behaviour — a
//! full turn, an approval, a reconnect — is tested by feeding recorded messages and keys and
//! looking at the state or the rendered screen.
//!
//! Requests are fire-and-forget: each id remembers what it was for ([`Pending`]) and the answer is
//! handled when it arrives, so the screen never blocks on the daemon. This file holds the state
//! and the actions; `messages.rs` handles what the daemon sends, `keys.rs` what the user types.

use std::cell::Cell;
use std::collections::HashMap;

use agentd_protocol::jsonrpc::{ErrorObject, RequestId};
use agentd_protocol::methods::{
    Initialize, ThreadList, ThreadResume, ThreadSearch, ThreadStart, TurnInterrupt, TurnStart,
    TurnSteer,
};
use agentd_protocol::{
    ClientInfo, ClientMethod, FileUpdateChange, InitializeParams, Thread, ThreadListParams,
    ThreadOverrides, ThreadResumeParams, ThreadSearchParams, ThreadStartParams,
    TurnInterruptParams, TurnStartParams, TurnSteerParams, UserInput,
};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::transcript::Transcript;

mod keys;
mod mcp;
mod messages;

pub use mcp::{FieldKind, Form, FormField};

/// Which pane the keys go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Threads,
    Composer,
}

/// A server request waiting for the user's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Approval {
    pub request_id: RequestId,
    pub thread_id: String,
    pub kind: ApprovalKind,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ApprovalKind {
    Command {
        command: String,
        cwd: String,
    },
    FileChange {
        changes: Vec<FileUpdateChange>,
    },
    /// agentd asks before running an MCP tool (`mcpServer/elicitation/request` with
    /// `_meta["agentd/toolApproval"]`); answered with the same keys as a command.
    McpTool {
        server: String,
        tool: String,
        arguments: Value,
    },
    /// An MCP server's own question: a form the user fills in.
    McpForm {
        server: String,
        form: Form,
    },
    /// An MCP server asks the user to open a URL.
    McpUrl {
        server: String,
        message: String,
        url: String,
    },
}

impl ApprovalKind {
    /// Whether the prompt is a form, whose keys type into fields rather than choose.
    pub fn is_form(&self) -> bool {
        matches!(self, ApprovalKind::McpForm { .. })
    }
}

/// What the user answered, whatever the request's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Accept,
    AcceptForSession,
    Decline,
    Cancel,
}

impl Choice {
    /// The word `serverRequest/resolved` uses for it, and a command approval's decision.
    pub fn decision(self) -> &'static str {
        match self {
            Choice::Accept => "accept",
            Choice::AcceptForSession => "acceptForSession",
            Choice::Decline => "decline",
            Choice::Cancel => "cancel",
        }
    }
}

/// What an outstanding request was for.
#[derive(Debug, Clone, PartialEq)]
enum Pending {
    Initialize,
    ThreadList,
    /// `thread/search` for the query the list then shows.
    Search,
    ThreadStart,
    /// `rebuild`: replace the transcript with the result (opening a thread, after a rollback);
    /// otherwise the result only confirms a catch-up whose events were replayed before it.
    Resume {
        thread_id: String,
        rebuild: bool,
    },
    TurnStart,
    TurnSteer,
    TurnInterrupt,
}

impl Pending {
    fn what(&self) -> &'static str {
        match self {
            Pending::Initialize => "initialize",
            Pending::ThreadList => "listing threads",
            Pending::Search => "searching",
            Pending::ThreadStart => "starting a thread",
            Pending::Resume { .. } => "opening the thread",
            Pending::TurnStart => "starting the turn",
            Pending::TurnSteer => "steering the turn",
            Pending::TurnInterrupt => "interrupting the turn",
        }
    }
}

pub struct App {
    /// Where the daemon is, for the status line.
    pub endpoint: String,
    /// The working directory new threads get.
    pub cwd: String,
    pub connected: bool,
    pub threads: Vec<Thread>,
    pub selected: usize,
    pub transcript: Option<Transcript>,
    pub focus: Focus,
    pub composer: String,
    /// Oldest first; the first is the one on screen.
    pub approvals: Vec<Approval>,
    /// The thread list's search: the query (being typed while `search_editing`), whose hits the
    /// list shows instead of every thread; `None` lists them all.
    pub search: Option<String>,
    pub search_editing: bool,
    /// The latest thing worth telling the user.
    pub status: String,
    /// Transcript lines scrolled back from the bottom (0 follows the stream).
    pub scroll: usize,
    /// The largest useful `scroll`, as the last drawn frame found it (`usize::MAX` while the
    /// top of the transcript was not reached).
    pub scroll_limit: Cell<usize>,
    pub quit: bool,
    /// A thread to open once the handshake is done (`--thread`).
    pub open_on_connect: Option<String>,
    /// A prompt typed before any thread was open: sent once `thread/start` answers.
    queued_prompt: Option<String>,
    next_id: i64,
    pending: HashMap<i64, Pending>,
    outbox: Vec<String>,
}

fn decode<T: DeserializeOwned>(what: &str, v: Value) -> Result<T, String> {
    serde_json::from_value(v).map_err(|e| format!("agentd sent a malformed {what}: {e}"))
}

fn text_input(text: &str) -> Vec<UserInput> {
    vec![UserInput::text(text)]
}

impl App {
    pub fn new(endpoint: impl Into<String>, cwd: impl Into<String>) -> App {
        App {
            endpoint: endpoint.into(),
            cwd: cwd.into(),
            connected: false,
            threads: Vec::new(),
            selected: 0,
            transcript: None,
            focus: Focus::Composer,
            composer: String::new(),
            approvals: Vec::new(),
            search: None,
            search_editing: false,
            status: "connecting…".into(),
            scroll: 0,
            scroll_limit: Cell::new(usize::MAX),
            quit: false,
            open_on_connect: None,
            queued_prompt: None,
            next_id: 1,
            pending: HashMap::new(),
            outbox: Vec::new(),
        }
    }

    /// Frames to send, in order.
    pub fn take_outgoing(&mut self) -> Vec<String> {
        std::mem::take(&mut self.outbox)
    }

    /// The pipe is up (first time or again): shake hands. The open thread is caught up once
    /// `initialize` answers.
    pub fn on_connected(&mut self) {
        self.connected = true;
        self.pending.clear();
        self.status = format!("connected to {}", self.endpoint);
        let params = InitializeParams {
            client_info: ClientInfo {
                name: "agentd-tui".into(),
                title: Some("agentd terminal UI".into()),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            capabilities: None,
        };
        self.request::<Initialize>(params, Pending::Initialize);
    }

    /// The pipe is gone. Answers to outstanding requests will never come; pending approvals are
    /// re-sent by the daemon when the thread is resumed, so they are dropped here.
    pub fn on_disconnected(&mut self, reason: &str) {
        self.connected = false;
        self.pending.clear();
        self.approvals.clear();
        self.status = format!("disconnected: {reason}");
    }

    fn request<M: ClientMethod>(&mut self, params: M::Params, purpose: Pending) {
        let id = self.next_id;
        self.next_id += 1;
        self.pending.insert(id, purpose);
        let frame = json!({"jsonrpc": "2.0", "id": id, "method": M::METHOD, "params": params});
        self.outbox.push(frame.to_string());
    }

    fn respond(&mut self, id: &RequestId, result: Value) {
        let frame = json!({"jsonrpc": "2.0", "id": id, "result": result});
        self.outbox.push(frame.to_string());
    }

    fn respond_error(&mut self, id: &RequestId, code: i64, message: String) {
        let frame = json!({"jsonrpc": "2.0", "id": id, "error": ErrorObject::new(code, message)});
        self.outbox.push(frame.to_string());
    }

    fn resume(&mut self, thread_id: String, rebuild: bool) {
        let params = ThreadResumeParams {
            thread_id: thread_id.clone(),
            ..Default::default()
        };
        self.request::<ThreadResume>(params, Pending::Resume { thread_id, rebuild });
    }

    /// Reads the list again: every thread, or the hits of the search in force.
    fn refresh_threads(&mut self) {
        if let Some(query) = self.search.clone().filter(|q| !q.is_empty()) {
            let params = ThreadSearchParams {
                query,
                limit: Some(100),
                ..Default::default()
            };
            self.request::<ThreadSearch>(params, Pending::Search);
            return;
        }
        let params = ThreadListParams {
            limit: Some(100),
            ..Default::default()
        };
        self.request::<ThreadList>(params, Pending::ThreadList);
    }

    fn new_thread(&mut self) {
        let params = ThreadStartParams {
            overrides: ThreadOverrides {
                cwd: Some(self.cwd.clone()),
                ..Default::default()
            },
            ..Default::default()
        };
        self.request::<ThreadStart>(params, Pending::ThreadStart);
        self.status = "starting a new thread…".into();
    }

    fn start_turn(&mut self, prompt: &str) {
        let Some(t) = &self.transcript else { return };
        let params = TurnStartParams {
            thread_id: t.thread.id.clone(),
            input: text_input(prompt),
            ..Default::default()
        };
        self.request::<TurnStart>(params, Pending::TurnStart);
    }

    /// Enter in the composer: a new turn, a steer of the running one, or — with no thread open
    /// yet — a new thread that the prompt starts.
    fn submit(&mut self) {
        let prompt = self.composer.trim().to_string();
        if prompt.is_empty() {
            return;
        }
        if !self.connected {
            self.status = "not connected: the message is kept".into();
            return;
        }
        self.composer.clear();
        self.scroll = 0;
        match &self.transcript {
            None => {
                self.queued_prompt = Some(prompt);
                self.new_thread();
            }
            Some(t) => match t.running_turn.clone() {
                Some(turn_id) => {
                    let params = TurnSteerParams {
                        thread_id: t.thread.id.clone(),
                        input: text_input(&prompt),
                        expected_turn_id: turn_id,
                        ..Default::default()
                    };
                    self.request::<TurnSteer>(params, Pending::TurnSteer);
                }
                None => self.start_turn(&prompt),
            },
        }
    }

    /// Whether the open thread has a turn running.
    pub fn turn_running(&self) -> bool {
        self.transcript
            .as_ref()
            .is_some_and(|t| t.running_turn.is_some())
    }

    fn interrupt(&mut self) {
        let Some(t) = &self.transcript else { return };
        let Some(turn_id) = t.running_turn.clone() else {
            return;
        };
        let params = TurnInterruptParams {
            thread_id: t.thread.id.clone(),
            turn_id,
        };
        self.request::<TurnInterrupt>(params, Pending::TurnInterrupt);
        self.status = "interrupting…".into();
    }

    /// Answers the approval on screen. A form whose values do not fit its schema stays open,
    /// saying why.
    fn answer(&mut self, choice: Choice) {
        let Some(first) = self.approvals.first_mut() else {
            return;
        };
        let result = match &first.kind {
            ApprovalKind::Command { .. } | ApprovalKind::FileChange { .. } => {
                Ok(json!({ "decision": choice.decision() }))
            }
            // "For this session" means nothing to a server's own question.
            ApprovalKind::McpForm { .. } | ApprovalKind::McpUrl { .. }
                if choice == Choice::AcceptForSession =>
            {
                return;
            }
            kind => mcp::answer(kind, choice),
        };
        let result = match result {
            Ok(result) => result,
            Err(problem) => {
                if let ApprovalKind::McpForm { form, .. } = &mut first.kind {
                    form.problem = Some(problem.clone());
                }
                self.status = problem;
                return;
            }
        };
        let approval = self.approvals.remove(0);
        self.respond(&approval.request_id, result);
        self.status = format!("answered: {}", choice.decision());
    }
}
