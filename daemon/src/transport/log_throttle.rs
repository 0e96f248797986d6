//! At most one log line a second for an event anyone on the network can cause as often as they
//! like (refused connections): a flood of attempts must not become a flood of log lines.

use std::sync::Mutex;
use std::time::{Duration, Instant};

const EVERY: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct LogThrottle {
    /// When the last line was logged, and the events not logged since.
    state: Mutex<(Option<Instant>, u64)>,
}

impl LogThrottle {
    /// `Some(n)` when this event may be logged, `n` being how many were not since the last
    /// line; `None` when it is to be counted only.
    pub fn allow(&self) -> Option<u64> {
        let now = Instant::now();
        let Ok(mut state) = self.state.lock() else {
            return None;
        };
        let (last, quiet) = &mut *state;
        match *last {
            Some(at) if now.duration_since(at) < EVERY => {
                *quiet += 1;
                None
            }
            _ => {
                *last = Some(now);
                Some(std::mem::take(quiet))
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
        t.state.lock().unwrap().0 = Some(Instant::now() - EVERY);
        assert_eq!(t.allow(), Some(5));
    }
}
