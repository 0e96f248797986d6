//! Built-in scripts for `mock-llm --demo` and `--bench`: a newcomer sees a
//! streamed turn with no API key, and the latency benchmark gets a stream
//! of a known size.

use std::time::Duration;

use serde_json::json;

use super::script::{chunk_text, Scripted, Step, Usage};

/// The default delay between demo events: slow enough to see streaming.
pub const DEMO_CHUNK_DELAY: Duration = Duration::from_millis(40);

/// The command the demo's first answer asks to run: it writes a file (so a
/// daemon with `approval_policy = "untrusted"` asks a client first, which
/// `make demo` wants to show) and prints something (so the output streams).
///
/// `bash -c`, not the `-lc` real models often send: a login shell would print whatever the
/// user's profile prints into the demo.
const DEMO_COMMAND: &[&str] = &[
    "bash",
    "-c",
    "echo 'Hello from agentd' > hello.txt && ls -l && cat hello.txt",
];

/// A canned conversation: first a `shell` call (a short message, then the
/// call, as real models often do), then a few answers, each a reasoning
/// summary and a several-chunk text. The first turn therefore takes two
/// answers (the call, and the text after its output); later turns one each.
/// Serve with `MockConfig { cycle: true, .. }` to loop forever.
///
/// Every answer carries a reasoning summary and message text, so each one
/// shows streaming whichever endpoint asks (`mock_llm_selftest` relies on it).
pub fn demo_script(chunk_delay: Duration) -> Vec<Scripted> {
    let command_call = Scripted::responses(vec![
        Step::created(),
        Step::Reasoning(chunk_text(
            "The user wants a look around; I will run a command in the workspace first.",
        )),
        Step::Message(chunk_text(
            "Let me create a file and look at the workspace.",
        )),
        Step::function_call(
            "demo_call_1",
            "shell",
            &json!({ "command": DEMO_COMMAND }).to_string(),
        ),
        Step::completed(Usage::default()),
    ])
    .with_chunk_delay(chunk_delay);
    let answers = [
        (
            "The command ran; now introduce the demo.",
            "Done: agentd ran the command once it was allowed, streamed its output \
             to every connected client, and gave it back to me. Hello! I am \
             mock-llm, a scripted stand-in for a real model. This answer is \
             streamed to agentd one small delta at a time, exactly like a real \
             provider would send it.",
        ),
        (
            "Explain what just happened in the turn.",
            "Each of your messages starts a turn: agentd sends the conversation \
             to the model endpoint, relays every streamed event to connected \
             clients, and records the result in the session.",
        ),
        (
            "Point out how to use a real model.",
            "To talk to a real model, set a provider base_url and API key in the \
             agentd config. Until then I will keep cycling through these canned \
             answers.",
        ),
    ];
    let texts = answers.iter().map(|(thought, text)| {
        Scripted::responses(vec![
            Step::created(),
            Step::Reasoning(chunk_text(thought)),
            Step::Message(chunk_text(text)),
            Step::completed(Usage::default()),
        ])
        .with_chunk_delay(chunk_delay)
    });
    std::iter::once(command_call).chain(texts).collect()
}

/// One message of `delta_count` deltas of `delta_bytes` bytes each, then
/// `response.completed`.
pub fn bench_script(delta_count: usize, delta_bytes: usize) -> Scripted {
    let delta: String = "abcdefghijklmnopqrstuvwxyz "
        .chars()
        .cycle()
        .take(delta_bytes)
        .collect();
    Scripted::responses(vec![
        Step::created(),
        Step::Message(vec![delta; delta_count]),
        Step::completed(Usage::new(100, delta_count as u64)),
    ])
}
