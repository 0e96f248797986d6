//! `turn/*` handlers: start, steer and interrupt the running turn of a thread.

use agentd_protocol::{
    TurnInterruptParams, TurnInterruptResponse, TurnStartParams, TurnSteerParams,
};

use super::dispatch::Handled;
use super::error::RpcError;
use crate::daemon::Daemon;

pub async fn start(daemon: &Daemon, p: TurnStartParams) -> Result<Handled, RpcError> {
    let handle = daemon.hub.load(&p.thread_id).await?;
    let answer = handle.start_turn(p).await?;
    Ok(Handled {
        result: answer,
        after: None,
    })
}

pub async fn steer(daemon: &Daemon, p: TurnSteerParams) -> Result<Handled, RpcError> {
    if p.input.is_empty() {
        return Err(RpcError::invalid_params("input", "must not be empty"));
    }
    let handle = daemon.hub.load(&p.thread_id).await?;
    let answer = handle
        .steer_turn(p.input, p.expected_turn_id, p.client_request_id)
        .await?;
    Ok(Handled {
        result: answer,
        after: None,
    })
}

pub async fn interrupt(daemon: &Daemon, p: TurnInterruptParams) -> Result<Handled, RpcError> {
    let handle = daemon.hub.load(&p.thread_id).await?;
    handle.interrupt_turn(p.turn_id).await?;
    Handled::new(TurnInterruptResponse {})
}
