//! What the daemon sends: answers to the app's requests (each handled by what it was for),
//! its requests (approvals) and its notifications (folded into the open thread).

use agentd_protocol::jsonrpc::{ErrorObject, Message, Request, RequestId};
use agentd_protocol::methods::{
    CommandExecutionRequestApproval, FileChangeRequestApproval, Initialize,
    McpServerElicitationRequest, ThreadList, ThreadResume, ThreadSearch, ThreadStart,
    INITIALIZED_NOTIFICATION,
};
use agentd_protocol::{
    ClientMethod, CommandExecutionRequestApprovalParams, FileChangeRequestApprovalParams,
    McpServerElicitationRequestParams, McpServerStartupState, McpServerStatusUpdatedNotification,
    ServerRequestMethod, ServerRequestResolvedNotification, Thread, ThreadNameUpdatedNotification,
    ThreadResumeParams, ThreadStartedNotification, ThreadStatusChangedNotification,
};
use serde_json::{json, Value};

use super::{decode, mcp, App, Approval, ApprovalKind, Focus, Pending};
use crate::transcript::{self, Folded, Transcript};
use crate::tree;

impl App {
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
                let unsent = match purpose {
                    Pending::ThreadStart => self.queued_prompt.take(),
                    Pending::TurnStart { draft } | Pending::TurnSteer { draft } => Some(draft),
                    _ => None,
                };
                if unsent.is_some_and(|draft| self.restore(draft)) {
                    self.status
                        .push_str(": the message is back in the composer");
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
                // Sub-agents under their parents (the keys move through the list as drawn).
                self.threads = tree::tree_order(r.data);
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
                if let Some(draft) = self.queued_prompt.take() {
                    self.start_turn(draft);
                }
            }
            Pending::Resume { thread_id, rebuild } => {
                // The turns' items are read one by one (a kind the protocol crate does not know
                // must not make the thread unreadable).
                let mut result = result;
                let items = result
                    .get_mut("thread")
                    .map(transcript::take_turn_items)
                    .unwrap_or_default();
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
                    _ => self.open(Transcript::with_items(r.thread, items)),
                }
            }
            Pending::TurnStart { .. } => {
                // The turn shows up through `turn/started`, on every client alike.
            }
            Pending::TurnSteer { .. } => self.status = "steered the running turn".into(),
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

    /// Adds a thread to the list (newest first, a sub-agent under its parent) or refreshes its
    /// entry. The selection stays on the thread it was on.
    fn remember_thread(&mut self, thread: &Thread) {
        let mut entry = thread.clone();
        entry.turns.clear();
        match self.threads.iter_mut().find(|t| t.id == thread.id) {
            Some(t) => *t = entry,
            None => {
                let selected = self.threads.get(self.selected).map(|t| t.id.clone());
                self.threads.insert(0, entry);
                self.threads = tree::tree_order(std::mem::take(&mut self.threads));
                self.selected = selected
                    .and_then(|id| self.threads.iter().position(|t| t.id == id))
                    .unwrap_or(0);
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
                item_id: Some(p.item_id),
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
                        item_id: Some(p.item_id),
                        kind: ApprovalKind::FileChange { changes: p.changes },
                        reason: p.reason,
                    }
                })
            }
            McpServerElicitationRequest::METHOD => {
                decode::<McpServerElicitationRequestParams>(&request.method, params).map(|p| {
                    Approval {
                        request_id: request.id.clone(),
                        thread_id: p.thread_id.clone(),
                        item_id: mcp::tool_item_id(&p),
                        kind: mcp::approval_kind(p),
                        reason: None,
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
                // A re-sent request (after a resume: same id, or a new one about the same item)
                // replaces the one already shown, in its place.
                let same = |x: &Approval, a: &Approval| {
                    x.request_id == a.request_id
                        || (a.item_id.is_some()
                            && x.thread_id == a.thread_id
                            && x.item_id == a.item_id)
                };
                let at = self.approvals.iter().position(|x| same(x, &a));
                self.approvals.retain(|x| !same(x, &a));
                match at {
                    Some(at) => self.approvals.insert(at, a),
                    None => self.approvals.push(a),
                }
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
            // Sent to every connection, not a thread event: only a failure is worth a word.
            "mcpServer/startupStatus/updated" => {
                let n: McpServerStatusUpdatedNotification = decode(method, params)?;
                if n.status == McpServerStartupState::Failed {
                    self.status = format!(
                        "MCP server {} failed to start: {}",
                        n.name,
                        n.error.as_deref().unwrap_or("no reason given")
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
}
