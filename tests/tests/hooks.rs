//! Lifecycle hooks (`[[hooks.EVENT]]` in config.toml) end to end: for each event, a hook that
//! lets things continue (exit 0), one that blocks (exit 2, stderr is the reason), one that fails
//! (another exit code: logged, the turn carries on) and one that hangs (killed at its timeout).
//! Every run is reported to clients as `hook/started` + `hook/completed`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use agentd_tests::json::assert_absent_or_null;
use agentd_tests::mock_llm::{Scripted, Step};
use agentd_tests::tools::{
    completed_items, read, shell_call, tool_calls, turn_status, FinishedTurn, ToolRig,
};
use agentd_tests::turns::of_method;
use agentd_tests::{Agentd, Options};
use serde_json::{json, Value};

/// A directory hooks write what they saw into, and the hook commands that do it.
struct Spy {
    dir: tempfile::TempDir,
}

impl Spy {
    fn new() -> Spy {
        Spy {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Saves its stdin as `name`, then exits 0.
    fn record(&self, name: &str) -> String {
        format!("cat > '{}'", self.path(name).display())
    }

    /// Saves its stdin as `name`, then blocks with `reason`.
    fn block(&self, name: &str, reason: &str) -> String {
        format!("{}; echo '{reason}' >&2; exit 2", self.record(name))
    }

    /// What the hook saved.
    fn saw(&self, name: &str) -> Value {
        serde_json::from_str(&read(&self.path(name))).unwrap()
    }
}

/// A hook that fails: exit 1 with a message.
const FAILING: &str = "echo 'hook is broken' >&2; exit 1";
/// A hook that hangs; configured with a short timeout.
const HANGING: &str = "sleep 30";

/// One `[[hooks.EVENT]]` entry with a shell-text command.
fn hook(event: &str, command: &str, extra: &str) -> String {
    format!("[[hooks.{event}]]\ncommand = '''{command}'''\ntimeout_ms = 300\n{extra}\n")
}

async fn rig(config: String, script: Vec<Scripted>) -> ToolRig {
    ToolRig::start(script, Options::default().unconfined().config_toml(config))
        .await
        .unwrap()
}

/// A model that runs `touch ran` with the shell tool, then says "done".
fn touch_then_done() -> Vec<Scripted> {
    vec![
        Scripted::responses_tool_call("c1", "shell", r#"{"command":["touch","ran"]}"#),
        Scripted::responses_text("done"),
    ]
}

async fn one_turn(rig: &ToolRig, prompt: &str) -> (String, String, Vec<Value>) {
    let FinishedTurn {
        thread,
        turn,
        events,
    } = rig.one_turn(prompt).await.unwrap();
    (thread, turn, events)
}

/// `(hook/started, hook/completed)` params of each hook run, in order.
fn hook_runs(events: &[Value]) -> Vec<(Value, Value)> {
    let started = of_method(events, "hook/started");
    let completed = of_method(events, "hook/completed");
    assert_eq!(started.len(), completed.len(), "{events:#?}");
    started
        .into_iter()
        .zip(completed)
        .map(|(s, c)| {
            assert_eq!(s["params"]["run"]["id"], c["params"]["run"]["id"]);
            (s["params"].clone(), c["params"].clone())
        })
        .collect()
}

/// The only hook run's `hook/completed` params, checked for the common fields.
#[track_caller]
fn the_run(events: &[Value], event: &str, outcome: &str) -> Value {
    let runs = hook_runs(events);
    assert_eq!(runs.len(), 1, "{runs:#?}");
    let (started, completed) = runs.into_iter().next().unwrap();
    assert_eq!(started["hook"]["event"], event);
    assert_eq!(started["run"]["eventName"], event);
    assert_eq!(started["run"]["status"], "running");
    assert_eq!(started["run"]["handlerType"], "command");
    assert!(
        started["hook"]["command"]
            .as_str()
            .unwrap()
            .starts_with("sh -c"),
        "{started}"
    );
    assert!(
        started["run"]["sourcePath"]
            .as_str()
            .unwrap()
            .ends_with("config.toml"),
        "{started}"
    );
    assert_eq!(completed["outcome"], outcome);
    assert_eq!(completed["run"]["status"], outcome);
    assert!(
        completed["run"]["durationMs"].as_i64().is_some(),
        "{completed}"
    );
    completed
}

/// What a turn with one broken hook left behind: the rig, the run's `hook/completed` params and
/// how long the turn took from its start.
struct BrokenHookTurn {
    rig: ToolRig,
    done: Value,
    took: Duration,
}

/// Runs one turn, `prompt`, with a single hook on `event` (as in config.toml) that runs
/// `command` and breaks; checks that the turn completed all the same and that the run was
/// reported as `failed`.
async fn broken_hook_turn(
    event: &str,
    command: &str,
    script: Vec<Scripted>,
    prompt: &str,
) -> BrokenHookTurn {
    let rig = rig(hook(event, command, ""), script).await;
    let clock = Instant::now();
    let (_, _, events) = one_turn(&rig, prompt).await;
    let took = clock.elapsed();
    assert_eq!(turn_status(&events), "completed");
    // The protocol names events in camelCase: `PreToolUse` runs are `preToolUse`.
    let protocol_name = event[..1].to_ascii_lowercase() + &event[1..];
    let done = the_run(&events, &protocol_name, "failed");
    BrokenHookTurn { rig, done, took }
}

/// As [`broken_hook_turn`] with a hook that hangs: also checks the hook was killed at its
/// timeout, so the turn did not wait for it.
async fn hanging_hook_turn(event: &str, script: Vec<Scripted>, prompt: &str) -> BrokenHookTurn {
    let run = broken_hook_turn(event, HANGING, script, prompt).await;
    assert!(run.took < Duration::from_secs(3), "{:?}", run.took);
    assert!(
        run.done["reason"].as_str().unwrap().contains("timed out"),
        "{}",
        run.done
    );
    run
}

// ---------------------------------------------------------------------------------------------
// PreToolUse

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_tool_use_continue_sees_the_call_and_lets_it_run() {
    let spy = Spy::new();
    let config = hook(
        "PreToolUse",
        &spy.record("pre.json"),
        "matcher = 'shell|apply_patch'",
    );
    let rig = rig(
        config,
        vec![
            tool_calls(vec![
                shell_call("c1", &["touch", "ran"]),
                // Not matched: no hook runs for it.
                Step::function_call("c2", "update_plan", r#"{"plan":[]}"#),
            ]),
            Scripted::responses_text("done"),
        ],
    )
    .await;
    let (thread, turn, events) = one_turn(&rig, "go").await;
    assert_eq!(turn_status(&events), "completed");
    assert!(rig.path("ran").exists());
    let done = the_run(&events, "preToolUse", "completed");
    // `reason?`: only a hook that blocked or failed has one.
    assert_absent_or_null(&done, "reason");
    assert_eq!(
        spy.saw("pre.json"),
        json!({"event": "PreToolUse", "threadId": thread, "turnId": turn, "cwd": rig.cwd(),
               "tool": {"name": "shell", "input": {"command": ["touch", "ran"]}},
               // Claude Code's names for the same (docs/hooks.md).
               "session_id": thread, "transcript_path": null, "hook_event_name": "PreToolUse",
               "permission_mode": "bypassPermissions", "tool_name": "shell",
               "tool_input": {"command": ["touch", "ran"]}, "tool_use_id": "c1"})
    );
    let output = rig.model_saw(2, "c1").await.unwrap();
    assert!(output.starts_with("Exit code: 0"), "{output}");
    rig.mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_tool_use_block_refuses_the_call_with_the_hooks_reason() {
    let spy = Spy::new();
    let rig = rig(
        hook(
            "PreToolUse",
            &spy.block("pre.json", "not today"),
            "matcher = '*'",
        ),
        touch_then_done(),
    )
    .await;
    let (_, _, events) = one_turn(&rig, "go").await;
    assert_eq!(turn_status(&events), "completed");
    assert!(!rig.path("ran").exists(), "the blocked command did not run");
    assert!(completed_items(&events, "commandExecution").is_empty());
    let done = the_run(&events, "preToolUse", "blocked");
    assert_eq!(done["reason"], "not today");
    assert_eq!(done["run"]["entries"][0]["text"], "not today");
    assert_eq!(
        rig.model_saw(2, "c1").await.unwrap(),
        "blocked by hook: not today"
    );
    rig.mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_tool_use_error_is_reported_and_the_call_runs() {
    let BrokenHookTurn { rig, done, .. } =
        broken_hook_turn("PreToolUse", FAILING, touch_then_done(), "go").await;
    assert!(rig.path("ran").exists());
    assert_eq!(done["reason"], "exited with code 1: hook is broken");
    rig.mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_tool_use_timeout_kills_the_hook_and_the_call_runs() {
    let BrokenHookTurn { rig, done, .. } =
        hanging_hook_turn("PreToolUse", touch_then_done(), "go").await;
    assert!(rig.path("ran").exists());
    assert!(
        done["reason"]
            .as_str()
            .unwrap()
            .contains("timed out after 300 ms"),
        "{done}"
    );
    rig.mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_argv_hook_runs_without_a_shell() {
    let spy = Spy::new();
    let config = format!(
        "[[hooks.PreToolUse]]\ncommand = ['cp', '/dev/stdin', '{}']\n",
        spy.path("argv.json").display()
    );
    let rig = rig(config, touch_then_done()).await;
    let (_, _, events) = one_turn(&rig, "go").await;
    assert_eq!(turn_status(&events), "completed");
    assert_eq!(spy.saw("argv.json")["tool"]["name"], "shell");
    let runs = hook_runs(&events);
    assert_eq!(runs.len(), 1);
    assert!(runs[0].0["hook"]["command"]
        .as_str()
        .unwrap()
        .starts_with("cp "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupting_a_turn_kills_its_running_hook() {
    let rig = rig(
        "[[hooks.PreToolUse]]\ncommand = 'sleep 30'\ntimeout_ms = 60000\n".to_owned(),
        touch_then_done(),
    )
    .await;
    let (mut c, thread, turn) = rig.start_turn("t", "go").await.unwrap();
    c.wait_for("hook/started").await.unwrap();
    let events = c
        .interrupt_within(&thread, &turn, Duration::from_secs(3))
        .await
        .unwrap();
    assert_eq!(turn_status(&events), "interrupted");
    assert!(
        !rig.path("ran").exists(),
        "the call does not run after the interrupt"
    );
    let done = of_method(&events, "hook/completed");
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["params"]["outcome"], "failed");
}

// ---------------------------------------------------------------------------------------------
// PostToolUse

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_tool_use_continue_sees_the_output() {
    let spy = Spy::new();
    let rig = rig(
        hook("PostToolUse", &spy.record("post.json"), "matcher = 'shell'"),
        touch_then_done(),
    )
    .await;
    let (_, turn, events) = one_turn(&rig, "go").await;
    assert_eq!(turn_status(&events), "completed");
    the_run(&events, "postToolUse", "completed");
    let saw = spy.saw("post.json");
    assert_eq!(saw["event"], "PostToolUse");
    assert_eq!(saw["turnId"], turn);
    assert_eq!(
        saw["tool"],
        json!({"name": "shell", "input": {"command": ["touch", "ran"]}})
    );
    let output = rig.model_saw(2, "c1").await.unwrap();
    assert_eq!(saw["output"], output, "the hook saw what the model sees");
    assert!(output.starts_with("Exit code: 0"), "{output}");
    // The hook ran after the command.
    let item_done = events
        .iter()
        .position(|e| {
            e["method"] == "item/completed" && e["params"]["item"]["type"] == "commandExecution"
        })
        .unwrap();
    let hook_started = events
        .iter()
        .position(|e| e["method"] == "hook/started")
        .unwrap();
    assert!(item_done < hook_started);
    rig.mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_tool_use_block_appends_its_reason_to_the_output() {
    let spy = Spy::new();
    let rig = rig(
        hook(
            "PostToolUse",
            &spy.block("post.json", "check the file mode too"),
            "",
        ),
        touch_then_done(),
    )
    .await;
    let (_, _, events) = one_turn(&rig, "go").await;
    assert_eq!(turn_status(&events), "completed");
    assert!(rig.path("ran").exists(), "the tool already ran");
    the_run(&events, "postToolUse", "blocked");
    let output = rig.model_saw(2, "c1").await.unwrap();
    assert!(output.starts_with("Exit code: 0"), "{output}");
    assert!(
        output.ends_with("\n\nPostToolUse hook: check the file mode too"),
        "{output}"
    );
    rig.mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_tool_use_error_leaves_the_output_alone() {
    let BrokenHookTurn { rig, .. } =
        broken_hook_turn("PostToolUse", FAILING, touch_then_done(), "go").await;
    let output = rig.model_saw(2, "c1").await.unwrap();
    assert!(!output.contains("hook"), "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_tool_use_timeout_leaves_the_output_alone() {
    let BrokenHookTurn { rig, .. } =
        hanging_hook_turn("PostToolUse", touch_then_done(), "go").await;
    let output = rig.model_saw(2, "c1").await.unwrap();
    assert!(!output.contains("hook"), "{output}");
}

// ---------------------------------------------------------------------------------------------
// UserPromptSubmit

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_prompt_submit_continue_sees_the_prompt() {
    let spy = Spy::new();
    let rig = rig(
        hook("UserPromptSubmit", &spy.record("prompt.json"), ""),
        vec![Scripted::responses_text("hi")],
    )
    .await;
    let (thread, turn, events) = one_turn(&rig, "hello there").await;
    assert_eq!(turn_status(&events), "completed");
    the_run(&events, "userPromptSubmit", "completed");
    assert_eq!(
        spy.saw("prompt.json"),
        json!({"event": "UserPromptSubmit", "threadId": thread, "turnId": turn,
               "cwd": rig.cwd(), "prompt": "hello there", "session_id": thread,
               "transcript_path": null, "hook_event_name": "UserPromptSubmit",
               "permission_mode": "bypassPermissions"})
    );
    assert_eq!(rig.mock.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_prompt_submit_block_fails_the_turn_before_the_model_sees_it() {
    let spy = Spy::new();
    let rig = rig(
        hook(
            "UserPromptSubmit",
            &spy.block("prompt.json", "no secrets please"),
            "",
        ),
        vec![Scripted::responses_text("never asked")],
    )
    .await;
    let (_, _, events) = one_turn(&rig, "my password is hunter2").await;
    assert_eq!(turn_status(&events), "failed");
    let turn = &events.last().unwrap()["params"]["turn"];
    assert_eq!(turn["error"]["kind"], "hookBlocked");
    assert!(
        turn["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no secrets please"),
        "{turn}"
    );
    the_run(&events, "userPromptSubmit", "blocked");
    assert!(rig.mock.requests().is_empty(), "the model was not asked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_prompt_submit_error_lets_the_turn_run() {
    let BrokenHookTurn { rig, .. } = broken_hook_turn(
        "UserPromptSubmit",
        FAILING,
        vec![Scripted::responses_text("hi")],
        "hello",
    )
    .await;
    assert_eq!(rig.mock.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_prompt_submit_timeout_lets_the_turn_run() {
    hanging_hook_turn(
        "UserPromptSubmit",
        vec![Scripted::responses_text("hi")],
        "hello",
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// Stop

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_continue_sees_the_last_message_and_the_turn_ends() {
    let spy = Spy::new();
    let rig = rig(
        hook("Stop", &spy.record("stop.json"), ""),
        vec![Scripted::responses_text("all done")],
    )
    .await;
    let (thread, turn, events) = one_turn(&rig, "hello").await;
    assert_eq!(turn_status(&events), "completed");
    the_run(&events, "stop", "completed");
    assert_eq!(
        spy.saw("stop.json"),
        json!({"event": "Stop", "threadId": thread, "turnId": turn, "cwd": rig.cwd(),
               "lastAgentMessage": "all done", "stopHookActive": false, "session_id": thread,
               "transcript_path": null, "hook_event_name": "Stop",
               "permission_mode": "bypassPermissions", "last_assistant_message": "all done",
               "stop_hook_active": false})
    );
    assert_eq!(rig.mock.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_block_sends_the_agent_on_once_with_the_reason() {
    let spy = Spy::new();
    // The hook always blocks; it can only send the agent on once.
    let rig = rig(
        hook("Stop", &spy.block("stop.json", "run the tests first"), ""),
        vec![
            Scripted::responses_text("finished"),
            Scripted::responses_text("tests pass"),
        ],
    )
    .await;
    let (_, _, events) = one_turn(&rig, "hello").await;
    assert_eq!(turn_status(&events), "completed");
    let runs = hook_runs(&events);
    assert_eq!(runs.len(), 2, "{runs:#?}");
    assert!(runs.iter().all(|(_, done)| done["outcome"] == "blocked"));
    let saw = spy.saw("stop.json");
    assert_eq!(saw["stopHookActive"], true, "the second run knows");
    assert_eq!(saw["lastAgentMessage"], "tests pass");

    let users: Vec<&Value> = completed_items(&events, "userMessage");
    assert_eq!(
        users.len(),
        2,
        "the prompt and the hook's reason: {users:#?}"
    );
    assert_eq!(users[1]["content"][0]["text"], "run the tests first");
    let reqs = rig
        .mock
        .wait_for_requests(2, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(reqs.len(), 2);
    let last_input = reqs[1].body["input"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last_input["role"], "user");
    assert_eq!(last_input["content"][0]["text"], "run the tests first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_error_ends_the_turn_normally() {
    let BrokenHookTurn { rig, .. } = broken_hook_turn(
        "Stop",
        FAILING,
        vec![Scripted::responses_text("done")],
        "hello",
    )
    .await;
    assert_eq!(rig.mock.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_timeout_ends_the_turn_normally() {
    let BrokenHookTurn { rig, .. } =
        hanging_hook_turn("Stop", vec![Scripted::responses_text("done")], "hello").await;
    assert_eq!(rig.mock.requests().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Configuration

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_hook_config_is_refused_at_start_naming_the_key() {
    for (toml, needle) in [
        (
            "[[hooks.PreToolUse]]\ncommand = 'true'\nwhen = 'always'\n",
            "hooks.PreToolUse[0].when",
        ),
        (
            "[[hooks.BeforeEverything]]\ncommand = 'true'\n",
            "hooks.BeforeEverything",
        ),
        ("[[hooks.Stop]]\ncommand = []\n", "hooks.Stop[0].command"),
        (
            "[[hooks.Stop]]\ncommand = 'true'\ntimeout_ms = 0\n",
            "hooks.Stop[0].timeout_ms",
        ),
        (
            "[[hooks.PreToolUse]]\ncommand = 'true'\nmatcher = 'shell||'\n",
            "matcher",
        ),
    ] {
        let (status, stderr) = Agentd::start_failing(Options::default().config_toml(toml))
            .await
            .unwrap();
        assert!(!status.success(), "{toml}");
        assert!(stderr.contains("config.toml"), "{toml}: {stderr}");
        assert!(stderr.contains(needle), "{needle} in {stderr}");
    }
}
