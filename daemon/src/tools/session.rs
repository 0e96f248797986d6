//! `acceptForSession` answers remembered for one thread, so the same call is not asked about
//! again. Owned by the thread (and dropped when it unloads); capped, because a model can
//! generate any number of distinct command lines and each remembered one costs memory for the
//! thread's whole life.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

use super::handler::ApprovalKey;

/// Distinct answers remembered per thread; past it the oldest is forgotten (and would be asked
/// about again).
pub const MAX_SESSION_APPROVALS: usize = 512;

#[derive(Debug, Default)]
pub struct SessionApprovals {
    inner: Mutex<Remembered>,
}

#[derive(Debug, Default)]
struct Remembered {
    keys: HashSet<ApprovalKey>,
    order: VecDeque<ApprovalKey>,
}

impl SessionApprovals {
    /// Whether a person already accepted this call for the session. Files are covered when
    /// every one of them was approved, possibly by different answers.
    pub fn covers(&self, key: &ApprovalKey) -> bool {
        let Ok(r) = self.inner.lock() else {
            return false;
        };
        match key {
            ApprovalKey::Files(paths) => {
                !paths.is_empty()
                    && paths
                        .iter()
                        .all(|p| r.keys.contains(&ApprovalKey::Files(vec![p.clone()])))
            }
            other => r.keys.contains(other),
        }
    }

    pub fn remember(&self, key: ApprovalKey) {
        let Ok(mut r) = self.inner.lock() else {
            return;
        };
        let keys = match key {
            ApprovalKey::Files(paths) => paths
                .into_iter()
                .map(|p| ApprovalKey::Files(vec![p]))
                .collect(),
            other => vec![other],
        };
        for key in keys {
            if r.keys.insert(key.clone()) {
                r.order.push_back(key);
            }
            while r.order.len() > MAX_SESSION_APPROVALS {
                if let Some(old) = r.order.pop_front() {
                    r.keys.remove(&old);
                }
            }
        }
    }

    pub fn len(&self) -> usize {
        self.inner.lock().map(|r| r.keys.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn cmd(s: &str) -> ApprovalKey {
        ApprovalKey::Command(s.split(' ').map(str::to_owned).collect())
    }

    #[test]
    fn commands_are_remembered_exactly() {
        let s = SessionApprovals::default();
        s.remember(cmd("rm -rf build"));
        assert!(s.covers(&cmd("rm -rf build")));
        assert!(!s.covers(&cmd("rm -rf build /")));
    }

    #[test]
    fn files_are_covered_one_by_one() {
        let s = SessionApprovals::default();
        let (a, b) = (PathBuf::from("/w/a"), PathBuf::from("/w/b"));
        s.remember(ApprovalKey::Files(vec![a.clone()]));
        assert!(!s.covers(&ApprovalKey::Files(vec![a.clone(), b.clone()])));
        s.remember(ApprovalKey::Files(vec![b.clone()]));
        assert!(s.covers(&ApprovalKey::Files(vec![a, b])));
        assert!(!s.covers(&ApprovalKey::Files(Vec::new())));
    }

    #[test]
    fn the_memory_is_capped_and_forgets_the_oldest() {
        let s = SessionApprovals::default();
        for i in 0..MAX_SESSION_APPROVALS + 10 {
            s.remember(cmd(&format!("echo {i}")));
        }
        assert_eq!(s.len(), MAX_SESSION_APPROVALS);
        assert!(!s.covers(&cmd("echo 0")));
        assert!(s.covers(&cmd(&format!("echo {}", MAX_SESSION_APPROVALS + 9))));
    }
}
