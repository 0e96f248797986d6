//! Helpers shared by the `sandbox_*` tests: running `agentd sandbox-exec` directly (fast, and
//! exactly what the daemon runs), a workspace to run in, and what to do on a machine whose
//! kernel forbids confinement.
//!
//! Every test first asks [`confinement_or_refusal`]: where the probe says a sandbox cannot be
//! set up (no user namespaces, say), the test instead checks that the helper *refuses* to run
//! the command — exit 125 and a reason — and stops there, so the suite passes on both kinds of
//! machine and still proves the daemon never runs a confined command unconfined.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Exit code of `agentd sandbox-exec` when it could not set the sandbox up.
pub const SETUP_FAILED: i32 = 125;

pub fn bin() -> PathBuf {
    agentd_tests::harness::agentd_bin().expect("agentd binary")
}

/// `agentd sandbox-exec --probe`, once per test binary.
pub fn probe() -> &'static Value {
    static PROBE: OnceLock<Value> = OnceLock::new();
    PROBE.get_or_init(|| {
        let out = Command::new(bin())
            .args(["sandbox-exec", "--probe"])
            .output()
            .expect("running the probe");
        let stdout = String::from_utf8_lossy(&out.stdout);
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "probe printed no report ({e}): {stdout} {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
    })
}

/// True when the kernel allows confinement. Otherwise asserts that a confined command is
/// refused (never run unconfined) and returns false: the caller then returns early.
pub fn confinement_or_refusal() -> bool {
    if probe()["confinement"] == true {
        return true;
    }
    let ws = Workspace::new();
    let r = ws.run(&["--mode", "read-only"], "touch ran-anyway");
    assert_eq!(r.code, SETUP_FAILED, "{r:?}");
    assert!(r.stderr.contains("agentd sandbox-exec:"), "{r:?}");
    assert!(
        !ws.path("ran-anyway").exists(),
        "refused, not run unconfined"
    );
    eprintln!(
        "confinement unavailable here ({}); checked the refusal",
        probe()["error"]
    );
    false
}

/// Whether the daemon runs as root (some expectations differ: capabilities, file owners).
pub fn is_root() -> bool {
    // SAFETY: geteuid cannot fail and touches no memory.
    unsafe { libc::geteuid() == 0 }
}

/// What a sandboxed command did.
#[derive(Debug, Clone)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(&self) -> bool {
        self.code == 0
    }
    /// stdout and stderr together.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// A temporary workspace (canonical path) and a place outside it.
pub struct Workspace {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    _outside: tempfile::TempDir,
    pub outside: PathBuf,
}

impl Workspace {
    pub fn new() -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        Workspace {
            root: std::fs::canonicalize(dir.path()).unwrap(),
            outside: std::fs::canonicalize(outside.path()).unwrap(),
            _dir: dir,
            _outside: outside,
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// The flags the daemon passes for `workspace-write` on this workspace (no `/tmp`).
    pub fn write_flags(&self) -> Vec<String> {
        let mut f = vec!["--mode".to_owned(), "workspace-write".to_owned()];
        f.push("--writable-root".to_owned());
        f.push(self.root.display().to_string());
        for name in [".git", ".agentd", ".agents"] {
            f.push("--read-only".to_owned());
            f.push(self.path(name).display().to_string());
        }
        f
    }

    /// `agentd sandbox-exec FLAGS -- sh -c SCRIPT` in the workspace.
    pub fn run(&self, flags: &[&str], script: &str) -> Run {
        self.run_with(flags, script, &[])
    }

    pub fn run_with(&self, flags: &[&str], script: &str, env: &[(&str, &str)]) -> Run {
        let mut cmd = self.command(flags, script);
        cmd.envs(env.iter().copied());
        let out = cmd.output().expect("spawning agentd sandbox-exec");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// As [`Workspace::run`] in `workspace-write` mode.
    pub fn run_write(&self, script: &str) -> Run {
        let flags = self.write_flags();
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        self.run(&flags, script)
    }

    pub fn command(&self, flags: &[&str], script: &str) -> Command {
        let mut cmd = Command::new(bin());
        cmd.arg("sandbox-exec")
            .args(flags)
            .args(["--", "sh", "-c", script])
            .current_dir(&self.root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Starts the helper in a process group of its own (as the daemon's runner does) and
    /// returns it; pair with [`finish_within`].
    pub fn spawn_group(&self, flags: &[&str], script: &str) -> std::process::Child {
        let mut cmd = self.command(flags, script);
        cmd.process_group(0);
        cmd.spawn().expect("spawning agentd sandbox-exec")
    }

    /// Waits (up to 5 s) for the workspace root to hold exactly `expected`: the helper removes
    /// its placeholders in a detached process just after the command's status is reported.
    #[track_caller]
    pub fn assert_listing(&self, expected: &[&str]) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let now = self.listing();
            if now == expected {
                return;
            }
            if Instant::now() >= deadline {
                assert_eq!(now, expected, "workspace listing");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Names in the workspace root, sorted.
    pub fn listing(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

/// Waits up to `within` for `child` to exit; kills its group and panics if it does not.
pub fn finish_within(mut child: std::process::Child, within: Duration) -> Run {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stdout = String::new();
            let mut stderr = String::new();
            child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut stdout)
                .unwrap();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            return Run {
                code: status.code().unwrap_or(-1),
                stdout,
                stderr,
            };
        }
        if Instant::now() >= deadline {
            signal_group(child.id(), "KILL");
            panic!("sandbox-exec did not finish within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `kill -SIG -- -PGID`.
pub fn signal_group(pgid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([format!("-{sig}"), "--".into(), format!("-{pgid}")])
        .status();
}

/// `kill -SIG PID`.
pub fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .status();
}

/// Waits until `path` exists (true) or `within` passes (false).
pub fn wait_for_file(path: &Path, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while !path.exists() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// A string no other process's command line holds, to put in a script so that
/// [`wait_until_no_process_mentions`] can tell when every process running it is gone.
pub fn unique_marker(what: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("agentd-e2e-{what}-{}-{nanos}", std::process::id())
}

/// Waits until no process on the machine has `marker` in its command line (true), or `within`
/// passes (false). A script holding the marker shows it in the command line of every shell that
/// runs it, subshells included, and of the `sandbox-exec` helper that started it: once none is
/// left, nothing of the script can still act — the positive signal to wait on before asserting
/// that something it would have done did not happen. (End the script's commands with a builtin,
/// such as `: MARKER`, so that no shell execs its last command in place of itself.)
pub fn wait_until_no_process_mentions(marker: &str, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while any_process_mentions(marker) {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

fn any_process_mentions(marker: &str) -> bool {
    let marker = marker.as_bytes();
    std::fs::read_dir("/proc")
        .expect("reading /proc")
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .any(|cmdline| cmdline.windows(marker.len()).any(|w| w == marker))
}
