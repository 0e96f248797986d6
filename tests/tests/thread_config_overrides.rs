//! A thread's `config` (Codex's per-thread overrides, on `thread/start`, `thread/resume`,
//! `thread/fork` and agentd's `turn/start`): the keys agentd applies reach the model (model name, developer
//! instructions, reasoning effort, policies, a provider of the thread's own); the others are
//! ignored with one `warning` to that client naming them; a bad value is -32602 naming
//! `config.KEY`; keys that point the thread at a provider need an admin token.

use agentd_tests::access::{connect_with_token, create_token};
use agentd_tests::mock_llm::{MockLlm, Scripted};
use agentd_tests::turns::HistoryRig;
use agentd_tests::{Agentd, Client, TIMEOUT};
use serde_json::{json, Value};

use crate::codex_support::{assert_codex_valid, tokens};

const FORBIDDEN: i64 = -32003;
const INVALID_PARAMS: i64 = -32602;

fn texts(n: usize) -> Vec<Scripted> {
    (0..n)
        .map(|i| Scripted::responses_text(&format!("answer {i}")))
        .collect()
}

/// The `warning` notifications among `messages`, checked against Codex's shape.
fn warnings(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .filter(|m| m["method"] == "warning")
        .map(|m| {
            assert_codex_valid("WarningNotification", &m["params"]);
            m["params"]["message"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// The field a -32602 answer names.
#[track_caller]
fn invalid_field(answer: &Value) -> String {
    assert_eq!(answer["error"]["code"], INVALID_PARAMS, "{answer}");
    answer["error"]["data"]["field"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// `thread/start`, and the warnings sent with its answer (they go out before it).
async fn start(c: &mut Client, params: Value) -> (Value, Vec<Value>) {
    let r = c.call("thread/start", params).await.unwrap();
    let mut received = c.take_received();
    received.retain(|m| m["method"] == "warning");
    (r, received)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thread_start_config_reaches_the_model_and_unknown_keys_are_warned_about() {
    let rig = HistoryRig::start(texts(1)).await.unwrap();
    let mut c = rig.client("codex").await.unwrap();
    let (result, sent) = start(
        &mut c,
        json!({"config": {
            "model": "configured-model",
            "developer_instructions": "SPEAK-LIKE-A-PIRATE",
            "model_reasoning_effort": "high",
            "approval_policy": "never",
            "sandbox_mode": "read-only",
            "features.code_mode": false,
            "web_search": "disabled",
            "tools.view_image": true,
            "mcp_servers": {}
        }}),
    )
    .await;
    assert_eq!(result["model"], "configured-model", "{result}");
    assert_eq!(result["approvalPolicy"], "never");
    assert_eq!(result["sandbox"]["type"], "readOnly");
    assert_eq!(result["reasoningEffort"], "high");
    let thread = result["thread"]["id"].as_str().unwrap().to_owned();
    let said = warnings(&sent);
    assert_eq!(said.len(), 1, "{sent:?}");
    assert!(said[0].contains("features.code_mode") && said[0].contains("tools.view_image"));
    for applied in [
        "model",
        "developer_instructions",
        "mcp_servers",
        "sandbox_mode",
        "web_search",
    ] {
        assert!(
            !said[0].split([' ', ',']).any(|w| w == applied),
            "{}",
            said[0]
        );
    }
    assert_eq!(sent[0]["params"]["threadId"], thread.as_str());

    c.complete_turn(&thread, "ahoy").await.unwrap();
    let body = &rig.requests(1).await.unwrap()[0].body;
    assert_eq!(body["model"], "configured-model");
    assert!(
        body["instructions"]
            .as_str()
            .unwrap()
            .contains("SPEAK-LIKE-A-PIRATE"),
        "{body}"
    );
    assert_eq!(body["reasoning"]["effort"], "high", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_and_turn_start_apply_their_config_to_the_turns_after() {
    let rig = HistoryRig::start(texts(3)).await.unwrap();
    let (mut c, thread) = rig.client_with_thread("codex").await.unwrap();
    c.complete_turn(&thread, "first").await.unwrap();

    let mut other = rig.client("resumer").await.unwrap();
    let resumed = other
        .call(
            "thread/resume",
            json!({"threadId": thread, "excludeTurns": true,
                   "config": {"model": "resumed-model", "tools.view_image": false}}),
        )
        .await
        .unwrap();
    assert_eq!(resumed["model"], "resumed-model", "{resumed}");
    let said = warnings(&other.take_received());
    assert!(
        said.iter().any(|w| w.contains("tools.view_image")),
        "{said:?}"
    );
    c.complete_turn(&thread, "second").await.unwrap();

    let r = c
        .call(
            "turn/start",
            json!({"threadId": thread, "input": [{"type": "text", "text": "third"}],
                   "config": {"developer_instructions": "TURN-LEVEL-RULES",
                              "model_reasoning_effort": "low", "unknown.key": 1}}),
        )
        .await
        .unwrap();
    let turn = r["turn"]["id"].as_str().unwrap().to_owned();
    let events = c.until_turn_completed(&turn).await.unwrap();
    let mut all = c.take_received();
    all.extend(events);
    assert!(
        warnings(&all).iter().any(|w| w.contains("unknown.key")),
        "{all:?}"
    );

    let requests = rig.requests(3).await.unwrap();
    assert_eq!(requests[1].body["model"], "resumed-model");
    assert_eq!(requests[2].body["model"], "resumed-model");
    let instructions = requests[2].body["instructions"].as_str().unwrap();
    assert!(instructions.contains("TURN-LEVEL-RULES"), "{instructions}");
    assert_eq!(requests[2].body["reasoning"]["effort"], "low");
    assert!(!requests[1].body["instructions"]
        .as_str()
        .unwrap()
        .contains("TURN-LEVEL-RULES"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_value_for_a_known_key_is_invalid_params_naming_it() {
    let rig = HistoryRig::start(texts(1)).await.unwrap();
    let (mut c, thread) = rig.client_with_thread("codex").await.unwrap();
    for (method, params, field) in [
        (
            "thread/start",
            json!({"config": {"model_reasoning_effort": 5}}),
            "config.model_reasoning_effort",
        ),
        (
            "thread/start",
            json!({"config": {"approval_policy": "sometimes"}}),
            "config.approval_policy",
        ),
        (
            "thread/start",
            json!({"config": {"model_provider": "no-such-provider"}}),
            "config.model_provider",
        ),
        (
            "thread/resume",
            json!({"threadId": thread, "config": {"sandbox_mode": "sometimes"}}),
            "config.sandbox_mode",
        ),
        (
            "turn/start",
            json!({"threadId": thread, "input": [{"type": "text", "text": "x"}],
                   "config": {"model_reasoning_effort": "very high!"}}),
            "config.model_reasoning_effort",
        ),
    ] {
        let r = c.request(method, params).await.unwrap();
        assert_eq!(invalid_field(&r), field, "{method}: {r}");
    }
    // Nothing ran: the refused turn never reached the model.
    assert!(rig.mock.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_keys_need_an_admin_token_and_a_thread_may_bring_its_own_provider() {
    let (t, opts) = tokens();
    let main = MockLlm::start(texts(1)).await.unwrap();
    let own = MockLlm::start(vec![Scripted::responses_text("from my own provider")])
        .await
        .unwrap();
    let d = Agentd::start(opts.mock_provider(&main.base_url(), "responses"))
        .await
        .unwrap();
    let mut control = connect_with_token(&d, &t.control, "driver").await.unwrap();
    let own_provider = json!({
        "model_provider": "mine",
        "model_providers.mine": {"name": "Mine", "base_url": own.base_url(), "wire_api": "responses"}
    });
    for config in [
        own_provider.clone(),
        json!({"model_providers": {"mine": {"base_url": own.base_url()}}}),
        json!({"model_provider": "openai"}),
    ] {
        let r = control
            .request("thread/start", json!({"config": config}))
            .await
            .unwrap();
        assert_eq!(r["error"]["code"], FORBIDDEN, "{config}: {r}");
    }
    // Naming the provider the thread has anyway changes nothing, and is allowed.
    control
        .start_thread(json!({"config": {"model_provider": "mock"}, "modelProvider": "mock"}))
        .await
        .unwrap();

    let mut admin = connect_with_token(&d, &t.admin, "admin").await.unwrap();
    let (started, _) = start(&mut admin, json!({"config": own_provider})).await;
    assert_eq!(started["modelProvider"], "mine");
    let thread = started["thread"]["id"].as_str().unwrap().to_owned();
    admin.complete_turn(&thread, "hello").await.unwrap();
    own.wait_for_requests(1, TIMEOUT).await.unwrap();
    assert!(
        main.requests().is_empty(),
        "the daemon's provider was not used"
    );
    let read = admin.read_thread_with_turns(&thread).await.unwrap();
    let items = read["thread"]["turns"][0]["items"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        items
            .iter()
            .any(|i| i["type"] == "agentMessage" && i["text"] == "from my own provider"),
        "{items:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_observer_resuming_with_overrides_is_warned_and_changes_nothing() {
    let (t, opts) = tokens();
    let watch = create_token(t.home(), "watch", "observe");
    let d = Agentd::start(opts).await.unwrap();
    let mut admin = connect_with_token(&d, &t.admin, "admin").await.unwrap();
    let thread = admin.start_thread(json!({})).await.unwrap();
    let mut obs = connect_with_token(&d, &watch, "watcher").await.unwrap();
    let r = obs
        .call(
            "thread/resume",
            json!({"threadId": thread, "config": {"model": "sneaky"}, "approvalPolicy": "never"}),
        )
        .await
        .unwrap();
    assert_ne!(r["model"], "sneaky", "{r}");
    assert_ne!(r["approvalPolicy"], "never", "{r}");
    let said = warnings(&obs.take_received());
    assert!(said.iter().any(|w| w.contains("not applied")), "{said:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_takes_its_config_over_the_source_settings() {
    let rig = HistoryRig::start(texts(2)).await.unwrap();
    let (mut c, thread) = rig.client_with_thread("codex").await.unwrap();
    c.complete_turn(&thread, "first").await.unwrap();
    let forked = c
        .call(
            "thread/fork",
            json!({"threadId": thread, "excludeTurns": true,
                   "config": {"developer_instructions": "FORKED-RULES", "x.y": 1}}),
        )
        .await
        .unwrap();
    let said = warnings(&c.take_received());
    assert!(said.iter().any(|w| w.contains("x.y")), "{said:?}");
    let fork = forked["thread"]["id"].as_str().unwrap().to_owned();
    c.complete_turn(&fork, "second").await.unwrap();
    let requests = rig.requests(2).await.unwrap();
    let instructions = requests[1].body["instructions"].as_str().unwrap();
    assert!(instructions.contains("FORKED-RULES"), "{instructions}");
}
