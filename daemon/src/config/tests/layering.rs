//! Which layer wins: built-in defaults, the file, a profile, `-c` overrides; and the origin
//! each key reports.

use crate::config::HookEvent;
use std::path::PathBuf;

use agentd_protocol::{AskForApproval, SandboxMode};
use serde_json::json;

use super::*;

#[test]
fn no_file_means_defaults() {
    let d = Dir::new();
    let l = d.load().unwrap();
    let c = &l.config;
    assert_eq!(c.model, "gpt-5");
    assert_eq!(c.model_provider, "openai");
    assert_eq!(c.approval_policy, AskForApproval::OnRequest);
    assert_eq!(c.sandbox_mode, SandboxMode::WorkspaceWrite);
    assert_eq!(c.sandbox_workspace_write, WorkspaceWriteConfig::default());
    assert_eq!(c.model_context_window, None);
    assert_eq!(l.file, None);
    assert_eq!(l.file_version, None);
    assert_eq!(origin(&l, "model"), "default");
    assert_eq!(origin(&l, "model_providers.openai.base_url"), "default");
    assert_eq!(l.config.providers, Config::defaults().providers);
}

#[test]
fn built_in_providers_are_present() {
    let c = Config::defaults();
    let openai = c.provider("openai").unwrap();
    assert_eq!(openai.base_url, "https://api.openai.com/v1");
    assert_eq!(openai.env_key.as_deref(), Some("OPENAI_API_KEY"));
    assert_eq!(openai.wire_api, WireApi::Responses);
    assert_eq!(openai.request_max_retries, 4);
    assert_eq!(openai.stream_max_retries, 5);
    assert_eq!(openai.stream_idle_timeout_ms, 300_000);
    let ollama = c.provider("ollama").unwrap();
    assert_eq!(
        (ollama.base_url.as_str(), ollama.wire_api, &ollama.env_key),
        ("http://localhost:11434/v1", WireApi::Chat, &None)
    );
    let lmstudio = c.provider("lmstudio").unwrap();
    assert_eq!(
        (
            lmstudio.base_url.as_str(),
            lmstudio.wire_api,
            &lmstudio.env_key
        ),
        ("http://localhost:1234/v1", WireApi::Chat, &None)
    );
    assert!(c.provider("nope").is_none());
}

#[test]
fn file_values_are_read_with_their_origin() {
    let d = Dir::with_file(
        r#"
model = "llama3.1"
model_provider = "mock"
approval_policy = "never"
sandbox_mode = "read-only"
model_context_window = 128000
model_auto_compact_token_limit = 100000
model_reasoning_effort = "high"
instructions = "be brief"
developer_instructions = "use tabs"

[sandbox_workspace_write]
writable_roots = ["/srv/shared"]
network_access = true

[model_providers.mock]
name = "Mock"
base_url = "http://127.0.0.1:9/v1"
env_key = "MOCK_KEY"
wire_api = "chat"
query_params = { "api-version" = "1" }
request_max_retries = 1
stream_max_retries = 0
stream_idle_timeout_ms = 2000

[models."llama3.1"]
display_name = "Llama 3.1"
hidden = true
supported_reasoning_efforts = ["low"]
"#,
    );
    let l = d.load().unwrap();
    let c = &l.config;
    assert_eq!(c.model, "llama3.1");
    assert_eq!(c.model_provider, "mock");
    assert_eq!(c.approval_policy, AskForApproval::Never);
    assert_eq!(c.sandbox_mode, SandboxMode::ReadOnly);
    assert_eq!(c.model_context_window, Some(128_000));
    assert_eq!(c.model_auto_compact_token_limit, Some(100_000));
    assert_eq!(c.model_reasoning_effort.as_deref(), Some("high"));
    assert_eq!(c.instructions.as_deref(), Some("be brief"));
    assert_eq!(c.developer_instructions.as_deref(), Some("use tabs"));
    assert_eq!(
        c.sandbox_workspace_write.writable_roots,
        vec![PathBuf::from("/srv/shared")]
    );
    assert!(c.sandbox_workspace_write.network_access);
    assert!(!c.sandbox_workspace_write.exclude_slash_tmp);
    let mock = c.provider("mock").unwrap();
    assert_eq!(mock.id, "mock");
    assert_eq!(mock.name, "Mock");
    assert_eq!(mock.env_key.as_deref(), Some("MOCK_KEY"));
    assert_eq!(mock.wire_api, WireApi::Chat);
    assert_eq!(mock.query_params["api-version"], "1");
    assert_eq!(
        (
            mock.request_max_retries,
            mock.stream_max_retries,
            mock.stream_idle_timeout_ms
        ),
        (1, 0, 2000)
    );
    assert!(c.models["llama3.1"].hidden);
    assert!(c.provider("openai").is_some(), "built-ins stay");

    let file = d.file().display().to_string();
    assert_eq!(l.file.as_deref(), Some(d.file().as_path()));
    assert_eq!(l.file_version.as_ref().map(String::len), Some(64));
    assert_eq!(origin(&l, "model"), file);
    assert_eq!(origin(&l, "model_providers.mock.base_url"), file);
    assert_eq!(origin(&l, "sandbox_workspace_write.writable_roots"), file);
    assert_eq!(
        origin(&l, "sandbox_workspace_write.exclude_slash_tmp"),
        "default"
    );
    assert_eq!(origin(&l, "models.\"llama3.1\".hidden"), file);
}

#[test]
fn a_profile_overrides_the_top_level() {
    let d = Dir::with_file(
        r#"
model = "gpt-5"
approval_policy = "on-request"

[profiles.fast]
model = "gpt-5-mini"
approval_policy = "never"

[profiles.fast.model_providers.openai]
request_max_retries = 1
"#,
    );
    let plain = d.load().unwrap();
    assert_eq!(plain.config.model, "gpt-5");
    assert_eq!(plain.config.profile, None);

    let l = d.load_with(&[], Some("fast")).unwrap();
    assert_eq!(l.config.model, "gpt-5-mini");
    assert_eq!(l.config.approval_policy, AskForApproval::Never);
    assert_eq!(l.config.profile.as_deref(), Some("fast"));
    let openai = l.config.provider("openai").unwrap();
    assert_eq!(openai.request_max_retries, 1);
    assert_eq!(
        openai.base_url, "https://api.openai.com/v1",
        "the rest stays built in"
    );
    let expected = format!("profile fast ({})", d.file().display());
    assert_eq!(origin(&l, "model"), expected);
    assert_eq!(
        origin(&l, "model_providers.openai.request_max_retries"),
        expected
    );
    assert_eq!(origin(&l, "profile"), "--profile");
    assert!(!l.origins.keys().any(|k| k.starts_with("profiles")));
}

#[test]
fn the_file_can_choose_a_default_profile() {
    let d = Dir::with_file("profile = \"p\"\n[profiles.p]\nmodel = \"o3\"\n");
    let l = d.load().unwrap();
    assert_eq!(l.config.model, "o3");
    assert_eq!(origin(&l, "profile"), d.file().display().to_string());
}

#[test]
fn overrides_win_over_file_and_profile() {
    let d =
        Dir::with_file("model = \"a\"\nmodel_context_window = 1\n[profiles.p]\nmodel = \"b\"\n");
    let l = d
        .load_with(
            &[
                "model=c",
                "model_context_window = 200000",
                "sandbox_workspace_write.network_access=true",
            ],
            Some("p"),
        )
        .unwrap();
    assert_eq!(l.config.model, "c");
    assert_eq!(l.config.model_context_window, Some(200_000));
    assert!(l.config.sandbox_workspace_write.network_access);
    assert_eq!(origin(&l, "model"), "-c override");
    assert_eq!(
        origin(&l, "sandbox_workspace_write.network_access"),
        "-c override"
    );
    // Later overrides win over earlier ones.
    let l = d.load_with(&["model=x", "model=y"], None).unwrap();
    assert_eq!(l.config.model, "y");
}

#[test]
fn dotted_overrides_reach_into_providers() {
    let d = Dir::new();
    let l = d
        .load_with(
            &[
                "model_providers.mock.base_url=http://127.0.0.1:4000/v1",
                "model_providers.mock.wire_api=chat",
                "model_providers.mock.http_headers.X-Trace=on",
                "model_provider=mock",
                "model_providers.ollama.base_url=http://gpu-box:11434/v1",
            ],
            None,
        )
        .unwrap();
    let mock = l.config.provider("mock").unwrap();
    assert_eq!(mock.base_url, "http://127.0.0.1:4000/v1");
    assert_eq!(mock.wire_api, WireApi::Chat);
    assert_eq!(mock.name, "mock");
    assert_eq!(mock.http_headers["X-Trace"], "on");
    assert_eq!(mock.request_max_retries, DEFAULT_REQUEST_MAX_RETRIES);
    assert_eq!(l.config.model_provider, "mock");
    let ollama = l.config.provider("ollama").unwrap();
    assert_eq!(ollama.base_url, "http://gpu-box:11434/v1");
    assert_eq!(ollama.wire_api, WireApi::Chat, "other built-in fields stay");
    assert_eq!(origin(&l, "model_providers.mock.base_url"), "-c override");
    assert_eq!(
        origin(&l, "model_providers.mock.request_max_retries"),
        "default"
    );
}

#[test]
fn the_file_overrides_a_built_in_provider() {
    let d = Dir::with_file(
        "[model_providers.openai]\nbase_url = \"http://proxy.local/v1\"\nenv_key = \"PROXY_KEY\"\n",
    );
    let l = d.load().unwrap();
    let openai = l.config.provider("openai").unwrap();
    assert_eq!(openai.base_url, "http://proxy.local/v1");
    assert_eq!(openai.env_key.as_deref(), Some("PROXY_KEY"));
    assert_eq!(openai.wire_api, WireApi::Responses);
    let file = d.file().display().to_string();
    assert_eq!(origin(&l, "model_providers.openai.base_url"), file);
    assert_eq!(origin(&l, "model_providers.openai.name"), "default");
}

#[test]
fn hooks_are_read_with_defaults_and_their_origin() {
    let d = Dir::with_file(
        r#"
[[hooks.PreToolUse]]
command = ["./check.sh", "--strict"]
matcher = "shell|apply_patch"

[[hooks.PreToolUse]]
command = "echo hi >&2"
timeout_ms = 500

[[hooks.Stop]]
command = "true"
"#,
    );
    let l = d.load().unwrap();
    let hooks = &l.config.hooks;
    assert_eq!(hooks.of(HookEvent::PreToolUse).len(), 2);
    assert_eq!(
        hooks.of(HookEvent::PreToolUse)[0].command,
        ["./check.sh", "--strict"]
    );
    assert_eq!(
        hooks.of(HookEvent::PreToolUse)[0].matcher.as_deref(),
        Some("shell|apply_patch")
    );
    assert_eq!(
        hooks.of(HookEvent::PreToolUse)[0].timeout_ms,
        DEFAULT_HOOK_TIMEOUT_MS
    );
    assert_eq!(
        hooks.of(HookEvent::PreToolUse)[1].command,
        ["sh", "-c", "echo hi >&2"]
    );
    assert_eq!(hooks.of(HookEvent::PreToolUse)[1].timeout_ms, 500);
    assert_eq!(
        hooks.of(HookEvent::PreToolUse)[1].origin,
        Origin::File(d.file())
    );
    assert_eq!(hooks.of(HookEvent::Stop).len(), 1);
    assert!(
        hooks.of(HookEvent::PostToolUse).is_empty()
            && hooks.of(HookEvent::UserPromptSubmit).is_empty()
    );
    let json = l.redacted_json();
    assert_eq!(
        json["hooks"]["Stop"][0]["command"],
        json!(["sh", "-c", "true"])
    );
    assert_eq!(
        origin(&l, "hooks.PreToolUse"),
        d.file().display().to_string()
    );

    // An override replaces an event's list as a whole.
    let l = d
        .load_with(&["hooks.Stop=[{command='false'}]"], None)
        .unwrap();
    assert_eq!(
        l.config.hooks.of(HookEvent::Stop)[0].command,
        ["sh", "-c", "false"]
    );
    assert!(matches!(
        l.config.hooks.of(HookEvent::Stop)[0].origin,
        Origin::CommandLine { .. }
    ));
    assert_eq!(l.config.hooks.of(HookEvent::PreToolUse).len(), 2);
}
