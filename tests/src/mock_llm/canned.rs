//! Built-in scripts for `mock-llm --demo` and `--bench`: a newcomer sees a
//! streamed turn with no API key, and the latency benchmark gets a stream
//! of a known size.

use std::time::Duration;

use super::script::{chunk_text, Scripted, Step, Usage};

/// The default delay between demo events: slow enough to see streaming.
pub const DEMO_CHUNK_DELAY: Duration = Duration::from_millis(40);

/// A few canned answers, each a reasoning summary and a several-chunk text.
/// Serve with `MockConfig { cycle: true, .. }` to loop forever.
pub fn demo_script(chunk_delay: Duration) -> Vec<Scripted> {
    let answers = [
        (
            "The user greeted me; I should introduce the demo.",
            "Hello! I am mock-llm, a scripted stand-in for a real model. \
             This answer is streamed to agentd one small delta at a time, \
             exactly like a real provider would send it.",
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
    answers
        .iter()
        .map(|(thought, text)| {
            Scripted::responses(vec![
                Step::created(),
                Step::Reasoning(chunk_text(thought)),
                Step::Message(chunk_text(text)),
                Step::completed(Usage::default()),
            ])
            .with_chunk_delay(chunk_delay)
        })
        .collect()
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
