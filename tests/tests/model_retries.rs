//! The Responses API client against the real mock model server over loopback, when things
//! go wrong: request retries and server hints, errors that must not be retried, broken,
//! silent and malformed streams, and cancellation.

use std::time::{Duration, Instant};

use agentd::model::{ModelError, ModelEvent, WireApi};
use agentd_tests::mock_llm::{MockLlm, Scripted, Step, Usage as MockUsage};
use serde_json::json;

use crate::model_support::*;

/// Runs the default request against the mock, over the Responses API.
async fn respond(mock: &MockLlm) -> Vec<Outcome> {
    run(mock, WireApi::Responses, request(vec![])).await
}

/// Requests the provider refused: which are sent again, and when.
mod request_retries {
    use super::*;

    #[tokio::test]
    async fn a_server_error_is_retried_silently() {
        let boom = json!({"error": {"message": "boom", "type": "server_error", "code": null}});
        let mock = MockLlm::start(vec![
            Scripted::http_error(500, boom),
            Scripted::responses_text("ok"),
        ])
        .await
        .unwrap();
        let events = respond(&mock).await;
        assert_eq!(text_deltas(&events), "ok");
        assert!(
            retries(&events).is_empty(),
            "nothing was forwarded, so no Retrying"
        );
        assert_eq!(mock.requests().len(), 2);
    }

    #[tokio::test]
    async fn request_retries_end_with_the_last_http_error() {
        let busy = || Scripted::http_error(503, json!({"error": {"message": "overloaded"}}));
        let mock = MockLlm::start(vec![
            busy(),
            busy(),
            busy(),
            Scripted::responses_text("late"),
        ])
        .await
        .unwrap();
        let events = respond(&mock).await;
        assert_eq!(
            events,
            [Err(ModelError::Http {
                status: 503,
                message: "overloaded".into()
            })]
        );
        assert_eq!(
            mock.requests().len(),
            3,
            "one request and request_max_retries = 2"
        );
    }

    #[tokio::test]
    async fn rate_limits_wait_as_long_as_the_server_says() {
        let retry_after_ms = Scripted::HttpError {
            status: 429,
            body: json!({"error": {"message": "slow down", "code": "rate_limit_exceeded"}}),
            headers: vec![("retry-after-ms".into(), "250".into())],
        };
        let mock = MockLlm::start(vec![
            Scripted::rate_limited(1),
            Scripted::rate_limited_with_hint(0.3),
            retry_after_ms,
            Scripted::responses_text("finally"),
        ])
        .await
        .unwrap();
        let mut s = settings(mock.base_url(), WireApi::Responses);
        s.request_max_retries = 3;
        let started = Instant::now();
        let events = collect(client(s).stream(request(vec![]))).await;
        assert_eq!(text_deltas(&events), "finally");
        let waited = started.elapsed();
        // The backoff alone would be ~70 ms; the hints add up to 1.55 s.
        assert!(
            waited >= Duration::from_millis(1550),
            "waited only {waited:?}"
        );
        assert_eq!(mock.requests().len(), 4);
    }

    #[tokio::test]
    async fn context_length_and_quota_errors_are_not_retried() {
        for (fault, kind) in [
            (Scripted::context_length_exceeded(), "contextWindowExceeded"),
            (Scripted::quota_exceeded(), "usageLimitExceeded"),
            (
                Scripted::http_error(401, json!({"error": {"message": "bad key"}})),
                "httpError",
            ),
        ] {
            let mock = MockLlm::start(vec![fault, Scripted::responses_text("unused")])
                .await
                .unwrap();
            let events = respond(&mock).await;
            assert_eq!(events.len(), 1, "{events:#?}");
            let err = last(&events).as_ref().unwrap_err();
            assert_eq!(err.kind(), kind, "{err}");
            assert_eq!(mock.requests().len(), 1);
            assert_eq!(mock.remaining(), 1);
        }
    }
}

/// Streams that break, stall, fail or are abandoned.
mod model_stream_faults {
    use super::*;

    #[tokio::test]
    async fn a_hang_up_mid_stream_says_retrying_then_succeeds() {
        let mock = MockLlm::start(vec![
            Scripted::responses(vec![Step::created(), Step::message(&["part", "ial"])]),
            Scripted::responses_text("the whole answer"),
        ])
        .await
        .unwrap();
        let events = respond(&mock).await;
        let retry_at = events
            .iter()
            .position(|e| matches!(e, Ok(ModelEvent::Retrying { .. })))
            .expect("no Retrying event");
        assert!(matches!(
            &events[retry_at],
            Ok(ModelEvent::Retrying { attempt: 1, max: 2, reason }) if reason.contains("ended before")
        ));
        assert_eq!(text_deltas(&events[..retry_at]), "partial");
        assert_eq!(text_deltas(&events[retry_at..]), "the whole answer");
        assert!(matches!(last(&events), Ok(ModelEvent::Completed { .. })));
        let requests = mock.requests();
        assert_eq!(requests.len(), 2);
        assert_eq!(
            requests[0].body, requests[1].body,
            "the same request is sent again"
        );
    }

    #[tokio::test]
    async fn a_hang_up_before_any_output_is_retried_silently() {
        let mock = MockLlm::start(vec![
            Scripted::responses(vec![Step::created()]),
            Scripted::responses_text("ok"),
        ])
        .await
        .unwrap();
        let events = respond(&mock).await;
        assert!(retries(&events).is_empty(), "{events:#?}");
        assert_eq!(text_deltas(&events), "ok");
    }

    #[tokio::test]
    async fn a_silent_stream_times_out_and_is_retried_until_the_limit() {
        let stalled = || {
            Scripted::responses(vec![
                Step::created(),
                Step::message(&["a"]),
                Step::stall(Duration::from_secs(5)),
            ])
        };
        let mock = MockLlm::start(vec![stalled(), stalled(), stalled()])
            .await
            .unwrap();
        let mut s = settings(mock.base_url(), WireApi::Responses);
        s.stream_idle_timeout_ms = 300;
        let started = Instant::now();
        let events = collect(client(s).stream(request(vec![]))).await;
        assert_eq!(retries(&events), [1, 2]);
        assert_eq!(last(&events), &Err(ModelError::IdleTimeout(300)));
        assert_eq!(mock.requests().len(), 3);
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn a_malformed_event_is_a_retryable_stream_error() {
        let broken = || Scripted::responses(vec![Step::created(), Step::malformed()]);
        let mock = MockLlm::start(vec![broken(), Scripted::responses_text("ok")])
            .await
            .unwrap();
        let events = respond(&mock).await;
        assert_eq!(text_deltas(&events), "ok");
        assert_eq!(mock.requests().len(), 2);

        let mock = MockLlm::start(vec![broken(), broken(), broken()])
            .await
            .unwrap();
        let events = respond(&mock).await;
        assert!(
            matches!(last(&events), Err(ModelError::Stream(m)) if m.contains("malformed")),
            "{events:#?}"
        );
    }

    #[tokio::test]
    async fn response_failed_maps_its_error_code() {
        let failed = |code: &str, message: &str| {
            Scripted::responses(vec![Step::created(), Step::failed(code, message)])
        };
        let mock = MockLlm::start(vec![failed("invalid_prompt", "flagged")])
            .await
            .unwrap();
        assert_eq!(
            respond(&mock).await,
            [Err(ModelError::Failed {
                code: "invalid_prompt".into(),
                message: "flagged".into()
            })]
        );

        let mock = MockLlm::start(vec![failed("context_length_exceeded", "too long")])
            .await
            .unwrap();
        assert_eq!(
            respond(&mock).await,
            [Err(ModelError::ContextLengthExceeded("too long".into()))]
        );

        let mock = MockLlm::start(vec![
            failed("rate_limit_exceeded", "Please try again in 20ms."),
            Scripted::responses_text("ok"),
        ])
        .await
        .unwrap();
        let events = respond(&mock).await;
        assert_eq!(text_deltas(&events), "ok");
        assert_eq!(mock.requests().len(), 2);
    }

    #[tokio::test]
    async fn response_incomplete_reports_its_reason() {
        let mock = MockLlm::start(vec![
            Scripted::responses(vec![
                Step::created(),
                Step::message(&["trunc"]),
                Step::incomplete("max_output_tokens"),
            ]),
            Scripted::responses_text("unused"),
        ])
        .await
        .unwrap();
        let events = respond(&mock).await;
        assert_eq!(
            last(&events),
            &Err(ModelError::Incomplete("max_output_tokens".into()))
        );
        assert_eq!(text_deltas(&events), "trunc");
        assert_eq!(mock.requests().len(), 1);
    }

    #[tokio::test]
    async fn dropping_the_receiver_closes_the_connection() {
        let mock = MockLlm::start(vec![Scripted::responses(vec![
            Step::created(),
            Step::message(&["first"]),
            Step::gate(),
            Step::message(&["never"]),
            Step::completed(MockUsage::default()),
        ])])
        .await
        .unwrap();
        let mut rx = client(settings(mock.base_url(), WireApi::Responses)).stream(request(vec![]));
        let first = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap();
        assert!(
            matches!(first, Some(Ok(ModelEvent::TextDelta { .. }))),
            "{first:?}"
        );
        mock.wait_for_gates(1, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(mock.open_streams(), 1);
        drop(rx);
        mock.wait_for_open_streams(0, Duration::from_secs(2))
            .await
            .unwrap();
    }
}
