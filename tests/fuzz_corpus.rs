//! Replays the fuzz corpora (`fuzz/corpus/<target>/`) through the same entry points the
//! `cargo fuzz` targets call, on the stable toolchain: every input the fuzzer kept, and every
//! crash fixed since (saved there as `regression-*`), must still run without a panic.

#![expect(
    clippy::unwrap_used,
    reason = "helpers of a test crate panic on what the test did not expect; clippy's allow-unwrap-in-tests reaches only #[test] fns"
)]

use std::path::{Path, PathBuf};

use harness::scenario::Scenario;
use mock_server::fuzzing;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut inputs: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (path, data)
        })
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "{} has no inputs", dir.display());
    inputs
}

fn replay(target: &str, run: impl Fn(&[u8])) {
    for (path, data) in corpus(target) {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&data)));
        assert!(outcome.is_ok(), "{} panicked", path.display());
    }
}

#[test]
fn query() {
    replay("query", fuzzing::query);
}

#[test]
fn sigv4() {
    replay("sigv4", fuzzing::sigv4);
}

#[test]
fn policy() {
    replay("policy", fuzzing::policy);
}

#[test]
fn tokens() {
    replay("tokens", fuzzing::tokens);
}

#[test]
fn world() {
    replay("world", fuzzing::world);
}

#[test]
fn scenario() {
    replay("scenario", |data| {
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        if let Ok(scenario) = Scenario::parse(text, Path::new("scenarios/fuzz.yaml")) {
            fuzzing::build(scenario.world());
        }
    });
}

#[test]
fn pipeline() {
    replay("pipeline", |data| {
        fuzzing::pipeline(data);
    });
}

/// The pipeline target's requests are signed well enough to reach the handlers: a
/// GetCallerIdentity by the administrator, CreateRole then AssumeRole of the new role
/// with its external ID, and a GovCloud DescribeRegions all succeed.
#[test]
fn pipeline_requests_reach_the_handlers() {
    let form = |pick: u8, pairs: &[(&str, &str)]| {
        let mut out = vec![pick];
        let encoded: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        out.extend_from_slice(encoded.join("&").as_bytes());
        out
    };
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"ext-1"}}}]}"#;
    let requests = [
        form(
            9,
            &[("Action", "GetCallerIdentity"), ("Version", "2011-06-15")],
        ),
        form(
            3,
            &[
                ("Action", "CreateRole"),
                ("Version", "2010-05-08"),
                ("RoleName", "fz"),
                ("AssumeRolePolicyDocument", trust),
            ],
        ),
        form(
            9,
            &[
                ("Action", "AssumeRole"),
                ("Version", "2011-06-15"),
                ("RoleArn", "arn:aws:iam::111111111111:role/fz"),
                ("RoleSessionName", "ci"),
                ("ExternalId", "ext-1"),
            ],
        ),
        form(
            9,
            &[
                ("Action", "AssumeRole"),
                ("Version", "2011-06-15"),
                ("RoleArn", "arn:aws:iam::111111111111:role/fz"),
                ("RoleSessionName", "ci"),
            ],
        ),
        form(
            8,
            &[("Action", "DescribeRegions"), ("Version", "2016-11-15")],
        ),
    ];
    assert_eq!(
        fuzzing::pipeline(&requests.join(&0)),
        [200, 200, 200, 403, 200]
    );
    // Each input starts from the loaded world: the role is gone again.
    assert_eq!(fuzzing::pipeline(&requests[2]), [403]);
}

fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The seeds reach what they were written for: the catalogue's scenarios and the checked-in
/// worlds load, so the fuzzers start from valid inputs and mutate inward.
#[test]
fn seed_files_are_valid_inputs() {
    for (path, data) in corpus("world") {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with("seed-") {
            let text = String::from_utf8(data).unwrap_or_else(|e| panic!("{name}: {e}"));
            let world =
                mock_server::World::from_yaml(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(fuzzing::build(world), "{name} does not start a server");
        }
    }
}
