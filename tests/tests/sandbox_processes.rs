//! Processes inside the sandbox: their own `/proc`, no capabilities, no `ptrace`, a process
//! limit a fork bomb runs into, children that die with the command, an environment without
//! secrets, and the command's exit status passed through.

use crate::sandbox_support;

use std::time::Duration;

use sandbox_support::{
    confinement_or_refusal, finish_within, signal, unique_marker, wait_for_file,
    wait_until_no_process_mentions, Workspace, SETUP_FAILED,
};

#[test]
fn proc_shows_only_the_sandboxs_processes() {
    if !confinement_or_refusal() {
        return;
    }
    let ws = Workspace::new();
    let me = std::process::id();
    let r = ws.run_write(&format!(
        "ls /proc | grep -c '^[0-9]'; cat /proc/1/cmdline | tr '\\0' ' '; echo; \
         test -e /proc/{me} && echo sees-the-test || echo hidden"
    ));
    assert!(r.ok(), "{r:?}");
    let mut lines = r.stdout.lines();
    let count: usize = lines.next().unwrap().parse().unwrap();
    // init, sh, and the ls | grep pipeline.
    assert!(count <= 5, "only the sandbox's processes: {r:?}");
    assert!(
        lines.next().unwrap().contains("sandbox-exec"),
        "pid 1 is the sandbox's init: {r:?}"
    );
    assert_eq!(lines.next(), Some("hidden"), "{r:?}");
}

#[test]
fn every_capability_is_dropped() {
    if !confinement_or_refusal() {
        return;
    }
    let ws = Workspace::new();
    let r = ws.run_write(
        "grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status",
    );
    assert!(r.ok(), "{r:?}");
    for cap in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        let line = r.stdout.lines().find(|l| l.starts_with(cap)).unwrap();
        assert!(line.ends_with("0000000000000000"), "{line}");
    }
    assert!(r.stdout.contains("NoNewPrivs:\t1"), "{r:?}");
    assert!(r.stdout.contains("Seccomp:\t2"), "{r:?}");
}

#[test]
fn ptrace_of_another_process_is_denied() {
    if !confinement_or_refusal() {
        return;
    }
    let ws = Workspace::new();
    // PTRACE_ATTACH (16) to a sibling, as a straight system call from perl (always there on
    // Debian: perl-base). ptrace(2) is 101 on x86_64 and 117 on aarch64.
    let nr = if cfg!(target_arch = "aarch64") {
        117
    } else {
        101
    };
    let r = ws.run_write(&format!(
        "sleep 5 & pid=$!; \
         perl -e 'my $r = syscall({nr}, 16, $ARGV[0] + 0, 0, 0); print \"$r $!\\n\"' $pid; kill $pid"
    ));
    assert_eq!(r.stdout, "-1 Operation not permitted\n", "{r:?}");
}

#[test]
fn a_fork_bomb_hits_the_process_limit() {
    if !confinement_or_refusal() {
        return;
    }
    let ws = Workspace::new();
    let mut flags = ws.write_flags();
    flags.extend(["--max-processes".to_owned(), "64".to_owned()]);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    // A watcher started first counts the sandbox's processes with shell builtins only (no
    // fork left for `ls` by then); the bomb starts up to 1000 sleepers and dies on the limit
    // (64 threads, or the PID namespace's floor of 300 for a root daemon).
    let child = ws.spawn_group(
        &flags,
        "( sleep 3; n=0; for p in /proc/[0-9]*; do n=$((n+1)); done; echo procs=$n ) & w=$!; \
         ( i=0; while [ $i -lt 1000 ]; do sleep 30 & i=$((i+1)); done ) 2>&1; echo bomb=$?; \
         wait $w",
    );
    let r = finish_within(child, Duration::from_secs(60));
    assert!(
        r.stdout.contains("fork") || r.stdout.contains("Resource temporarily unavailable"),
        "the shell could not fork: {r:?}"
    );
    assert!(!r.stdout.contains("bomb=0"), "{r:?}");
    let procs: usize = r
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("procs="))
        .unwrap_or("0")
        .parse()
        .unwrap();
    assert!(procs <= 310, "bounded: {r:?}");
}

#[test]
fn children_die_with_the_command_when_it_is_terminated() {
    if !confinement_or_refusal() {
        return;
    }
    let ws = Workspace::new();
    let flags = ws.write_flags();
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    // A child that ignores SIGTERM (its `sleep` inherits that) and detaches into a session of
    // its own: only the end of the sandbox can stop it from creating `survivor`. The marker in
    // its script lets the test see when it is gone.
    let marker = unique_marker("survivor");
    let child = ws.spawn_group(
        &flags,
        &format!(
            "setsid sh -c 'trap \"\" TERM; sleep 1.5; touch survivor; : {marker}' & \
             touch started; sleep 30"
        ),
    );
    let pid = child.id();
    assert!(wait_for_file(&ws.path("started"), Duration::from_secs(10)));
    // Only the helper, as the command runner's SIGTERM to the group would reach it.
    signal(pid, "TERM");
    let r = finish_within(child, Duration::from_secs(5));
    assert_eq!(r.code, 128 + 15, "{r:?}");
    // Once no process of the script is left, `survivor` exists if the child outlived the
    // sandbox, and never will otherwise.
    assert!(
        wait_until_no_process_mentions(&marker, Duration::from_secs(10)),
        "processes of the command still run"
    );
    assert!(
        !ws.path("survivor").exists(),
        "the detached child died with the sandbox"
    );
}

#[test]
fn secrets_are_absent_from_the_environment() {
    if !confinement_or_refusal() {
        return;
    }
    let ws = Workspace::new();
    let r = ws.run_with(
        &["--mode", "read-only"],
        "env",
        &[
            ("OPENAI_API_KEY", "sk-test"),
            ("GITHUB_TOKEN", "ghp-test"),
            ("MY_SECRET", "s"),
            ("DB_PASSWORD", "p"),
            ("UNLISTED_VARIABLE", "u"),
            ("LANG", "C.UTF-8"),
        ],
    );
    assert!(r.ok(), "{r:?}");
    for absent in [
        "sk-test",
        "ghp-test",
        "MY_SECRET",
        "DB_PASSWORD",
        "UNLISTED_VARIABLE",
    ] {
        assert!(!r.stdout.contains(absent), "{absent} leaked: {r:?}");
    }
    assert!(r.stdout.contains("LANG=C.UTF-8"), "{r:?}");
    assert!(r.stdout.contains("PATH="), "{r:?}");
    assert!(r.stdout.contains("AGENTD_SANDBOX=read-only"), "{r:?}");
    assert!(
        r.stdout.contains("AGENTD_SANDBOX_NETWORK_DISABLED=1"),
        "{r:?}"
    );
}

#[test]
fn the_commands_exit_status_comes_back() {
    if !confinement_or_refusal() {
        return;
    }
    let ws = Workspace::new();
    assert_eq!(ws.run(&["--mode", "read-only"], "exit 7").code, 7);
    assert_eq!(ws.run(&["--mode", "read-only"], "kill -9 $$").code, 128 + 9);
    let missing = ws.run(&["--mode", "read-only"], "exec no-such-program-here");
    assert_eq!(missing.code, 127, "{missing:?}");
    assert_ne!(missing.code, SETUP_FAILED);
    // The helper's own lookup, without a shell.
    let out = std::process::Command::new(sandbox_support::bin())
        .args([
            "sandbox-exec",
            "--mode",
            "read-only",
            "--",
            "no-such-program-here",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127));
    assert!(String::from_utf8_lossy(&out.stderr).contains("command not found"));
}

#[test]
fn the_probe_reports_what_the_kernel_allows() {
    let p = sandbox_support::probe();
    assert!(p["userNamespaces"].is_boolean(), "{p}");
    assert!(p["seccomp"].is_boolean(), "{p}");
    assert!(p["landlockAbi"].is_number(), "{p}");
    assert!(p["processLimit"].is_string(), "{p}");
    if p["confinement"] == false {
        assert!(
            p["error"].is_string(),
            "an unavailable sandbox says why: {p}"
        );
    }
}

#[test]
fn where_namespaces_are_forbidden_the_sandbox_refuses_instead_of_running_unconfined() {
    if !confinement_or_refusal() {
        return;
    }
    // Inside a sandbox no new user namespace can be made (seccomp): the situation of a kernel
    // or container that forbids them. A nested helper must refuse, and its probe say why.
    let ws = Workspace::new();
    let bin = sandbox_support::bin();
    let r = ws.run_write(&format!(
        "{b} sandbox-exec --mode read-only -- touch ran-anyway; echo inner=$?; \
         {b} sandbox-exec --probe",
        b = bin.display()
    ));
    assert!(r.stdout.contains(&format!("inner={SETUP_FAILED}")), "{r:?}");
    assert!(
        r.stderr.contains("user namespaces are not permitted"),
        "{r:?}"
    );
    assert!(!ws.path("ran-anyway").exists());
    let probe: serde_json::Value = serde_json::from_str(r.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(probe["confinement"], false, "{probe}");
    assert!(
        probe["error"].as_str().unwrap().contains("user namespaces"),
        "{probe}"
    );
}
