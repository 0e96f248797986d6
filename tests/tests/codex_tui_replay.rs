//! A client written for Codex's app-server must complete a session against agentd: replay every
//! message of the recorded Codex TUI session against the real binary (the mock model answering
//! its turns) and check that every request is answered — by a method agentd serves, not -32601,
//! unless Codex's published schema lacks the method too — and that every answer whose method has
//! a response type in Codex's schema validates against it. [`Replay`] is shared with
//! `codex_app_server.rs`, which replays the first session over `agentd app-server`'s stdio.

use std::collections::{BTreeSet, HashMap};

use agentd_tests::mock_llm::{MockLlm, Scripted};
use agentd_tests::{Agentd, Client, Options, TIMEOUT};
use serde_json::{json, Value};

use crate::codex_support::{client_methods, codex_result_errors, reference_dir};

/// Methods of the recording agentd does not serve (-32601). Neither is in Codex 0.169's
/// published `ClientRequest.json`: the TUI calls them, but no schema says what they answer.
pub const UNANSWERED: &[&str] = &[
    "account/bedrock/checkGovCloudRequirements",
    "thread/readState/update",
];

/// Methods that must succeed (or, for a thread of the recording agentd never saw, answer
/// not-found, -32004).
pub const SHARED: &[&str] = &[
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
    "hooks/list",
    "skills/list",
    "plugin/installed",
    "collaborationMode/list",
    "thread/loaded/list",
    "thread/turns/list",
];

/// The recording's sessions (each starts with `initialize`), one message a line, with its
/// `/home/user` paths moved to `home` (which gets a `project` directory).
pub fn recorded_sessions(home: &std::path::Path) -> Vec<Vec<Value>> {
    let recording = reference_dir().join("tui-client-session.ndjson");
    let text = std::fs::read_to_string(&recording)
        .unwrap_or_else(|e| panic!("reading {}: {e}", recording.display()));
    std::fs::create_dir_all(home.join("project")).unwrap();
    let home = home.display().to_string();
    let mut sessions: Vec<Vec<Value>> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let msg: Value = serde_json::from_str(&line.replace("/home/user", &home)).unwrap();
        if msg["method"] == "initialize" || sessions.is_empty() {
            sessions.push(Vec::new());
        }
        if let Some(session) = sessions.last_mut() {
            session.push(msg);
        }
    }
    sessions
}

/// The state of a replay: Codex's thread ids mapped to ours, and what was answered and checked.
#[derive(Default)]
pub struct Replay {
    /// Threads the current session started, oldest first.
    created: Vec<String>,
    thread_map: HashMap<String, String>,
    pub answered: usize,
    pub validated: usize,
    pub served: BTreeSet<String>,
    pub unanswered: BTreeSet<String>,
    pub checked: BTreeSet<String>,
}

impl Replay {
    /// Sends every message of one session on `c` and checks each answer.
    pub async fn session(&mut self, c: &mut Client, messages: &[Value]) {
        self.created.clear();
        for msg in messages {
            self.message(c, msg.clone()).await;
        }
    }

    async fn message(&mut self, c: &mut Client, mut msg: Value) {
        let method = msg["method"].as_str().map(str::to_owned);
        // Thread ids in the recording are Codex's: a turn names the thread the session just
        // started; later references reuse that mapping.
        if let Some(tid) = msg["params"]["threadId"].as_str().map(str::to_owned) {
            if method.as_deref() == Some("turn/start") && !self.thread_map.contains_key(&tid) {
                if let Some(newest) = self.created.last() {
                    self.thread_map.insert(tid.clone(), newest.clone());
                }
            }
            if let Some(ours) = self.thread_map.get(&tid) {
                msg["params"]["threadId"] = json!(ours);
            }
        }
        c.send_json(&msg).unwrap();
        // A notification, or the client's answer to one of our requests: nothing comes back.
        let (Some(id), Some(method)) = (msg.get("id").cloned(), method) else {
            return;
        };
        let answer = tokio::time::timeout(TIMEOUT, c.response(&id))
            .await
            .unwrap_or_else(|_| panic!("no answer to {method} ({id})"))
            .unwrap();
        self.answered += 1;
        assert_eq!(answer["id"], id, "ids are echoed verbatim");
        if let Some(err) = answer.get("error") {
            if err["code"] == -32601 {
                assert!(
                    UNANSWERED.contains(&method.as_str()),
                    "{method} is not served: {err}"
                );
                self.unanswered.insert(method.clone());
            }
            assert!(
                !SHARED.contains(&method.as_str()) || err["code"] == -32004,
                "{method} failed: {err}"
            );
            return;
        }
        self.served.insert(method.clone());
        let result = &answer["result"];
        if method == "thread/start" {
            self.created
                .push(result["thread"]["id"].as_str().unwrap().to_owned());
        }
        // Every answer Codex's schema has a response type for is checked.
        if let Some(errors) = codex_result_errors(&method, result) {
            assert!(
                errors.is_empty(),
                "{method} answer is not valid by Codex's schema: {errors:?}\n{result}"
            );
            self.validated += 1;
            self.checked.insert(method);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recorded_codex_tui_session_is_answered_and_valid() {
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
    let sessions = recorded_sessions(home.path());
    assert_eq!(sessions.len(), 2);
    let mut replay = Replay::default();
    for session in &sessions {
        // Each session of the recording is a connection of its own.
        let mut c = Client::connect_ws(&d.url).await.unwrap();
        replay.session(&mut c, session).await;
        c.close();
    }
    assert!(
        replay.answered >= 60,
        "only {} requests answered",
        replay.answered
    );
    assert!(
        replay.validated >= 40,
        "only {} answers validated",
        replay.validated
    );
    // The exemptions are real: the methods are absent from Codex's schema, and were called.
    for m in UNANSWERED {
        assert!(
            !client_methods().contains_key(*m),
            "{m} is in Codex's schema now"
        );
        assert!(
            replay.unanswered.contains(*m),
            "{m} was not called, or is served now"
        );
    }
    for m in SHARED {
        assert!(replay.served.contains(*m), "{m} never succeeded");
    }
    // The methods of the recording with a Codex response type were validated.
    for m in [
        "thread/turns/list",
        "thread/loaded/list",
        "skills/list",
        "plugin/installed",
        "thread/start",
        "turn/start",
        "config/read",
    ] {
        assert!(
            replay.checked.contains(m),
            "{m} was never validated: {:?}",
            replay.checked
        );
    }
    // The turns really ran against the mock.
    assert!(!mock.requests().is_empty());
}
