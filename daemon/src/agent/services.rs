//! What every turn needs from the daemon: the config, one HTTP client per provider (so
//! connections are pooled across turns and threads), the exec policy, the sandbox, the MCP
//! servers and the tools.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::subagents::AgentControl;
use crate::config::{mcp_servers_from_json, thread_providers, Config};
use crate::mcp::McpManager;
use crate::model::{ModelClient, ModelError};
use crate::port::ThreadSettings;
use crate::sandbox::Sandbox;
use crate::tools::execpolicy::{ExecPolicy, PolicyError};
use crate::tools::{ShellLimits, ToolRegistry};

pub struct AgentServices {
    pub config: Config,
    clients: Mutex<HashMap<String, Arc<ModelClient>>>,
    /// Rules from the config dir, loaded (and validated) at start.
    global_policy: ExecPolicy,
    pub approval_timeout: Duration,
    /// How long an approval waits before Notification hooks hear nobody answered.
    pub notify_after: Duration,
    pub shell_limits: ShellLimits,
    /// Confinement for commands: probed at start (in the background), used by the shell tool.
    pub sandbox: Arc<Sandbox>,
    /// The MCP servers (the config's and each loaded thread's); started by the host.
    pub mcp: Arc<McpManager>,
    /// Sub-agents: the thread layer, once it exists (a weak link: it owns these services).
    agents: std::sync::OnceLock<std::sync::Weak<dyn AgentControl>>,
    /// Persistent memory, once the daemon has started it (its summary joins the instructions).
    memory: std::sync::OnceLock<Arc<crate::memory::Memory>>,
}

impl AgentServices {
    /// Loads the global exec policy from `config_dir/rules`; a malformed rule file is an error
    /// naming the file and line, so the daemon refuses to start rather than run without it.
    pub fn new(config: Config, config_dir: &Path) -> Result<Self, PolicyError> {
        let global_policy = ExecPolicy::load(&[config_dir.join("rules")])?;
        let approval_timeout = Duration::from_millis(config.approval_timeout_ms);
        let shell_limits = ShellLimits {
            default_timeout: Duration::from_millis(config.shell_timeout_ms),
            client_output_cap: config.shell_output_cap_bytes,
            model_output_cap: config.shell_model_output_bytes,
        };
        let sandbox = Sandbox::start(
            config.sandbox_workspace_write.clone(),
            config.sandbox_max_processes,
        );
        let notify_after = Duration::from_secs(config.hooks.notification_after_secs);
        let mcp = McpManager::new(&config.mcp_servers, config.default_cwd.clone());
        Ok(AgentServices {
            agents: std::sync::OnceLock::new(),
            memory: std::sync::OnceLock::new(),
            mcp,
            config,
            clients: Mutex::new(HashMap::new()),
            global_policy,
            approval_timeout,
            notify_after,
            shell_limits,
            sandbox,
        })
    }

    /// The client for a provider id, created on first use.
    pub fn client_for(&self, provider_id: &str) -> Result<Arc<ModelClient>, ModelError> {
        let mut clients = self
            .clients
            .lock()
            .map_err(|_| ModelError::Config("provider client cache poisoned".into()))?;
        if let Some(c) = clients.get(provider_id) {
            return Ok(c.clone());
        }
        let provider = self
            .config
            .provider(provider_id)
            .ok_or_else(|| ModelError::Config(format!("unknown model provider `{provider_id}`")))?;
        let client = Arc::new(ModelClient::new(provider.into())?);
        clients.insert(provider_id.to_owned(), client.clone());
        Ok(client)
    }

    /// The client for a turn's provider: the thread's own when its `config` defined that id
    /// (admin only; built per turn, since no other thread may use it), else the daemon's.
    pub fn client_for_thread(
        &self,
        provider_id: &str,
        settings: &ThreadSettings,
    ) -> Result<Arc<ModelClient>, ModelError> {
        if let Some(raw) = &settings.model_providers {
            let own = thread_providers(raw, &self.config)
                .map_err(|e| ModelError::Config(e.to_string()))?;
            if let Some(provider) = own.get(provider_id) {
                return Ok(Arc::new(ModelClient::new(provider.into())?));
            }
        }
        self.client_for(provider_id)
    }

    /// The global rules plus the project's `.agentd/rules` under `cwd`. A malformed project
    /// file is logged and skipped: the project is not the daemon's to refuse to start over.
    /// Read on a blocking thread: the project's files are the project's (many, large, or a
    /// slow disk), and the daemon's one worker serves every other thread meanwhile.
    pub async fn exec_policy(&self, cwd: &Path) -> ExecPolicy {
        let mut policy = self.global_policy.clone();
        let dir = project_rules_dir(cwd);
        let loaded = tokio::task::spawn_blocking(move || ExecPolicy::load(&[dir])).await;
        match loaded {
            Ok(Ok(project)) => policy.merge(project),
            Ok(Err(e)) => tracing::warn!(error = %e, "ignoring the project's exec policy"),
            Err(e) => tracing::warn!(error = %e, "the project's exec policy was not read"),
        }
        policy
    }

    pub fn set_agent_control(&self, control: std::sync::Weak<dyn AgentControl>) {
        let _ = self.agents.set(control);
    }

    pub fn set_memory(&self, memory: Arc<crate::memory::Memory>) {
        let _ = self.memory.set(memory);
    }

    /// The memory summary of the project `cwd` is in, for a new turn's instructions.
    pub async fn memory_summary(&self, cwd: &Path) -> Option<String> {
        self.memory.get()?.summary_for(cwd).await
    }

    /// How deep `thread_id` sits in its sub-agent tree (0: a root, or no sub-agents).
    pub async fn subagent_depth(&self, thread_id: &str) -> u32 {
        match self.agent_control() {
            Some(control) => control.depth(thread_id).await,
            None => 0,
        }
    }

    /// Sub-agents' control, when the thread layer is up.
    pub fn agent_control(&self) -> Option<Arc<dyn AgentControl>> {
        self.agents.get().and_then(std::sync::Weak::upgrade)
    }

    /// The tools of one model request: agentd's own, the sub-agent tools (unless the thread is
    /// as deep as sub-agents may nest), then every running MCP server's (the config's and the
    /// thread's own, as `thread/start` gave them); a sub-agent's role may keep only some.
    /// `Err` when a required MCP server is down: the turn fails with that message.
    /// `depth`: the thread's depth in its sub-agent tree ([`AgentServices::subagent_depth`]),
    /// read once per turn: it never changes.
    pub async fn tools(
        &self,
        thread_id: &str,
        settings: &ThreadSettings,
        depth: u32,
    ) -> Result<ToolRegistry, String> {
        let mut registry = ToolRegistry::builtin();
        if let Some(control) = self.agent_control() {
            let roles = self.config.agents.roles.keys().cloned().collect();
            super::subagents::register(
                &mut registry,
                control,
                depth,
                self.config.agents.max_depth,
                roles,
            );
        }
        let own = match &settings.mcp_servers {
            Some(map) => mcp_servers_from_json(map).map_err(|e| e.to_string())?,
            None => Default::default(),
        };
        for handler in self.mcp.tools(thread_id, &own).await? {
            registry.register(handler);
        }
        if let Some(allowed) = &settings.tools {
            registry.retain(|name| allowed.iter().any(|a| a == name));
        }
        Ok(registry)
    }
}

fn project_rules_dir(cwd: &Path) -> PathBuf {
    cwd.join(".agentd").join("rules")
}
