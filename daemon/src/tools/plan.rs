//! `update_plan`: the model shares its plan; clients get `turn/plan/updated`.

use serde::Deserialize;
use serde_json::json;

use crate::threads::{ThreadError, TurnEmitter};

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

/// Validates the arguments and emits the plan; the returned text goes back to the model.
pub async fn update_plan(emitter: &TurnEmitter, arguments: &str) -> Result<String, ThreadError> {
    let args: PlanArgs = match serde_json::from_str(arguments) {
        Ok(a) => a,
        Err(e) => return Ok(format!("error: invalid update_plan arguments: {e}")),
    };
    let mut steps = Vec::with_capacity(args.plan.len());
    for s in args.plan {
        let status = match s.status.as_str() {
            "pending" => "pending",
            "inProgress" | "in_progress" => "inProgress",
            "completed" => "completed",
            other => {
                return Ok(format!(
                    "error: step status must be pending, inProgress or completed, not {other:?}"
                ))
            }
        };
        steps.push(json!({"step": s.step, "status": status}));
    }
    emitter
        .event(
            "turn/plan/updated",
            json!({"threadId": emitter.thread_id, "turnId": emitter.turn_id,
                   "explanation": args.explanation, "plan": steps}),
            Vec::new(),
        )
        .await?;
    Ok("Plan updated".into())
}
