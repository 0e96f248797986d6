//! What a [`ModelClient`](super::ModelClient) needs to know about one provider.
//!
//! A copy of `crate::config::ProviderConfig`'s fields (built with `From<&ProviderConfig>`),
//! so `model/` can be built and tested on its own and the config file's shape can change
//! without touching the clients.

use std::collections::BTreeMap;
use std::fmt;

/// Which wire format the provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WireApi {
    /// OpenAI Responses API: `POST {base_url}/responses`.
    #[default]
    Responses,
    /// OpenAI-compatible Chat Completions: `POST {base_url}/chat/completions` (Ollama, LM
    /// Studio, llama.cpp server, vLLM, OpenRouter, …).
    Chat,
}

/// One configured model provider.
#[derive(Clone, PartialEq)]
pub struct ProviderSettings {
    pub id: String,
    pub name: String,
    /// E.g. `https://api.openai.com/v1`; endpoint paths are appended to it.
    pub base_url: String,
    /// The environment variable holding the API key, read at request time (so a key exported
    /// after the daemon started, or rotated, is picked up). `None`: no `Authorization` header.
    pub env_key: Option<String>,
    pub wire_api: WireApi,
    /// Extra headers sent with every request (values may be secrets: never logged).
    pub http_headers: BTreeMap<String, String>,
    /// Extra query parameters added to every request URL (e.g. Azure's `api-version`).
    pub query_params: BTreeMap<String, String>,
    /// Re-sends of a request answered with 5xx/408/429 or that could not connect.
    pub request_max_retries: u32,
    /// Re-sends of a request whose response stream broke before its terminal event.
    pub stream_max_retries: u32,
    /// How long a response stream may stay silent before it counts as broken.
    pub stream_idle_timeout_ms: u64,
}

/// Header values are redacted: they routinely carry keys (`api-key`, `OpenAI-Organization`).
impl fmt::Debug for ProviderSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&String> = self.http_headers.keys().collect();
        f.debug_struct("ProviderSettings")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .field("env_key", &self.env_key)
            .field("wire_api", &self.wire_api)
            .field("http_headers", &header_names)
            .field("query_params", &self.query_params)
            .field("request_max_retries", &self.request_max_retries)
            .field("stream_max_retries", &self.stream_max_retries)
            .field("stream_idle_timeout_ms", &self.stream_idle_timeout_ms)
            .finish()
    }
}

impl From<crate::config::WireApi> for WireApi {
    fn from(wire: crate::config::WireApi) -> Self {
        match wire {
            crate::config::WireApi::Responses => WireApi::Responses,
            crate::config::WireApi::Chat => WireApi::Chat,
        }
    }
}

/// The configured provider, as the client needs it.
impl From<&crate::config::ProviderConfig> for ProviderSettings {
    fn from(p: &crate::config::ProviderConfig) -> Self {
        ProviderSettings {
            id: p.id.clone(),
            name: p.name.clone(),
            base_url: p.base_url.clone(),
            env_key: p.env_key.clone(),
            wire_api: p.wire_api.into(),
            http_headers: p.http_headers.clone(),
            query_params: p.query_params.clone(),
            request_max_retries: p.request_max_retries,
            stream_max_retries: p.stream_max_retries,
            stream_idle_timeout_ms: p.stream_idle_timeout_ms,
        }
    }
}
