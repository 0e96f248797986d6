//! The Responses API client against the real mock model server over loopback: how the stream
//! becomes events and items, and what the request carries.

use agentd::model::{HistoryItem, ModelError, ModelEvent, OutputItem, ToolSpec, Usage, WireApi};
use agentd_tests::mock_llm::{MockLlm, Scripted, Step, Usage as MockUsage};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::model_support::*;

/// Runs the default request against the mock, over the Responses API.
async fn respond(mock: &MockLlm) -> Vec<Outcome> {
    run(mock, WireApi::Responses, request(vec![])).await
}

/// Deltas, finished items and usage.
mod model_output {
    use super::*;

    #[tokio::test]
    async fn text_deltas_concatenate_to_the_finished_message() {
        let mock = MockLlm::start(vec![Scripted::responses_text("hello streaming world")])
            .await
            .unwrap();
        let events = respond(&mock).await;
        let deltas = events
            .iter()
            .filter(|e| matches!(e, Ok(ModelEvent::TextDelta { .. })))
            .count();
        assert!(deltas > 1, "{events:#?}");
        assert_eq!(text_deltas(&events), "hello streaming world");
        assert_eq!(
            items(&events),
            [(
                0,
                OutputItem::Message {
                    text: "hello streaming world".into()
                }
            )]
        );
        let usage = completed_usage(&events).unwrap();
        assert_eq!(
            (usage.input_tokens, usage.output_tokens, usage.total_tokens),
            (100, 20, 120)
        );
    }

    #[tokio::test]
    async fn reasoning_summary_streams_before_the_text() {
        let mock = MockLlm::start(vec![Scripted::responses(vec![
            Step::created(),
            Step::reasoning(&["Think", "ing"]),
            Step::message(&["Hi"]),
            Step::completed(MockUsage::default()),
        ])])
        .await
        .unwrap();
        let events = respond(&mock).await;
        assert_eq!(
            events[0],
            Ok(ModelEvent::ReasoningSummaryDelta {
                output_index: 0,
                summary_index: 0,
                delta: "Think".into()
            })
        );
        assert_eq!(
            items(&events),
            [
                (
                    0,
                    OutputItem::Reasoning {
                        summary: vec!["Thinking".into()],
                        encrypted_content: None
                    }
                ),
                (1, OutputItem::Message { text: "Hi".into() }),
            ]
        );
        assert!(events.contains(&Ok(ModelEvent::TextDelta {
            output_index: 1,
            delta: "Hi".into()
        })));
    }

    #[tokio::test]
    async fn encrypted_reasoning_content_is_kept() {
        let item = json!({"id": "rs_1", "type": "reasoning", "encrypted_content": "gAAAA-sealed",
                          "summary": [{"type": "summary_text", "text": "Plan"}]});
        let mock = MockLlm::start(vec![Scripted::responses(vec![
            Step::raw(
                "response.output_item.done",
                json!({"type": "response.output_item.done", "output_index": 0, "item": item}),
            ),
            Step::completed(MockUsage::default()),
        ])])
        .await
        .unwrap();
        let events = respond(&mock).await;
        assert_eq!(
            items(&events),
            [(
                0,
                OutputItem::Reasoning {
                    summary: vec!["Plan".into()],
                    encrypted_content: Some("gAAAA-sealed".into())
                }
            )]
        );
    }

    #[tokio::test]
    async fn function_and_custom_tool_calls_are_reported_whole() {
        let patch = "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch";
        let mock = MockLlm::start(vec![Scripted::responses(vec![
            Step::created(),
            Step::function_call("call_1", "shell", r#"{"cmd":"ls -la"}"#),
            Step::custom_tool_call("call_2", "apply_patch", patch),
            Step::completed(MockUsage::default()),
        ])])
        .await
        .unwrap();
        let events = respond(&mock).await;
        assert_eq!(
            items(&events),
            [
                (
                    0,
                    OutputItem::FunctionCall {
                        call_id: "call_1".into(),
                        name: "shell".into(),
                        arguments: r#"{"cmd":"ls -la"}"#.into()
                    }
                ),
                (
                    1,
                    OutputItem::CustomToolCall {
                        call_id: "call_2".into(),
                        name: "apply_patch".into(),
                        input: patch.into()
                    }
                ),
            ]
        );
    }

    #[tokio::test]
    async fn usage_reports_cached_and_reasoning_tokens() {
        let mock = MockLlm::start(vec![Scripted::responses(vec![
            Step::message(&["ok"]),
            Step::completed(MockUsage::new(1000, 300).cached(600).reasoning(120)),
        ])])
        .await
        .unwrap();
        let events = respond(&mock).await;
        assert_eq!(
            completed_usage(&events),
            Some(Usage {
                input_tokens: 1000,
                cached_input_tokens: 600,
                output_tokens: 300,
                reasoning_output_tokens: 120,
                total_tokens: 1300,
            })
        );
    }
}

/// The request body, headers, URL and credentials.
mod model_request {
    use super::*;

    #[tokio::test]
    async fn request_carries_instructions_history_tools_and_auth() {
        std::env::set_var("AGENTD_TEST_RESPONSES_KEY", "sk-responses-secret");
        let mock = MockLlm::start(vec![Scripted::responses_text("ok")])
            .await
            .unwrap();
        let mut s = settings(mock.base_url(), WireApi::Responses);
        s.env_key = Some("AGENTD_TEST_RESPONSES_KEY".into());
        s.http_headers
            .insert("X-Custom".into(), "custom-value".into());
        let mut req = request(vec![]);
        req.input = vec![
            HistoryItem::user("list files"),
            HistoryItem::Reasoning {
                summary: vec!["no key".into()],
                encrypted_content: None,
            },
            HistoryItem::FunctionCall {
                call_id: "call_1".into(),
                name: "shell".into(),
                arguments: r#"{"cmd":"ls"}"#.into(),
            },
            HistoryItem::FunctionCallOutput {
                call_id: "call_1".into(),
                output: "a.txt".into(),
                images: Vec::new(),
            },
            HistoryItem::CustomToolCall {
                call_id: "call_2".into(),
                name: "apply_patch".into(),
                input: "*** Begin Patch".into(),
            },
            HistoryItem::CustomToolCallOutput {
                call_id: "call_2".into(),
                output: "done".into(),
            },
            HistoryItem::AssistantMessage {
                text: "There is a.txt".into(),
            },
        ];
        req.tools = vec![
            ToolSpec::Function {
                name: "shell".into(),
                description: "Runs a command".into(),
                parameters: json!({"type": "object", "properties": {"cmd": {"type": "string"}}}),
            },
            ToolSpec::Freeform {
                name: "apply_patch".into(),
                description: "Edits files".into(),
            },
        ];
        req.reasoning_effort = Some("high".into());
        let events = collect(client(s).stream(req)).await;
        assert!(
            matches!(last(&events), Ok(ModelEvent::Completed { .. })),
            "{events:#?}"
        );

        let requests = mock.requests();
        assert_eq!(requests.len(), 1);
        let r = &requests[0];
        assert_eq!(r.path, "/v1/responses");
        assert_eq!(
            r.header("authorization"),
            Some("Bearer sk-responses-secret")
        );
        assert_eq!(r.header("x-custom"), Some("custom-value"));
        let b = &r.body;
        assert_eq!(b["model"], "gpt-test");
        assert_eq!(b["instructions"], "You are a test.");
        assert_eq!(
            (b["stream"].clone(), b["store"].clone()),
            (json!(true), json!(false))
        );
        assert_eq!(b["tool_choice"], "auto");
        assert_eq!(b["parallel_tool_calls"], false);
        assert_eq!(b["reasoning"], json!({"effort": "high", "summary": "auto"}));
        assert_eq!(b["include"], json!(["reasoning.encrypted_content"]));
        let expected_input = json!([
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "list files"}]},
            {"type": "function_call", "call_id": "call_1", "name": "shell", "arguments": "{\"cmd\":\"ls\"}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "a.txt"},
            {"type": "custom_tool_call", "call_id": "call_2", "name": "apply_patch", "input": "*** Begin Patch"},
            {"type": "custom_tool_call_output", "call_id": "call_2", "output": "done"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "There is a.txt"}]},
        ]);
        assert_eq!(b["input"], expected_input);
        assert_eq!(
            b["tools"],
            json!([
                {"type": "function", "name": "shell", "description": "Runs a command", "strict": false,
                 "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}},
                {"type": "custom", "name": "apply_patch", "description": "Edits files"},
            ])
        );
        mock.assert_pairing_ok();
    }

    /// The mock records paths without queries, so a bare socket captures the request line.
    #[tokio::test]
    async fn query_params_are_added_to_the_url() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = socket.read(&mut buf).await.unwrap();
                assert!(n > 0, "the client closed before sending its request head");
                head.extend_from_slice(&buf[..n]);
            }
            let reply = "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
            socket.write_all(reply.as_bytes()).await.unwrap();
            String::from_utf8_lossy(&head).into_owned()
        });
        let mut s = settings(format!("http://{addr}/v1/"), WireApi::Responses);
        s.query_params
            .insert("api-version".into(), "2025-04-01".into());
        let events = collect(client(s).stream(request(vec![]))).await;
        assert!(
            matches!(last(&events), Err(ModelError::Http { status: 404, .. })),
            "{events:#?}"
        );
        let head = server.await.unwrap();
        assert!(
            head.starts_with("POST /v1/responses?api-version=2025-04-01 HTTP/1.1"),
            "{head}"
        );
    }

    #[tokio::test]
    async fn a_missing_api_key_fails_before_any_request() {
        let mock = MockLlm::start(vec![Scripted::responses_text("never")])
            .await
            .unwrap();
        let mut s = settings(mock.base_url(), WireApi::Responses);
        s.env_key = Some("AGENTD_TEST_SURELY_UNSET_KEY".into());
        let events = collect(client(s).stream(request(vec![]))).await;
        assert_eq!(events.len(), 1, "{events:?}");
        let Err(ModelError::Config(message)) = &events[0] else {
            panic!("{events:?}");
        };
        // The error says what is missing, then how to get a model.
        assert!(
            message.starts_with("environment variable AGENTD_TEST_SURELY_UNSET_KEY is not set"),
            "{message}"
        );
        assert!(message.contains("OPENAI_API_KEY"), "{message}");
        assert!(mock.requests().is_empty());
    }

    #[tokio::test]
    async fn list_models_reads_the_model_ids() {
        let mock = MockLlm::start(vec![]).await.unwrap();
        let models = client(settings(mock.base_url(), WireApi::Responses))
            .list_models()
            .await
            .unwrap();
        assert_eq!(models, ["mock-model"]);
    }
}
