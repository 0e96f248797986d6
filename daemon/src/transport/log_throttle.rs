//! At most one log line a second for an event anyone on the network can cause as often as they
//! like (refused connections): a flood of attempts must not become a flood of log lines.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const EVERY: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct LogThrottle {
    last: Mutex<Option<Instant>>,
    /// Events not logged since the last line.
    quiet: AtomicU64,
}

impl LogThrottle {
    /// `Some(n)` when this event may be logged, `n` being how many were not since the last
    /// line; `None` when it is to be counted only.
    pub fn allow(&self) -> Option<u64> {
        let now = Instant::now();
        let Ok(mut last) = self.last.lock() else {
            return None;
        };
        match *last {
            Some(at) if now.duration_since(at) < EVERY => {
                self.quiet.fetch_add(1, Ordering::Relaxed);
                None
            }
            _ => {
                *last = Some(now);
                Some(self.quiet.swap(0, Ordering::Relaxed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_then_a_count() {
        let t = LogThrottle::default();
        assert_eq!(t.allow(), Some(0));
        for _ in 0..5 {
            assert_eq!(t.allow(), None);
        }
        *t.last.lock().unwrap() = Some(Instant::now() - EVERY);
        assert_eq!(t.allow(), Some(5));
    }
}
