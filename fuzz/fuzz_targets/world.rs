//! `mock_server::fuzzing::world` on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mock_server::fuzzing::world(data));
