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
    /// The item asked about, when the request names one: the daemon asks again (with a new
    /// request id) each time the thread is resumed, e.g. when the user opens a sub-agent whose
    /// question was already shown through its parent, and the new request replaces the old.
    pub item_id: Option<String>,
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
    /// The message it carried, put back in the composer if the daemon refuses it.
    TurnStart {
        draft: Draft,
    },
    TurnSteer {
        draft: Draft,
    },
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
            Pending::TurnStart { .. } => "starting the turn",
            Pending::TurnSteer { .. } => "steering the turn",
            Pending::TurnInterrupt => "interrupting the turn",
        }
    }
}

/// What Enter sends: the composer's text and the images attached with `/image`.
#[derive(Debug, Clone, PartialEq, Default)]
struct Draft {
    text: String,
    /// Paths on the daemon's machine.
    images: Vec<String>,
}

impl Draft {
    /// As turn input: the text (if any), then each image as a `localImage`.
    fn input(&self) -> Vec<UserInput> {
        let text = (!self.text.is_empty()).then(|| UserInput::text(&self.text));
        let images = self
            .images
            .iter()
            .map(|path| UserInput::LocalImage { path: path.clone() });
        text.into_iter().chain(images).collect()
    }
}

/// The composer command that attaches an image file to the next message.
const IMAGE_COMMAND: &str = "/image";

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
    /// Image files (paths on the daemon's machine) the next message carries, in the order
    /// attached with `/image PATH`; Backspace in an empty composer drops the last.
    pub attachments: Vec<String>,
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
    /// A message written before any thread was open: sent once `thread/start` answers.
    queued_prompt: Option<Draft>,
    next_id: i64,
    pending: HashMap<i64, Pending>,
    outbox: Vec<String>,
}

/// The path of an `/image PATH` line (empty when none is given), or `None` for any other text.
fn image_command(line: &str) -> Option<&str> {
    let rest = line.strip_prefix(IMAGE_COMMAND)?;
    (rest.is_empty() || rest.starts_with(char::is_whitespace)).then(|| rest.trim())
}

fn decode<T: DeserializeOwned>(what: &str, v: Value) -> Result<T, String> {
    serde_json::from_value(v).map_err(|e| format!("agentd sent a malformed {what}: {e}"))
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
            attachments: Vec::new(),
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

    fn start_turn(&mut self, draft: Draft) {
        let Some(t) = &self.transcript else { return };
        let params = TurnStartParams {
            thread_id: t.thread.id.clone(),
            input: draft.input(),
            ..Default::default()
        };
        self.request::<TurnStart>(params, Pending::TurnStart { draft });
    }

    /// Enter in the composer: `/image PATH` attaches an image; anything else (or images alone)
    /// is a new turn, a steer of the running one, or — with no thread open yet — a new thread
    /// that the message starts.
    fn submit(&mut self) {
        let prompt = self.composer.trim().to_string();
        if let Some(path) = image_command(&prompt) {
            self.composer.clear();
            self.attach_image(path);
            return;
        }
        if prompt.is_empty() && self.attachments.is_empty() {
            return;
        }
        if !self.connected {
            self.status = "not connected: the message is kept".into();
            return;
        }
        self.composer.clear();
        self.scroll = 0;
        let draft = Draft {
            text: prompt,
            images: std::mem::take(&mut self.attachments),
        };
        match &self.transcript {
            None => {
                self.queued_prompt = Some(draft);
                self.new_thread();
            }
            Some(t) => match t.running_turn.clone() {
                Some(turn_id) => {
                    let params = TurnSteerParams {
                        thread_id: t.thread.id.clone(),
                        input: draft.input(),
                        expected_turn_id: turn_id,
                        ..Default::default()
                    };
                    self.request::<TurnSteer>(params, Pending::TurnSteer { draft });
                }
                None => self.start_turn(draft),
            },
        }
    }

    /// `/image PATH`: the file goes with the next message as a `localImage` input. The daemon
    /// reads it (so the path is on its machine; a relative one is taken from this client's
    /// working directory) and refuses the turn, naming it, if it is no image it can read.
    fn attach_image(&mut self, path: &str) {
        let path = path.trim().trim_matches(|c| c == '"' || c == '\'');
        if path.is_empty() {
            self.status = format!(
                "{IMAGE_COMMAND} PATH attaches an image file (PNG, JPEG, GIF, WebP) to the next message"
            );
            return;
        }
        let full = std::path::Path::new(&self.cwd).join(path);
        let full = full.to_string_lossy().into_owned();
        self.status = format!("attached {full}: it goes with the next message");
        self.attachments.push(full);
    }

    /// A message the daemon refused (or that never went) comes back: its text into the
    /// composer unless something new was typed there since, its images ahead of any attached
    /// since. Whether anything came back.
    fn restore(&mut self, draft: Draft) -> bool {
        let text = !draft.text.is_empty() && self.composer.trim().is_empty();
        if text {
            self.composer = draft.text;
        }
        let images = !draft.images.is_empty();
        self.attachments.splice(0..0, draft.images);
        text || images
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
