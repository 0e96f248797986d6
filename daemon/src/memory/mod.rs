//! Persistent memory: phase 1 mines each finished, idle thread for what is worth remembering
//! (one model request with structured output), phase 2 merges a project's new memories into
//! its summary (one more). The summary joins the instructions of every new turn in that
//! project. Jobs are store rows with an owner and a lease, so several daemons share the work
//! and a job whose daemon died is taken over. Off unless `[memory] enabled = true`.

mod ask;
mod consolidate;
mod export;
mod extract;
mod project;
mod redact;
mod transcript;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::clock::unix_now;
use crate::config::{Config, MemoryConfig, PhaseModel};
use crate::model::{ModelClient, ModelError};
use crate::store::{CandidateQuery, MemoryCandidate, MemoryRow, Store, StoreError};

pub use export::summary_path;
pub use project::project_of;

/// How often the background loop looks for threads that became eligible.
const TICK: Duration = Duration::from_secs(60);
/// The first look after start-up: late enough never to compete with the first requests.
const FIRST_LOOK: Duration = Duration::from_secs(5);
/// Rounds one `memory/rebuild` makes (each round retries what failed in the one before).
const MAX_ROUNDS: u32 = 16;

/// What a pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassReport {
    pub extracted: u32,
    pub consolidated: u32,
}

/// Called with the project whose memory changed (for `memory/updated`).
pub type OnUpdate = Box<dyn Fn(&str) + Send + Sync>;

/// The model client for a provider id: the daemon's shared one (pooled with the turns').
pub type ClientSource = Box<dyn Fn(&str) -> Result<Arc<ModelClient>, ModelError> + Send + Sync>;

pub struct Memory {
    config: Config,
    store: Store,
    data_dir: PathBuf,
    /// This daemon's name on the jobs it holds.
    owner: String,
    clients: ClientSource,
    /// One pass at a time in this daemon.
    pass: tokio::sync::Mutex<()>,
    on_update: OnUpdate,
}

impl Memory {
    pub fn new(
        config: Config,
        store: Store,
        data_dir: PathBuf,
        clients: ClientSource,
        on_update: OnUpdate,
    ) -> Arc<Memory> {
        Arc::new(Memory {
            config,
            store,
            data_dir,
            owner: uuid::Uuid::now_v7().to_string(),
            clients,
            pass: tokio::sync::Mutex::new(()),
            on_update,
        })
    }

    fn settings(&self) -> &MemoryConfig {
        &self.config.memory
    }

    pub fn enabled(&self) -> bool {
        self.settings().enabled
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The summary for a turn working in `cwd`, when memory is on and the project has one.
    pub async fn summary_for(&self, cwd: &Path) -> Option<String> {
        if !self.enabled() {
            return None;
        }
        match self.store.memory_summary(&project_of(cwd)).await {
            Ok(Some(row)) if !row.summary.trim().is_empty() => Some(row.summary),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the memory summary; the turn goes without");
                None
            }
        }
    }

    /// Runs passes in the background until `stop`: soon after start, then every [`TICK`].
    pub fn spawn(self: &Arc<Self>, stop: CancellationToken) {
        if !self.enabled() {
            return;
        }
        let memory = self.clone();
        tokio::spawn(async move {
            let mut wait = FIRST_LOOK;
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(wait) => {}
                }
                wait = TICK;
                let report = memory.pass(false).await;
                if report != PassReport::default() {
                    tracing::info!(?report, "memory updated");
                }
            }
        });
    }

    /// Both phases: extraction of eligible threads (all of them when `now`, ignoring
    /// `min_idle_secs` and retrying failures up to `max_retries`), then consolidation of the
    /// projects with new memories.
    pub async fn pass(&self, now: bool) -> PassReport {
        let _one = self.pass.lock().await;
        let mut report = PassReport::default();
        let rounds = if now { MAX_ROUNDS } else { 1 };
        for _ in 0..rounds {
            match self.extract_round(now).await {
                Ok((0, 0)) => break,
                Ok((extracted, _)) => report.extracted += extracted,
                Err(e) => {
                    tracing::warn!(error = %e, "memory: cannot find threads to remember");
                    break;
                }
            }
        }
        report.consolidated = self.consolidate_all().await;
        report
    }

    /// One round of phase 1: `(extracted, tried)`.
    async fn extract_round(&self, now: bool) -> Result<(u32, u32), StoreError> {
        let s = self.settings();
        let q = CandidateQuery {
            now: unix_now(),
            min_idle_secs: if now { 0 } else { s.min_idle_secs },
            max_retries: s.max_retries,
            limit: s.max_threads_per_run,
        };
        let candidates = self.store.memory_candidates(&q).await?;
        let tried = candidates.len() as u32;
        let extracted = futures_util::stream::iter(candidates)
            .map(|c| self.extract_one(c))
            .buffer_unordered(s.concurrency as usize)
            .filter(|done| std::future::ready(*done))
            .count()
            .await as u32;
        Ok((extracted, tried))
    }

    /// Extracts one thread's memory if its job can be taken; whether a memory was stored.
    async fn extract_one(&self, c: MemoryCandidate) -> bool {
        let project = project_of(Path::new(&c.cwd));
        let now = unix_now();
        let lease_until = now.saturating_add(self.settings().lease_secs as i64);
        match self
            .store
            .claim_memory_job(&c, &project, &self.owner, now, lease_until)
            .await
        {
            Ok(true) => {}
            Ok(false) => return false,
            Err(e) => {
                tracing::warn!(thread = %c.thread_id, error = %e, "memory: cannot claim a job");
                return false;
            }
        }
        match self.run_extraction(&c, &project).await {
            Ok(row) => match self
                .store
                .finish_memory_job(&self.owner, c.last_seq, &row)
                .await
            {
                Ok(saved) => saved,
                Err(e) => {
                    tracing::warn!(thread = %c.thread_id, error = %e, "memory: cannot save");
                    false
                }
            },
            Err(why) => {
                tracing::warn!(thread = %c.thread_id, error = %why, "memory: extraction failed");
                let failed = self
                    .store
                    .fail_memory_job(&c.thread_id, &self.owner, c.last_seq, &why, unix_now())
                    .await;
                if let Err(e) = failed {
                    tracing::warn!(error = %e, "memory: cannot record a failure");
                }
                false
            }
        }
    }

    async fn run_extraction(
        &self,
        c: &MemoryCandidate,
        project: &str,
    ) -> Result<MemoryRow, String> {
        let history = self
            .store
            .history(&c.thread_id)
            .await
            .map_err(|e| e.to_string())?;
        let prompt = extract::prompt(&history, self.config.model_context_window);
        let (client, model) = self.client(&self.settings().extract)?;
        let e = extract::extract(&client, &model, prompt).await?;
        let now = unix_now();
        Ok(MemoryRow {
            thread_id: c.thread_id.clone(),
            project: project.to_owned(),
            raw_memory: e.raw_memory,
            summary: e.summary,
            slug: e.slug,
            created_at: now,
            updated_at: now,
        })
    }

    /// Phase 2 for every project with new memories; how many summaries changed.
    async fn consolidate_all(&self) -> u32 {
        let max_age = i64::from(self.settings().max_age_days).saturating_mul(86_400);
        if let Err(e) = self
            .store
            .age_out_memories(unix_now().saturating_sub(max_age))
            .await
        {
            tracing::warn!(error = %e, "memory: cannot age out old memories");
        }
        let projects = match self.store.projects_to_consolidate().await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "memory: cannot find projects to consolidate");
                return 0;
            }
        };
        let mut changed = 0;
        for project in projects {
            if self.consolidate_one(&project).await {
                changed += 1;
                (self.on_update)(&project);
            }
        }
        changed
    }

    async fn consolidate_one(&self, project: &str) -> bool {
        let now = unix_now();
        let lease_until = now.saturating_add(self.settings().lease_secs as i64);
        match self
            .store
            .claim_summary(project, &self.owner, now, lease_until)
            .await
        {
            Ok(true) => {}
            Ok(false) => return false,
            Err(e) => {
                tracing::warn!(%project, error = %e, "memory: cannot claim a consolidation");
                return false;
            }
        }
        let outcome = self.run_consolidation(project).await;
        let saved = match &outcome {
            Ok((summary, until)) => Ok((summary.as_str(), *until)),
            Err(why) => {
                tracing::warn!(%project, error = %why, "memory: consolidation failed");
                Err(why.as_str())
            }
        };
        if let Err(e) = self
            .store
            .finish_summary(project, &self.owner, saved, unix_now())
            .await
        {
            tracing::warn!(%project, error = %e, "memory: cannot save the summary");
            return false;
        }
        match outcome {
            Ok((summary, _)) => {
                if let Err(e) = export::write(&self.data_dir, project, &summary) {
                    tracing::warn!(%project, error = %e, "memory: cannot export the summary");
                }
                true
            }
            Err(_) => false,
        }
    }

    /// The new summary and the newest memory it merged.
    async fn run_consolidation(&self, project: &str) -> Result<(String, i64), String> {
        let current = self
            .store
            .memory_summary(project)
            .await
            .map_err(|e| e.to_string())?
            .unwrap_or_default();
        let memories = self
            .store
            .memories(Some(project))
            .await
            .map_err(|e| e.to_string())?;
        let new: Vec<MemoryRow> = memories
            .into_iter()
            .filter(|m| m.updated_at > current.merged_until)
            .collect();
        let Some(until) = new.iter().map(|m| m.updated_at).max() else {
            return Ok((current.summary, current.merged_until));
        };
        let (client, model) = self.client(&self.settings().consolidate)?;
        let input = consolidate::Input {
            project,
            current: &current.summary,
            new: &new,
            max_tokens: self.settings().max_summary_tokens,
        };
        let summary = consolidate::consolidate(&client, &model, input).await?;
        Ok((summary, until))
    }

    /// Forgets a project's memory (every project's when `None`), exported files included.
    pub async fn reset(&self, project: Option<&str>) -> Result<(), StoreError> {
        let _one = self.pass.lock().await;
        self.store.reset_memory(project).await?;
        export::remove(&self.data_dir, project);
        (self.on_update)(project.unwrap_or(""));
        Ok(())
    }

    /// The client and model a phase uses: its own, else the configured ones.
    fn client(&self, phase: &PhaseModel) -> Result<(Arc<ModelClient>, String), String> {
        let provider_id = phase
            .provider
            .as_deref()
            .unwrap_or(&self.config.model_provider);
        let model = phase
            .model
            .clone()
            .unwrap_or_else(|| self.config.model.clone());
        let client = (self.clients)(provider_id).map_err(|e| e.to_string())?;
        Ok((client, model))
    }
}
