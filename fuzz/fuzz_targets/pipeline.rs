//! `mock_server::fuzzing::pipeline`: signed requests through the whole pipeline; any 5xx
//! or panic fails.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    mock_server::fuzzing::pipeline(data);
});
