//! The memory pipeline's rows, as both stores read and write them (see `sqlite/memory.rs`).

/// A thread that may be mined: no memory of its current content yet, idle long enough.
#[derive(Debug, Clone)]
pub struct MemoryCandidate {
    pub thread_id: String,
    pub cwd: String,
    pub last_seq: u64,
}

/// What phase 1 extracted from one thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryRow {
    pub thread_id: String,
    pub project: String,
    pub raw_memory: String,
    pub summary: String,
    pub slug: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A project's summary and how its last consolidation went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SummaryRow {
    pub project: String,
    pub summary: String,
    pub merged_until: i64,
    pub last_error: Option<String>,
    pub updated_at: i64,
}

/// Which candidates to look for.
pub struct CandidateQuery {
    pub now: i64,
    /// Only threads untouched since `now - min_idle_secs`.
    pub min_idle_secs: u64,
    pub max_retries: u32,
    pub limit: u32,
}
