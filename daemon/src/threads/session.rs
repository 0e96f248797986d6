//! Session hooks, which belong to a thread rather than a turn: SessionStart when a client starts,
//! resumes or forks a thread (never when the daemon reloads an unloaded one by itself), and
//! SessionEnd when it is archived or the daemon stops (never on idle unloading). They report
//! through the thread's own log (`hook/started`, `hook/completed` with no turn).

use std::path::PathBuf;
use std::time::Duration;

use agentd_protocol::{HookCompletedNotification, HookStartedNotification};
use async_trait::async_trait;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::handle::{ActorHandle, Command};
use crate::agent::AgentServices;
use crate::config::HookEvent;
use crate::port::ThreadError;
use crate::tools::hooks::{permission_mode, HookReporter, HookSet, HookSite};

#[async_trait]
impl HookReporter for ActorHandle {
    fn thread_id(&self) -> &str {
        self.id()
    }

    fn turn_id(&self) -> Option<&str> {
        None
    }

    async fn started(&self, n: &HookStartedNotification) -> Result<(), ThreadError> {
        self.emit(n, Vec::new()).await.map(|_| ())
    }

    async fn completed(&self, n: &HookCompletedNotification) -> Result<(), ThreadError> {
        self.emit(n, Vec::new()).await.map(|_| ())
    }
}

impl ActorHandle {
    /// Runs SessionStart hooks in the background (`source`: startup, resume or fork); their
    /// context waits in the actor for the thread's next turn, which waits for them.
    pub async fn session_started(&self, services: &AgentServices, source: &'static str) {
        let Ok(row) = self.snapshot().await else {
            return;
        };
        let cwd = PathBuf::from(&row.cwd);
        let hooks = HookSet::load(&services.config.hooks, &services.config.projects, &cwd);
        if !hooks.has(HookEvent::SessionStart) {
            return;
        }
        let policy = super::convert::settings_of(&row).approval_policy;
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Command::SessionContext(rx)).await.is_err() {
            return;
        }
        let handle = self.clone();
        tokio::spawn(async move {
            let cancel = CancellationToken::new();
            let site = HookSite {
                set: &hooks,
                reporter: &handle,
                cwd: &cwd,
                cancel: &cancel,
                permission_mode: permission_mode(policy),
            };
            let context = match site.session_start(source, &row.model).await {
                Ok(fired) => fired.context,
                Err(e) => {
                    tracing::warn!(thread = %handle.id(), error = %e, "SessionStart hooks");
                    Vec::new()
                }
            };
            let _ = tx.send(context);
        });
    }

    /// Runs SubagentStop hooks: this sub-agent's turn ended.
    pub async fn subagent_stopped(&self, services: &AgentServices, role: &str, last: Option<&str>) {
        let Ok(row) = self.snapshot().await else {
            return;
        };
        let cwd = PathBuf::from(&row.cwd);
        let hooks = HookSet::load(&services.config.hooks, &services.config.projects, &cwd);
        if !hooks.has(HookEvent::SubagentStop) {
            return;
        }
        let cancel = CancellationToken::new();
        let site = HookSite {
            set: &hooks,
            reporter: self,
            cwd: &cwd,
            cancel: &cancel,
            permission_mode: permission_mode(super::convert::settings_of(&row).approval_policy),
        };
        if let Err(e) = site.subagent_stop(self.id(), role, last).await {
            tracing::warn!(thread = %self.id(), error = %e, "SubagentStop hooks");
        }
    }

    /// Runs SessionEnd hooks (`reason`: archived, shutdown, …), at most `budget` in all.
    pub async fn session_ended(&self, services: &AgentServices, reason: &str, budget: Duration) {
        let Ok(row) = self.snapshot().await else {
            return;
        };
        let cwd = PathBuf::from(&row.cwd);
        let hooks = HookSet::load(&services.config.hooks, &services.config.projects, &cwd);
        if !hooks.has(HookEvent::SessionEnd) {
            return;
        }
        let cancel = CancellationToken::new();
        let site = HookSite {
            set: &hooks,
            reporter: self,
            cwd: &cwd,
            cancel: &cancel,
            permission_mode: permission_mode(super::convert::settings_of(&row).approval_policy),
        };
        let run = site.session_end(reason);
        tokio::pin!(run);
        tokio::select! {
            r = &mut run => if let Err(e) = r {
                tracing::warn!(thread = %self.id(), error = %e, "SessionEnd hooks");
            },
            _ = tokio::time::sleep(budget) => {
                // Kills what still runs (each hook is its own process group).
                cancel.cancel();
                let _ = run.await;
            }
        }
    }
}
