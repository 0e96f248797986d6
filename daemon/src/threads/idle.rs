//! When an actor last had something to do, published for the hub's unloading sweep.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
pub(super) struct IdleClock {
    since: Mutex<Option<Instant>>,
}

impl IdleClock {
    /// Records whether the actor is idle now; an idle spell keeps its start.
    pub(super) fn set(&self, idle: bool) {
        if let Ok(mut since) = self.since.lock() {
            match (idle, since.is_some()) {
                (true, false) => *since = Some(Instant::now()),
                (false, true) => *since = None,
                _ => {}
            }
        }
    }

    /// How long the actor has been idle, if it is.
    pub(super) fn idle_for(&self) -> Option<Duration> {
        self.since.lock().ok()?.map(|s| s.elapsed())
    }
}
