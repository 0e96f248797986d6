//! Between the wire's turn status and the store's: two enums with the same four values, kept
//! apart so the store knows nothing of the protocol.

use agentd_protocol::TurnStatus;

use crate::store::TurnState;

impl From<TurnStatus> for TurnState {
    fn from(s: TurnStatus) -> Self {
        match s {
            TurnStatus::InProgress => TurnState::InProgress,
            TurnStatus::Completed => TurnState::Completed,
            TurnStatus::Interrupted => TurnState::Interrupted,
            TurnStatus::Failed => TurnState::Failed,
        }
    }
}

impl From<TurnState> for TurnStatus {
    fn from(s: TurnState) -> Self {
        match s {
            TurnState::InProgress => TurnStatus::InProgress,
            TurnState::Completed => TurnStatus::Completed,
            TurnState::Interrupted => TurnStatus::Interrupted,
            TurnState::Failed => TurnStatus::Failed,
        }
    }
}
