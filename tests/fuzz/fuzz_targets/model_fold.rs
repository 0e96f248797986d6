//! `cargo fuzz run model_fold`: see `agentd::fuzzing::model_fold`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    agentd::fuzzing::model_fold(data);
});
