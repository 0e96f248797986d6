//! From method name to typed handler.
//!
//! A plain `match` on the method name: every method the daemon serves is visible in one screen,
//! and anything else — including the many Codex methods agentd does not implement — gets -32601,
//! never silence.

use agentd_protocol::method::ClientMethod;
use agentd_protocol::methods::{
    AccountRead, ConfigRead, ConfigRequirementsRead, Initialize, ModelList, ThreadArchive,
    ThreadCompactStart, ThreadFork, ThreadList, ThreadRead, ThreadResume, ThreadRollback,
    ThreadSearch, ThreadSetName, ThreadStart, ThreadUnarchive, ThreadUnsubscribe, TurnInterrupt,
    TurnStart, TurnSteer,
};
use serde::Serialize;
use serde_json::Value;

use super::connection::Session;
use super::error::RpcError;
use super::{account, config, history, initialize, thread, turn};
use crate::daemon::Daemon;
use crate::threads::CatchUp;

/// A successful answer, plus the replay to start once it is on its way.
pub struct Handled {
    pub result: Value,
    pub after: Option<CatchUp>,
}

impl Handled {
    pub fn new(result: impl Serialize) -> Result<Self, RpcError> {
        let result = serde_json::to_value(result)
            .map_err(|e| RpcError::internal("serialising a result", e))?;
        Ok(Handled {
            result,
            after: None,
        })
    }

    pub fn then(mut self, after: CatchUp) -> Self {
        self.after = Some(after);
        self
    }
}

pub async fn dispatch(
    daemon: &Daemon,
    session: &mut Session,
    method: &str,
    params: Option<Value>,
) -> Result<Handled, RpcError> {
    if method == Initialize::METHOD {
        return initialize::handle(daemon, session, parse::<Initialize>(params)?);
    }
    if session.client_name.is_none() {
        return Err(RpcError::not_initialized());
    }
    let needed = crate::auth::method_scope(method);
    if !session.scope.allows(needed) {
        return Err(RpcError::forbidden(method, session.scope, needed));
    }
    match method {
        ThreadStart::METHOD => thread::start(daemon, session, parse::<ThreadStart>(params)?).await,
        ThreadResume::METHOD => {
            thread::resume(daemon, session, parse::<ThreadResume>(params)?).await
        }
        ThreadRead::METHOD => thread::read(daemon, parse::<ThreadRead>(params)?).await,
        ThreadList::METHOD => thread::list(daemon, parse::<ThreadList>(params)?).await,
        ThreadArchive::METHOD => thread::archive(daemon, parse::<ThreadArchive>(params)?).await,
        ThreadUnarchive::METHOD => {
            thread::unarchive(daemon, parse::<ThreadUnarchive>(params)?).await
        }
        ThreadUnsubscribe::METHOD => {
            thread::unsubscribe(daemon, session, parse::<ThreadUnsubscribe>(params)?).await
        }
        ThreadSetName::METHOD => thread::set_name(daemon, parse::<ThreadSetName>(params)?).await,
        ThreadFork::METHOD => history::fork(daemon, session, parse::<ThreadFork>(params)?).await,
        ThreadRollback::METHOD => history::rollback(daemon, parse::<ThreadRollback>(params)?).await,
        ThreadSearch::METHOD => history::search(daemon, parse::<ThreadSearch>(params)?).await,
        ThreadCompactStart::METHOD => {
            history::compact_start(daemon, parse::<ThreadCompactStart>(params)?).await
        }
        TurnStart::METHOD => turn::start(daemon, parse::<TurnStart>(params)?).await,
        TurnSteer::METHOD => turn::steer(daemon, parse::<TurnSteer>(params)?).await,
        TurnInterrupt::METHOD => turn::interrupt(daemon, parse::<TurnInterrupt>(params)?).await,
        AccountRead::METHOD => account::read(parse::<AccountRead>(params)?),
        ModelList::METHOD => config::list_models(daemon, parse::<ModelList>(params)?),
        ConfigRead::METHOD => config::read(daemon, parse::<ConfigRead>(params)?),
        ConfigRequirementsRead::METHOD => {
            account::config_requirements(parse::<ConfigRequirementsRead>(params)?)
        }
        _ => Err(RpcError::method_not_found(method)),
    }
}

/// Deserialises params, naming the offending field on failure. Absent params are read as `{}`
/// so methods whose fields are all optional accept a bare call.
pub fn parse<M: ClientMethod>(params: Option<Value>) -> Result<M::Params, RpcError> {
    let value = params.unwrap_or_else(|| Value::Object(Default::default()));
    serde_path_to_error::deserialize::<_, M::Params>(value.clone()).map_err(|e| {
        let mut path = e.path().to_string();
        let detail = e.inner().to_string();
        // serde reports a missing field at the parent's path; name the field itself.
        if let Some(rest) = detail.strip_prefix("missing field `") {
            if let Some(field) = rest.split('`').next() {
                path = if path == "." {
                    field.to_owned()
                } else {
                    format!("{path}.{field}")
                };
            }
        } else if path == "." {
            // Flattened fields lose their path in serde; find the culprit by elimination.
            if let Some(field) = culprit::<M>(&value) {
                path = field;
            }
        }
        RpcError::invalid_params(&path, detail)
    })
}

/// The top-level field whose removal makes the params acceptable (or merely missing), if one
/// does. Runs only on the error path.
fn culprit<M: ClientMethod>(value: &Value) -> Option<String> {
    let Value::Object(map) = value else {
        return None;
    };
    map.keys().find_map(|key| {
        let mut without = map.clone();
        without.remove(key);
        match serde_json::from_value::<M::Params>(Value::Object(without)) {
            Ok(_) => Some(key.clone()),
            Err(e) if e.to_string().starts_with(&format!("missing field `{key}`")) => {
                Some(key.clone())
            }
            Err(_) => None,
        }
    })
}
