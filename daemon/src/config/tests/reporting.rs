//! What `config/read` shows: secrets redacted, file key names, an origin for every leaf, layer
//! versions.

use serde_json::json;

use super::*;

#[test]
fn secret_headers_are_redacted_in_json_and_debug() {
    let d = Dir::with_file(
        r#"
[model_providers.corp]
base_url = "https://llm.corp/v1"
http_headers = { Authorization = "Bearer sk-live-1", "X-Api-Key" = "k-2", "x-session-token" = "t-3", "X-Client-Secret" = "s-4", "X-Team" = "search" }
query_params = { "api-key" = "q-5", "api-version" = "2025" }
"#,
    );
    let l = d.load().unwrap();
    let corp = l.config.provider("corp").unwrap();
    assert_eq!(
        corp.http_headers["Authorization"], "Bearer sk-live-1",
        "the client gets the real value"
    );

    let json = l.redacted_json();
    let headers = &json["model_providers"]["corp"]["http_headers"];
    assert_eq!(
        headers,
        &json!({"Authorization": "***", "X-Api-Key": "***", "x-session-token": "***",
                "X-Client-Secret": "***", "X-Team": "search"})
    );
    assert_eq!(
        json["model_providers"]["corp"]["query_params"],
        json!({"api-key": "***", "api-version": "2025"})
    );
    let shown = format!("{json} {:?} {:?}", l.config, l);
    for secret in ["sk-live-1", "k-2", "t-3", "s-4", "q-5"] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
    assert_eq!(
        origin(&l, "model_providers.corp.http_headers.Authorization"),
        d.file().display().to_string()
    );
}

#[test]
fn secret_overrides_stay_out_of_debug_output() {
    let l = Dir::new()
        .load_with(
            &["model_providers.openai.http_headers.X-Api-Key=from-cli-7"],
            None,
        )
        .unwrap();
    let openai = l.config.provider("openai").unwrap();
    assert_eq!(openai.http_headers["X-Api-Key"], "from-cli-7");
    let shown = format!("{:?} {}", l, l.redacted_json());
    assert!(!shown.contains("from-cli-7"), "{shown}");
    assert_eq!(
        origin(&l, "model_providers.openai.http_headers.X-Api-Key"),
        "-c override"
    );
}

#[test]
fn env_var_values_never_enter_the_config() {
    // PATH is set in every test environment and its value could not appear by accident; using
    // it avoids `set_var`, which races with other test threads reading the environment.
    let var = "PATH";
    let value = std::env::var(var).unwrap_or_default();
    assert!(value.len() > 4, "PATH is set");
    let d = Dir::with_file(&format!(
        "model_provider = \"p\"\n[model_providers.p]\nbase_url = \"http://h/v1\"\nenv_key = \"{var}\"\n"
    ));
    let l = d.load().unwrap();
    assert_eq!(
        l.config.provider("p").unwrap().env_key.as_deref(),
        Some(var)
    );
    let shown = format!("{} {:?}", l.redacted_json(), l);
    assert!(
        shown.contains("\"env_key\":\"PATH\""),
        "the variable's name is shown"
    );
    assert!(!shown.contains(&value), "its value is not: {shown}");
}

#[test]
fn the_json_view_uses_file_keys_and_every_leaf_has_an_origin() {
    let d = Dir::with_file("model_reasoning_effort = \"low\"\n");
    let l = d.load().unwrap();
    let json = l.redacted_json();
    assert_eq!(json["model"], "gpt-5");
    assert_eq!(json["approval_policy"], "on-request");
    assert_eq!(json["sandbox_mode"], "workspace-write");
    assert_eq!(json["sandbox_workspace_write"]["writable_roots"], json!([]));
    assert_eq!(json["model_providers"]["openai"]["wire_api"], "responses");
    assert_eq!(
        json["model_providers"]["openai"]["env_key"],
        "OPENAI_API_KEY"
    );
    assert!(
        json.get("model_context_window").is_none(),
        "absent keys are left out"
    );
    assert!(json["model_providers"]["openai"].get("id").is_none());
    assert_eq!(
        origin(&l, "model_reasoning_effort"),
        d.file().display().to_string()
    );
    assert!(l
        .origins
        .contains_key("model_providers.lmstudio.stream_idle_timeout_ms"));
    assert!(!l.origins.contains_key("model_providers"), "only leaves");
}

#[test]
fn layer_versions_follow_the_file_content() {
    let a = Dir::with_file("model = \"a\"\n").load().unwrap();
    let b = Dir::with_file("model = \"b\"\n").load().unwrap();
    let a_again = Dir::with_file("model = \"a\"\n").load().unwrap();
    assert_ne!(a.file_version, b.file_version);
    assert_eq!(a.file_version, a_again.file_version);
}

#[test]
fn no_hooks_leave_the_json_view_unchanged() {
    let l = Dir::new().load().unwrap();
    assert!(l.config.hooks.is_empty());
    assert!(l.redacted_json().get("hooks").is_none());
}
