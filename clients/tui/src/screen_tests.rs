//! The client end to end without a daemon: recorded protocol messages and key presses go into the
//! app, and the frames it sends and the screen it draws (ratatui's `TestBackend`) are checked.
//! The real daemon and a real terminal are exercised by `tests/tests/tui_tmux.rs`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::{json, Value};

use crate::app::{App, Focus};
use crate::transcript::tests::thread_json;
use crate::ui;

fn sent(app: &mut App) -> Vec<Value> {
    app.take_outgoing()
        .iter()
        .map(|f| serde_json::from_str(f).expect("the app sends JSON"))
        .collect()
}

fn key(app: &mut App, code: KeyCode) {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn ctrl(app: &mut App, c: char) {
    app.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

fn screen(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal.draw(|f| ui::draw(f, app)).expect("draw");
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..height {
        for x in 0..width {
            out.push_str(buffer[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

/// The one request in `frames` for `method`.
fn the_request<'a>(frames: &'a [Value], method: &str) -> &'a Value {
    let found: Vec<&Value> = frames.iter().filter(|f| f["method"] == method).collect();
    assert_eq!(found.len(), 1, "one {method} in {frames:#?}");
    assert!(
        found[0]["id"].is_i64(),
        "{method} is a request: {}",
        found[0]
    );
    found[0]
}

fn reply(app: &mut App, request: &Value, result: Value) {
    app.on_message(json!({"jsonrpc": "2.0", "id": request["id"], "result": result}));
}

fn event(app: &mut App, method: &str, params: Value) {
    app.on_message(json!({"jsonrpc": "2.0", "method": method, "params": params}));
}

fn start_result(thread: Value) -> Value {
    json!({"thread": thread, "model": "m", "modelProvider": "mock", "cwd": "/w",
           "approvalPolicy": "untrusted", "approvalsReviewer": "user",
           "sandbox": {"type": "dangerFullAccess"}, "reasoningEffort": null})
}

fn initialize_result() -> Value {
    json!({"userAgent": "agentd/0.1.0", "codexHome": "/h", "platformFamily": "unix",
           "platformOs": "linux", "serverInfo": {"name": "agentd", "version": "0.1.0"},
           "protocolVersion": "1"})
}

/// Connects (again): answers `initialize` and returns what the app sent after it.
fn handshake(app: &mut App) -> Vec<Value> {
    app.on_connected();
    let frames = sent(app);
    let init = the_request(&frames, "initialize");
    assert_eq!(init["params"]["clientInfo"]["name"], "agentd-tui");
    reply(app, init, initialize_result());
    sent(app)
}

/// An app that has shaken hands and listed `threads`.
fn connected(threads: Vec<Value>) -> App {
    let mut app = App::new("ws://test", "/w");
    let frames = handshake(&mut app);
    assert_eq!(
        frames[0],
        json!({"jsonrpc": "2.0", "method": "initialized"})
    );
    let list = the_request(&frames, "thread/list");
    reply(&mut app, list, json!({"data": threads, "nextCursor": null}));
    assert!(app.status.contains("agentd 0.1.0"), "{}", app.status);
    app
}

/// A connected app with thread `t1` open (empty, idle, log at `last_seq`).
fn with_open_thread(last_seq: u64) -> App {
    let mut app = connected(vec![]);
    ctrl(&mut app, 'n');
    let frames = sent(&mut app);
    let start = the_request(&frames, "thread/start");
    assert_eq!(
        start["params"]["cwd"], "/w",
        "new threads get the client's cwd"
    );
    reply(&mut app, start, start_result(thread_json("t1", last_seq)));
    app
}

fn turn(id: &str, status: &str) -> Value {
    json!({"id": id, "status": status, "items": []})
}

fn command_item(status: &str, output: Option<&str>, exit: Option<i32>) -> Value {
    json!({"type": "commandExecution", "id": "c1", "command": "ls -a", "cwd": "/w",
           "status": status, "commandActions": [], "aggregatedOutput": output,
           "exitCode": exit, "durationMs": exit.map(|_| 7)})
}

#[test]
fn a_prompt_starts_a_thread_and_the_turn_streams_onto_the_screen() {
    let mut app = connected(vec![]);
    assert!(screen(&app, 100, 24).contains("No thread open."));
    type_text(&mut app, "list the files");
    key(&mut app, KeyCode::Enter);
    let frames = sent(&mut app);
    let start = the_request(&frames, "thread/start");
    reply(&mut app, start, start_result(thread_json("t1", 1)));
    let frames = sent(&mut app);
    let turn_start = the_request(&frames, "turn/start");
    assert_eq!(turn_start["params"]["threadId"], "t1");
    assert_eq!(
        turn_start["params"]["input"],
        json!([{"type": "text", "text": "list the files"}])
    );
    assert_eq!(app.composer, "", "the composer is cleared once sent");
    reply(
        &mut app,
        turn_start,
        json!({"turn": turn("u1", "inProgress")}),
    );

    let t = |extra: Value| {
        let mut p = json!({"threadId": "t1", "turnId": "u1"});
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            p[k] = v;
        }
        p
    };
    event(
        &mut app,
        "turn/started",
        json!({"threadId": "t1", "turn": turn("u1", "inProgress"), "seq": 2}),
    );
    let user = json!({"type": "userMessage", "id": "i1", "content": [{"type": "text", "text": "list the files"}]});
    event(
        &mut app,
        "item/started",
        t(json!({"item": user, "startedAtMs": 1, "seq": 3})),
    );
    event(
        &mut app,
        "item/started",
        t(json!({"item": command_item("inProgress", None, None), "startedAtMs": 1, "seq": 4})),
    );
    event(
        &mut app,
        "item/commandExecution/outputDelta",
        t(json!({"itemId": "c1", "delta": "a.txt\n\x1b[1mb.txt\x1b[0m\n", "seq": 5})),
    );
    let running = screen(&app, 100, 24);
    assert!(running.contains("$ ls -a"), "{running}");
    assert!(running.contains("b.txt"), "escapes stripped: {running}");
    assert!(running.contains("… running"), "{running}");
    assert!(running.contains("Steer the running turn"), "{running}");

    event(
        &mut app,
        "item/completed",
        t(
            json!({"item": command_item("completed", Some("a.txt\nb.txt\n"), Some(0)), "completedAtMs": 2, "seq": 6}),
        ),
    );
    let msg = json!({"type": "agentMessage", "id": "m1", "text": ""});
    event(
        &mut app,
        "item/started",
        t(json!({"item": msg, "startedAtMs": 3, "seq": 7})),
    );
    event(
        &mut app,
        "item/agentMessage/delta",
        t(json!({"itemId": "m1", "delta": "Two files: ", "seq": 8})),
    );
    event(
        &mut app,
        "item/agentMessage/delta",
        t(json!({"itemId": "m1", "delta": "a.txt and b.txt.", "seq": 9})),
    );
    event(
        &mut app,
        "turn/completed",
        json!({"threadId": "t1", "turn": turn("u1", "completed"), "seq": 10}),
    );

    let done = screen(&app, 100, 24);
    for expected in [
        "› list the files",
        "✓ exit 0 · 7 ms",
        "Two files: a.txt and b.txt.",
        "── turn completed ──",
        "Message (Enter sends)",
    ] {
        assert!(done.contains(expected), "{expected:?} missing:\n{done}");
    }
    assert!(!done.contains("… running"), "{done}");
    assert!(
        done.contains("list the files"),
        "the thread list previews the first message: {done}"
    );
}

fn command_approval(id: i64, thread: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "item/commandExecution/requestApproval",
           "params": {"threadId": thread, "turnId": "u1", "itemId": "c1", "startedAtMs": 1,
                      "command": "rm -rf build", "cwd": "/w", "reason": "it deletes files"}})
}

#[test]
fn an_approval_prompt_answers_the_request_it_came_with() {
    let mut app = with_open_thread(0);
    app.on_message(command_approval(41, "t1"));
    let shown = screen(&app, 100, 24);
    for expected in [
        "Approval needed",
        "$ rm -rf build",
        "in /w",
        "why: it deletes files",
        "[y] yes",
    ] {
        assert!(shown.contains(expected), "{expected:?} missing:\n{shown}");
    }
    type_text(&mut app, "x");
    assert_eq!(app.composer, "", "keys go to the prompt, not the composer");
    assert!(sent(&mut app).is_empty());
    key(&mut app, KeyCode::Char('y'));
    assert_eq!(
        sent(&mut app),
        [json!({"jsonrpc": "2.0", "id": 41, "result": {"decision": "accept"}})]
    );
    assert!(app.approvals.is_empty());
    assert!(!screen(&app, 100, 24).contains("Approval needed"));
}

#[test]
fn every_decision_has_its_key() {
    for (k, decision) in [
        ('y', "accept"),
        ('a', "acceptForSession"),
        ('n', "decline"),
        ('c', "cancel"),
    ] {
        let mut app = with_open_thread(0);
        app.on_message(command_approval(7, "t1"));
        key(&mut app, KeyCode::Char(k));
        assert_eq!(sent(&mut app)[0]["result"]["decision"], decision, "key {k}");
    }
}

#[test]
fn a_file_change_approval_shows_the_diff_and_queues_behind_the_first() {
    let mut app = with_open_thread(0);
    app.on_message(
        json!({"jsonrpc": "2.0", "id": "p-1", "method": "item/fileChange/requestApproval",
        "params": {"threadId": "t1", "turnId": "u1", "itemId": "f1", "startedAtMs": 1,
                   "changes": [{"path": "src/a.rs", "kind": {"type": "update", "move_path": null},
                                "diff": "@@ -1 +1 @@\n-old line\n+new line\n"}]}}),
    );
    app.on_message(command_approval(8, "t1"));
    let shown = screen(&app, 100, 24);
    for expected in [
        "Apply these changes?",
        "update src/a.rs",
        "-old line",
        "+new line",
        "1 more waiting",
    ] {
        assert!(shown.contains(expected), "{expected:?} missing:\n{shown}");
    }
    key(&mut app, KeyCode::Char('n'));
    assert_eq!(
        sent(&mut app),
        [json!({"jsonrpc": "2.0", "id": "p-1", "result": {"decision": "decline"}})]
    );
    assert!(
        screen(&app, 100, 24).contains("$ rm -rf build"),
        "the next one is shown"
    );
}

#[test]
fn an_approval_answered_by_another_client_disappears() {
    let mut app = with_open_thread(0);
    app.on_message(command_approval(9, "t1"));
    event(
        &mut app,
        "serverRequest/resolved",
        json!({"threadId": "t1", "requestId": 9,
        "decision": "decline", "resolvedBy": {"clientName": "web"}, "seq": 0}),
    );
    assert!(app.approvals.is_empty());
    assert!(
        app.status.contains("answered by web: decline"),
        "{}",
        app.status
    );
    key(&mut app, KeyCode::Char('y'));
    assert!(sent(&mut app).is_empty(), "nothing left to answer");
}

#[test]
fn enter_during_a_turn_steers_it_and_esc_interrupts_it() {
    let mut app = with_open_thread(0);
    event(
        &mut app,
        "turn/started",
        json!({"threadId": "t1", "turn": turn("u7", "inProgress"), "seq": 1}),
    );
    type_text(&mut app, "also check tests");
    key(&mut app, KeyCode::Enter);
    let frames = sent(&mut app);
    let steer = the_request(&frames, "turn/steer");
    assert_eq!(steer["params"]["expectedTurnId"], "u7");
    assert_eq!(steer["params"]["input"][0]["text"], "also check tests");
    key(&mut app, KeyCode::Esc);
    let frames = sent(&mut app);
    let interrupt = the_request(&frames, "turn/interrupt");
    assert_eq!(
        interrupt["params"],
        json!({"threadId": "t1", "turnId": "u7"})
    );
    ctrl(&mut app, 'c');
    assert!(!app.quit, "Ctrl-C interrupts while a turn runs");
    the_request(&sent(&mut app), "turn/interrupt");
    event(
        &mut app,
        "turn/completed",
        json!({"threadId": "t1", "turn": turn("u7", "interrupted"), "seq": 2}),
    );
    assert!(screen(&app, 100, 24).contains("── turn interrupted ──"));
    key(&mut app, KeyCode::Esc);
    assert!(sent(&mut app).is_empty(), "no turn to interrupt");
    ctrl(&mut app, 'c');
    assert!(app.quit, "Ctrl-C quits when idle");
}

#[test]
fn after_a_reconnect_the_open_thread_resumes_from_its_last_seq_without_duplicates() {
    let mut app = with_open_thread(0);
    let msg = json!({"type": "agentMessage", "id": "m1", "text": ""});
    event(
        &mut app,
        "item/started",
        json!({"threadId": "t1", "turnId": "u1", "item": msg, "startedAtMs": 1, "seq": 1}),
    );
    event(
        &mut app,
        "item/agentMessage/delta",
        json!({"threadId": "t1", "turnId": "u1", "itemId": "m1", "delta": "one ", "seq": 2}),
    );
    app.on_message(command_approval(3, "t1"));

    app.on_disconnected("connection lost");
    assert!(app.approvals.is_empty(), "re-sent by the daemon on resume");
    assert!(screen(&app, 100, 24).contains("disconnected: connection lost"));
    let frames = handshake(&mut app);
    let resume = the_request(&frames, "thread/resume");
    assert_eq!(
        resume["params"],
        json!({"threadId": "t1", "afterSeq": 2, "excludeTurns": true})
    );
    // agentd answers first and replays after; the replay may overlap what was already seen.
    reply(&mut app, resume, start_result(thread_json("t1", 4)));
    for (seq, delta) in [(2, "one "), (3, "two"), (4, " three")] {
        event(
            &mut app,
            "item/agentMessage/delta",
            json!({"threadId": "t1", "turnId": "u1", "itemId": "m1", "delta": delta, "seq": seq}),
        );
    }
    app.on_message(command_approval(3, "t1"));
    let shown = screen(&app, 100, 24);
    assert!(shown.contains("one two three"), "{shown}");
    assert!(!shown.contains("one one"), "{shown}");
    assert_eq!(app.approvals.len(), 1, "the re-sent approval is back, once");
}

#[test]
fn picking_a_thread_from_the_list_opens_it_with_its_history() {
    let mut first = thread_json("t1", 3);
    first["preview"] = json!("first thread");
    let mut second = thread_json("t2", 5);
    second["preview"] = json!("second thread");
    second["status"] = json!({"type": "active", "activeFlags": ["waitingOnApproval"]});
    let mut app = connected(vec![first.clone(), second.clone()]);
    let shown = screen(&app, 100, 24);
    assert!(
        shown.contains("Threads (2)") && shown.contains("? second thread"),
        "{shown}"
    );
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Focus::Threads);
    let frames = sent(&mut app);
    let list = the_request(&frames, "thread/list");
    reply(
        &mut app,
        list,
        json!({"data": [first, second.clone()], "nextCursor": null}),
    );
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Enter);
    let frames = sent(&mut app);
    let resume = the_request(&frames, "thread/resume");
    assert_eq!(resume["params"], json!({"threadId": "t2"}));
    second["turns"] = json!([{"id": "u1", "status": "completed", "items": [
        {"type": "userMessage", "id": "i1", "content": [{"type": "text", "text": "earlier question"}]},
        {"type": "agentMessage", "id": "m1", "text": "earlier answer"}]}]);
    reply(&mut app, resume, start_result(second));
    assert_eq!(app.focus, Focus::Composer);
    let shown = screen(&app, 100, 24);
    for expected in [
        "earlier question",
        "earlier answer",
        "second thread · waiting on approval",
    ] {
        assert!(shown.contains(expected), "{expected:?} missing:\n{shown}");
    }
    event(
        &mut app,
        "item/agentMessage/delta",
        json!({"threadId": "t1", "turnId": "u9", "itemId": "x", "delta": "NOT HERE", "seq": 9}),
    );
    assert!(
        !screen(&app, 100, 24).contains("NOT HERE"),
        "other threads' events stay out"
    );
}

#[test]
fn bad_server_requests_and_failed_requests_are_reported_not_fatal() {
    let mut app = with_open_thread(0);
    app.on_message(json!({"jsonrpc": "2.0", "id": 1, "method": "item/tool/call", "params": {}}));
    app.on_message(json!({"jsonrpc": "2.0", "id": 2, "method": "item/commandExecution/requestApproval", "params": {"threadId": "t1"}}));
    let frames = sent(&mut app);
    assert_eq!(frames[0]["error"]["code"], -32601);
    assert_eq!(frames[1]["error"]["code"], -32602);
    assert!(app.approvals.is_empty());

    type_text(&mut app, "go");
    key(&mut app, KeyCode::Enter);
    let frames = sent(&mut app);
    let start = the_request(&frames, "turn/start");
    app.on_message(json!({"jsonrpc": "2.0", "id": start["id"], "error": {"code": -32005, "message": "a turn is already running"}}));
    assert!(
        app.status
            .contains("starting the turn failed: a turn is already running (-32005)"),
        "{}",
        app.status
    );
    app.on_message(json!({"not": "json-rpc"}));
    assert!(app.status.contains("not JSON-RPC"), "{}", app.status);
    event(
        &mut app,
        "item/started",
        json!({"threadId": "t1", "seq": 1}),
    );
    assert!(
        app.status.contains("malformed item/started"),
        "{}",
        app.status
    );
    assert!(screen(&app, 100, 24).contains("malformed item/started"));
}

#[test]
fn long_transcripts_follow_the_end_and_scroll_back() {
    let mut app = with_open_thread(0);
    let text: String = (1..=60).map(|i| format!("line {i}\n")).collect();
    let msg = json!({"type": "agentMessage", "id": "m1", "text": text});
    event(
        &mut app,
        "item/completed",
        json!({"threadId": "t1", "turnId": "u1", "item": msg, "completedAtMs": 1, "seq": 1}),
    );
    let shown = screen(&app, 80, 20);
    assert!(
        shown.contains("line 60") && !shown.contains("line 1\n") && !shown.contains("line 10 "),
        "{shown}"
    );
    key(&mut app, KeyCode::PageUp);
    let back = screen(&app, 80, 20);
    assert!(!back.contains("line 60"), "{back}");
    key(&mut app, KeyCode::PageDown);
    assert!(screen(&app, 80, 20).contains("line 60"));
    for _ in 0..20 {
        key(&mut app, KeyCode::PageUp);
        screen(&app, 80, 20);
    }
    let top = screen(&app, 80, 20);
    assert!(top.contains("line 1 ") && top.contains("line 2 "), "{top}");
    key(&mut app, KeyCode::PageDown);
    assert!(
        !screen(&app, 80, 20).contains("line 1 "),
        "scrolling past the top does not pile up"
    );
}

#[test]
fn a_patch_shows_each_file_and_its_coloured_diff() {
    let mut app = with_open_thread(0);
    let item = json!({"type": "fileChange", "id": "f1", "status": "completed", "changes": [
        {"path": "notes.md", "kind": {"type": "add"}, "diff": "@@ -0,0 +1 @@\n+hello\n"},
        {"path": "old.rs", "kind": {"type": "update", "move_path": "new.rs"}, "diff": "@@ -1 +1 @@\n-a\n+b\n"}]});
    event(
        &mut app,
        "item/completed",
        json!({"threadId": "t1", "turnId": "u1", "item": item, "completedAtMs": 1, "seq": 1}),
    );
    let shown = screen(&app, 100, 24);
    for expected in [
        "✎ patch (applied)",
        "add notes.md",
        "+hello",
        "update old.rs → new.rs",
        "-a",
        "+b",
    ] {
        assert!(shown.contains(expected), "{expected:?} missing:\n{shown}");
    }
    let mut terminal = Terminal::new(TestBackend::new(100, 24)).expect("test terminal");
    terminal.draw(|f| ui::draw(f, &app)).expect("draw");
    let buffer = terminal.backend().buffer();
    let colour_of = |needle: &str| {
        (0..24u16)
            .find_map(|y| {
                let row: String = (0..100u16).map(|x| buffer[(x, y)].symbol()).collect();
                row.find(needle)
                    .map(|at| buffer[(row[..at].chars().count() as u16, y)].fg)
            })
            .unwrap_or_else(|| panic!("{needle} not on screen"))
    };
    assert_eq!(colour_of("+hello"), ratatui::style::Color::Green);
    assert_eq!(colour_of("-a"), ratatui::style::Color::Red);
}

#[test]
fn a_paste_is_one_message_with_its_newlines() {
    let mut app = with_open_thread(0);
    app.on_paste("fn main() {\r\n    run();\r\n}");
    assert!(sent(&mut app).is_empty(), "pasting sends nothing");
    assert!(screen(&app, 100, 24).contains("fn main() {⏎    run();⏎}"));
    key(&mut app, KeyCode::Enter);
    let frames = sent(&mut app);
    let start = the_request(&frames, "turn/start");
    assert_eq!(
        start["params"]["input"][0]["text"],
        "fn main() {\n    run();\n}"
    );
}

#[test]
fn a_thread_named_on_the_command_line_opens_after_the_handshake() {
    let mut app = App::new("ws://test", "/w");
    app.open_on_connect = Some("t9".into());
    let frames = handshake(&mut app);
    let resume = the_request(&frames, "thread/resume");
    assert_eq!(resume["params"], json!({"threadId": "t9"}));
    reply(&mut app, resume, start_result(thread_json("t9", 4)));
    assert_eq!(
        app.transcript.as_ref().map(|t| t.thread.id.as_str()),
        Some("t9")
    );
    app.on_disconnected("gone");
    let frames = handshake(&mut app);
    let resume = the_request(&frames, "thread/resume");
    assert_eq!(
        resume["params"]["afterSeq"], 4,
        "a reconnect catches up, it does not reopen"
    );
}

#[test]
fn slash_searches_the_threads_and_esc_lists_them_all_again() {
    let mut app = connected(vec![thread_json("t1", 0), thread_json("t2", 0)]);
    key(&mut app, KeyCode::Tab);
    sent(&mut app);
    type_text(&mut app, "/quasar");
    assert!(screen(&app, 100, 24).contains("Search: quasar"));
    assert!(sent(&mut app).is_empty(), "nothing is asked while typing");
    key(&mut app, KeyCode::Enter);
    let frames = sent(&mut app);
    let search = the_request(&frames, "thread/search");
    assert_eq!(search["params"]["query"], "quasar");
    let mut hit = thread_json("t2", 0);
    hit["preview"] = json!("the quasar thread");
    reply(
        &mut app,
        search,
        json!({"data": [{"thread": hit, "snippet": "the [quasar] thread"}], "nextCursor": null}),
    );
    let shown = screen(&app, 100, 24);
    assert!(
        shown.contains("“quasar” (1)") && shown.contains("the quasar thread"),
        "{shown}"
    );
    assert!(app.status.contains("1 thread matches"), "{}", app.status);
    key(&mut app, KeyCode::Char('r'));
    the_request(&sent(&mut app), "thread/search");
    key(&mut app, KeyCode::Esc);
    the_request(&sent(&mut app), "thread/list");
    assert!(screen(&app, 100, 24).contains("Threads ("));
}

fn mcp_item(status: &str, result: Value, error: Value, duration: Value) -> Value {
    json!({"type": "mcpToolCall", "id": "m1", "server": "mock", "tool": "echo",
           "status": status, "arguments": {"text": "hi"}, "result": result, "error": error,
           "durationMs": duration, "readOnlyHint": true})
}

#[test]
fn an_mcp_tool_call_shows_server_tool_arguments_result_and_status() {
    let mut app = with_open_thread(0);
    let started = mcp_item("inProgress", Value::Null, Value::Null, Value::Null);
    event(
        &mut app,
        "item/started",
        json!({"threadId": "t1", "turnId": "u1", "item": started, "startedAtMs": 1, "seq": 1}),
    );
    let shown = screen(&app, 100, 24);
    assert!(
        shown.contains(r#"⚒ mock.echo {"text":"hi"}"#),
        "header:\n{shown}"
    );
    assert!(shown.contains("… running"), "{shown}");
    let result = json!({"content": [{"type": "text", "text": "echo: hi\nsecond line"},
                                    {"type": "image", "data": "AAAA", "mimeType": "image/png"}],
                        "structuredContent": null});
    let done = mcp_item("completed", result, Value::Null, json!(12));
    event(
        &mut app,
        "item/completed",
        json!({"threadId": "t1", "turnId": "u1", "item": done, "completedAtMs": 2, "seq": 2}),
    );
    let shown = screen(&app, 100, 24);
    for expected in [
        "echo: hi",
        "second line",
        "[image image/png]",
        "✓ done · 12 ms",
    ] {
        assert!(shown.contains(expected), "{expected:?} missing:\n{shown}");
    }
    assert!(!shown.contains("… running"), "replaced by id:\n{shown}");
    assert_eq!(shown.matches("⚒ mock.echo").count(), 1, "{shown}");

    // A failed call says why; long arguments are cut on the header line.
    let mut failed = mcp_item(
        "failed",
        Value::Null,
        json!({"message": "the user declined this call"}),
        json!(3),
    );
    failed["id"] = json!("m2");
    failed["arguments"] = json!({"text": "x".repeat(500)});
    event(
        &mut app,
        "item/completed",
        json!({"threadId": "t1", "turnId": "u1", "item": failed, "completedAtMs": 3, "seq": 3}),
    );
    let shown = screen(&app, 200, 30);
    assert!(
        shown.contains("✗ failed: the user declined this call · 3 ms"),
        "{shown}"
    );
    assert!(shown.contains("xxx…"), "arguments shortened:\n{shown}");
    assert!(!shown.contains(&"x".repeat(200)), "{shown}");
}

fn mcp_tool_approval(id: i64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "mcpServer/elicitation/request",
           "params": {"threadId": "t1", "turnId": "u1", "serverName": "mock", "mode": "form",
                      "message": "Allow the mock MCP server to run tool \"write\"?",
                      "requestedSchema": {"type": "object", "properties": {
                          "remember": {"type": "boolean", "title": "Don't ask again", "default": false}}},
                      "_meta": {"agentd/toolApproval": {"server": "mock", "tool": "write",
                          "arguments": {"path": "/w/a.txt", "text": "hello"}, "itemId": "m9"}}}})
}

#[test]
fn an_mcp_tool_approval_uses_the_command_keys() {
    let mut app = with_open_thread(0);
    app.on_message(mcp_tool_approval(51));
    let shown = screen(&app, 100, 24);
    for expected in [
        "Approval needed",
        "Run this MCP tool?",
        "mock.write",
        r#""path": "/w/a.txt""#,
        r#""text": "hello""#,
        "[a] yes, for this session",
        "a for session",
    ] {
        assert!(shown.contains(expected), "{expected:?} missing:\n{shown}");
    }
    for (k, result) in [
        ('y', json!({"action": "accept"})),
        (
            'a',
            json!({"action": "accept", "content": {"remember": true}}),
        ),
        ('n', json!({"action": "decline"})),
        ('c', json!({"action": "cancel"})),
    ] {
        let mut app = with_open_thread(0);
        app.on_message(mcp_tool_approval(52));
        key(&mut app, KeyCode::Char(k));
        assert_eq!(
            sent(&mut app),
            [json!({"jsonrpc": "2.0", "id": 52, "result": result})],
            "key {k}"
        );
        assert!(app.approvals.is_empty());
    }
    // Answered elsewhere: it goes away like a command approval.
    let mut app = with_open_thread(0);
    app.on_message(mcp_tool_approval(53));
    event(
        &mut app,
        "serverRequest/resolved",
        json!({"threadId": "t1", "requestId": 53, "decision": "acceptForSession",
               "resolvedBy": {"clientName": "web"}, "seq": 0}),
    );
    assert!(app.approvals.is_empty());
    assert!(
        app.status.contains("answered by web: acceptForSession"),
        "{}",
        app.status
    );
}

fn mcp_form(id: i64, properties: Value, required: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "mcpServer/elicitation/request",
           "params": {"threadId": "t1", "turnId": "u1", "serverName": "mock", "mode": "form",
                      "message": "What is your name?",
                      "requestedSchema": {"type": "object", "properties": properties,
                                          "required": required}}})
}

#[test]
fn an_mcp_servers_form_is_filled_in_and_sent() {
    let mut app = with_open_thread(0);
    app.on_message(mcp_form(
        61,
        json!({"name": {"type": "string"}}),
        json!(["name"]),
    ));
    let shown = screen(&app, 100, 24);
    for expected in [
        "Question from mock",
        "mock asks:",
        "What is your name?",
        "› name*: ▏",
        "[Enter] send",
        "Esc decline",
    ] {
        assert!(shown.contains(expected), "{expected:?} missing:\n{shown}");
    }
    // Empty: not sent, the form says why.
    key(&mut app, KeyCode::Enter);
    assert!(sent(&mut app).is_empty());
    assert!(
        screen(&app, 100, 24).contains("name is required"),
        "{}",
        screen(&app, 100, 24)
    );
    // Every letter types, even the approval keys; paste goes in on one line.
    type_text(&mut app, "Ada y");
    key(&mut app, KeyCode::Backspace);
    key(&mut app, KeyCode::Backspace);
    app.on_paste(" L.\n");
    assert!(
        screen(&app, 100, 24).contains("› name*: Ada L. ▏"),
        "{}",
        screen(&app, 100, 24)
    );
    assert_eq!(app.composer, "");
    key(&mut app, KeyCode::Enter);
    assert_eq!(
        sent(&mut app),
        [json!({"jsonrpc": "2.0", "id": 61,
                "result": {"action": "accept", "content": {"name": "Ada L."}}})]
    );
    assert!(app.approvals.is_empty());

    // Esc declines, Ctrl-X cancels the turn.
    for (press, action) in [
        (KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE), "decline"),
        (
            KeyEvent::new(KeyCode::Char('x'), KeyModifiers::CONTROL),
            "cancel",
        ),
    ] {
        let mut app = with_open_thread(0);
        app.on_message(mcp_form(
            62,
            json!({"name": {"type": "string"}}),
            json!(["name"]),
        ));
        app.on_key(press);
        assert_eq!(
            sent(&mut app),
            [json!({"jsonrpc": "2.0", "id": 62, "result": {"action": action}})]
        );
        assert!(!app.quit);
    }
}

#[test]
fn a_form_of_several_kinds_of_field_converts_what_was_typed() {
    let mut app = with_open_thread(0);
    // Properties come in name order: age, colour, news, nested.
    app.on_message(mcp_form(
        63,
        json!({
            "age": {"type": "integer", "title": "Age", "description": "in years"},
            "colour": {"type": "string", "enum": ["red", "green"]},
            "news": {"type": "boolean", "title": "Newsletter", "default": false},
            "nested": {"type": "object"}
        }),
        json!(["age", "colour"]),
    ));
    let shown = screen(&app, 100, 24);
    for expected in [
        "› Age*: ▏",
        "in years",
        "colour*: ‹ red ›",
        "[ ] Newsletter",
        "cannot fill in here: nested",
    ] {
        assert!(shown.contains(expected), "{expected:?} missing:\n{shown}");
    }
    type_text(&mut app, "4x");
    key(&mut app, KeyCode::Enter);
    assert!(sent(&mut app).is_empty());
    assert!(screen(&app, 100, 24).contains("Age must be a whole number"));
    key(&mut app, KeyCode::Backspace);
    type_text(&mut app, "2");
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Right);
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Char(' '));
    let shown = screen(&app, 100, 24);
    assert!(shown.contains("colour*: ‹ green ›"), "{shown}");
    assert!(shown.contains("› [x] Newsletter"), "{shown}");
    key(&mut app, KeyCode::Enter);
    assert_eq!(
        sent(&mut app)[0]["result"],
        json!({"action": "accept", "content": {"age": 42, "colour": "green", "news": true}})
    );
}

#[test]
fn a_url_question_and_a_failed_mcp_server_are_shown() {
    let mut app = with_open_thread(0);
    app.on_message(
        json!({"jsonrpc": "2.0", "id": 71, "method": "mcpServer/elicitation/request",
               "params": {"threadId": "t1", "turnId": null, "serverName": "auth", "mode": "url",
                          "message": "Sign in to continue", "url": "https://example.test/login",
                          "elicitationId": "e1"}}),
    );
    let shown = screen(&app, 100, 24);
    for expected in [
        "Question from auth",
        "Sign in to continue",
        "https://example.test/login",
        "[y] I opened it",
    ] {
        assert!(shown.contains(expected), "{expected:?} missing:\n{shown}");
    }
    key(&mut app, KeyCode::Char('a'));
    assert!(sent(&mut app).is_empty(), "no session-wide answer to a URL");
    key(&mut app, KeyCode::Char('y'));
    assert_eq!(sent(&mut app)[0]["result"], json!({"action": "accept"}));

    event(
        &mut app,
        "mcpServer/startupStatus/updated",
        json!({"name": "broken", "status": "failed", "error": "exited with 1", "threadId": null, "seq": 0}),
    );
    assert_eq!(
        app.status,
        "MCP server broken failed to start: exited with 1"
    );
    event(
        &mut app,
        "mcpServer/startupStatus/updated",
        json!({"name": "mine", "status": "ready", "error": null, "threadId": "t1", "seq": 0}),
    );
    assert_eq!(
        app.status, "MCP server broken failed to start: exited with 1",
        "a ready server is not news"
    );
}

/// A sub-agent `child` of `parent` as the daemon sends it (`source.subAgent.thread_spawn`).
fn subagent(child: &str, parent: &str, nickname: &str, preview: &str) -> Value {
    let mut t = crate::tree::tests::child_json(child, parent, nickname, 5);
    t["preview"] = json!(preview);
    t
}

fn collab_item(tool: &str, status: &str, receivers: Value, states: Value, prompt: Value) -> Value {
    json!({"type": "collabAgentToolCall", "id": format!("call-{tool}"), "tool": tool,
           "status": status, "senderThreadId": "t1", "receiverThreadIds": receivers,
           "prompt": prompt, "model": null, "agentsStates": states})
}

#[test]
fn sub_agents_are_listed_under_their_parent_with_nickname_and_state() {
    let mut parent = thread_json("p1", 9);
    parent["preview"] = json!("the parent task");
    let mut ada = subagent("c1", "p1", "ada", "CHILD-A: look");
    ada["status"] = json!({"type": "active", "activeFlags": []});
    let babbage = subagent("c2", "p1", "babbage", "CHILD-B: fix");
    let mut other = thread_json("o1", 1);
    other["preview"] = json!("another thread");
    // The daemon lists newest first: children before their parent.
    let app = connected(vec![babbage, ada, other, parent]);
    let ids: Vec<&str> = app.threads.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(
        ids,
        ["o1", "p1", "c1", "c2"],
        "tree order: a parent, then its children oldest first"
    );
    let shown = screen(&app, 110, 16);
    let rows: Vec<&str> = shown.lines().filter(|l| l.contains('│')).collect();
    let row = |needle: &str| {
        rows.iter()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle:?} missing:\n{shown}"))
            .to_string()
    };
    assert!(
        row("the parent task").contains("│  the parent task"),
        "{shown}"
    );
    assert!(row("ada").contains("● ↳ ada running · CHILD-A"), "{shown}");
    assert!(
        row("babbage").contains("  ↳ babbage idle · CHILD-B"),
        "{shown}"
    );
    let at = |needle: &str| rows.iter().position(|l| l.contains(needle)).unwrap();
    assert!(at("the parent task") < at("ada") && at("ada") < at("babbage"));
}

#[test]
fn a_child_spawned_while_its_parent_is_open_is_listed_and_its_approval_answered_from_the_parent() {
    let mut app = with_open_thread(3);
    let child = subagent("c1", "t1", "ada", "CHILD-A: make a file");
    event(
        &mut app,
        "thread/started",
        json!({"thread": child, "seq": 1}),
    );
    event(
        &mut app,
        "turn/started",
        json!({"threadId": "c1", "turn": turn("cu1", "inProgress"), "seq": 2}),
    );
    let msg = json!({"type": "agentMessage", "id": "cm1", "text": "CHILD TEXT"});
    event(
        &mut app,
        "item/completed",
        json!({"threadId": "c1", "turnId": "cu1", "item": msg, "completedAtMs": 1, "seq": 3}),
    );
    event(
        &mut app,
        "thread/status/changed",
        json!({"threadId": "c1", "status": {"type": "active", "activeFlags": ["waitingOnApproval"]}, "seq": 4}),
    );
    assert_eq!(app.threads[0].id, "t1", "the parent first");
    assert_eq!(app.threads[1].id, "c1", "the child under it");
    assert_eq!(
        app.transcript.as_ref().map(|t| t.thread.id.as_str()),
        Some("t1")
    );
    app.on_message(command_approval(70, "c1"));
    let shown = screen(&app, 110, 24);
    assert!(
        !shown.contains("CHILD TEXT"),
        "the child's items stay out of the parent's transcript:\n{shown}"
    );
    for expected in [
        "? ↳ ada asks · CHILD-A",
        "In sub-agent ada: CHILD-A: make a file",
        "$ rm -rf build",
    ] {
        assert!(shown.contains(expected), "{expected:?} missing:\n{shown}");
    }
    key(&mut app, KeyCode::Char('y'));
    assert_eq!(
        sent(&mut app),
        [json!({"jsonrpc": "2.0", "id": 70, "result": {"decision": "accept"}})]
    );
}

#[test]
fn enter_on_a_child_opens_it_and_its_reasked_approval_replaces_the_one_shown() {
    let mut parent = thread_json("p1", 9);
    parent["preview"] = json!("the parent task");
    let child = subagent("c1", "p1", "ada", "CHILD-A: make a file");
    let mut app = connected(vec![child.clone(), parent.clone()]);
    key(&mut app, KeyCode::Tab);
    let frames = sent(&mut app);
    let list = the_request(&frames, "thread/list");
    reply(
        &mut app,
        list,
        json!({"data": [child.clone(), parent], "nextCursor": null}),
    );
    assert_eq!(app.focus, Focus::Threads);
    assert_eq!(app.selected, 0, "on the parent");
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Enter);
    let frames = sent(&mut app);
    let resume = the_request(&frames, "thread/resume");
    assert_eq!(resume["params"], json!({"threadId": "c1"}));
    let mut opened = child;
    opened["turns"] = json!([{"id": "cu1", "status": "inProgress", "items": [
        {"type": "userMessage", "id": "i1", "content": [{"type": "text", "text": "CHILD-A: make a file"}]}]}]);
    // The child's question, sent through its parent's subscription, arrives meanwhile.
    app.on_message(command_approval(11, "c1"));
    reply(&mut app, resume, start_result(opened));
    // Asked again on the resume, under a new id: one prompt, the new one.
    app.on_message(command_approval(12, "c1"));
    assert_eq!(app.approvals.len(), 1, "{:?}", app.approvals);
    let shown = screen(&app, 110, 24);
    assert!(
        shown.contains("ada: CHILD-A: make a file · sub-agent of the parent task"),
        "{shown}"
    );
    assert!(!shown.contains("1 more waiting"), "{shown}");
    key(&mut app, KeyCode::Char('n'));
    assert_eq!(
        sent(&mut app),
        [json!({"jsonrpc": "2.0", "id": 12, "result": {"decision": "decline"}})]
    );
}

#[test]
fn sub_agent_calls_show_the_tool_the_agents_by_nickname_and_their_states() {
    let mut app = with_open_thread(0);
    for (seq, child, nick) in [(1, "c-ada-0001", "ada"), (2, "c-bab-0002", "babbage")] {
        event(
            &mut app,
            "thread/started",
            json!({"thread": subagent(child, "t1", nick, "task"), "seq": seq}),
        );
    }
    let spawn = collab_item(
        "spawnAgent",
        "completed",
        json!(["c-ada-0001"]),
        json!({"c-ada-0001": {"status": "running", "message": null}}),
        json!("CHILD-A: count\nthe files"),
    );
    let wait = collab_item(
        "wait",
        "completed",
        json!(["c-ada-0001", "c-bab-0002", "c-unknown-99999999"]),
        json!({"c-ada-0001": {"status": "completed", "message": "42\nfiles"},
               "c-bab-0002": {"status": "errored", "message": null}}),
        json!(null),
    );
    let failed = collab_item("closeAgent", "failed", json!([]), json!({}), json!(null));
    for (seq, item) in [(3, spawn), (4, wait), (5, failed)] {
        event(
            &mut app,
            "item/completed",
            json!({"threadId": "t1", "turnId": "u1", "item": item, "completedAtMs": 1, "seq": seq}),
        );
    }
    let shown = screen(&app, 120, 30);
    for expected in [
        "⇉ spawn → ada",
        "“CHILD-A: count the files”",
        "ada: running",
        "⇉ wait for → ada, babbage, 99999999",
        "ada: completed — 42 files",
        "babbage: errored",
        "⇉ close ✗ failed",
    ] {
        assert!(shown.contains(expected), "{expected:?} missing:\n{shown}");
    }
    assert!(!shown.contains("agent tool call"), "{shown}");
}

#[test]
fn slash_image_attaches_files_that_the_next_message_sends_and_the_transcript_shows() {
    let mut app = with_open_thread(0);
    type_text(&mut app, "/image shots/screen.png");
    key(&mut app, KeyCode::Enter);
    type_text(&mut app, "/image \"/tmp/b c.png\"");
    key(&mut app, KeyCode::Enter);
    assert!(sent(&mut app).is_empty(), "attaching sends nothing");
    assert_eq!(app.composer, "");
    assert_eq!(app.attachments, ["/w/shots/screen.png", "/tmp/b c.png"]);
    assert!(
        app.status.contains("attached /tmp/b c.png"),
        "{}",
        app.status
    );
    let shown = screen(&app, 100, 24);
    assert!(
        shown.contains("⧉ 2 images: screen.png, b c.png · Backspace removes"),
        "{shown}"
    );
    // Backspace in the empty composer takes the last one back; `/image` alone says how.
    key(&mut app, KeyCode::Backspace);
    assert_eq!(app.attachments, ["/w/shots/screen.png"]);
    type_text(&mut app, "/image");
    key(&mut app, KeyCode::Enter);
    assert!(
        app.status.contains("/image PATH attaches"),
        "{}",
        app.status
    );
    assert_eq!(app.attachments.len(), 1);
    // `/images` is no command: it would be sent as text (not typed here).
    type_text(&mut app, "/image /tmp/c.jpg");
    key(&mut app, KeyCode::Enter);

    type_text(&mut app, "what is wrong here?");
    key(&mut app, KeyCode::Enter);
    let frames = sent(&mut app);
    let start = the_request(&frames, "turn/start");
    assert_eq!(
        start["params"]["input"],
        json!([{"type": "text", "text": "what is wrong here?"},
               {"type": "localImage", "path": "/w/shots/screen.png"},
               {"type": "localImage", "path": "/tmp/c.jpg"}])
    );
    assert!(app.attachments.is_empty(), "sent with the message");
    assert!(!screen(&app, 100, 24).contains("⧉"));
    // The daemon refuses it (an unreadable image): the message comes back whole.
    app.on_message(
        json!({"jsonrpc": "2.0", "id": start["id"], "error": {"code": -32602,
        "message": "input[2]: /tmp/c.jpg: no such file"}}),
    );
    assert_eq!(app.composer, "what is wrong here?");
    assert_eq!(app.attachments, ["/w/shots/screen.png", "/tmp/c.jpg"]);
    assert!(
        app.status.contains("input[2]") && app.status.contains("back in the composer"),
        "{}",
        app.status
    );

    // Images alone are a message too.
    app.composer.clear();
    key(&mut app, KeyCode::Backspace);
    key(&mut app, KeyCode::Enter);
    let frames = sent(&mut app);
    let start = the_request(&frames, "turn/start");
    assert_eq!(
        start["params"]["input"],
        json!([{"type": "localImage", "path": "/w/shots/screen.png"}])
    );
    reply(&mut app, start, json!({"turn": turn("u1", "inProgress")}));

    // The transcript shows each image: a path as it is, a data: URL by type and size.
    let png = format!("data:image/png;base64,{}", "A".repeat(4096));
    let user = json!({"type": "userMessage", "id": "i1", "content": [
        {"type": "text", "text": "what is wrong here?"},
        {"type": "localImage", "path": "/w/shots/screen.png"},
        {"type": "image", "url": png}]});
    event(
        &mut app,
        "item/completed",
        json!({"threadId": "t1", "turnId": "u1", "item": user, "completedAtMs": 1, "seq": 1}),
    );
    let shown = screen(&app, 100, 24);
    for expected in [
        "› what is wrong here?",
        "› [image /w/shots/screen.png]",
        "› [image image/png, 3 KB]",
    ] {
        assert!(shown.contains(expected), "{expected:?} missing:\n{shown}");
    }
    assert!(!shown.contains("AAAA"), "no base64 on screen:\n{shown}");
}

#[test]
fn web_searches_show_what_they_did_and_unknown_items_do_not_break_a_thread() {
    let mut app = with_open_thread(0);
    let search = |seq: u64, method: &str, item: Value| {
        json!({"threadId": "t1", "turnId": "u1", "item": item, "startedAtMs": 1,
               "completedAtMs": 2, "seq": seq, "method": method})
    };
    event(
        &mut app,
        "item/started",
        search(1, "", json!({"type": "webSearch", "id": "w1", "query": ""})),
    );
    assert!(
        screen(&app, 100, 24).contains("⌕ searching the web…"),
        "{}",
        app.status
    );
    let items = [
        json!({"type": "webSearch", "id": "w1", "query": "ratatui list",
               "action": {"type": "search", "query": "ratatui list",
                          "queries": ["ratatui list", "ratatui   block\ntitle"]}}),
        json!({"type": "webSearch", "id": "w2", "query": "",
               "action": {"type": "openPage", "url": "https://docs.rs/ratatui"}}),
        json!({"type": "webSearch", "id": "w3", "query": "",
               "action": {"type": "findInPage", "url": "https://docs.rs/ratatui", "pattern": "title_bottom"}}),
        json!({"type": "webSearch", "id": "w4", "query": "older codex", "action": null}),
        json!({"type": "imageGeneration", "id": "g1", "status": "completed"}),
    ];
    for (seq, item) in (2..).zip(items) {
        event(&mut app, "item/completed", search(seq, "", item));
    }
    let shown = screen(&app, 110, 24);
    assert!(!app.status.contains("malformed"), "{}", app.status);
    for expected in [
        "⌕ searched the web for “ratatui list”, “ratatui block title”",
        "⌕ opened https://docs.rs/ratatui",
        "⌕ looked for “title_bottom” in https://docs.rs/ratatui",
        "⌕ searched the web for “older codex”",
        "[imageGeneration item]",
    ] {
        assert!(shown.contains(expected), "{expected:?} missing:\n{shown}");
    }
    assert!(
        !shown.contains("searching the web"),
        "the completed search replaced the started one:\n{shown}"
    );

    // A thread holding such items opens whole (its turns' items are read one by one).
    let mut listed = thread_json("t2", 4);
    listed["preview"] = json!("searchy");
    let mut other = listed.clone();
    other["turns"] = json!([{"id": "u9", "status": "completed", "items": [
        {"type": "userMessage", "id": "i1", "content": [{"type": "text", "text": "look it up"}]},
        {"type": "webSearch", "id": "w9", "query": "agentd replay"},
        {"type": "someFutureKind", "id": "f1"},
        {"type": "agentMessage", "id": "m9"}]}]);
    let mut app = connected(vec![listed.clone()]);
    key(&mut app, KeyCode::Tab);
    let frames = sent(&mut app);
    reply(
        &mut app,
        the_request(&frames, "thread/list"),
        json!({"data": [listed], "nextCursor": null}),
    );
    key(&mut app, KeyCode::Enter);
    let frames = sent(&mut app);
    reply(
        &mut app,
        the_request(&frames, "thread/resume"),
        start_result(other),
    );
    let shown = screen(&app, 110, 24);
    assert_eq!(
        app.transcript.as_ref().map(|t| t.thread.id.as_str()),
        Some("t2"),
        "{}",
        app.status
    );
    for expected in [
        "› look it up",
        "⌕ searched the web for “agentd replay”",
        "[someFutureKind item]",
        "agentd sent a malformed item",
        "── turn completed ──",
    ] {
        assert!(shown.contains(expected), "{expected:?} missing:\n{shown}");
    }
}
