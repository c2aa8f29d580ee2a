//! The server image, run for real: `mock_server::container::Trustbench` started by
//! testcontainers answers the real STS, IAM and EC2 clients; the image's `HEALTHCHECK`
//! reaches `healthy`; a control token given by environment guards `/_mock/` from outside;
//! `docker stop` stops it cleanly; the image keeps its properties (an unprivileged user, a
//! stripped binary, the catalogue's worlds).
//!
//! The image is `trustbench:latest`: `ci/container.sh image` builds it from the binary cargo
//! built (`ci/test.sh` does, after `ci/container.sh up` brought up a Docker engine). Where
//! no engine answers, the tests are reported as ignored with the reason printed, unless
//! `TRUSTBENCH_REQUIRE_CONTAINER=1` (set by `ci/test.sh`) makes that a failure.

#![expect(
    clippy::unwrap_used,
    reason = "helpers of a test crate panic on what the test did not expect; clippy's allow-unwrap-in-tests reaches only #[test] fns"
)]

use std::io::{Read, Write};
use std::process::Command;
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use harness::sdk::sdk_config;
use libtest_mimic::{Arguments, Failed, Trial};
use mock_server::container::{Trustbench, endpoint};
use mock_server::{Clock, DEFAULT_IDENTITIES};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, ImageExt};

const IMAGE: &str = "trustbench:latest";
const TOKEN: &str = "container-token";

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
        Ok(_) => {
            let present = Command::new("docker")
                .args(["image", "inspect", IMAGE])
                .output()
                .is_ok_and(|o| o.status.success());
            (!present).then(|| format!("no image {IMAGE}: build it with `ci/container.sh image`"))
        }
    }
}

/// `docker ARGS…`'s standard output, trimmed; an error with its standard error otherwise.
fn docker(args: &[&str]) -> Result<String, Failed> {
    let out = Command::new("docker")
        .args(args)
        .output()
        .map_err(|e| Failed::from(format!("docker {args:?}: {e}")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(format!(
            "docker {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into())
    }
}

async fn start() -> Result<(ContainerAsync<Trustbench>, String), Failed> {
    let container = Trustbench::default()
        .with_control_token(TOKEN)
        .with_startup_timeout(Duration::from_secs(30))
        .start()
        .await
        .map_err(|e| Failed::from(format!("start: {e}")))?;
    let url = endpoint(&container)
        .await
        .map_err(|e| Failed::from(format!("endpoint: {e}")))?;
    Ok((container, url))
}

fn runtime() -> Result<tokio::runtime::Runtime, Failed> {
    tokio::runtime::Runtime::new().map_err(|e| Failed::from(e.to_string()))
}

async fn serves_real_sdk_clients() -> Result<(), Failed> {
    let (_container, url) = start().await?;
    let admin = &DEFAULT_IDENTITIES[0];
    let creds = Credentials::new(
        admin.access_key_id,
        admin.secret_access_key,
        None,
        None,
        "test",
    );
    let config = sdk_config(&url, creds, "us-east-1", &Clock::real());
    let me = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| Failed::from(format!("sts: {e:?}")))?;
    if me.arn() != Some("arn:aws:iam::111111111111:user/admin") {
        return Err(format!("unexpected caller {:?}", me.arn()).into());
    }
    let user = aws_sdk_iam::Client::new(&config)
        .get_user()
        .send()
        .await
        .map_err(|e| Failed::from(format!("iam: {e:?}")))?;
    if user.user().map(|u| u.user_name()) != Some("admin") {
        return Err(format!("unexpected user {:?}", user.user()).into());
    }
    let regions = aws_sdk_ec2::Client::new(&config)
        .describe_regions()
        .send()
        .await
        .map_err(|e| Failed::from(format!("ec2: {e:?}")))?;
    if !regions
        .regions()
        .iter()
        .any(|r| r.region_name() == Some("us-east-1"))
    {
        return Err(format!("no us-east-1 in {regions:?}").into());
    }
    Ok(())
}

async fn health_check_reaches_healthy() -> Result<(), Failed> {
    let (container, _) = start().await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = docker(&[
            "inspect",
            "--format",
            "{{.State.Health.Status}}",
            container.id(),
        ])?;
        match status.as_str() {
            "healthy" => return Ok(()),
            "unhealthy" => return Err("the health check reported unhealthy".into()),
            _ if Instant::now() > deadline => {
                return Err(format!("still `{status}` after 30 s").into());
            }
            // Docker runs the check on its own schedule (every 2 s): poll its state.
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// `GET path` on `url` with an optional bearer token: the status code.
fn get(url: &str, path: &str, token: Option<&str>) -> Result<u16, Failed> {
    let address = url.trim_start_matches("http://");
    let mut stream =
        std::net::TcpStream::connect(address).map_err(|e| Failed::from(e.to_string()))?;
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\n{auth}Connection: close\r\n\r\n"
    )
    .map_err(|e| Failed::from(e.to_string()))?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .map_err(|e| Failed::from(e.to_string()))?;
    answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Failed::from(format!("not HTTP: {answer:?}")))
}

async fn control_token_guards_the_control_api() -> Result<(), Failed> {
    let (_container, url) = start().await?;
    let checks = [
        ("/_mock/requests", None, 401),
        ("/_mock/requests", Some("wrong-token"), 401),
        ("/_mock/requests", Some(TOKEN), 200),
        // Open, for health checks.
        ("/_mock/health", None, 200),
    ];
    for (path, token, want) in checks {
        let got = get(&url, path, token)?;
        if got != want {
            return Err(format!("GET {path} with {token:?}: {got}, not {want}").into());
        }
    }
    Ok(())
}

async fn stops_cleanly_on_docker_stop() -> Result<(), Failed> {
    let (container, _) = start().await?;
    let id = container.id().to_owned();
    let asked = Instant::now();
    docker(&["stop", "--time", "10", &id])?;
    let took = asked.elapsed();
    let exit = docker(&["inspect", "--format", "{{.State.ExitCode}}", &id])?;
    if exit != "0" {
        return Err(format!("exit code {exit} after docker stop").into());
    }
    // Docker kills what does not stop within --time: a clean stop is well inside it.
    if took > Duration::from_secs(5) {
        return Err(format!("docker stop took {took:?}: SIGTERM was not handled").into());
    }
    Ok(())
}

fn image_keeps_its_properties() -> Result<(), Failed> {
    let user = docker(&["image", "inspect", "--format", "{{.Config.User}}", IMAGE])?;
    if user != "65532:65532" {
        return Err(format!("the image runs as `{user}`, not the unprivileged 65532").into());
    }
    let check = docker(&[
        "image",
        "inspect",
        "--format",
        "{{json .Config.Healthcheck.Test}}",
        IMAGE,
    ])?;
    if !check.contains("\"health\"") {
        return Err(format!("health check {check}").into());
    }
    let created = docker(&["create", IMAGE])?;
    let dir = std::env::temp_dir().join(format!("trustbench-image-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let copied = (|| {
        let binary = dir.join("trustbench");
        let world = dir.join("connector.yaml");
        docker(&[
            "cp",
            &format!("{created}:/usr/local/bin/trustbench"),
            binary.to_str().unwrap_or_default(),
        ])?;
        docker(&[
            "cp",
            &format!("{created}:/worlds/connector.yaml"),
            world.to_str().unwrap_or_default(),
        ])?;
        let elf = std::fs::read(&binary).map_err(|e| Failed::from(e.to_string()))?;
        // A stripped ELF has no symbol table section, so no `.symtab` section name.
        if elf.windows(8).any(|w| w == b".symtab\0") {
            return Err(Failed::from("the binary in the image is not stripped"));
        }
        mock_server::World::load(&world)
            .map(|_| ())
            .map_err(|e| Failed::from(format!("/worlds/connector.yaml: {e}")))
    })();
    let _ = docker(&["rm", &created]);
    let _ = std::fs::remove_dir_all(&dir);
    copied
}

type Test = fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), Failed>>>>;

/// An async test as a trial, on a runtime of its own.
fn asynchronous(name: &'static str, test: Test) -> Trial {
    Trial::test(name, move || runtime()?.block_on(test()))
}

fn main() {
    let args = Arguments::from_args();
    let missing = docker_missing();
    let required = std::env::var_os("TRUSTBENCH_REQUIRE_CONTAINER").is_some_and(|v| v == "1");
    if let Some(reason) = &missing {
        if required {
            eprintln!("container tests cannot run: {reason} (TRUSTBENCH_REQUIRE_CONTAINER=1)");
            std::process::exit(1);
        }
        println!(
            "container tests skipped: {reason}; the in-process MockServer is tested everywhere"
        );
    }
    let trials = vec![
        asynchronous("container_serves_real_sdk_clients", || {
            Box::pin(serves_real_sdk_clients())
        }),
        asynchronous("container_health_check_reaches_healthy", || {
            Box::pin(health_check_reaches_healthy())
        }),
        asynchronous("container_control_token_guards_the_control_api", || {
            Box::pin(control_token_guards_the_control_api())
        }),
        asynchronous("container_stops_cleanly_on_docker_stop", || {
            Box::pin(stops_cleanly_on_docker_stop())
        }),
        Trial::test(
            "container_image_keeps_its_properties",
            image_keeps_its_properties,
        ),
    ];
    let trials = trials
        .into_iter()
        .map(|t| t.with_ignored_flag(missing.is_some()))
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
