//! Errors: each names the key and the layer (file or `-c` argument) that set it.

use super::*;

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

/// An output cap sizes a buffer every shell command fills: a huge one is refused at load, not
/// allocated (and the daemon aborted) at the first command.
#[test]
fn output_caps_are_bounded() {
    for key in ["shell_output_cap_bytes", "shell_model_output_bytes"] {
        let d = Dir::with_file(&format!("{key} = 9223372036854775807\n"));
        let err = d.load().unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "{}: key `{key}`: must be from 1 to 67108864 (64 MiB), not 9223372036854775807",
                d.file().display()
            )
        );
        let arg = format!("{key}=67108865");
        let err = Dir::new().load_with(&[&arg], None).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("-c {arg}: key `{key}`: must be from 1 to")),
            "{err}"
        );
        let arg = format!("{key}=67108864");
        assert!(Dir::new().load_with(&[&arg], None).is_ok(), "{arg}");
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
