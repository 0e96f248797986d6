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

/// A thread's hooks for one event that has some: what a [`HookSite`] is built from.
struct ThreadHooks {
    set: HookSet,
    cwd: PathBuf,
    permission_mode: &'static str,
    model: String,
}

impl ThreadHooks {
    fn site<'a>(
        &'a self,
        reporter: &'a ActorHandle,
        cancel: &'a CancellationToken,
    ) -> HookSite<'a> {
        HookSite {
            set: &self.set,
            reporter,
            cwd: &self.cwd,
            cancel,
            permission_mode: self.permission_mode,
        }
    }
}

impl ActorHandle {
    /// The hooks that apply in the thread's cwd, when `event` has any.
    async fn hooks_for(&self, services: &AgentServices, event: HookEvent) -> Option<ThreadHooks> {
        // Session hooks run where the session's turns run: on the holder, not on a daemon
        // that only follows the thread.
        if self.runs_elsewhere() {
            return None;
        }
        let row = self.snapshot().await.ok()?;
        let cwd = PathBuf::from(&row.cwd);
        let set =
            HookSet::load_off_worker(&services.config.hooks, &services.config.projects, &cwd).await;
        if !set.has(event) {
            return None;
        }
        Some(ThreadHooks {
            set,
            cwd,
            permission_mode: permission_mode(super::convert::settings_of(&row).approval_policy),
            model: row.model,
        })
    }

    /// Runs SessionStart hooks in the background (`source`: startup, resume or fork); their
    /// context waits in the actor for the thread's next turn, which waits for them.
    pub async fn session_started(&self, services: &AgentServices, source: &'static str) {
        let Some(hooks) = self.hooks_for(services, HookEvent::SessionStart).await else {
            return;
        };
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Command::SessionContext(rx)).await.is_err() {
            return;
        }
        let handle = self.clone();
        tokio::spawn(async move {
            let cancel = CancellationToken::new();
            let site = hooks.site(&handle, &cancel);
            let context = match site.session_start(source, &hooks.model).await {
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
        let Some(hooks) = self.hooks_for(services, HookEvent::SubagentStop).await else {
            return;
        };
        let cancel = CancellationToken::new();
        if let Err(e) = hooks
            .site(self, &cancel)
            .subagent_stop(self.id(), role, last)
            .await
        {
            tracing::warn!(thread = %self.id(), error = %e, "SubagentStop hooks");
        }
    }

    /// Runs SessionEnd hooks (`reason`: archived, shutdown, …), at most `budget` in all.
    pub async fn session_ended(&self, services: &AgentServices, reason: &str, budget: Duration) {
        let Some(hooks) = self.hooks_for(services, HookEvent::SessionEnd).await else {
            return;
        };
        let cancel = CancellationToken::new();
        let site = hooks.site(self, &cancel);
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
