//! The actor's group commit: events wait in a queue with their seqs, are committed in one
//! transaction per batch, and only then fanned out and answered.
//!
//! Streamed deltas still queued behind the commit in flight are merged into one event per item
//! (`docs/decisions/010-merged-deltas.md`): the text, its order and the seq sequence are
//! unchanged, only the number of events is smaller.

use std::time::Duration;

use agentd_protocol::ServerNotification;
use bytes::Bytes;
use serde_json::Value;

use super::actor::ThreadActor;
use super::handle::Reply;
use super::ThreadError;
use crate::clock::unix_now;
use crate::store::{CommitBatch, NewEvent, RowWrite, StoreError, ThreadRow};

/// How long a commit waits for a database that went away before its batch is given up.
const OUTAGE_PATIENCE: Duration = Duration::from_secs(10);

/// The pauses between attempts to reach a database that went away: 100 ms, doubling up to 1 s,
/// until [`OUTAGE_PATIENCE`] has passed since the first attempt.
pub(super) struct Patience {
    deadline: tokio::time::Instant,
    pause: Duration,
}

impl Patience {
    pub(super) fn new() -> Patience {
        Patience {
            deadline: tokio::time::Instant::now() + OUTAGE_PATIENCE,
            pause: Duration::from_millis(100),
        }
    }

    /// Waits before the next attempt; `false` (at once) when the patience is spent.
    pub(super) async fn wait(&mut self) -> bool {
        if tokio::time::Instant::now() >= self.deadline {
            return false;
        }
        tokio::time::sleep(self.pause).await;
        self.pause = (self.pause * 2).min(Duration::from_secs(1));
        true
    }
}

/// Largest delta text a merged event carries (bytes); past it the next delta starts a new event,
/// so no client gets one huge frame.
const MAX_MERGED_DELTA: usize = 16 * 1024;

/// The streamed-delta methods: consecutive queued deltas of one of these may be merged.
const MERGEABLE: [&str; 3] = [
    "item/agentMessage/delta",
    "item/reasoning/summaryTextDelta",
    "item/commandExecution/outputDelta",
];

/// The params that name the text a delta extends: its turn, item and (for reasoning) summary
/// part. Two deltas extend the same text when these are equal.
const MERGE_KEY: [&str; 3] = ["turnId", "itemId", "summaryIndex"];

/// An event with its seq, waiting for the commit; its params stay a `Value` until then so a
/// streamed delta can still be merged into it.
#[derive(Debug)]
pub(super) struct Queued {
    seq: u64,
    kind: &'static str,
    params: Value,
    /// A fire-and-forget streamed delta, which later deltas of the same text may extend.
    mergeable: bool,
}

/// An event serialised once, committed, and then sent to every subscriber as the same bytes.
#[derive(Debug, Clone)]
pub(super) struct Sealed {
    pub seq: u64,
    pub kind: &'static str,
    pub frame: Bytes,
}

impl Queued {
    /// The event as the store keeps it and as subscribers receive it.
    fn seal(self, created_at: i64) -> (NewEvent, Sealed) {
        let payload = self.params.to_string();
        let frame = super::event::frame_for(self.kind, &payload);
        let stored = NewEvent {
            seq: self.seq,
            kind: self.kind.to_owned(),
            payload,
            created_at,
        };
        let sealed = Sealed {
            seq: self.seq,
            kind: self.kind,
            frame,
        };
        (stored, sealed)
    }
}

/// Why a batch was not committed: the id it was logged under, whether the database was
/// merely out of reach, and whether another daemon holds the thread now (the client may retry
/// either way).
struct Failure {
    id: String,
    retryable: bool,
    fenced: bool,
}

/// An answer held back until the batch it belongs to is committed.
pub(super) enum Deferred {
    Row(Reply<ThreadRow>),
    Seq(Reply<u64>, u64),
    Unit(Reply<()>),
    Json(Reply<Value>, Value),
    Rollback(Reply<super::history::RollbackOutcome>, Vec<String>),
}

impl ThreadActor {
    /// Queues a notification of this thread; returns its seq.
    pub(super) fn push<N: ServerNotification>(&mut self, notification: &N) -> u64 {
        match serde_json::to_value(notification) {
            Ok(params) => self.push_event(N::METHOD, params),
            Err(e) => {
                tracing::error!(thread = %self.row.id, method = N::METHOD, error = %e, "cannot serialise an event");
                0
            }
        }
    }

    /// Assigns the next seq, stamps it into the params and queues the event.
    pub(super) fn push_event(&mut self, method: &'static str, mut params: Value) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        if let Value::Object(map) = &mut params {
            map.insert("seq".into(), Value::from(seq));
        }
        self.pending.push(Queued {
            seq,
            kind: method,
            params,
            mergeable: false,
        });
        self.row_dirty = true;
        seq
    }

    /// Queues an event from a turn: a streamed delta may be merged into the delta queued just
    /// before it when that extends the same text and has room left. A paced stream, each delta
    /// committed before the next arrives, is not merged at all.
    pub(super) fn push_from_turn(&mut self, method: &'static str, params: Value, plain: bool) {
        if !plain || !MERGEABLE.contains(&method) {
            self.push_event(method, params);
            return;
        }
        let Some(addition) = params.get("delta").and_then(Value::as_str) else {
            self.push_event(method, params);
            return;
        };
        if let Some(last) = self.pending.last_mut() {
            let same_text = last.mergeable
                && last.kind == method
                && MERGE_KEY
                    .iter()
                    .all(|k| last.params.get(k) == params.get(k));
            if let Some(Value::String(text)) = last.params.get_mut("delta") {
                if same_text && text.len() + addition.len() <= MAX_MERGED_DELTA {
                    text.push_str(addition);
                    return;
                }
            }
        }
        self.push_event(method, params);
        if let Some(last) = self.pending.last_mut() {
            last.mergeable = true;
        }
    }

    pub(super) fn pending_events(&self) -> usize {
        self.pending.len()
    }

    /// Commits the batch, then fans it out, then answers the commands that made it.
    pub(super) async fn flush(&mut self) {
        if !self.shares.is_empty() {
            self.wait_for_shares().await;
        }
        let deferred = std::mem::take(&mut self.deferred);
        if !self.row_dirty && self.pending.is_empty() && self.projections.is_empty() {
            // Nothing to write: answers waiting on "committed" (barriers) are already true.
            self.answer(deferred, None);
            return;
        }
        let now = unix_now();
        self.row.last_seq = self.next_seq - 1;
        if !self.pending.is_empty() {
            self.row.updated_at = now;
        }
        // Serialised once, now that no delta can be merged into them any more.
        let (stored, events): (Vec<NewEvent>, Vec<Sealed>) = std::mem::take(&mut self.pending)
            .into_iter()
            .map(|q| q.seal(now))
            .unzip();
        // Most batches (every streamed delta) only advance `last_seq`/`updated_at`; the store
        // then skips the upsert that rewrites the row's index entries, and the batch takes the
        // committed row with its progress advanced instead of a copy of the actor's (nothing
        // reads `committed` while this method awaits the commit).
        let progress_only = self.row_stored && self.row.only_progress_differs(&self.committed);
        let before = (self.committed.last_seq, self.committed.updated_at);
        let (thread, row_write) = if progress_only {
            let mut thread = std::mem::take(&mut self.committed);
            thread.last_seq = self.row.last_seq;
            thread.updated_at = self.row.updated_at;
            (thread, RowWrite::Progress)
        } else {
            (self.row.clone(), RowWrite::Upsert)
        };
        let batch = CommitBatch {
            thread,
            events: stored,
            projections: std::mem::take(&mut self.projections),
        };
        match self.commit_patiently(&batch, row_write).await {
            Ok(()) => {
                // The batch's copy of the row is the row as committed now.
                self.committed = batch.thread;
                self.row_stored = true;
                self.row_dirty = false;
                self.fan_out(&events);
                self.answer(deferred, None);
            }
            Err(e) => {
                // Nothing of the batch reached a client; rewind so seq stays gap-free.
                let id = crate::errors::log_id(&e);
                if matches!(e, crate::store::StoreError::Fenced(_)) {
                    tracing::warn!(thread = %self.row.id, error_id = %id, "fenced: another daemon holds this thread now; the write was refused and nothing of it reached a client");
                } else {
                    tracing::error!(thread = %self.row.id, error = %e, error_id = %id, "commit failed; events dropped");
                }
                if progress_only {
                    // The committed row lent to the batch, with the progress it had before.
                    self.committed = batch.thread;
                    (self.committed.last_seq, self.committed.updated_at) = before;
                }
                self.row = self.committed.clone();
                self.next_seq = self.committed.last_seq + 1;
                let failure = Failure {
                    id,
                    retryable: e.is_unavailable(),
                    fenced: matches!(e, crate::store::StoreError::Fenced(_)),
                };
                self.answer(deferred, Some(failure));
            }
        }
    }

    /// What a batch says happened after a question was shared must not reach the other
    /// daemons before the question (or its resolution) does. A database out of reach holds
    /// the batch no longer than a commit would wait for it.
    async fn wait_for_shares(&mut self) {
        let shared = futures_util::future::join_all(std::mem::take(&mut self.shares));
        if tokio::time::timeout(OUTAGE_PATIENCE, shared).await.is_err() {
            tracing::warn!(thread = %self.row.id, "questions for the other daemons are still being written; committing without waiting");
        }
    }

    /// Commits the batch, riding out a short database outage (a PostgreSQL restart, a dropped
    /// connection): the actor waits, holding its batch, for up to [`OUTAGE_PATIENCE`] rather
    /// than drop events a client was about to see. A commit whose answer was lost with the
    /// connection may have landed: [`ThreadActor::landed`] tells, so nothing is committed twice.
    async fn commit_patiently(&self, batch: &CommitBatch, row: RowWrite) -> Result<(), StoreError> {
        let mut patience = Patience::new();
        let mut result = self.store.commit_as(batch, row, self.epoch).await;
        let mut retried = false;
        loop {
            let retry = match &result {
                Err(e) if e.is_unavailable() => true,
                // A retry that finds its seqs taken: the first attempt may have landed.
                Err(e) if retried && e.is_duplicate() => true,
                _ => false,
            };
            if !retry || !patience.wait().await {
                return result;
            }
            retried = true;
            result = match self.landed(batch).await {
                Ok(true) => Ok(()),
                Ok(false) => self.store.commit_as(batch, row, self.epoch).await,
                Err(e) => Err(e),
            };
        }
    }

    /// Whether `batch` is in the store: its last event is there, byte for byte. The same seq
    /// with other content means another daemon wrote the thread meanwhile (this one is fenced).
    async fn landed(&self, batch: &CommitBatch) -> Result<bool, StoreError> {
        let Some(last) = batch.events.last() else {
            return Ok(false);
        };
        let stored = self
            .store
            .events_after(&batch.thread.id, last.seq.saturating_sub(1), 1)
            .await?;
        // A payload past what is read back comes back empty: the same event, if it was ours.
        let withheld = |stored: &str| {
            stored.is_empty() && last.payload.len() as i64 > crate::store::MAX_STORED_EVENT_BYTES
        };
        match stored.first() {
            Some(e) if e.seq == last.seq && (e.payload == last.payload || withheld(&e.payload)) => {
                Ok(true)
            }
            Some(e) if e.seq == last.seq => Err(StoreError::Fenced(batch.thread.id.clone())),
            _ => Ok(false),
        }
    }

    /// Answers held-back commands: with their results, or with the commit's failure.
    fn answer(&self, deferred: Vec<Deferred>, failure: Option<Failure>) {
        let err = || match &failure {
            Some(f) if f.fenced => ThreadError::Moved(self.row.id.clone()),
            Some(f) if f.retryable => ThreadError::Unavailable(f.id.clone()),
            Some(f) => ThreadError::CommitFailed(f.id.clone()),
            None => ThreadError::CommitFailed(String::new()),
        };
        let failed = failure.is_some();
        for d in deferred {
            match d {
                Deferred::Row(r) => {
                    let _ = r.send(if failed {
                        Err(err())
                    } else {
                        Ok(self.committed.clone())
                    });
                }
                Deferred::Seq(r, seq) => {
                    let _ = r.send(if failed { Err(err()) } else { Ok(seq) });
                }
                Deferred::Unit(r) => {
                    let _ = r.send(if failed { Err(err()) } else { Ok(()) });
                }
                Deferred::Json(r, v) => {
                    let _ = r.send(if failed { Err(err()) } else { Ok(v) });
                }
                Deferred::Rollback(r, changed_files) => {
                    let _ = r.send(if failed {
                        Err(err())
                    } else {
                        Ok(super::history::RollbackOutcome {
                            thread: self.committed.clone(),
                            changed_files,
                        })
                    });
                }
            }
        }
    }
}
