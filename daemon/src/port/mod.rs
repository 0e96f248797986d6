//! The port between a running turn and its thread.
//!
//! The agent loop (`agent/`) and the tools (`tools/`) sit *below* `threads/`: a turn must not
//! reach up into the actor that owns it. What it needs from its thread — append events, persist
//! rows, wait for a commit, ask the people watching for an approval, say that it ended — is this
//! module: a [`ThreadLink`] carrying [`PortRequest`]s over a bounded channel that the thread
//! actor drains alongside its own commands. `threads/` implements the far end; nothing here
//! knows what an actor is.
//!
//! Everything a turn sends is typed: notifications are `agentd_protocol` structs (see
//! [`TurnEmitter::notify`]) and approval questions are [`ApprovalRequest`]s, so the wire shapes
//! come from `protocol/` and nowhere else.

mod approval;
mod emitter;
mod error;
mod settings;
mod status;

pub use approval::{ask, ApprovalAnswer, ApprovalOutcome, ApprovalRequest};
pub use emitter::TurnEmitter;
pub use error::ThreadError;
pub use settings::{SettingsPatch, ThreadSettings, WorktreeMeta};

use agentd_protocol::{ApprovalDecision, UserInput};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::store::{Projection, Store};

/// Requests a turn may have queued on its thread before it waits for room: the turn's model
/// stream is the producer, and waiting here is its back-pressure.
pub const PORT_QUEUE: usize = 1024;

/// What a turn asks of its thread.
pub enum PortRequest {
    /// Append an event (with the projection rows it implies); committed with the next batch.
    Emit {
        method: &'static str,
        params: Value,
        projections: Vec<Projection>,
    },
    /// Rows with no event of their own (a tool output entering history).
    Persist { projections: Vec<Projection> },
    /// Answers once everything sent before it is committed.
    Barrier {
        reply: oneshot::Sender<Result<(), ThreadError>>,
    },
    /// Ask every subscriber (now and later); `reply` gets the approval's id, `waiter` its outcome.
    RequestApproval {
        /// Boxed: it is much larger than the other requests, which fill the queue.
        request: Box<ApprovalRequest>,
        waiter: oneshot::Sender<ApprovalOutcome>,
        reply: oneshot::Sender<u64>,
    },
    /// End an approval without a client's answer (its deadline passed, the turn was interrupted).
    CancelApproval {
        approval: u64,
        decision: ApprovalDecision,
        by: &'static str,
    },
    /// The turn is over; sent after its `turn/completed`, so no event of the turn follows it.
    Finished { turn_id: String },
}

/// A turn's end of the port: cheap to clone, one per running turn.
#[derive(Clone)]
pub struct ThreadLink {
    thread_id: String,
    turn_id: String,
    store: Store,
    tx: mpsc::Sender<PortRequest>,
}

impl ThreadLink {
    pub fn new(
        thread_id: String,
        turn_id: String,
        store: Store,
        tx: mpsc::Sender<PortRequest>,
    ) -> Self {
        ThreadLink {
            thread_id,
            turn_id,
            store,
            tx,
        }
    }

    pub fn thread_id(&self) -> &str {
        &self.thread_id
    }

    pub fn turn_id(&self) -> &str {
        &self.turn_id
    }

    /// The store, for reading the thread's history (writes go through the thread).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Queues a request, waiting only for room in the queue.
    pub async fn send(&self, request: PortRequest) -> Result<(), ThreadError> {
        self.tx
            .send(request)
            .await
            .map_err(|_| ThreadError::Closed(self.thread_id.clone()))
    }

    /// Resolves once everything sent before it is committed.
    pub async fn barrier(&self) -> Result<(), ThreadError> {
        let (reply, rx) = oneshot::channel();
        self.send(PortRequest::Barrier { reply }).await?;
        rx.await
            .map_err(|_| ThreadError::Closed(self.thread_id.clone()))?
    }

    /// Queues rows with no event of their own; they commit with the next batch.
    pub async fn persist(&self, projections: Vec<Projection>) -> Result<(), ThreadError> {
        self.send(PortRequest::Persist { projections }).await
    }

    /// Tells the thread the turn is over. Best effort: a thread that is gone has nobody to tell.
    pub async fn finished(&self) {
        let _ = self
            .send(PortRequest::Finished {
                turn_id: self.turn_id.clone(),
            })
            .await;
    }
}

/// Joins the text parts of an input for the model; images are not sent yet.
pub fn input_text(input: &[UserInput]) -> String {
    input
        .iter()
        .filter_map(|i| match i {
            UserInput::Text { text, .. } => Some(text.clone()),
            // Codex's skills and mentions reach the model as references it can open.
            UserInput::Skill { name, path } => Some(format!("[skill {name}: {path}]")),
            UserInput::Mention { name, path } => Some(format!("[mentioned {name}: {path}]")),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}
