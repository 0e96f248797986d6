//! The Chat Completions client against the real mock model server over loopback: chunk
//! assembly (text, both reasoning fields, tool-call fragments, Ollama's whole calls), freeform
//! tools, usage, the request body, and how a stream may end.

use agentd::model::{HistoryItem, ModelError, ModelEvent, OutputItem, ToolSpec, Usage, WireApi};
use agentd_tests::mock_llm::{ChatQuirks, ChatStep, MockLlm, ReasoningField, Scripted};
use serde_json::json;

use crate::model_support::*;

/// Runs `request` against the mock over Chat Completions.
async fn chat(mock: &MockLlm, request: agentd::model::ModelRequest) -> Vec<Outcome> {
    run(mock, WireApi::Chat, request).await
}

/// Chunks assembled into deltas, items and usage; what the request carries.
mod chat_model_output {
    use super::*;

    #[tokio::test]
    async fn text_chunks_become_one_message() {
        let mock = MockLlm::start(vec![Scripted::chat_text("hello chat world")])
            .await
            .unwrap();
        let events = chat(&mock, request(vec![])).await;
        assert_eq!(text_deltas(&events), "hello chat world");
        assert!(events.iter().all(|e| !matches!(
            e,
            Ok(ModelEvent::TextDelta { output_index, .. }) if *output_index != 0
        )));
        assert_eq!(
            items(&events),
            [(
                0,
                OutputItem::Message {
                    text: "hello chat world".into()
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
    async fn reasoning_arrives_in_either_field() {
        for field in [ReasoningField::Reasoning, ReasoningField::ReasoningContent] {
            let mock = MockLlm::start(vec![Scripted::chat(vec![
                ChatStep::reasoning(&["Let me ", "think"], field),
                ChatStep::content(&["Hi"]),
                ChatStep::finish("stop"),
                ChatStep::usage(10, 5, 0),
                ChatStep::done(),
            ])])
            .await
            .unwrap();
            let events = chat(&mock, request(vec![])).await;
            assert_eq!(
                events[0],
                Ok(ModelEvent::ReasoningSummaryDelta {
                    output_index: 0,
                    summary_index: 0,
                    delta: "Let me ".into()
                }),
                "{field:?}"
            );
            assert_eq!(
                items(&events),
                [
                    (
                        0,
                        OutputItem::Reasoning {
                            summary: vec!["Let me think".into()],
                            encrypted_content: None
                        }
                    ),
                    (1, OutputItem::Message { text: "Hi".into() }),
                ],
                "{field:?}"
            );
        }
    }

    #[tokio::test]
    async fn tool_call_fragments_are_joined_by_index() {
        let mock = MockLlm::start(vec![Scripted::chat(vec![
            ChatStep::content(&["Looking."]),
            ChatStep::tool_call(0, "call_a", "shell", &["{\"cmd\"", ":\"ls", " -la\"}"]),
            ChatStep::tool_call(1, "call_b", "read_file", &["{\"path\":", "\"a.txt\"}"]),
            ChatStep::finish("tool_calls"),
            ChatStep::usage(100, 20, 0),
            ChatStep::done(),
        ])])
        .await
        .unwrap();
        let events = chat(&mock, request(vec![])).await;
        assert_eq!(
            items(&events),
            [
                (
                    0,
                    OutputItem::Message {
                        text: "Looking.".into()
                    }
                ),
                (1, function_call("call_a", "shell", r#"{"cmd":"ls -la"}"#)),
                (
                    2,
                    function_call("call_b", "read_file", r#"{"path":"a.txt"}"#)
                ),
            ]
        );
    }

    #[tokio::test]
    async fn ollama_whole_calls_at_index_zero_stay_separate() {
        let steps = vec![
            ChatStep::tool_call(0, "call_x", "shell", &["{\"cmd\":", "\"pwd\"}"]),
            ChatStep::tool_call(1, "call_y", "shell", &["{\"cmd\":\"ls\"}"]),
            ChatStep::finish("tool_calls"),
            ChatStep::usage(100, 20, 0),
            ChatStep::done(),
        ];
        let quirks = ChatQuirks {
            ollama_whole_tool_calls: true,
        };
        let mock = MockLlm::start(vec![Scripted::chat_with_quirks(steps, quirks)])
            .await
            .unwrap();
        let events = chat(&mock, request(vec![])).await;
        assert_eq!(
            items(&events),
            [
                (0, function_call("call_x", "shell", r#"{"cmd":"pwd"}"#)),
                (1, function_call("call_y", "shell", r#"{"cmd":"ls"}"#)),
            ]
        );
    }

    #[tokio::test]
    async fn a_freeform_tool_is_offered_as_a_function_and_reported_as_custom() {
        let patch = "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch";
        let arguments = json!({ "input": patch }).to_string();
        let mock = MockLlm::start(vec![Scripted::chat_tool_call(
            "call_p",
            "apply_patch",
            &arguments,
        )])
        .await
        .unwrap();
        let tools = vec![ToolSpec::Freeform {
            name: "apply_patch".into(),
            description: "Edits".into(),
        }];
        let events = chat(&mock, request(tools)).await;
        assert_eq!(
            items(&events),
            [(
                0,
                OutputItem::CustomToolCall {
                    call_id: "call_p".into(),
                    name: "apply_patch".into(),
                    input: patch.into()
                }
            )]
        );
        let body = &mock.requests()[0].body;
        assert_eq!(
            body["tools"],
            json!([{"type": "function", "function": {
                "name": "apply_patch",
                "description": "Edits",
                "parameters": {"type": "object", "properties": {"input": {"type": "string"}},
                               "required": ["input"]},
            }}])
        );
    }

    #[tokio::test]
    async fn the_usage_chunk_reports_cached_tokens() {
        let mock = MockLlm::start(vec![Scripted::chat(vec![
            ChatStep::content(&["ok"]),
            ChatStep::finish("stop"),
            ChatStep::usage(500, 40, 300),
            ChatStep::done(),
        ])])
        .await
        .unwrap();
        let events = chat(&mock, request(vec![])).await;
        assert_eq!(
            completed_usage(&events),
            Some(Usage {
                input_tokens: 500,
                cached_input_tokens: 300,
                output_tokens: 40,
                reasoning_output_tokens: 0,
                total_tokens: 540,
            })
        );
    }

    #[tokio::test]
    async fn the_request_sends_history_as_chat_messages() {
        std::env::set_var("AGENTD_TEST_CHAT_KEY", "sk-chat-secret");
        let mock = MockLlm::start(vec![Scripted::chat_text("ok")])
            .await
            .unwrap();
        let mut s = settings(mock.base_url(), WireApi::Chat);
        s.env_key = Some("AGENTD_TEST_CHAT_KEY".into());
        let mut req = request(vec![ToolSpec::Function {
            name: "shell".into(),
            description: "Runs a command".into(),
            parameters: json!({"type": "object"}),
        }]);
        req.input.extend([
            HistoryItem::Reasoning {
                summary: vec!["hidden".into()],
                encrypted_content: None,
            },
            HistoryItem::FunctionCall {
                call_id: "c1".into(),
                name: "shell".into(),
                arguments: r#"{"cmd":"ls"}"#.into(),
            },
            HistoryItem::CustomToolCall {
                call_id: "c2".into(),
                name: "apply_patch".into(),
                input: "*** Begin Patch".into(),
            },
            HistoryItem::FunctionCallOutput {
                call_id: "c1".into(),
                output: "a.txt".into(),
                images: Vec::new(),
            },
            HistoryItem::CustomToolCallOutput {
                call_id: "c2".into(),
                output: "done".into(),
            },
            HistoryItem::AssistantMessage {
                text: "Done.".into(),
            },
        ]);
        let events = collect(client(s).stream(req)).await;
        assert!(
            matches!(events.last(), Some(Ok(ModelEvent::Completed { .. }))),
            "{events:#?}"
        );

        let r = &mock.requests()[0];
        assert_eq!(r.path, "/v1/chat/completions");
        assert_eq!(r.header("authorization"), Some("Bearer sk-chat-secret"));
        assert_eq!(r.body["stream"], true);
        assert_eq!(r.body["stream_options"], json!({"include_usage": true}));
        assert_eq!(r.body["tool_choice"], "auto");
        assert_eq!(
            r.body["messages"],
            json!([
                {"role": "system", "content": "You are a test."},
                {"role": "user", "content": "hello"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "c1", "type": "function",
                     "function": {"name": "shell", "arguments": "{\"cmd\":\"ls\"}"}},
                    {"id": "c2", "type": "function",
                     "function": {"name": "apply_patch", "arguments": "{\"input\":\"*** Begin Patch\"}"}},
                ]},
                {"role": "tool", "tool_call_id": "c1", "content": "a.txt"},
                {"role": "tool", "tool_call_id": "c2", "content": "done"},
                {"role": "assistant", "content": "Done."},
            ])
        );
        mock.assert_pairing_ok();
    }
}

/// `[DONE]`, `finish_reason`, hang-ups and error chunks.
mod chat_model_stream_end {
    use super::*;

    #[tokio::test]
    async fn a_hang_up_without_done_is_retried() {
        let mock = MockLlm::start(vec![
            Scripted::chat(vec![ChatStep::content(&["par", "tial"])]),
            Scripted::chat_text("complete answer"),
        ])
        .await
        .unwrap();
        let events = chat(&mock, request(vec![])).await;
        let retry_at = events
            .iter()
            .position(|e| matches!(e, Ok(ModelEvent::Retrying { attempt: 1, .. })))
            .expect("no Retrying event");
        assert_eq!(text_deltas(&events[..retry_at]), "partial");
        assert_eq!(text_deltas(&events[retry_at..]), "complete answer");
        assert!(matches!(
            events.last(),
            Some(Ok(ModelEvent::Completed { .. }))
        ));
        assert_eq!(mock.requests().len(), 2);
    }

    #[tokio::test]
    async fn finish_reason_without_done_still_completes() {
        let mock = MockLlm::start(vec![Scripted::chat(vec![
            ChatStep::content(&["short"]),
            ChatStep::finish("stop"),
        ])])
        .await
        .unwrap();
        let events = chat(&mock, request(vec![])).await;
        assert_eq!(completed_usage(&events), None);
        assert_eq!(
            items(&events),
            [(
                0,
                OutputItem::Message {
                    text: "short".into()
                }
            )]
        );
    }

    #[tokio::test]
    async fn finish_reason_length_is_incomplete() {
        let mock = MockLlm::start(vec![Scripted::chat(vec![
            ChatStep::content(&["trunc"]),
            ChatStep::finish("length"),
            ChatStep::done(),
        ])])
        .await
        .unwrap();
        let events = chat(&mock, request(vec![])).await;
        assert_eq!(
            events.last(),
            Some(&Err(ModelError::Incomplete("max_output_tokens".into())))
        );
        assert_eq!(mock.requests().len(), 1);
    }

    #[tokio::test]
    async fn an_error_chunk_is_classified_like_an_http_error() {
        let error = json!({"error": {"code": "context_length_exceeded", "message": "too long"}});
        let mock = MockLlm::start(vec![Scripted::chat(vec![ChatStep::raw(
            &error.to_string(),
        )])])
        .await
        .unwrap();
        let events = chat(&mock, request(vec![])).await;
        assert_eq!(
            events,
            [Err(ModelError::ContextLengthExceeded("too long".into()))]
        );
    }
}
