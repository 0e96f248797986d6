//! Params and results of the read-only settings requests a Codex client needs at start-up:
//! `model/list`, `config/read`, `account/read` and `configRequirements/read`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

/// `model/list` params.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModelListParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Also list models marked hidden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_hidden: Option<bool>,
    /// Only this provider's models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_provider: Option<String>,
}

/// `model/list` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModelListResponse {
    pub data: Vec<Model>,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// A model the daemon's config offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Model {
    /// Unique key, `provider/model` when several providers offer the same model.
    pub id: String,
    /// The name sent to the provider.
    pub model: String,
    pub display_name: String,
    pub description: String,
    pub hidden: bool,
    pub is_default: bool,
    /// E.g. `"medium"` (Codex `ReasoningEffort`: a non-empty string).
    pub default_reasoning_effort: String,
    pub supported_reasoning_efforts: Vec<ReasoningEffortOption>,
    /// What the model takes as input: `["text", "image"]` on the Responses wire, `["text"]` on
    /// Chat Completions, unless `[models.NAME] input_modalities` says otherwise.
    pub input_modalities: Vec<InputModality>,
}

/// A kind of user input a model accepts (Codex's `InputModality`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum InputModality {
    Text,
    Image,
    Audio,
}

/// One reasoning effort a model supports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReasoningEffortOption {
    pub reasoning_effort: String,
    pub description: String,
}

/// `config/read` params.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigReadParams {
    /// Resolve project config for this directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// Also answer with `layers`: each config layer and what it set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_layers: Option<bool>,
}

/// `config/read` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigReadResponse {
    /// The effective config, secrets redacted. Keys are the config file's (snake_case); where
    /// Codex's `Config` definition names a key (`model`, `approval_policy`, `sandbox_mode`, …)
    /// its value must have Codex's type.
    pub config: serde_json::Map<String, serde_json::Value>,
    /// Where each (dotted) key came from.
    pub origins: BTreeMap<String, ConfigLayerMetadata>,
    /// With `includeLayers`: the layers, the one that wins first (`-c` flags, the profile, the
    /// config file), each with the keys it set that are in effect (secrets redacted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layers: Option<Vec<ConfigLayer>>,
}

/// One config layer (Codex's `ConfigLayer`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigLayer {
    pub name: ConfigLayerSource,
    /// A fingerprint of the layer's content, as in `origins`.
    pub version: String,
    /// The keys this layer set that are in effect, nested as in `config`.
    pub config: serde_json::Value,
    /// Why the layer is not applied (never set: agentd applies every layer it lists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
}

/// The layer a config key came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigLayerMetadata {
    pub name: ConfigLayerSource,
    /// A fingerprint of the layer's content.
    pub version: String,
}

/// Kinds of config layer, tagged by `type` (the subset of Codex's `ConfigLayerSource` agentd
/// has; built-in defaults are not listed in `origins`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum ConfigLayerSource {
    /// `/etc/agentd/config.toml`.
    System { file: String },
    /// The user's config file.
    User {
        file: String,
        #[serde(default)]
        profile: Option<String>,
    },
    /// A project's config folder.
    Project { dot_codex_folder: String },
    /// Command-line flags and environment variables.
    SessionFlags,
}

/// `account/read` params.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetAccountParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<bool>,
}

/// `account/read` result: agentd has no accounts (provider keys come from config and env), so
/// always `{account: null, requiresOpenaiAuth: false}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetAccountResponse {
    /// Always `null`.
    #[serde(default)]
    pub account: Option<serde_json::Value>,
    pub requires_openai_auth: bool,
}

/// `configRequirements/read` params: nothing. Codex sends this request with no `params` at
/// all, so this deserializes from an absent/`null` params value as well as from any object
/// (whose fields are ignored).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ConfigRequirementsReadParams {}

impl<'de> Deserialize<'de> for ConfigRequirementsReadParams {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct NothingOrObject;
        impl<'de> Visitor<'de> for NothingOrObject {
            type Value = ConfigRequirementsReadParams;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("null or an object")
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(ConfigRequirementsReadParams {})
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(ConfigRequirementsReadParams {})
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(ConfigRequirementsReadParams {})
            }
        }
        d.deserialize_any(NothingOrObject)
    }
}

/// `configRequirements/read` result: agentd has no managed requirements, so `{}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigRequirementsReadResponse {
    /// Always absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requirements: Option<serde_json::Value>,
}
