//! Reaching a daemon, for the entry points that drive one (`exec`, `mcp-server`): `--connect`
//! names one; otherwise the daemon serving the data directory (through its private socket);
//! otherwise one started in this process, which the caller stops at the end.

use std::path::PathBuf;
use std::sync::Arc;

use agentd_protocol::methods::Initialize;
use agentd_protocol::{ClientInfo, InitializeParams};
use anyhow::Context;

use super::{Connection, RpcClient};
use crate::daemon::Daemon;
use crate::server::{Host, ServeOptions};
use crate::store::{DataDirLock, StoreError};

/// How to open (more) connections to the daemon reached.
#[derive(Clone)]
pub enum Connector {
    InProcess(Arc<Daemon>),
    Local(PathBuf),
    WebSocket { url: String, token: Option<String> },
}

/// A daemon to drive, and the one this process runs when it had to start one (stop it with
/// [`Host::stop`] at the end).
pub struct Reached {
    pub connector: Connector,
    pub host: Option<Host>,
}

/// `connect`: a WebSocket URL and its token; otherwise the data directory of `opts`.
pub async fn reach(
    opts: &ServeOptions,
    connect: Option<(String, Option<String>)>,
) -> anyhow::Result<Reached> {
    if let Some((url, token)) = connect {
        return Ok(Reached {
            connector: Connector::WebSocket { url, token },
            host: None,
        });
    }
    let data_dir = opts.data_dir()?;
    // The config first: a typo in it stops the run before anything is touched.
    let loaded = opts.load_config()?;
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
    match DataDirLock::acquire(&data_dir) {
        Ok(lock) => {
            let host = Host::start(opts, loaded, &data_dir, lock).await?;
            Ok(Reached {
                connector: Connector::InProcess(host.daemon.clone()),
                host: Some(host),
            })
        }
        Err(StoreError::Locked(_)) => Ok(Reached {
            connector: Connector::Local(data_dir),
            host: None,
        }),
        Err(e) => Err(e.into()),
    }
}

impl Connector {
    /// A new connection, initialized as `client_name`.
    pub async fn connect(&self, client_name: &str) -> anyhow::Result<RpcClient> {
        let conn = match self {
            Connector::InProcess(daemon) => Connection::in_process(daemon.clone()),
            Connector::Local(data_dir) => Connection::local(data_dir).await.with_context(|| {
                format!(
                    "stop the daemon serving {}, or reach it with `--connect ws://…`",
                    data_dir.display()
                )
            })?,
            Connector::WebSocket { url, token } => {
                Connection::websocket(url, token.as_deref()).await?
            }
        };
        let mut client = RpcClient::new(conn);
        let params = InitializeParams {
            client_info: ClientInfo {
                name: client_name.to_owned(),
                title: None,
                version: env!("CARGO_PKG_VERSION").into(),
            },
            capabilities: None,
        };
        client.call::<Initialize>(&params).await?;
        client.notify("initialized")?;
        Ok(client)
    }
}
