//! Non-streamed error answers, with the bodies OpenAI really sends, so the
//! daemon's error classification (retryable, rate limited, context too long,
//! out of quota) is tested against realistic input.

use serde_json::{json, Value};

/// Status, extra headers and JSON body of one error answer.
pub(crate) struct Fault {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

/// OpenAI's error envelope.
pub(crate) fn openai_error(message: &str, kind: &str, code: Option<&str>) -> Value {
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
}

pub(crate) fn no_script_left() -> Fault {
    Fault {
        status: 500,
        headers: Vec::new(),
        body: openai_error(
            "mock-llm: no scripted response left",
            "server_error",
            Some("mock_script_exhausted"),
        ),
    }
}

pub(crate) fn rate_limited(retry_after_secs: Option<u64>, hint_secs: Option<f64>) -> Fault {
    let message = match hint_secs {
        Some(secs) => format!(
            "Rate limit reached for mock-model in organization org-mock on tokens per min \
             (TPM): Limit 30000, Used 29900, Requested 500. Please try again in {secs}s. \
             Visit https://platform.openai.com/account/rate-limits to learn more."
        ),
        None => "Rate limit reached for mock-model in organization org-mock on requests per \
                 min (RPM): Limit 3, Used 3, Requested 1."
            .to_owned(),
    };
    let headers = retry_after_secs
        .map(|s| vec![("retry-after".to_owned(), s.to_string())])
        .unwrap_or_default();
    Fault {
        status: 429,
        headers,
        body: openai_error(&message, "rate_limit_error", Some("rate_limit_exceeded")),
    }
}

pub(crate) fn context_length_exceeded() -> Fault {
    Fault {
        status: 400,
        headers: Vec::new(),
        body: json!({"error": {
            "message": "This model's maximum context length is 128000 tokens. However, your \
                        messages resulted in 130017 tokens. Please reduce the length of the \
                        messages.",
            "type": "invalid_request_error",
            "param": "messages",
            "code": "context_length_exceeded",
        }}),
    }
}

pub(crate) fn quota_exceeded() -> Fault {
    Fault {
        status: 429,
        headers: Vec::new(),
        body: openai_error(
            "You exceeded your current quota, please check your plan and billing details.",
            "insufficient_quota",
            Some("insufficient_quota"),
        ),
    }
}

pub(crate) fn not_found(path: &str) -> Fault {
    Fault {
        status: 404,
        headers: Vec::new(),
        body: openai_error(
            &format!("mock-llm: no route for {path}"),
            "invalid_request_error",
            None,
        ),
    }
}

pub(crate) fn bad_request(message: &str) -> Fault {
    Fault {
        status: 400,
        headers: Vec::new(),
        body: openai_error(message, "invalid_request_error", None),
    }
}
