//! The scenario catalogue as test cases: one per file in `scenarios/`, named after it, so
//! `cargo test --test catalogue NAME` runs one and `cargo nextest run --partition
//! count:K/N` splits the catalogue across machines. Each runs on its own server, as
//! `trustbench run` does.

use std::path::PathBuf;

use harness::runner;
use harness::scenario::{self, Scenario};
use libtest_mimic::{Arguments, Failed, Trial};

fn main() -> std::process::ExitCode {
    let args = Arguments::from_args();
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios"));
    let files = match scenario::discover(&[dir]) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("cannot list the scenarios: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let trials = files
        .into_iter()
        .map(|file| {
            let name = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            Trial::test(name, move || play(&file))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}

fn play(file: &std::path::Path) -> Result<(), Failed> {
    let scenario = Scenario::load(file).map_err(|e| Failed::from(e.to_string()))?;
    let result = runner::run(&scenario);
    if result.passed {
        return Ok(());
    }
    let mut report = Vec::new();
    harness::output::write_failure(&mut report, &result)
        .map_err(|e| Failed::from(e.to_string()))?;
    Err(Failed::from(String::from_utf8_lossy(&report).into_owned()))
}
