//! Loading from real files in a temporary config dir, the way `agentd serve` does.

use std::path::{Path, PathBuf};

use agentd_protocol::{AskForApproval, SandboxMode};
use serde_json::json;

use super::*;

struct Dir {
    temp: tempfile::TempDir,
}

impl Dir {
    fn new() -> Self {
        Dir {
            temp: tempfile::tempdir().unwrap(),
        }
    }

    /// A config dir holding `config.toml` with `text`.
    fn with_file(text: &str) -> Self {
        let d = Dir::new();
        std::fs::write(d.file(), text).unwrap();
        d
    }

    fn path(&self) -> &Path {
        self.temp.path()
    }

    fn file(&self) -> PathBuf {
        self.path().join("config.toml")
    }

    fn opts(&self) -> LoadOptions {
        LoadOptions {
            config_dir: self.path().to_owned(),
            ..LoadOptions::default()
        }
    }

    fn load(&self) -> Result<LoadedConfig, ConfigError> {
        Config::load(&self.opts())
    }

    fn load_with(
        &self,
        overrides: &[&str],
        profile: Option<&str>,
    ) -> Result<LoadedConfig, ConfigError> {
        Config::load(&LoadOptions {
            overrides: overrides.iter().map(|s| s.to_string()).collect(),
            profile: profile.map(str::to_owned),
            ..self.opts()
        })
    }
}

fn origin(l: &LoadedConfig, key: &str) -> String {
    l.origins
        .get(key)
        .unwrap_or_else(|| panic!("no origin for {key}: {:?}", l.origins))
        .to_string()
}

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
fn an_unknown_key_names_the_key_and_the_file() {
    let d = Dir::with_file("modle = \"gpt-5\"\n");
    let err = d.load().unwrap_err().to_string();
    assert_eq!(err, format!("{}: unknown key `modle`", d.file().display()));

    let d = Dir::with_file("[model_providers.x]\nbase_url = \"http://h\"\nretries = 1\n");
    let err = d.load().unwrap_err().to_string();
    assert!(
        err.contains("unknown key `model_providers.x.retries`"),
        "{err}"
    );

    let d = Dir::with_file("[profiles.p]\nmodle = \"x\"\n");
    let err = d.load().unwrap_err().to_string();
    assert!(err.contains("unknown key `profiles.p.modle`"), "{err}");

    let d = Dir::with_file("[profiles.p.profiles.q]\nmodel = \"x\"\n");
    let err = d.load().unwrap_err().to_string();
    assert!(err.contains("unknown key `profiles.p.profiles`"), "{err}");
}

#[test]
fn a_bad_value_names_the_key() {
    let d = Dir::with_file("approval_policy = \"sometimes\"\n");
    let err = d.load().unwrap_err().to_string();
    let file = d.file().display().to_string();
    assert!(
        err.starts_with(&format!("{file}: key `approval_policy`: ")),
        "{err}"
    );
    assert!(
        err.contains("sometimes") && err.contains("on-request"),
        "{err}"
    );

    for (text, key) in [
        ("sandbox_mode = \"yolo\"\n", "sandbox_mode"),
        ("model_context_window = -1\n", "model_context_window"),
        ("model = 5\n", "model"),
        (
            "[model_providers.x]\nbase_url = \"http://h\"\nwire_api = \"grpc\"\n",
            "model_providers.x.wire_api",
        ),
        (
            "[model_providers.x]\nbase_url = \"ftp://h\"\n",
            "model_providers.x.base_url",
        ),
        (
            "[model_providers.x]\nname = \"no url\"\n",
            "model_providers.x",
        ),
        (
            "[sandbox_workspace_write]\nwritable_roots = [\"rel\"]\n",
            "sandbox_workspace_write.writable_roots",
        ),
    ] {
        let d = Dir::with_file(text);
        let err = d.load().unwrap_err().to_string();
        let file = d.file().display().to_string();
        assert!(
            err.starts_with(&format!("{file}: key `{key}`: ")),
            "{text}: {err}"
        );
    }
}

#[test]
fn limits_have_defaults_and_must_not_be_zero() {
    let c = Config::defaults();
    assert_eq!(c.approval_timeout_ms, 3_600_000);
    assert_eq!(c.shell_timeout_ms, 10_000);
    assert_eq!(c.shell_output_cap_bytes, 1024 * 1024);
    assert_eq!(c.shell_model_output_bytes, 10 * 1024);
    assert_eq!(c.sandbox_max_processes, 1024);
    let l = Dir::with_file(
        "shell_timeout_ms = 60000\nshell_output_cap_bytes = 4096\nsandbox_max_processes = 4096\n",
    )
    .load()
    .unwrap();
    assert_eq!(l.config.shell_timeout_ms, 60_000);
    assert_eq!(l.config.shell_output_cap_bytes, 4096);
    assert_eq!(l.config.sandbox_max_processes, 4096);
    for key in [
        "approval_timeout_ms",
        "shell_timeout_ms",
        "shell_output_cap_bytes",
        "shell_model_output_bytes",
        "sandbox_max_processes",
        "model_providers.openai.stream_idle_timeout_ms",
    ] {
        let arg = format!("{key}=0");
        let err = Dir::new().load_with(&[&arg], None).unwrap_err().to_string();
        assert_eq!(
            err,
            format!("-c {arg}: key `{key}`: must be greater than 0")
        );
    }
}

#[test]
fn toml_syntax_errors_name_the_file() {
    let d = Dir::with_file("model = \n");
    let err = d.load().unwrap_err().to_string();
    assert!(err.starts_with(&d.file().display().to_string()), "{err}");
    assert!(err.contains("line 1"), "{err}");
}

#[test]
fn a_bad_override_names_the_override() {
    let d = Dir::new();
    let err = d
        .load_with(&["approval_policy=x"], None)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("-c approval_policy=x: key `approval_policy`: "),
        "{err}"
    );
    let err = d.load_with(&["modle=x"], None).unwrap_err().to_string();
    assert_eq!(err, "-c modle=x: unknown key `modle`");
    let err = d
        .load_with(&["model_context_window=lots"], None)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("-c model_context_window=lots: key `model_context_window`"),
        "{err}"
    );
    let err = d
        .load_with(&["profiles.p.model=x"], None)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("-c profiles.p.model=x: "), "{err}");
}

#[test]
fn an_unknown_profile_is_an_error() {
    let d = Dir::with_file("[profiles.fast]\nmodel = \"x\"\n");
    let err = d.load_with(&[], Some("slow")).unwrap_err().to_string();
    assert!(err.starts_with("unknown profile `slow`"), "{err}");
    assert!(err.contains("fast"), "{err}");
    let err = Dir::new()
        .load_with(&[], Some("slow"))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("unknown profile `slow`"), "{err}");
    let d = Dir::with_file("profile = \"missing\"\n");
    assert!(matches!(d.load(), Err(ConfigError::UnknownProfile { .. })));
}

#[test]
fn an_unknown_provider_is_an_error() {
    let d = Dir::with_file("model_provider = \"nope\"\n");
    let err = d.load().unwrap_err().to_string();
    let file = d.file().display().to_string();
    assert!(
        err.starts_with(&format!(
            "{file}: key `model_provider`: unknown provider `nope`"
        )),
        "{err}"
    );
    assert!(err.contains("lmstudio, ollama, openai"), "{err}");
    let err = Dir::new()
        .load_with(&["model_provider=nope"], None)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("-c model_provider=nope: key `model_provider`"),
        "{err}"
    );
}

#[test]
fn a_missing_explicit_config_file_is_an_error() {
    let d = Dir::new();
    let err = Config::load(&LoadOptions {
        config_path: Some(d.path().join("absent.toml")),
        ..d.opts()
    })
    .unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }), "{err}");
    assert!(err.to_string().contains("absent.toml"), "{err}");

    std::fs::write(d.path().join("other.toml"), "model = \"o3\"\n").unwrap();
    let l = Config::load(&LoadOptions {
        config_path: Some(d.path().join("other.toml")),
        ..d.opts()
    })
    .unwrap();
    assert_eq!(l.config.model, "o3");
}

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
    assert_eq!(hooks.pre_tool_use.len(), 2);
    assert_eq!(hooks.pre_tool_use[0].command, ["./check.sh", "--strict"]);
    assert_eq!(
        hooks.pre_tool_use[0].matcher.as_deref(),
        Some("shell|apply_patch")
    );
    assert_eq!(hooks.pre_tool_use[0].timeout_ms, DEFAULT_HOOK_TIMEOUT_MS);
    assert_eq!(hooks.pre_tool_use[1].command, ["sh", "-c", "echo hi >&2"]);
    assert_eq!(hooks.pre_tool_use[1].timeout_ms, 500);
    assert_eq!(hooks.pre_tool_use[1].origin, Origin::File(d.file()));
    assert_eq!(hooks.stop.len(), 1);
    assert!(hooks.post_tool_use.is_empty() && hooks.user_prompt_submit.is_empty());
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
    assert_eq!(l.config.hooks.stop[0].command, ["sh", "-c", "false"]);
    assert!(matches!(
        l.config.hooks.stop[0].origin,
        Origin::CommandLine { .. }
    ));
    assert_eq!(l.config.hooks.pre_tool_use.len(), 2);
}

#[test]
fn no_hooks_leave_the_json_view_unchanged() {
    let l = Dir::new().load().unwrap();
    assert!(l.config.hooks.is_empty());
    assert!(l.redacted_json().get("hooks").is_none());
}

#[test]
fn bad_hooks_name_the_key_and_the_file() {
    for (text, key) in [
        (
            "[[hooks.PreToolUse]]\ncommand = 'x'\nwhen = 1\n",
            "hooks.PreToolUse[0].when",
        ),
        ("[[hooks.OnLaunch]]\ncommand = 'x'\n", "hooks.OnLaunch"),
        ("[[hooks.Stop]]\nmatcher = '*'\n", "hooks.Stop[0]"),
        ("[[hooks.Stop]]\ncommand = 3\n", "hooks.Stop[0].command"),
        ("[[hooks.Stop]]\ncommand = []\n", "hooks.Stop[0].command"),
        ("[[hooks.Stop]]\ncommand = '  '\n", "hooks.Stop[0].command"),
        (
            "[[hooks.Stop]]\ncommand = 'x'\ntimeout_ms = 0\n",
            "hooks.Stop[0].timeout_ms",
        ),
        (
            "[[hooks.PreToolUse]]\ncommand = 'x'\nmatcher = 'shell|'\n",
            "hooks.PreToolUse[0].matcher",
        ),
    ] {
        let d = Dir::with_file(text);
        let err = d.load().unwrap_err().to_string();
        assert!(
            err.contains(&d.file().display().to_string()),
            "{text}: {err}"
        );
        assert!(err.contains(key), "{text}: {key} in {err}");
    }
}
