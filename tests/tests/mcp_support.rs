//! Helpers shared by the `mcp_*` tests: a daemon whose config names `mock-mcp` servers, with a
//! record file per server to read pids and cancellations from.

// Each test module uses a different subset of these helpers.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use agentd_tests::mcp::{mock_mcp_bin, pids_in_record, process_alive};
use agentd_tests::mock_llm::Scripted;
use agentd_tests::tools::ToolRig;
use agentd_tests::Options;
use serde_json::Value;

/// A daemon with MCP servers, a mock model, and a directory for the servers' record files.
pub struct McpRig {
    pub rig: ToolRig,
    pub records: tempfile::TempDir,
}

/// One `[mcp_servers.NAME]` table running `mock-mcp stdio --mode MODE --record RECORD`, plus
/// `extra` TOML lines (`required = true`, …).
pub fn stdio_server(name: &str, mode: &str, record: &std::path::Path, extra: &str) -> String {
    let bin = mock_mcp_bin().expect("mock-mcp builds");
    format!(
        "[mcp_servers.{name}]\ncommand = {:?}\nargs = [\"stdio\", \"--mode\", {mode:?}, \"--record\", {:?}]\n{extra}\n",
        bin.display().to_string(),
        record.display().to_string(),
    )
}

impl McpRig {
    /// Starts `mock-mcp` servers named in `servers` (`(name, mode, extra TOML)`), a mock model
    /// with `script`, and the daemon, with `opts` (its config file is written here).
    pub async fn start(
        servers: &[(&str, &str, &str)],
        script: Vec<Scripted>,
        opts: Options,
    ) -> McpRig {
        let records = tempfile::tempdir().expect("tempdir");
        let mut toml = String::new();
        for (name, mode, extra) in servers {
            let record = records.path().join(format!("{name}.record"));
            toml.push_str(&stdio_server(name, mode, &record, extra));
        }
        let rig = ToolRig::start(script, opts.config_toml(toml))
            .await
            .expect("daemon starts");
        McpRig { rig, records }
    }

    pub fn record(&self, name: &str) -> PathBuf {
        self.records.path().join(format!("{name}.record"))
    }

    /// The pids the server `name` started with (one per start).
    pub fn pids(&self, name: &str) -> Vec<i32> {
        pids_in_record(self.record(name))
    }
}

/// Waits up to `within` for every pid to stop running; returns those still alive.
pub async fn survivors(pids: &[i32], within: Duration) -> Vec<i32> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let alive: Vec<i32> = pids.iter().copied().filter(|p| process_alive(*p)).collect();
        if alive.is_empty() || tokio::time::Instant::now() >= deadline {
            return alive;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The tool names a recorded model request offered.
pub fn offered_tools(body: &Value) -> Vec<String> {
    body["tools"]
        .as_array()
        .map(|tools| {
            tools
                .iter()
                .filter_map(|t| t["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The offered tool with this name.
pub fn offered_tool<'a>(body: &'a Value, name: &str) -> Option<&'a Value> {
    body["tools"].as_array()?.iter().find(|t| t["name"] == name)
}

/// Whether `record` (a record file) has a line equal to `line`, waiting up to `within`.
pub async fn recorded(record: &std::path::Path, line: &str, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if agentd_tests::mcp::read_record(record)
            .iter()
            .any(|l| l == line)
        {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
