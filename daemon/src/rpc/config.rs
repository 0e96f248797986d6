//! `model/list` and `config/read`: what the loaded config says, in the shapes Codex clients
//! expect. Both read the config fixed at start; nothing here changes it.

use agentd_protocol::params::config::{
    ConfigLayer, ConfigLayerMetadata, ConfigLayerSource, ConfigReadParams, ConfigReadResponse,
    InputModality, Model, ModelListParams, ModelListResponse, ReasoningEffortOption,
};

use super::dispatch::Handled;
use super::error::RpcError;
use crate::config::{Config, LoadedConfig, ModelInfo, Origin, WireApi};
use crate::daemon::Daemon;

/// The reasoning efforts offered for a model whose `[models.NAME]` does not list any.
const DEFAULT_EFFORTS: [&str; 3] = ["low", "medium", "high"];
/// The default effort when neither `[models.NAME]` nor `model_reasoning_effort` names one.
const DEFAULT_EFFORT: &str = "medium";

/// `model/list`: the configured model first (`isDefault`), then the other `[models.*]` in name
/// order, hidden ones only on request. The cursor is the index of the next model: the list is
/// fixed for the daemon's life, so an index stays valid across calls.
pub fn list_models(daemon: &Daemon, params: ModelListParams) -> Result<Handled, RpcError> {
    let models = catalog(
        &daemon.config,
        params.include_hidden.unwrap_or(false),
        params.model_provider.as_deref(),
    );
    let start = match &params.cursor {
        None => 0,
        Some(cursor) => cursor
            .parse::<usize>()
            .ok()
            .filter(|&i| i <= models.len())
            .ok_or_else(|| RpcError::invalid_params("cursor", "not a cursor from model/list"))?,
    };
    let limit = params.limit.map_or(usize::MAX, |l| l.max(1) as usize);
    let end = start.saturating_add(limit).min(models.len());
    let next_cursor = (end < models.len()).then(|| end.to_string());
    let data = models.into_iter().skip(start).take(end - start).collect();
    Handled::new(ModelListResponse { data, next_cursor })
}

/// Every model the config knows about. All are served by the configured `model_provider`, so
/// asking for another provider's models yields none.
fn catalog(config: &Config, include_hidden: bool, provider: Option<&str>) -> Vec<Model> {
    if provider.is_some_and(|p| p != config.model_provider) {
        return Vec::new();
    }
    let no_info = ModelInfo::default();
    let default_info = config.models.get(&config.model).unwrap_or(&no_info);
    let mut models = vec![describe(config, &config.model, default_info, true)];
    models.extend(
        config
            .models
            .iter()
            .filter(|(name, info)| **name != config.model && (include_hidden || !info.hidden))
            .map(|(name, info)| describe(config, name, info, false)),
    );
    models
}

fn describe(config: &Config, name: &str, info: &ModelInfo, is_default: bool) -> Model {
    let provider = config
        .provider(&config.model_provider)
        .map_or(config.model_provider.as_str(), |p| p.name.as_str());
    let default_effort = info
        .default_reasoning_effort
        .clone()
        .or_else(|| {
            is_default
                .then(|| config.model_reasoning_effort.clone())
                .flatten()
        })
        .unwrap_or_else(|| DEFAULT_EFFORT.to_owned());
    let efforts: Vec<String> = match &info.supported_reasoning_efforts {
        Some(list) => list.clone(),
        None => DEFAULT_EFFORTS.iter().map(|e| (*e).to_owned()).collect(),
    };
    Model {
        id: name.to_owned(),
        model: name.to_owned(),
        display_name: info.display_name.clone().unwrap_or_else(|| name.to_owned()),
        description: info
            .description
            .clone()
            .unwrap_or_else(|| format!("{name} via {provider}")),
        hidden: info.hidden,
        is_default,
        input_modalities: info
            .input_modalities
            .clone()
            .unwrap_or_else(|| wire_modalities(config)),
        default_reasoning_effort: default_effort,
        supported_reasoning_efforts: efforts
            .into_iter()
            .map(|effort| ReasoningEffortOption {
                description: effort_description(&effort).to_owned(),
                reasoning_effort: effort,
            })
            .collect(),
    }
}

/// What a model takes when its `[models.NAME]` does not say: text and images on the
/// Responses wire (agentd sends images there), text alone on Chat Completions, where many local
/// models have no vision and would fail the request.
fn wire_modalities(config: &Config) -> Vec<InputModality> {
    match config.provider(&config.model_provider).map(|p| p.wire_api) {
        Some(WireApi::Chat) => vec![InputModality::Text],
        _ => vec![InputModality::Text, InputModality::Image],
    }
}

fn effort_description(effort: &str) -> &'static str {
    match effort {
        "none" => "No reasoning",
        "minimal" => "Fastest answers with the least reasoning",
        "low" => "Fast answers with light reasoning",
        "medium" => "Balances speed and reasoning depth",
        "high" => "Deeper reasoning for complex problems",
        "xhigh" => "The deepest reasoning, for the hardest problems",
        _ => "",
    }
}

/// `config/read`: the effective config (secrets redacted) and, for every key a layer set, that
/// layer; with `includeLayers`, the layers themselves. agentd has no per-project config, so
/// `cwd` changes nothing; built-in defaults are not a layer, as in Codex.
pub fn read(daemon: &Daemon, params: ConfigReadParams) -> Result<Handled, RpcError> {
    let loaded = &daemon.loaded;
    let effective = loaded.redacted_json();
    let config = match &effective {
        serde_json::Value::Object(map) => map.clone(),
        _ => serde_json::Map::new(),
    };
    let origins = loaded
        .origins
        .iter()
        .filter_map(|(key, origin)| Some((key.clone(), layer(loaded, origin)?)))
        .collect();
    let layers = params
        .include_layers
        .unwrap_or(false)
        .then(|| layers(loaded, &effective));
    Handled::new(ConfigReadResponse {
        config,
        origins,
        layers,
    })
}

/// The layers, the one that wins first (`-c` flags, the profile, the file), each with the keys
/// it set that are in effect. Taken from the effective config rather than the layer's own text
/// so that secrets stay redacted; the config file is listed whenever it exists.
fn layers(loaded: &LoadedConfig, effective: &serde_json::Value) -> Vec<ConfigLayer> {
    let mut found: Vec<(
        u8,
        ConfigLayerMetadata,
        serde_json::Map<String, serde_json::Value>,
    )> = Vec::new();
    if let Some(file) = &loaded.file {
        let origin = Origin::File(file.clone());
        if let Some(meta) = layer(loaded, &origin) {
            found.push((rank(&origin), meta, serde_json::Map::new()));
        }
    }
    for (key, origin) in &loaded.origins {
        let Some(meta) = layer(loaded, origin) else {
            continue;
        };
        let at = match found.iter().position(|(_, m, _)| *m == meta) {
            Some(at) => at,
            None => {
                found.push((rank(origin), meta, serde_json::Map::new()));
                found.len() - 1
            }
        };
        if let (Some(value), Some((_, _, config))) = (value_at(effective, key), found.get_mut(at)) {
            insert_at(config, key, value.clone());
        }
    }
    found.sort_by_key(|(rank, _, _)| *rank);
    found
        .into_iter()
        .map(|(_, meta, config)| ConfigLayer {
            name: meta.name,
            version: meta.version,
            config: serde_json::Value::Object(config),
            disabled_reason: None,
        })
        .collect()
}

/// Precedence, highest first.
fn rank(origin: &Origin) -> u8 {
    match origin {
        Origin::CommandLine { .. } => 0,
        Origin::Profile { .. } => 1,
        Origin::File(_) => 2,
        Origin::Default => 3,
    }
}

/// The value at a dotted key of `config/read`'s `origins` (quoted segments as `join_key`
/// writes them, e.g. `model_providers."my.host".base_url`).
fn value_at<'a>(v: &'a serde_json::Value, key: &str) -> Option<&'a serde_json::Value> {
    key_segments(key)
        .iter()
        .try_fold(v, |v, segment| v.get(segment.as_str()))
}

fn insert_at(
    map: &mut serde_json::Map<String, serde_json::Value>,
    key: &str,
    value: serde_json::Value,
) {
    let segments = key_segments(key);
    let Some((last, parents)) = segments.split_last() else {
        return;
    };
    let mut map = map;
    for segment in parents {
        let slot = map
            .entry(segment.clone())
            .or_insert_with(|| serde_json::Value::Object(Default::default()));
        if !slot.is_object() {
            *slot = serde_json::Value::Object(Default::default());
        }
        let serde_json::Value::Object(inner) = slot else {
            return;
        };
        map = inner;
    }
    map.insert(last.clone(), value);
}

/// A dotted key's segments, `"quoted.parts"` kept whole.
fn key_segments(key: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in key.chars() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted => out.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    out.push(current);
    out
}

fn layer(loaded: &LoadedConfig, origin: &Origin) -> Option<ConfigLayerMetadata> {
    let name = match origin {
        Origin::Default => return None,
        Origin::File(file) => ConfigLayerSource::User {
            file: file.display().to_string(),
            profile: None,
        },
        Origin::Profile { name, file } => ConfigLayerSource::User {
            file: file.display().to_string(),
            profile: Some(name.clone()),
        },
        Origin::CommandLine { .. } => ConfigLayerSource::SessionFlags,
    };
    Some(ConfigLayerMetadata {
        name,
        version: loaded.layer_version(origin),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_with_models() -> Config {
        let mut c = Config::defaults();
        c.model = "b".into();
        for (name, hidden) in [("a", false), ("b", false), ("c", true), ("d", false)] {
            c.models.insert(
                name.into(),
                ModelInfo {
                    hidden,
                    ..ModelInfo::default()
                },
            );
        }
        c
    }

    #[test]
    fn config_catalog_puts_the_default_first_and_hides_hidden_models() {
        let c = config_with_models();
        let ids: Vec<_> = catalog(&c, false, None).into_iter().map(|m| m.id).collect();
        assert_eq!(ids, ["b", "a", "d"]);
        let all: Vec<_> = catalog(&c, true, None).into_iter().map(|m| m.id).collect();
        assert_eq!(all, ["b", "a", "c", "d"]);
        assert!(catalog(&c, true, Some("ollama")).is_empty());
        assert_eq!(catalog(&c, true, Some("openai")).len(), 4);
    }

    #[test]
    fn config_model_fields_are_filled_in() {
        let mut c = Config::defaults();
        c.model_reasoning_effort = Some("high".into());
        let models = catalog(&c, false, None);
        assert_eq!(models.len(), 1);
        let m = &models[0];
        assert_eq!((m.id.as_str(), m.model.as_str()), ("gpt-5", "gpt-5"));
        assert!(m.is_default && !m.hidden);
        assert_eq!(m.display_name, "gpt-5");
        assert_eq!(m.description, "gpt-5 via OpenAI");
        assert_eq!(m.default_reasoning_effort, "high");
        let efforts: Vec<_> = m
            .supported_reasoning_efforts
            .iter()
            .map(|e| e.reasoning_effort.as_str())
            .collect();
        assert_eq!(efforts, DEFAULT_EFFORTS);
        assert!(m
            .supported_reasoning_efforts
            .iter()
            .all(|e| !e.description.is_empty()));
    }
}
