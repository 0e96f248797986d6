//! The two ends of a turn that are not the model's: lifecycle hooks (UserPromptSubmit before
//! the first request, Stop after the last; the tool hooks run in the orchestrator), and input a
//! client steered in while the turn ran.

use agentd_protocol::{ThreadItem, TurnError, UserInput, UserMessageItem};

use super::{Ending, TurnRun};
use crate::model::HistoryItem;
use crate::port::ThreadError;
use crate::tools::hooks::{HookSite, HookVerdict};

impl TurnRun {
    fn hook_site(&self) -> HookSite<'_> {
        HookSite {
            hooks: &self.services.config.hooks,
            emitter: &self.emitter,
            cwd: &self.cwd,
            cancel: &self.spec.cancel,
        }
    }

    /// UserPromptSubmit: a block fails the turn with kind `hookBlocked` before any model request.
    pub(super) async fn user_prompt_hooks(&self) -> Result<(), Ending> {
        let prompt = self.history.iter().rev().find_map(|h| match h {
            HistoryItem::UserMessage { text, .. } => Some(text.as_str()),
            _ => None,
        });
        match self
            .hook_site()
            .user_prompt_submit(prompt.unwrap_or_default())
            .await?
        {
            HookVerdict::Continue => Ok(()),
            HookVerdict::Block(reason) => Err(Ending::Failed(TurnError {
                message: format!("prompt blocked by hook: {reason}"),
                kind: Some("hookBlocked".to_owned()),
            })),
        }
    }

    /// Stop: the model ended the turn. A block (the first in this turn only) adds the hook's
    /// reason as a user message, and the caller asks the model again.
    pub(super) async fn stop_hooks_continue(&mut self) -> Result<bool, Ending> {
        let last_message = self.history.iter().rev().find_map(|h| match h {
            HistoryItem::AssistantMessage { text } => Some(text.as_str()),
            _ => None,
        });
        let verdict = self
            .hook_site()
            .stop(last_message, self.stop_hook_continued)
            .await?;
        let HookVerdict::Block(reason) = verdict else {
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
