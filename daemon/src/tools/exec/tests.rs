//! End-to-end tests of [`run`] against real processes.

use std::future::pending;
use std::path::Path;
use std::time::{Duration, Instant};

use super::*;

const PATH: &str = "/usr/local/bin:/usr/bin:/bin";

fn req(argv: &[&str]) -> ExecRequest {
    ExecRequest::new(
        argv.iter().map(ToString::to_string).collect(),
        std::env::temp_dir(),
        vec![("PATH".to_string(), PATH.to_string())],
        Duration::from_secs(10),
    )
}

fn sh(script: &str) -> ExecRequest {
    req(&["sh", "-c", script])
}

/// Runs without cancellation; returns the output and every streamed byte.
async fn run_collect(r: ExecRequest) -> (ExecOutput, Vec<u8>) {
    let mut streamed = Vec::new();
    let out = run(r, |chunk| streamed.extend_from_slice(chunk), pending())
        .await
        .expect("command should run");
    (out, streamed)
}

/// Whether `pid` is still a live process (zombies awaiting reaping count as
/// dead: they run nothing and hold no pipes).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => {
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|s| s.trim().chars().next());
            !matches!(state, Some('Z' | 'X'))
        }
    }
}

fn read_pid(path: &Path) -> i32 {
    let text = std::fs::read_to_string(path).expect("pid file written");
    text.trim().parse().expect("pid file holds a pid")
}

/// Asserts `pid` is dead, allowing a moment for an unrelated reaper.
async fn assert_gone(pid: i32) {
    for _ in 0..50 {
        if !alive(pid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("process {pid} survived the run");
}

#[tokio::test]
async fn success_captures_output_and_exit_zero() {
    let (out, streamed) = run_collect(sh("echo hello")).await;
    assert_eq!(out.exit_code, 0);
    assert!(!out.timed_out && !out.truncated);
    assert_eq!(out.aggregated, "hello\n");
    assert_eq!(out.model_output, "hello\n");
    assert_eq!(streamed, b"hello\n");
}

#[tokio::test]
async fn failure_exit_code_is_reported() {
    let (out, _) = run_collect(sh("exit 3")).await;
    assert_eq!(out.exit_code, 3);
    assert!(!out.timed_out);
}

#[tokio::test]
async fn signal_death_is_128_plus_signal() {
    let (out, _) = run_collect(sh("kill -9 $$")).await;
    assert_eq!(out.exit_code, 137);
}

#[tokio::test]
async fn stderr_is_captured_and_interleaved() {
    let (out, streamed) = run_collect(sh(
        "echo out1; sleep 0.3; echo err >&2; sleep 0.3; echo out2",
    ))
    .await;
    assert_eq!(out.aggregated, "out1\nerr\nout2\n");
    assert_eq!(streamed, b"out1\nerr\nout2\n");
}

#[tokio::test]
async fn cwd_is_used() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut r = req(&["pwd", "-P"]);
    r.cwd = dir.path().to_path_buf();
    let (out, _) = run_collect(r).await;
    let expected = dir.path().canonicalize().expect("canonical tempdir");
    assert_eq!(out.aggregated.trim_end(), expected.to_string_lossy());
}

#[tokio::test]
async fn timeout_returns_124_quickly() {
    let mut r = sh("echo before; sleep 30");
    r.timeout = Duration::from_millis(500);
    let started = Instant::now();
    let (out, _) = run_collect(r).await;
    assert!(started.elapsed() < Duration::from_millis(2500));
    assert_eq!(out.exit_code, TIMEOUT_EXIT_CODE);
    assert!(out.timed_out);
    assert_eq!(out.aggregated, "before\n");
    assert_eq!(out.timeout, Duration::from_millis(500));
}

#[tokio::test]
async fn timeout_kills_background_grandchild() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pid_file = dir.path().join("pid");
    let mut r = sh("sleep 100 & echo $! > \"$PIDFILE\"; sleep 100");
    r.env
        .push(("PIDFILE".into(), pid_file.display().to_string()));
    r.timeout = Duration::from_millis(500);
    let started = Instant::now();
    let (out, _) = run_collect(r).await;
    assert!(started.elapsed() < Duration::from_millis(2500));
    assert!(out.timed_out);
    assert_gone(read_pid(&pid_file)).await;
}

#[tokio::test]
async fn sigterm_ignoring_group_is_sigkilled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pid_file = dir.path().join("pid");
    // An ignored SIGTERM is inherited by the background `sleep` too.
    let mut r = sh("trap '' TERM; sleep 100 & echo $! > \"$PIDFILE\"; sleep 100");
    r.env
        .push(("PIDFILE".into(), pid_file.display().to_string()));
    r.timeout = Duration::from_millis(300);
    let started = Instant::now();
    let (out, _) = run_collect(r).await;
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(300) + KILL_GRACE,
        "{elapsed:?}"
    );
    assert!(elapsed < Duration::from_millis(2300), "{elapsed:?}");
    assert_eq!(out.exit_code, TIMEOUT_EXIT_CODE);
    assert_gone(read_pid(&pid_file)).await;
}

#[tokio::test]
async fn grandchild_holding_pipe_does_not_hang_after_exit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pid_file = dir.path().join("pid");
    // The background sleep inherits stdout/stderr, so EOF never comes on
    // its own once `sh` exits.
    let mut r = sh("sleep 100 & echo $! > \"$PIDFILE\"; echo done");
    r.env
        .push(("PIDFILE".into(), pid_file.display().to_string()));
    let started = Instant::now();
    let (out, _) = run_collect(r).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(out.exit_code, 0);
    assert!(!out.timed_out);
    assert_eq!(out.aggregated, "done\n");
    assert_gone(read_pid(&pid_file)).await;
}

#[tokio::test]
async fn stubborn_grandchild_after_exit_is_killed_and_drained() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pid_file = dir.path().join("pid");
    let mut r =
        sh("trap '' TERM; (sleep 0.2; echo late; sleep 100) & echo $! > \"$PIDFILE\"; echo done");
    r.env
        .push(("PIDFILE".into(), pid_file.display().to_string()));
    let started = Instant::now();
    let (out, _) = run_collect(r).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(out.exit_code, 0);
    // Output written by the straggler during the grace period is kept.
    assert_eq!(out.aggregated, "done\nlate\n");
    assert_gone(read_pid(&pid_file)).await;
}

#[tokio::test]
async fn cancel_kills_and_returns_partial_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pid_file = dir.path().join("pid");
    let mut r = sh("echo started; sleep 100 & echo $! > \"$PIDFILE\"; sleep 100");
    r.env
        .push(("PIDFILE".into(), pid_file.display().to_string()));
    let started = Instant::now();
    let result = run(r, |_| {}, tokio::time::sleep(Duration::from_millis(300))).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    match result {
        Err(ExecError::Cancelled { partial }) => {
            assert!(!partial.timed_out);
            assert_eq!(partial.aggregated, "started\n");
            assert_eq!(partial.exit_code, 128 + 15);
        }
        other => panic!("expected Cancelled, got {other:?}"),
    }
    assert_gone(read_pid(&pid_file)).await;
}

#[tokio::test]
async fn cancel_after_exit_is_ignored() {
    // `sh` exits at once; the TERM-ignoring straggler keeps the call in its
    // drain phase until SIGKILL, and the cancel fires during that phase.
    let r = sh("trap '' TERM; sleep 100 & echo done");
    let cancel = tokio::time::sleep(Duration::from_millis(200));
    let out = run(r, |_| {}, cancel)
        .await
        .expect("finished, not cancelled");
    assert_eq!(out.exit_code, 0);
    assert_eq!(out.aggregated, "done\n");
    assert!(
        out.duration >= Duration::from_millis(200),
        "{:?}",
        out.duration
    );
}

#[tokio::test]
async fn missing_program_is_a_spawn_error() {
    let err = run(req(&["definitely-not-a-program-42"]), |_| {}, pending())
        .await
        .expect_err("must fail");
    match &err {
        ExecError::Spawn { program, source } => {
            assert_eq!(program, "definitely-not-a-program-42");
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected Spawn, got {other:?}"),
    }
    assert!(err.to_string().contains("definitely-not-a-program-42"));
}

#[tokio::test]
async fn non_executable_file_is_a_spawn_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("script.sh");
    std::fs::write(&script, "#!/bin/sh\necho hi\n").expect("write script");
    let err = run(req(&[&script.display().to_string()]), |_| {}, pending())
        .await
        .expect_err("must fail");
    match err {
        ExecError::Spawn { source, .. } => {
            assert_eq!(source.kind(), std::io::ErrorKind::PermissionDenied);
        }
        other => panic!("expected Spawn, got {other:?}"),
    }
}

#[tokio::test]
async fn missing_cwd_is_a_spawn_error_naming_the_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut r = req(&["true"]);
    r.cwd = dir.path().join("nope");
    let err = run(r, |_| {}, pending()).await.expect_err("must fail");
    assert!(matches!(err, ExecError::Spawn { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("working directory") && msg.contains("nope"),
        "{msg}"
    );
}

#[tokio::test]
async fn empty_command_is_rejected() {
    let err = run(req(&[]), |_| {}, pending())
        .await
        .expect_err("must fail");
    assert!(matches!(err, ExecError::EmptyCommand));
}

#[tokio::test]
async fn stdin_is_closed() {
    let mut r = req(&["cat"]);
    r.timeout = Duration::from_secs(5);
    let started = Instant::now();
    let (out, _) = run_collect(r).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(out.exit_code, 0);
    assert_eq!(out.aggregated, "");
}

#[tokio::test]
async fn input_reaches_stdin_and_streams_are_told_apart() {
    let r = sh("cat; echo to-err >&2");
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let out = run_with_input(
        r,
        Some(b"{\"event\":\"x\"}\n".to_vec()),
        |stream, chunk| match stream {
            Stream::Stdout => stdout.extend_from_slice(chunk),
            Stream::Stderr => stderr.extend_from_slice(chunk),
        },
        pending(),
    )
    .await
    .expect("command should run");
    assert_eq!(out.exit_code, 0);
    assert_eq!(stdout, b"{\"event\":\"x\"}\n");
    assert_eq!(stderr, b"to-err\n");
}

#[tokio::test]
async fn input_a_command_never_reads_does_not_block_it() {
    // More than a pipe buffer holds, to a command that exits without reading.
    let started = Instant::now();
    let out = run_with_input(
        sh("exit 0"),
        Some(vec![b'x'; 1 << 20]),
        |_, _| {},
        pending(),
    )
    .await
    .expect("command should run");
    assert_eq!(out.exit_code, 0);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn huge_output_is_bounded_with_head_marker_tail() {
    let r = sh("yes | head -c 50000000");
    let (client_cap, model_cap) = (r.client_output_cap, r.model_output_cap);
    let mut streamed = 0usize;
    let out = run(r, |c| streamed += c.len(), pending())
        .await
        .expect("command should run");
    assert_eq!(out.exit_code, 0);
    assert_eq!(streamed, 50_000_000, "on_output is not capped");
    assert!(out.truncated);
    assert!(out.aggregated.len() <= client_cap + 64);
    assert!(out.aggregated.starts_with("y\ny\n"));
    assert!(out.aggregated.ends_with(" bytes omitted …]\n"));
    assert!(out.model_output.len() <= model_cap + 64);
    let (head, rest) = out.model_output.split_once("[… ").expect("marker");
    assert!(head.starts_with("y\ny\n") && head.ends_with("y\n"));
    assert!(rest.contains(" lines) omitted …]\ny\n"), "{rest:.80}");
    assert!(rest.ends_with("y\ny\n"));
}

#[tokio::test]
async fn utf8_split_across_chunks_is_not_mangled() {
    // "é" is \303\251; the sleep makes the two bytes arrive as two reads.
    let mut chunks = 0;
    let out = run(
        sh("printf 'caf\\303'; sleep 0.3; printf '\\251\\n'"),
        |_| chunks += 1,
        pending(),
    )
    .await
    .expect("command should run");
    assert!(chunks >= 2, "bytes arrived in {chunks} chunk(s)");
    assert_eq!(out.aggregated, "café\n");
    assert_eq!(out.model_output, "café\n");
}

#[tokio::test]
async fn on_output_gets_every_byte_in_order_beyond_caps() {
    let mut r = req(&["seq", "1", "200000"]);
    r.client_output_cap = 1000;
    r.model_output_cap = 100;
    let (out, streamed) = run_collect(r).await;
    let expected: String = (1..=200_000).map(|i| format!("{i}\n")).collect();
    assert_eq!(streamed, expected.as_bytes());
    assert!(out.truncated);
    assert!(out.model_output.starts_with("1\n2\n"));
    assert!(out.model_output.ends_with("199999\n200000\n"));
}

#[tokio::test]
async fn env_is_exactly_the_given_one() {
    let mut r = req(&["env"]);
    r.env.push(("AGENTD_TEST".into(), "a b=c".into()));
    let (out, _) = run_collect(r).await;
    let mut lines: Vec<&str> = out.aggregated.lines().collect();
    lines.sort_unstable();
    assert_eq!(lines, vec!["AGENTD_TEST=a b=c", &format!("PATH={PATH}")]);
}

#[tokio::test]
async fn wrapper_is_prepended() {
    let mut r = sh("echo \"$FOO\"");
    r.wrapper = vec!["env".into(), "FOO=1".into()];
    let (out, _) = run_collect(r).await;
    assert_eq!(out.aggregated, "1\n");
}

#[tokio::test]
async fn format_for_model_renders_exit_time_and_output() {
    let (out, _) = run_collect(sh("echo hi")).await;
    let text = format_for_model(&out);
    assert!(text.starts_with("Exit code: 0\nWall time: "), "{text}");
    assert!(text.ends_with(" s\nOutput:\nhi\n"), "{text}");

    let mut r = sh("sleep 30");
    r.timeout = Duration::from_millis(200);
    let (out, _) = run_collect(r).await;
    let text = format_for_model(&out);
    assert!(text.starts_with("Exit code: 124\n"), "{text}");
    assert!(
        text.contains("\ncommand timed out after 200 ms\nOutput:\n"),
        "{text}"
    );
}

#[test]
fn run_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let fut = run(req(&["true"]), |_| {}, pending());
    assert_send(&fut);
}
