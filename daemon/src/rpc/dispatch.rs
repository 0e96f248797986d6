//! From method name to typed handler.
//!
//! A plain `match` on the method name: every method the daemon serves is visible in one screen,
//! and anything else — including the many Codex methods agentd does not implement — gets -32601,
//! never silence.

use agentd_protocol::method::ClientMethod;
use agentd_protocol::methods::{
    AccountRateLimitsRead, AccountRead, CollaborationModeList, CommandExec, ConfigRead,
    ConfigRequirementsRead, HooksList, Initialize, McpServerReload, McpServerStatusList,
    MemoryRead, MemoryRebuild, MemoryReset, ModelList, PermissionProfileList, PluginInstalled,
    SkillsList, ThreadArchive, ThreadBackgroundTerminalsList, ThreadBackgroundTerminalsTerminate,
    ThreadCompactStart, ThreadDelete, ThreadFork, ThreadGoalGet, ThreadItemsList, ThreadList,
    ThreadLoadedList, ThreadRead, ThreadResume, ThreadRevert, ThreadRollback, ThreadSearch,
    ThreadSetName, ThreadStart, ThreadTurnsList, ThreadUnarchive, ThreadUnsubscribe, TurnInterrupt,
    TurnStart, TurnSteer,
};
use serde::Serialize;
use serde_json::Value;

use super::connection::Session;
use super::error::RpcError;
use super::{
    account, command, config, history, hooks, initialize, mcp, memory, pages, surface, thread, turn,
};
use crate::daemon::Daemon;
use crate::json_splice::write_json_with;
use crate::threads::CatchUp;

/// A successful answer as a `Value`, plus the replay to start once it is on its way. What most
/// handlers return; [`dispatch`] turns it into an [`Answer`].
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

    /// The answer as text, for the connection to frame.
    pub fn into_answer(self) -> Result<Answer, RpcError> {
        let result = serde_json::to_string(&self.result)
            .map_err(|e| RpcError::internal("serialising a result", e))?;
        Ok(Answer {
            result,
            after: self.after,
        })
    }

    /// The answer as text with `json` in place of the member at `path` (which the result must
    /// have). How a thread's turns reach the client: a 10k-item thread is megabytes of stored
    /// JSON, and splicing it in as text instead of going through a `Value` halved `thread/read`
    /// and `thread/resume` (docs/benchmarks.md, "History"). `json` must be one valid JSON value.
    pub fn into_answer_with(self, path: &[&str], json: &str) -> Result<Answer, RpcError> {
        let mut result = String::with_capacity(json.len() + 1024);
        write_json_with(&mut result, &self.result, path, json)
            .map_err(|e| RpcError::internal("writing a result", e))?;
        Ok(Answer {
            result,
            after: self.after,
        })
    }
}

/// What the connection sends for a successful request: the result as JSON text, which the
/// answer frame carries as it is (see `connection::result_frame`), and the replay to start once
/// the answer is on its way. Built only by [`Handled`], from `serde_json`'s output and text the
/// caller vouches for, so the text is always one valid JSON value.
pub struct Answer {
    result: String,
    pub after: Option<CatchUp>,
}

impl Answer {
    /// The result, JSON text.
    pub fn result(&self) -> &str {
        &self.result
    }
}

pub async fn dispatch(
    daemon: &Daemon,
    session: &mut Session,
    method: &str,
    params: Option<Value>,
) -> Result<Answer, RpcError> {
    if method == Initialize::METHOD {
        return initialize::handle(daemon, session, parse::<Initialize>(params)?)?.into_answer();
    }
    if session.client_name.is_none() {
        return Err(RpcError::not_initialized());
    }
    let needed = crate::auth::method_scope(method);
    if !session.scope.allows(needed) {
        return Err(RpcError::forbidden(method, session.scope, needed));
    }
    if let Some(answer) = super::forward::route(daemon, session, method, &params).await {
        return answer;
    }
    dispatch_here(daemon, session, method, params).await
}

/// Runs a request on this daemon (after [`dispatch`] decided it runs here, or forwarded by the
/// daemon that received it: `forward.rs`).
pub(super) async fn dispatch_here(
    daemon: &Daemon,
    session: &mut Session,
    method: &str,
    params: Option<Value>,
) -> Result<Answer, RpcError> {
    let needed = crate::auth::method_scope(method);
    if !session.scope.allows(needed) {
        return Err(RpcError::forbidden(method, session.scope, needed));
    }
    // The methods that answer with a thread's turns build their answer text themselves (see
    // `Handled::into_answer_with`); every other one answers with a `Value`.
    let handled = match method {
        ThreadStart::METHOD => thread::start(daemon, session, parse::<ThreadStart>(params)?).await,
        ThreadResume::METHOD => {
            return thread::resume(daemon, session, parse::<ThreadResume>(params)?).await
        }
        ThreadRead::METHOD => return thread::read(daemon, parse::<ThreadRead>(params)?).await,
        ThreadList::METHOD => thread::list(daemon, parse::<ThreadList>(params)?).await,
        ThreadArchive::METHOD => thread::archive(daemon, parse::<ThreadArchive>(params)?).await,
        ThreadUnarchive::METHOD => {
            thread::unarchive(daemon, parse::<ThreadUnarchive>(params)?).await
        }
        ThreadUnsubscribe::METHOD => {
            thread::unsubscribe(daemon, session, parse::<ThreadUnsubscribe>(params)?).await
        }
        ThreadSetName::METHOD => thread::set_name(daemon, parse::<ThreadSetName>(params)?).await,
        ThreadFork::METHOD => {
            return history::fork(daemon, session, parse::<ThreadFork>(params)?).await
        }
        ThreadRollback::METHOD => {
            return history::rollback(daemon, parse::<ThreadRollback>(params)?).await
        }
        ThreadSearch::METHOD => history::search(daemon, parse::<ThreadSearch>(params)?).await,
        ThreadCompactStart::METHOD => {
            history::compact_start(daemon, parse::<ThreadCompactStart>(params)?).await
        }
        TurnStart::METHOD => turn::start(daemon, session, parse::<TurnStart>(params)?).await,
        TurnSteer::METHOD => turn::steer(daemon, parse::<TurnSteer>(params)?).await,
        TurnInterrupt::METHOD => turn::interrupt(daemon, parse::<TurnInterrupt>(params)?).await,
        AccountRead::METHOD => account::read(parse::<AccountRead>(params)?),
        ModelList::METHOD => config::list_models(daemon, parse::<ModelList>(params)?),
        ConfigRead::METHOD => config::read(daemon, parse::<ConfigRead>(params)?),
        ConfigRequirementsRead::METHOD => {
            account::config_requirements(parse::<ConfigRequirementsRead>(params)?)
        }
        HooksList::METHOD => hooks::list(daemon, parse::<HooksList>(params)?).await,
        MemoryRead::METHOD => memory::read(daemon, parse::<MemoryRead>(params)?).await,
        MemoryReset::METHOD => memory::reset(daemon, parse::<MemoryReset>(params)?).await,
        MemoryRebuild::METHOD => memory::rebuild(daemon, parse::<MemoryRebuild>(params)?).await,
        agentd_protocol::methods::InstructionsList::METHOD => {
            super::instructions::list(
                daemon,
                parse::<agentd_protocol::methods::InstructionsList>(params)?,
            )
            .await
        }
        SkillsList::METHOD => surface::skills(daemon, parse::<SkillsList>(params)?),
        PluginInstalled::METHOD => surface::plugins(parse::<PluginInstalled>(params)?),
        CollaborationModeList::METHOD => {
            surface::collaboration_modes(parse::<CollaborationModeList>(params)?)
        }
        PermissionProfileList::METHOD => {
            surface::permission_profiles(parse::<PermissionProfileList>(params)?)
        }
        ThreadLoadedList::METHOD => {
            surface::loaded(daemon, parse::<ThreadLoadedList>(params)?).await
        }
        ThreadGoalGet::METHOD => surface::goal(daemon, parse::<ThreadGoalGet>(params)?).await,
        ThreadBackgroundTerminalsList::METHOD => {
            let p = parse::<ThreadBackgroundTerminalsList>(params)?;
            surface::background_terminals(daemon, p).await
        }
        ThreadBackgroundTerminalsTerminate::METHOD => {
            let p = parse::<ThreadBackgroundTerminalsTerminate>(params)?;
            surface::terminate_background_terminal(daemon, p).await
        }
        AccountRateLimitsRead::METHOD => {
            surface::rate_limits(parse::<AccountRateLimitsRead>(params)?)
        }
        ThreadTurnsList::METHOD => {
            pages::turns_list(daemon, parse::<ThreadTurnsList>(params)?).await
        }
        ThreadItemsList::METHOD => {
            pages::items_list(daemon, parse::<ThreadItemsList>(params)?).await
        }
        ThreadRevert::METHOD => history::revert(daemon, parse::<ThreadRevert>(params)?).await,
        ThreadDelete::METHOD => thread::delete(daemon, parse::<ThreadDelete>(params)?).await,
        CommandExec::METHOD => command::exec(daemon, parse::<CommandExec>(params)?).await,
        McpServerStatusList::METHOD => {
            mcp::status_list(daemon, parse::<McpServerStatusList>(params)?).await
        }
        McpServerReload::METHOD => mcp::reload(daemon, parse::<McpServerReload>(params)?).await,
        _ => Err(RpcError::method_not_found(method)),
    };
    handled?.into_answer()
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

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    #[test]
    fn answers_are_the_result_as_text() {
        let value = json!({"thread": {"turns": [], "name": "é \"q\""}, "model": "m"});
        let plain = Handled::new(&value).unwrap().into_answer().unwrap();
        assert_eq!(plain.result(), value.to_string());
        let spliced = Handled::new(&value)
            .unwrap()
            .into_answer_with(&["thread", "turns"], "[1, 2]")
            .unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(spliced.result()).unwrap(),
            json!({"thread": {"turns": [1, 2], "name": "é \"q\""}, "model": "m"})
        );
        assert!(Handled::new(&value)
            .unwrap()
            .into_answer_with(&["thread", "items"], "[]")
            .is_err());
    }
}
