//! A client written for Codex's app-server must complete a session against agentd: replay every
//! message of the recorded Codex TUI session against the real binary (the mock model answering
//! its turns) and check that every request is answered, and every answer on a shared method
//! validates against Codex's own schema.

use std::collections::HashMap;
use std::path::PathBuf;

use agentd_tests::mock_llm::{MockLlm, Scripted};
use agentd_tests::{Agentd, Client, Options, TIMEOUT};
use serde_json::{json, Value};

fn reference_dir() -> PathBuf {
    agentd_protocol::reference::reference_dir("codex-app-server")
}

fn read_json(path: PathBuf) -> Value {
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The Codex result definition for a method: its params type with `Response` for `Params`.
fn result_definitions() -> HashMap<String, String> {
    let union = read_json(reference_dir().join("ClientRequest.json"));
    let mut out = HashMap::new();
    for v in union["oneOf"].as_array().unwrap() {
        let method = v["properties"]["method"]["enum"][0]
            .as_str()
            .unwrap()
            .to_owned();
        let name = match v["properties"]["params"]["$ref"].as_str() {
            Some(r) => r.rsplit('/').next().unwrap().replace("Params", "Response"),
            None => {
                // Methods without params: Codex names the response after the method.
                let mut s = String::new();
                for part in method.split('/') {
                    let mut c = part.chars();
                    if let Some(f) = c.next() {
                        s.push(f.to_ascii_uppercase());
                        s.extend(c);
                    }
                }
                s + "Response"
            }
        };
        out.insert(method, name);
    }
    out
}

/// Methods agentd implements whose answers must validate against Codex's schema.
const SHARED: &[&str] = &[
    "initialize",
    "account/read",
    "model/list",
    "config/read",
    "configRequirements/read",
    "thread/start",
    "thread/list",
    "thread/read",
    "turn/start",
    "thread/unsubscribe",
];

fn validator_for(definition: &str, bundle: &Value) -> jsonschema::Validator {
    let schema = if definition == "InitializeResponse" {
        read_json(reference_dir().join("v1/InitializeResponse.json"))
    } else {
        json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "$ref": format!("#/definitions/{definition}"),
            "definitions": bundle["definitions"],
        })
    };
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("schema for {definition}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recorded_codex_tui_session_is_answered_and_valid() {
    let recording = reference_dir().join("tui-client-session.ndjson");
    let Ok(text) = std::fs::read_to_string(&recording) else {
        panic!("missing {}", recording.display());
    };
    let bundle = read_json(reference_dir().join("codex_app_server_protocol.v2.schemas.json"));
    let definitions = result_definitions();

    let mock = MockLlm::start(
        (0..10)
            .map(|_| Scripted::responses_text("Hello from agentd"))
            .collect(),
    )
    .await
    .unwrap();
    let d = Agentd::start(Options::default().mock_provider(&mock.base_url(), "responses"))
        .await
        .unwrap();

    // The recording's paths were rewritten to /home/user; give them a real home here.
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join("project")).unwrap();
    let home_path = home.path().display().to_string();
    let mut client: Option<Client> = None;
    let mut created: Vec<String> = Vec::new();
    let mut thread_map: HashMap<String, String> = HashMap::new();
    let mut answered = 0;
    let mut validated = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let line = line.replace("/home/user", &home_path);
        let mut msg: Value = serde_json::from_str(&line).unwrap();
        let method = msg["method"].as_str().map(str::to_owned);
        if method.as_deref() == Some("initialize") {
            // The recording holds two sessions: each starts on a new connection.
            if let Some(c) = client.take() {
                c.close();
            }
            client = Some(Client::connect_ws(&d.url).await.unwrap());
            created.clear();
        }
        let c = client.as_mut().unwrap();
        // Thread ids in the recording are Codex's: a turn names the thread the session just
        // started; later references reuse that mapping.
        if let Some(tid) = msg["params"]["threadId"].as_str().map(str::to_owned) {
            if method.as_deref() == Some("turn/start") && !thread_map.contains_key(&tid) {
                if let Some(newest) = created.last() {
                    thread_map.insert(tid.clone(), newest.clone());
                }
            }
            if let Some(ours) = thread_map.get(&tid) {
                msg["params"]["threadId"] = json!(ours);
            }
        }
        let Some(id) = msg.get("id").cloned() else {
            c.send_json(&msg).unwrap();
            continue;
        };
        let Some(method) = method else {
            // The client's answer to one of our requests.
            c.send_json(&msg).unwrap();
            continue;
        };
        c.send_json(&msg).unwrap();
        let answer = tokio::time::timeout(TIMEOUT, c.response(&id))
            .await
            .unwrap_or_else(|_| panic!("no answer to {method} ({id})"))
            .unwrap();
        answered += 1;
        assert_eq!(answer["id"], id, "ids are echoed verbatim");
        if let Some(err) = answer.get("error") {
            assert!(
                !SHARED.contains(&method.as_str()) || err["code"] == -32004,
                "{method} failed: {err}"
            );
            continue;
        }
        let result = &answer["result"];
        if method == "thread/start" {
            created.push(result["thread"]["id"].as_str().unwrap().to_owned());
        }
        if SHARED.contains(&method.as_str()) {
            let def = definitions
                .get(&method)
                .cloned()
                .unwrap_or_else(|| "InitializeResponse".to_owned());
            let validator = validator_for(&def, &bundle);
            let errors: Vec<String> = validator
                .iter_errors(result)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(
                errors.is_empty(),
                "{method} answer is not a valid {def}: {errors:?}\n{result}"
            );
            validated += 1;
        }
    }
    assert!(answered >= 60, "only {answered} requests answered");
    assert!(validated >= 20, "only {validated} answers validated");
    // The turns really ran against the mock.
    assert!(!mock.requests().is_empty());
}
