//! `agentd doctor`: checks the setup and says, one line each, what is fine and how to fix what
//! is not — config, data directory and database, the sandbox this kernel allows, the model
//! providers (a tiny request each), the instruction files for the cwd, the token file, the port.
//! Exit 0 when everything a turn needs is fine; `--json` for scripts.

mod checks;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Where the database lives (default: `$XDG_DATA_HOME/agentd`).
    #[arg(long, env = "AGENTD_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Read this config file instead of `$XDG_CONFIG_HOME/agentd/config.toml`.
    #[arg(long, value_name = "PATH")]
    pub config_file: Option<PathBuf>,
    /// Config overrides, as for `serve`.
    #[arg(short = 'c', long = "config-override", value_name = "KEY=VALUE")]
    pub config_overrides: Vec<String>,
    /// Apply `[profiles.NAME]`.
    #[arg(long)]
    pub profile: Option<String>,
    /// The address `make run` / `serve --listen` would use.
    #[arg(long, default_value = "ws://127.0.0.1:7777")]
    pub listen: String,
    /// Seconds a provider gets to answer.
    #[arg(long, default_value_t = 5)]
    pub timeout_secs: u64,
}

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    /// Not needed for a turn, but worth knowing.
    Warn,
    /// A turn cannot run until this is fixed.
    Fail,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub status: Status,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    fn ok(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Check::new(name, Status::Ok, detail, None)
    }

    fn new(
        name: impl Into<String>,
        status: Status,
        detail: impl Into<String>,
        fix: Option<String>,
    ) -> Self {
        Check {
            name: name.into(),
            status,
            detail: detail.into(),
            fix,
        }
    }
}

#[derive(Debug, Serialize)]
struct Report {
    ok: bool,
    checks: Vec<Check>,
}

pub fn main(args: DoctorArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("agentd doctor: {e}");
            return ExitCode::FAILURE;
        }
    };
    let checks = runtime.block_on(checks::all(&args));
    let ok = checks.iter().all(|c| c.status != Status::Fail);
    let report = Report { ok, checks };
    if args.json {
        println!("{}", serde_json::to_string(&report).unwrap_or_default());
    } else {
        for c in &report.checks {
            let mark = match c.status {
                Status::Ok => "✓",
                Status::Warn => "!",
                Status::Fail => "✗",
            };
            println!("{mark} {}: {}", c.name, c.detail);
            if let Some(fix) = &c.fix {
                for line in fix.lines() {
                    println!("    {line}");
                }
            }
        }
        println!(
            "{}",
            if ok {
                "everything a turn needs is in place"
            } else {
                "fix the ✗ lines above before the first turn"
            }
        );
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
