//! `cargo fuzz run apply_patch`: see `agentd::fuzzing::apply_patch`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    agentd::fuzzing::apply_patch(data);
});
