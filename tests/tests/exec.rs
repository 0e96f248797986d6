//! `agentd exec`: one turn from a script, the answer on stdout (or `codex exec --json`'s event
//! stream), an exit status; the thread stored like any other.

use std::time::Duration;

use agentd_tests::exec::ExecRig;
use agentd_tests::mock_llm::{MockLlm, Scripted, Step, Usage};
use agentd_tests::{Agentd, Options};
use serde_json::{json, Value};

fn shell(command: &[&str]) -> String {
    json!({ "command": command }).to_string()
}

/// The text of every `input_text` / `content` of a recorded request, joined.
fn request_text(body: &Value) -> String {
    body.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_answer_alone_goes_to_stdout_and_the_run_exits_0() {
    let mock = MockLlm::start(vec![Scripted::responses_text("The answer is 42.")])
        .await
        .unwrap();
    let rig = ExecRig::new(&mock, "responses").unwrap();
    let run = rig.run(&["what is the answer?"]).await.unwrap();
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stdout, "The answer is 42.\n");
    let asked = &mock.requests()[0].body;
    assert!(
        request_text(asked).contains("what is the answer?"),
        "{asked}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_is_codex_execs_event_stream_with_the_models_usage() {
    let mock = MockLlm::start(vec![
        Scripted::responses(vec![
            Step::created(),
            Step::function_call("c1", "shell", &shell(&["echo", "hi"])),
            Step::completed(Usage::new(100, 10)),
        ]),
        Scripted::responses(vec![
            Step::created(),
            Step::message(&["done"]),
            Step::completed(Usage::new(150, 20).cached(30)),
        ]),
    ])
    .await
    .unwrap();
    let rig = ExecRig::with_config(
        &mock,
        "responses",
        "sandbox_mode = \"danger-full-access\"\n",
    )
    .unwrap();
    let run = rig.run(&["--json", "say hi"]).await.unwrap();
    assert_eq!(run.code, Some(0), "{run:?}");
    let events = run.events();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "thread.started",
            "turn.started",
            "item.started",
            "item.completed",
            "item.completed",
            "turn.completed"
        ],
        "{events:#?}"
    );
    assert!(events[0]["thread_id"]
        .as_str()
        .is_some_and(|t| !t.is_empty()));
    let started = &events[2]["item"];
    assert_eq!(started["type"], "command_execution");
    assert_eq!(started["status"], "in_progress");
    assert_eq!(started["id"], "item_0");
    let command = &events[3]["item"];
    assert_eq!(command["id"], "item_0");
    assert_eq!(command["exit_code"], 0);
    assert_eq!(command["aggregated_output"], "hi\n");
    assert_eq!(command["status"], "completed");
    assert_eq!(
        events[4]["item"],
        json!({"id": "item_1", "type": "agent_message", "text": "done"})
    );
    assert_eq!(
        events[5]["usage"],
        json!({"input_tokens": 250, "cached_input_tokens": 30, "cache_write_input_tokens": 0,
               "output_tokens": 30, "reasoning_output_tokens": 0})
    );
    // Nothing but the events on stdout.
    assert_eq!(run.stdout.lines().count(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_last_message_writes_the_final_answer() {
    let mock = MockLlm::start(vec![Scripted::responses_text("final words")])
        .await
        .unwrap();
    let rig = ExecRig::new(&mock, "responses").unwrap();
    let out = rig.path("answer.txt");
    let run = rig.run(&["-o", out.to_str().unwrap(), "go"]).await.unwrap();
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(std::fs::read_to_string(out).unwrap(), "final words");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_auto_lets_a_command_write_in_the_workspace() {
    let mock = MockLlm::start(vec![
        Scripted::responses_tool_call("c1", "shell", &shell(&["sh", "-c", "echo made > made.txt"])),
        Scripted::responses_text("wrote it"),
    ])
    .await
    .unwrap();
    let rig = ExecRig::new(&mock, "responses").unwrap();
    let run = rig.run(&["--full-auto", "make a file"]).await.unwrap();
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        std::fs::read_to_string(rig.path("made.txt")).unwrap(),
        "made\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_policy_would_ask_about_is_declined_and_the_model_told_why() {
    let mock = MockLlm::start(vec![
        Scripted::responses_tool_call("c1", "shell", &shell(&["rm", "-rf", "keep"])),
        Scripted::responses_text("ok, I will not"),
    ])
    .await
    .unwrap();
    let rig = ExecRig::new(&mock, "responses").unwrap();
    std::fs::create_dir(rig.path("keep")).unwrap();
    let run = rig.run(&["--json", "clean up"]).await.unwrap();
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(rig.path("keep").exists(), "the command did not run");
    let second = &mock.requests()[1].body;
    let output = second["input"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "function_call_output")
        .unwrap()["output"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(output.contains("nobody can approve"), "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_model_stream_exits_1_with_turn_failed() {
    let mock = MockLlm::start(vec![Scripted::responses(vec![
        Step::created(),
        Step::failed("server_error", "the model fell over"),
    ])])
    .await
    .unwrap();
    let rig = ExecRig::new(&mock, "responses").unwrap();
    let run = rig.run(&["--json", "go"]).await.unwrap();
    assert_eq!(run.code, Some(1), "{run:?}");
    let last = run.events().pop().unwrap();
    assert_eq!(last["type"], "turn.failed", "{last}");
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap()
            .contains("fell over"),
        "{last}"
    );
    // Without --json the error is on stderr and stdout stays empty.
    let mock = MockLlm::start(vec![Scripted::responses(vec![
        Step::created(),
        Step::failed("server_error", "the model fell over"),
    ])])
    .await
    .unwrap();
    let rig = ExecRig::new(&mock, "responses").unwrap();
    let run = rig.run(&["go"]).await.unwrap();
    assert_eq!(run.code, Some(1));
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("fell over"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prompt_comes_from_stdin_with_a_dash_or_none() {
    let mock = MockLlm::start(vec![
        Scripted::responses_text("one"),
        Scripted::responses_text("two"),
    ])
    .await
    .unwrap();
    let rig = ExecRig::new(&mock, "responses").unwrap();
    let run = rig
        .run_with_stdin(&["-"], Some("piped prompt one\n"))
        .await
        .unwrap();
    assert_eq!(run.code, Some(0), "{run:?}");
    let run = rig
        .run_with_stdin(&[], Some("piped prompt two"))
        .await
        .unwrap();
    assert_eq!(run.code, Some(0), "{run:?}");
    let requests = mock.requests();
    assert!(request_text(&requests[0].body).contains("piped prompt one"));
    assert!(request_text(&requests[1].body).contains("piped prompt two"));
    // An empty stdin is a usage error.
    let run = rig.run_with_stdin(&["-"], Some("  \n")).await.unwrap();
    assert_eq!(run.code, Some(2), "{run:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_last_sends_the_first_turns_history() {
    let mock = MockLlm::start(vec![
        Scripted::responses_text("first answer"),
        Scripted::responses_text("second answer"),
    ])
    .await
    .unwrap();
    let rig = ExecRig::new(&mock, "responses").unwrap();
    let first = rig
        .run(&["--json", "remember the word banana"])
        .await
        .unwrap();
    assert_eq!(first.code, Some(0), "{first:?}");
    let thread = first.events()[0]["thread_id"].clone();
    let second = rig
        .run(&["--json", "resume", "--last", "what was the word?"])
        .await
        .unwrap();
    assert_eq!(second.code, Some(0), "{second:?}");
    assert_eq!(second.events()[0]["thread_id"], thread, "the same thread");
    let body = request_text(&mock.requests()[1].body);
    assert!(body.contains("remember the word banana"), "{body}");
    assert!(body.contains("first answer"), "{body}");
    assert!(body.contains("what was the word?"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_schema_is_sent_strict_and_the_answer_is_its_json() {
    let mock = MockLlm::start(vec![Scripted::responses_text("{\"verdict\":\"ok\"}")])
        .await
        .unwrap();
    let rig = ExecRig::new(&mock, "responses").unwrap();
    let schema = json!({"type": "object", "properties": {"verdict": {"type": "string"}},
                        "required": ["verdict"], "additionalProperties": false});
    let file = rig.path("schema.json");
    std::fs::write(&file, schema.to_string()).unwrap();
    let run = rig
        .run(&["--output-schema", file.to_str().unwrap(), "judge"])
        .await
        .unwrap();
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        serde_json::from_str::<Value>(run.stdout.trim()).unwrap(),
        json!({"verdict": "ok"})
    );
    let format = &mock.requests()[0].body["text"]["format"];
    assert_eq!(format["type"], "json_schema");
    assert_eq!(format["strict"], true);
    assert_eq!(format["schema"], schema);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_works_through_a_daemon_that_holds_the_data_dir_and_through_connect() {
    let mock = MockLlm::start(vec![
        Scripted::responses_text("through the socket"),
        Scripted::responses_text("through websocket"),
    ])
    .await
    .unwrap();
    let rig = ExecRig::new(&mock, "responses").unwrap();
    let daemon = Agentd::start(
        Options::default()
            .data_dir(rig.data_dir())
            .config_home(&rig.config_home),
    )
    .await
    .unwrap();
    let mut watcher = daemon.client("watcher").await.unwrap();
    let run = rig.run(&["first"]).await.unwrap();
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stdout, "through the socket\n");
    let listed = watcher
        .call("thread/list", json!({"sourceKinds": ["exec"]}))
        .await
        .unwrap();
    assert_eq!(listed["data"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["data"][0]["source"], "exec");

    let run = rig
        .run(&[
            "--connect",
            &daemon.ws_url(),
            "--token",
            daemon.token().unwrap(),
            "second",
        ])
        .await
        .unwrap();
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stdout, "through websocket\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_mid_stream_interrupts_the_turn_and_exits_130() {
    let mock = MockLlm::start(vec![Scripted::responses(vec![
        Step::created(),
        Step::message(&["partial"]),
        Step::gate(),
        Step::completed(Usage::default()),
    ])])
    .await
    .unwrap();
    let rig = ExecRig::new(&mock, "responses").unwrap();
    let mut child = rig.command(&["--json", "go"]).unwrap().spawn().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while mock.gates_reached() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stream never reached its gate"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pid = child.id().unwrap();
    std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(130));
    // The store has the turn, interrupted.
    let url = format!("sqlite://{}", rig.data_dir().join("agentd.db").display());
    let mut db = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    let statuses: Vec<(String,)> = sqlx::query_as("SELECT status FROM turns")
        .fetch_all(&mut db)
        .await
        .unwrap();
    assert_eq!(statuses, vec![("interrupted".to_owned(),)]);
}

fn tiny_png(path: &std::path::Path) {
    std::fs::write(path, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_reach_the_model_on_both_wires() {
    // Responses, from `-i`.
    let mock = MockLlm::start(vec![Scripted::responses_text("a picture")])
        .await
        .unwrap();
    let rig = ExecRig::new(&mock, "responses").unwrap();
    tiny_png(&rig.path("pic.png"));
    let run = rig.run(&["-i", "pic.png", "what is this?"]).await.unwrap();
    assert_eq!(run.code, Some(0), "{run:?}");
    let body = &mock.requests()[0].body;
    let user = body["input"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["role"] == "user")
        .unwrap();
    assert_eq!(user["content"][0]["type"], "input_image");
    assert!(user["content"][0]["image_url"]
        .as_str()
        .unwrap()
        .starts_with("data:image/png;base64,iVBORw0KGgo"));
    assert_eq!(user["content"][1]["text"], "what is this?");

    // Chat Completions, from a client's `image` and `localImage` inputs.
    let mock = MockLlm::start(vec![Scripted::chat_text("two pictures")])
        .await
        .unwrap();
    let d = Agentd::start(Options::default().mock_provider(&mock.base_url(), "chat"))
        .await
        .unwrap();
    let mut c = d.client("t").await.unwrap();
    let thread = c.start_thread(json!({})).await.unwrap();
    let local = d.data_dir.join("pic.png");
    tiny_png(&local);
    let r = c
        .call(
            "turn/start",
            json!({"threadId": thread, "input": [
                {"type": "image", "url": "https://example.com/cat.jpg"},
                {"type": "localImage", "path": local.display().to_string()},
                {"type": "text", "text": "compare"}]}),
        )
        .await
        .unwrap();
    let turn = r["turn"]["id"].as_str().unwrap().to_owned();
    c.until_turn_completed(&turn).await.unwrap();
    let body = &mock.requests()[0].body;
    let user = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "user")
        .unwrap();
    assert_eq!(
        user["content"][0]["image_url"]["url"],
        "https://example.com/cat.jpg"
    );
    assert!(user["content"][1]["image_url"]["url"]
        .as_str()
        .unwrap()
        .starts_with("data:image/png;base64,"));
    assert_eq!(
        user["content"][2],
        json!({"type": "text", "text": "compare"})
    );
    // A file that is not an image is refused by name.
    let txt = d.data_dir.join("notes.txt");
    std::fs::write(&txt, "hello").unwrap();
    let err = c
        .request(
            "turn/start",
            json!({"threadId": thread, "input": [{"type": "localImage", "path": txt.display().to_string()}]}),
        )
        .await
        .unwrap();
    assert_eq!(err["error"]["code"], -32602, "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("input[0]"),
        "{err}"
    );
}
