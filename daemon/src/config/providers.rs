//! The providers every config has unless the file redefines the same id: OpenAI's hosted API
//! and the common local OpenAI-compatible servers (Ollama, LM Studio, llama.cpp's server), so
//! `model_provider = "ollama"` works with no `[model_providers]` table at all.

use std::collections::BTreeMap;

use super::{ProviderConfig, WireApi};

/// Retries of a request that failed before its response started.
pub const DEFAULT_REQUEST_MAX_RETRIES: u32 = 4;
/// Reconnections of a response stream that broke part-way.
pub const DEFAULT_STREAM_MAX_RETRIES: u32 = 5;
/// How long a stream may stay silent before it counts as broken: five minutes, because a
/// reasoning model can think that long between events.
pub const DEFAULT_STREAM_IDLE_TIMEOUT_MS: u64 = 300_000;

/// A provider with every tunable at its default.
pub fn provider(id: &str, name: &str, base_url: &str, wire_api: WireApi) -> ProviderConfig {
    ProviderConfig {
        id: id.to_owned(),
        name: name.to_owned(),
        base_url: base_url.to_owned(),
        env_key: None,
        wire_api,
        http_headers: BTreeMap::new(),
        query_params: BTreeMap::new(),
        request_max_retries: DEFAULT_REQUEST_MAX_RETRIES,
        stream_max_retries: DEFAULT_STREAM_MAX_RETRIES,
        stream_idle_timeout_ms: DEFAULT_STREAM_IDLE_TIMEOUT_MS,
    }
}

/// The built-in providers, by id.
pub fn built_in() -> BTreeMap<String, ProviderConfig> {
    let openai = ProviderConfig {
        env_key: Some("OPENAI_API_KEY".to_owned()),
        ..provider(
            "openai",
            "OpenAI",
            "https://api.openai.com/v1",
            WireApi::Responses,
        )
    };
    // Local servers need no key: they listen on loopback and ignore `Authorization`.
    let ollama = provider(
        "ollama",
        "Ollama",
        "http://localhost:11434/v1",
        WireApi::Chat,
    );
    let lmstudio = provider(
        "lmstudio",
        "LM Studio",
        "http://localhost:1234/v1",
        WireApi::Chat,
    );
    let llamacpp = provider(
        "llamacpp",
        "llama.cpp server",
        "http://localhost:8080/v1",
        WireApi::Chat,
    );
    [openai, ollama, lmstudio, llamacpp]
        .into_iter()
        .map(|p| (p.id.clone(), p))
        .collect()
}
