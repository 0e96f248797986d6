//! Interrupting, steering and retrying turns.

use std::time::Duration;

use agentd_tests::mock_llm::{MockLlm, Scripted, Step, Usage};
use agentd_tests::turns::{daemon_with_mock, of_method};
use agentd_tests::{Agentd, Client};
use serde_json::json;

async fn daemon_with(script: Vec<Scripted>) -> (MockLlm, Agentd) {
    daemon_with_mock(script, "responses").await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupt_mid_stream_ends_the_turn_interrupted_and_closes_the_stream() {
    let (mock, d) = daemon_with(vec![Scripted::responses(vec![
        Step::created(),
        Step::message(&["partial "]),
        Step::gate(),
        Step::message(&["never sent"]),
        Step::completed(Usage::default()),
    ])])
    .await;
    let mut c = d.client("t").await.unwrap();
    let thread = c.start_thread(json!({})).await.unwrap();
    let turn = c.start_turn(&thread, "go").await.unwrap();
    c.wait_for("item/agentMessage/delta").await.unwrap();
    c.call(
        "turn/interrupt",
        json!({"threadId": thread, "turnId": turn}),
    )
    .await
    .unwrap();
    let events = c.until_turn_completed(&turn).await.unwrap();
    let last = events.last().unwrap();
    assert_eq!(last["params"]["turn"]["status"], "interrupted");
    // The partial message was completed with what had arrived.
    let msg = of_method(&events, "item/completed")
        .into_iter()
        .find(|e| e["params"]["item"]["type"] == "agentMessage")
        .expect("the open message is completed");
    assert_eq!(msg["params"]["item"]["text"], "partial ");
    mock.wait_for_open_streams(0, Duration::from_secs(5))
        .await
        .unwrap();
    // No event of the turn follows turn/completed, and the thread takes a new turn.
    mock.push(Scripted::responses_text("again"));
    let t2 = c.start_turn(&thread, "again").await.unwrap();
    let events = c.until_turn_completed(&t2).await.unwrap();
    assert!(events.iter().all(|e| e["params"]["turnId"] != turn));
    assert_eq!(
        events.last().unwrap()["params"]["turn"]["status"],
        "completed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_turn_start_while_one_runs_is_a_conflict() {
    let (mock, d) = daemon_with(vec![Scripted::responses(vec![
        Step::created(),
        Step::gate(),
        Step::message(&["x"]),
        Step::completed(Usage::default()),
    ])])
    .await;
    let mut c = d.client("t").await.unwrap();
    let thread = c.start_thread(json!({})).await.unwrap();
    let turn = c.start_turn(&thread, "go").await.unwrap();
    let err = c
        .request(
            "turn/start",
            json!({"threadId": thread, "input": [{"type":"text","text":"again"}]}),
        )
        .await
        .unwrap();
    assert_eq!(err["error"]["code"], -32005, "{err}");
    mock.release(1);
    let events = c.until_turn_completed(&turn).await.unwrap();
    assert_eq!(
        events.last().unwrap()["params"]["turn"]["status"],
        "completed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turn_start_with_the_same_client_request_id_starts_nothing_new() {
    let (mock, d) = daemon_with(vec![Scripted::responses_text("only once")]).await;
    let mut c = d.client("t").await.unwrap();
    let thread = c.start_thread(json!({})).await.unwrap();
    let params = json!({"threadId": thread, "clientRequestId": "req-1",
                        "input": [{"type":"text","text":"hi"}]});
    let first = c.call("turn/start", params.clone()).await.unwrap();
    let second = c.call("turn/start", params.clone()).await.unwrap();
    assert_eq!(first, second);
    let turn = first["turn"]["id"].as_str().unwrap().to_owned();
    c.until_turn_completed(&turn).await.unwrap();
    let third = c.call("turn/start", params).await.unwrap();
    assert_eq!(
        third, first,
        "a retry after the turn ended still gets the first answer"
    );
    // Answered after the retry was handled: one turn, and none running, so no model request
    // can still be on its way.
    let read = c
        .call(
            "thread/read",
            json!({"threadId": thread, "includeTurns": true}),
        )
        .await
        .unwrap();
    assert_eq!(read["thread"]["turns"].as_array().unwrap().len(), 1);
    assert_eq!(read["thread"]["status"]["type"], "idle", "{read}");
    assert_eq!(mock.requests().len(), 1);
}

/// A daemon whose turn "start" is held inside its first model request (a gate), which will
/// call a tool and then answer: steered input joins it at the second request.
async fn turn_held_at_its_first_request() -> (MockLlm, Agentd, Client, String, String) {
    let (mock, d) = daemon_with(vec![
        Scripted::responses(vec![
            Step::created(),
            Step::gate(),
            Step::function_call("c1", "probe", "{}"),
            Step::completed(Usage::default()),
        ]),
        Scripted::responses_text("took it into account"),
    ])
    .await;
    let mut c = d.client("t").await.unwrap();
    let thread = c.start_thread(json!({})).await.unwrap();
    let turn = c.start_turn(&thread, "start").await.unwrap();
    mock.wait_for_gates(1, Duration::from_secs(5))
        .await
        .unwrap();
    (mock, d, c, thread, turn)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steered_input_joins_the_running_turn_at_the_next_request() {
    let (mock, _daemon, mut c, thread, turn) = turn_held_at_its_first_request().await;
    let steer = c
        .call(
            "turn/steer",
            json!({"threadId": thread, "expectedTurnId": turn,
                   "input": [{"type":"text","text":"also this"}]}),
        )
        .await
        .unwrap();
    assert_eq!(steer["turnId"], turn);
    let stale = c
        .request(
            "turn/steer",
            json!({"threadId": thread, "expectedTurnId": "not-the-turn",
                   "input": [{"type":"text","text":"x"}]}),
        )
        .await
        .unwrap();
    assert_eq!(stale["error"]["code"], -32005);
    mock.release(1);
    let events = c.until_turn_completed(&turn).await.unwrap();
    assert_eq!(
        events.last().unwrap()["params"]["turn"]["status"],
        "completed"
    );
    let reqs = mock
        .wait_for_requests(2, Duration::from_secs(5))
        .await
        .unwrap();
    let texts: Vec<&str> = reqs[1].body["input"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["role"] == "user")
        .filter_map(|i| i["content"][0]["text"].as_str())
        .collect();
    assert_eq!(texts, ["start", "also this"]);
    let users: Vec<&str> = of_method(&events, "item/completed")
        .into_iter()
        .filter(|e| e["params"]["item"]["type"] == "userMessage")
        .filter_map(|e| e["params"]["item"]["content"][0]["text"].as_str())
        .collect();
    assert_eq!(
        users,
        ["start", "also this"],
        "the steered message is an item of the running turn"
    );
}

/// While the turn waits on the model, at most 64 steered inputs wait for it; the next is
/// refused (sent again later, it is taken), so a client cannot queue them without end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steered_inputs_waiting_for_the_turn_are_bounded() {
    let (mock, _daemon, mut c, thread, turn) = turn_held_at_its_first_request().await;
    let steer = |i: usize| {
        json!({"threadId": thread, "expectedTurnId": turn,
               "input": [{"type":"text","text": format!("steer {i}")}]})
    };
    for i in 0..64 {
        c.call("turn/steer", steer(i)).await.unwrap();
    }
    let refused = c.request("turn/steer", steer(64)).await.unwrap();
    assert_eq!(refused["error"]["code"], -32005, "{refused}");
    assert!(refused["error"]["message"]
        .as_str()
        .unwrap()
        .contains("waiting"));
    mock.release(1);
    let events = c.until_turn_completed(&turn).await.unwrap();
    let users = of_method(&events, "item/completed")
        .into_iter()
        .filter(|e| e["params"]["item"]["type"] == "userMessage")
        .count();
    assert_eq!(users, 65, "the start and the 64 steers");
}
