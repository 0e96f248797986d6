//! The sandbox through whole turns: the mock model asks for `shell` calls, the daemon runs them
//! confined per the thread's (or the turn's) sandbox policy, a denial goes back to the model as
//! a normal result marked `sandbox denied`, and — where the approval policy lets a person be
//! asked — an approved escalation runs the command unconfined.

use crate::sandbox_support;

use std::time::Duration;

use agentd_tests::mock_llm::Scripted;
use agentd_tests::tools::{
    completed_items, server_requests, shell_call_with, tool_calls, turn_status, ToolRig,
    COMMAND_APPROVAL,
};
use agentd_tests::Options;
use sandbox_support::{confinement_or_refusal, unique_marker, wait_until_no_process_mentions};
use serde_json::{json, Value};

/// One model response calling `shell` once per argument object (call ids c1, c2, …), then
/// "done".
fn shell_calls(calls: &[Value]) -> Vec<Scripted> {
    shell_calls_named("c", calls)
}

fn shell_calls_named(prefix: &str, calls: &[Value]) -> Vec<Scripted> {
    let steps = calls
        .iter()
        .enumerate()
        .map(|(i, args)| shell_call_with(&format!("{prefix}{}", i + 1), args))
        .collect();
    vec![tool_calls(steps), Scripted::responses_text("done")]
}

/// `workspace-write` with `approval`, and no `/tmp` or `$TMPDIR` roots: the workspace (a temp
/// dir) is then the only place a command may write.
fn confined(approval: &str) -> Options {
    Options::default()
        .policies(approval, "workspace-write")
        .set("sandbox_workspace_write.exclude_slash_tmp=true")
        .set("sandbox_workspace_write.exclude_tmpdir_env_var=true")
}

/// A rig confined by [`confined`] with `approval`, its model following `script`.
async fn confined_rig(script: Vec<Scripted>, approval: &str) -> ToolRig {
    ToolRig::start(script, confined(approval)).await.unwrap()
}

async fn one_turn(rig: &ToolRig) -> Vec<Value> {
    rig.one_turn("go").await.unwrap().events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confined_command_writes_its_workspace_and_a_denial_reaches_the_model() {
    let outside = tempfile::tempdir().unwrap();
    let escaped = outside.path().join("escaped");
    let rig = confined_rig(
        shell_calls(&[
            json!({"command": ["sh", "-c", "echo in > inside.txt"]}),
            json!({"command": ["sh", "-c", format!("echo out > {}", escaped.display())]}),
        ]),
        "never",
    )
    .await;
    let events = one_turn(&rig).await;
    assert_eq!(turn_status(&events), "completed");
    assert!(server_requests(&events, COMMAND_APPROVAL).is_empty());
    let items = completed_items(&events, "commandExecution");
    assert_eq!(items.len(), 2, "{events:#?}");
    let second = rig.model_saw(2, "c2").await.unwrap();
    if !confinement_or_refusal() {
        assert!(second.contains("confinement is not available"), "{second}");
        assert!(
            !rig.path("inside.txt").exists(),
            "refused, not run unconfined"
        );
        return;
    }
    assert_eq!(items[0]["status"], "completed", "{:#?}", items[0]);
    assert_eq!(
        std::fs::read_to_string(rig.path("inside.txt")).unwrap(),
        "in\n"
    );
    assert_eq!(items[1]["status"], "failed");
    assert!(!escaped.exists(), "nothing written outside the workspace");
    assert!(second.starts_with("sandbox denied"), "{second}");
    assert!(
        second.contains("Read-only file system"),
        "the real error: {second}"
    );
    assert!(
        items[1]["aggregatedOutput"]
            .as_str()
            .unwrap()
            .contains("Read-only file system"),
        "{:#?}",
        items[1]
    );
    // No mount point left behind in the workspace (they go just after the command).
    let listing = || -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(rig.workspace.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    // Polled: a detached cleaner removes them after the command is reported done (see
    // `Workspace::assert_listing`), so no message of the daemon's marks that moment.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while listing() != ["inside.txt"] && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(listing(), ["inside.txt"]);
    rig.mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_escalation_runs_the_denied_command_unconfined() {
    if !confinement_or_refusal() {
        return;
    }
    let outside = tempfile::tempdir().unwrap();
    let escaped = outside.path().join("escaped");
    let rig = confined_rig(
        shell_calls(&[json!({"command": ["touch", escaped.display().to_string()]})]),
        "on-failure",
    )
    .await;
    let (mut c, _thread, turn) = rig.start_turn("t", "touch it").await.unwrap();
    let req = c.server_request(COMMAND_APPROVAL).await.unwrap();
    let reason = req["params"]["reason"].as_str().unwrap();
    assert!(reason.contains("sandbox"), "{reason}");
    assert!(reason.contains("Read-only file system"), "{reason}");
    assert!(!escaped.exists(), "the confined run was denied");
    let events = c.decide_and_finish(&req, "accept", &turn).await.unwrap();
    assert_eq!(turn_status(&events), "completed");
    assert!(escaped.exists(), "the approved command ran unconfined");
    let items = completed_items(&events, "commandExecution");
    assert_eq!(items[0]["status"], "completed");
    assert_eq!(items[0]["exitCode"], 0);
    let seen = rig.model_saw(2, "c1").await.unwrap();
    assert!(seen.starts_with("Exit code: 0"), "{seen}");
    rig.mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_escalation_tells_the_model_what_the_sandbox_said() {
    if !confinement_or_refusal() {
        return;
    }
    let rig = confined_rig(
        shell_calls(&[json!({"command": ["sh", "-c", "mkdir -p .agents && touch .agents/x"]})]),
        "on-request",
    )
    .await;
    let (mut c, _thread, turn) = rig.start_turn("t", "go").await.unwrap();
    let req = c.server_request(COMMAND_APPROVAL).await.unwrap();
    let events = c.decide_and_finish(&req, "decline", &turn).await.unwrap();
    assert_eq!(turn_status(&events), "completed");
    let items = completed_items(&events, "commandExecution");
    assert_eq!(items[0]["status"], "declined");
    let seen = rig.model_saw(2, "c1").await.unwrap();
    assert!(seen.contains("sandbox denied"), "{seen}");
    assert!(seen.contains("declined"), "{seen}");
    assert!(seen.contains("Read-only file system"), "{seen}");
    // Polled: a detached cleaner removes the placeholder after the command is reported done, so
    // no message of the daemon's marks that moment (and nothing can create it any more).
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while rig.path(".agents").exists() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!rig.path(".agents").exists(), "no placeholder left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_turns_sandbox_policy_adds_writable_roots() {
    if !confinement_or_refusal() {
        return;
    }
    let extra = tempfile::tempdir().unwrap();
    let target = extra.path().join("allowed");
    let rig = confined_rig(
        shell_calls(&[json!({"command": ["touch", target.display().to_string()]})]),
        "never",
    )
    .await;
    let mut c = rig.client("t").await.unwrap();
    let thread = rig.thread(&mut c).await.unwrap();
    let r = c
        .call(
            "turn/start",
            json!({
                "threadId": thread,
                "input": [{"type": "text", "text": "go"}],
                "sandboxPolicy": {"type": "workspaceWrite", "writableRoots": [extra.path()]},
            }),
        )
        .await
        .unwrap();
    let turn = r["turn"]["id"].as_str().unwrap().to_owned();
    let events = c.until_turn_completed(&turn).await.unwrap();
    let items = completed_items(&events, "commandExecution");
    assert_eq!(items[0]["status"], "completed", "{:#?}", items[0]);
    assert!(target.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_bomb_hits_the_limit_and_the_daemon_stays_healthy() {
    if !confinement_or_refusal() {
        return;
    }
    let mut script = shell_calls(&[json!({
        "command": ["sh", "-c", "f() { f | f & }; f; sleep 10"],
        "timeout_ms": 1500,
    })]);
    script.extend(shell_calls_named(
        "d",
        &[json!({"command": ["echo", "still", "here"]})],
    ));
    let rig = confined_rig(script, "never").await;
    let (mut c, thread, turn) = rig.start_turn("t", "bomb").await.unwrap();
    let events = c.until_turn_completed(&turn).await.unwrap();
    assert_eq!(turn_status(&events), "completed");
    let bomb = rig.model_saw(2, "c1").await.unwrap();
    assert!(
        bomb.contains("timed out") || bomb.contains("fork"),
        "{bomb}"
    );

    // The daemon answers and runs the next command at once.
    let started = std::time::Instant::now();
    let events = c.run_turn(&thread, "again").await.unwrap();
    assert_eq!(turn_status(&events), "completed");
    let seen = rig.model_saw(4, "d1").await.unwrap();
    assert!(seen.contains("still here"), "{seen}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_kills_the_commands_children_too() {
    if !confinement_or_refusal() {
        return;
    }
    // The marker in the script lets the test see when the last process running it is gone.
    let marker = unique_marker("survivor");
    let script = format!("trap '' TERM; (sleep 2; touch survivor; : {marker}) & sleep 30");
    let rig = confined_rig(
        shell_calls(&[json!({
            "command": ["sh", "-c", script],
            "timeout_ms": 500,
        })]),
        "never",
    )
    .await;
    let events = one_turn(&rig).await;
    assert_eq!(turn_status(&events), "completed");
    let items = completed_items(&events, "commandExecution");
    assert_eq!(items[0]["exitCode"], 124, "{:#?}", items[0]);
    // Once no process of the script is left, `survivor` exists if the background child outlived
    // the command, and never will otherwise.
    let gone = tokio::task::spawn_blocking(move || {
        wait_until_no_process_mentions(&marker, Duration::from_secs(10))
    })
    .await
    .unwrap();
    assert!(gone, "processes of the command still run");
    assert!(
        !rig.path("survivor").exists(),
        "the background child died with the command"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_logs_the_sandbox_level_at_start() {
    let mut opts = confined("never");
    opts.env.push(("RUST_LOG".into(), "agentd=info".into()));
    let mut rig = ToolRig::start(Vec::new(), opts).await.unwrap();
    let line = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(line) = rig.daemon.stderr.recv().await {
            if line.contains("sandbox:") {
                return line;
            }
        }
        String::new()
    })
    .await
    .expect("a sandbox line in the log");
    if sandbox_support::probe()["confinement"] == true {
        assert!(line.contains("seccomp"), "{line}");
    } else {
        assert!(line.contains("unavailable"), "{line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_without_network_share_one_empty_network_namespace() {
    if !confinement_or_refusal() {
        return;
    }
    let rig = confined_rig(
        shell_calls(&[
            json!({"command": ["readlink", "/proc/self/ns/net"]}),
            json!({"command": ["readlink", "/proc/self/ns/net"]}),
        ]),
        "never",
    )
    .await;
    let events = one_turn(&rig).await;
    assert_eq!(turn_status(&events), "completed");
    let items = completed_items(&events, "commandExecution");
    let first = items[0]["aggregatedOutput"].as_str().unwrap().to_owned();
    let second = items[1]["aggregatedOutput"].as_str().unwrap().to_owned();
    let host = std::fs::read_link("/proc/self/ns/net").unwrap();
    assert!(first.starts_with("net:["), "{first}");
    assert_eq!(
        first, second,
        "the daemon's holder namespace, joined by both"
    );
    assert_ne!(first.trim(), host.to_string_lossy(), "not the host's");
}

/// Starts 350 short sleepers and reports how many it could: under the default cap (1024) all of
/// them, under `sandbox_max_processes = 40` the fork fails (for a root daemon the PID
/// namespace's floor of 300 is what stops it, which 350 still exceeds).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configured_process_cap_is_what_stops_a_command() {
    if !confinement_or_refusal() {
        return;
    }
    let sleepers = json!({
        "command": ["sh", "-c", "i=0; while [ $i -lt 350 ]; do sleep 2 & i=$((i+1)); done; echo started=$i; wait"],
        "timeout_ms": 20000,
    });
    let roomy = confined_rig(shell_calls(std::slice::from_ref(&sleepers)), "never").await;
    assert_eq!(turn_status(&one_turn(&roomy).await), "completed");
    let seen = roomy.model_saw(2, "c1").await.unwrap();
    assert!(
        seen.contains("started=350"),
        "the default cap leaves room: {seen}"
    );

    let capped = ToolRig::start(
        shell_calls(&[sleepers]),
        confined("never").set("sandbox_max_processes=40"),
    )
    .await
    .unwrap();
    assert_eq!(turn_status(&one_turn(&capped).await), "completed");
    let seen = capped.model_saw(2, "c1").await.unwrap();
    assert!(
        seen.contains("fork") || seen.contains("Resource temporarily unavailable"),
        "the configured cap stopped it: {seen}"
    );
    assert!(!seen.contains("started=350"), "{seen}");
}
