//! The one store interface: every operation the daemon performs on its database, each answered
//! by the SQLite or the PostgreSQL implementation (which must agree: the contract suite in
//! tests/tests/store_contract.rs runs against both).

use std::path::Path;

use super::memory_rows::{CandidateQuery, MemoryCandidate, MemoryRow, SummaryRow};
use super::postgres::{PgOptions, PgStore};
use super::rows::{
    CommitBatch, HistoryEntry, ItemRow, RowWrite, SearchHit, SearchQuery, StoredEvent,
    ThreadListQuery, ThreadRow, TurnRow,
};
use super::sqlite::SqliteStore;
use super::{Backend, Store, StoreError};

/// Calls the same method on whichever implementation backs the store.
macro_rules! dispatch {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match &$self.backend {
            Backend::Sqlite(s) => s.$method($($arg),*).await,
            Backend::Postgres(s) => s.$method($($arg),*).await,
        }
    };
}

impl Store {
    /// Opens (creating and migrating if needed) the embedded SQLite database at `path`.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        Ok(Store {
            backend: Backend::Sqlite(SqliteStore::open(path).await?),
        })
    }

    /// Connects to a PostgreSQL database shared with other daemons, and migrates it.
    pub async fn connect(options: PgOptions) -> Result<Store, StoreError> {
        Ok(Store {
            backend: Backend::Postgres(PgStore::connect(options).await?),
        })
    }

    /// Reads an existing SQLite file without changing it (`agentd doctor`).
    pub async fn check_file(path: &Path) -> Result<(), StoreError> {
        SqliteStore::check_file(path).await
    }

    /// The PostgreSQL store when the daemon shares its threads with others.
    pub fn shared(&self) -> Option<&PgStore> {
        match &self.backend {
            Backend::Postgres(s) => Some(s),
            Backend::Sqlite(_) => None,
        }
    }

    /// Commits one actor batch atomically: the thread row (inserted or every column
    /// overwritten), events, then projections.
    pub async fn commit(&self, batch: &CommitBatch) -> Result<(), StoreError> {
        self.commit_with(batch, RowWrite::Upsert).await
    }

    /// [`Store::commit`], writing the thread row as `row` says: the actor knows when a batch
    /// only advances `updated_at`/`last_seq` of a row already stored.
    pub async fn commit_with(&self, batch: &CommitBatch, row: RowWrite) -> Result<(), StoreError> {
        self.commit_as(batch, row, None).await
    }

    /// [`Store::commit_with`] by the actor spawned under lease `epoch` (PostgreSQL: refused
    /// once another actor took the thread; SQLite has one writer and no leases).
    pub async fn commit_as(
        &self,
        batch: &CommitBatch,
        row: RowWrite,
        epoch: Option<i64>,
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.commit_with(batch, row).await,
            Backend::Postgres(s) => s.commit_with(batch, row, epoch).await,
        }
    }

    /// Events with `seq > after_seq`, oldest first, at most `limit` of them.
    pub async fn events_after(
        &self,
        thread_id: &str,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        dispatch!(self.events_after(thread_id, after_seq, limit))
    }

    pub async fn thread(&self, id: &str) -> Result<Option<ThreadRow>, StoreError> {
        dispatch!(self.thread(id))
    }

    /// One page of threads, newest first (keyset on the UUIDv7 id).
    pub async fn list_threads(&self, q: &ThreadListQuery) -> Result<Vec<ThreadRow>, StoreError> {
        dispatch!(self.list_threads(q))
    }

    /// The thread's turns in order, rolled-back ones included.
    pub async fn turns(&self, thread_id: &str) -> Result<Vec<TurnRow>, StoreError> {
        dispatch!(self.turns(thread_id))
    }

    /// The thread's visible turns in order, each with its items as one JSON array of their
    /// stored payloads.
    pub async fn turns_with_items_json(
        &self,
        thread_id: &str,
    ) -> Result<Vec<(TurnRow, String)>, StoreError> {
        dispatch!(self.turns_with_items_json(thread_id))
    }

    pub async fn items(&self, thread_id: &str) -> Result<Vec<ItemRow>, StoreError> {
        dispatch!(self.items(thread_id))
    }

    /// The model-facing conversation, without rolled-back turns and compacted rows.
    pub async fn history(&self, thread_id: &str) -> Result<Vec<serde_json::Value>, StoreError> {
        dispatch!(self.history(thread_id))
    }

    /// Every history row, with the turn that wrote it and the turn that compacted it.
    pub async fn history_entries(&self, thread_id: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        dispatch!(self.history_entries(thread_id))
    }

    /// The newest context size a visible turn recorded.
    pub async fn context_tokens(&self, thread_id: &str) -> Result<Option<u64>, StoreError> {
        dispatch!(self.context_tokens(thread_id))
    }

    /// Paths the given turns changed (their fileChange items).
    pub async fn changed_files(&self, turn_ids: &[String]) -> Result<Vec<String>, StoreError> {
        dispatch!(self.changed_files(turn_ids))
    }

    /// Ephemeral threads left by an earlier run.
    pub async fn ephemeral_thread_ids(&self) -> Result<Vec<String>, StoreError> {
        dispatch!(self.ephemeral_thread_ids())
    }

    /// Threads with a turn still marked in progress (after a crash or kill).
    pub async fn threads_with_running_turns(&self) -> Result<Vec<String>, StoreError> {
        dispatch!(self.threads_with_running_turns())
    }

    /// Deletes a thread and everything stored about it; `false` when there was none.
    pub async fn delete_thread(&self, thread_id: &str) -> Result<bool, StoreError> {
        dispatch!(self.delete_thread(thread_id))
    }

    /// Full-text search over messages and commands, one hit per thread, best first.
    pub async fn search_threads(&self, q: &SearchQuery) -> Result<Vec<SearchHit>, StoreError> {
        dispatch!(self.search_threads(q))
    }

    pub async fn memory_candidates(
        &self,
        q: &CandidateQuery,
    ) -> Result<Vec<MemoryCandidate>, StoreError> {
        dispatch!(self.memory_candidates(q))
    }

    pub async fn claim_memory_job(
        &self,
        c: &MemoryCandidate,
        project: &str,
        owner: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<bool, StoreError> {
        dispatch!(self.claim_memory_job(c, project, owner, now, lease_until))
    }

    pub async fn finish_memory_job(
        &self,
        owner: &str,
        seq: u64,
        memory: &MemoryRow,
    ) -> Result<bool, StoreError> {
        dispatch!(self.finish_memory_job(owner, seq, memory))
    }

    pub async fn fail_memory_job(
        &self,
        thread_id: &str,
        owner: &str,
        seq: u64,
        error: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        dispatch!(self.fail_memory_job(thread_id, owner, seq, error, now))
    }

    pub async fn memories(&self, project: Option<&str>) -> Result<Vec<MemoryRow>, StoreError> {
        dispatch!(self.memories(project))
    }

    pub async fn age_out_memories(&self, before: i64) -> Result<u64, StoreError> {
        dispatch!(self.age_out_memories(before))
    }

    pub async fn memory_summary(&self, project: &str) -> Result<Option<SummaryRow>, StoreError> {
        dispatch!(self.memory_summary(project))
    }

    pub async fn memory_summaries(&self) -> Result<Vec<SummaryRow>, StoreError> {
        dispatch!(self.memory_summaries())
    }

    pub async fn projects_to_consolidate(&self) -> Result<Vec<String>, StoreError> {
        dispatch!(self.projects_to_consolidate())
    }

    pub async fn claim_summary(
        &self,
        project: &str,
        owner: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<bool, StoreError> {
        dispatch!(self.claim_summary(project, owner, now, lease_until))
    }

    pub async fn finish_summary(
        &self,
        project: &str,
        owner: &str,
        outcome: Result<(&str, i64), &str>,
        now: i64,
    ) -> Result<(), StoreError> {
        dispatch!(self.finish_summary(project, owner, outcome, now))
    }

    pub async fn memory_job_errors(
        &self,
        project: Option<&str>,
    ) -> Result<Vec<String>, StoreError> {
        dispatch!(self.memory_job_errors(project))
    }

    pub async fn reset_memory(&self, project: Option<&str>) -> Result<(), StoreError> {
        dispatch!(self.reset_memory(project))
    }

    /// Lets the database connections give cached pages back (SQLite; nothing on PostgreSQL).
    pub async fn release_memory(&self) {
        dispatch!(self.release_memory())
    }

    /// Closes every connection; called on shutdown.
    pub async fn close(&self) {
        dispatch!(self.close())
    }
}
