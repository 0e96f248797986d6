//! What confinement the kernel allows, found out once at start.
//!
//! The daemon does not poke at namespaces itself (it is multi-threaded); it runs its own binary
//! as `agentd sandbox-exec --probe`, which sets a complete sandbox up around nothing — the same
//! code path every command takes — and prints one JSON line ([`ProbeReport`]). Whatever fails
//! there would fail for every command, so the daemon then refuses confined commands with the
//! reason instead of running them unconfined.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How long the probe may take before the sandbox counts as unavailable.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// The probe's findings, as `agentd sandbox-exec --probe` prints them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeReport {
    /// A user namespace could be created (and with it mount, PID and network namespaces).
    pub user_namespaces: bool,
    /// The kernel takes seccomp filters.
    pub seccomp: bool,
    /// Landlock ABI version, 0 when the kernel has none (the sandbox then relies on mounts).
    pub landlock_abi: i32,
    /// How the process limit is enforced beyond `RLIMIT_NPROC` (which does not bind uid 0):
    /// `pid_max` (per PID namespace), `rlimit` (a non-root daemon on an older kernel), `cgroup`
    /// (a root daemon on an older kernel), or `none`.
    pub process_limit: String,
    /// A complete sandbox was set up around a no-op.
    pub confinement: bool,
    /// Why not, when it was not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The sandbox level the daemon runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxLevel {
    pub report: ProbeReport,
    /// Set when confined commands must be refused, saying why.
    pub unavailable: Option<String>,
}

impl SandboxLevel {
    fn from_report(report: ProbeReport) -> SandboxLevel {
        let unavailable = if report.confinement {
            None
        } else {
            Some(
                report
                    .error
                    .clone()
                    .unwrap_or_else(|| "the sandbox could not be set up".to_owned()),
            )
        };
        SandboxLevel {
            report,
            unavailable,
        }
    }

    fn unavailable(reason: String) -> SandboxLevel {
        SandboxLevel {
            report: ProbeReport {
                error: Some(reason.clone()),
                ..ProbeReport::default()
            },
            unavailable: Some(reason),
        }
    }

    /// One line for the log: what commands will run under.
    pub fn describe(&self) -> String {
        let r = &self.report;
        match &self.unavailable {
            Some(reason) => format!("unavailable ({reason}): sandboxed commands will be refused"),
            None => format!(
                "namespaces (user, mount, pid, net) + seccomp + {} + capabilities dropped; \
                 process limit: {}",
                if r.landlock_abi > 0 {
                    format!("landlock ABI {}", r.landlock_abi)
                } else {
                    "no landlock".to_owned()
                },
                r.process_limit
            ),
        }
    }

    pub fn log(&self) {
        if self.unavailable.is_some() {
            tracing::warn!("sandbox: {}", self.describe());
        } else {
            tracing::info!("sandbox: {}", self.describe());
        }
    }
}

/// Runs `helper sandbox-exec --probe` and reads its report.
pub async fn run(helper: &Path) -> SandboxLevel {
    let mut cmd = tokio::process::Command::new(helper);
    cmd.args(["sandbox-exec", "--probe"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let out = match tokio::time::timeout(PROBE_TIMEOUT, cmd.output()).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => {
            return SandboxLevel::unavailable(format!(
                "cannot run {} sandbox-exec --probe: {e}",
                helper.display()
            ))
        }
        Err(_) => {
            return SandboxLevel::unavailable(format!(
                "the sandbox probe did not finish within {PROBE_TIMEOUT:?}"
            ))
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let parsed = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<ProbeReport>(l).ok());
    match parsed {
        Some(mut report) => {
            if !report.confinement {
                let detail = stderr.trim();
                if !detail.is_empty() {
                    let base = report.error.take().unwrap_or_default();
                    report.error = Some(format!("{base}: {detail}"));
                }
            }
            SandboxLevel::from_report(report)
        }
        None => SandboxLevel::unavailable(format!(
            "the sandbox probe failed ({}): {}",
            out.status,
            stderr.trim()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_round_trips_and_levels_say_why() {
        let r = ProbeReport {
            user_namespaces: false,
            seccomp: true,
            landlock_abi: 0,
            process_limit: "none".into(),
            confinement: false,
            error: Some("user namespaces are not permitted".into()),
        };
        let line = serde_json::to_string(&r).unwrap();
        assert!(line.contains("\"userNamespaces\":false"));
        let back: ProbeReport = serde_json::from_str(&line).unwrap();
        let level = SandboxLevel::from_report(back);
        assert_eq!(
            level.unavailable.as_deref(),
            Some("user namespaces are not permitted")
        );
        assert!(level.describe().starts_with("unavailable"));
        let ok = SandboxLevel::from_report(ProbeReport {
            user_namespaces: true,
            seccomp: true,
            landlock_abi: 6,
            process_limit: "rlimit".into(),
            confinement: true,
            error: None,
        });
        assert!(ok.unavailable.is_none());
        assert!(ok.describe().contains("landlock ABI 6"));
    }
}
