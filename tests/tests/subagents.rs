//! Sub-agents as threads: `spawn_agent` / `wait_agent` / `send_input` / `close_agent` /
//! `list_agents` against the real daemon and one mock model serving parent and children (each
//! child's requests are routed by a marker in its messages), concurrent children, limits, the
//! interrupt cascade, a child's approval answered by a client of the parent, worktrees.

use std::time::Duration;

use agentd_tests::mock_llm::{MockLlm, Scripted, Step, Usage};
use agentd_tests::tools::{completed_items, tool_calls, turn_status, ToolRig, COMMAND_APPROVAL};
use agentd_tests::turns::{input_texts, of_method};
use agentd_tests::Options;
use serde_json::{json, Value};

pub(crate) fn call(id: &str, tool: &str, args: Value) -> Step {
    Step::function_call(id, tool, &args.to_string())
}

pub(crate) fn spawn(id: &str, message: &str) -> Step {
    call(id, "spawn_agent", json!({ "message": message }))
}

pub(crate) fn wait(id: &str, targets: &[&str], mode: &str) -> Step {
    call(
        id,
        "wait_agent",
        json!({"targets": targets, "mode": mode, "timeout_ms": 20000}),
    )
}

/// The output the model got for `call_id`, from whichever request carried it first (parent and
/// children share the mock, so request numbers are not the parent's), parsed when JSON.
pub(crate) async fn output(mock: &MockLlm, call_id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let found = mock
            .requests()
            .iter()
            .find_map(|r| agentd_tests::tools::tool_output(r, call_id));
        if let Some(text) = found {
            return serde_json::from_str(&text).unwrap_or_else(|_| json!(text));
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no output for {call_id}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_is_a_thread_whose_answer_reaches_the_parent_and_every_client_sees_it() {
    let rig = ToolRig::start(
        vec![
            tool_calls(vec![spawn("s1", "CHILD-A: what is six times seven?")]),
            tool_calls(vec![wait("w1", &["ada"], "any")]),
            Scripted::responses_text("the child says 42"),
        ],
        Options::default().unconfined(),
    )
    .await
    .unwrap();
    rig.mock
        .push_when_last("CHILD-A", Scripted::responses_text("42"));
    let (mut c, parent, turn) = rig.start_turn("t", "delegate").await.unwrap();
    let events = c.until_turn_completed(&turn).await.unwrap();
    assert_eq!(turn_status(&events), "completed");

    let spawned = output(&rig.mock, "s1").await;
    let child = spawned["agent_id"].as_str().unwrap().to_owned();
    assert_eq!(spawned["nickname"], "ada");
    let waited = output(&rig.mock, "w1").await;
    assert_eq!(waited["timed_out"], false);
    assert_eq!(waited["status"][&child]["status"], "completed");
    assert_eq!(waited["status"][&child]["message"], "42");

    // Items in the parent: one collabAgentToolCall per call.
    let items = completed_items(&events, "collabAgentToolCall");
    let tools: Vec<&str> = items.iter().map(|i| i["tool"].as_str().unwrap()).collect();
    assert_eq!(tools, ["spawnAgent", "wait"]);
    assert_eq!(items[0]["senderThreadId"], parent);
    assert_eq!(items[0]["receiverThreadIds"], json!([child]));
    assert_eq!(items[1]["agentsStates"][&child]["status"], "completed");

    // The client of the parent got the child's thread/started and its events.
    let started: Vec<&Value> = of_method(&events, "thread/started")
        .into_iter()
        .filter(|e| e["params"]["thread"]["id"] == child)
        .collect();
    assert_eq!(
        started.len(),
        1,
        "the child's thread/started reached the parent's client"
    );
    let source = &started[0]["params"]["thread"]["source"];
    assert_eq!(
        source["subAgent"]["thread_spawn"]["parent_thread_id"],
        parent
    );
    assert_eq!(source["subAgent"]["thread_spawn"]["depth"], 1);
    assert_eq!(source["subAgent"]["thread_spawn"]["agent_nickname"], "ada");
    let child_done: Vec<&Value> = of_method(&events, "turn/completed")
        .into_iter()
        .filter(|e| e["params"]["threadId"] == child)
        .collect();
    assert_eq!(child_done.len(), 1);

    let list = c
        .call("thread/list", json!({"parentThreadId": parent}))
        .await
        .unwrap();
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [child.as_str()]);
    let read = c
        .call("thread/read", json!({"threadId": parent}))
        .await
        .unwrap();
    assert_eq!(read["childThreadIds"], json!([child]));
    // At depth 1 (the default limit) a child gets no sub-agent tools.
    let child_request = rig
        .mock
        .requests()
        .into_iter()
        .find(|r| r.body["input"][0].to_string().contains("CHILD-A"))
        .unwrap();
    let tools = child_request.body["tools"].to_string();
    assert!(!tools.contains("spawn_agent"), "{tools}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_children_run_at_once_and_wait_all_sees_both() {
    let rig = ToolRig::start(
        vec![
            tool_calls(vec![
                spawn("s1", "CHILD-A: slow"),
                spawn("s2", "CHILD-B: quick"),
            ]),
            tool_calls(vec![wait("w1", &["ada", "babbage"], "all")]),
            Scripted::responses_text("both done"),
        ],
        Options::default().unconfined(),
    )
    .await
    .unwrap();
    rig.mock.push_when_last(
        "CHILD-A",
        Scripted::responses(vec![
            Step::created(),
            Step::gate(),
            Step::message(&["slow answer"]),
            Step::completed(Usage::default()),
        ]),
    );
    rig.mock
        .push_when_last("CHILD-B", Scripted::responses_text("quick answer"));
    let (mut c, _, turn) = rig.start_turn("t", "two at once").await.unwrap();
    // A's stream is open (at its gate) while B's request arrives and is answered: overlap.
    rig.mock
        .wait_for_gates(1, Duration::from_secs(10))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !rig
        .mock
        .requests()
        .iter()
        .any(|r| r.body["input"].to_string().contains("CHILD-B"))
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "B's request never came while A streamed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    rig.mock.release(1);
    let events = c.until_turn_completed(&turn).await.unwrap();
    assert_eq!(turn_status(&events), "completed");
    let waited = output(&rig.mock, "w1").await;
    let messages: Vec<&str> = waited["status"]
        .as_object()
        .unwrap()
        .values()
        .map(|s| s["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages.len(), 2);
    assert!(messages.contains(&"slow answer") && messages.contains(&"quick answer"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_close_and_send_input() {
    let rig = ToolRig::start(
        vec![
            tool_calls(vec![spawn("s1", "CHILD-A: one")]),
            tool_calls(vec![spawn("s2", "CHILD-B: two")]),
            tool_calls(vec![wait("w1", &["ada"], "any")]),
            tool_calls(vec![call(
                "m1",
                "send_input",
                json!({"target": "ada", "message": "MORE-A: again"}),
            )]),
            tool_calls(vec![wait("w2", &["ada"], "any")]),
            tool_calls(vec![call("c1", "close_agent", json!({"target": "ada"}))]),
            tool_calls(vec![
                spawn("s3", "CHILD-C: three"),
                call("l1", "list_agents", json!({})),
            ]),
            Scripted::responses_text("done"),
        ],
        Options::default().unconfined().set("agents.max_threads=1"),
    )
    .await
    .unwrap();
    rig.mock
        .push_when_last("CHILD-A", Scripted::responses_text("first"));
    rig.mock
        .push_when_last("MORE-A", Scripted::responses_text("second"));
    rig.mock
        .push_when_last("CHILD-C", Scripted::responses_text("third"));
    let done = rig.one_turn("limits").await.unwrap();
    assert_eq!(turn_status(&done.events), "completed");
    let over = output(&rig.mock, "s2").await;
    let over = over.as_str().unwrap_or_default();
    assert!(
        over.contains("at most 1 sub-agents") && over.contains("close_agent"),
        "{over}"
    );
    assert_eq!(
        output(&rig.mock, "w1").await["status"]
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()["message"],
        "first"
    );
    let sent = output(&rig.mock, "m1").await;
    assert_eq!(sent["nickname"], "ada");
    let again = output(&rig.mock, "w2").await;
    assert_eq!(
        again["status"]
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()["message"],
        "second"
    );
    let closed = output(&rig.mock, "c1").await;
    assert_eq!(closed["status"], "shutdown");
    // The slot is free again.
    let third = output(&rig.mock, "s3").await;
    assert!(third["agent_id"].is_string(), "{third}");
    let listed = output(&rig.mock, "l1").await;
    let statuses: Vec<&str> = listed["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_str().unwrap())
        .collect();
    assert!(statuses.contains(&"shutdown"), "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupting_the_parent_interrupts_its_children() {
    let rig = ToolRig::start(
        vec![
            tool_calls(vec![spawn("s1", "CHILD-A: forever")]),
            tool_calls(vec![wait("w1", &["ada"], "any")]),
        ],
        Options::default().unconfined(),
    )
    .await
    .unwrap();
    rig.mock.push_when_last(
        "CHILD-A",
        Scripted::responses(vec![
            Step::created(),
            Step::gate(),
            Step::completed(Usage::default()),
        ]),
    );
    let (mut c, parent, turn) = rig.start_turn("t", "go").await.unwrap();
    rig.mock
        .wait_for_gates(1, Duration::from_secs(10))
        .await
        .unwrap();
    rig.mock
        .wait_for_requests(3, Duration::from_secs(10))
        .await
        .unwrap();
    let events = c
        .interrupt_within(&parent, &turn, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(turn_status(&events), "interrupted");
    let list = c
        .call("thread/list", json!({"parentThreadId": parent}))
        .await
        .unwrap();
    let child = list["data"][0]["id"].as_str().unwrap().to_owned();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let read = c
            .call(
                "thread/read",
                json!({"threadId": child, "includeTurns": true}),
            )
            .await
            .unwrap();
        if read["thread"]["turns"][0]["status"] == "interrupted" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the child's turn was not interrupted: {read}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    rig.mock.release(1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_childs_approval_is_answered_by_a_client_of_the_parent() {
    let rig = ToolRig::start(
        vec![
            tool_calls(vec![spawn("s1", "CHILD-A: make a file")]),
            tool_calls(vec![wait("w1", &["ada"], "any")]),
            Scripted::responses_text("done"),
        ],
        Options::default().policies("untrusted", "workspace-write"),
    )
    .await
    .unwrap();
    rig.mock.push_when_last(
        "CHILD-A",
        tool_calls(vec![call(
            "x1",
            "shell",
            json!({"command": ["touch", "made-by-child"]}),
        )]),
    );
    rig.mock
        .push_when_last("x1", Scripted::responses_text("made it"));
    let (mut c, parent, turn) = rig.start_turn("t", "go").await.unwrap();
    let question = c.server_request(COMMAND_APPROVAL).await.unwrap();
    assert_ne!(
        question["params"]["threadId"], parent,
        "the question names the child"
    );
    c.decide(&question, "accept").unwrap();
    let events = c.until_turn_completed(&turn).await.unwrap();
    assert_eq!(turn_status(&events), "completed");
    assert!(rig.path("made-by-child").exists());
    let waited = output(&rig.mock, "w1").await;
    let status = waited["status"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .clone();
    assert_eq!(status["message"], "made it");
}

fn git(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worktree_child_edits_its_own_branch_and_a_clean_one_is_removed() {
    let patch = "*** Begin Patch\n*** Add File: from-child.txt\n+hello\n*** End Patch";
    let rig = ToolRig::start(
        vec![
            tool_calls(vec![
                call(
                    "s1",
                    "spawn_agent",
                    json!({"message": "CHILD-A: add a file", "isolation": "worktree"}),
                ),
                call(
                    "s2",
                    "spawn_agent",
                    json!({"message": "CHILD-B: look only", "isolation": "worktree"}),
                ),
            ]),
            tool_calls(vec![wait("w1", &["ada", "babbage"], "all")]),
            tool_calls(vec![
                call("c1", "close_agent", json!({"target": "ada"})),
                call("c2", "close_agent", json!({"target": "babbage"})),
            ]),
            Scripted::responses_text("reviewed"),
        ],
        Options::default().policies("never", "workspace-write"),
    )
    .await
    .unwrap();
    let repo = rig.workspace.path();
    git(repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("README"), "hi\n").unwrap();
    git(repo, &["add", "README"]);
    git(repo, &["commit", "-q", "-m", "init"]);
    rig.mock.push_when_last(
        "CHILD-A",
        Scripted::responses(vec![
            Step::created(),
            Step::custom_tool_call("p1", "apply_patch", patch),
            Step::completed(Usage::default()),
        ]),
    );
    rig.mock
        .push_when_last("p1", Scripted::responses_text("added"));
    rig.mock
        .push_when_last("CHILD-B", Scripted::responses_text("nothing to change"));
    let done = rig.one_turn("isolate").await.unwrap();
    assert_eq!(turn_status(&done.events), "completed");
    assert!(
        !repo.join("from-child.txt").exists(),
        "the parent's tree is untouched"
    );
    let waited = output(&rig.mock, "w1").await;
    let reports: Vec<&Value> = waited["status"].as_object().unwrap().values().collect();
    let a = reports.iter().find(|r| r["nickname"] == "ada").unwrap();
    assert_eq!(a["worktree"]["changed_files"], json!(["from-child.txt"]));
    let branch = a["worktree"]["branch"].as_str().unwrap().to_owned();
    assert!(branch.starts_with("agentd/ada-"), "{branch}");
    let path = a["worktree"]["path"].as_str().unwrap().to_owned();
    assert!(std::path::Path::new(&path).join("from-child.txt").exists());
    let closed_a = output(&rig.mock, "c1").await;
    assert_eq!(
        closed_a["worktree"]["removed"],
        json!(null),
        "a dirty worktree is kept"
    );
    let closed_b = output(&rig.mock, "c2").await;
    assert_eq!(closed_b["worktree"]["removed"], true);
    let worktrees = git(repo, &["worktree", "list", "--porcelain"]);
    assert!(worktrees.contains(&path), "{worktrees}");
    let b_path = closed_b["worktree"]["path"].as_str().unwrap();
    assert!(!worktrees.contains(b_path), "{worktrees}");
    let branches = git(repo, &["branch", "--list", "agentd/*"]);
    assert!(
        branches.contains(&branch) && !branches.contains("babbage"),
        "{branches}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_a_child_closes_its_children_and_hooks_see_both_ends() {
    let spy = tempfile::tempdir().unwrap();
    let log = spy.path().join("agents.jsonl");
    let hooks = format!(
        "[[hooks.SubagentStart]]\ncommand = 'cat >> {0}'\n[[hooks.SubagentStop]]\ncommand = 'cat >> {0}'\n",
        log.display()
    );
    let rig = ToolRig::start(
        vec![
            tool_calls(vec![spawn("s1", "CHILD-A: delegate further")]),
            tool_calls(vec![wait("w1", &["ada"], "any")]),
            tool_calls(vec![call("c1", "close_agent", json!({"target": "ada"}))]),
            Scripted::responses_text("closed"),
        ],
        Options::default()
            .unconfined()
            .set("agents.max_depth=2")
            .config_toml(hooks),
    )
    .await
    .unwrap();
    // The child spawns a grandchild and answers; the grandchild answers.
    rig.mock
        .push_when_last("CHILD-A", tool_calls(vec![spawn("g1", "GRANDCHILD: dig")]));
    rig.mock
        .push_when_last("g1", Scripted::responses_text("delegated"));
    rig.mock
        .push_when_last("GRANDCHILD", Scripted::responses_text("dug"));
    let (mut c, parent, turn) = rig.start_turn("t", "go").await.unwrap();
    let events = c.until_turn_completed(&turn).await.unwrap();
    assert_eq!(turn_status(&events), "completed", "{:#?}", events.last());
    let closed = output(&rig.mock, "c1").await;
    assert_eq!(closed["status"], "shutdown");
    let children = c
        .call(
            "thread/list",
            json!({"parentThreadId": parent, "archived": true}),
        )
        .await
        .unwrap();
    let child = children["data"][0]["id"].as_str().unwrap().to_owned();
    let grandchildren = c
        .call(
            "thread/list",
            json!({"parentThreadId": child, "archived": true}),
        )
        .await
        .unwrap();
    assert_eq!(
        grandchildren["data"].as_array().unwrap().len(),
        1,
        "the grandchild was closed too"
    );
    let open = c
        .call("thread/list", json!({"parentThreadId": child}))
        .await
        .unwrap();
    assert!(open["data"].as_array().unwrap().is_empty());
    let seen: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let starts = seen
        .iter()
        .filter(|e| e["hook_event_name"] == "SubagentStart")
        .count();
    let stops: Vec<&Value> = seen
        .iter()
        .filter(|e| e["hook_event_name"] == "SubagentStop")
        .collect();
    assert_eq!(starts, 2, "{seen:#?}");
    assert!(
        stops
            .iter()
            .any(|e| e["last_assistant_message"] == "delegated"),
        "{seen:#?}"
    );
    assert!(stops.iter().all(|e| e["agent_type"] == "default"));
}

/// Every model request the child made: those whose input carries its first message.
fn requests_of(mock: &MockLlm, marker: &str) -> Vec<Value> {
    mock.requests()
        .into_iter()
        .filter(|r| r.body["input"][0].to_string().contains(marker))
        .map(|r| r.body)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_input_to_a_busy_child_steers_its_running_turn() {
    let rig = ToolRig::start(
        vec![
            tool_calls(vec![spawn("s1", "CHILD-A: count the files")]),
            Scripted::responses_text("spawned"),
            tool_calls(vec![call(
                "m1",
                "send_input",
                json!({"target": "ada", "message": "STEER-A: and the folders", "interrupt": false}),
            )]),
            tool_calls(vec![wait("w1", &["ada"], "any")]),
            Scripted::responses_text("steered"),
        ],
        Options::default().unconfined(),
    )
    .await
    .unwrap();
    rig.mock.push_when_last(
        "CHILD-A",
        Scripted::responses(vec![
            Step::created(),
            Step::message(&["counting"]),
            Step::gate(),
            Step::completed(Usage::default()),
        ]),
    );
    rig.mock
        .push_when_last("STEER-A", Scripted::responses_text("12 files, 3 folders"));
    let (mut c, parent, turn) = rig.start_turn("t", "spawn").await.unwrap();
    c.until_turn_completed(&turn).await.unwrap();
    let child = output(&rig.mock, "s1").await["agent_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The child's turn is streaming (held at the gate) when the parent sends it more.
    rig.mock
        .wait_for_gates(1, Duration::from_secs(10))
        .await
        .unwrap();
    let turn = c.start_turn(&parent, "steer it").await.unwrap();
    let sent = output(&rig.mock, "m1").await;
    assert_eq!(sent["status"], "running", "{sent}");
    rig.mock.release(1);
    let events = c.until_turn_completed(&turn).await.unwrap();
    assert_eq!(turn_status(&events), "completed");
    let waited = output(&rig.mock, "w1").await;
    assert_eq!(waited["status"][&child]["status"], "completed", "{waited}");
    assert_eq!(waited["status"][&child]["message"], "12 files, 3 folders");

    // One turn: the steered message joined it, and the child's next request carried it last.
    let read = c.read_thread_with_turns(&child).await.unwrap();
    let turns = read["thread"]["turns"].as_array().unwrap();
    assert_eq!(turns.len(), 1, "{read:#}");
    let prompts: Vec<&Value> = turns[0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "userMessage")
        .collect();
    assert_eq!(prompts.len(), 2, "{read:#}");
    let asked = requests_of(&rig.mock, "CHILD-A");
    assert_eq!(asked.len(), 2, "{asked:#?}");
    assert_eq!(
        input_texts(&asked[0]).last().map(String::as_str),
        Some("CHILD-A: count the files")
    );
    let second = input_texts(&asked[1]);
    assert_eq!(
        second.last().map(String::as_str),
        Some("STEER-A: and the folders"),
        "{second:?}"
    );
    assert!(
        asked[1]["input"].to_string().contains("counting"),
        "the steered request continues the same conversation: {}",
        asked[1]["input"]
    );
    rig.mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_input_with_interrupt_stops_the_running_turn_and_starts_another() {
    let rig = ToolRig::start(
        vec![
            tool_calls(vec![spawn("s1", "CHILD-A: count the files")]),
            Scripted::responses_text("spawned"),
            tool_calls(vec![call(
                "m1",
                "send_input",
                json!({"target": "ada", "message": "REDO-A: count the folders instead",
                    "interrupt": true}),
            )]),
            tool_calls(vec![wait("w1", &["ada"], "any")]),
            Scripted::responses_text("redirected"),
        ],
        Options::default().unconfined(),
    )
    .await
    .unwrap();
    rig.mock.push_when_last(
        "CHILD-A",
        Scripted::responses(vec![
            Step::created(),
            Step::message(&["counting"]),
            Step::gate(),
            Step::completed(Usage::default()),
        ]),
    );
    rig.mock
        .push_when_last("REDO-A", Scripted::responses_text("3 folders"));
    let (mut c, parent, turn) = rig.start_turn("t", "spawn").await.unwrap();
    c.until_turn_completed(&turn).await.unwrap();
    let child = output(&rig.mock, "s1").await["agent_id"]
        .as_str()
        .unwrap()
        .to_owned();
    rig.mock
        .wait_for_gates(1, Duration::from_secs(10))
        .await
        .unwrap();
    let turn = c.start_turn(&parent, "redirect it").await.unwrap();
    let events = c.until_turn_completed(&turn).await.unwrap();
    assert_eq!(turn_status(&events), "completed");
    let sent = output(&rig.mock, "m1").await;
    assert_eq!(sent["agent_id"], child.as_str(), "{sent}");
    let waited = output(&rig.mock, "w1").await;
    assert_eq!(waited["status"][&child]["status"], "completed", "{waited}");
    assert_eq!(waited["status"][&child]["message"], "3 folders");

    // Two turns: the first interrupted (its stream was never released), the second started
    // with the message.
    let read = c.read_thread_with_turns(&child).await.unwrap();
    let turns = read["thread"]["turns"].as_array().unwrap();
    let statuses: Vec<&str> = turns
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["interrupted", "completed"], "{read:#}");
    assert_eq!(
        turns[1]["items"][0]["content"][0]["text"],
        "REDO-A: count the folders instead"
    );
    // The child's turns ended on the parent's client too, the first one interrupted.
    let ends: Vec<&str> = of_method(&events, "turn/completed")
        .into_iter()
        .filter(|e| e["params"]["threadId"] == child)
        .map(|e| e["params"]["turn"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(ends, ["interrupted", "completed"]);
    let asked = requests_of(&rig.mock, "CHILD-A");
    assert_eq!(asked.len(), 2, "{asked:#?}");
    assert_eq!(
        input_texts(&asked[1]).last().map(String::as_str),
        Some("REDO-A: count the folders instead")
    );
    rig.mock.release(1);
    rig.mock.assert_pairing_ok();
}
