//! `cargo fuzz run sse`: see `agentd::fuzzing::sse`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    agentd::fuzzing::sse(data);
});
