//! `command/exec` (Codex's shape, buffered): a command outside any thread, for admin tokens
//! only, under a timeout and an output cap, confined by the sandbox policy it names. Answers are
//! validated against Codex's `CommandExecResponse`.

use std::time::{Duration, Instant};

use agentd_tests::access::connect_with_token;
use agentd_tests::{Agentd, Client};
use serde_json::{json, Value};

use crate::codex_support::{assert_codex_result, tokens};
use crate::sandbox_support::probe;

const FORBIDDEN: i64 = -32003;
const INVALID_PARAMS: i64 = -32602;

fn code(answer: &Value) -> i64 {
    answer["error"]["code"].as_i64().unwrap_or(0)
}

async fn exec(c: &mut Client, params: Value) -> Value {
    let result = c
        .call("command/exec", params)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_codex_result("command/exec", &result);
    result
}

/// A daemon with configured tokens; an admin client and a control one.
async fn daemon() -> (crate::codex_support::Tokens, Agentd, Client, Client) {
    let (t, opts) = tokens();
    let d = Agentd::start(opts).await.unwrap();
    let admin = connect_with_token(&d, &t.admin, "admin").await.unwrap();
    let control = connect_with_token(&d, &t.control, "control").await.unwrap();
    (t, d, admin, control)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_exec_runs_a_command_for_an_admin_only() {
    let (_t, _d, mut admin, mut control) = daemon().await;
    let ws = tempfile::tempdir().unwrap();
    let cwd = ws.path().display().to_string();
    let full = json!({"type": "dangerFullAccess"});

    let hi = exec(
        &mut admin,
        json!({"command": ["echo", "hi"], "cwd": cwd, "sandboxPolicy": full}),
    )
    .await;
    assert_eq!(hi["exitCode"], 0);
    assert_eq!(hi["stdout"], "hi\n");
    assert_eq!(hi["stderr"], "");
    let failed = exec(
        &mut admin,
        json!({"command": ["sh", "-c", "echo oops >&2; exit 3"], "cwd": cwd,
               "sandboxPolicy": full, "env": {"UNUSED": "1"}}),
    )
    .await;
    assert_eq!(failed["exitCode"], 3);
    assert_eq!(failed["stderr"], "oops\n");
    let env = exec(
        &mut admin,
        json!({"command": ["sh", "-c", "echo $GREETING"], "cwd": cwd,
               "sandboxPolicy": full, "env": {"GREETING": "hello"}}),
    )
    .await;
    assert_eq!(env["stdout"], "hello\n");

    let refused = control
        .request("command/exec", json!({"command": ["echo", "hi"]}))
        .await
        .unwrap();
    assert_eq!(code(&refused), FORBIDDEN, "{refused}");
    for bad in [
        json!({"command": []}),
        json!({"command": ["sh"], "tty": true}),
        json!({"command": ["sh"], "processId": "p1"}),
    ] {
        let r = admin.request("command/exec", bad.clone()).await.unwrap();
        assert_eq!(code(&r), INVALID_PARAMS, "{bad}: {r}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_exec_enforces_its_timeout_and_output_cap() {
    let (_t, _d, mut admin, _) = daemon().await;
    let ws = tempfile::tempdir().unwrap();
    let cwd = ws.path().display().to_string();
    let full = json!({"type": "dangerFullAccess"});

    let started = Instant::now();
    let slow = exec(
        &mut admin,
        json!({"command": ["sleep", "30"], "cwd": cwd, "sandboxPolicy": full, "timeoutMs": 300}),
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_ne!(slow["exitCode"], 0, "{slow}");

    let loud = exec(
        &mut admin,
        json!({"command": ["sh", "-c", "head -c 200000 /dev/zero | tr '\\0' a"], "cwd": cwd,
               "sandboxPolicy": full, "outputBytesCap": 1000}),
    )
    .await;
    assert_eq!(loud["exitCode"], 0);
    let out = loud["stdout"].as_str().unwrap();
    assert!(out.len() <= 1000 && out.len() >= 100, "{} bytes", out.len());
    assert!(out.chars().all(|c| c == 'a'));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_exec_is_confined_by_its_sandbox_policy() {
    let (_t, _d, mut admin, _) = daemon().await;
    let ws = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let cwd = ws.path().display().to_string();
    let target = outside.path().join("escaped");
    let write = format!("echo x > {}", target.display());
    let read_only = json!({
        "command": ["sh", "-c", write], "cwd": cwd, "sandboxPolicy": {"type": "readOnly"}
    });

    if probe()["confinement"] != true {
        // No confinement here: the command is refused, never run unconfined.
        let r = admin.request("command/exec", read_only).await.unwrap();
        assert!(r.get("error").is_some(), "{r}");
        assert!(!target.exists(), "ran unconfined");
        eprintln!("confinement unavailable here; checked the refusal");
        return;
    }
    let confined = exec(&mut admin, read_only).await;
    assert_ne!(confined["exitCode"], 0, "{confined}");
    assert!(
        !target.exists(),
        "a read-only command wrote outside the workspace"
    );

    // The same command unconfined does write: the refusal above was the sandbox's.
    let free = exec(
        &mut admin,
        json!({"command": ["sh", "-c", write], "cwd": cwd, "sandboxPolicy": {"type": "dangerFullAccess"}}),
    )
    .await;
    assert_eq!(free["exitCode"], 0, "{free}");
    assert!(target.exists());
}
