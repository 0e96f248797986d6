//! `cargo fuzz run exec_policy`: see `agentd::fuzzing::exec_policy`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    agentd::fuzzing::exec_policy(data);
});
