//! `[mcp_servers.NAME]`: MCP servers whose tools the model is offered, with Codex's keys so a
//! Codex config works as it is. The same table arrives per thread as `thread/start {config:
//! {"mcp_servers": {…}}}` ([`mcp_servers_from_json`]).
//!
//! A server is either a command (stdio) or a URL (streamable HTTP); keys of the other kind are
//! an error naming the key, as is anything unusable (an empty command, a URL that is not
//! http(s), a zero or absurd timeout, a name outside `[A-Za-z0-9_-]`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize, Serializer};

use super::error::ConfigError;
use super::REDACTED;

/// Start-up and tool timeouts when the config gives none (Codex's).
pub const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_TOOL_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest timeout accepted: a day. Longer is a typo, and large numbers must not reach
/// `Duration` arithmetic.
const MAX_TIMEOUT_SECS: f64 = 24.0 * 3600.0;
/// Servers one config (or one thread) may name.
pub const MAX_SERVERS: usize = 64;

/// One server as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpServerToml {
    pub command: Option<String>,
    pub args: Option<Vec<String>>,
    pub env: Option<BTreeMap<String, String>>,
    pub env_vars: Option<Vec<String>>,
    pub cwd: Option<PathBuf>,
    pub url: Option<String>,
    pub bearer_token_env_var: Option<String>,
    pub http_headers: Option<BTreeMap<String, String>>,
    pub env_http_headers: Option<BTreeMap<String, String>>,
    pub enabled: Option<bool>,
    pub required: Option<bool>,
    pub startup_timeout_sec: Option<f64>,
    pub startup_timeout_ms: Option<u64>,
    pub tool_timeout_sec: Option<f64>,
    pub enabled_tools: Option<Vec<String>>,
    pub disabled_tools: Option<Vec<String>>,
}

/// One server, checked.
#[derive(Clone, PartialEq, Serialize)]
pub struct McpServerConfig {
    /// The key in `[mcp_servers]`.
    #[serde(skip)]
    pub name: String,
    #[serde(flatten)]
    pub transport: McpTransport,
    pub enabled: bool,
    /// A turn fails while this server is not running.
    pub required: bool,
    #[serde(rename = "startup_timeout_sec", serialize_with = "secs")]
    pub startup_timeout: Duration,
    #[serde(rename = "tool_timeout_sec", serialize_with = "secs")]
    pub tool_timeout: Duration,
    /// Only these tools are offered (all when `None`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled_tools: Option<Vec<String>>,
    /// These tools are never offered.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub disabled_tools: Vec<String>,
}

/// How to reach a server.
#[derive(Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum McpTransport {
    /// A child process speaking MCP on its stdin and stdout.
    Stdio {
        command: String,
        args: Vec<String>,
        /// Set in the child's environment (values shown redacted).
        #[serde(serialize_with = "all_redacted")]
        env: BTreeMap<String, String>,
        /// Names passed through from the daemon's environment.
        env_vars: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        cwd: Option<PathBuf>,
    },
    /// Streamable HTTP.
    Http {
        url: String,
        /// The environment variable holding the bearer token, read at each connect.
        #[serde(skip_serializing_if = "Option::is_none")]
        bearer_token_env_var: Option<String>,
        #[serde(serialize_with = "some_redacted")]
        http_headers: BTreeMap<String, String>,
        /// Header name → environment variable holding its value.
        env_http_headers: BTreeMap<String, String>,
    },
}

impl McpServerConfig {
    /// Whether the config offers this tool of the server.
    pub fn offers(&self, tool: &str) -> bool {
        let enabled = self
            .enabled_tools
            .as_ref()
            .is_none_or(|list| list.iter().any(|t| t == tool));
        enabled && !self.disabled_tools.iter().any(|t| t == tool)
    }

    pub fn is_stdio(&self) -> bool {
        matches!(self.transport, McpTransport::Stdio { .. })
    }
}

impl fmt::Debug for McpServerConfig {
    /// The serialized (redacted) form: a log line must not carry an `env` secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = serde_json::to_string(self).unwrap_or_default();
        write!(f, "McpServerConfig({}: {shown})", self.name)
    }
}

/// Checks every server of one `[mcp_servers]` table; `origin` names where it came from.
pub fn resolve_servers(
    table: BTreeMap<String, McpServerToml>,
    origin: &dyn Fn(&str) -> String,
) -> Result<BTreeMap<String, McpServerConfig>, ConfigError> {
    if table.len() > MAX_SERVERS {
        return Err(ConfigError::BadValue {
            origin: origin("mcp_servers"),
            key: "mcp_servers".into(),
            message: format!("at most {MAX_SERVERS} servers, not {}", table.len()),
        });
    }
    table
        .into_iter()
        .map(|(name, t)| Ok((name.clone(), resolve_server(name, t, origin)?)))
        .collect()
}

fn resolve_server(
    name: String,
    t: McpServerToml,
    origin: &dyn Fn(&str) -> String,
) -> Result<McpServerConfig, ConfigError> {
    let prefix = super::load::join_key("mcp_servers", &name);
    let bad = |key: &str, message: String| {
        let key = if key.is_empty() {
            prefix.clone()
        } else {
            format!("{prefix}.{key}")
        };
        ConfigError::BadValue {
            origin: origin(&key),
            message,
            key,
        }
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(bad(
            "",
            "a server's name uses letters, digits, `_` and `-` only".into(),
        ));
    }
    let transport = transport(&t, &bad)?;
    let startup_timeout = match (t.startup_timeout_sec, t.startup_timeout_ms) {
        (Some(_), Some(_)) => {
            return Err(bad(
                "startup_timeout_ms",
                "give startup_timeout_sec or startup_timeout_ms, not both".into(),
            ))
        }
        (Some(s), None) => timeout(s, "startup_timeout_sec", &bad)?,
        (None, Some(ms)) => timeout(ms as f64 / 1000.0, "startup_timeout_ms", &bad)?,
        (None, None) => DEFAULT_STARTUP_TIMEOUT,
    };
    let tool_timeout = match t.tool_timeout_sec {
        Some(s) => timeout(s, "tool_timeout_sec", &bad)?,
        None => DEFAULT_TOOL_TIMEOUT,
    };
    Ok(McpServerConfig {
        name,
        transport,
        enabled: t.enabled.unwrap_or(true),
        required: t.required.unwrap_or(false),
        startup_timeout,
        tool_timeout,
        enabled_tools: t.enabled_tools,
        disabled_tools: t.disabled_tools.unwrap_or_default(),
    })
}

type Bad<'a> = dyn Fn(&str, String) -> ConfigError + 'a;

fn transport(t: &McpServerToml, bad: &Bad<'_>) -> Result<McpTransport, ConfigError> {
    let stdio_keys = [
        ("args", t.args.is_some()),
        ("env", t.env.is_some()),
        ("env_vars", t.env_vars.is_some()),
        ("cwd", t.cwd.is_some()),
    ];
    let http_keys = [
        ("bearer_token_env_var", t.bearer_token_env_var.is_some()),
        ("http_headers", t.http_headers.is_some()),
        ("env_http_headers", t.env_http_headers.is_some()),
    ];
    match (&t.command, &t.url) {
        (Some(command), None) => {
            if let Some((key, _)) = http_keys.iter().find(|(_, set)| *set) {
                return Err(bad(key, "only for a server with `url`".into()));
            }
            if command.trim().is_empty() {
                return Err(bad("command", "must not be empty".into()));
            }
            Ok(McpTransport::Stdio {
                command: command.clone(),
                args: t.args.clone().unwrap_or_default(),
                env: t.env.clone().unwrap_or_default(),
                env_vars: t.env_vars.clone().unwrap_or_default(),
                cwd: t.cwd.clone(),
            })
        }
        (None, Some(url)) => {
            if let Some((key, _)) = stdio_keys.iter().find(|(_, set)| *set) {
                return Err(bad(key, "only for a server with `command`".into()));
            }
            let parsed = reqwest::Url::parse(url).map_err(|e| bad("url", e.to_string()))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(bad("url", "must be an http:// or https:// URL".into()));
            }
            Ok(McpTransport::Http {
                url: url.clone(),
                bearer_token_env_var: t.bearer_token_env_var.clone(),
                http_headers: t.http_headers.clone().unwrap_or_default(),
                env_http_headers: t.env_http_headers.clone().unwrap_or_default(),
            })
        }
        (Some(_), Some(_)) => Err(bad("url", "give `command` or `url`, not both".into())),
        (None, None) => Err(bad(
            "",
            "needs `command` (a stdio server) or `url` (streamable HTTP)".into(),
        )),
    }
}

fn timeout(secs: f64, key: &str, bad: &Bad<'_>) -> Result<Duration, ConfigError> {
    if !secs.is_finite() || secs <= 0.0 || secs > MAX_TIMEOUT_SECS {
        return Err(bad(
            key,
            format!("must be more than 0 and at most {MAX_TIMEOUT_SECS} seconds"),
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// `mcp_servers` from a thread's `config` (JSON): either `{"mcp_servers": {NAME: {…}}}` or
/// dotted keys (`"mcp_servers.NAME": {…}`, `"mcp_servers.NAME.command": "…"`), as Codex's
/// per-thread overrides are written. Other keys are not this function's.
pub fn mcp_servers_from_json(
    config: &serde_json::Map<String, serde_json::Value>,
) -> Result<BTreeMap<String, McpServerConfig>, ConfigError> {
    let mut tree = serde_json::Map::new();
    for (key, value) in config {
        if key == "mcp_servers" || key.starts_with("mcp_servers.") {
            insert_dotted(&mut tree, key, value.clone());
        }
    }
    let Some(servers) = tree.remove("mcp_servers") else {
        return Ok(BTreeMap::new());
    };
    let origin = |_: &str| "thread/start config".to_owned();
    let table: BTreeMap<String, McpServerToml> = serde_path_to_error::deserialize(servers)
        .map_err(|e| ConfigError::BadValue {
            origin: origin(""),
            key: format!("mcp_servers.{}", e.path()),
            message: e.inner().to_string(),
        })?;
    resolve_servers(table, &origin)
}

/// Puts `value` at the dotted `key` of `tree`; an object landing on an object is merged into
/// it (one level), anything else replaces what was there.
pub(super) fn insert_dotted(
    tree: &mut serde_json::Map<String, serde_json::Value>,
    key: &str,
    value: serde_json::Value,
) {
    use serde_json::Value;
    match key.split_once('.') {
        None => match (tree.get_mut(key), value) {
            (Some(Value::Object(existing)), Value::Object(obj)) => existing.extend(obj),
            (_, value) => {
                tree.insert(key.to_owned(), value);
            }
        },
        Some((head, rest)) => {
            let slot = tree
                .entry(head.to_owned())
                .or_insert_with(|| Value::Object(Default::default()));
            if !slot.is_object() {
                *slot = Value::Object(Default::default());
            }
            if let Value::Object(inner) = slot {
                insert_dotted(inner, rest, value);
            }
        }
    }
}

fn secs<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

fn all_redacted<S: Serializer>(map: &BTreeMap<String, String>, s: S) -> Result<S::Ok, S::Error> {
    let shown: BTreeMap<&str, &str> = map.keys().map(|k| (k.as_str(), REDACTED)).collect();
    shown.serialize(s)
}

fn some_redacted<S: Serializer>(map: &BTreeMap<String, String>, s: S) -> Result<S::Ok, S::Error> {
    super::serialize_redacted(map, s)
}
