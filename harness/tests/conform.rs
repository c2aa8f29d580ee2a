//! `trustbench conform` with the reference connector behind the protocol
//! (`trustbench-connector`), over the whole catalogue, and with connectors that break the
//! protocol: a crash, invalid output and a hang are failures, never passes.

#![expect(
    clippy::unwrap_used,
    reason = "helpers of a test crate panic on what the test did not expect; clippy's allow-unwrap-in-tests reaches only #[test] fns"
)]

use std::process::Command;

fn conform(connector: &str, extra: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_trustbench"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args(["conform", "--connector", connector])
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code(),
        format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn the_reference_connector_conforms_to_the_whole_catalogue() {
    let (code, out) = conform(env!("CARGO_BIN_EXE_trustbench-connector"), &["--jobs", "4"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("conformance score: 100.0%"), "{out}");
    // Scenarios that need in-process control are reported as such, not as passes.
    assert!(
        out.contains("| not applicable: a pipeline step reuses in-process credentials | expired-temporary-credentials-in-a-pipeline-step |"),
        "{out}"
    );
}

#[test]
fn broken_connectors_fail_and_say_why() {
    let one = ["--filter", "access-key-succeeds", "--timeout", "2"];
    let (code, out) = conform("echo not json", &one);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("connector error: invalid output"), "{out}");
    let (code, out) = conform("echo oops >&2; exit 3", &one);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("exited with exit status: 3; stderr: oops"),
        "{out}"
    );
    let (code, out) = conform("sleep 30", &one);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("connector error: timed out after 2 s"),
        "{out}"
    );
    assert!(out.contains("conformance score: 0.0%"), "{out}");
}

#[test]
fn a_manifest_declares_unsupported_scenarios() {
    let dir = std::env::temp_dir().join(format!("trustbench-manifest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = dir.join("manifest.yaml");
    std::fs::write(
        &manifest,
        "protocol: trustbench-connector/2\nunsupported:\n  - {scenario: access-key-succeeds, reason: static keys are not offered}\n",
    )
    .unwrap();
    let manifest_arg = manifest.display().to_string();
    let (code, out) = conform(
        "exit 9",
        &[
            "--filter",
            "access-key-succeeds",
            "--manifest",
            &manifest_arg,
        ],
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("not supported: static keys are not offered"),
        "{out}"
    );
    std::fs::write(&manifest, "protocol: trustbench-connector/0\n").unwrap();
    let (code, out) = conform("exit 9", &["--manifest", &manifest_arg]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("is not `trustbench-connector/2`"), "{out}");
    let _ = std::fs::remove_dir_all(dir);
}
