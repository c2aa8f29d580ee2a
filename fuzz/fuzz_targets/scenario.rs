//! Scenario files: parsed as `trustbench run` reads them, their world checked as a server
//! would before starting.
#![no_main]

use std::path::Path;

use harness::scenario::Scenario;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(scenario) = Scenario::parse(text, Path::new("scenarios/fuzz.yaml")) {
        mock_server::fuzzing::build(scenario.world());
    }
});
