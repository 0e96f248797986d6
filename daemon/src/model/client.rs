//! [`ModelClient`]: one provider's HTTP client, the entry point of `model/`.
//!
//! One client per provider is shared by every thread, so connections are pooled. A call runs
//! in its own task and reports on a channel; the task stops (and drops the HTTP connection)
//! as soon as the receiver is dropped, which is how an interrupted turn stops paying for
//! tokens it will not use.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
use reqwest::{Method, Url};
use serde_json::Value;
use tokio::sync::mpsc;

use super::retry::{classify_http, Backoff, Failure};
use super::settings::{ProviderSettings, WireApi};
use super::sse::{self, error_chain, millis, Assembler, EventSender, StreamEnd};
use super::types::{ModelError, ModelEvent, ModelRequest};
use super::{chat, responses};

/// Events buffered between the call task and the consumer. Small: the consumer (a turn)
/// reads continuously, and back-pressure simply pauses reading from the socket.
const EVENT_BUFFER: usize = 64;

/// Connecting should be quick; a provider that cannot be reached is retried instead.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Bytes of an error answer's body read for its message: an OpenAI error is well under 1 KiB,
/// and the message quotes at most 500 characters of a body that is not one.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Bytes of a `GET /models` answer: thousands of models' entries, not an endless body.
const MAX_MODEL_LIST: usize = 8 * 1024 * 1024;

/// A client for one model provider. Cheap to clone.
#[derive(Clone)]
pub struct ModelClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    settings: ProviderSettings,
    /// `settings.http_headers`, validated once; values are marked sensitive.
    headers: HeaderMap,
    backoff: Backoff,
}

impl ModelClient {
    /// Validates the settings (base URL, header names and values) and builds the HTTP client.
    /// The API key is not read here but at each request.
    pub fn new(settings: ProviderSettings) -> Result<Self, ModelError> {
        let base = Url::parse(&settings.base_url).map_err(|err| {
            ModelError::Config(format!(
                "provider `{}`: base_url {:?} is not a URL: {err}",
                settings.id, settings.base_url
            ))
        })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(ModelError::Config(format!(
                "provider `{}`: base_url must be http or https, not {:?}",
                settings.id,
                base.scheme()
            )));
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &settings.http_headers {
            // The value is deliberately left out of the message: it may be a secret.
            let invalid = |what: &str| {
                ModelError::Config(format!(
                    "provider `{}`: http_headers: {what} of header {name:?} is not valid HTTP",
                    settings.id
                ))
            };
            let header_name =
                HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid("the name"))?;
            let mut header_value =
                HeaderValue::from_str(value).map_err(|_| invalid("the value"))?;
            header_value.set_sensitive(true);
            headers.insert(header_name, header_value);
        }
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|err| {
                ModelError::Config(format!(
                    "cannot build the HTTP client: {}",
                    error_chain(&err)
                ))
            })?;
        Ok(ModelClient {
            inner: Arc::new(Inner {
                http,
                settings,
                headers,
                backoff: Backoff::default(),
            }),
        })
    }

    /// Replaces the wait between retries (tests use milliseconds instead of the default
    /// 200 ms doubling up to 10 s). Call before sharing the client.
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.backoff = backoff;
        } else {
            let inner = &self.inner;
            self.inner = Arc::new(Inner {
                http: inner.http.clone(),
                settings: inner.settings.clone(),
                headers: inner.headers.clone(),
                backoff,
            });
        }
        self
    }

    pub fn settings(&self) -> &ProviderSettings {
        &self.inner.settings
    }

    /// Starts a streaming call. Events arrive in order and end with `Completed` or one `Err`,
    /// after which the channel closes. Dropping the receiver cancels the call and closes its
    /// HTTP connection. Must be called within a tokio runtime.
    pub fn stream(&self, request: ModelRequest) -> mpsc::Receiver<Result<ModelEvent, ModelError>> {
        let (tx, rx) = mpsc::channel(EVENT_BUFFER);
        let inner = Arc::clone(&self.inner);
        tokio::spawn(async move {
            // Racing the whole call against the receiver going away covers every await in it
            // (connecting, backoff sleeps, reads) in one place; dropping the call future drops
            // the response and so closes the connection.
            tokio::select! {
                () = tx.closed() => {}
                result = inner.call(&request, &tx) => {
                    if let Err(err) = result {
                        let _ = tx.send(Err(err)).await;
                    }
                }
            }
        });
        rx
    }

    /// The ids of the provider's models (`GET {base_url}/models`).
    pub async fn list_models(&self) -> Result<Vec<String>, ModelError> {
        let inner = &self.inner;
        let url = inner.url("models")?;
        let response = inner.send(Method::GET, &url, None).await?;
        let idle = inner.idle_timeout();
        let mut body = Vec::new();
        tokio::time::timeout(idle, read_capped(response, MAX_MODEL_LIST + 1, &mut body))
            .await
            .map_err(|_| ModelError::IdleTimeout(millis(idle)))?
            .map_err(|err| ModelError::Connection(error_chain(&err.without_url())))?;
        let invalid = |why: String| ModelError::Failed {
            code: "invalid_model_list".to_owned(),
            message: why,
        };
        if body.len() > MAX_MODEL_LIST {
            return Err(invalid(format!(
                "the model list is larger than {} MiB",
                MAX_MODEL_LIST / (1024 * 1024)
            )));
        }
        let list: Value = serde_json::from_slice(&body)
            .map_err(|err| invalid(format!("the model list is not JSON: {err}")))?;
        let data = list
            .get("data")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid("the model list has no `data` array".to_owned()))?;
        Ok(data
            .iter()
            .filter_map(|m| m.get("id").and_then(Value::as_str).map(str::to_owned))
            .collect())
    }
}

/// Reads `response`'s body into `body` until it ends or `body` holds `cap` bytes; the rest is
/// never read (dropping the response closes the connection). Bytes read before an error stay
/// in `body`.
async fn read_capped(
    mut response: reqwest::Response,
    cap: usize,
    body: &mut Vec<u8>,
) -> Result<(), reqwest::Error> {
    while body.len() < cap {
        let Some(chunk) = response.chunk().await? else {
            break;
        };
        let room = cap - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    Ok(())
}

impl Inner {
    /// One streaming call: send, read, and on a broken stream send again (up to
    /// `stream_max_retries`), telling the consumer to discard what it got from the failed
    /// attempt.
    async fn call(&self, request: &ModelRequest, tx: &EventSender) -> Result<(), ModelError> {
        let wire = self.settings.wire_api;
        let (url, body) = match wire {
            WireApi::Responses => (self.url("responses")?, responses::request_body(request)),
            WireApi::Chat => (self.url("chat/completions")?, chat::request_body(request)),
        };
        let max = self.settings.stream_max_retries;
        let mut retries = 0;
        loop {
            let response = self.send(Method::POST, &url, Some(&body)).await?;
            let mut assembler = Assembler::new(wire, request);
            let (error, after, forwarded) =
                match sse::forward(response, &mut assembler, tx, self.idle_timeout()).await {
                    StreamEnd::Finished | StreamEnd::ConsumerGone => return Ok(()),
                    StreamEnd::Failed {
                        failure: Failure::Fatal(error),
                        ..
                    } => return Err(error),
                    StreamEnd::Failed {
                        failure: Failure::Retry { error, after },
                        forwarded,
                    } => (error, after, forwarded),
                };
            if retries >= max {
                return Err(error);
            }
            retries += 1;
            tracing::warn!(
                provider = %self.settings.id,
                attempt = retries,
                max,
                error = %error,
                "model response stream broke; sending the request again"
            );
            if forwarded {
                let retrying = ModelEvent::Retrying {
                    attempt: retries,
                    max,
                    reason: error.to_string(),
                };
                if tx.send(Ok(retrying)).await.is_err() {
                    return Ok(());
                }
            }
            tokio::time::sleep(self.backoff.wait(retries, after)).await;
        }
    }

    /// Sends a request until it gets a 2xx answer, retrying passing failures (5xx, 408, 429
    /// rate limits, connection errors) up to `request_max_retries`.
    async fn send(
        &self,
        method: Method,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<reqwest::Response, ModelError> {
        // Read once per call, not per attempt: a retry must not change credentials midway.
        let auth = self.authorization()?;
        let max = self.settings.request_max_retries;
        let mut retries = 0;
        loop {
            let failure = match self
                .send_once(method.clone(), url, body, auth.as_ref())
                .await
            {
                Ok(response) if response.status().is_success() => return Ok(response),
                Ok(response) => self.http_failure(response).await,
                Err(failure) => failure,
            };
            let (error, after) = match failure {
                Failure::Fatal(error) => return Err(error),
                Failure::Retry { error, after } => (error, after),
            };
            if retries >= max {
                return Err(error);
            }
            retries += 1;
            let wait = self.backoff.wait(retries, after);
            tracing::warn!(
                provider = %self.settings.id,
                attempt = retries,
                max,
                wait_ms = millis(wait),
                error = %error,
                "model request failed; retrying"
            );
            tokio::time::sleep(wait).await;
        }
    }

    async fn send_once(
        &self,
        method: Method,
        url: &Url,
        body: Option<&Value>,
        auth: Option<&HeaderValue>,
    ) -> Result<reqwest::Response, Failure> {
        let mut builder = self
            .http
            .request(method, url.clone())
            .headers(self.headers.clone());
        if let Some(auth) = auth {
            builder = builder.header(AUTHORIZATION, auth.clone());
        }
        if let Some(body) = body {
            builder = builder
                .header(reqwest::header::ACCEPT, "text/event-stream")
                .json(body);
        }
        // The watchdog covers the wait for response headers too: a provider that accepts the
        // connection and then says nothing is as stuck as one that stalls mid-stream.
        let idle = self.idle_timeout();
        match tokio::time::timeout(idle, builder.send()).await {
            Err(_elapsed) => Err(Failure::retry(ModelError::IdleTimeout(millis(idle)))),
            Ok(Ok(response)) => Ok(response),
            Ok(Err(err)) if err.is_builder() => Err(Failure::Fatal(ModelError::Config(format!(
                "cannot build the request: {}",
                error_chain(&err.without_url())
            )))),
            Ok(Err(err)) => Err(Failure::retry(ModelError::Connection(format!(
                "`{}` at {}: {}. Is it running?\n{}",
                self.settings.id,
                self.settings.base_url,
                error_chain(&err.without_url()),
                super::help::HOW_TO_GET_A_MODEL
            )))),
        }
    }

    /// Reads the start of an error answer's body and classifies it. The read is bounded in
    /// time (the idle timeout) and in size ([`MAX_ERROR_BODY`]): a provider that sends an
    /// endless body gets its first bytes quoted, not the daemon's memory.
    async fn http_failure(&self, response: reqwest::Response) -> Failure {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let mut body = Vec::new();
        // A timeout or a broken read keeps what arrived: it is the best message there is.
        let _ = tokio::time::timeout(
            self.idle_timeout(),
            read_capped(response, MAX_ERROR_BODY, &mut body),
        )
        .await;
        classify_http(status, &headers, &String::from_utf8_lossy(&body))
    }

    /// `Bearer <key>` from the `env_key` variable, or nothing when the provider needs no key.
    fn authorization(&self) -> Result<Option<HeaderValue>, ModelError> {
        let Some(var) = &self.settings.env_key else {
            return Ok(None);
        };
        let key = std::env::var(var).unwrap_or_default();
        if key.trim().is_empty() {
            return Err(ModelError::Config(format!(
                "environment variable {var} is not set (the `{}` provider's key).\n{}",
                self.settings.id,
                super::help::HOW_TO_GET_A_MODEL
            )));
        }
        let mut value = HeaderValue::from_str(&format!("Bearer {}", key.trim())).map_err(|_| {
            ModelError::Config(format!(
                "environment variable {var} does not hold a valid API key"
            ))
        })?;
        value.set_sensitive(true);
        Ok(Some(value))
    }

    /// `{base_url}/{path}` plus the configured query parameters.
    fn url(&self, path: &str) -> Result<Url, ModelError> {
        let base = self.settings.base_url.trim_end_matches('/');
        let mut url = Url::parse(&format!("{base}/{path}")).map_err(|err| {
            ModelError::Config(format!(
                "provider `{}`: cannot build the {path} URL: {err}",
                self.settings.id
            ))
        })?;
        if !self.settings.query_params.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (key, value) in &self.settings.query_params {
                pairs.append_pair(key, value);
            }
        }
        Ok(url)
    }

    fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.settings.stream_idle_timeout_ms.max(1))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpListener;

    use super::*;

    /// A provider that answers every request with `head` and then `chunk` every millisecond
    /// until the client hangs up: a body without end (and throttled, so that a client that
    /// reads it all costs the test tens of MiB, not the machine's memory).
    async fn endless_provider(head: &'static str, chunk: Vec<u8>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let chunk = chunk.clone();
                tokio::spawn(async move {
                    let mut request = [0u8; 64 * 1024];
                    let _ = socket.read(&mut request).await;
                    let _ = socket.write_all(head.as_bytes()).await;
                    while socket.write_all(&chunk).await.is_ok() {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                });
            }
        });
        format!("http://{addr}/v1")
    }

    fn client(base_url: String, idle_ms: u64) -> ModelClient {
        ModelClient::new(ProviderSettings {
            id: "endless".into(),
            name: "endless".into(),
            base_url,
            env_key: None,
            wire_api: WireApi::Responses,
            http_headers: BTreeMap::new(),
            query_params: BTreeMap::new(),
            request_max_retries: 0,
            stream_max_retries: 0,
            stream_idle_timeout_ms: idle_ms,
        })
        .unwrap()
    }

    #[tokio::test]
    async fn an_endless_error_body_is_quoted_from_its_start() {
        let head = "HTTP/1.1 500 Internal Server Error\r\nconnection: close\r\n\r\n\
                    <html>upstream overloaded ";
        let url = endless_provider(head, vec![b'x'; 16 * 1024]).await;
        let request = ModelRequest {
            model: "m".into(),
            instructions: String::new(),
            input: Vec::new(),
            tools: Vec::new(),
            reasoning_effort: None,
            output_schema: None,
        };
        // Reading the body to its end would only stop at this timeout.
        let started = std::time::Instant::now();
        let mut rx = client(url, 3_000).stream(request);
        let answer = rx.recv().await;
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "read past the cap"
        );
        match answer {
            Some(Err(ModelError::Http { status, message })) => {
                assert_eq!(status, 500);
                assert!(
                    message.starts_with("<html>upstream overloaded x"),
                    "{message}"
                );
                assert!(message.chars().count() <= 501, "{}", message.len());
            }
            other => panic!("expected the HTTP error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn an_endless_model_list_is_refused() {
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\
                    \r\n\r\n{\"data\": [";
        let url = endless_provider(head, vec![b' '; 64 * 1024]).await;
        // 8 MiB arrive in a fraction of a second; reading to the end would hit this timeout.
        match client(url, 2_000).list_models().await {
            Err(ModelError::Failed { code, message }) => {
                assert_eq!(code, "invalid_model_list");
                assert!(message.contains("larger than 8 MiB"), "{message}");
            }
            other => panic!("expected the list to be refused, got {other:?}"),
        }
    }
}
