//! Threads: the heart of the daemon.
//!
//! Each *loaded* thread is one task, a [`ThreadActor`](actor), that owns the thread's state and
//! its subscriber list. Every change becomes an event with the next `seq`; the actor commits the
//! events waiting in its queue in one transaction and only then fans them out, so a client is
//! never told about something a crash could lose. The [`ThreadHub`] finds, loads and unloads
//! actors.
//!
//! Files: `handle.rs` (how others talk to an actor), `actor.rs` (its loop), `commit.rs` (group
//! commit), `fanout.rs`, `catchup.rs` (replay), `turns.rs`, `approvals.rs`, `history.rs`
//! (rollback, fork), `hub.rs`, `convert.rs` (rows ↔ wire types).

mod actor;
mod agents;
mod approvals;
mod catchup;
mod cluster;
mod commit;
mod convert;
mod event;
mod fanout;
mod follower;
mod handle;
mod history;
mod hub;
mod idle;
mod remote_approvals;
mod session;
mod subscriber;
mod turns;

pub use approvals::ConnInfo;
pub use cluster::{forward_patience, Route};
pub use convert::{settings_of, thread_from_row, turns_from_rows, turns_json};
pub use event::frame_for;
pub use handle::{ActorHandle, CatchUp, ThreadUpdate};
pub use history::{ForkSnapshot, RollbackOutcome};
pub use hub::ThreadHub;
pub use remote_approvals::APPROVAL_ANSWER;
pub use subscriber::{ConnectionId, Subscriber};

pub use crate::port::{SettingsPatch, ThreadError, ThreadSettings};
