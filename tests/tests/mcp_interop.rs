//! agentd's MCP client against an MCP server nobody here wrote:
//! `@modelcontextprotocol/server-everything` from the npm registry (installed with its lockfile
//! by `npm ci` in tests/node). Skipped, saying so, only when node or the package is absent.

use agentd_tests::mcp::server_everything;
use agentd_tests::mock_llm::{Scripted, Step};
use agentd_tests::tools::{completed_items, tool_calls, turn_status, ToolRig};
use agentd_tests::Options;
use serde_json::json;

use crate::mcp_support::offered_tools;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_everything_tools_are_offered_and_calls_round_trip() {
    let Some(script) = server_everything() else {
        eprintln!("SKIPPED: server-everything is not installed (see above)");
        return;
    };
    let toml = format!(
        "[mcp_servers.everything]\ncommand = \"node\"\nargs = [{:?}, \"stdio\"]\nstartup_timeout_sec = 30\n",
        script.display().to_string()
    );
    let rig = ToolRig::start(
        vec![
            tool_calls(vec![
                Step::function_call("c1", "mcp__everything__echo", r#"{"message":"hello"}"#),
                Step::function_call("c2", "mcp__everything__get-sum", r#"{"a":2,"b":3}"#),
                Step::function_call("c3", "mcp__everything__get-tiny-image", "{}"),
            ]),
            Scripted::responses_text("done"),
        ],
        Options::default().unconfined().config_toml(toml),
    )
    .await
    .unwrap();
    let done = rig.one_turn("use everything").await.unwrap();
    assert_eq!(turn_status(&done.events), "completed");
    let names = offered_tools(&rig.mock.requests()[0].body);
    for name in ["mcp__everything__echo", "mcp__everything__get-sum"] {
        assert!(names.iter().any(|n| n == name), "{name} not in {names:?}");
    }
    assert!(rig.model_saw(2, "c1").await.unwrap().contains("hello"));
    assert!(rig.model_saw(2, "c2").await.unwrap().contains('5'));
    let items = completed_items(&done.events, "mcpToolCall");
    assert_eq!(items.len(), 3);
    assert!(
        items.iter().all(|i| i["status"] == "completed"),
        "{items:#?}"
    );
    assert!(items[2]["result"]["content"]
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b["type"] == "image"));

    let mut c = rig.client("s").await.unwrap();
    let list = c.call("mcpServerStatus/list", json!({})).await.unwrap();
    let s = &list["data"][0];
    assert_eq!(s["name"], "everything");
    assert_eq!(s["runtimeStatus"], "connected");
    assert!(s["tools"]["echo"].is_object(), "{s}");
    assert!(s["serverInfo"]["name"].is_string());
}
