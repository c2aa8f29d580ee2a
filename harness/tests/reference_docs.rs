//! The reference docs that list what the code does are generated from it here, so they
//! cannot drift: `docs/catalogue.md` from the scenario files, `docs/actions.md` by sending
//! every supported action to a server as a caller without permissions and reading what the
//! server logged. A test fails when a file is stale; `TRUSTBENCH_BLESS=1 cargo test -p
//! harness --test reference_docs` rewrites them.

#![expect(
    clippy::unwrap_used,
    reason = "helpers of a test crate panic on what the test did not expect; clippy's allow-unwrap-in-tests reaches only #[test] fns"
)]

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use harness::scenario::{LaunchExpectation, RunExpectation, Scenario, Step, discover};
use harness::signing::{Target, signed_post};
use mock_server::{DefaultIdentity, MockServer, Service, World, supported_actions};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Compares `generated` with the file, or rewrites it when blessing.
fn check(relative: &str, generated: &str) {
    let path = repo().join(relative);
    if std::env::var_os("TRUSTBENCH_BLESS").is_some() {
        std::fs::write(&path, generated).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == generated,
        "{relative} is stale: run `TRUSTBENCH_BLESS=1 cargo test -p harness --test reference_docs` and commit it"
    );
}

/// A JSON value's variant name: `"irsa"` or the one key of `{"access_key": …}`.
fn variant(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(map) => map.keys().next().cloned().unwrap_or_default(),
        other => other.to_string(),
    }
}

fn expectation(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(map) => {
            let stage = map.get("stage").map(variant).unwrap_or_default();
            match map.get("code").and_then(|c| c.as_str()) {
                Some(code) => format!("fails at {stage} (`{code}`)"),
                None => format!("fails at {stage}"),
            }
        }
        other => other.to_string(),
    }
}

#[test]
fn the_catalogue_table_is_current() {
    let files = discover(&[repo().join("scenarios")]).unwrap();
    let mut out = String::from(
        "# The failure-mode catalogue\n\n\
         Generated from `scenarios/` by `harness/tests/reference_docs.rs`; do not edit. Each \
         scenario plays one failure mode or flow of an AWS connector on its own server with \
         the real `aws-config` credential providers (`trustbench run`).\n\n\
         | scenario | what it plays | credentials | checks, in order |\n|---|---|---|---|\n",
    );
    for file in &files {
        let scenario = Scenario::load(file).unwrap();
        let connector = serde_json::to_value(&scenario.connector).unwrap_or_default();
        let mut credentials = connector
            .get("credentials")
            .map(variant)
            .unwrap_or_default();
        if connector.get("cross_account").is_some() {
            credentials.push_str(" + cross-account role");
        }
        if let Some(cache) = connector.get("credentials_cache").and_then(|c| c.as_str()) {
            credentials.push_str(&format!(" ({cache} in pipeline steps)"));
        }
        let checks: Vec<String> = scenario
            .steps
            .iter()
            .filter_map(|step| {
                let (what, check) = match step {
                    Step::ConnectionTest(c) => ("connection test", c),
                    Step::PipelineStep(c) => ("pipeline step", c),
                    Step::LaunchCheck(l) => {
                        let expect = match &l.expect {
                            LaunchExpectation::Success(_) => "success".to_owned(),
                            LaunchExpectation::Refused(r) => match &r.action {
                                Some(action) => format!("`{}` ({action})", r.code),
                                None => format!("`{}`", r.code),
                            },
                        };
                        return Some(format!("launch: {expect}"));
                    }
                    Step::RunStep(r) => {
                        let call = serde_json::to_value(r.call).unwrap_or_default();
                        let expect = match &r.expect {
                            RunExpectation::Success(_) => "success".to_owned(),
                            RunExpectation::Refused(refusal) => format!("`{}`", refusal.code),
                        };
                        return Some(format!(
                            "run step (`{}`): {expect}",
                            call.as_str().unwrap_or_default()
                        ));
                    }
                    Step::DeploymentCheck(d) => {
                        let deployment = serde_json::to_value(d.deployment).unwrap_or_default();
                        let missing = if d.missing.is_empty() {
                            "nothing missing".to_owned()
                        } else {
                            let actions: Vec<String> =
                                d.missing.iter().map(|a| format!("`{a}`")).collect();
                            format!("missing {}", actions.join(", "))
                        };
                        return Some(format!(
                            "deployment check ({}): {missing}",
                            deployment.as_str().unwrap_or_default()
                        ));
                    }
                    _ => return None,
                };
                let expect = serde_json::to_value(&check.expect).unwrap_or_default();
                Some(format!("{what}: {}", expectation(&expect)))
            })
            .collect();
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "| [`{}`](../scenarios/{name}) | {} | {credentials} | {} |",
            scenario.name,
            scenario.description.replace('|', "\\|").replace('\n', " "),
            checks.join("; ")
        );
    }
    check("docs/catalogue.md", &out);
}

/// A caller with no policy at all, and names for every resource parameter.
const WORLD: &str = r#"
accounts:
  - id: "111111111111"
    users:
      - name: nobody
        access_keys: [{id: AKIANOBODY0000000001, secret: nobody-secret}]
    ec2:
      us-east-1:
        images: [{id: ami-0123456789abcdef0, name: web}]
        instances: [{id: i-0123456789abcdef0, image: ami-0123456789abcdef0}]
"#;
const NOBODY: DefaultIdentity = DefaultIdentity {
    account: "111111111111",
    partition: "aws",
    user: "nobody",
    access_key_id: "AKIANOBODY0000000001",
    secret_access_key: "nobody-secret",
};
const PARAMS: &str = "UserName=alice&RoleName=deploy&GroupName=devs&InstanceProfileName=web\
    &PolicyArn=arn%3Aaws%3Aiam%3A%3A111111111111%3Apolicy%2Fdeploy-policy\
    &AccessKeyId=AKIAEXAMPLEKEY000001&RoleArn=arn%3Aaws%3Aiam%3A%3A222222222222%3Arole%2Fdeploy\
    &RoleSessionName=ci&PolicyName=inline&PolicySourceArn=arn%3Aaws%3Aiam%3A%3A111111111111%3Auser%2Falice\
    &ImageId=ami-0123456789abcdef0&MinCount=1&MaxCount=1&InstanceId.1=i-0123456789abcdef0\
    &ResourceId.1=i-0123456789abcdef0&Tag.1.Key=team&Tag.1.Value=web";

fn version(service: Service) -> &'static str {
    match service {
        Service::Sts => "2011-06-15",
        Service::Iam => "2010-05-08",
        Service::Ec2 => "2016-11-15",
    }
}

/// Sends a signed POST and returns the status line's code.
fn send(server: &MockServer, service: Service, form: &str) -> u16 {
    let target = Target {
        addr: server.address(),
        who: &NOBODY,
        service: service.signing_name(),
        region: "us-east-1",
        time: server.clock().now(),
    };
    let request = signed_post(&target, form, &[("connection", "close")]).unwrap();
    let mut stream = std::net::TcpStream::connect(server.address()).unwrap();
    stream.write_all(&request).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_actions_table_is_current() {
    let world = World::from_yaml(WORLD).unwrap();
    let server = MockServer::builder().world(world).start().await.unwrap();
    let mut out = String::from(
        "# Supported actions and what is enforced\n\n\
         Generated by `harness/tests/reference_docs.rs`, which sends every action the server \
         implements, signed by a user with no policy at all, and records what the server \
         logged; do not edit. Every call's SigV4 signature is verified first (`docs/server.md`, \
         *Authentication outcomes*). **Resource** is what the caller's identity policies (with \
         its permissions boundary and session policies) are evaluated against, shown for \
         sample parameters (`UserName=alice`, `RoleName=deploy`, `InstanceId.1=i-…`, …); \
         for EC2 actions that check several resources, the first one checked; `*` where the action has \
         no resource-level permissions. **Without permissions** is the answer to that caller: \
         denied where a policy must allow the action; for `sts:AssumeRole` the role's trust \
         policy decides with the caller's policies; `sts:GetCallerIdentity` needs no \
         permission.\n\n\
         | service | action | IAM action | resource | without permissions |\n|---|---|---|---|---|\n",
    );
    for (service, action, iam_action) in supported_actions() {
        let form = format!("Action={action}&Version={}&{PARAMS}", version(service));
        let status = tokio::task::block_in_place(|| send(&server, service, &form));
        let logged = server
            .requests()
            .into_iter()
            .rev()
            .find(|r| r.action == action)
            .unwrap_or_else(|| panic!("{action} was not logged"));
        let outcome = if logged.error_code.is_empty() {
            format!("{status} (allowed)")
        } else {
            format!("{status} `{}`", logged.error_code)
        };
        let resource = if logged.resource.is_empty() {
            "—".to_owned()
        } else {
            format!("`{}`", logged.resource)
        };
        let _ = writeln!(
            out,
            "| {service} | {action} | `{iam_action}` | {resource} | {outcome} |"
        );
    }
    check("docs/actions.md", &out);
}

/// Every object key anywhere in `value`, with policy documents and free-form maps (names of
/// tags, inline policies, condition keys) left out: those keys are data, not schema.
fn schema_keys(value: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
    const DATA: [&str; 8] = [
        "document",
        "trust_policy",
        "inline_policies",
        "tags",
        "policy",
        "kinds",
        "env",
        "set",
    ];
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                out.insert(k.clone());
                if !DATA.contains(&k.as_str()) {
                    schema_keys(v, out);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| schema_keys(i, out)),
        _ => {}
    }
}

/// A reference page of `docs/`.
fn doc(page: &str) -> String {
    std::fs::read_to_string(repo().join("docs").join(page))
        .unwrap_or_else(|e| panic!("docs/{page}: {e}"))
}

/// The page with the control API table and the fault rules.
const CONTROL_PAGE: &str = "control-api.md";

/// Every field the worlds and scenarios in the repository use is documented in the schema
/// pages: a field added to the code and used in a file cannot go undocumented.
#[test]
fn every_world_and_scenario_field_in_use_is_documented() {
    let mut world_keys = std::collections::BTreeSet::new();
    let mut scenario_keys = std::collections::BTreeSet::new();
    let files = discover(&[repo().join("scenarios")]).unwrap();
    for file in &files {
        let scenario = Scenario::load(file).unwrap();
        schema_keys(
            &serde_json::to_value(scenario.world()).unwrap_or_default(),
            &mut world_keys,
        );
        let mut value = serde_json::to_value(&scenario).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            // The merged world is checked as a world; the file's own parts as a scenario.
            map.remove("base_world");
            map.remove("world");
        }
        schema_keys(&value, &mut scenario_keys);
    }
    for world in [
        "tests/worlds/delegates.yaml",
        "ci/bench-world.yaml",
        "fuzz/world.yaml",
    ] {
        let world = World::load(&repo().join(world)).unwrap();
        schema_keys(
            &serde_json::to_value(&world).unwrap_or_default(),
            &mut world_keys,
        );
    }
    let worlds_doc = doc("worlds.md");
    let undocumented: Vec<&String> = world_keys
        .iter()
        .filter(|k| !worlds_doc.contains(k.as_str()))
        .collect();
    assert!(
        undocumented.is_empty(),
        "world fields missing from docs/worlds.md: {undocumented:?}"
    );
    // Scenario files hold a connector configuration, steps and fault rules: documented in
    // the scenarios page and the fault rules of the control API page.
    let scenarios_doc = doc("scenarios.md") + &doc(CONTROL_PAGE);
    let undocumented: Vec<&String> = scenario_keys
        .iter()
        .filter(|k| !scenarios_doc.contains(k.as_str()))
        .collect();
    assert!(
        undocumented.is_empty(),
        "scenario fields missing from docs/scenarios.md and docs/control-api.md: {undocumented:?}"
    );
}

/// Every control API path the router matches is in the control API page.
#[test]
fn every_control_route_is_documented() {
    let router = std::fs::read_to_string(repo().join("mock-server/src/control.rs")).unwrap();
    let doc = doc(CONTROL_PAGE);
    let routes: std::collections::BTreeSet<&str> = router
        .split('"')
        .filter(|s| s.starts_with("/_mock/") && s.len() > "/_mock/".len())
        .collect();
    assert!(routes.contains("/_mock/clock"), "{routes:?}");
    let undocumented: Vec<&&str> = routes.iter().filter(|r| !doc.contains(**r)).collect();
    assert!(
        undocumented.is_empty(),
        "control routes missing from docs/control-api.md: {undocumented:?}"
    );
}

#[test]
fn the_seed_coverage_table_names_every_scenario_and_only_existing_ones() {
    let table = doc("seed-coverage.md");
    let scenarios: std::collections::BTreeSet<String> = discover(&[repo().join("scenarios")])
        .unwrap()
        .iter()
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    let mut named = std::collections::BTreeSet::new();
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| l.starts_with("| ") && l.chars().nth(2).is_some_and(|c| c.is_ascii_digit()))
        .collect();
    assert!(rows.len() >= 30, "{} rows", rows.len());
    for row in rows {
        let in_row: Vec<&str> = row
            .split("](../scenarios/")
            .skip(1)
            .filter_map(|rest| rest.split(".yaml)").next())
            .collect();
        assert!(!in_row.is_empty(), "a row names no scenario: {row}");
        for name in in_row {
            assert!(
                scenarios.contains(name),
                "docs/seed-coverage.md names `{name}`, which is not in scenarios/"
            );
            named.insert(name.to_owned());
        }
    }
    let absent: Vec<&String> = scenarios.difference(&named).collect();
    assert!(
        absent.is_empty(),
        "scenarios in no row of docs/seed-coverage.md: {absent:?}"
    );
}
