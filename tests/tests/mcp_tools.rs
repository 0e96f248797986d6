//! MCP servers' tools end to end: a `mock-mcp` server (a real child process speaking MCP over
//! stdio) configured in `[mcp_servers]`, the real daemon, and the mock model calling
//! `mcp__<server>__<tool>` — offered tools, items, results for the model, errors, timeouts,
//! refreshed tool lists, the environment a server gets.

use std::time::Duration;

use agentd_tests::mock_llm::{Scripted, Step};
use agentd_tests::tools::{completed_items, the_item, tool_calls, turn_status};
use agentd_tests::turns::of_method;
use agentd_tests::Options;
use serde_json::{json, Value};

use crate::mcp_support::{offered_tool, offered_tools, recorded, McpRig};

fn call(id: &str, tool: &str, args: Value) -> Step {
    Step::function_call(id, &format!("mcp__mock__{tool}"), &args.to_string())
}

/// One turn calling each of `calls` in one response, then answering "done".
fn script(calls: Vec<Step>) -> Vec<Scripted> {
    vec![tool_calls(calls), Scripted::responses_text("done")]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_are_offered_and_a_call_is_an_item_whose_text_reaches_the_model() {
    let m = McpRig::start(
        &[("mock", "normal", "")],
        script(vec![call("c1", "echo", json!({"text": "hi"}))]),
        Options::default().unconfined(),
    )
    .await;
    let done = m.rig.one_turn("echo").await.unwrap();
    assert_eq!(turn_status(&done.events), "completed");

    let first = &m.rig.mock.requests()[0].body;
    let names = offered_tools(first);
    for name in [
        "shell",
        "mcp__mock__echo",
        "mcp__mock__image",
        "mcp__mock__dotted_name_with_space",
        "mcp__mock__no_type_schema",
    ] {
        assert!(names.iter().any(|n| n == name), "{name} not in {names:?}");
    }
    assert!(names.iter().all(|n| n.len() <= 64
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')));
    let long: Vec<&String> = names
        .iter()
        .filter(|n| n.starts_with("mcp__mock__a_very_long"))
        .collect();
    assert_eq!(
        long.len(),
        1,
        "the 80-character tool is cut with a hash: {names:?}"
    );
    assert_eq!(long[0].len(), 64);
    let echo = offered_tool(first, "mcp__mock__echo").unwrap();
    assert_eq!(echo["parameters"]["type"], "object");
    assert!(
        echo["parameters"]["properties"]["text"].is_object(),
        "{echo}"
    );
    let no_type = offered_tool(first, "mcp__mock__no_type_schema").unwrap();
    assert_eq!(no_type["parameters"]["type"], "object", "{no_type}");
    eprintln!(
        "first request with mock-mcp's {} tools registered: {} bytes",
        names.len(),
        serde_json::to_string(first).unwrap().len()
    );

    let started: Vec<&Value> = of_method(&done.events, "item/started")
        .into_iter()
        .filter(|e| e["params"]["item"]["type"] == "mcpToolCall")
        .collect();
    assert_eq!(started.len(), 1);
    let s = &started[0]["params"]["item"];
    assert_eq!(s["status"], "inProgress");
    assert_eq!(s["server"], "mock");
    assert_eq!(s["tool"], "echo");
    assert_eq!(s["arguments"], json!({"text": "hi"}));
    let item = the_item(&done.events, "mcpToolCall");
    assert_eq!(item["id"], s["id"]);
    assert_eq!(item["status"], "completed");
    assert_eq!(item["result"]["content"][0]["text"], "echo: hi");
    assert!(item["durationMs"].as_i64().is_some(), "{item}");
    assert_eq!(item["readOnlyHint"], true);
    assert_eq!(m.rig.model_saw(2, "c1").await.unwrap(), "echo: hi");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_go_to_the_model_with_the_text_and_structured_content_is_kept() {
    let m = McpRig::start(
        &[("mock", "normal", "")],
        script(vec![
            call("c1", "image", json!({})),
            call("c2", "structured", json!({})),
        ]),
        Options::default().unconfined(),
    )
    .await;
    let done = m.rig.one_turn("pictures").await.unwrap();
    assert_eq!(turn_status(&done.events), "completed");
    let reqs = m
        .rig
        .mock
        .wait_for_requests(2, Duration::from_secs(10))
        .await
        .unwrap();
    let input = reqs[1].body["input"].as_array().unwrap();
    let out = input
        .iter()
        .find(|i| i["type"] == "function_call_output" && i["call_id"] == "c1")
        .unwrap();
    let parts = out["output"].as_array().expect("text and image as a list");
    assert_eq!(parts[0]["type"], "input_text");
    assert!(parts[0]["text"]
        .as_str()
        .unwrap()
        .contains("here is an image"));
    assert_eq!(parts[1]["type"], "input_image");
    assert!(parts[1]["image_url"]
        .as_str()
        .unwrap()
        .starts_with("data:image/png;base64,"));
    let items = completed_items(&done.events, "mcpToolCall");
    assert_eq!(items[0]["result"]["content"][1]["type"], "image");
    assert_eq!(
        items[1]["result"]["structuredContent"],
        json!({"answer": 42})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_errors_protocol_errors_and_timeouts_fail_the_item_not_the_turn() {
    let m = McpRig::start(
        &[("mock", "normal", "tool_timeout_sec = 0.5")],
        script(vec![
            call("c1", "fail", json!({})),
            call("c2", "protocol_error", json!({})),
            call("c3", "slow", json!({"ms": 30000})),
            call("c4", "echo", json!({"text": "still here"})),
            Step::function_call("c5", "mcp__mock__echo", "not json"),
        ]),
        Options::default().unconfined(),
    )
    .await;
    let done = m.rig.one_turn("fail").await.unwrap();
    assert_eq!(turn_status(&done.events), "completed");
    let items = completed_items(&done.events, "mcpToolCall");
    assert_eq!(items.len(), 4, "{items:#?}");
    assert_eq!(items[0]["status"], "failed");
    assert_eq!(items[0]["error"]["message"], "boom");
    assert_eq!(items[1]["status"], "failed");
    assert!(items[1]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("protocol boom"));
    assert_eq!(items[2]["status"], "failed");
    assert!(
        items[2]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("did not answer within"),
        "{}",
        items[2]
    );
    assert_eq!(items[3]["status"], "completed");
    assert!(m.rig.model_saw(2, "c1").await.unwrap().contains("boom"));
    assert!(m
        .rig
        .model_saw(2, "c3")
        .await
        .unwrap()
        .contains("did not answer within"));
    assert!(m
        .rig
        .model_saw(2, "c5")
        .await
        .unwrap()
        .contains("invalid arguments"));
    // The abandoned call was cancelled on the server.
    assert!(recorded(&m.record("mock"), "cancelled slow", Duration::from_secs(5)).await);
}

/// A 3 MB result: the model gets its head and tail, clients its head, within the client
/// copy's budget (`shell_output_cap_bytes`, 1 MiB by default) for the whole result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_output_is_cut_head_and_tail_for_the_model() {
    let m = McpRig::start(
        &[("mock", "normal", "")],
        script(vec![call("c1", "big", json!({"bytes": 3_000_000}))]),
        Options::default().unconfined(),
    )
    .await;
    let done = m.rig.one_turn("big").await.unwrap();
    assert_eq!(turn_status(&done.events), "completed");
    let result = &the_item(&done.events, "mcpToolCall")["result"];
    let for_clients = result.to_string().len();
    assert!(for_clients <= (1 << 20) + 512, "{for_clients} bytes");
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(text.starts_with("HEAD") && text.contains("more bytes]"));
    let saw = m.rig.model_saw(2, "c1").await.unwrap();
    assert!(saw.starts_with("HEAD"), "{}", &saw[..40]);
    assert!(saw.ends_with("TAIL"));
    assert!(saw.len() < 20_000, "{} bytes", saw.len());
    assert!(saw.contains("omitted"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_tool_list_is_offered_on_the_next_request() {
    let m = McpRig::start(
        &[("mock", "normal", "")],
        vec![
            tool_calls(vec![call("c1", "add_tool", json!({}))]),
            tool_calls(vec![call("c2", "late", json!({}))]),
            Scripted::responses_text("done"),
        ],
        Options::default().unconfined(),
    )
    .await;
    let done = m.rig.one_turn("grow").await.unwrap();
    assert_eq!(turn_status(&done.events), "completed");
    let reqs = m.rig.mock.requests();
    assert!(!offered_tools(&reqs[0].body).contains(&"mcp__mock__late".to_owned()));
    assert!(offered_tools(&reqs[1].body).contains(&"mcp__mock__late".to_owned()));
    assert_eq!(m.rig.model_saw(3, "c2").await.unwrap(), "late tool");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_gets_a_cleared_environment_plus_what_its_config_names() {
    let m = McpRig::start(
        &[(
            "mock",
            "normal",
            "env = { FROM_CONFIG = \"yes\" }\nenv_vars = [\"PASS_ME\"]",
        )],
        script(vec![call("c1", "env", json!({}))]),
        Options::default()
            .unconfined()
            .env("PASS_ME", "passed")
            .env("SECRET_TOKEN", "must-not-leak"),
    )
    .await;
    let done = m.rig.one_turn("env").await.unwrap();
    assert_eq!(turn_status(&done.events), "completed");
    let env: Value = serde_json::from_str(&m.rig.model_saw(2, "c1").await.unwrap()).unwrap();
    assert_eq!(env["FROM_CONFIG"], "yes");
    assert_eq!(env["PASS_ME"], "passed");
    assert!(env.get("PATH").is_some());
    assert!(env.get("SECRET_TOKEN").is_none(), "{env}");
    assert!(env.get("AGENTD_DATA_DIR").is_none(), "{env}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_and_filtered_tools_are_not_offered() {
    let m = McpRig::start(
        &[
            (
                "mock",
                "normal",
                "enabled_tools = [\"echo\", \"fail\"]\ndisabled_tools = [\"fail\"]",
            ),
            ("off", "normal", "enabled = false"),
        ],
        vec![Scripted::responses_text("nothing to do")],
        Options::default().unconfined(),
    )
    .await;
    let done = m.rig.one_turn("hi").await.unwrap();
    assert_eq!(turn_status(&done.events), "completed");
    let names = offered_tools(&m.rig.mock.requests()[0].body);
    let mcp: Vec<&String> = names.iter().filter(|n| n.starts_with("mcp__")).collect();
    assert_eq!(mcp, vec!["mcp__mock__echo"]);
    assert!(m.pids("off").is_empty(), "a disabled server is not started");
}

/// A stderr line far over the kept length is cut, and the server's stderr is still read: its
/// next write does not fail (a reader that gave up would close the pipe under it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_stderr_line_does_not_cut_the_server_off() {
    let m = McpRig::start(
        &[("mock", "normal", "")],
        vec![
            tool_calls(vec![call("c1", "stderr", json!({"bytes": 100_000}))]),
            Scripted::responses_text("done"),
            tool_calls(vec![call("c2", "stderr", json!({"bytes": 10}))]),
            Scripted::responses_text("done"),
        ],
        Options::default().unconfined(),
    )
    .await;
    for turn in ["long", "short"] {
        let done = m.rig.one_turn(turn).await.unwrap();
        let item = the_item(&done.events, "mcpToolCall");
        assert_eq!(item["status"], "completed", "{turn}: {item}");
    }
    assert_eq!(m.rig.model_saw(4, "c2").await.unwrap(), "said");
}
