//! `cargo fuzz run rpc_frame`: see `agentd::fuzzing::rpc_frame`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    agentd::fuzzing::rpc_frame(data);
});
