//! The client's state machine: messages from the daemon and keys from the user go in, frames for
//! the daemon come out (`take_outgoing`). No I/O and no terminal here, so every behaviour — a
//! full turn, an approval, a reconnect — is tested by feeding recorded messages and keys and
//! looking at the state or the rendered screen.
//!
//! Requests are fire-and-forget: each id remembers what it was for ([`Pending`]) and the answer is
//! handled when it arrives, so the screen never blocks on the daemon.

use std::cell::Cell;
use std::collections::HashMap;

use agentd_protocol::jsonrpc::{ErrorObject, Message, Request, RequestId};
use agentd_protocol::methods::{
    CommandExecutionRequestApproval, FileChangeRequestApproval, Initialize, ThreadList,
    ThreadResume, ThreadSearch, ThreadStart, TurnInterrupt, TurnStart, TurnSteer,
    INITIALIZED_NOTIFICATION,
};
use agentd_protocol::{
    ClientInfo, ClientMethod, CommandExecutionRequestApprovalParams,
    FileChangeRequestApprovalParams, FileUpdateChange, InitializeParams, ServerRequestMethod,
    ServerRequestResolvedNotification, Thread, ThreadListParams, ThreadNameUpdatedNotification,
    ThreadOverrides, ThreadResumeParams, ThreadSearchParams, ThreadStartParams,
    ThreadStartedNotification, ThreadStatusChangedNotification, TurnInterruptParams,
    TurnStartParams, TurnSteerParams, UserInput,
};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::transcript::{Folded, Transcript};

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
    Command { command: String, cwd: String },
    FileChange { changes: Vec<FileUpdateChange> },
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

    /// One message from the daemon.
    pub fn on_message(&mut self, value: Value) {
        let message = match serde_json::from_value::<Message>(value) {
            Ok(m) => m,
            Err(e) => {
                self.status = format!("agentd sent a message that is not JSON-RPC: {e}");
                return;
            }
        };
        match message {
            Message::Response(r) => self.on_response(&r.id, Ok(r.result)),
            Message::Error(e) => match e.id {
                Some(id) => self.on_response(&id, Err(e.error)),
                None => self.status = format!("agentd: {} ({})", e.error.message, e.error.code),
            },
            Message::Request(r) => self.on_server_request(r),
            Message::Notification(n) => {
                self.on_notification(&n.method, n.params.unwrap_or(Value::Null))
            }
        }
    }

    fn on_response(&mut self, id: &RequestId, outcome: Result<Value, ErrorObject>) {
        let purpose = match id {
            RequestId::Integer(i) => self.pending.remove(i),
            RequestId::String(_) => None,
        };
        let Some(purpose) = purpose else {
            return; // an answer from before a reconnect
        };
        let result = match outcome {
            Ok(result) => result,
            Err(e) => {
                self.status = format!("{} failed: {} ({})", purpose.what(), e.message, e.code);
                if purpose == Pending::ThreadStart {
                    self.queued_prompt = None;
                }
                return;
            }
        };
        if let Err(e) = self.on_result(purpose, result) {
            self.status = e;
        }
    }

    fn on_result(&mut self, purpose: Pending, result: Value) -> Result<(), String> {
        match purpose {
            Pending::Initialize => {
                let r: <Initialize as ClientMethod>::Response =
                    decode("initialize result", result)?;
                self.status = format!(
                    "connected to {} {} (protocol {})",
                    r.server_info.name, r.server_info.version, r.protocol_version
                );
                self.outbox.push(
                    json!({"jsonrpc": "2.0", "method": INITIALIZED_NOTIFICATION}).to_string(),
                );
                self.refresh_threads();
                if let Some(id) = self.open_on_connect.take() {
                    self.resume(id, true);
                } else if let Some(t) = &self.transcript {
                    let params = ThreadResumeParams {
                        thread_id: t.thread.id.clone(),
                        after_seq: Some(t.last_seq),
                        // The replay brings everything after `last_seq`; the turns are not needed.
                        exclude_turns: Some(true),
                        ..Default::default()
                    };
                    let thread_id = t.thread.id.clone();
                    self.request::<ThreadResume>(
                        params,
                        Pending::Resume {
                            thread_id,
                            rebuild: false,
                        },
                    );
                }
            }
            Pending::ThreadList => {
                let r: <ThreadList as ClientMethod>::Response = decode("thread list", result)?;
                let open = self.transcript.as_ref().map(|t| t.thread.id.clone());
                self.threads = r.data;
                if let Some(at) = open.and_then(|id| self.threads.iter().position(|t| t.id == id)) {
                    self.selected = at;
                }
                self.selected = self.selected.min(self.threads.len().saturating_sub(1));
            }
            Pending::Search => {
                let r: <ThreadSearch as ClientMethod>::Response = decode("search result", result)?;
                self.threads = r.data.into_iter().map(|hit| hit.thread).collect();
                self.selected = 0;
                let query = self.search.clone().unwrap_or_default();
                self.status = match self.threads.len() {
                    1 => format!("1 thread matches “{query}”"),
                    n => format!("{n} threads match “{query}”"),
                };
            }
            Pending::ThreadStart => {
                let r: <ThreadStart as ClientMethod>::Response =
                    decode("thread/start result", result)?;
                self.remember_thread(&r.thread);
                self.open(Transcript::from_thread(r.thread));
                self.status = "new thread started".into();
                if let Some(prompt) = self.queued_prompt.take() {
                    self.start_turn(&prompt);
                }
            }
            Pending::Resume { thread_id, rebuild } => {
                let r: <ThreadResume as ClientMethod>::Response =
                    decode("thread/resume result", result)?;
                self.remember_thread(&r.thread);
                match &mut self.transcript {
                    Some(t) if t.thread.id == thread_id && !rebuild => {
                        // `last_seq` stays: the daemon replays everything after it around this
                        // answer (agentd sends the replay right after it), and advancing to
                        // `thread.lastSeq` here would drop that replay as duplicates.
                        t.thread.status = r.thread.status;
                        t.thread.name = r.thread.name;
                    }
                    _ => self.open(Transcript::from_thread(r.thread)),
                }
            }
            Pending::TurnStart => {
                // The turn shows up through `turn/started`, on every client alike.
            }
            Pending::TurnSteer => self.status = "steered the running turn".into(),
            Pending::TurnInterrupt => self.status = "interrupt requested".into(),
        }
        Ok(())
    }

    fn open(&mut self, transcript: Transcript) {
        if let Some(at) = self
            .threads
            .iter()
            .position(|t| t.id == transcript.thread.id)
        {
            self.selected = at;
        }
        self.transcript = Some(transcript);
        self.scroll = 0;
        self.focus = Focus::Composer;
    }

    /// Adds a thread to the list (newest first) or refreshes its entry.
    fn remember_thread(&mut self, thread: &Thread) {
        let mut entry = thread.clone();
        entry.turns.clear();
        match self.threads.iter_mut().find(|t| t.id == thread.id) {
            Some(t) => *t = entry,
            None => {
                self.threads.insert(0, entry);
                if self.selected + 1 < self.threads.len() {
                    self.selected += 1;
                }
            }
        }
    }

    fn on_server_request(&mut self, request: Request) {
        let params = request.params.unwrap_or(Value::Null);
        let approval = match request.method.as_str() {
            CommandExecutionRequestApproval::METHOD => decode::<
                CommandExecutionRequestApprovalParams,
            >(&request.method, params)
            .map(|p| Approval {
                request_id: request.id.clone(),
                thread_id: p.thread_id,
                kind: ApprovalKind::Command {
                    command: p.command,
                    cwd: p.cwd,
                },
                reason: p.reason,
            }),
            FileChangeRequestApproval::METHOD => {
                decode::<FileChangeRequestApprovalParams>(&request.method, params).map(|p| {
                    Approval {
                        request_id: request.id.clone(),
                        thread_id: p.thread_id,
                        kind: ApprovalKind::FileChange { changes: p.changes },
                        reason: p.reason,
                    }
                })
            }
            other => {
                let message = format!("agentd-tui does not handle {other}");
                self.respond_error(&request.id, -32601, message);
                return;
            }
        };
        match approval {
            Ok(a) => {
                // A re-sent request (after a resume) replaces the one already shown.
                self.approvals.retain(|x| x.request_id != a.request_id);
                self.approvals.push(a);
            }
            Err(e) => {
                self.respond_error(&request.id, -32602, e.clone());
                self.status = e;
            }
        }
    }

    fn on_notification(&mut self, method: &str, params: Value) {
        if let Err(e) = self.notification(method, params) {
            self.status = e;
        }
    }

    fn notification(&mut self, method: &str, params: Value) -> Result<(), String> {
        match method {
            // Per-connection notices, not log events: never subject to the seq check.
            "serverRequest/resolved" => {
                let n: ServerRequestResolvedNotification = decode(method, params)?;
                let before = self.approvals.len();
                self.approvals.retain(|a| a.request_id != n.request_id);
                if self.approvals.len() < before {
                    let decision = serde_json::to_value(n.decision).unwrap_or(Value::Null);
                    self.status = format!(
                        "approval answered by {}: {}",
                        n.resolved_by.client_name,
                        decision.as_str().unwrap_or("?")
                    );
                }
                return Ok(());
            }
            "thread/resyncRequired" => {
                let thread_id = params["threadId"].as_str().unwrap_or_default().to_string();
                if let Some(t) = self
                    .transcript
                    .as_ref()
                    .filter(|t| t.thread.id == thread_id)
                {
                    let params = ThreadResumeParams {
                        thread_id: thread_id.clone(),
                        after_seq: Some(t.last_seq),
                        // The replay brings everything after `last_seq`; the turns are not needed.
                        exclude_turns: Some(true),
                        ..Default::default()
                    };
                    self.request::<ThreadResume>(
                        params,
                        Pending::Resume {
                            thread_id,
                            rebuild: false,
                        },
                    );
                }
                return Ok(());
            }
            "thread/started" => {
                let n: ThreadStartedNotification = decode(method, params.clone())?;
                if !self.threads.iter().any(|t| t.id == n.thread.id) {
                    self.remember_thread(&n.thread);
                }
            }
            "thread/status/changed" => {
                let n: ThreadStatusChangedNotification = decode(method, params.clone())?;
                if let Some(t) = self.threads.iter_mut().find(|t| t.id == n.thread_id) {
                    t.status = n.status;
                }
            }
            "thread/name/updated" => {
                let n: ThreadNameUpdatedNotification = decode(method, params.clone())?;
                if let Some(t) = self.threads.iter_mut().find(|t| t.id == n.thread_id) {
                    t.name = n.thread_name;
                }
            }
            "error" if params.get("threadId").is_none() => {
                let message = params["error"]["message"]
                    .as_str()
                    .unwrap_or("unknown error");
                self.status = format!("agentd: {message}");
                return Ok(());
            }
            _ => {}
        }
        let Some(t) = &mut self.transcript else {
            return Ok(());
        };
        if params.get("threadId").and_then(Value::as_str) != Some(t.thread.id.as_str()) {
            return Ok(());
        }
        let folded = t.fold(method, params).map_err(|e| format!("{e:#}"))?;
        let (thread_id, preview) = (t.thread.id.clone(), t.thread.preview.clone());
        if let Some(entry) = self.threads.iter_mut().find(|x| x.id == thread_id) {
            if entry.preview.is_empty() {
                entry.preview = preview;
            }
        }
        if folded == Folded::Reload {
            self.resume(thread_id, true);
        }
        Ok(())
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

    fn scroll_up(&mut self, lines: usize) {
        self.scroll = self
            .scroll
            .saturating_add(lines)
            .min(self.scroll_limit.get());
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

    fn answer(&mut self, decision: &str) {
        if self.approvals.is_empty() {
            return;
        }
        let approval = self.approvals.remove(0);
        self.respond(&approval.request_id, json!({ "decision": decision }));
        self.status = format!("answered: {decision}");
    }

    /// One key press.
    pub fn on_key(&mut self, key: KeyEvent) {
        if key.modifiers.contains(KeyModifiers::CONTROL) {
            match key.code {
                KeyCode::Char('q') | KeyCode::Char('d') => self.quit = true,
                KeyCode::Char('c') if self.turn_running() => self.interrupt(),
                KeyCode::Char('c') => self.quit = true,
                KeyCode::Char('n') => self.new_thread(),
                KeyCode::Char('r') => self.refresh_threads(),
                _ => {}
            }
            return;
        }
        if !self.approvals.is_empty() {
            match key.code {
                KeyCode::Char('y') => self.answer("accept"),
                KeyCode::Char('a') => self.answer("acceptForSession"),
                KeyCode::Char('n') => self.answer("decline"),
                KeyCode::Char('c') | KeyCode::Esc => self.answer("cancel"),
                _ => {}
            }
            return;
        }
        match key.code {
            KeyCode::Tab | KeyCode::BackTab => {
                self.focus = match self.focus {
                    Focus::Threads => Focus::Composer,
                    Focus::Composer => {
                        // Threads other clients started announce themselves only to their
                        // subscribers: the list is read again whenever it is looked at.
                        if self.connected {
                            self.refresh_threads();
                        }
                        Focus::Threads
                    }
                };
                return;
            }
            KeyCode::PageUp => {
                self.scroll_up(10);
                return;
            }
            KeyCode::PageDown => {
                self.scroll = self.scroll.saturating_sub(10);
                return;
            }
            _ => {}
        }
        match self.focus {
            Focus::Threads => self.thread_list_key(key.code),
            Focus::Composer => self.composer_key(key.code),
        }
    }

    /// Pasted text (bracketed paste): goes into the composer whole, newlines included, so a
    /// pasted snippet is not sent line by line.
    pub fn on_paste(&mut self, text: &str) {
        if self.approvals.is_empty() {
            self.focus = Focus::Composer;
            self.composer
                .push_str(&text.replace("\r\n", "\n").replace('\r', "\n"));
        }
    }

    fn thread_list_key(&mut self, code: KeyCode) {
        if self.search_editing {
            match code {
                KeyCode::Char(c) => self.search.get_or_insert_with(String::new).push(c),
                KeyCode::Backspace => {
                    if let Some(q) = &mut self.search {
                        q.pop();
                    }
                }
                KeyCode::Enter => {
                    self.search_editing = false;
                    if self.search.as_ref().is_some_and(|q| q.trim().is_empty()) {
                        self.search = None;
                    }
                    self.refresh_threads();
                }
                KeyCode::Esc => self.clear_search(),
                _ => {}
            }
            return;
        }
        match code {
            KeyCode::Up | KeyCode::Char('k') => self.selected = self.selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') if self.selected + 1 < self.threads.len() => {
                self.selected += 1
            }
            KeyCode::Enter => {
                let Some(thread) = self.threads.get(self.selected) else {
                    return;
                };
                let id = thread.id.clone();
                if self.transcript.as_ref().is_some_and(|t| t.thread.id == id) {
                    self.focus = Focus::Composer;
                } else {
                    self.resume(id, true);
                }
            }
            KeyCode::Char('n') => self.new_thread(),
            KeyCode::Char('r') => self.refresh_threads(),
            KeyCode::Char('q') => self.quit = true,
            KeyCode::Char('/') => {
                self.search = Some(String::new());
                self.search_editing = true;
            }
            KeyCode::Esc if self.search.is_some() => self.clear_search(),
            _ => {}
        }
    }

    fn clear_search(&mut self) {
        self.search = None;
        self.search_editing = false;
        self.refresh_threads();
    }

    fn composer_key(&mut self, code: KeyCode) {
        match code {
            KeyCode::Char(c) => self.composer.push(c),
            KeyCode::Backspace => {
                self.composer.pop();
            }
            KeyCode::Enter => self.submit(),
            KeyCode::Esc => self.interrupt(),
            KeyCode::Up => self.scroll_up(1),
            KeyCode::Down => self.scroll = self.scroll.saturating_sub(1),
            _ => {}
        }
    }
}
