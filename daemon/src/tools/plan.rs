//! `update_plan`: the model shares its plan; clients get `turn/plan/updated`.

use agentd_protocol::{ThreadItem, TurnPlanStep, TurnPlanStepStatus, TurnPlanUpdatedNotification};
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

use super::handler::{Attempt, Completion, Confinement, PreparedCall, Refusal, Risk, ToolHandler};
use super::orchestrator::ToolCtx;
use crate::model::ToolSpec;
use crate::port::ThreadError;

pub const NAME: &str = "update_plan";

/// Steps a plan may have; a longer one is refused (the model is told), not truncated.
const MAX_STEPS: usize = 100;

pub struct UpdatePlanTool;

impl ToolHandler for UpdatePlanTool {
    fn spec(&self) -> ToolSpec {
        ToolSpec::Function {
            name: NAME.into(),
            description: "Share your plan: the steps and which one is in progress.".into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "explanation": {"type": "string"},
                    "plan": {"type": "array", "items": {
                        "type": "object",
                        "properties": {
                            "step": {"type": "string"},
                            "status": {"type": "string", "enum": ["pending", "inProgress", "completed"]}
                        },
                        "required": ["step", "status"],
                        "additionalProperties": false
                    }}
                },
                "required": ["plan"],
                "additionalProperties": false
            }),
        }
    }

    fn prepare(&self, _ctx: &ToolCtx<'_>, input: &str) -> Result<Box<dyn PreparedCall>, String> {
        let args: PlanArgs = serde_json::from_str(input)
            .map_err(|e| format!("error: invalid update_plan arguments: {e}"))?;
        if args.plan.len() > MAX_STEPS {
            return Err(format!(
                "error: a plan has at most {MAX_STEPS} steps, not {}",
                args.plan.len()
            ));
        }
        let plan = args
            .plan
            .into_iter()
            .map(|s| {
                let status = match s.status.as_str() {
                    "pending" => TurnPlanStepStatus::Pending,
                    "inProgress" | "in_progress" => TurnPlanStepStatus::InProgress,
                    "completed" => TurnPlanStepStatus::Completed,
                    other => {
                        return Err(format!(
                            "error: step status must be pending, inProgress or completed, not {other:?}"
                        ))
                    }
                };
                Ok(TurnPlanStep {
                    step: s.step,
                    status,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Box::new(PlanCall {
            explanation: args.explanation,
            plan,
        }))
    }
}

#[derive(Debug, Deserialize)]
struct PlanArgs {
    #[serde(default)]
    explanation: Option<String>,
    plan: Vec<PlanStep>,
}

#[derive(Debug, Deserialize)]
struct PlanStep {
    step: String,
    status: String,
}

struct PlanCall {
    explanation: Option<String>,
    plan: Vec<TurnPlanStep>,
}

#[async_trait]
impl PreparedCall for PlanCall {
    fn risk(&self, _ctx: &ToolCtx<'_>) -> Risk {
        Risk::Inert
    }

    fn item(&self) -> Option<ThreadItem> {
        None
    }

    async fn attempt(
        &mut self,
        ctx: &mut ToolCtx<'_>,
        _confinement: Confinement,
    ) -> Result<Attempt, ThreadError> {
        let event = TurnPlanUpdatedNotification {
            thread_id: ctx.emitter.thread_id().to_owned(),
            turn_id: ctx.emitter.turn_id().to_owned(),
            explanation: self.explanation.take(),
            plan: std::mem::take(&mut self.plan),
            seq: 0,
        };
        ctx.emitter.notify(&event, Vec::new()).await?;
        Ok(Attempt::Done(Completion::output(None, "Plan updated")))
    }

    fn refused(&self, refusal: Refusal) -> Completion {
        match refusal {
            Refusal::Policy(reason) => Completion::output(None, reason),
            Refusal::Person { by, .. } => {
                Completion::output(None, format!("update_plan was declined by {by}"))
            }
        }
    }
}
