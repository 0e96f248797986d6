//! The `update_plan` tool: the model's plan reaches clients as `turn/plan/updated`.

use agentd_tests::mock_llm::{Scripted, Step, Usage};
use agentd_tests::tools::{turn_status, ToolRig};
use agentd_tests::turns::of_method;
use agentd_tests::Options;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_reaches_clients_with_its_steps() {
    let args = json!({
        "explanation": "three easy pieces",
        "plan": [
            {"step": "read the code", "status": "completed"},
            {"step": "write the test", "status": "in_progress"},
            {"step": "fix the bug", "status": "pending"},
        ],
    });
    let rig = ToolRig::start(
        vec![
            Scripted::responses(vec![
                Step::created(),
                Step::function_call("u1", "update_plan", &args.to_string()),
                Step::function_call(
                    "u2",
                    "update_plan",
                    r#"{"plan":[{"step":"x","status":"someday"}]}"#,
                ),
                Step::completed(Usage::default()),
            ]),
            Scripted::responses_text("on it"),
        ],
        Options::default(),
    )
    .await
    .unwrap();
    let mut c = rig.client("t").await.unwrap();
    let thread = rig.thread(&mut c).await.unwrap();
    let turn = c.start_turn(&thread, "plan").await.unwrap();
    let events = c.until_turn_completed(&turn).await.unwrap();
    assert_eq!(turn_status(&events), "completed");

    let plans = of_method(&events, "turn/plan/updated");
    assert_eq!(plans.len(), 1, "the invalid plan is not shown: {plans:#?}");
    let p = &plans[0]["params"];
    assert_eq!(p["threadId"], thread);
    assert_eq!(p["turnId"], turn);
    assert_eq!(p["explanation"], "three easy pieces");
    assert_eq!(
        p["plan"],
        json!([
            {"step": "read the code", "status": "completed"},
            {"step": "write the test", "status": "inProgress"},
            {"step": "fix the bug", "status": "pending"},
        ])
    );
    assert_eq!(rig.model_saw(2, "u1").await.unwrap(), "Plan updated");
    let bad = rig.model_saw(2, "u2").await.unwrap();
    assert!(bad.contains("someday"), "{bad}");
    rig.mock.assert_pairing_ok();
}
