//! What every turn needs from the daemon: the config and one HTTP client per provider (so
//! connections are pooled across turns and threads).

use std::sync::Arc;

use crate::config::Config;
use crate::model::ModelError;

/// Placeholder until the provider clients land.
pub struct ModelClient;

impl ModelClient {
    pub fn stream(
        &self,
        _request: crate::model::ModelRequest,
    ) -> tokio::sync::mpsc::Receiver<Result<crate::model::ModelEvent, ModelError>> {
        tokio::sync::mpsc::channel(1).1
    }
}

pub struct AgentServices {
    pub config: Config,
}

impl AgentServices {
    pub fn new(config: Config) -> Self {
        AgentServices { config }
    }

    /// The client for a provider id, created on first use.
    pub fn client_for(&self, provider_id: &str) -> Result<Arc<ModelClient>, ModelError> {
        Err(ModelError::Config(format!(
            "model provider `{provider_id}` is not available yet"
        )))
    }
}
