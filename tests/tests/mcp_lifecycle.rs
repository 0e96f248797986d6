//! MCP servers over their lives: start-up failures reported and never failing unrelated turns,
//! required servers, a server dying mid-call and coming back, no MCP process outliving the
//! daemon (stop or `kill -9`), `config/mcpServer/reload`, start-up notifications,
//! `mcpServerStatus/list`, per-thread servers, streamable HTTP with a bearer token.

use std::time::Duration;

use agentd_tests::access::{connect_with_token, create_token};
use agentd_tests::mcp::{mock_mcp_bin, pids_in_record, read_record, start_http};
use agentd_tests::mock_llm::{Scripted, Step};
use agentd_tests::tools::{completed_items, tool_calls, turn_status, ToolRig};
use agentd_tests::{Agentd, Client, Options};
use serde_json::{json, Value};

use crate::mcp_support::{offered_tools, stdio_server, survivors, McpRig};

async fn status(c: &mut Client, params: Value) -> Vec<Value> {
    let r = c.call("mcpServerStatus/list", params).await.unwrap();
    r["data"].as_array().cloned().unwrap_or_default()
}

fn named<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no server {name} in {list:#?}"))
}

/// Polls `mcpServerStatus/list` until `name` is no longer starting.
async fn settled(c: &mut Client, name: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let list = status(c, json!({})).await;
        let s = named(&list, name).clone();
        let state = s["runtimeStatus"].as_str().unwrap_or("").to_owned();
        if state != "starting" && state != "notStarted" || tokio::time::Instant::now() > deadline {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The next `count` start-up statuses announced for `name` (others are skipped).
async fn startup_steps(c: &mut Client, name: &str, count: usize) -> Vec<String> {
    let mut steps = Vec::new();
    while steps.len() < count {
        let n = c.wait_for("mcpServer/startupStatus/updated").await.unwrap();
        if n["params"]["name"] == name {
            steps.push(n["params"]["status"].as_str().unwrap_or("").to_owned());
        }
    }
    steps
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_starts_are_reported_and_the_turn_goes_on_without_them() {
    let m = McpRig::start(
        &[
            ("good", "normal", ""),
            ("dead", "exit-at-start", ""),
            ("hung", "hang-initialize", "startup_timeout_sec = 1"),
            ("noisy", "garbage-stdout", "startup_timeout_sec = 2"),
        ],
        vec![Scripted::responses_text("fine")],
        Options::default().unconfined(),
    )
    .await;
    let done = m.rig.one_turn("hi").await.unwrap();
    assert_eq!(turn_status(&done.events), "completed");
    let names = offered_tools(&m.rig.mock.requests()[0].body);
    assert!(names.contains(&"mcp__good__echo".to_owned()), "{names:?}");
    assert!(!names
        .iter()
        .any(|n| n.starts_with("mcp__dead__") || n.starts_with("mcp__hung__")));

    let mut c = m.rig.client("s").await.unwrap();
    let list = status(&mut c, json!({})).await;
    let good = named(&list, "good");
    assert_eq!(good["runtimeStatus"], "connected");
    assert!(good["tools"]["echo"]["inputSchema"].is_object(), "{good}");
    assert_eq!(good["serverInfo"]["name"], "mock-mcp");
    assert_eq!(good["authStatus"], "unsupported");
    let dead = named(&list, "dead");
    assert_eq!(dead["runtimeStatus"], "failed");
    let why = dead["toolsError"].as_str().unwrap();
    assert!(
        why.contains("exited during start-up") && why.contains("exiting at start"),
        "{why}"
    );
    let hung = named(&list, "hung");
    assert_eq!(hung["runtimeStatus"], "failed");
    assert!(
        hung["toolsError"].as_str().unwrap().contains("initialize"),
        "{hung}"
    );
    let noisy = named(&list, "noisy");
    let state = noisy["runtimeStatus"].as_str().unwrap();
    assert!(
        state == "connected" || (state == "failed" && noisy["toolsError"].is_string()),
        "{noisy}"
    );
    // What failed was stopped: no process left behind.
    let left = survivors(
        &[m.pids("dead"), m.pids("hung")].concat(),
        Duration::from_secs(5),
    )
    .await;
    assert!(left.is_empty(), "still running: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_required_server_that_is_down_fails_the_turn_clearly() {
    let m = McpRig::start(
        &[("needed", "exit-at-start", "required = true")],
        vec![Scripted::responses_text("never sent")],
        Options::default().unconfined(),
    )
    .await;
    let done = m.rig.one_turn("hi").await.unwrap();
    assert_eq!(turn_status(&done.events), "failed");
    let turn = &done.events.last().unwrap()["params"]["turn"];
    let message = turn["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("`needed`") && message.contains("required"),
        "{message}"
    );
    assert!(m.rig.mock.requests().is_empty(), "the model was not asked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_dying_mid_call_fails_the_item_and_is_started_again_later() {
    let m = McpRig::start(
        &[("mock", "normal", "")],
        vec![
            tool_calls(vec![Step::function_call("c1", "mcp__mock__die", "{}")]),
            Scripted::responses_text("it died"),
        ],
        Options::default().unconfined(),
    )
    .await;
    let done = m.rig.one_turn("die").await.unwrap();
    assert_eq!(turn_status(&done.events), "completed");
    let item = &completed_items(&done.events, "mcpToolCall")[0];
    assert_eq!(item["status"], "failed");
    assert!(
        item["error"]["message"]
            .as_str()
            .unwrap()
            .contains("went away"),
        "{item}"
    );
    let first = m.pids("mock");
    assert_eq!(first.len(), 1);
    assert!(survivors(&first, Duration::from_secs(3)).await.is_empty());
    let mut c = m.rig.client("s").await.unwrap();
    let list = status(&mut c, json!({})).await;
    assert_eq!(named(&list, "mock")["runtimeStatus"], "failed");

    // After the backoff (5 s), the next turn starts it again and can use it.
    tokio::time::sleep(Duration::from_millis(5200)).await;
    m.rig.mock.push(tool_calls(vec![Step::function_call(
        "c2",
        "mcp__mock__echo",
        r#"{"text":"back"}"#,
    )]));
    m.rig.mock.push(Scripted::responses_text("ok"));
    let mut c2 = m.rig.client("t2").await.unwrap();
    let thread = m.rig.thread(&mut c2).await.unwrap();
    let turn = c2.start_turn(&thread, "again").await.unwrap();
    let events = c2.until_turn_completed(&turn).await.unwrap();
    assert_eq!(turn_status(&events), "completed");
    assert!(offered_tools(&m.rig.mock.requests()[2].body).contains(&"mcp__mock__echo".to_owned()));
    assert_eq!(m.rig.model_saw(4, "c2").await.unwrap(), "echo: back");
    assert_eq!(m.pids("mock").len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_mcp_process_outlives_the_daemon_even_after_kill_9() {
    for graceful in [true, false] {
        let m = McpRig::start(
            &[("mock", "normal", "")],
            Vec::new(),
            Options::default().unconfined(),
        )
        .await;
        let mut c = m.rig.client("s").await.unwrap();
        assert_eq!(settled(&mut c, "mock").await["runtimeStatus"], "connected");
        let pids = m.pids("mock");
        assert_eq!(pids.len(), 1);
        let McpRig { rig, records } = m;
        if graceful {
            let (status, _, _) = rig.daemon.terminate().await.unwrap();
            assert!(status.success());
        } else {
            rig.daemon.kill().await.unwrap();
        }
        let left = survivors(&pids, Duration::from_secs(3)).await;
        assert!(
            left.is_empty(),
            "graceful={graceful}: still running {left:?}"
        );
        drop(records);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_stops_the_old_servers_and_starts_the_new_ones_with_notifications() {
    let m = McpRig::start(
        &[("first", "normal", "")],
        Vec::new(),
        Options::default().unconfined(),
    )
    .await;
    let mut c = m.rig.client("s").await.unwrap();
    assert_eq!(settled(&mut c, "first").await["runtimeStatus"], "connected");
    let old = m.pids("first");
    let record = m.record("second");
    let config = m.rig.daemon.config_home().join("agentd/config.toml");
    std::fs::write(&config, stdio_server("second", "normal", &record, "")).unwrap();
    let r = c
        .call("config/mcpServer/reload", Value::Null)
        .await
        .unwrap();
    assert_eq!(r, json!({}));
    let steps = startup_steps(&mut c, "second", 2).await;
    assert_eq!(steps, ["starting", "ready"]);
    let list = status(&mut c, json!({})).await;
    assert_eq!(list.len(), 1);
    assert_eq!(named(&list, "second")["runtimeStatus"], "connected");
    assert!(survivors(&old, Duration::from_secs(3)).await.is_empty());

    // A config that no longer loads changes nothing.
    std::fs::write(&config, "[mcp_servers.bad]\nurl = \"ftp://x\"\n").unwrap();
    let r = c
        .request("config/mcpServer/reload", Value::Null)
        .await
        .unwrap();
    let message = r["error"]["message"].as_str().unwrap();
    assert!(message.contains("mcp_servers.bad.url"), "{message}");
    assert_eq!(status(&mut c, json!({})).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_can_bring_its_own_servers_but_only_an_admin_a_stdio_one() {
    let home = tempfile::tempdir().unwrap();
    let admin = create_token(home.path(), "boss", "admin");
    let control = create_token(home.path(), "driver", "control");
    let rig = ToolRig::start(
        vec![
            tool_calls(vec![Step::function_call(
                "c1",
                "mcp__own__echo",
                r#"{"text":"mine"}"#,
            )]),
            Scripted::responses_text("ok"),
        ],
        Options::default().unconfined().config_home(home.path()),
    )
    .await
    .unwrap();
    let records = tempfile::tempdir().unwrap();
    let record = records.path().join("own.record");
    let own = json!({"mcp_servers": {"own": {
        "command": mock_mcp_bin().unwrap().display().to_string(),
        "args": ["stdio", "--record", record.display().to_string()],
    }}});

    let mut ctl = connect_with_token(&rig.daemon, &control, "ctl")
        .await
        .unwrap();
    let r = ctl
        .request("thread/start", json!({"cwd": rig.cwd(), "config": own}))
        .await
        .unwrap();
    assert_eq!(r["error"]["code"], -32003, "{r}");

    let mut c = connect_with_token(&rig.daemon, &admin, "admin")
        .await
        .unwrap();
    let thread = c
        .start_thread(json!({"cwd": rig.cwd(), "config": own}))
        .await
        .unwrap();
    let turn = c.start_turn(&thread, "use mine").await.unwrap();
    let events = c.until_turn_completed(&turn).await.unwrap();
    assert_eq!(turn_status(&events), "completed");
    assert_eq!(rig.model_saw(2, "c1").await.unwrap(), "echo: mine");
    let list = status(&mut c, json!({"threadId": thread})).await;
    let s = named(&list, "own");
    assert_eq!(s["threadId"], thread);
    assert_eq!(s["runtimeStatus"], "connected");
    assert!(
        status(&mut c, json!({})).await.is_empty(),
        "not a global server"
    );

    // A bad entry is refused at thread/start, naming the key.
    let r = c
        .request(
            "thread/start",
            json!({"config": {"mcp_servers.x": {"command": "a", "url": "http://b"}}}),
        )
        .await
        .unwrap();
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("mcp_servers.x"),
        "{r}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamable_http_with_a_bearer_token_and_headers() {
    let records = tempfile::tempdir().unwrap();
    let record = records.path().join("web.record");
    let (_server, url) = start_http([
        "--bearer",
        "s3cret",
        "--record",
        &record.display().to_string(),
    ])
    .await
    .unwrap();
    let toml = format!(
        "[mcp_servers.web]\nurl = {url:?}\nbearer_token_env_var = \"WEB_TOKEN\"\nhttp_headers = {{ \"x-test\" = \"v1\" }}\n\n[mcp_servers.locked]\nurl = {url:?}\n"
    );
    let rig = ToolRig::start(
        vec![
            tool_calls(vec![Step::function_call(
                "c1",
                "mcp__web__echo",
                r#"{"text":"over http"}"#,
            )]),
            Scripted::responses_text("ok"),
        ],
        Options::default()
            .unconfined()
            .env("WEB_TOKEN", "s3cret")
            .config_toml(toml),
    )
    .await
    .unwrap();
    let done = rig.one_turn("http").await.unwrap();
    assert_eq!(turn_status(&done.events), "completed");
    assert_eq!(rig.model_saw(2, "c1").await.unwrap(), "echo: over http");
    assert!(read_record(&record).iter().any(|l| l == "header x-test v1"));
    let mut c = rig.client("s").await.unwrap();
    let list = status(&mut c, json!({})).await;
    let web = named(&list, "web");
    assert_eq!(web["authStatus"], "bearerToken");
    assert!(web["httpOrigin"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:"));
    // Without the token the server refuses: a failed status, not a failed daemon.
    assert_eq!(named(&list, "locked")["runtimeStatus"], "failed");
    assert!(pids_in_record(&record).len() == 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_mcp_config_is_an_error_naming_the_key_and_file() {
    for (toml, key) in [
        ("[mcp_servers.a]\nargs = [\"x\"]\n", "mcp_servers.a"),
        (
            "[mcp_servers.a]\ncommand = \"x\"\nurl = \"http://h\"\n",
            "mcp_servers.a.url",
        ),
        (
            "[mcp_servers.a]\ncommand = \"x\"\nbearer_token_env_var = \"T\"\n",
            "mcp_servers.a.bearer_token_env_var",
        ),
        (
            "[mcp_servers.a]\nurl = \"http://h\"\nenv_vars = [\"A\"]\n",
            "mcp_servers.a.env_vars",
        ),
        (
            "[mcp_servers.a]\ncommand = \"x\"\nstartup_timeout_sec = 0\n",
            "mcp_servers.a.startup_timeout_sec",
        ),
        (
            "[mcp_servers.a]\ncommand = \"x\"\ntool_timeout_sec = 1e30\n",
            "mcp_servers.a.tool_timeout_sec",
        ),
        (
            "[mcp_servers.a]\ncommand = \"x\"\ncolour = \"red\"\n",
            "mcp_servers.a.colour",
        ),
        (
            "[mcp_servers.\"a b\"]\ncommand = \"x\"\n",
            "mcp_servers.\"a b\"",
        ),
    ] {
        let (status, stderr) = Agentd::start_failing(Options::default().config_toml(toml))
            .await
            .unwrap();
        assert!(!status.success());
        assert!(
            stderr.contains(key) && stderr.contains("config.toml"),
            "{toml}\n{stderr}"
        );
    }
}
