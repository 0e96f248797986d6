//! The readable report: progress on stderr (what the agent runs, exit codes, file changes with
//! a diffstat, the plan, retries; a spinner only on a terminal), and the final agent message
//! alone on stdout, so `agentd exec "…" > answer.md` works.

use std::io::{IsTerminal, Write};
use std::time::Instant;

use serde_json::Value;

use super::run::{Ending, Report};

/// Lines of a command's output shown under it.
const OUTPUT_LINES: usize = 12;

pub struct Human {
    /// stderr is a terminal: a spinner line may be drawn (and is cleared before other output).
    terminal: bool,
    spinner_shown: bool,
    started: Instant,
    frame: usize,
    /// An agent message is printed to stderr only once a later one shows it was not the last.
    pending_message: Option<String>,
}

impl Human {
    pub fn new() -> Self {
        Human {
            terminal: std::io::stderr().is_terminal(),
            spinner_shown: false,
            started: Instant::now(),
            frame: 0,
            pending_message: None,
        }
    }

    fn line(&mut self, text: &str) {
        let mut err = std::io::stderr().lock();
        if self.spinner_shown {
            let _ = write!(err, "\r\x1b[2K");
            self.spinner_shown = false;
        }
        let _ = writeln!(err, "{text}");
    }

    fn item_completed(&mut self, item: &Value) {
        match item["type"].as_str() {
            Some("agentMessage") => {
                if let Some(previous) = self.pending_message.take() {
                    self.line(&previous);
                }
                self.pending_message = item["text"].as_str().map(str::to_owned);
            }
            Some("commandExecution") => self.command_done(item),
            Some("fileChange") => self.file_change(item),
            Some("mcpToolCall") => {
                let status = item["status"].as_str().unwrap_or("");
                self.line(&format!(
                    "mcp {}.{} {status}",
                    item["server"].as_str().unwrap_or("?"),
                    item["tool"].as_str().unwrap_or("?")
                ));
            }
            _ => {}
        }
    }

    fn command_done(&mut self, item: &Value) {
        let status = item["status"].as_str().unwrap_or("");
        let exit = item["exitCode"]
            .as_i64()
            .map_or(String::new(), |c| format!("exit {c}"));
        let ms = item["durationMs"]
            .as_i64()
            .map_or(String::new(), |d| format!(" · {d} ms"));
        self.line(&format!("  {status} {exit}{ms}"));
        let output = item["aggregatedOutput"].as_str().unwrap_or("");
        let lines: Vec<&str> = output.lines().collect();
        let skip = lines.len().saturating_sub(OUTPUT_LINES);
        if skip > 0 {
            self.line(&format!("  │ … {skip} lines"));
        }
        for l in &lines[skip..] {
            self.line(&format!("  │ {l}"));
        }
    }

    fn file_change(&mut self, item: &Value) {
        let status = item["status"].as_str().unwrap_or("");
        for change in item["changes"].as_array().into_iter().flatten() {
            let diff = change["diff"].as_str().unwrap_or("");
            let added = count(diff, '+');
            let removed = count(diff, '-');
            let kind = match change["kind"]["type"].as_str() {
                Some("add") => "A",
                Some("delete") => "D",
                _ => "M",
            };
            let path = change["path"].as_str().unwrap_or("?");
            self.line(&format!("{kind} {path} (+{added} -{removed}) {status}"));
        }
    }

    fn plan(&mut self, params: &Value) {
        self.line("plan:");
        for step in params["plan"].as_array().into_iter().flatten() {
            let mark = match step["status"].as_str() {
                Some("completed") => "[x]",
                Some("inProgress") => "[>]",
                _ => "[ ]",
            };
            self.line(&format!("  {mark} {}", step["step"].as_str().unwrap_or("")));
        }
    }
}

/// Lines of a unified diff that start with `mark` (headers aside).
fn count(diff: &str, mark: char) -> usize {
    diff.lines()
        .filter(|l| l.starts_with(mark) && !l.starts_with("+++") && !l.starts_with("---"))
        .count()
}

impl Report for Human {
    fn thread_started(&mut self, thread_id: &str) {
        self.line(&format!("agentd exec · thread {thread_id}"));
    }

    fn event(&mut self, method: &str, params: &Value) {
        match method {
            "item/started" if params["item"]["type"] == "commandExecution" => {
                let command = params["item"]["command"].as_str().unwrap_or("").to_owned();
                self.line(&format!("$ {command}"));
            }
            "item/completed" => self.item_completed(&params["item"]),
            "turn/plan/updated" => self.plan(params),
            "error" if params["willRetry"] == true => {
                let message = params["error"]["message"].as_str().unwrap_or("").to_owned();
                self.line(&format!("retrying: {message}"));
            }
            _ => {}
        }
    }

    fn warning(&mut self, message: &str) {
        self.line(&format!("warning: {message}"));
    }

    fn ended(&mut self, ending: &Ending) {
        match ending {
            Ending::Completed { .. } => {
                if self.spinner_shown {
                    self.line("");
                }
                if let Some(text) = self.pending_message.take() {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{text}");
                    let _ = out.flush();
                }
            }
            Ending::Failed { message } => self.line(&format!("turn failed: {message}")),
            Ending::Interrupted => self.line("turn interrupted"),
        }
    }

    fn tick(&mut self) {
        if !self.terminal {
            return;
        }
        const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
        self.frame = (self.frame + 1) % FRAMES.len();
        let secs = self.started.elapsed().as_secs();
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{} working {secs}s", FRAMES[self.frame]);
        let _ = err.flush();
        self.spinner_shown = true;
    }
}
