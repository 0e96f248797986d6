//! A repository set up for Claude Code: the hooks of its `.claude/settings.json` and
//! `settings.local.json` run — only once the user trusts the repository — with Claude Code's
//! tool names and inputs (`Bash`, `Write`, `Edit`, `mcp__…`), regex matchers and
//! `$CLAUDE_PROJECT_DIR`; `hooks/list` shows every hook, where it comes from and whether it runs.

use agentd_tests::mock_llm::{Scripted, Step};
use agentd_tests::tools::{tool_calls, turn_status, ToolRig};
use agentd_tests::Options;
use serde_json::{json, Value};

use crate::hooks_support::{hook, shell, Spy};

/// A daemon whose workspace has `.claude/settings.json` with `settings`; trusted when `trust`.
async fn repo(settings: Value, trust: bool, script: Vec<Scripted>) -> ToolRig {
    let workspace = tempfile::tempdir().unwrap();
    let root = workspace.path().canonicalize().unwrap();
    std::fs::create_dir_all(root.join(".claude")).unwrap();
    std::fs::write(root.join(".claude/settings.json"), settings.to_string()).unwrap();
    let mut config = String::new();
    if trust {
        config.push_str(&format!(
            "[projects.{:?}]\ntrust_level = \"trusted\"\n",
            root.display().to_string()
        ));
    }
    let mut rig = ToolRig::start(script, Options::default().unconfined().config_toml(config))
        .await
        .unwrap();
    rig.workspace = workspace;
    rig
}

fn settings(event: &str, matcher: &str, command: &str) -> Value {
    json!({"hooks": {event: [{"matcher": matcher, "hooks": [{"type": "command", "command": command}]}]}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_hooks_run_only_in_a_trusted_repository_and_see_claude_names() {
    let spy = Spy::new();
    let command = format!(
        "echo \"$CLAUDE_PROJECT_DIR\" > '{}'; {}",
        spy.path("dir").display(),
        spy.append("bash.jsonl")
    );
    for trusted in [false, true] {
        let r = repo(
            settings("PreToolUse", "Bash", &command),
            trusted,
            vec![
                tool_calls(vec![shell("c1", &["touch", "a b"])]),
                Scripted::responses_text("ok"),
            ],
        )
        .await;
        let done = r.one_turn("go").await.unwrap();
        assert_eq!(turn_status(&done.events), "completed");
        let saw = spy.saw_all("bash.jsonl");
        if !trusted {
            assert!(
                saw.is_empty(),
                "an untrusted repository's hooks must not run"
            );
            let mut c = r.client("l").await.unwrap();
            let list = c
                .call("hooks/list", json!({"cwds": [r.cwd()]}))
                .await
                .unwrap();
            let hooks = list["data"][0]["hooks"].as_array().unwrap();
            assert_eq!(hooks.len(), 1, "{list}");
            assert_eq!(hooks[0]["trustStatus"], "untrusted");
            assert_eq!(hooks[0]["enabled"], false);
            assert_eq!(hooks[0]["source"], "project");
            assert!(hooks[0]["sourcePath"]
                .as_str()
                .unwrap()
                .ends_with(".claude/settings.json"));
            continue;
        }
        assert_eq!(saw.len(), 1);
        assert_eq!(saw[0]["tool_name"], "Bash");
        assert_eq!(saw[0]["tool_input"]["command"], "touch 'a b'");
        assert_eq!(saw[0]["hook_event_name"], "PreToolUse");
        assert_eq!(
            std::fs::read_to_string(spy.path("dir")).unwrap().trim(),
            r.workspace
                .path()
                .canonicalize()
                .unwrap()
                .display()
                .to_string()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patch_is_write_and_edit_per_file_and_exit_2_blocks_it_whole() {
    let spy = Spy::new();
    let command = format!("{}; exit 2", spy.append("edits.jsonl"));
    let patch = "*** Begin Patch\n*** Add File: new.txt\n+hello\n*** Update File: old.txt\n@@\n-before\n+after\n*** End Patch";
    let r = repo(
        settings(
            "PreToolUse",
            "Write",
            &format!("{}; exit 0", spy.append("writes.jsonl")),
        ),
        true,
        Vec::new(),
    )
    .await;
    std::fs::write(r.path("old.txt"), "before\n").unwrap();
    std::fs::write(
        r.path(".claude/settings.local.json"),
        settings("PreToolUse", "^Edit$", &command).to_string(),
    )
    .unwrap();
    r.mock.push(Scripted::responses(vec![
        Step::created(),
        Step::custom_tool_call("p1", "apply_patch", patch),
        Step::completed(Default::default()),
    ]));
    r.mock.push(Scripted::responses_text("ok"));
    let done = r.one_turn("edit").await.unwrap();
    assert_eq!(turn_status(&done.events), "completed");
    let writes = spy.saw_all("writes.jsonl");
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0]["tool_name"], "Write");
    assert_eq!(writes[0]["tool_input"]["content"], "hello\n");
    let edits = spy.saw_all("edits.jsonl");
    assert_eq!(edits.len(), 1);
    assert_eq!(edits[0]["tool_input"]["old_string"], "before");
    assert_eq!(edits[0]["tool_input"]["new_string"], "after");
    assert!(edits[0]["tool_input"]["file_path"]
        .as_str()
        .unwrap()
        .ends_with("/old.txt"));
    // The Edit was blocked: nothing of the patch was applied.
    assert!(!r.path("new.txt").exists());
    assert_eq!(
        std::fs::read_to_string(r.path("old.txt")).unwrap(),
        "before\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_list_shows_config_and_settings_hooks_and_unreadable_files() {
    let r = repo(settings("Stop", "", "true"), true, Vec::new()).await;
    std::fs::write(r.path(".claude/settings.local.json"), "{ not json").unwrap();
    let mut c = r.client("l").await.unwrap();
    let list = c
        .call("hooks/list", json!({"cwds": [r.cwd()]}))
        .await
        .unwrap();
    let entry = &list["data"][0];
    let hooks = entry["hooks"].as_array().unwrap();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0]["eventName"], "stop");
    assert_eq!(hooks[0]["trustStatus"], "trusted");
    assert_eq!(hooks[0]["timeoutSec"], 600);
    let errors = entry["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    assert!(errors[0]["path"]
        .as_str()
        .unwrap()
        .ends_with("settings.local.json"));
    assert!(errors[0]["message"].as_str().unwrap().contains("JSON"));

    // config.toml's hooks are listed too, as the user's.
    let rig = ToolRig::start(
        Vec::new(),
        Options::default().config_toml(hook("PreToolUse", "true", "matcher = \"mcp__files__*\"")),
    )
    .await
    .unwrap();
    let mut c = rig.client("l").await.unwrap();
    let list = c.call("hooks/list", json!({})).await.unwrap();
    let hooks = list["data"][0]["hooks"].as_array().unwrap();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0]["source"], "user");
    assert_eq!(hooks[0]["matcher"], "mcp__files__*");
    assert!(hooks[0]["sourcePath"]
        .as_str()
        .unwrap()
        .ends_with("config.toml"));
}

/// A FIFO with no writer blocks a plain `open` for good. The model's own shell can make one
/// where settings or instruction files are read (`mkfifo .claude/settings.json`): each must be
/// reported or skipped, and the turn — and the daemon's one worker thread — go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifos_in_place_of_settings_and_instruction_files_are_skipped_not_waited_on() {
    let r = ToolRig::start(
        vec![Scripted::responses_text("ok")],
        Options::default().unconfined(),
    )
    .await
    .unwrap();
    std::fs::create_dir_all(r.path(".claude")).unwrap();
    for fifo in [".claude/settings.json", "AGENTS.md", "CLAUDE.md"] {
        make_fifo(&r.path(fifo));
    }
    std::fs::write(r.path("CLAUDE.local.md"), "LOCAL-RULES").unwrap();
    let done = tokio::time::timeout(std::time::Duration::from_secs(15), r.one_turn("hi"))
        .await
        .expect("a FIFO must not hold up the turn")
        .unwrap();
    assert_eq!(turn_status(&done.events), "completed");
    let reqs = r.mock.requests();
    let instructions = reqs[0].body["instructions"].as_str().unwrap_or_default();
    assert!(instructions.contains("LOCAL-RULES"), "{instructions}");

    let mut c = r.client("l").await.unwrap();
    let list = c
        .call("hooks/list", json!({"cwds": [r.cwd()]}))
        .await
        .unwrap();
    let errors = list["data"][0]["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{list}");
    assert!(errors[0]["path"]
        .as_str()
        .unwrap()
        .ends_with(".claude/settings.json"));
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("not a regular file"),
        "{list}"
    );
}

fn make_fifo(path: &std::path::Path) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: `c` is a valid NUL-terminated path that outlives the call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
}
