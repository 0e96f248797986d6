//! `cargo bench -p agentd-tui` (part of `make bench`): what the terminal client costs per event
//! and per frame, on a thread far longer than a screen. Prints its figures; asserts nothing.
//!
//! The client redraws once per batch of messages, so a frame's cost bounds how smoothly a fast
//! stream shows, and folding cost bounds how many deltas a second it can take.

use std::hint::black_box;
use std::time::{Duration, Instant};

use agentd_tui::app::App;
use agentd_tui::ui;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::{json, Value};

const WIDTH: u16 = 160;
const HEIGHT: u16 = 50;

fn thread(id: &str) -> Value {
    json!({
        "id": id, "sessionId": id, "preview": "bench", "name": null, "cwd": "/w",
        "modelProvider": "mock", "model": "m", "createdAt": 1, "updatedAt": 2,
        "ephemeral": false, "cliVersion": "0.1.0", "source": "appServer", "projectId": null,
        "forkedFromId": null, "archived": false, "status": {"type": "idle"},
        "lastSeq": 0, "turns": []
    })
}

/// An app connected to nobody, with thread `t1` open: the frames it sends are answered by hand.
fn open_app() -> App {
    let mut app = App::new("bench", "/w");
    app.on_connected();
    let init = app.take_outgoing();
    let id = serde_json::from_str::<Value>(&init[0]).map(|v| v["id"].clone());
    app.on_message(
        json!({"jsonrpc": "2.0", "id": id.unwrap_or(Value::Null), "result": {
        "userAgent": "agentd", "codexHome": "/h", "platformFamily": "unix", "platformOs": "linux",
        "serverInfo": {"name": "agentd", "version": "0"}, "protocolVersion": "1"}}),
    );
    app.take_outgoing();
    app.on_key(crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char('n'),
        crossterm::event::KeyModifiers::CONTROL,
    ));
    let start = app.take_outgoing();
    let id = serde_json::from_str::<Value>(&start[0]).map(|v| v["id"].clone());
    app.on_message(
        json!({"jsonrpc": "2.0", "id": id.unwrap_or(Value::Null), "result": {
        "thread": thread("t1"), "model": "m", "modelProvider": "mock", "cwd": "/w",
        "approvalPolicy": "never", "approvalsReviewer": "user",
        "sandbox": {"type": "dangerFullAccess"}, "reasoningEffort": null}}),
    );
    app
}

fn notify(app: &mut App, method: &str, params: Value) {
    app.on_message(json!({"jsonrpc": "2.0", "method": method, "params": params}));
}

/// `items` completed items, half agent messages of ~550 characters, half commands with 20
/// lines of output.
fn long_thread(items: usize) -> App {
    let mut app = open_app();
    let output: String = (0..20).map(|l| format!("output line {l}\n")).collect();
    for i in 0..items {
        let item = if i % 2 == 0 {
            json!({"type": "agentMessage", "id": format!("i{i}"),
                   "text": format!("answer {i}: {}", "lorem ipsum dolor sit amet ".repeat(20))})
        } else {
            json!({"type": "commandExecution", "id": format!("i{i}"), "command": "cargo test",
                   "cwd": "/w", "status": "completed", "commandActions": [],
                   "aggregatedOutput": output, "exitCode": 0, "durationMs": 12})
        };
        notify(
            &mut app,
            "item/completed",
            json!({"threadId": "t1", "turnId": "u1",
            "item": item, "completedAtMs": 1, "seq": i + 1}),
        );
    }
    app
}

fn per_frame(app: &App, frames: u32) -> Duration {
    let mut terminal = match Terminal::new(TestBackend::new(WIDTH, HEIGHT)) {
        Ok(t) => t,
        Err(e) => panic!("test terminal: {e}"),
    };
    let start = Instant::now();
    for _ in 0..frames {
        if let Err(e) = terminal.draw(|f| ui::draw(f, black_box(app))) {
            panic!("draw: {e}");
        }
    }
    start.elapsed() / frames
}

fn main() {
    println!("agentd-tui render benchmark ({WIDTH}x{HEIGHT} terminal, release build)");

    let deltas = 200_000;
    let mut app = open_app();
    notify(
        &mut app,
        "item/started",
        json!({"threadId": "t1", "turnId": "u1",
        "item": {"type": "agentMessage", "id": "m", "text": ""}, "startedAtMs": 1, "seq": 1}),
    );
    let params: Vec<Value> = (0..deltas)
        .map(|i| {
            json!({"jsonrpc": "2.0", "method": "item/agentMessage/delta", "params":
            {"threadId": "t1", "turnId": "u1", "itemId": "m", "delta": "token ", "seq": i + 2}})
        })
        .collect();
    let start = Instant::now();
    for p in params {
        app.on_message(p);
    }
    let took = start.elapsed();
    println!(
        "fold: {deltas} agent-message deltas in {:.1} ms = {:.0} deltas/s ({:.2} µs each)",
        took.as_secs_f64() * 1e3,
        deltas as f64 / took.as_secs_f64(),
        took.as_secs_f64() * 1e6 / deltas as f64
    );

    for items in [100, 1_000, 10_000] {
        let mut app = long_thread(items);
        let bottom = per_frame(&app, 50);
        app.scroll = 1_000;
        let scrolled = per_frame(&app, 50);
        println!(
            "frame, thread of {items:>6} items: {:>8.1} µs following the end, {:>8.1} µs scrolled back 1,000 lines",
            bottom.as_secs_f64() * 1e6,
            scrolled.as_secs_f64() * 1e6
        );
    }
}
