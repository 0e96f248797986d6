//! `agentd sandbox-exec`: the confinement helper, and its outer process.
//!
//! ```text
//! agentd sandbox-exec --mode workspace-write --writable-root /w --read-only /w/.git -- cmd …
//! ```
//!
//! Three processes take part. This one (the *outer* process) stays in the daemon's namespaces:
//! it reserves missing protected paths, clones the *init* process into new namespaces, writes
//! its uid/gid maps, forwards termination signals, and once init is gone removes the
//! reservations again and exits with the command's status. Init (pid 1 of the sandbox, see
//! [`super::namespaces`]) builds the view, locks itself down and runs the *command* as its
//! child. When init exits the kernel kills everything left in the sandbox.
//!
//! Exit status: the command's (128 + N when signal N ended it); [`SETUP_FAILED_EXIT`] with a
//! `agentd sandbox-exec: …` line on stderr when the sandbox could not be set up.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::cleanup::Cleaner;
use super::limits::{self, PidsCgroup};
use super::network::{self, SharedNetwork};
use super::placeholders::{self, ProtectedPath};
use super::probe::ProbeReport;
use super::{namespaces, DEFAULT_MAX_FILE_SIZE, DEFAULT_MAX_PROCESSES};
use super::{SETUP_ERROR_PREFIX, SETUP_FAILED_EXIT};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HelperMode {
    ReadOnly,
    WorkspaceWrite,
    DangerFullAccess,
}

impl HelperMode {
    fn name(self) -> &'static str {
        match self {
            HelperMode::ReadOnly => "read-only",
            HelperMode::WorkspaceWrite => "workspace-write",
            HelperMode::DangerFullAccess => "danger-full-access",
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct SandboxExecArgs {
    /// What the command may write: nothing, its writable roots, or anything (no sandbox).
    #[arg(long, value_enum, required_unless_present_any = ["probe", "hold_network"])]
    pub mode: Option<HelperMode>,
    /// A directory the command may write under (repeatable; `workspace-write` only).
    #[arg(long = "writable-root", value_name = "DIR")]
    pub writable_roots: Vec<PathBuf>,
    /// A path kept read-only even inside a writable root, reserved if it does not exist.
    #[arg(long = "read-only", value_name = "PATH")]
    pub read_only: Vec<PathBuf>,
    /// Keep the network (otherwise: own network namespace, no IP sockets).
    #[arg(long)]
    pub network: bool,
    /// Threads the command may have at once.
    #[arg(long, default_value_t = DEFAULT_MAX_PROCESSES)]
    pub max_processes: u64,
    /// Largest file the command may write, in bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_FILE_SIZE)]
    pub max_file_size: u64,
    /// With the network off: join this holder's network namespace (`PID/USER_NS_INODE/
    /// NET_NS_INODE`, see network.rs) instead of making one; a fresh one if that fails.
    #[arg(long, value_name = "PID/USER_INO/NET_INO")]
    pub network_namespace: Option<SharedNetwork>,
    /// Set a sandbox up around nothing and print what the kernel allows as one JSON line.
    #[arg(long)]
    pub probe: bool,
    /// Hold an empty network namespace for other sandboxes to share until stdin closes.
    #[arg(long, conflicts_with = "probe")]
    pub hold_network: bool,
    /// The command to run, after `--`.
    #[arg(last = true, required_unless_present_any = ["probe", "hold_network"])]
    pub command: Vec<String>,
}

/// Everything init needs to build the sandbox, decided before the clone.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    pub mode: &'static str,
    pub writable_roots: Vec<PathBuf>,
    pub protected: Vec<ProtectedPath>,
    pub network: bool,
    /// With the network off: the shared namespace to join (else a fresh one is made).
    pub shared_network: Option<SharedNetwork>,
    pub max_processes: u64,
    pub max_file_size: u64,
    /// Where the command starts (the helper's own cwd, set by the command runner).
    pub cwd: PathBuf,
    /// `None` for the probe: set everything up, then exit 0.
    pub command: Option<Vec<String>>,
}

pub fn run(args: SandboxExecArgs) -> anyhow::Result<()> {
    if args.probe {
        let report = probe();
        println!("{}", serde_json::to_string(&report)?);
        std::process::exit(0);
    }
    if args.hold_network {
        return network::hold();
    }
    let code = match confine(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{SETUP_ERROR_PREFIX} {e:#}");
            SETUP_FAILED_EXIT
        }
    };
    std::process::exit(code)
}

/// The outer process: returns the exit code to leave with.
fn confine(args: SandboxExecArgs) -> anyhow::Result<i32> {
    let mode = args.mode.unwrap_or(HelperMode::ReadOnly);
    if mode == HelperMode::DangerFullAccess {
        // No sandbox asked for: become the command.
        let env: Vec<(String, String)> = std::env::vars().collect();
        namespaces::exec_command(&args.command, &env);
    }
    let writable_roots = match mode {
        HelperMode::WorkspaceWrite => args.writable_roots.clone(),
        _ => Vec::new(),
    };
    let cwd = std::env::current_dir().context("cannot read the working directory")?;
    let spec = Spec {
        mode: mode.name(),
        writable_roots,
        protected: Vec::new(),
        network: args.network,
        shared_network: args.network_namespace,
        max_processes: args.max_processes.max(1),
        max_file_size: args.max_file_size,
        cwd,
        command: Some(args.command.clone()),
    };
    run_spec(spec, &args.read_only)
}

/// Reserve, clone, wait, release: shared by real runs and the probe.
fn run_spec(mut spec: Spec, read_only: &[PathBuf]) -> anyhow::Result<i32> {
    // Signals are blocked before anything is created, so a SIGTERM from the command runner
    // cannot kill this process between reserving a path and releasing it.
    let signals = namespaces::OuterSignals::block()?;
    let reservation = placeholders::reserve(read_only, &spec.writable_roots)?;
    spec.protected = reservation.paths.clone();
    // RLIMIT_NPROC does not bind uid 0; where the PID namespace cannot cap it either, a root
    // daemon limits processes with a pids cgroup (see limits.rs).
    let cgroup = if nix::unistd::geteuid().is_root() && !limits::pid_max_per_namespace() {
        PidsCgroup::create(spec.max_processes).ok()
    } else {
        None
    };
    // Removing a directory can take milliseconds (ext4 mounted with `discard`: ~3 ms each), and
    // the daemon waits for this process's exit to report the command done: so the clean-up is
    // a process of its own, started now and released once the sandbox is gone (see cleanup.rs).
    let cleaner = (reservation.holds_any() || cgroup.is_some()).then(|| {
        let cgroup = cgroup.clone();
        Cleaner::start(Box::new(move || {
            let mut reservation = reservation;
            reservation.release();
            if let Some(cg) = cgroup {
                cg.remove();
            }
        }))
    });
    // Joined last: from here on this process is in the holder's user namespace, where a root
    // daemon no longer has its capabilities over other users' files (the cleaner, forked above,
    // keeps them), and where it could not move init into a cgroup.
    let joined = match (&spec.shared_network, spec.network, &cgroup) {
        (Some(shared), false, None) => network::join(shared),
        _ => false,
    };
    spec.shared_network = spec.shared_network.filter(|_| joined);
    let result = namespaces::Init::spawn(&spec, cgroup.as_ref()).map(|init| init.wait(&signals));
    if let Some(cleaner) = cleaner {
        cleaner.finish();
    }
    result
}

/// `--probe`: what the kernel allows, and whether a full sandbox comes up.
fn probe() -> ProbeReport {
    let mut report = ProbeReport {
        user_namespaces: namespaces::user_namespaces_work(),
        seccomp: super::seccomp::available(),
        landlock_abi: super::landlock::abi_version(),
        process_limit: if limits::pid_max_per_namespace() {
            "pid_max".to_owned()
        } else if nix::unistd::geteuid().is_root() {
            match PidsCgroup::create(1) {
                Ok(cg) => {
                    cg.remove();
                    "cgroup".to_owned()
                }
                Err(_) => "none".to_owned(),
            }
        } else {
            "rlimit".to_owned()
        },
        ..ProbeReport::default()
    };
    if !report.user_namespaces {
        report.error = Some("user namespaces are not permitted here".to_owned());
        return report;
    }
    if !report.seccomp {
        report.error = Some("the kernel does not support seccomp filters".to_owned());
        return report;
    }
    let spec = Spec {
        mode: "read-only",
        writable_roots: Vec::new(),
        protected: Vec::new(),
        network: false,
        shared_network: None,
        max_processes: DEFAULT_MAX_PROCESSES,
        max_file_size: DEFAULT_MAX_FILE_SIZE,
        cwd: PathBuf::from("/"),
        command: None,
    };
    match run_spec(spec, &[]) {
        Ok(0) => report.confinement = true,
        Ok(code) => {
            report.error = Some(format!(
                "setting a test sandbox up failed (exit code {code})"
            ))
        }
        Err(e) => report.error = Some(format!("setting a test sandbox up failed: {e:#}")),
    }
    report
}
