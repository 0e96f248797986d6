//! Layering: read the file, pick the profile, apply `-c` overrides, and resolve the merged
//! table into a [`Config`], remembering which layer set each key.
//!
//! Layers are merged as TOML tables (tables merge key by key, anything else replaces), which
//! is what makes `-c model_providers.ollama.base_url=…` change one field of a provider and
//! keep the rest. Only after merging are defaults filled in and cross-key rules checked (the
//! selected provider exists, a new provider has a `base_url`; see `resolve.rs`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use toml::{Table, Value};

use super::error::ConfigError;
use super::file::{self, ConfigToml};
use super::overrides::{self, Override};
use super::resolve::resolve;
use super::Config;

/// Where to look and what to apply on top; built from the command line. No `Debug`: an
/// override's value may be a secret (`-c model_providers.x.http_headers.Authorization=…`).
#[derive(Clone, Default)]
pub struct LoadOptions {
    /// `--config PATH`: must exist. When `None`, `config_dir/config.toml` is read if present.
    pub config_path: Option<PathBuf>,
    /// agentd's config directory (`$XDG_CONFIG_HOME/agentd`).
    pub config_dir: PathBuf,
    /// `-c KEY=VALUE` arguments, in command-line order (later ones win).
    pub overrides: Vec<String>,
    /// `--profile NAME`.
    pub profile: Option<String>,
}

/// The layer a key's value came from. `Debug` shows the [`Display`](fmt::Display) form, so
/// logging an origin never prints an override's value.
#[derive(Clone, PartialEq, Eq)]
pub enum Origin {
    /// Built into agentd.
    Default,
    /// The top level of the config file.
    File(PathBuf),
    /// `[profiles.NAME]` in the config file.
    Profile { name: String, file: PathBuf },
    /// The command line: a `-c` override (`arg` is `-c KEY=VALUE` as typed) or `--profile`.
    CommandLine { arg: String },
}

impl Origin {
    /// How an error names this layer: the file path, or the argument as typed.
    pub fn label(&self) -> String {
        match self {
            Origin::Default => "built-in defaults".to_owned(),
            Origin::File(path) => path.display().to_string(),
            Origin::Profile { name, file } => format!("{} (profile {name})", file.display()),
            Origin::CommandLine { arg } => arg.clone(),
        }
    }
}

/// The short form shown to people: `default`, `/path/config.toml`, `profile NAME (/path)`,
/// `-c override` or `--profile`. It never includes an override's value, which may be a secret.
impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File(path) => write!(f, "{}", path.display()),
            Origin::Profile { name, file } => write!(f, "profile {name} ({})", file.display()),
            Origin::CommandLine { arg } if arg.starts_with("-c ") => f.write_str("-c override"),
            Origin::CommandLine { .. } => f.write_str("--profile"),
        }
    }
}

impl fmt::Debug for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Origin({self})")
    }
}

/// The config plus what `config/read` reports about it.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub config: Config,
    /// For every leaf of [`LoadedConfig::redacted_json`], as a dotted key, the layer that set
    /// it.
    pub origins: BTreeMap<String, Origin>,
    pub config_dir: PathBuf,
    /// The file that was read; `None` when the default file does not exist.
    pub file: Option<PathBuf>,
    /// SHA-256 of the file's bytes, so a client can tell the file changed between starts.
    pub file_version: Option<String>,
    /// SHA-256 of the command-line layer (`-c` arguments and `--profile`).
    pub command_line_version: String,
}

impl LoadedConfig {
    /// The effective config as `config/read` shows it: file key names, secrets redacted.
    pub fn redacted_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.config).unwrap_or_else(|e| {
            // Only a non-UTF-8 path could fail, and every path here came from TOML text.
            tracing::error!(error = %e, "cannot serialize the config");
            serde_json::Value::Object(Default::default())
        })
    }

    /// The fingerprint of the layer an origin names.
    pub fn layer_version(&self, origin: &Origin) -> String {
        match origin {
            Origin::Default => sha256_hex(b""),
            Origin::File(_) | Origin::Profile { .. } => {
                self.file_version.clone().unwrap_or_default()
            }
            Origin::CommandLine { .. } => self.command_line_version.clone(),
        }
    }
}

/// Reads the config file and layers the profile and the `-c` overrides on it (module docs).
pub fn load(opts: &LoadOptions) -> Result<LoadedConfig, ConfigError> {
    let (path, required) = config_file_path(opts);
    let text = read_file(&path, required)?;
    let (file_table, file_toml) = parse_file(text.as_deref(), &path)?;
    let overrides = parse_overrides(&opts.overrides)?;

    let file_origin = Origin::File(path.clone());
    let profile = pick_profile(opts, &overrides, &file_toml, &file_origin);
    let (merged, origins) = merge_layers(
        file_table,
        &path,
        text.is_some(),
        &file_toml,
        profile.as_ref(),
        &overrides,
    )?;

    // Each part was valid alone and merging keeps types, so this fails only on a bug; say where.
    let merged = file::validate(merged, "the merged config")?;
    let mut config = resolve(merged, &origins)?;
    config.profile = profile.map(|(name, _)| name);

    let mut loaded = LoadedConfig {
        config,
        origins: BTreeMap::new(),
        config_dir: opts.config_dir.clone(),
        file: text.as_ref().map(|_| path.clone()),
        file_version: text.as_deref().map(|t| sha256_hex(t.as_bytes())),
        command_line_version: sha256_hex(
            format!("{:?}\n{:?}", opts.profile, opts.overrides).as_bytes(),
        ),
    };
    loaded.origins = report_origins(&loaded, &origins);
    Ok(loaded)
}

/// The file to read and whether it must exist: `--config` must, the default file may be absent.
fn config_file_path(opts: &LoadOptions) -> (PathBuf, bool) {
    match &opts.config_path {
        // Absolute, because origins report it to clients that may run elsewhere.
        Some(p) => (std::path::absolute(p).unwrap_or_else(|_| p.clone()), true),
        None => (opts.config_dir.join("config.toml"), false),
    }
}

/// The file as a raw table (for merging) and as validated keys (for the profile lookup); an
/// absent file is an empty layer.
fn parse_file(text: Option<&str>, path: &Path) -> Result<(Table, ConfigToml), ConfigError> {
    let origin_label = path.display().to_string();
    Ok(match text {
        Some(text) => {
            let table: Table = toml::from_str(text).map_err(|e| ConfigError::Syntax {
                origin: origin_label.clone(),
                message: e.to_string().trim_end().to_owned(),
            })?;
            let parsed = file::validate(table.clone(), &origin_label)?;
            (table, parsed)
        }
        None => (Table::new(), ConfigToml::default()),
    })
}

/// Parses and validates every `-c` argument on its own, so an error names the one at fault.
fn parse_overrides(texts: &[String]) -> Result<Vec<Override>, ConfigError> {
    texts
        .iter()
        .map(|text| {
            let o = overrides::parse(text)?;
            if o.table.contains_key("profiles") {
                return Err(ConfigError::BadOverride {
                    text: text.clone(),
                    message: "profiles are defined in the config file; pick one with --profile"
                        .to_owned(),
                });
            }
            file::validate(o.table.clone(), &format!("-c {text}"))?;
            Ok(o)
        })
        .collect()
}

/// The profile: `--profile`, else the last `-c profile=…`, else the file's `profile` key; with
/// the layer that chose it.
fn pick_profile(
    opts: &LoadOptions,
    overrides: &[Override],
    file_toml: &ConfigToml,
    file_origin: &Origin,
) -> Option<(String, Origin)> {
    match &opts.profile {
        Some(name) => Some((
            name.clone(),
            Origin::CommandLine {
                arg: format!("--profile {name}"),
            },
        )),
        None => overrides
            .iter()
            .rev()
            .find_map(|o| match o.table.get("profile") {
                Some(Value::String(name)) => Some((
                    name.clone(),
                    Origin::CommandLine {
                        arg: format!("-c {}", o.text),
                    },
                )),
                _ => None,
            })
            .or_else(|| file_toml.profile.clone().map(|n| (n, file_origin.clone()))),
    }
}

/// Merges file, profile and overrides, in that order, into one table, with the layer that set
/// each leaf. `file_exists` is for an unknown profile's error, which says where it looked.
fn merge_layers(
    mut file_table: Table,
    path: &Path,
    file_exists: bool,
    file_toml: &ConfigToml,
    profile: Option<&(String, Origin)>,
    overrides: &[Override],
) -> Result<(Table, BTreeMap<String, Origin>), ConfigError> {
    let mut origins = BTreeMap::new();
    let file_origin = Origin::File(path.to_owned());
    let profiles = file_table.remove("profiles");
    file_table.remove("profile");
    let mut merged = Table::new();
    merge(&mut merged, file_table, "", &file_origin, &mut origins);
    if let Some((name, from)) = profile {
        let table = match &profiles {
            Some(Value::Table(all)) => all.get(name),
            _ => None,
        };
        let Some(Value::Table(table)) = table else {
            return Err(unknown_profile(
                name,
                file_exists.then_some(path),
                file_toml,
            ));
        };
        let origin = Origin::Profile {
            name: name.clone(),
            file: path.to_owned(),
        };
        merge(&mut merged, table.clone(), "", &origin, &mut origins);
        origins.insert("profile".to_owned(), from.clone());
    }
    for o in overrides {
        let mut table = o.table.clone();
        table.remove("profile");
        let origin = Origin::CommandLine {
            arg: format!("-c {}", o.text),
        };
        merge(&mut merged, table, "", &origin, &mut origins);
    }
    Ok((merged, origins))
}

/// Report exactly the keys of the effective config: those a layer set keep that layer, the
/// rest are defaults.
fn report_origins(
    loaded: &LoadedConfig,
    origins: &BTreeMap<String, Origin>,
) -> BTreeMap<String, Origin> {
    let mut leaves = Vec::new();
    collect_leaves(&loaded.redacted_json(), "", &mut leaves);
    leaves
        .into_iter()
        .map(|key| {
            let origin = origins.get(&key).cloned().unwrap_or(Origin::Default);
            (key, origin)
        })
        .collect()
}

fn read_file(path: &Path, required: bool) -> Result<Option<String>, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Ok(None),
        Err(source) => Err(ConfigError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

fn unknown_profile(name: &str, file: Option<&Path>, parsed: &ConfigToml) -> ConfigError {
    let known: Vec<&str> = parsed
        .profiles
        .iter()
        .flatten()
        .map(|(n, _)| n.as_str())
        .collect();
    let detail = match (file, known.is_empty()) {
        (None, _) => "there is no config file to define it".to_owned(),
        (Some(f), true) => format!("{} defines no profiles", f.display()),
        (Some(f), false) => format!("{} defines {}", f.display(), known.join(", ")),
    };
    ConfigError::UnknownProfile {
        name: name.to_owned(),
        detail,
    }
}

/// Merges `layer` into `acc`, recording `origin` for every leaf it sets.
fn merge(
    acc: &mut Table,
    layer: Table,
    prefix: &str,
    origin: &Origin,
    origins: &mut BTreeMap<String, Origin>,
) {
    for (key, value) in layer {
        let path = join_key(prefix, &key);
        match (acc.get_mut(&key), value) {
            (Some(Value::Table(existing)), Value::Table(inner)) => {
                merge(existing, inner, &path, origin, origins);
            }
            (_, Value::Table(inner)) => {
                let mut fresh = Table::new();
                merge(&mut fresh, inner, &path, origin, origins);
                acc.insert(key, Value::Table(fresh));
            }
            (_, value) => {
                origins.insert(path, origin.clone());
                acc.insert(key, value);
            }
        }
    }
}

/// A dotted key as TOML would write it: segments that are not bare keys are quoted, so a
/// provider id or header name containing a dot stays one segment.
pub(super) fn join_key(prefix: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let segment = if bare {
        key.to_owned()
    } else {
        format!("{key:?}")
    };
    if prefix.is_empty() {
        segment
    } else {
        format!("{prefix}.{segment}")
    }
}

fn collect_leaves(value: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                collect_leaves(v, &join_key(prefix, k), out);
            }
        }
        _ if !prefix.is_empty() => out.push(prefix.to_owned()),
        _ => {}
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
