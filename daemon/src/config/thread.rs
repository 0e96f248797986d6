//! A thread's own `config`: the `config` map of `thread/start`, `thread/resume` and `turn/start`,
//! Codex's per-thread overrides as dotted keys (`"model_providers.x.base_url"`) or nested
//! objects. The keys agentd honours per thread are read and checked as the config file's are;
//! every other key is handed back by name, for the caller to warn about rather than refuse —
//! Codex clients send many keys agentd has no use for (`features.*`, `tools.*`, …), and a
//! session must not fail over them.

use std::collections::BTreeMap;

use agentd_protocol::{AskForApproval, SandboxMode};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::error::ConfigError;
use super::file::ProviderToml;
use super::mcp::insert_dotted;
use super::resolve::provider_over;
use super::{mcp_servers_from_json, Config, ProviderConfig};

/// How errors name the layer the keys came from.
const ORIGIN: &str = "the thread's config";

/// The keys a thread's `config` may set that are one value each (not tables).
const SCALARS: &[&str] = &[
    "model",
    "model_provider",
    "model_reasoning_effort",
    "approval_policy",
    "sandbox_mode",
    "instructions",
    "developer_instructions",
    "web_search",
];

/// Longest reasoning effort name accepted (Codex's are a word: `low`, `xhigh`, …).
const MAX_EFFORT_CHARS: usize = 32;

/// What a thread's `config` sets that agentd applies, read and checked.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ThreadConfig {
    pub model: Option<String>,
    pub model_provider: Option<String>,
    pub model_reasoning_effort: Option<String>,
    pub approval_policy: Option<AskForApproval>,
    pub sandbox_mode: Option<SandboxMode>,
    /// Replaces the built-in base instructions.
    pub instructions: Option<String>,
    pub developer_instructions: Option<String>,
    pub web_search: Option<agentd_protocol::WebSearchMode>,
    /// The `mcp_servers` keys as given (how the thread stores them), when they name a server.
    pub mcp_servers: Option<Map<String, Value>>,
    /// One of those servers is a process on the host (stdio).
    pub stdio_mcp_server: bool,
    /// The `model_providers` keys as given (how the thread stores them).
    pub model_providers: Option<Map<String, Value>>,
    /// Keys agentd does not apply per thread, as the client wrote them.
    pub ignored: Vec<String>,
}

fn bad(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::BadValue {
        origin: ORIGIN.to_owned(),
        key: key.to_owned(),
        message: message.into(),
    }
}

/// The head of a dotted key: `mcp_servers` of `mcp_servers.x.command`.
fn head(key: &str) -> &str {
    key.split_once('.').map_or(key, |(h, _)| h)
}

/// Reads `config` against the daemon's `base` config (a thread's provider must exist there or
/// among the thread's own). A bad value for a key agentd applies is an error naming the key.
pub fn read_thread_config(
    config: &Map<String, Value>,
    base: &Config,
) -> Result<ThreadConfig, ConfigError> {
    let mut out = ThreadConfig::default();
    let mut scalars = Map::new();
    let (mut mcp, mut providers) = (Map::new(), Map::new());
    for (key, value) in config {
        let h = head(key);
        if SCALARS.contains(&h) {
            if h != key {
                return Err(bad(key, format!("`{h}` is a value, not a table")));
            }
            scalars.insert(key.clone(), value.clone());
        } else if h == "mcp_servers" {
            mcp.insert(key.clone(), value.clone());
        } else if h == "model_providers" {
            providers.insert(key.clone(), value.clone());
        } else {
            out.ignored.push(key.clone());
        }
    }
    out.model = word(&mut scalars, "model")?;
    out.model_provider = word(&mut scalars, "model_provider")?;
    out.model_reasoning_effort = effort(&mut scalars)?;
    out.approval_policy = take(&mut scalars, "approval_policy")?;
    out.sandbox_mode = take(&mut scalars, "sandbox_mode")?;
    out.instructions = take(&mut scalars, "instructions")?;
    out.developer_instructions = take(&mut scalars, "developer_instructions")?;
    out.web_search = take(&mut scalars, "web_search")?;
    if !mcp.is_empty() {
        let servers = mcp_servers_from_json(&mcp)?;
        if !servers.is_empty() {
            out.stdio_mcp_server = servers.values().any(|s| s.is_stdio());
            out.mcp_servers = Some(mcp);
        }
    }
    let own = if providers.is_empty() {
        BTreeMap::new()
    } else {
        let own = thread_providers(&providers, base)?;
        out.model_providers = Some(providers);
        own
    };
    if let Some(p) = &out.model_provider {
        if base.provider(p).is_none() && !own.contains_key(p) {
            let mut known: Vec<&str> = base.providers.keys().map(String::as_str).collect();
            known.extend(own.keys().map(String::as_str));
            return Err(bad(
                "model_provider",
                format!("unknown provider `{p}` (known: {})", known.join(", ")),
            ));
        }
    }
    Ok(out)
}

/// The thread's own providers (`model_providers` keys as stored in its settings), each over
/// the daemon's provider of that id, if any: how a turn finds a provider only its thread has.
pub fn thread_providers(
    raw: &Map<String, Value>,
    base: &Config,
) -> Result<BTreeMap<String, ProviderConfig>, ConfigError> {
    let mut tree = Map::new();
    for (key, value) in raw {
        insert_dotted(&mut tree, key, value.clone());
    }
    let Some(table) = tree.remove("model_providers") else {
        return Ok(BTreeMap::new());
    };
    let configured: BTreeMap<String, ProviderToml> = serde_path_to_error::deserialize(table)
        .map_err(|e| {
            bad(
                &format!("model_providers.{}", e.path()),
                e.inner().to_string(),
            )
        })?;
    let complain = |key: &str, message: String| bad(key, message);
    configured
        .into_iter()
        .map(|(id, p)| {
            let provider = provider_over(base.provider(&id).cloned(), &id, p, &complain)?;
            Ok((id, provider))
        })
        .collect()
}

/// Takes `key` as a `T`; `null` counts as absent (Codex sends `null` for "not set").
fn take<T: DeserializeOwned>(
    map: &mut Map<String, Value>,
    key: &str,
) -> Result<Option<T>, ConfigError> {
    match map.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v)
            .map(Some)
            .map_err(|e| bad(key, e.to_string())),
    }
}

/// A non-empty string.
fn word(map: &mut Map<String, Value>, key: &str) -> Result<Option<String>, ConfigError> {
    match take::<String>(map, key)? {
        Some(s) if s.trim().is_empty() => Err(bad(key, "must not be empty")),
        other => Ok(other),
    }
}

/// A reasoning effort: one short word of letters, digits, `-` or `_` (`low`, `xhigh`, …).
fn effort(map: &mut Map<String, Value>) -> Result<Option<String>, ConfigError> {
    const KEY: &str = "model_reasoning_effort";
    let Some(e) = word(map, KEY)? else {
        return Ok(None);
    };
    let is_word = e.len() <= MAX_EFFORT_CHARS
        && e.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !is_word {
        return Err(bad(
            KEY,
            format!("{e:?} is not a reasoning effort (low, medium, high, …)"),
        ));
    }
    Ok(Some(e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(v: Value) -> Result<ThreadConfig, ConfigError> {
        let Value::Object(map) = v else {
            panic!("not an object")
        };
        read_thread_config(&map, &Config::defaults())
    }

    #[test]
    fn known_keys_are_read_and_the_rest_named() {
        let c = read(json!({
            "model": "o3", "model_reasoning_effort": "high", "approval_policy": "never",
            "sandbox_mode": "read-only", "developer_instructions": "be terse",
            "features.x": false, "web_search": "disabled", "model_provider": null
        }))
        .unwrap();
        assert_eq!(c.model.as_deref(), Some("o3"));
        assert_eq!(c.model_reasoning_effort.as_deref(), Some("high"));
        assert_eq!(c.approval_policy, Some(AskForApproval::Never));
        assert_eq!(c.sandbox_mode, Some(SandboxMode::ReadOnly));
        assert_eq!(c.developer_instructions.as_deref(), Some("be terse"));
        assert_eq!(c.model_provider, None);
        assert_eq!(c.web_search, Some(agentd_protocol::WebSearchMode::Disabled));
        assert_eq!(c.ignored, ["features.x"]);
    }

    #[test]
    fn bad_values_name_their_key() {
        for (v, key) in [
            (
                json!({"model_reasoning_effort": 5}),
                "model_reasoning_effort",
            ),
            (
                json!({"model_reasoning_effort": "very high!"}),
                "model_reasoning_effort",
            ),
            (json!({"approval_policy": "sometimes"}), "approval_policy"),
            (json!({"sandbox_mode": true}), "sandbox_mode"),
            (json!({"model": ""}), "model"),
            (json!({"model.x": "y"}), "model.x"),
            (json!({"model_provider": "nowhere"}), "model_provider"),
            (
                json!({"model_providers.x.wire_api": "smoke"}),
                "model_providers.x.wire_api",
            ),
            (
                json!({"model_providers": {"x": {"name": "X"}}}),
                "model_providers.x",
            ),
        ] {
            match read(v.clone()) {
                Err(ConfigError::BadValue { key: k, .. }) => assert_eq!(k, key, "{v}"),
                other => panic!("{v}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_thread_may_bring_its_own_provider() {
        let c = read(json!({
            "model_provider": "mine",
            "model_providers.mine": {"base_url": "http://127.0.0.1:1/v1", "wire_api": "chat"}
        }))
        .unwrap();
        let raw = c.model_providers.unwrap();
        let own = thread_providers(&raw, &Config::defaults()).unwrap();
        assert_eq!(own["mine"].base_url, "http://127.0.0.1:1/v1");
        assert_eq!(own["mine"].wire_api, super::super::WireApi::Chat);
    }
}
