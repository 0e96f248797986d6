//! `config/read` and `model/list` report what the daemon loaded: values from the file, the
//! profile and `-c` overrides, where each came from, secrets redacted, in shapes Codex clients
//! accept.

use agentd_tests::json::{assert_absent_or_null, assert_null, field};
use agentd_tests::{Agentd, Options};
use serde_json::{json, Value};

use crate::codex_support::assert_codex_valid;

const SECRET: &str = "Bearer sk-config-read-test-0123456789";

const CONFIG: &str = r#"
model = "corp-large"
model_provider = "corp"
model_reasoning_effort = "high"

[model_providers.corp]
name = "Corp LLM"
base_url = "http://127.0.0.1:9/v1"
env_key = "CORP_LLM_KEY"
wire_api = "chat"
http_headers = { Authorization = "Bearer sk-config-read-test-0123456789", "X-Team" = "search" }

[models.corp-large]
display_name = "Corp Large"
description = "The big one"

[models.corp-small]
display_name = "Corp Small"
supported_reasoning_efforts = ["low", "medium"]
input_modalities = ["text", "image"]

[models.corp-secret]
hidden = true

[profiles.careful]
approval_policy = "untrusted"
"#;

async fn daemon() -> Agentd {
    Agentd::start(
        Options::default()
            .config_toml(CONFIG)
            .arg("--profile")
            .arg("careful")
            .arg("-c")
            .arg("sandbox_mode=read-only")
            .arg("-c")
            .arg("model_providers.corp.stream_idle_timeout_ms=1000"),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_read_reports_values_and_origins_with_secrets_redacted() {
    let d = daemon().await;
    let mut c = d.client("config-read").await.unwrap();
    let answer = c
        .request("config/read", json!({"cwd": null, "includeLayers": true}))
        .await
        .unwrap();
    assert!(CONFIG.contains(SECRET), "the file really holds the secret");
    let token = SECRET.trim_start_matches("Bearer ");
    assert!(
        !answer.to_string().contains(token),
        "the secret header leaked: {answer}"
    );
    let r = &answer["result"];
    let config = &r["config"];
    assert_eq!(config["model"], "corp-large");
    assert_eq!(config["model_provider"], "corp");
    assert_eq!(config["approval_policy"], "untrusted", "from the profile");
    assert_eq!(config["sandbox_mode"], "read-only", "from -c");
    assert_eq!(config["profile"], "careful");
    let corp = &config["model_providers"]["corp"];
    assert_eq!(
        corp["http_headers"],
        json!({"Authorization": "***", "X-Team": "search"})
    );
    assert_eq!(corp["env_key"], "CORP_LLM_KEY");
    assert_eq!(corp["wire_api"], "chat");
    assert_eq!(corp["stream_idle_timeout_ms"], 1000);
    assert_eq!(
        config["model_providers"]["openai"]["base_url"],
        "https://api.openai.com/v1"
    );

    let origins = &r["origins"];
    let file = origins["model"]["name"]["file"].as_str().unwrap();
    assert!(file.ends_with("/config/agentd/config.toml"), "{file}");
    assert_eq!(origins["model"]["name"]["type"], "user");
    // `profile` is optional in Codex's schema: a layer that is not a profile may leave it out.
    assert_absent_or_null(&origins["model"]["name"], "profile");
    assert_eq!(origins["model"]["version"].as_str().map(str::len), Some(64));
    assert_eq!(
        origins["approval_policy"]["name"],
        json!({"type": "user", "file": file, "profile": "careful"})
    );
    assert_eq!(
        origins["approval_policy"]["version"],
        origins["model"]["version"]
    );
    assert_eq!(
        origins["sandbox_mode"]["name"],
        json!({"type": "sessionFlags"})
    );
    assert_eq!(
        origins["model_providers.corp.stream_idle_timeout_ms"]["name"]["type"],
        "sessionFlags"
    );
    assert_eq!(
        origins["model_providers.corp.http_headers.Authorization"]["name"]["type"],
        "user"
    );
    assert!(
        origins.get("model_providers.openai.base_url").is_none(),
        "defaults are not listed"
    );
    assert_codex_valid("ConfigReadResponse", r);

    // The layers, the one that wins first; each holds the keys it set that are in effect.
    let layers = r["layers"].as_array().unwrap();
    let names: Vec<&Value> = layers.iter().map(|l| &l["name"]).collect();
    assert_eq!(
        names,
        [
            &json!({"type": "sessionFlags"}),
            &json!({"type": "user", "file": file, "profile": "careful"}),
            &json!({"type": "user", "file": file, "profile": null}),
        ]
    );
    let (flags, profile, user) = (&layers[0], &layers[1], &layers[2]);
    assert_eq!(flags["config"]["sandbox_mode"], "read-only");
    assert_eq!(
        flags["config"]["model_providers"]["corp"]["stream_idle_timeout_ms"],
        1000
    );
    assert_eq!(flags["version"], origins["sandbox_mode"]["version"]);
    assert_eq!(profile["config"], json!({"approval_policy": "untrusted"}));
    assert_eq!(user["config"]["model"], "corp-large");
    assert_eq!(
        user["config"]["model_providers"]["corp"]["http_headers"]["Authorization"],
        "***"
    );
    assert!(user["config"].get("sandbox_mode").is_none(), "{user}");
    assert_eq!(user["version"], origins["model"]["version"]);

    let plain = c.call("config/read", json!({})).await.unwrap();
    assert!(
        plain.get("layers").is_none(),
        "layers only when asked: {plain}"
    );
    assert_codex_valid("ConfigReadResponse", &plain);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_list_returns_the_configured_models() {
    let d = daemon().await;
    let mut c = d.client("model-list").await.unwrap();
    let r = c.call("model/list", json!({})).await.unwrap();
    assert_codex_valid("ModelListResponse", &r);
    let data = r["data"].as_array().unwrap();
    let ids: Vec<&str> = data.iter().filter_map(|m| m["id"].as_str()).collect();
    assert_eq!(
        ids,
        ["corp-large", "corp-small"],
        "default first, hidden left out"
    );
    assert_null(&r, "nextCursor");
    let default = &data[0];
    assert_eq!(default["model"], "corp-large");
    assert_eq!(default["isDefault"], true);
    assert_eq!(default["displayName"], "Corp Large");
    assert_eq!(default["description"], "The big one");
    assert_eq!(default["defaultReasoningEffort"], "high");
    assert_eq!(data[1]["isDefault"], false);
    assert_eq!(data[1]["description"], "corp-small via Corp LLM");
    let efforts: Vec<&Value> = data[1]["supportedReasoningEfforts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["reasoningEffort"])
        .collect();
    assert_eq!(efforts, [&json!("low"), &json!("medium")]);
    // A Chat Completions model takes text unless its `[models.NAME]` says more.
    assert_eq!(default["inputModalities"], json!(["text"]));
    assert_eq!(data[1]["inputModalities"], json!(["text", "image"]));

    // Pages of one, hidden models included, as the Codex TUI asks.
    let mut seen = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let page = c
            .call(
                "model/list",
                json!({"cursor": cursor, "limit": 1, "includeHidden": true, "modelProvider": null}),
            )
            .await
            .unwrap();
        assert_codex_valid("ModelListResponse", &page);
        let data = page["data"].as_array().unwrap();
        assert_eq!(data.len(), 1, "{page}");
        seen.push(data[0]["id"].as_str().unwrap().to_owned());
        cursor = field(&page, "nextCursor").clone();
        if cursor.is_null() {
            break;
        }
    }
    assert_eq!(seen, ["corp-large", "corp-secret", "corp-small"]);

    let bad = c
        .request("model/list", json!({"cursor": "not-a-cursor"}))
        .await
        .unwrap();
    assert_eq!(bad["error"]["code"], -32602, "{bad}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_responses_model_takes_text_and_images() {
    let d = Agentd::start(Options::default()).await.unwrap();
    let mut c = d.client("model-list").await.unwrap();
    let r = c.call("model/list", json!({})).await.unwrap();
    assert_codex_valid("ModelListResponse", &r);
    assert_eq!(r["data"][0]["inputModalities"], json!(["text", "image"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_input_modalities_list_is_refused_at_start() {
    let stderr = agentd_tests::access::refused_at_start(
        Options::default().config_toml("[models.m]\ninput_modalities = []\n"),
    )
    .await;
    assert!(stderr.contains("models.m.input_modalities"), "{stderr}");
}
