//! agentd as its own client: the entry points that drive a daemon rather than serve one
//! (`exec`, `mcp-server`; later `acp`) speak the same protocol as every other client, over an
//! in-memory link to a daemon in this process, over the private socket of the daemon serving the
//! data directory, or over WebSocket — never through a side API.

pub mod cli;
mod connection;
mod drive;
mod reach;
mod rpc;

pub use connection::{Connection, Incoming};
pub use drive::{run_to_exit, DriveArgs};
pub use reach::{reach, Connector, Reached};
pub use rpc::{ClientError, RpcClient};

/// The one-time token a local WebSocket daemon wrote for the data directory (`None` if there is
/// none): what `--connect` uses when no token is given.
pub fn local_token(data_dir: Option<&std::path::Path>) -> Option<String> {
    let data_dir = match data_dir {
        Some(d) => d.to_path_buf(),
        None => crate::paths::default_data_dir().ok()?,
    };
    let path = crate::auth::startup::runtime_token_path(&data_dir);
    let text = std::fs::read_to_string(path).ok()?;
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}
