//! Approvals of MCP calls (`mcpServer/elicitation/request`, Codex's shape) and the questions MCP
//! servers ask themselves, forwarded the same way; PreToolUse hooks see MCP calls by their
//! qualified names.

use agentd_tests::mock_llm::{Scripted, Step};
use agentd_tests::tools::{completed_items, tool_calls, turn_status};
use agentd_tests::Options;
use serde_json::{json, Value};

use crate::mcp_support::McpRig;

const ELICITATION: &str = "mcpServer/elicitation/request";

fn call(id: &str, tool: &str, args: Value) -> Step {
    Step::function_call(id, &format!("mcp__mock__{tool}"), &args.to_string())
}

fn write_args(m: &McpRig, file: &str) -> Value {
    json!({"path": m.rig.path(file).display().to_string(), "text": "written"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_request_asks_for_mutating_tools_only_and_remember_covers_the_thread() {
    let m = McpRig::start(
        &[("mock", "normal", "")],
        Vec::new(),
        Options::default().policies("on-request", "read-only"),
    )
    .await;
    let (a, b) = (write_args(&m, "a.txt"), write_args(&m, "b.txt"));
    m.rig.mock.push(tool_calls(vec![
        call("c1", "echo", json!({"text": "no question"})),
        call("c2", "write", a),
    ]));
    m.rig.mock.push(Scripted::responses_text("first done"));
    m.rig.mock.push(tool_calls(vec![call("c3", "write", b)]));
    m.rig.mock.push(Scripted::responses_text("second done"));

    let (mut c, thread, turn) = m.rig.start_turn("t", "write").await.unwrap();
    let ask = c.server_request(ELICITATION).await.unwrap();
    let p = &ask["params"];
    assert_eq!(p["threadId"], thread);
    assert_eq!(p["turnId"], turn);
    assert_eq!(p["serverName"], "mock");
    assert_eq!(p["mode"], "form");
    let message = p["message"].as_str().unwrap();
    assert!(
        message.contains("mock") && message.contains("write") && message.contains("a.txt"),
        "{message}"
    );
    assert_eq!(p["requestedSchema"]["type"], "object");
    assert_eq!(
        p["requestedSchema"]["properties"]["remember"]["type"],
        "boolean"
    );
    let meta = &p["_meta"]["agentd/toolApproval"];
    assert_eq!(meta["server"], "mock");
    assert_eq!(meta["tool"], "write");
    assert!(meta["itemId"].as_str().is_some_and(|s| !s.is_empty()));
    c.respond(
        &ask,
        json!({"action": "accept", "content": {"remember": true}}),
    )
    .unwrap();
    let events = c.until_turn_completed(&turn).await.unwrap();
    assert_eq!(turn_status(&events), "completed");
    let resolved: Vec<&Value> = events
        .iter()
        .filter(|e| e["method"] == "serverRequest/resolved")
        .collect();
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0]["params"]["decision"], "acceptForSession");
    let items = completed_items(&events, "mcpToolCall");
    assert_eq!(items.len(), 2);
    assert!(
        items.iter().all(|i| i["status"] == "completed"),
        "{items:#?}"
    );
    assert_eq!(
        std::fs::read_to_string(m.rig.path("a.txt")).unwrap(),
        "written"
    );
    // The echo call was read-only: nobody was asked about it (one question in all).
    assert_eq!(
        events.iter().filter(|e| e["method"] == ELICITATION).count(),
        0
    );

    // Remembered for the thread: the next write is not asked about.
    let turn2 = c.start_turn(&thread, "again").await.unwrap();
    let events = c.until_turn_completed(&turn2).await.unwrap();
    assert_eq!(turn_status(&events), "completed");
    assert!(
        events.iter().all(|e| e["method"] != ELICITATION),
        "{events:#?}"
    );
    assert_eq!(
        std::fs::read_to_string(m.rig.path("b.txt")).unwrap(),
        "written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decline_tells_the_model_and_cancel_interrupts_the_turn() {
    let m = McpRig::start(
        &[("mock", "normal", "")],
        Vec::new(),
        Options::default().policies("untrusted", "read-only"),
    )
    .await;
    m.rig
        .mock
        .push(tool_calls(vec![call("c1", "echo", json!({"text": "x"}))]));
    m.rig.mock.push(Scripted::responses_text("ok"));
    let (mut c, thread, turn) = m.rig.start_turn("t", "echo").await.unwrap();
    // untrusted asks even about read-only tools.
    let ask = c.server_request(ELICITATION).await.unwrap();
    c.respond(&ask, json!({"action": "decline"})).unwrap();
    let events = c.until_turn_completed(&turn).await.unwrap();
    assert_eq!(turn_status(&events), "completed");
    let item = &completed_items(&events, "mcpToolCall")[0];
    assert_eq!(item["status"], "failed");
    assert!(item["error"]["message"]
        .as_str()
        .unwrap()
        .contains("declined"));
    assert!(m.rig.model_saw(2, "c1").await.unwrap().contains("declined"));

    m.rig
        .mock
        .push(tool_calls(vec![call("c2", "echo", json!({"text": "y"}))]));
    let turn2 = c.start_turn(&thread, "again").await.unwrap();
    let ask = c.server_request(ELICITATION).await.unwrap();
    c.respond(&ask, json!({"action": "cancel"})).unwrap();
    let events = c.until_turn_completed(&turn2).await.unwrap();
    assert_eq!(turn_status(&events), "interrupted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_runs_every_tool_without_asking() {
    let m = McpRig::start(
        &[("mock", "normal", "")],
        Vec::new(),
        Options::default().policies("never", "read-only"),
    )
    .await;
    let args = write_args(&m, "n.txt");
    m.rig.mock.push(tool_calls(vec![call("c1", "write", args)]));
    m.rig.mock.push(Scripted::responses_text("ok"));
    let done = m.rig.one_turn("write").await.unwrap();
    assert_eq!(turn_status(&done.events), "completed");
    assert!(done.events.iter().all(|e| e["method"] != ELICITATION));
    assert_eq!(
        std::fs::read_to_string(m.rig.path("n.txt")).unwrap(),
        "written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_servers_own_question_reaches_the_client_and_the_answer_goes_back() {
    let m = McpRig::start(
        &[("mock", "normal", "")],
        vec![
            tool_calls(vec![call("c1", "ask", json!({}))]),
            Scripted::responses_text("ok"),
        ],
        Options::default().policies("never", "read-only"),
    )
    .await;
    let (mut c, thread, turn) = m.rig.start_turn("t", "ask me").await.unwrap();
    let ask = c.server_request(ELICITATION).await.unwrap();
    let p = &ask["params"];
    assert_eq!(p["threadId"], thread);
    assert_eq!(p["serverName"], "mock");
    assert_eq!(p["message"], "What is your name?");
    assert_eq!(p["requestedSchema"]["properties"]["name"]["type"], "string");
    c.respond(
        &ask,
        json!({"action": "accept", "content": {"name": "Ada"}}),
    )
    .unwrap();
    let events = c.until_turn_completed(&turn).await.unwrap();
    assert_eq!(turn_status(&events), "completed");
    let saw = m.rig.model_saw(2, "c1").await.unwrap();
    assert_eq!(saw, r#"answer: accept {"name":"Ada"}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_tool_use_hooks_see_mcp_calls_by_their_qualified_name() {
    let spy = tempfile::tempdir().unwrap();
    let seen = spy.path().join("seen.json");
    let hook = format!(
        "cat > '{}'; echo 'no writes today' >&2; exit 2",
        seen.display()
    );
    // The hook goes in the same config file as the server.
    let records = tempfile::tempdir().unwrap();
    let record = records.path().join("mock.record");
    let toml = format!(
        "{}\n[[hooks.PreToolUse]]\nmatcher = \"mcp__mock__write\"\ncommand = {:?}\n",
        crate::mcp_support::stdio_server("mock", "normal", &record, ""),
        hook
    );
    let rig = agentd_tests::tools::ToolRig::start(
        Vec::new(),
        Options::default()
            .policies("never", "read-only")
            .config_toml(toml),
    )
    .await
    .unwrap();
    let args = json!({"path": rig.path("h.txt").display().to_string(), "text": "x"});
    rig.mock.push(tool_calls(vec![Step::function_call(
        "c1",
        "mcp__mock__write",
        &args.to_string(),
    )]));
    rig.mock.push(Scripted::responses_text("ok"));
    let done = rig.one_turn("write").await.unwrap();
    assert_eq!(turn_status(&done.events), "completed");
    assert!(rig
        .model_saw(2, "c1")
        .await
        .unwrap()
        .contains("no writes today"));
    assert!(!rig.path("h.txt").exists());
    let input: Value = serde_json::from_str(&std::fs::read_to_string(&seen).unwrap()).unwrap();
    assert_eq!(input["tool"]["name"], "mcp__mock__write");
    assert_eq!(input["tool"]["input"]["text"], "x");
}
