//! Claude Code's CLAUDE.md works unchanged: the model's instructions carry the user's own files
//! (`$XDG_CONFIG_HOME/agentd/AGENTS.md`, `~/.claude/CLAUDE.md`), then each directory's
//! AGENTS.md, CLAUDE.md and CLAUDE.local.md from the repository root down, with CLAUDE.md's
//! `@path` imports after their importer (a repository's only from inside it unless trusted);
//! `instructions/list` names the same files in the same order.

use std::path::{Path, PathBuf};

use agentd_tests::mock_llm::{MockLlm, Scripted};
use agentd_tests::{Agentd, Options};
use serde_json::{json, Value};

/// A home, a config home and a repository with a sub-directory, all in `root`.
struct Layout {
    home: PathBuf,
    config_home: PathBuf,
    repo: PathBuf,
    sub: PathBuf,
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn layout(root: &Path) -> Layout {
    let root = std::fs::canonicalize(root).unwrap();
    let l = Layout {
        home: root.join("home"),
        config_home: root.join("config"),
        repo: root.join("repo"),
        sub: root.join("repo/pkg"),
    };
    std::fs::create_dir_all(l.repo.join(".git")).unwrap();
    write(&l.config_home.join("agentd/AGENTS.md"), "USER-AGENTS");
    write(
        &l.home.join(".claude/CLAUDE.md"),
        "USER-CLAUDE @~/rules/mine.md",
    );
    write(&l.home.join("rules/mine.md"), "USER-IMPORT");
    write(&l.repo.join("AGENTS.md"), "ROOT-AGENTS");
    write(
        &l.repo.join("CLAUDE.md"),
        "ROOT-CLAUDE: follow @docs/style.md, not `@docs/ignored.md`.",
    );
    write(&l.repo.join("docs/style.md"), "STYLE-IMPORT");
    write(&l.repo.join("docs/ignored.md"), "IGNORED-IMPORT");
    // A repository (not trusted in config.toml) may not import from outside itself.
    write(&l.repo.join("CLAUDE.local.md"), "ROOT-LOCAL @~/outside.md");
    write(&l.home.join("outside.md"), "OUTSIDE-IMPORT");
    write(&l.sub.join("CLAUDE.md"), "SUB-CLAUDE");
    l
}

async fn start(l: &Layout, mock: &MockLlm) -> Agentd {
    Agentd::start(
        Options::default()
            .config_home(&l.config_home)
            .env("HOME", l.home.display().to_string())
            .mock_provider(&mock.base_url(), "responses"),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_model_reads_user_files_then_agents_claude_and_local_with_imports_in_order() {
    let root = tempfile::tempdir().unwrap();
    let l = layout(root.path());
    let mock = MockLlm::start(vec![Scripted::responses_text("ok")])
        .await
        .unwrap();
    let d = start(&l, &mock).await;
    let mut c = d.client("t").await.unwrap();
    let thread = c
        .start_thread(json!({"cwd": l.sub, "developerInstructions": "DEV-RULES"}))
        .await
        .unwrap();
    let turn = c.start_turn(&thread, "hi").await.unwrap();
    c.until_turn_completed(&turn).await.unwrap();
    let body = &mock.requests()[0].body;
    let text = body["instructions"].as_str().unwrap();
    let order = [
        "USER-AGENTS",
        "USER-CLAUDE",
        "USER-IMPORT",
        "ROOT-AGENTS",
        "ROOT-CLAUDE",
        "STYLE-IMPORT",
        "ROOT-LOCAL",
        "SUB-CLAUDE",
        "DEV-RULES",
    ];
    let pos: Vec<usize> = order
        .iter()
        .map(|s| {
            text.find(s)
                .unwrap_or_else(|| panic!("{s} missing from {text}"))
        })
        .collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "{text}");
    assert!(!text.contains("IGNORED-IMPORT"), "a code span is no import");
    assert!(
        !text.contains("OUTSIDE-IMPORT"),
        "an untrusted repository stays inside"
    );
    let label = format!(
        "# Instructions from {} (imported by {})",
        l.repo.join("docs/style.md").display(),
        l.repo.join("CLAUDE.md").display()
    );
    assert!(text.contains(&label), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instructions_list_names_the_files_in_the_order_the_model_reads_them() {
    let root = tempfile::tempdir().unwrap();
    let l = layout(root.path());
    let mock = MockLlm::start(vec![]).await.unwrap();
    let d = start(&l, &mock).await;
    let mut c = d.client("t").await.unwrap();
    let listed = c
        .call("instructions/list", json!({"cwd": l.sub}))
        .await
        .unwrap();
    let files = listed["files"].as_array().unwrap();
    let got: Vec<(String, &str, Option<&str>)> = files
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_owned(),
                f["kind"].as_str().unwrap(),
                f["importedFrom"].as_str(),
            )
        })
        .collect();
    let p = |path: PathBuf| path.display().to_string();
    let user_claude = p(l.home.join(".claude/CLAUDE.md"));
    let root_claude = p(l.repo.join("CLAUDE.md"));
    let want = vec![
        (p(l.config_home.join("agentd/AGENTS.md")), "user", None),
        (user_claude.clone(), "user", None),
        (
            p(l.home.join("rules/mine.md")),
            "import",
            Some(user_claude.as_str()),
        ),
        (p(l.repo.join("AGENTS.md")), "agents", None),
        (root_claude.clone(), "claude", None),
        (
            p(l.repo.join("docs/style.md")),
            "import",
            Some(root_claude.as_str()),
        ),
        (p(l.repo.join("CLAUDE.local.md")), "claudeLocal", None),
        (p(l.sub.join("CLAUDE.md")), "claude", None),
    ];
    assert_eq!(got, want);
    let first: &Value = &files[0];
    assert_eq!(first["bytes"], "USER-AGENTS".len());
    assert_eq!(first["truncated"], false);
}
