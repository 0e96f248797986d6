//! The points of a turn that are not the model's: lifecycle hooks (SessionStart's context,
//! UserPromptSubmit before the first request, PreModelRequest before each, PreCompact and
//! PostCompact around a compaction, Stop after the last, Notification when the turn is done;
//! the tool hooks run in the orchestrator), and input a client steered in while the turn ran.

use agentd_protocol::{
    HookPromptFragment, HookPromptItem, ThreadItem, TurnError, UserInput, UserMessageItem,
};

use super::{Ending, TurnRun};
use crate::model::HistoryItem;
use crate::port::ThreadError;
use crate::tools::hooks::{permission_mode, Fired, HookContext, HookSite};

impl TurnRun {
    pub(super) fn hook_site(&self) -> HookSite<'_> {
        HookSite {
            set: &self.hooks,
            reporter: &self.emitter,
            cwd: &self.cwd,
            cancel: &self.spec.cancel,
            permission_mode: permission_mode(self.spec.settings.approval_policy),
        }
    }

    /// The context SessionStart hooks gave when the session started (or resumed), waited for
    /// if they are still running.
    pub(super) async fn session_context(&mut self) -> Result<(), ThreadError> {
        let Some(pending) = self.spec.session_context.take() else {
            return Ok(());
        };
        let context = pending.await.unwrap_or_default();
        self.add_hook_context(context).await
    }

    /// UserPromptSubmit: a block fails the turn with kind `hookBlocked` before any model
    /// request; `continue: false` ends it (`hookStopped`); context joins the model's input.
    pub(super) async fn user_prompt_hooks(&mut self) -> Result<(), Ending> {
        let prompt = self.history.iter().rev().find_map(|h| match h {
            HistoryItem::UserMessage { text, .. } => Some(text.as_str()),
            _ => None,
        });
        let fired = self
            .hook_site()
            .user_prompt_submit(prompt.unwrap_or_default())
            .await?;
        if let Some(reason) = fired.block {
            return Err(Ending::Failed(TurnError {
                message: format!("prompt blocked by hook: {reason}"),
                kind: Some("hookBlocked".to_owned()),
            }));
        }
        stopped(&fired)?;
        self.add_hook_context(fired.context).await?;
        Ok(())
    }

    /// PreModelRequest: context for this one request only (not kept in the history).
    pub(super) async fn pre_model_request_hooks(
        &mut self,
        request: usize,
    ) -> Result<Vec<HistoryItem>, Ending> {
        let fired = self
            .hook_site()
            .pre_model_request(&self.spec.model, request)
            .await?;
        stopped(&fired)?;
        Ok(fired
            .context
            .into_iter()
            .map(|c| HistoryItem::HookContext { text: c.text })
            .collect())
    }

    /// Notes about sub-agents that finished while this thread was busy: added to the history
    /// before the next model request (so the model need not poll).
    pub(super) async fn take_agent_notes(&mut self) -> Result<(), ThreadError> {
        let Some(control) = self.services.agent_control() else {
            return Ok(());
        };
        let notes: Vec<HistoryItem> = control
            .take_notes(self.emitter.thread_id())
            .into_iter()
            .map(|text| HistoryItem::HookContext { text })
            .collect();
        if notes.is_empty() {
            return Ok(());
        }
        let rows = self.emitter.history_rows(&notes);
        self.emitter.link().persist(rows).await?;
        self.history.extend(notes);
        Ok(())
    }

    /// PreCompact: `false` when a hook blocked the compaction.
    pub(super) async fn pre_compact_hooks(&self, trigger: &str) -> Result<bool, Ending> {
        let fired = self.hook_site().pre_compact(trigger).await?;
        if let Some(reason) = &fired.block {
            tracing::info!(turn = %self.emitter.turn_id(), %reason, "a PreCompact hook blocked compaction");
        }
        Ok(fired.block.is_none())
    }

    pub(super) async fn post_compact_hooks(&self, trigger: &str) -> Result<(), Ending> {
        let summary = self.history.iter().rev().find_map(|h| match h {
            HistoryItem::CompactionSummary { text } => Some(text.as_str()),
            _ => None,
        });
        self.hook_site()
            .post_compact(trigger, summary.unwrap_or_default())
            .await?;
        Ok(())
    }

    /// Notification (`idle_prompt`): the turn's work is done and the agent waits for a person.
    pub(super) async fn idle_notification(&self) {
        let site = self.hook_site();
        if let Err(e) = site
            .notification("idle_prompt", "agentd is waiting for your input")
            .await
        {
            tracing::debug!(error = %e, "idle notification not reported");
        }
    }

    /// Context from hooks: a `hookPrompt` item for clients, and a developer message in the
    /// history for the model.
    pub(super) async fn add_hook_context(
        &mut self,
        context: Vec<HookContext>,
    ) -> Result<(), ThreadError> {
        if context.is_empty() {
            return Ok(());
        }
        let position = self.emitter.next_position();
        let item = ThreadItem::HookPrompt(HookPromptItem {
            id: uuid::Uuid::now_v7().to_string(),
            fragments: context
                .iter()
                .map(|c| HookPromptFragment {
                    hook_run_id: c.run_id.clone(),
                    text: c.text.clone(),
                })
                .collect(),
        });
        self.emitter.item_started(&item).await?;
        self.emitter.item_completed(&item, position).await?;
        let history: Vec<HistoryItem> = context
            .into_iter()
            .map(|c| HistoryItem::HookContext { text: c.text })
            .collect();
        let rows = self.emitter.history_rows(&history);
        self.emitter.link().persist(rows).await?;
        self.history.extend(history);
        Ok(())
    }

    /// Stop: the model ended the turn. A block (exit 2 or `decision: "block"`; the first in
    /// this turn only) adds the hook's reason as a user message, and the caller asks the model
    /// again.
    pub(super) async fn stop_hooks_continue(&mut self) -> Result<bool, Ending> {
        let last_message = self.history.iter().rev().find_map(|h| match h {
            HistoryItem::AssistantMessage { text } => Some(text.as_str()),
            _ => None,
        });
        let fired = self
            .hook_site()
            .stop(last_message, self.stop_hook_continued)
            .await?;
        if fired.stop.is_some() {
            return Ok(false);
        }
        let Some(reason) = fired.block else {
            return Ok(false);
        };
        if self.stop_hook_continued {
            tracing::info!(turn = %self.emitter.turn_id(), "a Stop hook blocked again; the turn ends (hooks may continue a turn once)");
            return Ok(false);
        }
        self.stop_hook_continued = true;
        let history = HistoryItem::user(reason.clone());
        self.add_user_message(vec![UserInput::text(reason)], history)
            .await?;
        Ok(true)
    }

    /// Input sent with `turn/steer` joins the conversation before the next model request.
    pub(super) async fn take_steered_input(&mut self) -> Result<(), ThreadError> {
        while let Ok((input, history)) = self.spec.steer.try_recv() {
            self.add_user_message(input, history).await?;
        }
        Ok(())
    }

    /// A user message in the middle of the turn: an item, and an entry in the history.
    async fn add_user_message(
        &mut self,
        input: Vec<UserInput>,
        history: HistoryItem,
    ) -> Result<(), ThreadError> {
        let position = self.emitter.next_position();
        let item = ThreadItem::UserMessage(UserMessageItem {
            id: uuid::Uuid::now_v7().to_string(),
            content: input,
        });
        self.emitter.item_started(&item).await?;
        self.emitter.item_completed(&item, position).await?;
        let rows = self.emitter.history_rows(std::slice::from_ref(&history));
        self.emitter.link().persist(rows).await?;
        self.history.push(history);
        Ok(())
    }
}

/// `continue: false` from a hook ends the turn, with its reason.
fn stopped(fired: &Fired) -> Result<(), Ending> {
    match &fired.stop {
        Some(reason) => Err(Ending::failed(reason.clone(), "hookStopped")),
        None => Ok(()),
    }
}
