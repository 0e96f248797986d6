//! Self-tests of `mock-mcp`, driven by rmcp's own client over real pipes and real HTTP, so the
//! MCP client tests can trust what the mock does (and what a stock rmcp client makes of it).

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use agentd_tests::mcp::{self, mock_mcp_bin, pids_in_record, process_alive, read_record};
use agentd_tests::mock_mcp::tools::{self, TINY_PNG_BASE64};
use anyhow::{bail, Context as _, Result};
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, ElicitRequestParams,
    ElicitResult, ElicitationAction, ErrorCode, Implementation, ProtocolVersion,
};
use rmcp::service::{NotificationContext, RequestContext, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{object, ClientHandler, ErrorData, RoleClient, ServiceError, ServiceExt as _};
use serde_json::json;
use tokio::process::{Child, Command};
use tokio::sync::Notify;

const TIMEOUT: Duration = Duration::from_secs(10);

/// Answers elicitations with `{"name": "Ann"}` and counts tools/list_changed.
#[derive(Clone, Default)]
struct TestClient {
    list_changed: Arc<Notify>,
}

impl ClientHandler for TestClient {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::builder().enable_elicitation().build(),
            Implementation::new("mock-mcp-selftest", "0"),
        )
        .with_protocol_version(ProtocolVersion::V_2025_11_25)
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _ctx: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        match request {
            ElicitRequestParams::FormElicitationParams { message, .. }
                if message == "What is your name?" =>
            {
                Ok(ElicitResult::new(ElicitationAction::Accept)
                    .with_content(json!({"name": "Ann"})))
            }
            _ => Ok(ElicitResult::new(ElicitationAction::Decline)),
        }
    }

    async fn on_tool_list_changed(&self, _ctx: NotificationContext<RoleClient>) {
        self.list_changed.notify_one();
    }
}

type Client = RunningService<RoleClient, TestClient>;

/// `mock-mcp stdio ARGS…` with rmcp's client on its pipes (stderr goes to the test's).
async fn stdio(args: &[&str], handler: TestClient) -> Result<(Child, Client)> {
    let mut child = Command::new(mock_mcp_bin()?)
        .arg("stdio")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let io = (
        child.stdout.take().context("no stdout")?,
        child.stdin.take().context("no stdin")?,
    );
    let client = tokio::time::timeout(TIMEOUT, handler.serve(io)).await??;
    Ok((child, client))
}

async fn call(client: &Client, name: &str, args: serde_json::Value) -> Result<CallToolResult> {
    let mut params = CallToolRequestParams::new(name.to_owned());
    if let serde_json::Value::Object(map) = args {
        params = params.with_arguments(map);
    }
    Ok(tokio::time::timeout(TIMEOUT, client.call_tool(params)).await??)
}

fn first_text(result: &CallToolResult) -> &str {
    result
        .content
        .first()
        .and_then(|c| c.as_text())
        .map_or("", |t| t.text.as_str())
}

/// The calls both transports must serve identically.
async fn check_basic_tools(client: &Client) -> Result<()> {
    let listed = client.list_all_tools().await?;
    let names: Vec<&str> = listed.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, tools::NAMES);
    let read_only = |name: &str| {
        listed
            .iter()
            .find(|t| t.name == name)
            .and_then(|t| t.annotations.as_ref()?.read_only_hint)
    };
    assert_eq!(read_only("echo"), Some(true));
    assert_eq!(read_only("image"), Some(true));
    assert_eq!(read_only("write"), None);

    let echo = call(client, "echo", json!({"text": "hi"})).await?;
    assert_eq!(
        (first_text(&echo), echo.is_error),
        ("echo: hi", Some(false))
    );

    let image = call(client, "image", json!({})).await?;
    assert_eq!(first_text(&image), "here is an image");
    let png = image
        .content
        .get(1)
        .and_then(|c| c.as_image())
        .context("no image")?;
    assert_eq!(
        (png.data.as_str(), png.mime_type.as_str()),
        (TINY_PNG_BASE64, "image/png")
    );

    let fail = call(client, "fail", json!({})).await?;
    assert_eq!((first_text(&fail), fail.is_error), ("boom", Some(true)));

    let structured = call(client, "structured", json!({})).await?;
    assert_eq!(structured.structured_content, Some(json!({"answer": 42})));
    assert_eq!(first_text(&structured), r#"{"answer":42}"#);

    let err = client
        .call_tool(CallToolRequestParams::new("protocol_error"))
        .await
        .err()
        .context("protocol_error succeeded")?;
    match err {
        ServiceError::McpError(e) => {
            assert_eq!(
                (e.code, e.message.as_ref()),
                (ErrorCode::INTERNAL_ERROR, "protocol boom")
            );
        }
        other => bail!("protocol_error gave {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn stdio_serves_every_kind_of_result() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let record = dir.path().join("record");
    let (mut child, client) = stdio(
        &["--record", record.to_str().context("path")?],
        TestClient::default(),
    )
    .await?;
    check_basic_tools(&client).await?;
    let pids = pids_in_record(&record);
    assert_eq!(pids.len(), 1, "{:?}", read_record(&record));
    assert!(process_alive(pids[0]));

    // Closing the client closes stdin: the server exits by itself, cleanly.
    client.cancel().await?;
    let status = tokio::time::timeout(TIMEOUT, child.wait()).await??;
    assert!(status.success(), "{status}");
    assert!(!process_alive(pids[0]));
    Ok(())
}

#[tokio::test]
async fn stdio_elicitation_list_changed_cancel_and_names() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let record = dir.path().join("record");
    let handler = TestClient::default();
    let changed = Arc::clone(&handler.list_changed);
    let (_child, client) = stdio(&["--record", record.to_str().context("path")?], handler).await?;

    let ask = call(&client, "ask", json!({})).await?;
    assert_eq!(first_text(&ask), r#"answer: accept {"name":"Ann"}"#);

    assert_eq!(
        first_text(&call(&client, "add_tool", json!({})).await?),
        "added"
    );
    tokio::time::timeout(TIMEOUT, changed.notified()).await?;
    let names: Vec<String> = client
        .list_all_tools()
        .await?
        .into_iter()
        .map(|t| t.name.into_owned())
        .collect();
    assert_eq!(names.last().map(String::as_str), Some(tools::LATE));
    assert_eq!(
        first_text(&call(&client, tools::LATE, json!({})).await?),
        "late tool"
    );

    for (name, want) in [
        (tools::DOTTED, "dotted ok"),
        (tools::LONG_NAME, "long ok"),
        (tools::NO_TYPE_SCHEMA, "no type ok"),
    ] {
        assert_eq!(first_text(&call(&client, name, json!({})).await?), want);
    }
    let big = call(&client, "big", json!({"bytes": 100_000})).await?;
    let text = first_text(&big);
    assert!(text.len() == 100_000 && text.starts_with("HEADx") && text.ends_with("xTAIL"));
    let env: serde_json::Value =
        serde_json::from_str(first_text(&call(&client, "env", json!({})).await?))?;
    assert!(env.get("PATH").is_some(), "{env}");
    let target = dir.path().join("written");
    let write = call(&client, "write", json!({"path": target, "text": "data"})).await?;
    assert_eq!(first_text(&write), format!("wrote {}", target.display()));
    assert_eq!(std::fs::read_to_string(&target)?, "data");

    // Dropping the call future sends notifications/cancelled, which reaches ctx.ct.
    let params = CallToolRequestParams::new("slow").with_arguments(object!({"ms": 30_000}));
    assert!(
        tokio::time::timeout(Duration::from_millis(300), client.call_tool(params))
            .await
            .is_err()
    );
    wait_for_line(&record, "cancelled slow").await?;
    assert!(read_record(&record)
        .iter()
        .any(|l| l.starts_with("notification cancelled ")));
    assert_eq!(
        first_text(&call(&client, "slow", json!({"ms": 10})).await?),
        "slept 10"
    );
    Ok(())
}

async fn wait_for_line(record: &std::path::Path, line: &str) -> Result<()> {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while !read_record(record).iter().any(|l| l == line) {
        if tokio::time::Instant::now() > deadline {
            bail!("no {line:?} in {:?}", read_record(record));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

#[tokio::test]
async fn stdio_misbehaving_modes() -> Result<()> {
    // garbage-stdout: rmcp's client skips lines that are not JSON and carries on.
    let (_child, client) = stdio(&["--mode", "garbage-stdout"], TestClient::default()).await?;
    assert_eq!(
        first_text(&call(&client, "echo", json!({"text": "x"})).await?),
        "echo: x"
    );
    drop(client);

    // die: the call fails (no answer, the pipe closes) and the server exits with 1.
    let (mut child, client) = stdio(&[], TestClient::default()).await?;
    let died =
        tokio::time::timeout(TIMEOUT, client.call_tool(CallToolRequestParams::new("die"))).await?;
    eprintln!("die gave {died:?}");
    assert!(died.is_err());
    assert_eq!(
        tokio::time::timeout(TIMEOUT, child.wait()).await??.code(),
        Some(1)
    );

    let out = Command::new(mock_mcp_bin()?)
        .args(["stdio", "--mode", "exit-at-start"])
        .output()
        .await?;
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("mock-mcp: exiting at start"));

    // hang-initialize: no answer to initialize, and stdin EOF does not end it either.
    let mut child = Command::new(mock_mcp_bin()?)
        .args(["stdio", "--mode", "hang-initialize"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let io = (
        child.stdout.take().context("stdout")?,
        child.stdin.take().context("stdin")?,
    );
    let init = tokio::time::timeout(Duration::from_secs(1), TestClient::default().serve(io)).await;
    assert!(init.is_err(), "initialize was answered");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        child.try_wait()?.is_none(),
        "hang-initialize exited on stdin EOF"
    );
    child.kill().await?;
    Ok(())
}

#[tokio::test]
async fn http_serves_tools_checks_bearer_and_records_headers() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let record = dir.path().join("record");
    let (_server, url) = mcp::start_http([
        "--bearer",
        "sekrit",
        "--record",
        record.to_str().context("path")?,
    ])
    .await?;
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/mcp"),
        "{url}"
    );

    let headers = [(
        http::HeaderName::from_static("x-test"),
        http::HeaderValue::from_static("hello"),
    )];
    let config = StreamableHttpClientTransportConfig::with_uri(url.as_str())
        .auth_header("sekrit")
        .custom_headers(headers.into_iter().collect());
    let handler = TestClient::default();
    let client = tokio::time::timeout(
        TIMEOUT,
        handler.serve(StreamableHttpClientTransport::from_config(config)),
    )
    .await??;
    check_basic_tools(&client).await?;
    let ask = call(&client, "ask", json!({})).await?;
    assert_eq!(first_text(&ask), r#"answer: accept {"name":"Ann"}"#);
    assert!(read_record(&record).contains(&"header x-test hello".to_owned()));
    client.cancel().await?;

    for token in [None, Some("wrong")] {
        let mut config = StreamableHttpClientTransportConfig::with_uri(url.as_str());
        if let Some(token) = token {
            config = config.auth_header(token);
        }
        let transport = StreamableHttpClientTransport::from_config(config);
        let err = tokio::time::timeout(TIMEOUT, TestClient::default().serve(transport))
            .await?
            .err()
            .context("initialize without the right token succeeded")?;
        assert!(err.is_authorization_required(), "{err:?}");
    }
    let other = reqwest::get(url.replace("/mcp", "/other")).await?;
    assert_eq!(other.status(), 404);
    Ok(())
}
