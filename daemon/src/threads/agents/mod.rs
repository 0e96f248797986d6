//! Sub-agents as threads: the thread layer's side of [`AgentControl`].
//!
//! A child is an ordinary thread whose `source` is Codex's `{"subAgent": {"thread_spawn": …}}`
//! and whose `parent_id` is the thread that spawned it; everything threads guarantee (seq,
//! replay, persistence, many clients) holds for it. Its parent's subscribers are subscribed to
//! it when it is made (they see its `thread/started` and everything after), so its approvals
//! reach them too; a client that resumes the parent later follows it from then on, or from its
//! first event when it replays the parent from the start. A closed child is archived: that is
//! what frees its slot, and it survives a restart. A watcher per loaded child notes when its turn ends (for the parent's next model
//! request) and runs SubagentStop hooks.

mod names;
mod tree;
mod worktree;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock, Weak};
use std::time::Duration;

use agentd_protocol::{
    CollabAgentStatus, SessionSource, SubAgentSource, ThreadSpawnSource, ThreadStatus,
    TurnStartParams, UserInput,
};
use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::handle::CatchUp;
use super::hub::ThreadHub;
use super::{settings_of, ActorHandle, ThreadError, ThreadUpdate};
use crate::agent::subagents::{AgentControl, AgentReport, SpawnRequest, WaitReport};
use crate::clock::unix_now;
use crate::model::HistoryItem;
use crate::store::ThreadRow;
use tree::{depth_of, nickname_of, role_of};

/// Characters of a child's last message in a note to its parent.
const NOTE_CHARS: usize = 500;

/// The hub's sub-agent bookkeeping (all of it can be rebuilt from the store but the notes).
#[derive(Default)]
pub struct AgentState {
    /// The hub itself, for the tasks it starts.
    hub: OnceLock<Weak<ThreadHub>>,
    /// Where worktrees go (`<data dir>/worktrees`).
    worktrees: OnceLock<PathBuf>,
    notes: Mutex<HashMap<String, Vec<String>>>,
    watching: Mutex<HashSet<String>>,
}

impl AgentState {
    pub fn init(&self, hub: Weak<ThreadHub>, data_dir: PathBuf) {
        let _ = self.hub.set(hub);
        let _ = self.worktrees.set(data_dir.join("worktrees"));
    }
}

fn text(s: &str) -> UserInput {
    UserInput::text(s.to_owned())
}

impl ThreadHub {
    async fn row(&self, id: &str) -> Result<ThreadRow, String> {
        self.store()
            .thread(id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no thread {id}"))
    }

    /// A child of `parent` named by id or nickname; of two children with one nickname (a tree
    /// from before nicknames stopped being reused), the open one, else the newest.
    async fn resolve(&self, parent: &str, target: &str) -> Result<ThreadRow, String> {
        let children = tree::children(self.store(), parent, true).await?;
        children
            .into_iter()
            .filter(|c| c.id == target || nickname_of(c).as_deref() == Some(target))
            .max_by_key(|c| (!c.archived, c.created_at))
            .ok_or_else(|| format!("no sub-agent {target:?} of this thread (see list_agents)"))
    }

    /// A child's state as the parent's tools report it.
    async fn report(&self, row: &ThreadRow) -> AgentReport {
        let status = if row.archived {
            CollabAgentStatus::Shutdown
        } else {
            let loaded = self.loaded(&row.id).await;
            match loaded.as_ref().map(|h| h.status()) {
                Some(ThreadStatus::Active { .. }) => CollabAgentStatus::Running,
                _ => {
                    // The status turns idle before the turn's end is committed: wait for it,
                    // so the store tells how the turn ended.
                    if let Some(h) = &loaded {
                        let _ = h.barrier().await;
                    }
                    tree::last_turn_status(self.store(), &row.id).await
                }
            }
        };
        let message = tree::last_message(self.store(), &row.id).await;
        let worktree = match settings_of(row).worktree {
            Some(meta) => worktree::report(&meta).await.ok(),
            None => None,
        };
        AgentReport {
            agent_id: row.id.clone(),
            nickname: nickname_of(row).unwrap_or_default(),
            role: role_of(row).unwrap_or_else(|| "default".into()),
            status,
            message,
            worktree,
        }
    }

    /// Makes the child's row: the parent's settings, as the role changes them.
    async fn child_row(&self, parent: &ThreadRow, req: &SpawnRequest) -> Result<ThreadRow, String> {
        let agents = &self.services().config.agents;
        let depth = depth_of(parent) + 1;
        if depth > agents.max_depth {
            return Err(format!(
                "sub-agents may nest {} deep; this thread cannot spawn",
                agents.max_depth
            ));
        }
        let role_name = req.role.clone().unwrap_or_else(|| "default".into());
        let role = agents.role(Some(&role_name)).ok_or_else(|| {
            let known: Vec<&str> = agents.roles.keys().map(String::as_str).collect();
            format!("no agent_type {role_name:?}; known: {}", known.join(", "))
        })?;
        let root = tree::root_of(self.store(), parent).await?;
        let open = tree::open_descendants(self.store(), &root).await?;
        if open.len() >= agents.max_threads as usize {
            return Err(format!(
                "at most {} sub-agents may be open at once, and {} are (finished ones stay open \
                 until closed): close one with close_agent first",
                agents.max_threads,
                open.len()
            ));
        }
        // Closed children keep their nicknames: a name always means one child of the tree.
        let taken: Vec<String> = tree::descendants(self.store(), &root, true)
            .await?
            .iter()
            .filter_map(nickname_of)
            .collect();
        let nickname = names::pick(&taken);
        let mut settings = settings_of(parent);
        if let Some(mode) = role.sandbox_mode {
            settings.sandbox = agentd_protocol::SandboxPolicy::from_mode(mode);
        }
        if let Some(policy) = role.approval_policy {
            settings.approval_policy = policy;
        }
        if let Some(instructions) = &role.instructions {
            settings.developer_instructions = Some(match settings.developer_instructions.take() {
                Some(own) => format!("{own}\n\n{instructions}"),
                None => instructions.clone(),
            });
        }
        settings.tools = role.tools.clone();
        if req.reasoning_effort.is_some() {
            settings.reasoning_effort = req.reasoning_effort.clone();
        }
        settings.mcp_servers = None;
        let id = uuid::Uuid::now_v7().to_string();
        let source = SessionSource::SubAgent(SubAgentSource::ThreadSpawn(ThreadSpawnSource {
            parent_thread_id: parent.id.clone(),
            depth: depth as i32,
            agent_nickname: Some(nickname),
            agent_role: Some(role_name),
        }));
        let now = unix_now();
        Ok(ThreadRow {
            session_id: id.clone(),
            id,
            forked_from_id: None,
            name: None,
            preview: String::new(),
            cwd: parent.cwd.clone(),
            model: req
                .model
                .clone()
                .or_else(|| role.model.clone())
                .unwrap_or_else(|| parent.model.clone()),
            model_provider: parent.model_provider.clone(),
            settings: serde_json::to_value(&settings).map_err(|e| e.to_string())?,
            ephemeral: false,
            archived: false,
            created_at: now,
            updated_at: now,
            last_seq: 0,
            source_kind: source.kind().to_owned(),
            source: serde_json::to_string(&source).map_err(|e| e.to_string())?,
            parent_id: Some(parent.id.clone()),
        })
    }

    /// Gives the child its own worktree (its cwd moves there).
    async fn isolate(&self, row: &mut ThreadRow) -> Result<(), String> {
        let root = self
            .agents
            .worktrees
            .get()
            .cloned()
            .ok_or("worktrees need the daemon's data directory")?;
        let nickname = nickname_of(row).unwrap_or_default();
        let short = &row.id[row.id.len().saturating_sub(8)..];
        let branch = format!("agentd/{nickname}-{short}");
        let (meta, cwd) =
            worktree::create(std::path::Path::new(&row.cwd), &root, &row.id, &branch).await?;
        let mut settings = settings_of(row);
        settings.worktree = Some(meta);
        if let agentd_protocol::SandboxPolicy::WorkspaceWrite { writable_roots, .. } =
            &mut settings.sandbox
        {
            writable_roots.retain(|r| !std::path::Path::new(&row.cwd).starts_with(r));
        }
        row.settings = serde_json::to_value(&settings).map_err(|e| e.to_string())?;
        row.cwd = cwd.display().to_string();
        Ok(())
    }

    /// Subscribes the parent's subscribers to a new child from its first event.
    async fn share_with_parents_watchers(&self, parent: &ActorHandle, child: &ActorHandle) {
        for sub in parent.subscribers().await {
            match child.subscribe(sub, Some(0)).await {
                Ok((_, catch_up)) => catch_up.start(),
                Err(e) => tracing::debug!(error = %e, "subscribing a parent's client to a child"),
            }
        }
    }

    /// Watches a loaded child: each end of its turn is noted for a busy parent and runs
    /// SubagentStop hooks. One watcher per loaded child.
    fn watch(&self, child: ActorHandle, parent: String) {
        let Some(hub) = self.agents.hub.get().and_then(Weak::upgrade) else {
            return;
        };
        let id = child.id().to_owned();
        if let Ok(mut w) = self.agents.watching.lock() {
            if !w.insert(id.clone()) {
                return;
            }
        }
        tokio::spawn(async move {
            let mut status = child.status_watch();
            loop {
                let busy = |s: &ThreadStatus| matches!(s, ThreadStatus::Active { .. });
                if status.wait_for(busy).await.is_err() {
                    break;
                }
                if status.wait_for(|s| !busy(s)).await.is_err() {
                    break;
                }
                hub.child_turn_ended(&child, &parent).await;
            }
            if let Ok(mut w) = hub.agents.watching.lock() {
                w.remove(&id);
            }
        });
    }

    async fn child_turn_ended(&self, child: &ActorHandle, parent: &str) {
        let Ok(row) = self.row(child.id()).await else {
            return;
        };
        let report = self.report(&row).await;
        let parent_busy = matches!(
            self.loaded(parent).await.map(|h| h.status()),
            Some(ThreadStatus::Active { .. })
        );
        if parent_busy {
            let message: String = report
                .message
                .as_deref()
                .unwrap_or("")
                .chars()
                .take(NOTE_CHARS)
                .collect();
            let note = format!(
                "Sub-agent {} ({}) finished its turn ({:?}): {message}",
                report.nickname, report.agent_id, report.status
            );
            if let Ok(mut notes) = self.agents.notes.lock() {
                notes.entry(parent.to_owned()).or_default().push(note);
            }
        }
        child
            .subagent_stopped(self.services(), &report.role, report.message.as_deref())
            .await;
    }

    /// Closes `row` and its own children, deepest first; reports `row`.
    async fn close_tree(&self, row: &ThreadRow) -> Result<AgentReport, String> {
        for child in tree::children(self.store(), &row.id, false).await? {
            Box::pin(self.close_tree(&child)).await?;
        }
        let handle = self.load(&row.id).await.map_err(|e| e.to_string())?;
        let _ = handle.interrupt_running().await;
        if !row.archived {
            handle
                .update(ThreadUpdate::Archive)
                .await
                .map_err(|e| e.to_string())?;
            handle
                .session_ended(self.services(), "closed", Duration::from_secs(10))
                .await;
        }
        let mut report = self.report(&self.row(&row.id).await?).await;
        report.status = CollabAgentStatus::Shutdown;
        if let Some(meta) = settings_of(row).worktree {
            report.worktree = worktree::close(&meta).await.ok();
        }
        Ok(report)
    }

    /// Archiving a thread closes its sub-agents.
    pub async fn close_children(&self, parent: &str) {
        match tree::children(self.store(), parent, false).await {
            Ok(children) => {
                for child in children {
                    if let Err(e) = self.close_tree(&child).await {
                        tracing::warn!(thread = %child.id, error = %e, "closing a sub-agent");
                    }
                }
            }
            Err(e) => tracing::warn!(thread = %parent, error = %e, "listing sub-agents"),
        }
    }

    /// The ids of `parent`'s sub-agents, closed ones too.
    pub async fn child_ids(&self, parent: &str) -> Vec<String> {
        tree::children(self.store(), parent, true)
            .await
            .map(|rows| rows.into_iter().map(|r| r.id).collect())
            .unwrap_or_default()
    }

    /// A client that resumes a thread also follows its open descendants, loaded for it: from
    /// their first event when it replays the thread from the start (`replay`, `afterSeq: 0`),
    /// else from now on (it resumes a child with `afterSeq` itself to fill a gap). Returns the
    /// children's ids and their catch-ups, to start once the resume is answered.
    pub async fn follow_children(
        &self,
        parent: &str,
        sub: &super::Subscriber,
        replay: bool,
    ) -> (Vec<String>, Vec<CatchUp>) {
        let mut ids = Vec::new();
        let mut catch_ups = Vec::new();
        let descendants = match tree::open_descendants(self.store(), parent).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(thread = %parent, error = %e, "listing sub-agents to follow");
                return (ids, catch_ups);
            }
        };
        for child in descendants {
            let subscribed = match self.load(&child.id).await {
                Ok(handle) => handle
                    .subscribe(sub.clone(), replay.then_some(0))
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match subscribed {
                Ok((_, catch_up)) => {
                    ids.push(child.id);
                    catch_ups.push(catch_up);
                }
                Err(e) => tracing::warn!(thread = %child.id, error = %e, "following a sub-agent"),
            }
        }
        (ids, catch_ups)
    }
}

#[async_trait]
impl AgentControl for ThreadHub {
    async fn spawn(&self, req: SpawnRequest) -> Result<AgentReport, String> {
        let parent = self
            .load(&req.parent_thread_id)
            .await
            .map_err(|e| e.to_string())?;
        let parent_row = parent.snapshot().await.map_err(|e| e.to_string())?;
        let mut row = self.child_row(&parent_row, &req).await?;
        if req.worktree {
            self.isolate(&mut row).await?;
        }
        let meta = settings_of(&row).worktree;
        let child = match self.create(row).await {
            Ok(h) => h,
            Err(e) => {
                if let Some(meta) = meta {
                    worktree::discard(&meta).await;
                }
                return Err(e.to_string());
            }
        };
        self.share_with_parents_watchers(&parent, &child).await;
        let params = TurnStartParams {
            thread_id: child.id().to_owned(),
            input: vec![text(&req.message)],
            ..TurnStartParams::default()
        };
        child
            .start_turn(params, HistoryItem::user(req.message.clone()))
            .await
            .map_err(|e| e.to_string())?;
        self.watch(child.clone(), parent_row.id.clone());
        let row = self.row(child.id()).await?;
        Ok(self.report(&row).await)
    }

    async fn send_input(
        &self,
        parent: &str,
        target: &str,
        message: &str,
        interrupt: bool,
    ) -> Result<AgentReport, String> {
        let row = self.resolve(parent, target).await?;
        if row.archived {
            return Err(format!("{target} is closed"));
        }
        let child = self.load(&row.id).await.map_err(|e| e.to_string())?;
        self.watch(child.clone(), parent.to_owned());
        let history = HistoryItem::user(message.to_owned());
        let running = matches!(child.status(), ThreadStatus::Active { .. });
        if running && interrupt {
            let _ = child.interrupt_running().await;
            let mut status = child.status_watch();
            let idle = status.wait_for(|s| !matches!(s, ThreadStatus::Active { .. }));
            let _ = tokio::time::timeout(Duration::from_secs(10), idle).await;
        }
        if matches!(child.status(), ThreadStatus::Active { .. }) {
            if let Some(turn) = tree::running_turn(self.store(), &row.id).await {
                match child
                    .steer_turn(vec![text(message)], history.clone(), turn, None)
                    .await
                {
                    Ok(_) => return Ok(self.report(&self.row(&row.id).await?).await),
                    // The turn ended meanwhile: the message starts the next one.
                    Err(ThreadError::Conflict(_)) => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
        }
        let params = TurnStartParams {
            thread_id: row.id.clone(),
            input: vec![text(message)],
            ..TurnStartParams::default()
        };
        child
            .start_turn(params, history)
            .await
            .map_err(|e| e.to_string())?;
        Ok(self.report(&self.row(&row.id).await?).await)
    }

    async fn wait(
        &self,
        parent: &str,
        targets: &[String],
        all: bool,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> Result<WaitReport, String> {
        let mut rows = Vec::new();
        for t in targets {
            rows.push(self.resolve(parent, t).await?);
        }
        let mut watches = Vec::new();
        for row in rows.iter().filter(|r| !r.archived) {
            if let Some(h) = self.loaded(&row.id).await {
                watches.push(h.status_watch());
            }
        }
        let timed_out = !tree::wait_for(watches, all, timeout, cancel).await;
        let mut status = BTreeMap::new();
        for row in &rows {
            let row = self.row(&row.id).await?;
            status.insert(row.id.clone(), self.report(&row).await);
        }
        Ok(WaitReport { status, timed_out })
    }

    async fn close(&self, parent: &str, target: &str) -> Result<AgentReport, String> {
        let row = self.resolve(parent, target).await?;
        self.close_tree(&row).await
    }

    async fn list(&self, parent: &str) -> Result<Vec<AgentReport>, String> {
        let mut out = Vec::new();
        for row in tree::children(self.store(), parent, true).await? {
            out.push(self.report(&row).await);
        }
        Ok(out)
    }

    async fn interrupt_children(&self, parent: &str) {
        let Ok(children) = tree::children(self.store(), parent, false).await else {
            return;
        };
        for child in children {
            if let Some(h) = self.loaded(&child.id).await {
                let _ = h.interrupt_running().await;
            }
            Box::pin(self.interrupt_children(&child.id)).await;
        }
    }

    fn take_notes(&self, parent: &str) -> Vec<String> {
        self.agents
            .notes
            .lock()
            .ok()
            .and_then(|mut n| n.remove(parent))
            .unwrap_or_default()
    }

    async fn depth(&self, thread: &str) -> u32 {
        match self.row(thread).await {
            Ok(row) => depth_of(&row),
            Err(_) => 0,
        }
    }
}
