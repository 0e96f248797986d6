//! Command-line interface. `main.rs` parses these and calls [`run`]; nothing else lives there.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::Limits;

#[derive(Debug, Parser)]
#[command(
    name = "agentd",
    version,
    about = "A headless coding-agent daemon speaking JSON-RPC over stdio or WebSocket"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the protocol (the default).
    Serve(ServeArgs),
    /// Run one turn from a script or CI job: the prompt in, the answer out (`codex exec`'s
    /// flags; `--json` for its event stream).
    Exec(Box<crate::exec::ExecArgs>),
    /// Send JSON-RPC lines from stdin to a daemon over WebSocket; print what comes back.
    Client(crate::client::cli::ClientArgs),
    /// Check the setup: config, data directory, sandbox, providers, instructions, token, port.
    Doctor(crate::doctor::DoctorArgs),
    /// Codex's entry point: `agentd serve` with `codex app-server`'s command line (`-c key=value`
    /// in Codex's keys; unknown keys are warnings), for tools that launch `codex app-server`.
    AppServer(AppServerArgs),
    /// Serve agentd as an Agent Client Protocol agent on stdio, for editors (Zed, JetBrains,
    /// Neovim): sessions are the daemon's threads.
    Acp(crate::acp::AcpArgs),
    /// Serve agentd as an MCP server on stdio (tools `agentd` and `agentd-reply`).
    McpServer(crate::mcp_server::McpServerArgs),
    /// Print the exec policy's decision for a command: `agentd execpolicy check -- CMD…`.
    Execpolicy(crate::tools::execpolicy::cli::ExecpolicyArgs),
    /// Internal: run a command confined (the daemon re-executes itself with this).
    #[command(hide = true)]
    SandboxExec(crate::sandbox::cli::SandboxExecArgs),
    /// Write the protocol's JSON Schema (one file per type, method unions, a bundle).
    GenerateJsonSchema(crate::schema_gen::JsonSchemaArgs),
    /// Manage WebSocket access tokens (`tokens.toml` beside the config file).
    Token(crate::auth::cli::TokenArgs),
    /// Write TypeScript bindings for the protocol.
    GenerateTs(crate::schema_gen::OutArgs),
}

/// `codex app-server`'s flags; those agentd has no use for are accepted and ignored.
#[derive(Debug, Clone, Args)]
pub struct AppServerArgs {
    /// A config override, Codex's way (`-c model="o3"`); repeatable.
    #[arg(short = 'c', long = "config", value_name = "KEY=VALUE")]
    pub config: Vec<String>,
    /// `stdio://` (the default) or `ws://HOST:PORT`.
    #[arg(long, default_value = "stdio://")]
    pub listen: String,
    /// Where the database lives (default: `$XDG_DATA_HOME/agentd`).
    #[arg(long, env = "AGENTD_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Apply `[profiles.NAME]` from the config file.
    #[arg(long, short = 'p', value_name = "NAME")]
    pub profile: Option<String>,
    /// Codex feature flags (ignored: agentd has no feature flags).
    #[arg(long, value_name = "FEATURE")]
    pub enable: Vec<String>,
    #[arg(long, value_name = "FEATURE")]
    pub disable: Vec<String>,
    /// Codex's `--stdio` (the default here).
    #[arg(long)]
    pub stdio: bool,
    /// Codex's `--strict-config`: an unknown `-c` key is an error instead of a warning.
    #[arg(long)]
    pub strict_config: bool,
    /// Codex's analytics switch (agentd sends none).
    #[arg(long)]
    pub analytics_default_enabled: bool,
}

impl AppServerArgs {
    /// The `serve` these flags mean; unknown `-c` keys are warned about on stderr (or, with
    /// `--strict-config`, refused).
    pub fn into_serve(self) -> anyhow::Result<ServeArgs> {
        let (known, unknown) = crate::config::sort_codex_overrides(&self.config)?;
        if !unknown.is_empty() {
            if self.strict_config {
                anyhow::bail!("unknown config keys: {}", unknown.join(", "));
            }
            eprintln!(
                "agentd app-server: warning: ignoring config keys agentd does not have: {}",
                unknown.join(", ")
            );
        }
        for flag in self.enable.iter().chain(&self.disable) {
            eprintln!("agentd app-server: warning: feature flag {flag:?} ignored");
        }
        Ok(ServeArgs {
            listen: self.listen,
            data_dir: self.data_dir,
            config_overrides: known,
            profile: self.profile,
            ..ServeArgs::default()
        })
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// `stdio://` (NDJSON on stdin/stdout) or `ws://HOST:PORT` (port 0 picks a free one).
    #[arg(long, default_value = "stdio://")]
    pub listen: String,
    /// Where the database lives (default: `$XDG_DATA_HOME/agentd`).
    #[arg(long, env = "AGENTD_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Largest accepted message in bytes.
    #[arg(long, default_value_t = Limits::default().max_frame_bytes)]
    pub max_frame_bytes: usize,
    /// Frames a connection's outbound queue holds before a slow subscriber must resync.
    #[arg(long, default_value_t = Limits::default().outbound_queue)]
    pub outbound_queue: usize,
    /// Requests a connection may have waiting before new ones are answered -32001.
    #[arg(long, default_value_t = Limits::default().request_queue)]
    pub request_queue: usize,
    /// WebSocket connections served at once; more are refused with HTTP 503.
    #[arg(long, default_value_t = Limits::default().max_connections)]
    pub max_connections: usize,
    /// Read this config file (it must exist) instead of `$XDG_CONFIG_HOME/agentd/config.toml`.
    #[arg(long = "config-file", value_name = "PATH")]
    pub config_file: Option<PathBuf>,
    /// Deprecated spelling of `--config-file` (kept for one release when it names a file).
    #[arg(long = "config", value_name = "PATH", hide = true)]
    pub config: Option<PathBuf>,
    /// Set a config key for this run, over the file and profile; repeatable, later wins. The
    /// value is read as TOML, else as a plain string: `-c model=o3`,
    /// `-c model_providers.ollama.base_url=http://gpu:11434/v1`.
    #[arg(short = 'c', long = "config-override", value_name = "KEY=VALUE")]
    pub config_overrides: Vec<String>,
    /// Apply `[profiles.NAME]` from the config file.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Accept WebSocket connections without a token (loopback addresses only).
    #[arg(long)]
    pub no_auth: bool,
    /// Keep threads in PostgreSQL, shared with other daemons:
    /// `postgres://USER[:PASSWORD]@HOST:PORT/DB` (the password may come from `PGPASSWORD`).
    /// Default: `store` in config.toml, else the SQLite file in the data directory.
    #[arg(long, env = "AGENTD_STORE", value_name = "URL")]
    pub store: Option<String>,
    /// Async worker threads (default 1: a streamed delta then never waits for a thread
    /// wake-up; `0`: one per core, for a daemon whose clients outgrow one core).
    #[arg(long, env = "AGENTD_WORKER_THREADS", value_name = "N",
          value_parser = crate::runtime::parse_workers)]
    pub worker_threads: Option<usize>,
}

impl Default for ServeArgs {
    fn default() -> Self {
        ServeArgs {
            listen: "stdio://".into(),
            data_dir: None,
            max_frame_bytes: Limits::default().max_frame_bytes,
            outbound_queue: Limits::default().outbound_queue,
            request_queue: Limits::default().request_queue,
            max_connections: Limits::default().max_connections,
            config_file: None,
            config: None,
            config_overrides: Vec::new(),
            profile: None,
            no_auth: false,
            store: None,
            worker_threads: None,
        }
    }
}

impl ServeArgs {
    /// The library's options for these flags.
    pub fn into_options(self) -> anyhow::Result<crate::server::ServeOptions> {
        let listen = self
            .listen
            .parse::<crate::server::Listen>()
            .map_err(anyhow::Error::msg)?;
        let config_file = match (self.config_file, self.config) {
            (Some(file), _) => Some(file),
            (None, Some(old)) => {
                eprintln!(
                    "agentd: warning: `--config FILE` is deprecated; use `--config-file {}`",
                    old.display()
                );
                Some(old)
            }
            (None, None) => None,
        };
        let mut config_overrides = self.config_overrides;
        if let Some(url) = self.store {
            // The flag is the config key `store`, set over the file (as `-c` would).
            config_overrides.push(format!("store={}", toml_string(&url)));
        }
        Ok(crate::server::ServeOptions {
            listen,
            data_dir: self.data_dir,
            limits: Limits {
                max_frame_bytes: self.max_frame_bytes,
                outbound_queue: self.outbound_queue,
                request_queue: self.request_queue,
                max_connections: self.max_connections,
            },
            config_file,
            config_overrides,
            profile: self.profile,
            no_auth: self.no_auth,
        })
    }
}

/// Runs the parsed command line; `exec` decides its own exit status.
pub fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    let done = std::process::ExitCode::SUCCESS;
    match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Exec(args) => Ok(crate::exec::main(*args)),
        Command::Doctor(args) => Ok(crate::doctor::main(args)),
        Command::McpServer(args) => Ok(crate::mcp_server::main(args)),
        Command::Acp(args) => Ok(crate::acp::main(args)),
        Command::AppServer(args) => serve(args.into_serve()?).map(|()| done),
        Command::Client(args) => crate::client::cli::main(args).map(|()| done),
        Command::Serve(args) => serve(args).map(|()| done),
        Command::Token(args) => crate::auth::cli::run(args).map(|()| done),
        Command::Execpolicy(args) => crate::tools::execpolicy::cli::run(args).map(|()| done),
        Command::SandboxExec(args) => crate::sandbox::cli::run(args).map(|()| done),
        Command::GenerateJsonSchema(args) => {
            crate::schema_gen::run_json_schema(&args).map(|()| done)
        }
        Command::GenerateTs(args) => crate::schema_gen::generate_ts(&args.out).map(|()| done),
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let runtime = crate::runtime::build(args.worker_threads)?;
    let result = args
        .into_options()
        .and_then(|opts| runtime.block_on(crate::server::serve(opts)));
    crate::runtime::shut_down(runtime);
    result
}

pub use crate::errors::describe as describe_error;

/// `text` as a TOML basic string (for a `-c key=value` built from a flag).
fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_already_in_the_message_is_said_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let config = crate::config::ConfigError::Read {
            path: PathBuf::from("/x.toml"),
            source: io,
        };
        let e = anyhow::Error::new(config).context("loading the configuration");
        assert_eq!(
            describe_error(&e),
            "loading the configuration: cannot read config file /x.toml: No such file"
        );
        let plain = anyhow::anyhow!("inner").context("outer");
        assert_eq!(describe_error(&plain), "outer: inner");
    }
}
