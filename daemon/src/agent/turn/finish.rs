//! The end of a turn: exactly one `turn/completed` (after an `error` when it failed), written
//! with the turn's stored row in the same commit.

use std::time::Instant;

use agentd_protocol::{
    ErrorNotification, Turn, TurnCompletedNotification, TurnItemsView, TurnStatus,
};

use super::{Ending, TurnRun};
use crate::clock::unix_now;
use crate::store::{Projection, TurnRow, TurnState};

impl TurnRun {
    pub(super) async fn finish(&mut self, ending: Ending, clock: Instant) {
        if matches!(ending, Ending::Completed) {
            self.idle_notification().await;
        }
        // An interrupted turn's sub-agents stop too.
        if let (Ending::Interrupted, Some(control)) = (&ending, self.services.agent_control()) {
            control.interrupt_children(self.emitter.thread_id()).await;
        }
        let (status, error) = match ending {
            Ending::Completed => (TurnStatus::Completed, None),
            Ending::Interrupted => (TurnStatus::Interrupted, None),
            Ending::Failed(e) => (TurnStatus::Failed, Some(e)),
        };
        let (thread_id, turn_id) = (
            self.emitter.thread_id().to_owned(),
            self.emitter.turn_id().to_owned(),
        );
        if let Some(e) = &error {
            let event = ErrorNotification {
                thread_id: Some(thread_id.clone()),
                turn_id: Some(turn_id.clone()),
                error: e.clone(),
                will_retry: false,
                seq: 0,
            };
            let _ = self.emitter.notify(&event, Vec::new()).await;
        }
        let turn = Turn {
            id: turn_id.clone(),
            status,
            error,
            // Codex's summary: the turn's final answer (a title turn's title, for one).
            items: self.final_message.take().into_iter().collect(),
            items_view: Some(TurnItemsView::Summary),
            started_at: Some(self.spec.started_at),
            completed_at: Some(unix_now()),
            duration_ms: Some(clock.elapsed().as_millis() as i64),
            usage: Some(self.usage_turn),
        };
        let row = TurnRow {
            id: turn_id.clone(),
            thread_id: thread_id.clone(),
            position: 0,
            status: TurnState::from(status),
            error: turn
                .error
                .as_ref()
                .and_then(|e| serde_json::to_value(e).ok()),
            started_at: turn.started_at,
            completed_at: turn.completed_at,
            duration_ms: turn.duration_ms,
            usage: serde_json::to_value(self.usage_turn).ok(),
            client_request_id: None,
            rolled_back: false,
        };
        let event = TurnCompletedNotification {
            thread_id,
            turn,
            seq: 0,
        };
        if let Err(e) = self
            .emitter
            .notify(&event, vec![Projection::Turn(row)])
            .await
        {
            tracing::error!(turn = %turn_id, error = %e, "could not record the end of a turn");
        }
    }
}
