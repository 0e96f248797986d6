//! `[agents]`: sub-agents (`spawn_agent` and friends). How many a root thread may have open,
//! how deep they may nest, and the roles `agent_type` picks from (`[agents.roles.NAME]`, besides
//! the built-in `default`, `explorer` and `worker`).

use std::collections::BTreeMap;

use agentd_protocol::{AskForApproval, SandboxMode};
use serde::{Deserialize, Serialize};

use super::error::ConfigError;

pub const DEFAULT_MAX_THREADS: u32 = 6;
pub const DEFAULT_MAX_DEPTH: u32 = 1;
/// Hard caps: numbers from a config file never size a thread tree without bound.
const MAX_MAX_THREADS: u32 = 64;
const MAX_MAX_DEPTH: u32 = 8;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentsToml {
    pub max_threads: Option<u32>,
    pub max_depth: Option<u32>,
    pub roles: Option<BTreeMap<String, RoleToml>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleToml {
    pub description: Option<String>,
    pub instructions: Option<String>,
    pub model: Option<String>,
    pub sandbox_mode: Option<SandboxMode>,
    pub approval_policy: Option<AskForApproval>,
    /// Only these tools (agentd's names, `mcp__…` for MCP tools); all when absent.
    pub tools: Option<Vec<String>>,
}

/// `[agents]`, resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentsConfig {
    /// Open children (not yet closed) per root thread.
    pub max_threads: u32,
    /// How deep children may nest (1: children cannot spawn).
    pub max_depth: u32,
    pub roles: BTreeMap<String, Role>,
}

/// What a child of a role runs with; `None` inherits the parent's.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Role {
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sandbox_mode: Option<SandboxMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_policy: Option<AskForApproval>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<String>>,
}

impl Default for AgentsConfig {
    fn default() -> Self {
        AgentsConfig {
            max_threads: DEFAULT_MAX_THREADS,
            max_depth: DEFAULT_MAX_DEPTH,
            roles: built_in_roles(),
        }
    }
}

impl AgentsConfig {
    /// The role `name`, or `default` when none is given.
    pub fn role(&self, name: Option<&str>) -> Option<&Role> {
        self.roles.get(name.unwrap_or("default"))
    }
}

fn built_in_roles() -> BTreeMap<String, Role> {
    BTreeMap::from([
        (
            "default".to_owned(),
            Role {
                description: "works like its parent".into(),
                ..Role::default()
            },
        ),
        (
            "explorer".to_owned(),
            Role {
                description: "reads and reports; cannot change files".into(),
                instructions: Some(
                    "You are an explorer: investigate, read and run read-only commands, then \
                     report what you found concisely. Do not change files."
                        .into(),
                ),
                sandbox_mode: Some(SandboxMode::ReadOnly),
                ..Role::default()
            },
        ),
        (
            "worker".to_owned(),
            Role {
                description: "does a well-defined piece of work and reports".into(),
                instructions: Some(
                    "You are a worker: do the task you were given, completely, then report \
                     briefly what you changed and how you checked it."
                        .into(),
                ),
                ..Role::default()
            },
        ),
    ])
}

pub(super) fn agents_config(
    t: AgentsToml,
    origin: &dyn Fn(&str) -> String,
) -> Result<AgentsConfig, ConfigError> {
    let bad = |key: &str, message: String| ConfigError::BadValue {
        origin: origin(key),
        key: key.to_owned(),
        message,
    };
    let mut c = AgentsConfig::default();
    if let Some(n) = t.max_threads {
        if n == 0 || n > MAX_MAX_THREADS {
            return Err(bad(
                "agents.max_threads",
                format!("must be 1 to {MAX_MAX_THREADS}"),
            ));
        }
        c.max_threads = n;
    }
    if let Some(n) = t.max_depth {
        if n > MAX_MAX_DEPTH {
            return Err(bad(
                "agents.max_depth",
                format!("must be 0 to {MAX_MAX_DEPTH}"),
            ));
        }
        c.max_depth = n;
    }
    for (name, r) in t.roles.unwrap_or_default() {
        let key = super::load::join_key("agents.roles", &name);
        if name.is_empty()
            || !name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
        {
            return Err(bad(
                &key,
                "a role's name uses letters, digits, `_` and `-`".into(),
            ));
        }
        let base = c.roles.remove(&name).unwrap_or_default();
        c.roles.insert(
            name,
            Role {
                description: r.description.unwrap_or(base.description),
                instructions: r.instructions.or(base.instructions),
                model: r.model.or(base.model),
                sandbox_mode: r.sandbox_mode.or(base.sandbox_mode),
                approval_policy: r.approval_policy.or(base.approval_policy),
                tools: r.tools.or(base.tools),
            },
        );
    }
    Ok(c)
}
