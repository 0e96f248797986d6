//! When a failed model call is worth sending again, and how long to wait first.
//!
//! Two kinds of failure are retried: a request the provider refused for a passing reason (5xx,
//! 408, a 429 rate limit, no connection), and a response stream that broke before its terminal
//! event. Both wait the same way: the provider's own hint when it gave one (`retry-after-ms`,
//! `Retry-After`, or OpenAI's "Please try again in 1.5s." in the message), otherwise an
//! exponential backoff with jitter so many threads hitting one rate limit do not retry in step.
//! Context-window and quota errors are final: sending the same request again cannot help.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::Value;

use super::types::ModelError;

/// Exponential backoff: `base * 2^(attempt-1)`, capped at `max`, each delay scaled by a random
/// factor in [0.8, 1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(200),
            max: Duration::from_secs(10),
        }
    }
}

/// A server hint longer than this is cut short: a turn blocked for an hour helps no one, and
/// the next attempt will bring a fresh hint (or the final error) anyway.
const MAX_SERVER_HINT: Duration = Duration::from_secs(60);

impl Backoff {
    /// The wait before retry number `attempt` (1-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(20);
        let raw = self.base.saturating_mul(1u32 << exponent).min(self.max);
        raw.mul_f64(0.8 + 0.4 * fastrand::f64())
    }

    /// The server's hint when there is one, else the backoff delay.
    pub(crate) fn wait(&self, attempt: u32, hint: Option<Duration>) -> Duration {
        match hint {
            Some(hint) => hint.min(MAX_SERVER_HINT),
            None => self.delay(attempt),
        }
    }
}

/// What to do about one failed attempt.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Failure {
    /// Worth sending again; `after` is the provider's hint for when.
    Retry {
        error: ModelError,
        after: Option<Duration>,
    },
    /// Sending again cannot help.
    Fatal(ModelError),
}

impl Failure {
    pub(crate) fn retry(error: ModelError) -> Self {
        Failure::Retry { error, after: None }
    }
}

/// Classifies an HTTP error answer from its status, headers and (JSON or text) body.
pub(crate) fn classify_http(status: u16, headers: &HeaderMap, body: &str) -> Failure {
    let (code, message) = error_code_and_message(body);
    let message = if message.is_empty() {
        format!("HTTP {status} with an empty body")
    } else {
        message
    };
    if code == "context_length_exceeded" {
        return Failure::Fatal(ModelError::ContextLengthExceeded(message));
    }
    if code == "insufficient_quota" {
        return Failure::Fatal(ModelError::QuotaExceeded(message));
    }
    let error = ModelError::Http {
        status,
        message: message.clone(),
    };
    if status == 408 || status == 429 || status >= 500 {
        let after = retry_after(headers).or_else(|| hint_in_message(&message));
        Failure::Retry { error, after }
    } else {
        Failure::Fatal(error)
    }
}

/// Classifies a failure the provider reported inside a stream (`response.failed`, an `error`
/// event, or an error object in a Chat Completions chunk).
pub(crate) fn classify_code(code: &str, message: &str) -> Failure {
    match code {
        "context_length_exceeded" => {
            Failure::Fatal(ModelError::ContextLengthExceeded(message.to_owned()))
        }
        "insufficient_quota" => Failure::Fatal(ModelError::QuotaExceeded(message.to_owned())),
        "rate_limit_exceeded" => Failure::Retry {
            error: ModelError::Failed {
                code: code.to_owned(),
                message: message.to_owned(),
            },
            after: hint_in_message(message),
        },
        _ => Failure::Fatal(ModelError::Failed {
            code: code.to_owned(),
            message: message.to_owned(),
        }),
    }
}

/// `error.code` (falling back to `error.type`, where OpenAI also puts `insufficient_quota`) and
/// `error.message` of an OpenAI-style error body; a body that is not such JSON becomes the
/// message itself, shortened.
fn error_code_and_message(body: &str) -> (String, String) {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error"));
    let text = |key: &str| {
        error
            .and_then(|e| e.get(key))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let mut code = text("code");
    if code.is_empty() {
        code = text("type");
    }
    let message = match error {
        Some(Value::String(s)) => s.clone(),
        Some(_) => text("message"),
        None => shorten(body.trim(), 500),
    };
    (code, message)
}

fn shorten(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

/// `retry-after-ms` (OpenAI, Azure) or `Retry-After` in seconds; the HTTP-date form of
/// `Retry-After` is not used by model providers and is ignored.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let number = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|n| n.is_finite() && *n >= 0.0)
    };
    if let Some(ms) = number("retry-after-ms") {
        return hint_from_secs(ms / 1000.0);
    }
    number("retry-after").and_then(hint_from_secs)
}

/// A hint is read up to a day: longer is as good as endless, since [`Backoff::wait`] cuts
/// every hint to [`MAX_SERVER_HINT`] anyway.
const MAX_HINT_SECS: f64 = 86_400.0;

/// A hint in seconds as a [`Duration`], cut to [`MAX_HINT_SECS`] before converting: the number
/// is the provider's, and `Duration::from_secs_f64` panics on one too large to hold
/// (`retry-after: 1e20`). `None` for a negative or non-finite number.
fn hint_from_secs(secs: f64) -> Option<Duration> {
    if !secs.is_finite() {
        return None;
    }
    Duration::try_from_secs_f64(secs.min(MAX_HINT_SECS)).ok()
}

/// The delay in OpenAI's "Please try again in 1.5s." / "in 250ms" / "in 6m0s" hints.
pub(crate) fn hint_in_message(message: &str) -> Option<Duration> {
    const MARKER: &str = "try again in ";
    let start = message.to_ascii_lowercase().find(MARKER)? + MARKER.len();
    let mut rest = &message[start..];
    let mut total = 0.0f64;
    let mut parsed_any = false;
    loop {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let Ok(value) = rest[..digits].parse::<f64>() else {
            break;
        };
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" | "sec" | "secs" | "seconds" | "second" => 1.0,
            "m" | "min" | "mins" | "minutes" | "minute" => 60.0,
            "h" => 3600.0,
            _ => break,
        };
        total += value * seconds_per_unit;
        parsed_any = true;
        rest = &rest[unit_len..];
    }
    if !parsed_any {
        return None;
    }
    hint_from_secs(total)
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn message_hints_in_every_unit_openai_uses() {
        let hint = |m: &str| hint_in_message(m);
        assert_eq!(
            hint("Limit 3. Please try again in 1.5s. Visit …"),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            hint("please try again in 250ms."),
            Some(Duration::from_millis(250))
        );
        assert_eq!(hint("Try again in 6m0s."), Some(Duration::from_secs(360)));
        assert_eq!(
            hint("try again in 1m30.5s"),
            Some(Duration::from_secs_f64(90.5))
        );
        assert_eq!(hint("try again later"), None);
        assert_eq!(hint("no hint here"), None);
    }

    #[test]
    fn retry_after_ms_wins_over_retry_after() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        headers.insert("retry-after-ms", HeaderValue::from_static("15"));
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(15)));
        headers.insert("retry-after-ms", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
    }

    #[test]
    fn huge_hints_are_cut_without_panicking() {
        let day = Some(Duration::from_secs(86_400));
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("1e20"));
        assert_eq!(retry_after(&headers), day);
        headers.insert("retry-after-ms", HeaderValue::from_static("1e300"));
        assert_eq!(retry_after(&headers), day);
        headers.insert("retry-after-ms", HeaderValue::from_static("inf"));
        assert_eq!(retry_after(&headers), day, "falls back to retry-after");
        let hint = |m: &str| hint_in_message(m);
        assert_eq!(hint("try again in 99999999999999999999999s"), day);
        assert_eq!(hint("try again in 9999999999999999h9999999999999999m"), day);
        let huge = format!("try again in {}s", "9".repeat(400));
        assert_eq!(hint(&huge), None, "an infinite number is no hint");
        assert_eq!(Backoff::default().wait(1, day), MAX_SERVER_HINT);
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let b = Backoff::default();
        for attempt in 1..=10 {
            let nominal = (b.base * 2u32.pow(attempt - 1)).min(b.max);
            let d = b.delay(attempt);
            assert!(
                d >= nominal.mul_f64(0.8) && d < nominal.mul_f64(1.2),
                "{d:?}"
            );
        }
        assert!(b.delay(u32::MAX) <= b.max.mul_f64(1.2));
        assert_eq!(b.wait(1, Some(Duration::from_secs(3600))), MAX_SERVER_HINT);
    }

    #[test]
    fn http_errors_are_classified_by_code_then_status() {
        let h = HeaderMap::new();
        let body =
            |code: &str| format!(r#"{{"error":{{"message":"m","type":"t","code":"{code}"}}}}"#);
        assert!(matches!(
            classify_http(400, &h, &body("context_length_exceeded")),
            Failure::Fatal(ModelError::ContextLengthExceeded(_))
        ));
        assert!(matches!(
            classify_http(429, &h, &body("insufficient_quota")),
            Failure::Fatal(ModelError::QuotaExceeded(_))
        ));
        assert!(matches!(
            classify_http(429, &h, &body("rate_limit_exceeded")),
            Failure::Retry { .. }
        ));
        assert!(matches!(
            classify_http(503, &h, "<html>busy</html>"),
            Failure::Retry { error: ModelError::Http { status: 503, ref message }, .. }
                if message == "<html>busy</html>"
        ));
        assert!(matches!(
            classify_http(401, &h, &body("invalid_api_key")),
            Failure::Fatal(ModelError::Http { status: 401, .. })
        ));
    }
}
