//! Plain row types: what the store reads and writes, independent of any protocol type so the
//! wire format can evolve without a migration.

use serde_json::Value;

use super::StoreError;

/// One thread's stored metadata. `settings` holds per-thread choices (approval policy, sandbox
/// policy, instructions) as JSON because they change shape more often than the table should.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ThreadRow {
    pub id: String,
    pub session_id: String,
    pub forked_from_id: Option<String>,
    pub name: Option<String>,
    pub preview: String,
    pub cwd: String,
    pub model: String,
    pub model_provider: String,
    pub settings: Value,
    pub ephemeral: bool,
    pub archived: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_seq: u64,
    /// Where the thread comes from, as JSON text (the wire's `SessionSource`).
    pub source: String,
    /// The source's kind, for filtering lists (`exec`, `appServer`, `subAgentThreadSpawn`, …).
    pub source_kind: String,
    /// The thread that spawned this one (sub-agents).
    pub parent_id: Option<String>,
}

impl ThreadRow {
    /// Whether `self` differs from `other` in nothing but `updated_at` and `last_seq`: what
    /// every streamed batch changes. The destructuring names every column, so a new column
    /// must be decided on here.
    pub fn only_progress_differs(&self, other: &ThreadRow) -> bool {
        let ThreadRow {
            id,
            session_id,
            forked_from_id,
            name,
            preview,
            cwd,
            model,
            model_provider,
            settings,
            ephemeral,
            archived,
            created_at,
            updated_at: _,
            last_seq: _,
            source,
            source_kind,
            parent_id,
        } = self;
        *id == other.id
            && *session_id == other.session_id
            && *forked_from_id == other.forked_from_id
            && *name == other.name
            && *preview == other.preview
            && *cwd == other.cwd
            && *model == other.model
            && *model_provider == other.model_provider
            && *settings == other.settings
            && *ephemeral == other.ephemeral
            && *archived == other.archived
            && *created_at == other.created_at
            && *source == other.source
            && *source_kind == other.source_kind
            && *parent_id == other.parent_id
    }
}

/// How a commit writes the thread row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RowWrite {
    /// Insert it, or overwrite every updatable column: a new thread, or any change the store
    /// may not have yet.
    #[default]
    Upsert,
    /// The stored row already equals this one apart from `updated_at` and `last_seq` (see
    /// [`ThreadRow::only_progress_differs`]): set just those two. The upsert's `DO UPDATE`
    /// names `cwd` and `archived`, so it also rewrites their index entries, which are the
    /// extra WAL pages of every delta commit. The batch's events carry the same time as its
    /// `updated_at`: the SQLite store does not rewrite the row for a batch of events alone,
    /// and reads a thread's progress from its newest event when that is newer (decision 019).
    Progress,
}

/// Where a stored turn is. Stored as its wire spelling; any other stored text is a decode
/// error (logged, failing the read), never read as some default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnState {
    InProgress,
    Completed,
    Interrupted,
    Failed,
}

impl TurnState {
    pub fn as_str(self) -> &'static str {
        match self {
            TurnState::InProgress => "inProgress",
            TurnState::Completed => "completed",
            TurnState::Interrupted => "interrupted",
            TurnState::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "inProgress" => Ok(TurnState::InProgress),
            "completed" => Ok(TurnState::Completed),
            "interrupted" => Ok(TurnState::Interrupted),
            "failed" => Ok(TurnState::Failed),
            other => {
                let e = StoreError::Decode {
                    context: "reading a turn's status",
                    detail: format!("unknown turn status {other:?}"),
                };
                tracing::error!(error = %e, "stored turn has an unknown status");
                Err(e)
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TurnRow {
    pub id: String,
    pub thread_id: String,
    pub position: i64,
    pub status: TurnState,
    pub error: Option<Value>,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub duration_ms: Option<i64>,
    pub usage: Option<Value>,
    pub client_request_id: Option<String>,
    pub rolled_back: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ItemRow {
    pub id: String,
    pub thread_id: String,
    pub turn_id: String,
    pub position: i64,
    pub kind: String,
    pub payload: Value,
}

/// One entry of the model-facing conversation (see the `history` table).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRow {
    pub thread_id: String,
    pub turn_id: String,
    pub payload: Value,
}

/// A history row as stored, with the turn that compacted it away (if any): what a fork copies.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    pub turn_id: String,
    pub payload: Value,
    pub compacted_by: Option<String>,
}

/// A change to the projections that must commit together with the events describing it.
#[derive(Debug, Clone, PartialEq)]
pub enum Projection {
    Turn(TurnRow),
    Item(ItemRow),
    History(HistoryRow),
    /// A history row copied into a fork, keeping whether (and by which of the fork's turns) it
    /// was compacted away.
    CopiedHistory {
        row: HistoryRow,
        compacted_by: Option<String>,
    },
    /// Marks these turns rolled back: they leave the model's history, the turn list and the
    /// search index, and stay in the store for audit.
    RollBack {
        thread_id: String,
        turn_ids: Vec<String>,
    },
    /// Marks every history row of the thread that is in effect as compacted by `turn_id`. Goes
    /// before the summary's own history rows in the same batch.
    CompactHistory {
        thread_id: String,
        turn_id: String,
    },
    /// The conversation's size in tokens after this turn's latest model response.
    ContextTokens {
        turn_id: String,
        tokens: u64,
    },
}

/// An event waiting to be appended: `payload` is the notification's params, already JSON text
/// (the actor serialises once and reuses the text for the log and for every subscriber).
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub seq: u64,
    pub kind: String,
    pub payload: String,
    pub created_at: i64,
}

/// Everything one actor commits in one transaction: the thread row as it now is, every event in
/// its queue, and the projection changes those events describe.
#[derive(Debug, Clone, PartialEq)]
pub struct CommitBatch {
    pub thread: ThreadRow,
    pub events: Vec<NewEvent>,
    pub projections: Vec<Projection>,
}

/// Filters and page position for listing threads, newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ThreadListQuery {
    pub archived: bool,
    pub cwd: Option<String>,
    pub search_term: Option<String>,
    /// Only these source kinds (empty: all).
    pub source_kinds: Vec<String>,
    /// Only children of this thread.
    pub parent_id: Option<String>,
    /// Leave out ephemeral threads (`thread/list` does not show them).
    pub without_ephemeral: bool,
    /// The id of the last thread of the previous page.
    pub after_id: Option<String>,
    pub limit: u32,
}

/// A `thread/search` query: FTS5 over item text, best threads first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchQuery {
    /// The user's words; each is matched as a term (a trailing `*` makes it a prefix).
    pub text: String,
    pub archived: bool,
    /// Where the previous page ended (from [`SearchHit::cursor`]).
    pub after: Option<SearchCursor>,
    pub limit: u32,
}

/// A keyset position in search results: the score and id of the last thread of a page.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchCursor {
    pub score: f64,
    pub thread_id: String,
}

impl SearchCursor {
    /// Opaque text for `nextCursor`: the score's exact bits, so the next page resumes exactly.
    pub fn encode(&self) -> String {
        format!("{:016x}:{}", self.score.to_bits(), self.thread_id)
    }

    pub fn decode(text: &str) -> Option<SearchCursor> {
        let (bits, id) = text.split_once(':')?;
        let score = f64::from_bits(u64::from_str_radix(bits, 16).ok()?);
        (!id.is_empty() && score.is_finite()).then(|| SearchCursor {
            score,
            thread_id: id.to_owned(),
        })
    }
}

/// One thread matching a search, with its best-matching text.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    pub thread: ThreadRow,
    pub snippet: String,
    /// Where this hit sits in the ranking (for the next page's cursor).
    pub cursor: SearchCursor,
}

/// An event read back from the log.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub seq: u64,
    pub kind: String,
    /// The params as stored; empty when the row's payload is larger than
    /// [`MAX_STORED_EVENT_BYTES`] (or not text), which replay then refuses like any payload
    /// that is not a JSON object.
    pub payload: String,
}

/// The most payload bytes one event is read back with: a row written by something else must
/// not size an allocation. Far above what the daemon writes (a client's frame is 16 MiB by
/// default; a tool's output is cut long before); an event of its own past it would be sent
/// live and left out of replays.
pub const MAX_STORED_EVENT_BYTES: i64 = 256 << 20;

/// Payload bytes past which `events_after` ends a page early (after at least one event): a
/// page of 1,024 events of the largest size would otherwise be 64 GiB.
pub const PAGE_BYTES: usize = 32 << 20;

/// Whether a page `events_after(_, _, limit)` returned reaches the log's end: it is shorter
/// than asked for and was not ended early by [`PAGE_BYTES`].
pub fn is_last_page(events: &[StoredEvent], limit: u32) -> bool {
    events.len() < limit as usize
        && events.iter().map(|e| e.payload.len()).sum::<usize>() < PAGE_BYTES
}

/// Adds `event` to `page`; `false` once the page has reached [`PAGE_BYTES`] and should end.
pub(super) fn fill_page(
    page: &mut Vec<StoredEvent>,
    bytes: &mut usize,
    event: StoredEvent,
) -> bool {
    *bytes += event.payload.len();
    page.push(event);
    *bytes < PAGE_BYTES
}
