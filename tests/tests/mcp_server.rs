//! `agentd mcp-server`: agentd as an MCP server on stdio, driven by rmcp's client (as another
//! agent would drive it): the tools are listed, `agentd` runs a thread's turn against the mock
//! model and returns its answer and threadId, `agentd-reply` continues the thread, and the
//! thread is the daemon's like any other.

use std::process::Stdio;

use agentd_tests::harness::agentd_command;
use agentd_tests::mock_llm::{MockLlm, Scripted};
use agentd_tests::turns::mock_provider_settings;
use agentd_tests::{Agentd, Options};
use rmcp::model::{CallToolRequestParams, ClientConfig, Implementation, ProtocolVersion};
use rmcp::{object, ServiceExt};
use serde_json::json;
use tokio::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_agent_hands_agentd_work_and_continues_the_thread() {
    let mock = MockLlm::start(vec![
        Scripted::responses_text("first answer"),
        Scripted::responses_text("second answer"),
    ])
    .await
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let workspace = tempfile::tempdir().unwrap();
    let mut std_cmd = agentd_command(home.path()).unwrap();
    std_cmd.arg("mcp-server").arg("--data-dir").arg(data.path());
    for kv in mock_provider_settings(&mock.base_url(), "responses") {
        std_cmd.arg("-c").arg(kv);
    }
    let mut cmd = Command::from(std_cmd);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    let mut child = cmd.spawn().unwrap();
    let io = (child.stdout.take().unwrap(), child.stdin.take().unwrap());
    let info = ClientConfig::new(Default::default(), Implementation::new("test-agent", "0"))
        .with_protocol_version(ProtocolVersion::V_2025_11_25);
    let client = info.serve(io).await.unwrap();
    let server = client.peer_info().unwrap();
    assert_eq!(server.server_info.as_ref().unwrap().name, "agentd");

    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, ["agentd", "agentd-reply"]);
    let start_schema = &tools[0].input_schema;
    assert!(start_schema["properties"]["prompt"].is_object());
    assert!(start_schema["properties"]["approval-policy"].is_object());

    let cwd = workspace.path().display().to_string();
    let first = client
        .call_tool(CallToolRequestParams::new("agentd").with_arguments(
            object!({"prompt": "do the thing", "cwd": cwd, "sandbox": "read-only"}),
        ))
        .await
        .unwrap();
    assert_ne!(first.is_error, Some(true), "{first:?}");
    assert_eq!(first.content[0].as_text().unwrap().text, "first answer");
    let structured = first.structured_content.clone().unwrap();
    let thread = structured["threadId"].as_str().unwrap().to_owned();
    assert_eq!(structured["content"], "first answer");

    let second = client
        .call_tool(
            CallToolRequestParams::new("agentd-reply")
                .with_arguments(object!({"threadId": thread.clone(), "prompt": "and more"})),
        )
        .await
        .unwrap();
    assert_eq!(second.content[0].as_text().unwrap().text, "second answer");
    assert_eq!(second.structured_content.unwrap()["threadId"], thread);
    // The reply went to the same conversation: the model saw the first exchange.
    let reqs = mock.requests();
    assert_eq!(reqs.len(), 2);
    let history = reqs[1].body["input"].to_string();
    assert!(
        history.contains("do the thing") && history.contains("first answer"),
        "{history}"
    );

    // Bad arguments are the caller's error; the server stays up.
    let bad = client
        .call_tool(CallToolRequestParams::new("agentd").with_arguments(object!({"nope": 1})))
        .await;
    assert!(bad.is_err(), "{bad:?}");
    let unknown = client
        .call_tool(
            CallToolRequestParams::new("agentd-reply")
                .with_arguments(object!({"threadId": "no-such-thread", "prompt": "x"})),
        )
        .await
        .unwrap();
    assert_eq!(unknown.is_error, Some(true));

    client.cancel().await.unwrap();
    let status = tokio::time::timeout(std::time::Duration::from_secs(10), child.wait())
        .await
        .expect("agentd mcp-server exits when its client goes")
        .unwrap();
    assert!(status.success(), "{status}");

    // The thread it ran is stored like any other: a daemon on the same data dir shows it.
    let d = Agentd::start(
        Options::default()
            .data_dir(data.path())
            .config_home(home.path()),
    )
    .await
    .unwrap();
    let mut c = d.client("reader").await.unwrap();
    let read = c
        .call(
            "thread/read",
            json!({"threadId": thread, "includeTurns": true}),
        )
        .await
        .unwrap();
    assert_eq!(
        read["thread"]["turns"].as_array().unwrap().len(),
        2,
        "{read}"
    );
}
