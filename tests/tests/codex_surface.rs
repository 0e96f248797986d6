//! The rest of Codex's client surface agentd answers: skills, plugins, collaboration modes,
//! permission profiles (and `turn/start {permissions}`), loaded threads, goals, rate limits and
//! background terminals (little or nothing to report, but a valid answer); the summary
//! `turn/completed` carries; ephemeral threads left out of `thread/list`; turns and items a page at a time; `thread/revert`; `thread/delete`; skill
//! and mention inputs. Every answer is validated against Codex's own response type.
//! `command/exec` has its own file (`codex_command_exec.rs`).

use std::collections::BTreeSet;

use agentd_tests::access::connect_with_token;
use agentd_tests::mock_llm::{MockLlm, Scripted};
use agentd_tests::tools::{tool_calls, ToolRig};
use agentd_tests::turns::{input_texts, HistoryRig};
use agentd_tests::{Agentd, Client, Options};
use serde_json::{json, Value};

use crate::codex_support::{assert_codex_result, assert_codex_valid, tokens};

const NOT_FOUND: i64 = -32004;
const FORBIDDEN: i64 = -32003;
const INVALID_PARAMS: i64 = -32602;

fn texts(n: usize) -> Vec<Scripted> {
    (0..n)
        .map(|i| Scripted::responses_text(&format!("answer {i}")))
        .collect()
}

fn code(answer: &Value) -> i64 {
    answer["error"]["code"].as_i64().unwrap_or(0)
}

/// Calls `method`, asserts the answer is a valid Codex response of it, and returns it.
async fn codex_call(c: &mut Client, method: &str, params: Value) -> Value {
    let result = c
        .call(method, params)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_codex_result(method, &result);
    result
}

/// A thread with `n` completed turns; returns the client, the thread and its turn ids in order.
async fn thread_with_turns(rig: &HistoryRig, n: usize) -> (Client, String, Vec<String>) {
    let (mut c, thread) = rig.client_with_thread("pages").await.unwrap();
    let mut turns = Vec::new();
    for i in 0..n {
        let events = c
            .complete_turn(&thread, &format!("prompt {i}"))
            .await
            .unwrap();
        let done = events.last().unwrap();
        turns.push(done["params"]["turn"]["id"].as_str().unwrap().to_owned());
    }
    (c, thread, turns)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_informational_methods_answer_in_codex_shapes() {
    let rig = HistoryRig::start(texts(1)).await.unwrap();
    let (mut c, thread, _) = thread_with_turns(&rig, 1).await;
    let cwd = tempfile::tempdir().unwrap();
    let cwd = cwd.path().display().to_string();

    let skills = codex_call(
        &mut c,
        "skills/list",
        json!({"cwds": [cwd], "forceReload": true}),
    )
    .await;
    assert_eq!(skills["data"][0]["cwd"], cwd.as_str());
    assert_eq!(skills["data"][0]["skills"], json!([]));
    codex_call(&mut c, "skills/list", json!({})).await;
    let plugins = codex_call(
        &mut c,
        "plugin/installed",
        json!({"cwds": [cwd], "installSuggestionPluginNames": null}),
    )
    .await;
    assert_eq!(plugins["marketplaces"], json!([]));
    let profiles = codex_call(&mut c, "permissionProfile/list", json!({})).await;
    let ids: Vec<&str> = profiles["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    // Codex's built-in profile ids: its ACP adapter leaves `:`-ids out of its mode list.
    assert_eq!(ids, [":read-only", ":workspace", ":danger-full-access"]);
    let loaded = codex_call(
        &mut c,
        "thread/loaded/list",
        json!({"cursor": null, "limit": null}),
    )
    .await;
    assert!(
        loaded["data"].as_array().unwrap().contains(&json!(thread)),
        "{loaded}"
    );
    let goal = codex_call(&mut c, "thread/goal/get", json!({"threadId": thread})).await;
    assert_eq!(goal["goal"], Value::Null);
    let missing = c
        .request("thread/goal/get", json!({"threadId": "no-such-thread"}))
        .await
        .unwrap();
    assert_eq!(code(&missing), NOT_FOUND, "{missing}");
    let limits = c
        .call("account/rateLimits/read", Value::Null)
        .await
        .unwrap();
    assert_codex_result("account/rateLimits/read", &limits);
    assert_eq!(limits["rateLimits"]["primary"], Value::Null);
    // Not in Codex's published schema (its TUI calls it): a list of modes, none here.
    let modes = c.call("collaborationMode/list", json!({})).await.unwrap();
    assert_eq!(modes["data"], json!([]));
    // Codex's experimental API (its ACP adapter lists and stops them when it closes a
    // session): agentd leaves nothing running in the background.
    let terminals = c
        .call(
            "thread/backgroundTerminals/list",
            json!({"threadId": thread, "cursor": null, "limit": null}),
        )
        .await
        .unwrap();
    assert_eq!(terminals, json!({"data": [], "nextCursor": null}));
    let stopped = c
        .call(
            "thread/backgroundTerminals/terminate",
            json!({"threadId": thread, "processId": "1234"}),
        )
        .await
        .unwrap();
    assert_eq!(stopped, json!({"terminated": false}));
    let missing = c
        .request(
            "thread/backgroundTerminals/list",
            json!({"threadId": "no-such-thread"}),
        )
        .await
        .unwrap();
    assert_eq!(code(&missing), NOT_FOUND, "{missing}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_takes_a_permission_profile_and_ends_with_its_final_message() {
    let rig = HistoryRig::start(vec![
        Scripted::responses_text("read only now"),
        Scripted::responses_text("a title"),
    ])
    .await
    .unwrap();
    let (mut c, thread) = rig.client_with_thread("profiles").await.unwrap();

    // A profile from permissionProfile/list is the sandbox of this turn and the next ones.
    let started = c
        .call(
            "turn/start",
            json!({"threadId": thread, "input": [{"type": "text", "text": "hi"}],
                   "permissions": ":read-only"}),
        )
        .await
        .unwrap();
    assert_eq!(started["turn"]["itemsView"], "notLoaded");
    let turn = started["turn"]["id"].as_str().unwrap().to_owned();
    let events = c.until_turn_completed(&turn).await.unwrap();
    // Codex's summary: the final agent message rides on turn/completed.
    let done = &events.last().unwrap()["params"]["turn"];
    assert_codex_valid("Turn", done);
    assert_eq!(done["itemsView"], "summary", "{done}");
    let items = done["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{done}");
    assert_eq!(items[0]["type"], "agentMessage");
    assert_eq!(items[0]["text"], "read only now");
    let resumed = c.resume(&thread).await.unwrap();
    assert_eq!(resumed["sandbox"]["type"], "readOnly", "{resumed}");

    for (params, field) in [
        (json!({"permissions": ":custom"}), "permissions"),
        (
            json!({"permissions": ":workspace", "sandboxPolicy": {"type": "dangerFullAccess"}}),
            "permissions",
        ),
    ] {
        let mut p = json!({"threadId": thread, "input": [{"type": "text", "text": "no"}]});
        p.as_object_mut()
            .unwrap()
            .extend(params.as_object().unwrap().clone());
        let refused = c.request("turn/start", p).await.unwrap();
        assert_eq!(code(&refused), INVALID_PARAMS, "{refused}");
        assert!(refused.to_string().contains(field), "{refused}");
    }

    // An ephemeral thread (a client's title turn) works but is not listed.
    let title = c.start_thread(json!({"ephemeral": true})).await.unwrap();
    c.complete_turn(&title, "name this").await.unwrap();
    let listed = c.call("thread/list", json!({})).await.unwrap();
    let ids: Vec<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [thread.as_str()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turns_and_items_page_through_a_thread_of_several_turns() {
    let rig = HistoryRig::start(texts(4)).await.unwrap();
    let (mut c, thread, turns) = thread_with_turns(&rig, 4).await;

    // Newest first by default, one a page (as Codex's TUI asks), to the end.
    let mut seen = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let page = codex_call(
            &mut c,
            "thread/turns/list",
            json!({"threadId": thread, "cursor": cursor, "limit": 1, "sortDirection": null, "itemsView": null}),
        )
        .await;
        let data = page["data"].as_array().unwrap();
        assert_eq!(data.len(), 1, "{page}");
        seen.push(data[0]["id"].as_str().unwrap().to_owned());
        cursor = page["nextCursor"].clone();
        if cursor.is_null() {
            break;
        }
        assert!(seen.len() <= turns.len(), "the pages never end");
    }
    let newest_first: Vec<String> = turns.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first);

    // Oldest first, three a page, with every item.
    let first = codex_call(
        &mut c,
        "thread/turns/list",
        json!({"threadId": thread, "limit": 3, "sortDirection": "asc", "itemsView": "full"}),
    )
    .await;
    let ids: Vec<&str> = first["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, turns[..3]);
    assert_eq!(first["data"][0]["items"][0]["type"], "userMessage");
    assert_eq!(
        first["data"][0]["items"][0]["content"][0]["text"],
        "prompt 0"
    );
    let rest = codex_call(
        &mut c,
        "thread/turns/list",
        json!({"threadId": thread, "limit": 3, "sortDirection": "asc", "cursor": first["nextCursor"]}),
    )
    .await;
    assert_eq!(rest["data"].as_array().unwrap().len(), 1);
    assert_eq!(rest["data"][0]["id"], turns[3].as_str());
    assert_eq!(rest["nextCursor"], Value::Null);
    let bare = codex_call(
        &mut c,
        "thread/turns/list",
        json!({"threadId": thread, "itemsView": "notLoaded"}),
    )
    .await;
    assert!(bare["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["items"] == json!([])));

    // Items: oldest first, three a page, across the thread; they are thread/read's items.
    let read = c.read_thread_with_turns(&thread).await.unwrap();
    let expected: Vec<(String, String)> = read["thread"]["turns"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| {
            let turn = t["id"].as_str().unwrap().to_owned();
            t["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |i| (turn.clone(), i["id"].as_str().unwrap().to_owned()))
        })
        .collect();
    assert!(expected.len() >= 8, "{expected:?}");
    let mut items = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let page = codex_call(
            &mut c,
            "thread/items/list",
            json!({"threadId": thread, "cursor": cursor, "limit": 3}),
        )
        .await;
        for e in page["data"].as_array().unwrap() {
            items.push((
                e["turnId"].as_str().unwrap().to_owned(),
                e["item"]["id"].as_str().unwrap().to_owned(),
            ));
        }
        cursor = page["nextCursor"].clone();
        if cursor.is_null() {
            break;
        }
        assert!(items.len() <= expected.len(), "the pages never end");
    }
    assert_eq!(items, expected);

    // One turn's items, and Codex's item anchor: the items after it.
    let one = codex_call(
        &mut c,
        "thread/items/list",
        json!({"threadId": thread, "turnId": turns[1]}),
    )
    .await;
    let one = one["data"].as_array().unwrap();
    assert!(one.len() >= 2 && one.iter().all(|e| e["turnId"] == turns[1].as_str()));
    let anchor = &one[0]["item"]["id"];
    let after = codex_call(
        &mut c,
        "thread/items/list",
        json!({"threadId": thread, "turnId": turns[1], "cursor": {"type": "item", "itemId": anchor}}),
    )
    .await;
    assert_eq!(after["data"][0]["item"]["id"], one[1]["item"]["id"]);
    let newest = codex_call(
        &mut c,
        "thread/items/list",
        json!({"threadId": thread, "limit": 1, "sortDirection": "desc"}),
    )
    .await;
    assert_eq!(
        newest["data"][0]["item"]["id"],
        expected.last().unwrap().1.as_str()
    );

    let bad = c
        .request(
            "thread/turns/list",
            json!({"threadId": thread, "cursor": "not-ours"}),
        )
        .await
        .unwrap();
    assert_eq!(code(&bad), INVALID_PARAMS, "{bad}");
    let missing = c
        .request("thread/items/list", json!({"threadId": "no-such-thread"}))
        .await
        .unwrap();
    assert_eq!(code(&missing), NOT_FOUND, "{missing}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thread_revert_drops_the_turn_and_every_later_one() {
    let rig = HistoryRig::start(texts(4)).await.unwrap();
    let (mut c, thread, turns) = thread_with_turns(&rig, 3).await;

    let reverted = codex_call(
        &mut c,
        "thread/revert",
        json!({"threadId": thread, "beforeTurnId": turns[1]}),
    )
    .await;
    assert_eq!(reverted["thread"]["id"], thread.as_str());
    let read = c.read_thread_with_turns(&thread).await.unwrap();
    let kept: Vec<&str> = read["thread"]["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(kept, [turns[0].as_str()]);

    // The model no longer sees the dropped turns.
    c.complete_turn(&thread, "after the revert").await.unwrap();
    let requests = rig.requests(4).await.unwrap();
    let seen = input_texts(&requests[3].body).join("\n");
    assert!(seen.contains("prompt 0"), "{seen}");
    assert!(
        !seen.contains("prompt 1") && !seen.contains("prompt 2"),
        "{seen}"
    );

    let gone = c
        .request(
            "thread/revert",
            json!({"threadId": thread, "beforeTurnId": turns[2]}),
        )
        .await
        .unwrap();
    assert_eq!(
        code(&gone),
        NOT_FOUND,
        "a dropped turn cannot anchor a revert: {gone}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thread_delete_removes_the_thread_for_every_client() {
    let (t, opts) = tokens();
    let mock = MockLlm::start(texts(1)).await.unwrap();
    let d = Agentd::start(opts.mock_provider(&mock.base_url(), "responses"))
        .await
        .unwrap();
    let mut admin = connect_with_token(&d, &t.admin, "admin").await.unwrap();
    let mut other = connect_with_token(&d, &t.control, "other").await.unwrap();
    let thread = admin.start_thread(json!({})).await.unwrap();
    let kept = admin.start_thread(json!({})).await.unwrap();
    admin.complete_turn(&thread, "remember me").await.unwrap();

    // A control token may not delete (the scope table says admin).
    let refused = other
        .request("thread/delete", json!({"threadId": thread}))
        .await
        .unwrap();
    assert_eq!(code(&refused), FORBIDDEN, "{refused}");

    codex_call(&mut admin, "thread/delete", json!({"threadId": thread})).await;
    let told = other.wait_for("thread/deleted").await.unwrap();
    assert_eq!(told["params"]["threadId"], thread.as_str());
    assert_codex_valid("ThreadDeletedNotification", &told["params"]);

    let read = admin
        .request("thread/read", json!({"threadId": thread}))
        .await
        .unwrap();
    assert_eq!(code(&read), NOT_FOUND, "{read}");
    let list = admin.call("thread/list", json!({})).await.unwrap();
    let ids: BTreeSet<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert!(
        !ids.contains(thread.as_str()) && ids.contains(kept.as_str()),
        "{ids:?}"
    );
    let found = admin
        .call("thread/search", json!({"query": "remember"}))
        .await
        .unwrap();
    assert_eq!(found["data"], json!([]), "the search index forgot it too");
    let again = admin
        .request("thread/delete", json!({"threadId": thread}))
        .await
        .unwrap();
    assert_eq!(code(&again), NOT_FOUND, "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thread_delete_takes_the_sub_agents_with_it() {
    let spawn = |id: &str, message: &str| {
        agentd_tests::mock_llm::Step::function_call(
            id,
            "spawn_agent",
            &json!({ "message": message }).to_string(),
        )
    };
    let wait = agentd_tests::mock_llm::Step::function_call(
        "w1",
        "wait_agent",
        &json!({"targets": ["ada"], "mode": "any", "timeout_ms": 20000}).to_string(),
    );
    let rig = ToolRig::start(
        vec![
            tool_calls(vec![spawn("s1", "CHILD-A: what is six times seven?")]),
            tool_calls(vec![wait]),
            Scripted::responses_text("the child says 42"),
        ],
        Options::default().unconfined(),
    )
    .await
    .unwrap();
    rig.mock
        .push_when_last("CHILD-A", Scripted::responses_text("42"));
    let (mut c, parent, turn) = rig.start_turn("t", "delegate").await.unwrap();
    c.until_turn_completed(&turn).await.unwrap();
    let read = c.read_thread(&parent).await.unwrap();
    let children = read["childThreadIds"].as_array().unwrap().clone();
    assert_eq!(children.len(), 1, "{read}");
    let child = children[0].as_str().unwrap().to_owned();

    let mut watcher = rig.client("watcher").await.unwrap();
    codex_call(&mut c, "thread/delete", json!({"threadId": parent})).await;
    let mut deleted = BTreeSet::new();
    while deleted.len() < 2 {
        let m = watcher.wait_for("thread/deleted").await.unwrap();
        deleted.insert(m["params"]["threadId"].as_str().unwrap().to_owned());
    }
    assert_eq!(deleted, BTreeSet::from([parent.clone(), child.clone()]));
    for id in [&parent, &child] {
        let r = c
            .request("thread/read", json!({"threadId": id}))
            .await
            .unwrap();
        assert_eq!(code(&r), NOT_FOUND, "{id}: {r}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skills_and_mentions_reach_the_model_as_text_references() {
    let rig = HistoryRig::start(texts(1)).await.unwrap();
    let (mut c, thread) = rig.client_with_thread("refs").await.unwrap();
    let input = json!([
        {"type": "text", "text": "use these", "text_elements": []},
        {"type": "skill", "name": "deploy", "path": "/skills/deploy/SKILL.md"},
        {"type": "mention", "name": "main.rs", "path": "/src/main.rs"}
    ]);
    let params = json!({"threadId": thread, "input": input});
    assert_codex_valid("TurnStartParams", &params);
    let started = codex_call(&mut c, "turn/start", params).await;
    let turn = started["turn"]["id"].as_str().unwrap().to_owned();
    c.until_turn_completed(&turn).await.unwrap();

    let requests = rig.requests(1).await.unwrap();
    let sent = input_texts(&requests[0].body).join("\n");
    assert!(sent.contains("use these"), "{sent}");
    assert!(
        sent.contains("[skill deploy: /skills/deploy/SKILL.md]"),
        "{sent}"
    );
    assert!(sent.contains("[mentioned main.rs: /src/main.rs]"), "{sent}");
    // The user message keeps the inputs as they were given.
    let read = c.read_thread_with_turns(&thread).await.unwrap();
    let content = &read["thread"]["turns"][0]["items"][0]["content"];
    assert_eq!(content[1]["type"], "skill", "{content}");
    assert_eq!(content[2]["type"], "mention", "{content}");
}

/// How much of Codex's client surface agentd answers: every method of Codex's `ClientRequest`
/// is sent (with params naming a thread that does not exist), and those not answered -32601
/// are counted. The floor only rises.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn most_of_codex_s_client_methods_are_answered() {
    let d = Agentd::start(Options::default()).await.unwrap();
    let mut c = d.client("census").await.unwrap();
    let mut answered = BTreeSet::new();
    let mut methods: Vec<&String> = crate::codex_support::client_methods().keys().collect();
    methods.sort();
    for method in methods.into_iter().filter(|m| *m != "initialize") {
        let r = c
            .request(method, json!({"threadId": "no-such-thread"}))
            .await
            .unwrap();
        if r["error"]["code"] != -32601 {
            answered.insert(method.as_str());
        }
    }
    eprintln!(
        "{} of Codex's {} client methods answered (and initialize): {answered:?}",
        answered.len(),
        crate::codex_support::client_methods().len() - 1
    );
    assert!(answered.len() >= 31, "{answered:?}");
}
