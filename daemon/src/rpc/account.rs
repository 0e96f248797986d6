//! `account/read` and `configRequirements/read`: agentd has no accounts (provider keys come from
//! config and the environment) and no managed requirements, but Codex clients cannot start
//! without asking, so both answer with the empty truth.

use agentd_protocol::{ConfigRequirementsReadResponse, GetAccountResponse};

use super::dispatch::Handled;
use super::error::RpcError;

pub fn read<P>(_params: P) -> Result<Handled, RpcError> {
    Handled::new(GetAccountResponse {
        account: None,
        requires_openai_auth: false,
    })
}

pub fn config_requirements<P>(_params: P) -> Result<Handled, RpcError> {
    Handled::new(ConfigRequirementsReadResponse { requirements: None })
}
