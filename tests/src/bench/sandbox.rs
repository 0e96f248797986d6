//! The sandbox's cost per spawned command: `/bin/true` run directly vs through `agentd
//! sandbox-exec` — read-only, and workspace-write on a temporary workspace with the three
//! protected paths missing (so placeholders are made and removed each time, the common case),
//! with the flags the daemon passes under the default config (the workspace and `/tmp`).
//! Without network as the daemon runs it (joining one held network namespace) and, for
//! comparison, with a network namespace made per command; and with the network on.
//!
//! Each variant runs [`WARMUP`] untimed then [`RUNS`] timed spawns, one at a time, from this
//! process: the time is spawn → exit status, what the daemon's runner waits for. The overhead
//! reported is the median of a variant minus the median of the direct run.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use agentd::config::WorkspaceWriteConfig;
use agentd::sandbox::SandboxPlan;
use agentd_protocol::{SandboxMode, SandboxPolicy};

use super::stats::{ms, ms_f, Summary};
use super::Ctx;

const RUNS: usize = 200;
const WARMUP: usize = 20;

pub async fn run(ctx: &Ctx) -> Result<Value> {
    println!("== sandbox: /bin/true direct vs through `agentd sandbox-exec`; {RUNS} timed runs after {WARMUP} untimed");
    let probe = Command::new(&ctx.bin)
        .args(["sandbox-exec", "--probe"])
        .output()
        .context("running the sandbox probe")?;
    let probe: Value = serde_json::from_slice(&probe.stdout).context("probe output")?;
    println!("probe: {probe}");
    if probe["confinement"] != true {
        bail!("no sandbox on this machine: {}", probe["error"]);
    }
    let ws = tempfile::tempdir().context("creating a workspace")?;
    let root = std::fs::canonicalize(ws.path())?;
    // The flags the daemon itself would pass for a thread in this workspace under the default
    // config: writable roots the workspace and /tmp (and $TMPDIR when set), each with its
    // three protected paths.
    let policy = SandboxPolicy::from_mode(SandboxMode::WorkspaceWrite);
    let plan = SandboxPlan::new(
        &policy,
        &root,
        &WorkspaceWriteConfig::default(),
        ctx.bin.clone(),
    )
    .context("no plan for workspace-write")?;
    let argv = plan.wrapper_argv();
    // [helper, "sandbox-exec", FLAGS…, "--"]
    let write: Vec<String> = argv[2..argv.len() - 1].to_vec();
    println!(
        "workspace-write flags: {} writable roots, {} protected paths",
        plan.writable_roots.len(),
        plan.read_only_paths.len()
    );
    let mut write_net = write.clone();
    write_net.push("--network".to_owned());
    let read_only = vec!["--mode".to_owned(), "read-only".to_owned()];
    // The daemon's own setup: one held, empty network namespace joined by every sandbox
    // without network (sandbox/network.rs). Killed when `_holder` drops.
    let (_holder, shared) = network_holder(&ctx.bin)?;
    let mut read_only_shared = read_only.clone();
    read_only_shared.extend(["--network-namespace".to_owned(), shared.clone()]);
    let mut write_shared = write.clone();
    write_shared.extend(["--network-namespace".to_owned(), shared]);

    let direct = measure(None, &[], &root)?;
    print_line("direct                         ", &direct, None);
    let mut figures = json!({ "directMs": direct.json_ms() });
    let variants: [(&str, &str, &Vec<String>); 5] = [
        (
            "read-only, shared net ns       ",
            "readOnlyMs",
            &read_only_shared,
        ),
        (
            "workspace-write, shared net ns ",
            "workspaceWriteMs",
            &write_shared,
        ),
        (
            "workspace-write, network on    ",
            "workspaceWriteNetworkMs",
            &write_net,
        ),
        (
            "read-only, own net ns          ",
            "readOnlyOwnNetnsMs",
            &read_only,
        ),
        (
            "workspace-write, own net ns    ",
            "workspaceWriteOwnNetnsMs",
            &write,
        ),
    ];
    for (name, key, flags) in variants {
        let s = measure(Some(&ctx.bin), flags, &root)?;
        print_line(name, &s, Some(&direct));
        figures[key] = s.json_ms();
        figures[key.replace("Ms", "OverheadMs")] = json!(ms_f(s.p50.saturating_sub(direct.p50)));
    }
    println!("target: ≤ 5 ms overhead per command (median)");
    Ok(figures)
}

/// Starts `agentd sandbox-exec --hold-network` as the daemon does; returns it (killed on drop)
/// and its `--network-namespace` value.
fn network_holder(bin: &Path) -> Result<(Holder, String)> {
    use std::io::BufRead;
    use std::os::unix::fs::MetadataExt;
    let mut child = Command::new(bin)
        .args(["sandbox-exec", "--hold-network"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("starting the network namespace holder")?;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().context("holder stdout")?)
        .read_line(&mut line)
        .context("reading the holder's ready line")?;
    if line.trim() != "ready" {
        bail!("the network namespace holder said {line:?}");
    }
    let pid = child.id();
    let ino = |ns: &str| std::fs::metadata(format!("/proc/{pid}/ns/{ns}")).map(|m| m.ino());
    let arg = format!("{pid}/{}/{}", ino("user")?, ino("net")?);
    Ok((Holder(child), arg))
}

/// Kills the holder when the benchmark is done.
struct Holder(std::process::Child);

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Spawns `/bin/true` (behind `agentd sandbox-exec FLAGS --` when `bin` is given) WARMUP+RUNS
/// times in `cwd`.
fn measure(bin: Option<&Path>, flags: &[String], cwd: &Path) -> Result<Summary> {
    let mut samples = Vec::with_capacity(RUNS);
    for i in 0..WARMUP + RUNS {
        let mut cmd = match bin {
            Some(b) => {
                let mut c = Command::new(b);
                c.arg("sandbox-exec").args(flags).args(["--", "/bin/true"]);
                c
            }
            None => Command::new("/bin/true"),
        };
        cmd.current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let t0 = Instant::now();
        let out = cmd.output().context("spawning")?;
        let took = t0.elapsed();
        if !out.status.success() {
            bail!(
                "run {i} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        if i >= WARMUP {
            samples.push(took.as_nanos() as u64);
        }
    }
    Ok(Summary::of(&mut samples))
}

fn print_line(what: &str, s: &Summary, baseline: Option<&Summary>) {
    let overhead = baseline
        .map(|b| format!("  (overhead: median {})", ms(s.p50.saturating_sub(b.p50))))
        .unwrap_or_default();
    println!(
        "{what}: min {}  median {}  p90 {}  max {}{overhead}",
        ms(s.min),
        ms(s.p50),
        ms(s.p90),
        ms(s.max)
    );
}
