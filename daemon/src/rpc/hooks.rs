//! `hooks/list`: every hook that applies in a working directory — config.toml's and the
//! settings files' — with its source file, event and whether it may run (trust).

use std::path::PathBuf;

use agentd_protocol::{
    HookHandlerType, HookMetadata, HooksListEntry, HooksListParams, HooksListResponse,
};
use sha2::{Digest, Sha256};

use super::dispatch::Handled;
use super::error::RpcError;
use crate::daemon::Daemon;
use crate::tools::hooks::{wire_event, Hook, HookSet};

/// Working directories one call may ask about.
const MAX_CWDS: usize = 32;

pub async fn list(daemon: &Daemon, p: HooksListParams) -> Result<Handled, RpcError> {
    let cwds: Vec<PathBuf> = match (&p.thread_id, &p.cwds) {
        (Some(id), _) => {
            let row = daemon
                .hub
                .store()
                .thread(id)
                .await?
                .ok_or_else(|| RpcError::not_found(format!("thread {id}")))?;
            vec![PathBuf::from(row.cwd)]
        }
        (None, Some(cwds)) if !cwds.is_empty() => {
            if cwds.len() > MAX_CWDS {
                return Err(RpcError::invalid_params(
                    "cwds",
                    format!("at most {MAX_CWDS} directories"),
                ));
            }
            cwds.iter().map(PathBuf::from).collect()
        }
        _ => vec![daemon.config.default_cwd.clone()],
    };
    let config = &daemon.hub.services().config;
    let mut data = Vec::with_capacity(cwds.len());
    for cwd in cwds {
        let set = HookSet::load_off_worker(&config.hooks, &config.projects, &cwd).await;
        data.push(HooksListEntry {
            cwd: cwd.display().to_string(),
            hooks: set
                .all()
                .iter()
                .enumerate()
                .map(|(i, h)| metadata(i, h))
                .collect(),
            warnings: set.warnings,
            errors: set.errors,
        });
    }
    Handled::new(HooksListResponse { data })
}

fn metadata(index: usize, hook: &Hook) -> HookMetadata {
    let command = hook.command.join(" ");
    let command = match hook.command.as_slice() {
        [sh, c, text] if sh == "sh" && c == "-c" => text.clone(),
        _ => command,
    };
    let mut hasher = Sha256::new();
    hasher.update(command.as_bytes());
    hasher.update([0]);
    hasher.update(hook.matcher_text.as_deref().unwrap_or("").as_bytes());
    hasher.update(hook.timeout.as_millis().to_le_bytes());
    let hash: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    HookMetadata {
        handler_type: HookHandlerType::Command,
        event_name: wire_event(hook.event),
        event: hook.event.name().to_owned(),
        matcher: hook.matcher_text.clone(),
        source: hook.source,
        source_path: hook.source_path.clone(),
        display_order: index as i64,
        timeout_sec: hook.timeout.as_secs().max(1),
        trust_status: hook.trust,
        enabled: hook.enabled(),
        is_managed: false,
        key: format!("{}:{}:{index}", hook.source_path, hook.event.name()),
        current_hash: hash,
        command,
    }
}
