//! A config the daemon cannot use stops it at start, with a message naming the file or the
//! `-c` override and the key, before it opens any state.

use agentd_tests::{Agentd, Options};

/// Starts a daemon expected to refuse, and returns its stderr.
async fn refusal(opts: Options) -> String {
    let (status, stderr) = Agentd::start_failing(opts).await.unwrap();
    assert!(
        !status.success(),
        "agentd exited {status} on a bad config: {stderr}"
    );
    stderr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_file_with_an_unknown_key_names_the_key_and_the_file() {
    let stderr = refusal(Options::default().config_toml("modle = \"gpt-5\"\n")).await;
    assert!(
        stderr.contains("/config/agentd/config.toml: unknown key `modle`"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_file_with_a_bad_value_names_the_key_and_the_value() {
    let stderr = refusal(
        Options::default()
            .config_toml("model = \"gpt-5\"\n\n[profiles.p]\napproval_policy = \"sometimes\"\n"),
    )
    .await;
    assert!(
        stderr.contains("/config/agentd/config.toml: key `profiles.p.approval_policy`: "),
        "{stderr}"
    );
    assert!(
        stderr.contains("sometimes") && stderr.contains("on-request"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_override_with_a_bad_value_names_the_override() {
    let stderr = refusal(Options::default().arg("-c").arg("approval_policy=x")).await;
    assert!(
        stderr.contains("-c approval_policy=x: key `approval_policy`: "),
        "{stderr}"
    );
    let stderr = refusal(
        Options::default()
            .arg("--config-override")
            .arg("no_such_key=1"),
    )
    .await;
    assert!(
        stderr.contains("-c no_such_key=1: unknown key `no_such_key`"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_naming_an_unknown_provider_or_profile_is_refused() {
    let stderr = refusal(Options::default().config_toml("model_provider = \"nope\"\n")).await;
    assert!(
        stderr.contains("config.toml: key `model_provider`: unknown provider `nope`"),
        "{stderr}"
    );
    let stderr = refusal(
        Options::default()
            .config_toml("[profiles.fast]\nmodel = \"gpt-5-mini\"\n")
            .arg("--profile")
            .arg("slow"),
    )
    .await;
    assert!(stderr.contains("unknown profile `slow`"), "{stderr}");
    assert!(
        stderr.contains("fast"),
        "the known profiles are listed: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_missing_explicit_file_is_refused_but_a_missing_default_file_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let absent = dir.path().join("absent.toml");
    let stderr = refusal(
        Options::default()
            .arg("--config")
            .arg(absent.display().to_string()),
    )
    .await;
    assert!(stderr.contains(&absent.display().to_string()), "{stderr}");

    // The harness's config dir has no config.toml: defaults apply and the daemon starts.
    let d = Agentd::start(Options::default()).await.unwrap();
    let mut c = d.client("config-errors").await.unwrap();
    let r = c.call("config/read", serde_json::json!({})).await.unwrap();
    assert_eq!(r["config"]["model"], "gpt-5");
}

/// A worker-thread count that is not a number (or absurdly large) stops the daemon with a
/// message naming the variable, from the environment and from the flag alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_worker_thread_count_is_refused() {
    let stderr = refusal(Options::default().env("AGENTD_WORKER_THREADS", "lots")).await;
    assert!(
        stderr.contains("AGENTD_WORKER_THREADS") && stderr.contains("lots"),
        "{stderr}"
    );
    let stderr = refusal(Options::default().arg("--worker-threads=5000")).await;
    assert!(
        stderr.contains("AGENTD_WORKER_THREADS") && stderr.contains("5000"),
        "{stderr}"
    );
}

/// An output cap sizes a buffer every shell command fills: a huge one stops the daemon at
/// start with the key and the allowed range, instead of aborting it at the first command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_output_cap_is_refused_naming_the_key_and_the_range() {
    let stderr =
        refusal(Options::default().config_toml("shell_model_output_bytes = 9223372036854775807\n"))
            .await;
    assert!(
        stderr.contains(
            "config.toml: key `shell_model_output_bytes`: must be from 1 to 67108864 (64 MiB)"
        ),
        "{stderr}"
    );
}
