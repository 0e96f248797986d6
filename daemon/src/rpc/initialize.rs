//! The handshake: `initialize` once per connection, before anything else.

use std::collections::HashSet;
use std::sync::Arc;

use agentd_protocol::params::initialize::{
    InitializeParams, InitializeResponse, ServerInfo, PROTOCOL_VERSION,
};

use super::connection::Session;
use super::dispatch::Handled;
use super::error::RpcError;
use crate::daemon::Daemon;

pub fn handle(
    daemon: &Daemon,
    session: &mut Session,
    params: InitializeParams,
) -> Result<Handled, RpcError> {
    if session.client_name.is_some() {
        return Err(RpcError::already_initialized());
    }
    session.client_name = Some(params.client_info.name.clone());
    if let Ok(mut name) = session.info.client_name.lock() {
        *name = Some(params.client_info.name.clone());
    }
    if let Some(list) = params
        .capabilities
        .and_then(|c| c.opt_out_notification_methods)
    {
        session.opt_out = Arc::new(list.into_iter().collect::<HashSet<_>>());
    }
    daemon.listen(session.conn, session.out.clone(), session.opt_out.clone());
    let version = env!("CARGO_PKG_VERSION");
    Handled::new(InitializeResponse {
        user_agent: format!(
            "agentd/{version} ({}; {})",
            std::env::consts::OS,
            std::env::consts::ARCH
        ),
        codex_home: daemon.config_dir.display().to_string(),
        platform_family: std::env::consts::FAMILY.to_owned(),
        platform_os: std::env::consts::OS.to_owned(),
        server_info: ServerInfo {
            name: "agentd".to_owned(),
            version: version.to_owned(),
        },
        protocol_version: PROTOCOL_VERSION.to_owned(),
    })
}
