//! `[hooks]`: commands run at lifecycle points of a session — one array of tables per event
//! (`[[hooks.PreToolUse]]`, named as Claude Code names them) — and `[projects."/path"]`, whose
//! `trust_level = "trusted"` (Codex's key) lets a repository's own `.claude/settings.json`
//! hooks run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::ConfigError;
use super::load::Origin;

/// A hook's timeout when it sets none.
pub const DEFAULT_HOOK_TIMEOUT_MS: u64 = 10_000;
/// The longest hook timeout accepted: an hour.
const MAX_HOOK_TIMEOUT_MS: u64 = 3_600_000;

/// Every lifecycle point a hook can attach to, by its name in config files and on stdin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum HookEvent {
    SessionStart,
    SessionEnd,
    UserPromptSubmit,
    PreModelRequest,
    PreToolUse,
    PermissionRequest,
    PostToolUse,
    PostToolUseFailure,
    Notification,
    SubagentStart,
    SubagentStop,
    PreCompact,
    PostCompact,
    Stop,
}

impl HookEvent {
    pub const ALL: [HookEvent; 14] = [
        HookEvent::SessionStart,
        HookEvent::SessionEnd,
        HookEvent::UserPromptSubmit,
        HookEvent::PreModelRequest,
        HookEvent::PreToolUse,
        HookEvent::PermissionRequest,
        HookEvent::PostToolUse,
        HookEvent::PostToolUseFailure,
        HookEvent::Notification,
        HookEvent::SubagentStart,
        HookEvent::SubagentStop,
        HookEvent::PreCompact,
        HookEvent::PostCompact,
        HookEvent::Stop,
    ];

    pub fn name(self) -> &'static str {
        match self {
            HookEvent::SessionStart => "SessionStart",
            HookEvent::SessionEnd => "SessionEnd",
            HookEvent::UserPromptSubmit => "UserPromptSubmit",
            HookEvent::PreModelRequest => "PreModelRequest",
            HookEvent::PreToolUse => "PreToolUse",
            HookEvent::PermissionRequest => "PermissionRequest",
            HookEvent::PostToolUse => "PostToolUse",
            HookEvent::PostToolUseFailure => "PostToolUseFailure",
            HookEvent::Notification => "Notification",
            HookEvent::SubagentStart => "SubagentStart",
            HookEvent::SubagentStop => "SubagentStop",
            HookEvent::PreCompact => "PreCompact",
            HookEvent::PostCompact => "PostCompact",
            HookEvent::Stop => "Stop",
        }
    }

    pub fn from_name(name: &str) -> Option<HookEvent> {
        HookEvent::ALL.into_iter().find(|e| e.name() == name)
    }
}

/// `[hooks]` as written: `EVENT = [{command, matcher, timeout_ms}, …]` for each event, and
/// `claude_user_settings` (also run the hooks of the user's `~/.claude/settings.json`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HooksToml {
    #[serde(default)]
    pub claude_user_settings: Option<bool>,
    /// Seconds an approval waits unanswered before Notification hooks run.
    #[serde(default)]
    pub notification_after_secs: Option<u64>,
    #[serde(flatten)]
    pub events: BTreeMap<String, toml::Value>,
}

/// One hook: `{command = ["argv", …] | "shell text", matcher = "shell|apply_patch", timeout_ms}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookToml {
    pub command: HookCommandToml,
    pub matcher: Option<String>,
    pub timeout_ms: Option<u64>,
}

/// A hook's command: an argv, or one string run with `sh -c`.
#[derive(Debug, Clone, Deserialize)]
#[serde(
    untagged,
    expecting = "an array of strings (argv) or a string (run with `sh -c`)"
)]
pub enum HookCommandToml {
    Argv(Vec<String>),
    Shell(String),
}

/// `[hooks]`, resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HooksConfig {
    /// Each event's hooks, in the order they run.
    #[serde(flatten)]
    pub events: BTreeMap<HookEvent, Vec<HookConfig>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub claude_user_settings: bool,
    pub notification_after_secs: u64,
}

impl Default for HooksConfig {
    fn default() -> Self {
        HooksConfig {
            events: BTreeMap::new(),
            claude_user_settings: false,
            notification_after_secs: DEFAULT_NOTIFICATION_AFTER_SECS,
        }
    }
}

/// Seconds an unanswered approval waits before Notification hooks run, by default.
pub const DEFAULT_NOTIFICATION_AFTER_SECS: u64 = 60;

impl HooksConfig {
    pub fn is_empty(&self) -> bool {
        *self == HooksConfig::default()
    }

    /// The hooks of one event.
    pub fn of(&self, event: HookEvent) -> &[HookConfig] {
        self.events.get(&event).map_or(&[], Vec::as_slice)
    }
}

/// One hook, resolved: a string command has become `["sh", "-c", text]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HookConfig {
    pub command: Vec<String>,
    /// Tool names joined by `|`, `*`, or a prefix ending in `*` (`mcp__files__*`); `None`
    /// matches everything. Only tool events use it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matcher: Option<String>,
    pub timeout_ms: u64,
    /// The layer that declared the hook (reported with each run).
    #[serde(skip)]
    pub origin: Origin,
}

/// `[projects."/abs/path"]` (Codex's table).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectToml {
    pub trust_level: Option<String>,
}

/// The projects the user trusts: their own hooks (`.claude/settings.json`) may run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Projects {
    #[serde(flatten)]
    pub trusted: BTreeMap<PathBuf, bool>,
}

impl Projects {
    /// Whether `dir` is, or is inside, a trusted project (and not inside an untrusted one
    /// nested closer).
    pub fn trusts(&self, dir: &Path) -> bool {
        dir.ancestors()
            .find_map(|d| self.trusted.get(d).copied())
            .unwrap_or(false)
    }
}

pub(super) fn projects(
    table: BTreeMap<String, ProjectToml>,
    origin: &dyn Fn(&str) -> String,
) -> Result<Projects, ConfigError> {
    let mut trusted = BTreeMap::new();
    for (path, p) in table {
        let key = super::load::join_key("projects", &path);
        let bad = |message: String| ConfigError::BadValue {
            origin: origin(&key),
            key: format!("{key}.trust_level"),
            message,
        };
        if !Path::new(&path).is_absolute() {
            return Err(ConfigError::BadValue {
                origin: origin(&key),
                key,
                message: "a project is named by its absolute path".into(),
            });
        }
        let level = match p.trust_level.as_deref() {
            Some("trusted") => true,
            Some("untrusted") | None => false,
            Some(other) => {
                return Err(bad(format!(
                    "expected \"trusted\" or \"untrusted\", got {other:?}"
                )))
            }
        };
        trusted.insert(PathBuf::from(path), level);
    }
    Ok(Projects { trusted })
}

/// `[hooks]`: every event's list checked hook by hook, each remembering the layer that set it.
pub(super) fn hooks_config(
    h: HooksToml,
    origins: &BTreeMap<String, Origin>,
) -> Result<HooksConfig, ConfigError> {
    let mut events = BTreeMap::new();
    for (name, value) in h.events {
        let key = format!("hooks.{name}");
        let origin = origins.get(&key).cloned().unwrap_or(Origin::Default);
        let Some(event) = HookEvent::from_name(&name) else {
            return Err(ConfigError::UnknownKey {
                origin: origin.label(),
                key,
            });
        };
        let list: Vec<HookToml> =
            serde_path_to_error::deserialize(value).map_err(|e| ConfigError::BadValue {
                origin: origin.label(),
                key: format!("{key}{}", path_suffix(&e.path().to_string())),
                message: e.inner().to_string(),
            })?;
        let hooks = list
            .into_iter()
            .enumerate()
            .map(|(i, hook)| hook_config(hook, &format!("{key}[{i}]"), &origin))
            .collect::<Result<Vec<_>, _>>()?;
        events.insert(event, hooks);
    }
    let notification_after_secs = match h.notification_after_secs {
        Some(0) => {
            return Err(ConfigError::BadValue {
                origin: origins
                    .get("hooks.notification_after_secs")
                    .map_or_else(|| Origin::Default.label(), Origin::label),
                key: "hooks.notification_after_secs".into(),
                message: "must be greater than 0".into(),
            })
        }
        Some(s) => s.min(24 * 3600),
        None => DEFAULT_NOTIFICATION_AFTER_SECS,
    };
    Ok(HooksConfig {
        events,
        claude_user_settings: h.claude_user_settings.unwrap_or(false),
        notification_after_secs,
    })
}

fn path_suffix(path: &str) -> String {
    if path == "." {
        String::new()
    } else if path.starts_with('[') {
        path.to_owned()
    } else {
        format!(".{path}")
    }
}

/// Checks one hook: a runnable command, a usable matcher, a timeout above zero.
fn hook_config(h: HookToml, key: &str, origin: &Origin) -> Result<HookConfig, ConfigError> {
    let bad = |field: &str, message: String| ConfigError::BadValue {
        origin: origin.label(),
        key: format!("{key}.{field}"),
        message,
    };
    let command = match h.command {
        HookCommandToml::Argv(argv) => {
            if argv.first().is_none_or(|p| p.trim().is_empty()) {
                return Err(bad(
                    "command",
                    "the argv needs a program as its first element".into(),
                ));
            }
            argv
        }
        HookCommandToml::Shell(text) => {
            if text.trim().is_empty() {
                return Err(bad("command", "must not be empty".into()));
            }
            vec!["sh".to_owned(), "-c".to_owned(), text]
        }
    };
    if let Some(m) = &h.matcher {
        let names_ok = m.split('|').all(|name| {
            let name = name.trim();
            let name = name.strip_suffix('*').unwrap_or(name);
            !name.contains('*') && (!name.is_empty() || m.trim() == "*")
        });
        if !names_ok {
            return Err(bad(
                "matcher",
                format!(
                    "expected `*`, tool names separated by `|`, or a prefix ending in `*`, got {m:?}"
                ),
            ));
        }
    }
    let timeout_ms = match h.timeout_ms {
        Some(0) => return Err(bad("timeout_ms", "must be greater than 0".into())),
        Some(t) if t > MAX_HOOK_TIMEOUT_MS => {
            return Err(bad(
                "timeout_ms",
                format!("at most {MAX_HOOK_TIMEOUT_MS} (an hour)"),
            ))
        }
        Some(t) => t,
        None => DEFAULT_HOOK_TIMEOUT_MS,
    };
    Ok(HookConfig {
        command,
        matcher: h.matcher,
        timeout_ms,
        origin: origin.clone(),
    })
}
