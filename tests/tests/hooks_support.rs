//! Helpers shared by the `hooks_*` tests.

// Each test module uses a different subset of these helpers.
#![allow(dead_code)]

use std::path::PathBuf;

use agentd_tests::mock_llm::Step;
use agentd_tests::tools::read;
use serde_json::{json, Value};

/// A directory hooks write what they saw into.
pub struct Spy {
    pub dir: tempfile::TempDir,
}

impl Spy {
    pub fn new() -> Spy {
        Spy {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Saves its stdin as `name`, then exits 0.
    pub fn record(&self, name: &str) -> String {
        format!("cat > '{}'", self.path(name).display())
    }

    /// Appends its stdin (one line) to `name`, then exits 0.
    pub fn append(&self, name: &str) -> String {
        format!("cat >> '{}'", self.path(name).display())
    }

    pub fn saw(&self, name: &str) -> Value {
        serde_json::from_str(&read(&self.path(name))).unwrap()
    }

    /// Every stdin appended to `name`.
    pub fn saw_all(&self, name: &str) -> Vec<Value> {
        std::fs::read_to_string(self.path(name))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

/// One `[[hooks.EVENT]]` entry with a shell-text command.
pub fn hook(event: &str, command: &str, extra: &str) -> String {
    format!("[[hooks.{event}]]\ncommand = '''{command}'''\ntimeout_ms = 5000\n{extra}\n")
}

/// A hook that prints `output` (JSON) on stdout and exits 0.
pub fn json_hook(event: &str, output: &Value, extra: &str) -> String {
    hook(event, &format!("cat > /dev/null; echo '{output}'"), extra)
}

/// A `shell` call running `argv`.
pub fn shell(call_id: &str, argv: &[&str]) -> Step {
    Step::function_call(call_id, "shell", &json!({ "command": argv }).to_string())
}

/// The texts of a Responses request's developer messages (hook context), in order.
pub fn developer_texts(body: &Value) -> Vec<String> {
    body["input"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter(|i| i["role"] == "developer")
                .filter_map(|i| i["content"][0]["text"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
