//! Replay for a new subscriber: stored events after its `afterSeq`, then live ones, with no gap
//! and no duplicate.
//!
//! The replay runs in its own task so a long history never occupies the actor; it may wait on
//! the subscriber's queue as long as it likes. When a page comes back short, it asks the actor to
//! switch it to live delivery *at the seq it reached*; the actor agrees only if nothing newer
//! has been committed meanwhile, so the hand-over point is exact.

use std::time::Duration;

use super::event::stored_frame;
use super::handle::{ActorHandle, GoLive};
use super::subscriber::Subscriber;
use crate::store::is_last_page;

const PAGE: u32 = 1024;

/// The first and the longest pause before reading again when the actor's head is ahead of a
/// log that has nothing more (see [`run`]).
const FIRST_PAUSE: Duration = Duration::from_millis(1);
const LONGEST_PAUSE: Duration = Duration::from_secs(1);

pub(super) async fn run(handle: ActorHandle, sub: Subscriber, mut cursor: u64) {
    let mut pause = FIRST_PAUSE;
    loop {
        let events = match handle.store.events_after(&handle.id, cursor, PAGE).await {
            Ok(events) => events,
            Err(e) => {
                tracing::error!(thread = %handle.id, error = %e, "replay failed; dropping the subscription");
                handle.unsubscribe(sub.conn).await;
                return;
            }
        };
        let last = is_last_page(&events, PAGE);
        let empty = events.is_empty();
        for e in events {
            cursor = e.seq;
            if !sub.wants(&e.kind) {
                continue;
            }
            let Some(frame) = stored_frame(&handle.id, &e) else {
                continue;
            };
            if sub.tx.send(frame).await.is_err() {
                handle.unsubscribe(sub.conn).await;
                return;
            }
        }
        if last {
            match handle.go_live(sub.conn, cursor).await {
                GoLive::Live | GoLive::Gone => return,
                // Events were committed since the read: read on.
                GoLive::Behind if !empty => pause = FIRST_PAUSE,
                // The read found nothing, yet the actor is ahead: it committed just after the
                // read, or its head is past the log (a thread row something else wrote). Read
                // again after a pause that grows, not in a loop that holds the worker.
                GoLive::Behind => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(LONGEST_PAUSE);
                }
            }
        }
    }
}
