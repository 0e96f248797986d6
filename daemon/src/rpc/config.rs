//! `model/list` and `config/read`: what the loaded config says, in the shapes Codex clients
//! expect. Both read the config fixed at start; nothing here changes it.

use agentd_protocol::params::config::{
    ConfigLayerMetadata, ConfigLayerSource, ConfigReadParams, ConfigReadResponse, Model,
    ModelListParams, ModelListResponse, ReasoningEffortOption,
};

use super::dispatch::Handled;
use super::error::RpcError;
use crate::config::{Config, LoadedConfig, ModelInfo, Origin};
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
/// layer. agentd has no per-project config, so `cwd` changes nothing; built-in defaults are
/// not listed in `origins`, as in Codex.
pub fn read(daemon: &Daemon, _params: ConfigReadParams) -> Result<Handled, RpcError> {
    let loaded = &daemon.loaded;
    let config = match loaded.redacted_json() {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    let origins = loaded
        .origins
        .iter()
        .filter_map(|(key, origin)| Some((key.clone(), layer(loaded, origin)?)))
        .collect();
    Handled::new(ConfigReadResponse { config, origins })
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
