//! Where hook runs are reported: `hook/started` and `hook/completed` events of the thread,
//! through a turn's emitter or (outside a turn: SessionStart, SessionEnd) the thread itself.

use agentd_protocol::{HookCompletedNotification, HookStartedNotification};
use async_trait::async_trait;

use crate::port::{ThreadError, TurnEmitter};

#[async_trait]
pub trait HookReporter: Send + Sync {
    fn thread_id(&self) -> &str;
    /// `None` outside a turn.
    fn turn_id(&self) -> Option<&str>;
    async fn started(&self, n: &HookStartedNotification) -> Result<(), ThreadError>;
    async fn completed(&self, n: &HookCompletedNotification) -> Result<(), ThreadError>;
}

#[async_trait]
impl HookReporter for TurnEmitter {
    fn thread_id(&self) -> &str {
        TurnEmitter::thread_id(self)
    }

    fn turn_id(&self) -> Option<&str> {
        Some(TurnEmitter::turn_id(self))
    }

    async fn started(&self, n: &HookStartedNotification) -> Result<(), ThreadError> {
        self.notify(n, Vec::new()).await
    }

    async fn completed(&self, n: &HookCompletedNotification) -> Result<(), ThreadError> {
        self.notify(n, Vec::new()).await
    }
}
