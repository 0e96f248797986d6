//! Confinement for commands the model runs (Linux: namespaces, seccomp, Landlock).
//!
//! Two halves live here:
//!
//! * **The daemon's half** ([`Sandbox`], [`SandboxPlan`]): at start it probes what the kernel
//!   allows ([`probe`]) and logs the level it will use; per command it turns the thread's
//!   [`SandboxPolicy`], the command's cwd and the `[sandbox_workspace_write]` config into a
//!   plan — writable roots, read-only paths inside them, network on or off — and renders it as
//!   the argv prefix `agentd sandbox-exec --mode … --` that the command runner puts in front of
//!   the command (`ExecRequest::wrapper`).
//! * **The helper's half** ([`cli`] and the modules it drives): `agentd sandbox-exec` is the
//!   daemon re-executing its own binary, because namespaces cannot be entered from a
//!   multi-threaded tokio process. The helper is single-threaded: it reserves the missing
//!   protected paths ([`placeholders`]) and forks the process that removes them afterwards
//!   ([`cleanup`]), joins the daemon's shared network namespace when the network is off
//!   ([`network`]), clones a child into new user, mount, PID (and, failing the shared one,
//!   network) namespaces ([`namespaces`]), which builds the read-only view ([`mounts`]), sets resource limits
//!   ([`limits`]), drops every capability ([`caps`]), sets `no_new_privs`, adds Landlock
//!   ([`landlock`]) and a seccomp filter ([`seccomp`]), and runs the command with an
//!   allow-listed environment ([`env`]).
//!
//! Why each piece is the way it is: `docs/decisions/008-sandbox.md`; what it costs per
//! command: `docs/benchmarks.md`, "Sandbox".
//!
//! Policy (what may be written) is decided here, on the daemon's side; the helper is mechanism
//! and takes every path explicitly on its command line, so `agentd sandbox-exec` can be run by
//! hand to see exactly what a command saw.

mod caps;
mod cleanup;
pub mod cli;
mod env;
mod landlock;
mod limits;
mod mounts;
mod namespaces;
pub mod network;
mod placeholders;
pub mod probe;
mod seccomp;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use agentd_protocol::{SandboxMode, SandboxPolicy};

use crate::config::WorkspaceWriteConfig;
pub use network::SharedNetwork;
pub use probe::SandboxLevel;

/// Names kept read-only inside every writable root, whether they exist or not: `.git` (hooks
/// and config run code the next time a person uses git), `.agentd` (the project's exec policy)
/// and `.agents` (instructions and skills the agent itself reads).
pub const PROTECTED_NAMES: [&str; 3] = [".git", ".agentd", ".agents"];

/// The process cap when none is configured (see the config's default).
pub const DEFAULT_MAX_PROCESSES: u64 = crate::config::DEFAULT_SANDBOX_MAX_PROCESSES;

/// Largest file a sandboxed command may write (`RLIMIT_FSIZE`).
pub const DEFAULT_MAX_FILE_SIZE: u64 = 16 * 1024 * 1024 * 1024;

/// Exit code of `agentd sandbox-exec` when it could not set the sandbox up (the command never
/// ran); its stderr then starts with [`SETUP_ERROR_PREFIX`]. 125, as `env`, `timeout` and
/// container runtimes use for "the wrapper failed, not the command".
pub const SETUP_FAILED_EXIT: i32 = 125;

/// How the helper's own errors start on stderr.
pub const SETUP_ERROR_PREFIX: &str = "agentd sandbox-exec:";

/// What one confined command may do, decided by the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxPlan {
    /// `ReadOnly` or `WorkspaceWrite` (a `DangerFullAccess` policy has no plan).
    pub mode: SandboxMode,
    /// Directories bound read-write, canonical, without duplicates.
    pub writable_roots: Vec<PathBuf>,
    /// [`PROTECTED_NAMES`] inside each writable root, kept read-only.
    pub read_only_paths: Vec<PathBuf>,
    /// Outbound network allowed (otherwise: a private network namespace and no IP sockets).
    pub network: bool,
    /// Without network: the daemon's shared empty network namespace to join (see network.rs).
    pub shared_network: Option<SharedNetwork>,
    pub max_processes: u64,
    /// The `agentd` binary to run as `agentd sandbox-exec`.
    pub helper: PathBuf,
}

impl SandboxPlan {
    /// The plan for `policy` with the command running in `cwd`; `None` when the policy asks for
    /// no confinement.
    ///
    /// For `workspace-write` the writable roots are `cwd`, the policy's `writableRoots`, the
    /// config's `writable_roots`, `/tmp` and `$TMPDIR` (unless excluded by the policy or the
    /// config). A thread's stored policy carries only what its client asked for, so the config
    /// widens it: network is on when either says so, and a directory is excluded when either
    /// excludes it. Roots that do not exist are left out (there is nothing to bind).
    pub fn new(
        policy: &SandboxPolicy,
        cwd: &Path,
        config: &WorkspaceWriteConfig,
        helper: PathBuf,
    ) -> Option<SandboxPlan> {
        let (mode, mut candidates, network) = match policy {
            SandboxPolicy::DangerFullAccess => return None,
            SandboxPolicy::ReadOnly { network_access } => {
                (SandboxMode::ReadOnly, Vec::new(), *network_access)
            }
            SandboxPolicy::WorkspaceWrite {
                writable_roots,
                network_access,
                exclude_tmpdir_env_var,
                exclude_slash_tmp,
            } => {
                let mut roots = vec![cwd.to_path_buf()];
                roots.extend(writable_roots.iter().map(PathBuf::from));
                roots.extend(config.writable_roots.iter().cloned());
                if !(*exclude_slash_tmp || config.exclude_slash_tmp) {
                    roots.push(PathBuf::from("/tmp"));
                }
                if !(*exclude_tmpdir_env_var || config.exclude_tmpdir_env_var) {
                    if let Some(t) = std::env::var_os("TMPDIR").filter(|t| !t.is_empty()) {
                        roots.push(PathBuf::from(t));
                    }
                }
                (
                    SandboxMode::WorkspaceWrite,
                    roots,
                    *network_access || config.network_access,
                )
            }
        };
        let mut writable_roots: Vec<PathBuf> = Vec::new();
        for root in candidates.drain(..) {
            // Relative roots mean nothing to a sandbox; canonical paths are what gets bound.
            let Ok(root) = std::fs::canonicalize(cwd.join(root)) else {
                continue;
            };
            if root.is_dir() && !writable_roots.contains(&root) {
                writable_roots.push(root);
            }
        }
        let read_only_paths = protected_paths(&writable_roots);
        Some(SandboxPlan {
            mode,
            writable_roots,
            read_only_paths,
            network,
            shared_network: None,
            max_processes: DEFAULT_MAX_PROCESSES,
            helper,
        })
    }

    /// `[helper, "sandbox-exec", "--mode", …, "--"]`: put in front of the command's argv.
    pub fn wrapper_argv(&self) -> Vec<String> {
        let mode = match self.mode {
            SandboxMode::ReadOnly => "read-only",
            SandboxMode::WorkspaceWrite => "workspace-write",
            SandboxMode::DangerFullAccess => "danger-full-access",
        };
        let mut argv = vec![
            self.helper.display().to_string(),
            "sandbox-exec".to_owned(),
            "--mode".to_owned(),
            mode.to_owned(),
        ];
        for root in &self.writable_roots {
            argv.push("--writable-root".to_owned());
            argv.push(root.display().to_string());
        }
        for path in &self.read_only_paths {
            argv.push("--read-only".to_owned());
            argv.push(path.display().to_string());
        }
        if self.network {
            argv.push("--network".to_owned());
        } else if let Some(shared) = &self.shared_network {
            argv.push("--network-namespace".to_owned());
            argv.push(shared.to_string());
        }
        argv.push("--max-processes".to_owned());
        argv.push(self.max_processes.to_string());
        argv.push("--".to_owned());
        argv
    }
}

/// [`PROTECTED_NAMES`] inside every root, except where a writable root was configured at or
/// inside one of them (someone deliberately made e.g. `.git` writable).
fn protected_paths(roots: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for root in roots {
        for name in PROTECTED_NAMES {
            let path = root.join(name);
            if roots.iter().any(|r| r.starts_with(&path)) || out.contains(&path) {
                continue;
            }
            out.push(path);
        }
    }
    out
}

/// Whether a confined command's failure looks like the sandbox stopped it.
///
/// The heuristic: the command failed (non-zero exit, not a timeout) and its output carries one
/// of the errors confinement produces — `Read-only file system` (a write outside the writable
/// roots or into a protected path), `Permission denied` (Landlock), `Operation not permitted`
/// (seccomp, dropped capabilities, a blocked socket), `Device or resource busy` (removing or
/// renaming a protected path, which is a mount point) — or the helper itself could not set the
/// sandbox up. It can be wrong both ways: a command that fails with `Permission denied` on its
/// own is offered escalation needlessly (harmless: a person decides), and a program that hides
/// the error text is not recognised (its failure goes back to the model as is).
pub fn looks_like_denial(exit_code: i32, timed_out: bool, output: &str) -> bool {
    if exit_code == 0 || timed_out {
        return false;
    }
    if exit_code == SETUP_FAILED_EXIT && output.contains(SETUP_ERROR_PREFIX) {
        return true;
    }
    const MARKERS: [&str; 4] = [
        "read-only file system",
        "permission denied",
        "operation not permitted",
        "device or resource busy",
    ];
    let lower = output.to_ascii_lowercase();
    MARKERS.iter().any(|m| lower.contains(m))
}

/// The daemon's sandbox: the probed level, the shared network namespace and the config
/// defaults, shared by every turn.
#[derive(Debug)]
pub struct Sandbox {
    helper: PathBuf,
    workspace_write: WorkspaceWriteConfig,
    /// `sandbox_max_processes`: every plan's process cap.
    max_processes: u64,
    state: tokio::sync::OnceCell<SandboxState>,
}

#[derive(Debug)]
struct SandboxState {
    level: SandboxLevel,
    /// The holder of the network namespace sandboxes without network share; `None` where it
    /// could not be started (each sandbox then makes its own).
    network: Option<NetworkHolder>,
}

#[derive(Debug)]
struct NetworkHolder {
    /// `agentd sandbox-exec --hold-network`; its stdin stays open as long as this lives, and
    /// it is killed when dropped.
    _child: tokio::process::Child,
    shared: SharedNetwork,
}

impl Sandbox {
    /// Starts probing in the background when a runtime is there (so start-up does not wait for
    /// it); otherwise the first command probes.
    pub fn start(workspace_write: WorkspaceWriteConfig, max_processes: u64) -> Arc<Sandbox> {
        let helper = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("/proc/self/exe"));
        let sandbox = Arc::new(Sandbox {
            helper,
            workspace_write,
            max_processes,
            state: tokio::sync::OnceCell::new(),
        });
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let s = sandbox.clone();
            rt.spawn(async move {
                s.state().await;
            });
        }
        sandbox
    }

    /// Probes once (and logs the level); where confinement works, starts the network holder.
    async fn state(&self) -> &SandboxState {
        self.state
            .get_or_init(|| async {
                let level = probe::run(&self.helper).await;
                level.log();
                let network = match level.unavailable {
                    None => start_network_holder(&self.helper).await,
                    Some(_) => None,
                };
                SandboxState { level, network }
            })
            .await
    }

    /// What the kernel allows, probed once.
    pub async fn level(&self) -> &SandboxLevel {
        &self.state().await.level
    }

    /// The plan for a command, `Ok(None)` for no confinement, or why confinement is impossible
    /// here (the command must then not run confined — nor silently unconfined).
    pub async fn plan(
        &self,
        policy: &SandboxPolicy,
        cwd: &Path,
    ) -> Result<Option<SandboxPlan>, String> {
        let Some(mut plan) =
            SandboxPlan::new(policy, cwd, &self.workspace_write, self.helper.clone())
        else {
            return Ok(None);
        };
        let state = self.state().await;
        if let Some(reason) = &state.level.unavailable {
            return Err(reason.clone());
        }
        plan.shared_network = state.network.as_ref().map(|n| n.shared);
        plan.max_processes = self.max_processes;
        Ok(Some(plan))
    }
}

/// Starts `agentd sandbox-exec --hold-network` and waits for its `ready`.
async fn start_network_holder(helper: &Path) -> Option<NetworkHolder> {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(helper)
        .args(["sandbox-exec", "--hold-network"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .ok()?;
    let stdout = child.stdout.take()?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let ready = tokio::time::timeout(std::time::Duration::from_secs(5), lines.next_line()).await;
    if !matches!(ready, Ok(Ok(Some(ref l))) if l.trim() == "ready") {
        tracing::warn!("sandbox: no shared network namespace; each sandbox makes its own");
        return None;
    }
    let shared = SharedNetwork::of(child.id()?).ok()?;
    tracing::info!(
        holder = shared.pid,
        "sandbox: sandboxes without network share one namespace"
    );
    Some(NetworkHolder {
        _child: child,
        shared,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ww(roots: Vec<String>, exclude_tmp: bool) -> SandboxPolicy {
        SandboxPolicy::WorkspaceWrite {
            writable_roots: roots,
            network_access: false,
            exclude_tmpdir_env_var: true,
            exclude_slash_tmp: exclude_tmp,
        }
    }

    #[test]
    fn full_access_has_no_plan() {
        let cfg = WorkspaceWriteConfig::default();
        assert!(SandboxPlan::new(
            &SandboxPolicy::DangerFullAccess,
            Path::new("/"),
            &cfg,
            "agentd".into()
        )
        .is_none());
    }

    #[test]
    fn read_only_has_no_roots() {
        let cfg = WorkspaceWriteConfig::default();
        let p = SandboxPlan::new(
            &SandboxPolicy::ReadOnly {
                network_access: false,
            },
            Path::new("/"),
            &cfg,
            "/bin/agentd".into(),
        )
        .unwrap();
        assert!(p.writable_roots.is_empty() && p.read_only_paths.is_empty() && !p.network);
        assert_eq!(
            p.wrapper_argv(),
            [
                "/bin/agentd",
                "sandbox-exec",
                "--mode",
                "read-only",
                "--max-processes",
                "1024",
                "--"
            ]
        );
    }

    #[test]
    fn workspace_write_roots_and_protected_paths() {
        let dir = tempfile::tempdir().unwrap();
        let ws = std::fs::canonicalize(dir.path()).unwrap();
        let extra = ws.join("extra");
        std::fs::create_dir(&extra).unwrap();
        let cfg = WorkspaceWriteConfig {
            network_access: true,
            ..Default::default()
        };
        let p = SandboxPlan::new(
            &ww(
                vec![extra.display().to_string(), "/does/not/exist".into()],
                true,
            ),
            &ws,
            &cfg,
            "agentd".into(),
        )
        .unwrap();
        assert_eq!(p.writable_roots, vec![ws.clone(), extra.clone()]);
        assert!(p.network, "the config widens the policy");
        assert!(p.read_only_paths.contains(&ws.join(".git")));
        assert!(p.read_only_paths.contains(&extra.join(".agents")));
        assert_eq!(p.read_only_paths.len(), 6);
        let argv = p.wrapper_argv();
        assert!(argv
            .windows(2)
            .any(|w| w[0] == "--writable-root" && w[1] == ws.display().to_string()));
        assert!(argv.contains(&"--network".to_owned()));
        assert_eq!(argv.last().unwrap(), "--");
    }

    #[test]
    fn a_writable_protected_path_stays_writable() {
        let roots = vec![PathBuf::from("/w"), PathBuf::from("/w/.git")];
        let p = protected_paths(&roots);
        assert!(!p.contains(&PathBuf::from("/w/.git")));
        assert!(p.contains(&PathBuf::from("/w/.agentd")));
        assert!(p.contains(&PathBuf::from("/w/.git/.git")));
    }

    #[test]
    fn denial_heuristic() {
        assert!(looks_like_denial(
            1,
            false,
            "touch: cannot touch '/etc/x': Read-only file system"
        ));
        assert!(looks_like_denial(
            2,
            false,
            "sh: 1: cannot create /x: Permission denied"
        ));
        assert!(looks_like_denial(
            1,
            false,
            "umount: /x: Operation not permitted"
        ));
        assert!(looks_like_denial(
            125,
            false,
            "agentd sandbox-exec: cannot mount /proc"
        ));
        assert!(!looks_like_denial(0, false, "Permission denied"));
        assert!(!looks_like_denial(124, true, "Permission denied"));
        assert!(!looks_like_denial(1, false, "test failed"));
        assert!(!looks_like_denial(
            127,
            false,
            "agentd sandbox-exec: x: command not found"
        ));
    }
}
