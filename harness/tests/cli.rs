//! The `trustbench` binary as a user runs it: exit codes, output, `serve` as a process.

#![expect(
    clippy::unwrap_used,
    reason = "helpers of a test crate panic on what the test did not expect; clippy's allow-unwrap-in-tests reaches only #[test] fns"
)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use aws_sdk_sts::error::ProvideErrorMetadata as _;
use mock_server::DEFAULT_IDENTITIES;

fn trustbench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_trustbench"))
}

/// Runs `trustbench SUBCOMMAND PATH` to completion.
fn invoke(subcommand: &str, path: &std::path::Path) -> std::process::Output {
    trustbench().arg(subcommand).arg(path).output().unwrap()
}

#[test]
fn run_plays_catalogue_scenarios_and_exits_zero() {
    let out = trustbench()
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args(["run", "--filter", "access-key-succeeds"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("1 of 1 scenarios behaved as expected (0 failed)"),
        "{stdout}"
    );
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn a_mismatch_shows_expected_actual_and_the_request_log_and_exits_one() {
    let dir = std::env::temp_dir().join(format!("trustbench-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junit = dir.join("results.xml");
    let json = dir.join("results.json");
    let out = trustbench()
        .arg("run")
        .arg(fixture("mismatch.yaml"))
        .arg(fixture("broken.yaml"))
        .arg("--junit")
        .arg(&junit)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("expected: success"), "{stdout}");
    assert!(
        stdout.contains("actual:   describe_regions failed (UnauthorizedOperation)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("missing: an Allow in the identity-based policies"),
        "the request log is not shown: {stdout}"
    );
    // The broken file is reported with its line and what is wrong.
    assert!(stdout.contains("broken.yaml"), "{stdout}");
    assert!(stdout.contains("line 5"), "{stdout}");
    assert!(stdout.contains("connection_tset"), "{stdout}");
    assert!(
        stdout.contains("0 of 2 scenarios behaved as expected"),
        "{stdout}"
    );

    let xml = std::fs::read_to_string(&junit).unwrap_or_default();
    assert!(
        xml.contains(r#"<testsuite name="trustbench" tests="2" failures="2""#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<testcase classname="scenarios" name="mismatch""#),
        "{xml}"
    );
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap_or_default())
            .unwrap_or_default();
    assert_eq!(results[0]["name"], "broken");
    assert_eq!(results[1]["passed"], false);
    assert_eq!(results[1]["steps"][0]["expected"], "success");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn run_with_nothing_to_run_exits_two() {
    let empty = std::env::temp_dir().join(format!("trustbench-empty-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let out = invoke("run", &empty);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no scenarios found"));
    let _ = std::fs::remove_dir(empty);
}

/// Starts `trustbench serve` with `args`, logging at trace level to a file; returns the
/// child, its endpoint, what it printed, and the log path.
fn serve(
    args: &[&str],
    log_name: &str,
) -> (std::process::Child, String, String, std::path::PathBuf) {
    let log =
        std::env::temp_dir().join(format!("trustbench-{}-{log_name}.log", std::process::id()));
    let log_file = std::fs::File::create(&log).unwrap();
    let mut child = trustbench()
        .arg("serve")
        .args(args)
        .env("TRUSTBENCH_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(log_file)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().expect("no stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut endpoint = None;
    let mut printed = String::new();
    for line in lines.by_ref().take(10) {
        let line = line.unwrap_or_default();
        printed.push_str(&line);
        printed.push('\n');
        if let Some(e) = line.strip_prefix("endpoint: ") {
            endpoint = Some(e.to_owned());
        }
        if line.contains(DEFAULT_IDENTITIES[2].access_key_id) {
            break;
        }
    }
    let endpoint = endpoint.unwrap_or_else(|| panic!("no endpoint line in:\n{printed}"));
    (child, endpoint, printed, log)
}

fn stop(mut child: std::process::Child) {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(killed.is_ok_and(|s| s.success()));
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "serve did not stop cleanly on SIGTERM: {status:?}"
    );
}

#[tokio::test]
async fn serve_prints_its_endpoint_and_answers_real_sdk_clients_without_logging_secrets() {
    let (child, endpoint, printed, log) = serve(&["--listen", "127.0.0.1:0"], "serve");
    assert!(endpoint.starts_with("http://127.0.0.1:"), "{endpoint}");
    for id in &DEFAULT_IDENTITIES {
        assert!(printed.contains(id.access_key_id), "{printed}");
    }

    let who = &DEFAULT_IDENTITIES[0];
    let config = harness::sdk::sdk_config(
        &endpoint,
        harness::sdk::access_key(who.access_key_id, who.secret_access_key),
        "us-east-1",
        &mock_server::Clock::real(),
    );
    let out = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await;
    let arn = out.unwrap().arn().map(str::to_owned);
    assert_eq!(arn, Some(who.arn()));

    // A refused call carrying a session token: neither it nor the secret may reach the log.
    let token = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN";
    let creds = aws_credential_types::Credentials::new(
        who.access_key_id,
        who.secret_access_key,
        Some(token.into()),
        None,
        "t",
    );
    let config =
        harness::sdk::sdk_config(&endpoint, creds, "us-east-1", &mock_server::Clock::real());
    let refused = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .expect_err("an unknown session token was accepted");
    assert_eq!(refused.code(), Some("InvalidClientTokenId"), "{refused:?}");

    stop(child);
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        logged.contains("request refused"),
        "trace log expected: {logged}"
    );
    for secret in [who.secret_access_key, token, "Signature="] {
        assert!(!logged.contains(secret), "{secret} leaked into the log");
    }
}

#[test]
fn serve_listens_beyond_loopback_only_when_allowed() {
    let (child, endpoint, _, _) = serve(&["--listen", "0.0.0.0:0", "--allow-non-loopback"], "any");
    assert!(endpoint.starts_with("http://0.0.0.0:"), "{endpoint}");
    stop(child);
}

#[test]
fn serve_refuses_a_non_loopback_address_without_the_flag() {
    let out = trustbench()
        .args(["serve", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("non-loopback") && stderr.contains("--allow-non-loopback"),
        "{stderr}"
    );
}

#[test]
fn a_broken_world_file_is_reported_with_its_location() {
    let dir = std::env::temp_dir().join(format!("trustbench-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("broken.yaml");
    std::fs::write(
        &file,
        "accounts:\n  - id: \"111111111111\"\n    users:\n      - nam: admin\n",
    )
    .unwrap();
    let out = trustbench()
        .args(["serve", "--listen", "127.0.0.1:0", "--world"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("nam") && stderr.contains("line 4") && stderr.contains("broken.yaml"),
        "{stderr}"
    );
}

#[test]
fn a_mistyped_subcommand_suggests_the_right_one() {
    let out = trustbench().arg("serv").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("'serve'"));
}

fn get(endpoint: &str, path: &str) -> String {
    get_with(endpoint, path, "")
}

/// A GET with extra header lines (each ending in CRLF).
fn get_with(endpoint: &str, path: &str, headers: &str) -> String {
    use std::io::{Read, Write};
    let addr = endpoint.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: {addr}\r\n{headers}connection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn serve_takes_a_virtual_clock_and_a_propagation_delay() {
    let (child, endpoint, _, _) = serve(
        &[
            "--listen",
            "127.0.0.1:0",
            "--clock",
            "virtual",
            "--start-time",
            "2030-01-01T00:00:00Z",
            "--propagation-delay",
            "5m",
        ],
        "clock",
    );
    let clock = get(&endpoint, "/_mock/clock");
    assert!(clock.contains(r#""now":"2030-01-01T00:00:00Z""#), "{clock}");
    let delay = get(&endpoint, "/_mock/propagation");
    assert!(delay.contains(r#""delay_seconds":300.0"#), "{delay}");
    stop(child);
}

#[test]
fn a_bad_duration_is_a_usage_error() {
    let out = trustbench()
        .args(["serve", "--propagation-delay", "5 minutes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a duration"));
}

#[test]
fn report_turns_a_saved_request_log_into_a_policy() {
    let dir = std::env::temp_dir();
    let saved = dir.join(format!("trustbench-{}-requests.json", std::process::id()));
    let entry = |action: &str, resource: &str, decision: &str| {
        format!(
            r#"{{"seq":0,"time":"2026-11-24T00:00:00Z","service":"ec2","action":"","iam_action":"{action}","resource":"{resource}","region":"us-east-1","principal":"arn:aws:iam::111111111111:user/ci","decision":"{decision}","error_code":"","status":200}}"#
        )
    };
    let log = format!(
        r#"{{"requests":[{},{}]}}"#,
        entry("ec2:DescribeRegions", "*", "allowed"),
        entry(
            "iam:CreateUser",
            "arn:aws:iam::111111111111:user/x",
            "denied"
        )
    );
    std::fs::write(&saved, log).unwrap();
    let out = invoke("report", &saved);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let p = &report["principals"][0];
    assert_eq!(
        p["policy"]["Statement"][0]["Action"][0],
        "ec2:DescribeRegions"
    );
    assert_eq!(p["denied"][0]["action"], "iam:CreateUser");

    std::fs::write(&saved, "not json").unwrap();
    let out = invoke("report", &saved);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a request log"));
    let _ = std::fs::remove_file(saved);
}

/// The documented scenario examples (the schema example of docs/scenarios.md, the README's
/// customer case and its organizations example) run and pass.
#[test]
fn the_documented_scenario_examples_pass() {
    let readme = [
        include_str!("../../README.md"),
        include_str!("../../docs/scenarios.md"),
    ]
    .concat();
    let dir = std::env::temp_dir().join(format!("trustbench-readme-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("worlds")).unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scenarios/worlds/connector.yaml"
        ),
        dir.join("worlds/connector.yaml"),
    )
    .unwrap();
    let mut written = 0;
    for (i, block) in readme.split("```yaml\n").skip(1).enumerate() {
        let yaml = block.split("```").next().unwrap_or_default();
        if yaml.contains("\nconnector:") && yaml.contains("\nsteps:") {
            std::fs::write(dir.join(format!("example-{i}.yaml")), yaml).unwrap();
            written += 1;
        }
    }
    assert_eq!(
        written, 3,
        "the documented scenario examples were not found"
    );
    let out = invoke("run", &dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("3 of 3 scenarios behaved as expected"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// The benchmark's requests are real, accepted calls: every operation answers 200.
#[test]
fn bench_measures_every_operation_without_errors() {
    let out = trustbench()
        .args(["bench", "--seconds", "1", "--concurrency", "1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("| trustbench |"))
        .collect();
    assert_eq!(rows.len(), 4, "{stdout}");
    for row in rows {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        // | operation | target | concurrency | req/s | p50 | p99 | errors | ratio |
        assert_eq!(cells.get(7), Some(&"0"), "errors in {row}");
        let rps: f64 = cells.get(4).and_then(|c| c.parse().ok()).unwrap_or(0.0);
        assert!(rps > 100.0, "{row}");
    }
}

#[test]
fn serve_protects_the_control_api_with_a_token_from_a_file() {
    let file = std::env::temp_dir().join(format!("trustbench-token-{}", std::process::id()));
    std::fs::write(&file, "tb-control-7f3a9c\n").unwrap();
    let path = file.display().to_string();
    let (child, endpoint, printed, log) = serve(
        &["--listen", "127.0.0.1:0", "--control-token-file", &path],
        "token",
    );
    assert!(printed.contains("control API: protected"), "{printed}");
    // The health probe a container runs needs no token.
    let address = endpoint.trim_start_matches("http://");
    let probe = trustbench()
        .args(["health", "--address", address])
        .output()
        .unwrap();
    assert!(probe.status.success(), "{probe:?}");
    // Health stays open for probes; everything else asks for the token.
    assert!(get(&endpoint, "/_mock/health").starts_with("HTTP/1.1 200"));
    let refused = get(&endpoint, "/_mock/world");
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
    assert!(refused.contains("www-authenticate: Bearer"), "{refused}");
    let wrong = get_with(&endpoint, "/_mock/world", "authorization: Bearer nope\r\n");
    assert!(wrong.starts_with("HTTP/1.1 401"), "{wrong}");
    let allowed = get_with(
        &endpoint,
        "/_mock/world",
        "authorization: Bearer tb-control-7f3a9c\r\n",
    );
    assert!(allowed.starts_with("HTTP/1.1 200"), "{allowed}");
    stop(child);
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        !logged.contains("tb-control-7f3a9c"),
        "the token leaked into the log"
    );
    assert!(
        !printed.contains("tb-control-7f3a9c"),
        "the token was printed"
    );
    let _ = std::fs::remove_file(file);
}

#[test]
fn serve_refuses_an_empty_control_token() {
    let out = trustbench()
        .args(["serve", "--listen", "127.0.0.1:0", "--control-token", " "])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("control token: the token is empty"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn health_fails_when_nothing_answers() {
    // A port that was free a moment ago: nothing listens there.
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap();
    let out = trustbench()
        .args(["health", "--address", &free.to_string(), "--timeout", "2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not answering"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The JSON array after `instruction` in the Dockerfile (ENTRYPOINT, or HEALTHCHECK's CMD).
fn dockerfile_command(instruction: &str) -> Vec<String> {
    let dockerfile =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Dockerfile")).unwrap();
    let flat = dockerfile.replace("\\\n", " ");
    let line = flat
        .lines()
        .find(|l| l.starts_with(instruction))
        .unwrap_or_else(|| panic!("no {instruction} in the Dockerfile"));
    let array = &line[line
        .find('[')
        .unwrap_or_else(|| panic!("exec form expected: {line}"))..];
    array
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|s| s.trim().trim_matches('"').to_owned())
        .collect()
}

/// The image's entrypoint and health check are commands this binary accepts: started as the
/// image starts it (on a free port), the server answers the image's health check.
#[test]
fn the_dockerfile_entrypoint_and_health_check_work() {
    let entrypoint = dockerfile_command("ENTRYPOINT");
    assert_eq!(entrypoint[0], "/usr/local/bin/trustbench");
    let args: Vec<String> = entrypoint[2..]
        .iter()
        .map(|a| a.replace("0.0.0.0:4566", "0.0.0.0:0"))
        .collect();
    assert_eq!(entrypoint[1], "serve");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (child, endpoint, _, _) = serve(&args, "docker");
    let port = endpoint.rsplit(':').next().unwrap_or_default();
    let health = dockerfile_command("HEALTHCHECK");
    let cmd_at = health
        .iter()
        .position(|a| a.ends_with("/usr/local/bin/trustbench"))
        .unwrap_or_else(|| panic!("{health:?}"));
    let probe_args: Vec<String> = health[cmd_at + 1..]
        .iter()
        .map(|a| a.replace("127.0.0.1:4566", &format!("127.0.0.1:{port}")))
        .collect();
    let probe = trustbench().args(&probe_args).output().unwrap();
    assert!(probe.status.success(), "{probe:?}");
    stop(child);
}

/// Every command and every option has a description in `--help`.
#[test]
fn help_describes_every_command_and_option() {
    let help = |args: &[&str]| {
        let out = trustbench().args(args).arg("--help").output().unwrap();
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let top = help(&[]);
    assert!(top.contains("Examples:"), "{top}");
    let commands: Vec<String> = top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let name = words.next()?.to_owned();
            assert!(words.next().is_some(), "`{name}` has no description");
            Some(name)
        })
        .filter(|name| name != "help")
        .collect();
    assert_eq!(
        commands,
        ["run", "conform", "serve", "bench", "report", "health"]
    );
    for command in &commands {
        // `-h` gives one line per option: the flag, then its description.
        let out = trustbench()
            .args([command.as_str(), "-h"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        for line in text.lines().filter(|l| l.trim_start().starts_with('-')) {
            let described = line
                .trim_start()
                .split("  ")
                .filter(|part| !part.trim().is_empty())
                .count()
                >= 2;
            assert!(
                described,
                "`trustbench {command}`: an option without a description: {line}"
            );
        }
    }
}

/// The image's build stage copies every workspace member: cargo refuses to build a
/// workspace with a member missing.
#[test]
fn the_dockerfile_copies_every_workspace_member() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let manifest = std::fs::read_to_string(format!("{root}/Cargo.toml")).unwrap();
    let dockerfile = std::fs::read_to_string(format!("{root}/Dockerfile")).unwrap();
    let members_line = manifest
        .lines()
        .find(|l| l.starts_with("members"))
        .expect("no members in Cargo.toml");
    let members: Vec<&str> = members_line.split('"').skip(1).step_by(2).collect();
    assert!(members.contains(&"harness"), "{members:?}");
    for member in members {
        let top = member.split('/').next().unwrap_or(member);
        assert!(
            dockerfile
                .lines()
                .any(|l| l.starts_with("COPY ") && l.split_whitespace().nth(1) == Some(top)),
            "the Dockerfile does not copy the workspace member {member}"
        );
    }
}
