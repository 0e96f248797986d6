//! From the merged table to a [`Config`]: defaults for what no layer set, and the checks no
//! single layer could make (the selected provider exists, a new provider has a `base_url`,
//! limits are not zero). A failure names the key and the layer that set it, found through the
//! origins recorded while merging.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::error::ConfigError;
use super::file::{ConfigToml, ModelToml, ProviderToml, TlsToml, WorkspaceWriteToml};
use super::load::{join_key, Origin};
use super::providers;
use super::{Config, ModelInfo, ProviderConfig, TlsConfig, WireApi};

/// Turns the merged table into a [`Config`], filling defaults and checking what no single
/// layer could (a value that is well-typed but unusable is reported with the layer that set it).
pub(super) fn resolve(
    mut t: ConfigToml,
    origins: &BTreeMap<String, Origin>,
) -> Result<Config, ConfigError> {
    let bad = |key: &str, message: String| ConfigError::BadValue {
        origin: origin_label(origins, key),
        key: key.to_owned(),
        message,
    };
    // The tables are resolved after the top-level keys (checks keep their order).
    let model_providers = t.model_providers.take();
    let models = t.models.take();
    let hooks = t.hooks.take();
    let projects = t.projects.take();
    let agents = t.agents.take();
    let memory = t.memory.take();
    let profiles = t.profiles.clone().unwrap_or_default();
    let (top_model, top_provider) = (t.model.clone(), t.model_provider.clone());
    let mcp_servers = t.mcp_servers.take();
    let allowed_origins = t.allowed_origins.take();
    let tls = t.tls.take();

    let mut c = Config::defaults();
    apply_top_level(&mut c, t, &bad)?;
    apply_providers(&mut c, model_providers.unwrap_or_default(), &bad)?;
    for (name, m) in models.unwrap_or_default() {
        let key = join_key("models", &name);
        c.models.insert(name, model_info(m, &key, &bad)?);
    }
    if let Some(h) = hooks {
        c.hooks = super::hooks::hooks_config(h, origins)?;
    }
    if let Some(a) = agents {
        c.agents = super::agents::agents_config(a, &|key: &str| origin_label(origins, key))?;
    }
    if let Some(m) = memory {
        let profile = |name: &str| {
            profiles.get(name).map(|p| super::PhaseModel {
                model: p.model.clone().or_else(|| top_model.clone()),
                provider: p.model_provider.clone().or_else(|| top_provider.clone()),
            })
        };
        let origin = |key: &str| origin_label(origins, key);
        c.memory = super::memory::memory_config(m, &origin, &profile)?;
    }
    if let Some(p) = projects {
        c.projects = super::hooks::projects(p, &|key: &str| origin_label(origins, key))?;
    }
    for (i, origin) in allowed_origins.iter().flatten().enumerate() {
        validate_origin(origin).map_err(|m| bad("allowed_origins", format!("entry {i}: {m}")))?;
    }
    c.allowed_origins = allowed_origins.unwrap_or_default();
    if let Some(servers) = mcp_servers {
        c.mcp_servers =
            super::mcp::resolve_servers(servers, &|key: &str| origin_label(origins, key))?;
    }
    if let Some(tls) = tls {
        c.tls = Some(tls_config(tls, origins, &bad)?);
    }
    check_web_search(&c, &bad)?;
    Ok(c)
}

/// `web_search` is the provider's hosted tool: only the Responses API has one.
fn check_web_search(c: &Config, bad: &Bad) -> Result<(), ConfigError> {
    if c.web_search == agentd_protocol::WebSearchMode::Disabled {
        return Ok(());
    }
    match c.provider(&c.model_provider) {
        Some(p) if p.wire_api == super::WireApi::Chat => Err(bad(
            "web_search",
            format!(
                "provider `{}` speaks Chat Completions, which has no hosted web search; \
                 web_search needs a Responses API provider (or web_search = \"disabled\")",
                p.id
            ),
        )),
        _ => Ok(()),
    }
}

/// The scalar top-level keys (and `[sandbox_workspace_write]`): each replaces its default,
/// after the check that it is usable.
fn apply_top_level(c: &mut Config, t: ConfigToml, bad: &Bad) -> Result<(), ConfigError> {
    let non_empty = |key: &str, value: Option<String>| match value {
        Some(v) if v.trim().is_empty() => Err(bad(key, "must not be empty".to_owned())),
        other => Ok(other),
    };

    if let Some(model) = non_empty("model", t.model)? {
        c.model = model;
    }
    if let Some(provider) = non_empty("model_provider", t.model_provider)? {
        c.model_provider = provider;
    }
    c.approval_policy = t.approval_policy.unwrap_or(c.approval_policy);
    c.sandbox_mode = t.sandbox_mode.unwrap_or(c.sandbox_mode);
    if let Some(ww) = t.sandbox_workspace_write {
        apply_workspace_write(c, ww, bad)?;
    }
    c.sandbox_max_processes = positive(
        "sandbox_max_processes",
        t.sandbox_max_processes,
        c.sandbox_max_processes,
        bad,
    )?;
    c.model_context_window = t.model_context_window;
    c.model_auto_compact_token_limit = t.model_auto_compact_token_limit;
    c.model_reasoning_effort = non_empty("model_reasoning_effort", t.model_reasoning_effort)?;
    c.web_search = t.web_search.unwrap_or(c.web_search);
    c.instructions = t.instructions;
    c.developer_instructions = t.developer_instructions;
    c.approval_timeout_ms = positive(
        "approval_timeout_ms",
        t.approval_timeout_ms,
        c.approval_timeout_ms,
        bad,
    )?;
    c.thread_idle_unload_secs = positive(
        "thread_idle_unload_secs",
        t.thread_idle_unload_secs,
        c.thread_idle_unload_secs,
        bad,
    )?;
    c.store = non_empty("store", t.store)?;
    if let Some(url) = &c.store {
        if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
            return Err(bad(
                "store",
                "must be a postgres:// URL (leave it out for the SQLite file in the data directory)"
                    .into(),
            ));
        }
    }
    c.store_lease_ms = positive("store_lease_ms", t.store_lease_ms, c.store_lease_ms, bad)?;
    c.shell_timeout_ms = positive(
        "shell_timeout_ms",
        t.shell_timeout_ms,
        c.shell_timeout_ms,
        bad,
    )?;
    c.shell_output_cap_bytes = bounded(
        "shell_output_cap_bytes",
        t.shell_output_cap_bytes,
        c.shell_output_cap_bytes,
        MAX_OUTPUT_CAP_BYTES,
        bad,
    )?;
    c.shell_model_output_bytes = bounded(
        "shell_model_output_bytes",
        t.shell_model_output_bytes,
        c.shell_model_output_bytes,
        MAX_OUTPUT_CAP_BYTES,
        bad,
    )?;
    Ok(())
}

/// `[model_providers.*]`: a built-in provider is changed field by field, a new one needs a
/// `base_url`; then the selected `model_provider` must be among them.
fn apply_providers(
    c: &mut Config,
    configured: BTreeMap<String, ProviderToml>,
    bad: &Bad,
) -> Result<(), ConfigError> {
    for (id, p) in configured {
        let provider = provider_over(c.providers.remove(&id), &id, p, bad)?;
        c.providers.insert(id, provider);
    }
    if !c.providers.contains_key(&c.model_provider) {
        let known: Vec<&str> = c.providers.keys().map(String::as_str).collect();
        return Err(bad(
            "model_provider",
            format!(
                "unknown provider `{}` (known: {})",
                c.model_provider,
                known.join(", ")
            ),
        ));
    }
    Ok(())
}

/// Both PEM files are needed; a relative path is read from the directory of the file that set it.
fn tls_config(
    t: TlsToml,
    origins: &BTreeMap<String, Origin>,
    bad: &Bad,
) -> Result<TlsConfig, ConfigError> {
    let path = |key: &str, value: Option<PathBuf>| {
        let full = format!("tls.{key}");
        let value = value.ok_or_else(|| bad(&full, "required when [tls] is set".to_owned()))?;
        if value.is_absolute() {
            return Ok(value);
        }
        let base = match origins.get(&full) {
            Some(Origin::File(f)) | Some(Origin::Profile { file: f, .. }) => {
                f.parent().map(|p| p.to_path_buf()).unwrap_or_default()
            }
            _ => std::env::current_dir().unwrap_or_default(),
        };
        Ok(base.join(value))
    };
    Ok(TlsConfig {
        cert_file: path("cert_file", t.cert_file)?,
        key_file: path("key_file", t.key_file)?,
    })
}

/// The label of the layer that set `key`, or of any key below it (for a whole table).
fn origin_label(origins: &BTreeMap<String, Origin>, key: &str) -> String {
    let below = format!("{key}.");
    origins
        .get(key)
        .or_else(|| {
            origins
                .range(below.clone()..)
                .next()
                .filter(|(k, _)| k.starts_with(&below))
                .map(|(_, o)| o)
        })
        .unwrap_or(&Origin::Default)
        .label()
}

pub(super) type Bad<'a> = dyn Fn(&str, String) -> ConfigError + 'a;

/// A limit that must not be zero: a zero cap or timeout would make its feature unusable.
fn positive<T: Copy + Default + PartialEq>(
    key: &str,
    value: Option<T>,
    default: T,
    bad: &Bad,
) -> Result<T, ConfigError> {
    match value {
        Some(v) if v == T::default() => Err(bad(key, "must be greater than 0".to_owned())),
        other => Ok(other.unwrap_or(default)),
    }
}

/// Largest `shell_output_cap_bytes` / `shell_model_output_bytes`: each sizes a buffer every
/// shell command fills (and the model copy is sent with every later request), so a typo of a
/// few digits must be a config error, not an allocation that aborts the daemon.
pub const MAX_OUTPUT_CAP_BYTES: usize = 64 * 1024 * 1024;

/// A [`positive`] limit that must also be at most `max` bytes: it sizes memory, so too large is
/// as unusable as zero.
fn bounded(
    key: &str,
    value: Option<usize>,
    default: usize,
    max: usize,
    bad: &Bad,
) -> Result<usize, ConfigError> {
    match positive(key, value, default, bad)? {
        v if v > max => Err(bad(
            key,
            format!(
                "must be from 1 to {max} ({} MiB), not {v}",
                max / (1024 * 1024)
            ),
        )),
        v => Ok(v),
    }
}

fn apply_workspace_write(
    c: &mut Config,
    ww: WorkspaceWriteToml,
    bad: &Bad,
) -> Result<(), ConfigError> {
    let target = &mut c.sandbox_workspace_write;
    if let Some(roots) = ww.writable_roots {
        if let Some(relative) = roots.iter().find(|r| !r.is_absolute()) {
            return Err(bad(
                "sandbox_workspace_write.writable_roots",
                format!("`{}` is not an absolute path", relative.display()),
            ));
        }
        target.writable_roots = roots;
    }
    target.network_access = ww.network_access.unwrap_or(target.network_access);
    target.exclude_slash_tmp = ww.exclude_slash_tmp.unwrap_or(target.exclude_slash_tmp);
    target.exclude_tmpdir_env_var = ww
        .exclude_tmpdir_env_var
        .unwrap_or(target.exclude_tmpdir_env_var);
    Ok(())
}

/// Provider `id` as `p` says: field by field over `known` (a built-in or configured one), or a
/// new provider, which needs a `base_url`. Also how a thread's own providers are read.
pub(super) fn provider_over(
    known: Option<ProviderConfig>,
    id: &str,
    p: ProviderToml,
    bad: &Bad,
) -> Result<ProviderConfig, ConfigError> {
    let key = join_key("model_providers", id);
    let base = match known {
        Some(known) => known,
        None => {
            let Some(url) = &p.base_url else {
                return Err(bad(
                    &key,
                    "a provider that is not built in needs `base_url`".to_owned(),
                ));
            };
            providers::provider(id, id, url, WireApi::Responses)
        }
    };
    apply_provider(base, p, &key, bad)
}

fn apply_provider(
    mut p: ProviderConfig,
    t: ProviderToml,
    key: &str,
    bad: &Bad,
) -> Result<ProviderConfig, ConfigError> {
    if let Some(name) = t.name {
        p.name = name;
    }
    if let Some(url) = t.base_url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(bad(
                &format!("{key}.base_url"),
                format!("expected an http:// or https:// URL, got {url:?}"),
            ));
        }
        p.base_url = url;
    }
    if let Some(env_key) = t.env_key {
        if env_key.is_empty() || env_key.contains('=') || env_key.contains('\0') {
            return Err(bad(
                &format!("{key}.env_key"),
                format!("expected the name of an environment variable, got {env_key:?}"),
            ));
        }
        p.env_key = Some(env_key);
    }
    p.wire_api = t.wire_api.unwrap_or(p.wire_api);
    p.http_headers.extend(t.http_headers.unwrap_or_default());
    p.query_params.extend(t.query_params.unwrap_or_default());
    p.request_max_retries = t.request_max_retries.unwrap_or(p.request_max_retries);
    p.stream_max_retries = t.stream_max_retries.unwrap_or(p.stream_max_retries);
    p.stream_idle_timeout_ms = positive(
        &format!("{key}.stream_idle_timeout_ms"),
        t.stream_idle_timeout_ms,
        p.stream_idle_timeout_ms,
        bad,
    )?;
    Ok(p)
}

fn model_info(m: ModelToml, key: &str, bad: &Bad) -> Result<ModelInfo, ConfigError> {
    // Codex clients require reasoning efforts to be non-empty strings.
    let empty_effort = m
        .default_reasoning_effort
        .iter()
        .chain(m.supported_reasoning_efforts.iter().flatten())
        .any(|e| e.trim().is_empty());
    if empty_effort {
        return Err(bad(
            key,
            "reasoning efforts must be non-empty strings".to_owned(),
        ));
    }
    if m.input_modalities.as_ref().is_some_and(Vec::is_empty) {
        return Err(bad(
            &format!("{key}.input_modalities"),
            "a model takes at least one kind of input".to_owned(),
        ));
    }
    Ok(ModelInfo {
        input_modalities: m.input_modalities,
        display_name: m.display_name,
        description: m.description,
        hidden: m.hidden.unwrap_or(false),
        default_reasoning_effort: m.default_reasoning_effort,
        supported_reasoning_efforts: m.supported_reasoning_efforts,
    })
}

/// Checks a configured origin: `http://` or `https://`, a host, no path.
pub fn validate_origin(origin: &str) -> Result<(), String> {
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .ok_or_else(|| {
            format!("{origin:?} is not an origin: it must start with http:// or https://")
        })?;
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() || rest.contains('/') || rest.contains('*') || rest.contains(' ') {
        return Err(format!(
            "{origin:?} is not an origin: write scheme://host[:port], no path or wildcard"
        ));
    }
    Ok(())
}
