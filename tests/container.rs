//! `mock_server::container::Trustbench` started by testcontainers, answering a real SDK
//! client. Needs a Docker engine: where none answers (this repository's CI machine), the
//! test is reported as ignored with the reason printed. The image is built from the
//! repository's Dockerfile when Docker has none named `trustbench:latest`.

use std::process::Command;

use aws_credential_types::Credentials;
use harness::sdk::sdk_config;
use libtest_mimic::{Arguments, Failed, Trial};
use mock_server::container::{Trustbench, endpoint};
use mock_server::{Clock, DEFAULT_IDENTITIES};
use testcontainers::runners::AsyncRunner;

/// Why no container can run here, if so.
fn docker_missing() -> Option<String> {
    match Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
    {
        Err(e) => Some(format!("no `docker` command ({e})")),
        Ok(out) if !out.status.success() => Some(format!(
            "no Docker engine answers (`docker info`: {})",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .next()
                .unwrap_or("failed")
        )),
        Ok(_) => None,
    }
}

fn build_image() -> Result<(), Failed> {
    let present = Command::new("docker")
        .args(["image", "inspect", "trustbench:latest"])
        .output()
        .is_ok_and(|o| o.status.success());
    if present {
        return Ok(());
    }
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let status = Command::new("docker")
        .args(["build", "-t", "trustbench:latest", root])
        .status()
        .map_err(|e| Failed::from(format!("docker build: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("docker build failed: {status}").into())
    }
}

async fn serves_real_sdk_clients() -> Result<(), Failed> {
    build_image()?;
    let container = Trustbench::default()
        .with_control_token("container-token")
        .start()
        .await
        .map_err(|e| Failed::from(format!("start: {e}")))?;
    let url = endpoint(&container)
        .await
        .map_err(|e| Failed::from(format!("endpoint: {e}")))?;
    let admin = &DEFAULT_IDENTITIES[0];
    let creds = Credentials::new(
        admin.access_key_id,
        admin.secret_access_key,
        None,
        None,
        "test",
    );
    let sts = aws_sdk_sts::Client::new(&sdk_config(&url, creds, "us-east-1", &Clock::real()));
    let me = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| Failed::from(format!("{e:?}")))?;
    if me.arn() != Some("arn:aws:iam::111111111111:user/admin") {
        return Err(format!("unexpected caller {:?}", me.arn()).into());
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let missing = docker_missing();
    if let Some(reason) = &missing {
        println!(
            "container tests skipped: {reason}; the in-process MockServer is tested everywhere"
        );
    }
    let trial = Trial::test("container_serves_real_sdk_clients", || {
        let runtime = tokio::runtime::Runtime::new().map_err(|e| Failed::from(e.to_string()))?;
        runtime.block_on(serves_real_sdk_clients())
    })
    .with_ignored_flag(missing.is_some());
    libtest_mimic::run(&args, vec![trial]).exit();
}
