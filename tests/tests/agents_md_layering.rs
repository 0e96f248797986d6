//! Instructions sent to the model: base, then AGENTS.md from the repository root down to the
//! thread's cwd, then the thread's developer instructions.

use agentd_tests::mock_llm::{MockLlm, Scripted};
use agentd_tests::{Agentd, Options};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_md_files_layer_from_repo_root_to_cwd_then_developer_instructions() {
    let ws = tempfile::tempdir().unwrap();
    let repo = ws.path().join("repo");
    let deep = repo.join("pkg/sub");
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    std::fs::write(ws.path().join("AGENTS.md"), "ABOVE-THE-REPO").unwrap();
    std::fs::write(repo.join("AGENTS.md"), "ROOT-RULES").unwrap();
    std::fs::write(repo.join("pkg/AGENTS.md"), "PKG-RULES").unwrap();
    std::fs::write(deep.join("AGENTS.md"), "SUB-RULES").unwrap();

    let mock = MockLlm::start(vec![Scripted::responses_text("ok")])
        .await
        .unwrap();
    let d = Agentd::start(Options::default().mock_provider(&mock.base_url(), "responses"))
        .await
        .unwrap();
    let mut c = d.client("t").await.unwrap();
    let thread = c
        .start_thread(json!({"cwd": deep, "developerInstructions": "DEV-RULES"}))
        .await
        .unwrap();
    let turn = c.start_turn(&thread, "hi").await.unwrap();
    c.until_turn_completed(&turn).await.unwrap();
    let body = &mock.requests()[0].body;
    let text = body["instructions"].as_str().unwrap();
    let pos = |s: &str| {
        text.find(s)
            .unwrap_or_else(|| panic!("{s} missing from {text}"))
    };
    assert!(pos("ROOT-RULES") < pos("PKG-RULES"));
    assert!(pos("PKG-RULES") < pos("SUB-RULES"));
    assert!(pos("SUB-RULES") < pos("DEV-RULES"));
    assert!(!text.contains("ABOVE-THE-REPO"));
}
