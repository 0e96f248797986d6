//! agentd as its own client: the entry points that drive a daemon rather than serve one
//! (`exec`; later `acp`, `mcp-server`) speak the same protocol as every other client, over an
//! in-memory link to a daemon in this process, over the private socket of the daemon serving the
//! data directory, or over WebSocket — never through a side API.

mod connection;
mod rpc;

pub use connection::{Connection, Incoming};
pub use rpc::{ClientError, RpcClient};
