//! Self-tests of the mock model server, through a real HTTP client and a
//! real SSE parser, so integration tests can trust what it sends.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use agentd_tests::mock_llm::{
    parse_script, ChatQuirks, ChatStep, MockLlm, ReasoningField, Scripted, Step, Usage,
};
use eventsource_stream::{Event, Eventsource as _};
use futures_util::{Stream, StreamExt as _};
use serde_json::{json, Value};

const SECOND: Duration = Duration::from_secs(1);

async fn post(url: &str, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .bearer_auth("sk-test")
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn events(resp: reqwest::Response) -> impl Stream<Item = Event> + Unpin {
    Box::pin(resp.bytes_stream().eventsource().map(|e| e.unwrap()))
}

async fn collect(resp: reqwest::Response) -> Vec<Event> {
    tokio::time::timeout(5 * SECOND, events(resp).collect::<Vec<_>>())
        .await
        .unwrap()
}

fn data(e: &Event) -> Value {
    serde_json::from_str(&e.data).unwrap()
}

#[tokio::test]
async fn responses_text_streams_the_real_event_shapes_in_order() {
    let mock = MockLlm::start(vec![Scripted::responses_text("hello streaming world")])
        .await
        .unwrap();
    let resp = post(
        &format!("{}/responses", mock.base_url()),
        json!({"model": "gpt-test", "input": [], "stream": true}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    assert!(resp.headers().get("content-length").is_none());
    let evs = collect(resp).await;
    let names: Vec<&str> = evs.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        names,
        [
            "response.created",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    for (i, e) in evs.iter().enumerate() {
        let d = data(e);
        assert_eq!(d["type"], e.event.as_str());
        assert_eq!(d["sequence_number"], i);
    }
    let created = data(&evs[0]);
    assert_eq!(created["response"]["status"], "in_progress");
    assert_eq!(created["response"]["model"], "gpt-test");
    let item_id = data(&evs[1])["item"]["id"].clone();
    let deltas: String = evs[3..6]
        .iter()
        .map(|e| {
            let d = data(e);
            assert_eq!(d["item_id"], item_id);
            assert_eq!(d["output_index"], 0);
            d["delta"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(deltas, "hello streaming world");
    let done = data(&evs[8]);
    assert_eq!(done["item"]["type"], "message");
    assert_eq!(done["item"]["role"], "assistant");
    assert_eq!(done["item"]["content"][0]["text"], "hello streaming world");
    let completed = data(&evs[9]);
    assert_eq!(completed["response"]["status"], "completed");
    assert_eq!(completed["response"]["output"][0], done["item"]);
    assert_eq!(
        completed["response"]["usage"],
        json!({"input_tokens": 100, "input_tokens_details": {"cached_tokens": 0},
               "output_tokens": 20, "output_tokens_details": {"reasoning_tokens": 0},
               "total_tokens": 120})
    );
}

#[tokio::test]
async fn responses_items_reasoning_and_tool_calls() {
    let mock = MockLlm::start(vec![Scripted::responses(vec![
        Step::created(),
        Step::reasoning(&["Let me ", "think"]),
        Step::function_call("call_1", "shell", r#"{"cmd":"ls -la"}"#),
        Step::custom_tool_call("call_2", "apply_patch", "*** Begin Patch\n*** End Patch"),
        Step::completed(Usage::new(10, 5).cached(4).reasoning(3)),
    ])])
    .await
    .unwrap();
    let resp = post(&format!("{}/responses", mock.base_url()), json!({})).await;
    let evs: Vec<Value> = collect(resp).await.iter().map(data).collect();
    let of = |t: &str| -> Vec<&Value> { evs.iter().filter(|d| d["type"] == t).collect() };

    let summary = of("response.reasoning_summary_text.delta");
    assert_eq!(summary.len(), 2);
    assert_eq!(summary[0]["summary_index"], 0);
    assert_eq!(summary[1]["delta"], "think");

    let args: String = of("response.function_call_arguments.delta")
        .iter()
        .map(|d| d["delta"].as_str().unwrap())
        .collect();
    assert_eq!(args, r#"{"cmd":"ls -la"}"#);

    let done = of("response.output_item.done");
    assert_eq!(
        done[0]["item"]["summary"],
        json!([{"type": "summary_text", "text": "Let me think"}])
    );
    assert_eq!(done[1]["output_index"], 1);
    assert_eq!(done[1]["item"]["type"], "function_call");
    assert_eq!(done[1]["item"]["call_id"], "call_1");
    assert_eq!(done[1]["item"]["name"], "shell");
    assert_eq!(done[1]["item"]["arguments"], r#"{"cmd":"ls -la"}"#);
    assert_eq!(done[2]["item"]["type"], "custom_tool_call");
    assert_eq!(done[2]["item"]["input"], "*** Begin Patch\n*** End Patch");

    let usage = &of("response.completed")[0]["response"]["usage"];
    assert_eq!(usage["input_tokens_details"]["cached_tokens"], 4);
    assert_eq!(usage["output_tokens_details"]["reasoning_tokens"], 3);
    assert_eq!(usage["total_tokens"], 15);
}

#[tokio::test]
async fn responses_terminal_faults_hang_up_and_malformed() {
    let mock = MockLlm::start(vec![
        Scripted::responses(vec![Step::created(), Step::failed("server_error", "boom")]),
        Scripted::responses(vec![Step::created(), Step::incomplete("max_output_tokens")]),
        Scripted::responses(vec![Step::created(), Step::message(&["partial"])]),
        Scripted::responses(vec![
            Step::malformed(),
            Step::raw(
                "response.custom",
                json!({"type": "response.custom", "x": 1}),
            ),
        ]),
    ])
    .await
    .unwrap();
    let url = format!("{}/responses", mock.base_url());

    let failed = data(collect(post(&url, json!({})).await).await.last().unwrap());
    assert_eq!(failed["type"], "response.failed");
    assert_eq!(failed["response"]["status"], "failed");
    assert_eq!(failed["response"]["error"]["code"], "server_error");
    assert_eq!(failed["response"]["error"]["message"], "boom");

    let incomplete = data(collect(post(&url, json!({})).await).await.last().unwrap());
    assert_eq!(
        incomplete["response"]["incomplete_details"]["reason"],
        "max_output_tokens"
    );

    let hung_up = collect(post(&url, json!({})).await).await;
    assert_eq!(hung_up.last().unwrap().event, "response.output_item.done");

    let odd = collect(post(&url, json!({})).await).await;
    assert!(serde_json::from_str::<Value>(&odd[0].data).is_err());
    assert_eq!(odd[1].event, "response.custom");
    assert_eq!(data(&odd[1])["x"], 1);
}

#[tokio::test]
async fn chat_tool_call_fragments_reasoning_usage_and_done() {
    let mock = MockLlm::start(vec![Scripted::chat(vec![
        ChatStep::reasoning(&["hmm"], ReasoningField::ReasoningContent),
        ChatStep::content(&["I'll ", "look"]),
        ChatStep::tool_call(0, "call_a", "shell", &["{\"cmd\":", "\"ls\"}"]),
        ChatStep::tool_call(1, "call_b", "read", &["{}"]),
        ChatStep::finish("tool_calls"),
        ChatStep::usage(30, 7, 10),
        ChatStep::done(),
    ])])
    .await
    .unwrap();
    let resp = post(
        &format!("{}/chat/completions", mock.base_url()),
        json!({"model": "m", "messages": []}),
    )
    .await;
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let evs = collect(resp).await;
    assert_eq!(evs.last().unwrap().data, "[DONE]");
    let chunks: Vec<Value> = evs[..evs.len() - 1].iter().map(data).collect();
    for c in &chunks {
        assert_eq!(c["object"], "chat.completion.chunk");
        assert_eq!(c["model"], "m");
        assert!(c["id"].as_str().unwrap().starts_with("chatcmpl-"));
    }
    let delta = |i: usize| chunks[i]["choices"][0]["delta"].clone();
    assert_eq!(
        delta(0),
        json!({"role": "assistant", "reasoning_content": "hmm"})
    );
    assert_eq!(delta(1), json!({"content": "I'll "}));
    assert_eq!(
        delta(3)["tool_calls"][0],
        json!({"index": 0, "id": "call_a", "type": "function",
               "function": {"name": "shell", "arguments": "{\"cmd\":"}})
    );
    assert_eq!(
        delta(4)["tool_calls"][0],
        json!({"index": 0, "function": {"arguments": "\"ls\"}"}})
    );
    assert_eq!(delta(5)["tool_calls"][0]["index"], 1);
    assert_eq!(delta(5)["tool_calls"][0]["id"], "call_b");
    assert_eq!(chunks[6]["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(chunks[7]["choices"], json!([]));
    assert_eq!(
        chunks[7]["usage"],
        json!({"prompt_tokens": 30, "completion_tokens": 7, "total_tokens": 37,
               "prompt_tokens_details": {"cached_tokens": 10}})
    );
}

#[tokio::test]
async fn ollama_quirk_sends_whole_tool_calls_all_at_index_zero() {
    let mock = MockLlm::start(vec![Scripted::chat_with_quirks(
        vec![
            ChatStep::tool_call(0, "call_a", "shell", &["{\"cmd\":", "\"ls\"}"]),
            ChatStep::tool_call(1, "call_b", "read", &["{\"path\":", "\"x\"}"]),
            ChatStep::finish("stop"),
            ChatStep::done(),
        ],
        ChatQuirks {
            ollama_whole_tool_calls: true,
        },
    )])
    .await
    .unwrap();
    let resp = post(&format!("{}/chat/completions", mock.base_url()), json!({})).await;
    let evs = collect(resp).await;
    let calls: Vec<Value> = evs[..2]
        .iter()
        .map(|e| data(e)["choices"][0]["delta"]["tool_calls"][0].clone())
        .collect();
    assert_eq!(
        calls[0],
        json!({"index": 0, "id": "call_a", "type": "function",
               "function": {"name": "shell", "arguments": "{\"cmd\":\"ls\"}"}})
    );
    assert_eq!(
        calls[1],
        json!({"index": 0, "id": "call_b", "type": "function",
               "function": {"name": "read", "arguments": "{\"path\":\"x\"}"}})
    );
    assert_eq!(evs.len(), 4);
}

#[tokio::test]
async fn http_error_then_success_consumes_two_entries_then_script_runs_out() {
    let mock = MockLlm::start(vec![
        Scripted::http_error(500, json!({"error": {"message": "upstream broke"}})),
        Scripted::responses_text("ok"),
    ])
    .await
    .unwrap();
    let url = format!("{}/responses", mock.base_url());
    let first = post(&url, json!({})).await;
    assert_eq!(first.status(), 500);
    assert_eq!(first.headers()["content-type"], "application/json");
    let body: Value = first.json().await.unwrap();
    assert_eq!(body["error"]["message"], "upstream broke");
    assert_eq!(mock.remaining(), 1);

    let second = post(&url, json!({})).await;
    assert_eq!(second.status(), 200);
    assert_eq!(
        collect(second).await.last().unwrap().event,
        "response.completed"
    );
    assert_eq!(mock.remaining(), 0);

    let third = post(&url, json!({})).await;
    assert_eq!(third.status(), 500);
    let body: Value = third.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "mock-llm: no scripted response left"
    );
    assert_eq!(mock.requests().len(), 3);

    mock.push(Scripted::responses_text("pushed later"));
    assert_eq!(post(&url, json!({})).await.status(), 200);
}

#[tokio::test]
async fn rate_limit_quota_and_context_length_errors() {
    let mock = MockLlm::start(vec![
        Scripted::rate_limited(2),
        Scripted::rate_limited_with_hint(1.5),
        Scripted::quota_exceeded(),
        Scripted::context_length_exceeded(),
    ])
    .await
    .unwrap();
    let url = format!("{}/responses", mock.base_url());

    let limited = post(&url, json!({})).await;
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "2");
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["error"]["type"], "rate_limit_error");
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");

    let hinted = post(&url, json!({})).await;
    assert_eq!(hinted.status(), 429);
    assert!(hinted.headers().get("retry-after").is_none());
    let body: Value = hinted.json().await.unwrap();
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Please try again in 1.5s."));

    let quota = post(&url, json!({})).await;
    assert_eq!(quota.status(), 429);
    let body: Value = quota.json().await.unwrap();
    assert_eq!(body["error"]["code"], "insufficient_quota");

    let too_long = post(&url, json!({})).await;
    assert_eq!(too_long.status(), 400);
    let body: Value = too_long.json().await.unwrap();
    assert_eq!(body["error"]["code"], "context_length_exceeded");
}

#[tokio::test]
async fn gate_blocks_the_stream_until_released() {
    let mock = MockLlm::start(vec![Scripted::responses(vec![
        Step::created(),
        Step::message(&["before"]),
        Step::gate(),
        Step::message(&["after"]),
        Step::completed(Usage::default()),
    ])])
    .await
    .unwrap();
    let mut evs = events(post(&format!("{}/responses", mock.base_url()), json!({})).await);
    // Everything before the gate arrives...
    loop {
        let e = evs.next().await.unwrap();
        if e.event == "response.output_item.done" {
            break;
        }
    }
    mock.wait_for_gates(1, SECOND).await.unwrap();
    // ...then nothing until release. A fixed wait: holding is the absence of output over time,
    // and no message of the mock's marks that it is still holding.
    let waited = tokio::time::timeout(Duration::from_millis(150), evs.next()).await;
    assert!(waited.is_err(), "an event passed the gate: {waited:?}");
    mock.release(1);
    let rest: Vec<Event> = tokio::time::timeout(SECOND, evs.collect()).await.unwrap();
    assert_eq!(rest.last().unwrap().event, "response.completed");
    assert!(rest.iter().any(|e| e.data.contains("\"after\"")));
}

#[tokio::test]
async fn stall_keeps_the_connection_open_and_silent() {
    let stall = Duration::from_millis(400);
    let mock = MockLlm::start(vec![Scripted::chat(vec![
        ChatStep::content(&["a"]),
        ChatStep::stall(stall),
        ChatStep::content(&["b"]),
        ChatStep::done(),
    ])])
    .await
    .unwrap();
    let mut evs = events(post(&format!("{}/chat/completions", mock.base_url()), json!({})).await);
    evs.next().await.unwrap();
    let start = Instant::now();
    // A fixed wait: silence for a while is what a stall is, so only time can show it.
    let silent = tokio::time::timeout(Duration::from_millis(250), evs.next()).await;
    assert!(silent.is_err(), "data arrived during the stall");
    let after = tokio::time::timeout(SECOND, evs.next())
        .await
        .unwrap()
        .unwrap();
    assert!(start.elapsed() >= stall - Duration::from_millis(50));
    assert_eq!(data(&after)["choices"][0]["delta"]["content"], "b");
}

#[tokio::test]
async fn chunk_delay_spaces_out_events() {
    let delay = Duration::from_millis(30);
    let mock = MockLlm::start(vec![Scripted::responses(vec![
        Step::created(),
        Step::message(&["a", "b"]),
    ])
    .with_chunk_delay(delay)])
    .await
    .unwrap();
    let start = Instant::now();
    let evs = collect(post(&format!("{}/responses", mock.base_url()), json!({})).await).await;
    assert_eq!(evs.len(), 8);
    assert!(start.elapsed() >= delay * 8);
}

#[tokio::test]
async fn records_requests_and_flags_unpaired_tool_outputs() {
    let mock = MockLlm::start(vec![
        Scripted::responses_text("one"),
        Scripted::chat_text("two"),
    ])
    .await
    .unwrap();
    let good = json!({"model": "m", "input": [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
        {"type": "function_call", "call_id": "call_1", "name": "shell", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "ok"},
    ]});
    let bad = json!({"model": "m", "messages": [
        {"role": "user", "content": "hi"},
        {"role": "tool", "tool_call_id": "call_missing", "content": "orphan"},
    ]});
    let base = mock.base_url();
    collect(post(&format!("{base}/responses"), good.clone()).await).await;
    assert!(mock.pairing_violations().is_empty());
    mock.assert_pairing_ok();
    collect(post(&format!("{base}/chat/completions"), bad.clone()).await).await;

    let reqs = mock.wait_for_requests(2, SECOND).await.unwrap();
    assert_eq!(reqs[0].path, "/v1/responses");
    assert!(reqs[0].is_responses());
    assert_eq!(reqs[0].body, good);
    assert_eq!(reqs[0].header("Authorization"), Some("Bearer sk-test"));
    assert_eq!(reqs[1].path, "/v1/chat/completions");
    assert!(reqs[1].is_chat());
    assert_eq!(reqs[1].body, bad);

    let violations = mock.pairing_violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(violations[0].contains("request #2"));
    assert!(violations[0].contains("call_missing"));

    // A fixed wait: what is tested is that the helper gives up after its timeout.
    let err = mock.wait_for_requests(3, Duration::from_millis(50)).await;
    assert!(err.is_err());
}

#[tokio::test]
async fn models_endpoint_lists_the_mock_model() {
    let mock = MockLlm::start(vec![]).await.unwrap();
    let body: Value = reqwest::get(format!("{}/models", mock.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body,
        json!({"object": "list", "data": [
            {"id": "mock-model", "object": "model", "created": 0, "owned_by": "mock"}]})
    );
    assert!(mock.requests().is_empty());
}

#[test]
fn script_json_round_trips_and_is_hand_writable() {
    let script = vec![
        Scripted::responses(vec![
            Step::created(),
            Step::in_progress(),
            Step::reasoning(&["r"]),
            Step::message(&["Hello", " there"]),
            Step::function_call("c1", "shell", r#"{"cmd":"ls"}"#),
            Step::custom_tool_call("c2", "apply_patch", "patch"),
            Step::stall(Duration::from_millis(1500)),
            Step::gate(),
            Step::malformed(),
            Step::raw("x", json!({"a": 1})),
            Step::error("e", "m"),
            Step::failed("server_error", "boom"),
            Step::incomplete("max_output_tokens"),
            Step::completed(Usage::new(1, 2).cached(3).reasoning(4)),
        ]),
        Scripted::responses_text("hi").with_chunk_delay(Duration::from_millis(5)),
        Scripted::chat(vec![
            ChatStep::content(&["a"]),
            ChatStep::reasoning(&["b"], ReasoningField::ReasoningContent),
            ChatStep::tool_call(0, "id", "n", &["{", "}"]),
            ChatStep::finish("length"),
            ChatStep::usage(1, 2, 3),
            ChatStep::raw("{}"),
            ChatStep::malformed(),
            ChatStep::stall(Duration::from_millis(7)),
            ChatStep::gate(),
            ChatStep::done(),
        ]),
        Scripted::chat_with_quirks(
            vec![ChatStep::done()],
            ChatQuirks {
                ollama_whole_tool_calls: true,
            },
        ),
        Scripted::http_error(503, json!({"error": "x"})),
        Scripted::rate_limited(3),
        Scripted::rate_limited_with_hint(0.5),
        Scripted::context_length_exceeded(),
        Scripted::quota_exceeded(),
    ];
    let text = serde_json::to_string_pretty(&script).unwrap();
    assert_eq!(parse_script(&text).unwrap(), script);

    let hand_written = r#"[
        {"responses": ["created", {"message": ["Hello", " there"]}, {"completed": {}}]},
        {"responses": {"steps": [{"function_call": {"call_id": "c1", "name": "shell",
                                                    "arguments": {"cmd": "ls"}}},
                                 "gate", {"stall_ms": 100}],
                       "chunk_delay_ms": 10}},
        {"chat": {"steps": [{"tool_call": {"index": 0, "id": "c", "name": "n", "args": ["{}"]}},
                            {"finish": "tool_calls"}, "done"],
                  "quirks": {"ollama_whole_tool_calls": true}}},
        {"rate_limited": {"retry_after_secs": 1}},
        "context_length_exceeded"
    ]"#;
    let parsed = parse_script(hand_written).unwrap();
    assert_eq!(
        parsed[0],
        Scripted::responses(vec![
            Step::created(),
            Step::message(&["Hello", " there"]),
            Step::completed(Usage::default()),
        ])
    );
    assert_eq!(
        parsed[1],
        Scripted::responses(vec![
            Step::function_call("c1", "shell", r#"{"cmd":"ls"}"#),
            Step::gate(),
            Step::stall(Duration::from_millis(100)),
        ])
        .with_chunk_delay(Duration::from_millis(10))
    );
    assert_eq!(parsed[3], Scripted::rate_limited(1));
    assert_eq!(parsed[4], Scripted::context_length_exceeded());

    let err = parse_script(r#"[{"responses": ["created"]}, {"responses": ["nope"]}]"#).unwrap_err();
    assert!(format!("{err:#}").contains("entry #1"), "{err:#}");
}

/// Runs the `mock-llm` binary and returns it with its base URL (stdout line 1).
fn spawn_binary(args: &[&str]) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mock-llm"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/v1"),
        "{url}"
    );
    (child, url)
}

#[tokio::test]
async fn binary_serves_a_script_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("script.json");
    std::fs::write(
        &path,
        r#"[{"responses": ["created", {"message": ["Hi", " file"]}, {"completed": {}}]}]"#,
    )
    .unwrap();
    let (mut child, url) = spawn_binary(&["--script", path.to_str().unwrap()]);
    let evs = collect(post(&format!("{url}/responses"), json!({})).await).await;
    let text: String = evs
        .iter()
        .filter(|e| e.event == "response.output_text.delta")
        .map(|e| data(e)["delta"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(text, "Hi file");
    assert_eq!(
        post(&format!("{url}/responses"), json!({})).await.status(),
        500
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn binary_bench_and_demo_modes_loop_forever() {
    let (mut bench, url) = spawn_binary(&["--bench", "--delta-count", "5", "--delta-bytes", "8"]);
    for _ in 0..2 {
        let evs = collect(post(&format!("{url}/responses"), json!({})).await).await;
        let deltas: Vec<String> = evs
            .iter()
            .filter(|e| e.event == "response.output_text.delta")
            .map(|e| data(e)["delta"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(deltas.len(), 5);
        assert!(deltas.iter().all(|d| d.len() == 8));
        assert_eq!(evs.last().unwrap().event, "response.completed");
    }
    bench.kill().unwrap();
    bench.wait().unwrap();

    let (mut demo, url) = spawn_binary(&["--demo", "--chunk-delay-ms", "0"]);
    for _ in 0..4 {
        let evs = collect(post(&format!("{url}/responses"), json!({})).await).await;
        assert!(evs
            .iter()
            .any(|e| e.event == "response.reasoning_summary_text.delta"));
        assert_eq!(evs.last().unwrap().event, "response.completed");
    }
    // The demo answers Chat Completions clients too.
    let evs = collect(post(&format!("{url}/chat/completions"), json!({})).await).await;
    assert_eq!(evs.last().unwrap().data, "[DONE]");
    assert!(evs.iter().any(|e| e.data.contains("\"content\"")));
    demo.kill().unwrap();
    demo.wait().unwrap();
}

#[tokio::test]
async fn a_client_hanging_up_at_a_gate_does_not_take_a_later_release() {
    let gated = || {
        Scripted::responses(vec![
            Step::created(),
            Step::gate(),
            Step::completed(Usage::default()),
        ])
    };
    let mock = MockLlm::start(vec![gated(), gated()]).await.unwrap();
    let url = format!("{}/responses", mock.base_url());
    let mut first = events(post(&url, json!({})).await);
    first.next().await.unwrap();
    mock.wait_for_gates(1, SECOND).await.unwrap();
    assert_eq!(mock.open_streams(), 1);
    drop(first); // the client gives up mid-stream (an interrupt)
    mock.wait_for_open_streams(0, SECOND).await.unwrap();
    let mut second = events(post(&url, json!({})).await);
    second.next().await.unwrap();
    mock.wait_for_gates(2, SECOND).await.unwrap();
    mock.release(1);
    let rest: Vec<Event> = tokio::time::timeout(SECOND, second.collect())
        .await
        .unwrap();
    assert_eq!(rest.last().unwrap().event, "response.completed");
}
