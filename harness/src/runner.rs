//! Runs scenarios: each on its own in-process server with a virtual clock, steps in order,
//! each outcome compared with what the scenario expects.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::{Duration, SystemTime};

use aws_sdk_iam::error::ProvideErrorMetadata;
use mock_server::{ChangeKind, Clock, LoggedRequest, MockServer, OrganizationSpec, Partition};
use serde::{Deserialize, Serialize};

use crate::conform::{self, Answer, External};
use crate::connector::{self, Connection, Failure, Verdict};
use crate::scenario::{
    Check, DeploymentStep, Expectation, IamChange, IamStep, LaunchExpectation, LaunchStep,
    RunExpectation, RunStep, Scenario, Step, auditor_key,
};
use crate::sdk;

/// Where every scenario's clock starts: a fixed instant, so runs repeat.
const START: Duration = Duration::from_secs(1_893_456_000); // 2030-01-01T00:00:00Z

/// The outcome of one step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepResult {
    /// The step, as the scenario has it (`connection_test`, `advance 300`, …).
    pub step: String,
    /// What the scenario expects.
    pub expected: String,
    /// What happened.
    pub actual: String,
    /// Whether they agree.
    pub passed: bool,
}

/// The outcome of one scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioResult {
    /// The scenario's name.
    pub name: String,
    /// Its file.
    pub file: String,
    /// What it shows.
    pub description: String,
    /// Who played the connector: `reference connector`, or the connector under test's label.
    #[serde(default)]
    pub implementation: String,
    /// The connector's credential option (`access_key`, `delegate_role`, `irsa`).
    #[serde(default)]
    pub credentials: String,
    /// The partition of its test region (`aws`, `aws-us-gov`).
    #[serde(default)]
    pub partition: String,
    /// Each step run (a scenario stops at its first mismatch).
    pub steps: Vec<StepResult>,
    /// For each step, the requests it made: the `seq` range `[first, end)` of `requests`.
    #[serde(default)]
    pub step_requests: Vec<[u64; 2]>,
    /// Whether every step agreed.
    pub passed: bool,
    /// Why it could not run at all, if it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why it was not run for this connector (not applicable to the protocol, or declared
    /// not supported): neither passed nor failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// The server's request log.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requests: Vec<LoggedRequest>,
    /// Wall time, in milliseconds.
    pub millis: u128,
}

/// A scenario outside the conformance protocol.
pub const NOT_APPLICABLE: &str = "not applicable";
/// A scenario a connector's manifest declares it does not support.
pub const NOT_SUPPORTED: &str = "not supported";

impl ScenarioResult {
    fn empty(scenario: &Scenario) -> Self {
        let config = &scenario.connector;
        let credentials = serde_json::to_value(&config.credentials)
            .ok()
            .and_then(|v| match v {
                serde_json::Value::String(s) => Some(s),
                serde_json::Value::Object(map) => map.keys().next().cloned(),
                _ => None,
            })
            .unwrap_or_default();
        let region = config.test_region.as_deref().unwrap_or("us-east-1");
        Self {
            name: scenario.name.clone(),
            file: scenario.path.display().to_string(),
            description: scenario.description.clone(),
            implementation: String::new(),
            credentials,
            partition: Partition::of_region(region)
                .map(|p| p.id().to_owned())
                .unwrap_or_default(),
            steps: Vec::new(),
            step_requests: Vec::new(),
            passed: false,
            error: None,
            skipped: None,
            requests: Vec::new(),
            millis: 0,
        }
    }

    /// A scenario that could not run at all (its file unreadable, the runner panicked).
    fn broken(name: String, file: &std::path::Path, error: String, implementation: &str) -> Self {
        Self {
            name,
            file: file.display().to_string(),
            description: String::new(),
            implementation: implementation.to_owned(),
            credentials: String::new(),
            partition: String::new(),
            steps: Vec::new(),
            step_requests: Vec::new(),
            passed: false,
            error: Some(error),
            skipped: None,
            requests: Vec::new(),
            millis: 0,
        }
    }

    /// Whether it ran and did not behave as expected (or could not run).
    pub fn failed(&self) -> bool {
        !self.passed && self.skipped.is_none()
    }

    /// Why a conformance run left it out, in the conformance report's words: `not
    /// applicable` (outside the protocol) or `not supported` (the connector's manifest).
    pub fn not_run(&self) -> Option<&'static str> {
        let why = self.skipped.as_deref()?;
        Some(if why.starts_with(NOT_SUPPORTED) {
            NOT_SUPPORTED
        } else {
            NOT_APPLICABLE
        })
    }
}

/// Who plays the connector in a scenario.
#[derive(Debug)]
pub enum Driver {
    /// The reference connector, in process, on a virtual clock.
    Reference,
    /// A connector under test, through the connector protocol, on a real-time clock.
    External(External),
}

impl Driver {
    /// What results and reports call it.
    pub fn label(&self) -> &str {
        match self {
            Driver::Reference => REFERENCE,
            Driver::External(external) => &external.label,
        }
    }
}

/// The reference connector's label in results.
pub const REFERENCE: &str = "reference connector";

/// Runs one scenario with the reference connector, on a runtime of its own whose timers run
/// on paused time (blocking the calling thread until it is done).
///
/// The scenario's server, its delegates' endpoints and the connector's SDK clients all run on
/// that one runtime, and every timer in them (the SDK's retry backoff, its connect, read and
/// instance-metadata timeouts, the server's own) is a Tokio timer: when nothing else can
/// run, Tokio moves paused time straight to the next timer. The SDK sees the same timeouts
/// and backoffs in the same order, without waiting for them on the wall clock: a scenario
/// whose IMDS never answers its token request costs milliseconds, not the SDK's 1 s timeout
/// times its attempts. (The scenario's own clock, which signs and expires credentials, is
/// the server's virtual clock, moved by `advance` steps.)
pub fn run(scenario: &Scenario) -> ScenarioResult {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(run_with(scenario, &Driver::Reference)),
        Err(e) => ScenarioResult {
            implementation: REFERENCE.to_owned(),
            error: Some(format!("cannot start a runtime: {e}")),
            ..ScenarioResult::empty(scenario)
        },
    }
}

/// Runs one scenario with `driver`.
pub async fn run_with(scenario: &Scenario, driver: &Driver) -> ScenarioResult {
    if let Driver::External(external) = driver {
        let skip = conform::not_applicable(scenario)
            .map(|r| format!("{NOT_APPLICABLE}: {r}"))
            .or_else(|| {
                external
                    .unsupported
                    .get(&scenario.name)
                    .map(|r| format!("{NOT_SUPPORTED}: {r}"))
            });
        if skip.is_some() {
            return ScenarioResult {
                implementation: driver.label().to_owned(),
                skipped: skip,
                ..ScenarioResult::empty(scenario)
            };
        }
    }
    let started = std::time::Instant::now();
    let clock = match driver {
        Driver::Reference => Clock::virtual_at(SystemTime::UNIX_EPOCH + START),
        // A process signs with the machine's time.
        Driver::External(_) => Clock::real(),
    };
    let server = MockServer::builder()
        .world(scenario.world())
        .clock(clock)
        .start()
        .await;
    let server = match server {
        Ok(s) => s,
        Err(e) => {
            return ScenarioResult {
                implementation: driver.label().to_owned(),
                error: Some(error_chain(&e)),
                ..ScenarioResult::empty(scenario)
            };
        }
    };
    let mut connection: Option<Connection> = None;
    let mut steps = Vec::new();
    let mut step_requests = Vec::new();
    for step in &scenario.steps {
        let first = server.next_request_seq();
        let result = play(&server, scenario, step, &mut connection, driver).await;
        step_requests.push([first, server.next_request_seq()]);
        let passed = result.passed;
        steps.push(result);
        if !passed {
            break;
        }
    }
    ScenarioResult {
        implementation: driver.label().to_owned(),
        passed: steps.iter().all(|s| s.passed),
        requests: server.requests(),
        steps,
        step_requests,
        millis: started.elapsed().as_millis(),
        ..ScenarioResult::empty(scenario)
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

async fn play(
    server: &MockServer,
    scenario: &Scenario,
    step: &Step,
    connection: &mut Option<Connection>,
    driver: &Driver,
) -> StepResult {
    match (step, driver) {
        (Step::ConnectionTest(check), _)
            if !check.delegates.is_empty()
                || connector::matching_delegates(server, &scenario.connector).len() > 1 =>
        {
            each_delegate(server, scenario, check, connection, driver).await
        }
        (Step::ConnectionTest(check), Driver::External(external)) => {
            match external.invoke(server, scenario, None).await {
                Ok(outcome) => judge(
                    "connection_test",
                    check,
                    &outcome.map(|a| a.regions),
                    Hints::Ignored,
                ),
                Err(e) => connector_error("connection_test", &describe_expectation(check), e),
            }
        }
        (Step::DeploymentCheck(check), Driver::External(external)) => {
            let verdict = match external.invoke(server, scenario, Some(check)).await {
                Ok(Ok(Answer {
                    missing: Some(missing),
                    trusted,
                    ..
                })) => Ok(Verdict {
                    missing: missing.into_iter().collect(),
                    trusted,
                }),
                Ok(Ok(_)) => Err("connector error: a success without missing_actions".into()),
                Ok(Err(failure)) => Err(failure.to_string()),
                Err(e) => Err(format!("connector error: {e}")),
            };
            judge_deployment(check, verdict)
        }
        (Step::ConnectionTest(check), Driver::Reference) => {
            let place = connector::Place::on(server, &scenario.connector);
            let outcome = connector::connection_test(&place, &scenario.connector).await;
            let actual = outcome
                .as_ref()
                .map(|c| c.regions.clone())
                .map_err(Clone::clone);
            let result = judge("connection_test", check, &actual, Hints::Compared);
            if let Ok(c) = outcome {
                *connection = Some(c);
            }
            result
        }
        (Step::PipelineStep(check), _) => match connection {
            Some(c) => judge(
                "pipeline_step",
                check,
                &c.pipeline_step().await,
                Hints::Compared,
            ),
            None => no_connection("pipeline_step"),
        },
        (Step::DeploymentCheck(check), Driver::Reference) => match connection {
            Some(c) => deployment(c, check).await,
            None => no_connection("deployment_check"),
        },
        (Step::LaunchCheck(check), _) => match connection {
            Some(c) => launch(c, check).await,
            None => no_connection("launch_check"),
        },
        (Step::RunStep(run), _) => run_step(server, scenario, run).await,
        (Step::Iam(change), _) => iam(server, scenario, change).await,
        (Step::Organizations(orgs), _) => organizations(server, orgs),
        (Step::Advance(seconds), _) => {
            server.clock().advance(Duration::from_secs(*seconds));
            done(format!("advance {seconds}"))
        }
        (Step::Faults(rules), _) => {
            let added: Result<(), String> = rules
                .iter()
                .try_for_each(|r| server.add_fault(r.clone()).map_err(|e| e.to_string()));
            match added {
                Ok(()) => done(format!("faults ({})", rules.len())),
                Err(e) => StepResult {
                    step: "faults".into(),
                    expected: "valid rules".into(),
                    actual: e,
                    passed: false,
                },
            }
        }
        (Step::ClearFaults, _) => {
            server.clear_faults();
            done("clear_faults".into())
        }
    }
}

/// A connection test on each delegate the selectors match, in the world's order ("any
/// available delegate" may be any of them): each judged against its own expectation in
/// `delegates`, or `expect`. Later steps use the first delegate's connection.
async fn each_delegate(
    server: &MockServer,
    scenario: &Scenario,
    check: &Check,
    connection: &mut Option<Connection>,
    driver: &Driver,
) -> StepResult {
    let delegates = connector::matching_delegates(server, &scenario.connector);
    let mut results = Vec::new();
    for (index, delegate) in delegates.into_iter().enumerate() {
        let name = delegate.name.clone();
        let single = Check {
            expect: check.delegates.get(&name).unwrap_or(&check.expect).clone(),
            regions: check.regions.clone(),
            delegates: BTreeMap::new(),
        };
        let result = match driver {
            Driver::Reference => {
                let place =
                    connector::Place::on_delegate(server, &scenario.connector, Some(delegate));
                let outcome = connector::connection_test(&place, &scenario.connector).await;
                let actual = outcome
                    .as_ref()
                    .map(|c| c.regions.clone())
                    .map_err(Clone::clone);
                let result = judge("connection_test", &single, &actual, Hints::Compared);
                if let (0, Ok(c)) = (index, outcome) {
                    *connection = Some(c);
                }
                result
            }
            Driver::External(external) => {
                match external
                    .invoke_on(server, scenario, None, Some(delegate))
                    .await
                {
                    Ok(outcome) => judge(
                        "connection_test",
                        &single,
                        &outcome.map(|a| a.regions),
                        Hints::Ignored,
                    ),
                    Err(e) => connector_error("connection_test", &describe_expectation(&single), e),
                }
            }
        };
        results.push((name, result));
    }
    // Expectations for delegates the selectors do not match are mistakes.
    let strays: Vec<&str> = check
        .delegates
        .keys()
        .filter(|n| !results.iter().any(|(name, _)| name == *n))
        .map(String::as_str)
        .collect();
    let each = |text: fn(&StepResult) -> &str| {
        results
            .iter()
            .map(|(name, r)| format!("{name}: {}", text(r)))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let mut expected = each(|r| &r.expected);
    if !strays.is_empty() {
        expected.push_str(&format!("; also {} (not matched)", strays.join(", ")));
    }
    StepResult {
        step: format!("connection_test on each of {} delegates", results.len()),
        expected,
        actual: each(|r| &r.actual),
        passed: strays.is_empty() && results.iter().all(|(_, r)| r.passed),
    }
}

fn done(step: String) -> StepResult {
    StepResult {
        step,
        expected: "done".into(),
        actual: "done".into(),
        passed: true,
    }
}

fn no_connection(step: &str) -> StepResult {
    StepResult {
        step: step.into(),
        expected: "a connection from an earlier successful connection_test".into(),
        actual: "no connection test has succeeded yet".into(),
        passed: false,
    }
}

/// Whether an expected hint is checked: the reference connector's hints are its own, so a
/// connector under test is not held to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hints {
    Compared,
    Ignored,
}

fn connector_error(step: &str, expected: &str, error: String) -> StepResult {
    StepResult {
        step: step.into(),
        expected: expected.into(),
        actual: format!("connector error: {error}"),
        passed: false,
    }
}

/// Compares a connection test's (or pipeline step's) outcome with the expectation.
fn judge(
    step: &str,
    check: &Check,
    actual: &Result<Vec<String>, Failure>,
    hints: Hints,
) -> StepResult {
    let expected = describe_expectation(check);
    let (passed, actual_text) = match (&check.expect, actual) {
        (Expectation::Success(_), Ok(regions)) => {
            let missing: Vec<&String> = check
                .regions
                .iter()
                .filter(|r| !regions.contains(r))
                .collect();
            (
                missing.is_empty(),
                format!("success, regions {}", regions.join(" ")),
            )
        }
        (Expectation::Failure(want), Err(got)) => {
            let code_ok = match want.code.as_deref() {
                None => true,
                Some("none") => got.code.is_none(),
                Some(code) => got.code.as_deref() == Some(code),
            };
            let hint_ok = hints == Hints::Ignored
                || want
                    .hint
                    .as_deref()
                    .is_none_or(|h| got.hint.to_lowercase().contains(&h.to_lowercase()));
            (
                want.stage == got.stage && code_ok && hint_ok,
                got.to_string(),
            )
        }
        (_, Ok(regions)) => (false, format!("success, regions {}", regions.join(" "))),
        (_, Err(got)) => (false, got.to_string()),
    };
    StepResult {
        step: step.into(),
        expected,
        actual: actual_text,
        passed,
    }
}

fn describe_expectation(check: &Check) -> String {
    match &check.expect {
        Expectation::Success(_) if check.regions.is_empty() => "success".into(),
        Expectation::Success(_) => format!("success, regions include {}", check.regions.join(" ")),
        Expectation::Failure(f) => format!(
            "{} failed{}{}",
            f.stage,
            f.code
                .as_deref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default(),
            f.hint
                .as_deref()
                .map(|h| format!(", hint mentioning \"{h}\""))
                .unwrap_or_default()
        ),
    }
}

async fn deployment(c: &Connection, check: &DeploymentStep) -> StepResult {
    let account = c.principal.split(':').nth(4).unwrap_or_default();
    let (id, secret) = auditor_key(account);
    let spec =
        check
            .deployment
            .requirement()
            .check(check.role.as_deref(), &check.resources, &c.region);
    let verdict = c
        .check_deployment(&spec, sdk::access_key(&id, &secret))
        .await;
    judge_deployment(check, verdict.map_err(|e| e.to_string()))
}

/// Compares a deployment check's verdict with the expectation: the same missing actions
/// (the expectation's patterns expanded against the requirement) and the same trust.
fn judge_deployment(check: &DeploymentStep, verdict: Result<Verdict, String>) -> StepResult {
    let requirement = check.deployment.requirement();
    let step = format!("deployment_check {:?}", check.deployment);
    let describe = |missing: &BTreeSet<String>, untrusted: bool| {
        let mut text = if missing.is_empty() {
            "every action held".to_owned()
        } else {
            format!("missing {}", requirement.summarize(missing).join(" "))
        };
        if untrusted {
            text.push_str(", the role does not trust the service the docs name");
        }
        text
    };
    let expected = match requirement.select(&check.missing) {
        Ok(set) => set,
        Err(e) => {
            return StepResult {
                step,
                expected: format!("missing {}", check.missing.join(" ")),
                actual: format!("the expectation is wrong: {e}"),
                passed: false,
            };
        }
    };
    let expected_text = describe(&expected, check.untrusted);
    match verdict {
        Ok(verdict) => {
            let untrusted = verdict.trusted == Some(false);
            StepResult {
                step,
                passed: verdict.missing == expected && untrusted == check.untrusted,
                actual: describe(&verdict.missing, untrusted),
                expected: expected_text,
            }
        }
        Err(e) => StepResult {
            step,
            expected: expected_text,
            actual: e,
            passed: false,
        },
    }
}

/// A dry-run launch with the connection's credentials, judged against the expectation; a
/// refusal's encoded message is decoded with the account's root credentials.
async fn launch(c: &Connection, check: &LaunchStep) -> StepResult {
    let step = format!("launch_check {}", check.image);
    let outcome = c
        .launch_dry_run(
            &check.image,
            check.instance_type.as_deref().unwrap_or("t3.micro"),
            check.instance_profile.as_deref(),
        )
        .await;
    // A refusal: EC2's code, the action its encoded message names, its message.
    let refusal = match outcome {
        Ok(()) => None,
        Err((code, message)) => {
            let account = c.principal.split(':').nth(4).unwrap_or_default();
            let (id, secret) = auditor_key(account);
            let action = c
                .denied_action(sdk::access_key(&id, &secret), &message)
                .await;
            Some((code, action, message))
        }
    };
    let actual = match &refusal {
        None => "success".to_owned(),
        Some((code, Some(action), _)) => format!("{code} ({action})"),
        Some((code, None, message)) => format!("{code}: {message}"),
    };
    let expected = match &check.expect {
        LaunchExpectation::Success(_) => "success".to_owned(),
        LaunchExpectation::Refused(r) => match &r.action {
            Some(action) => format!("{} ({action})", r.code),
            None => r.code.clone(),
        },
    };
    let passed = match (&check.expect, &refusal) {
        (LaunchExpectation::Success(_), None) => true,
        (LaunchExpectation::Refused(r), Some((code, action, _))) => {
            *code == r.code && r.action.as_ref().is_none_or(|a| action.as_ref() == Some(a))
        }
        _ => false,
    };
    StepResult {
        step,
        expected,
        actual,
        passed,
    }
}

/// A "Run" step's script on the connector's delegate, judged against the expectation.
async fn run_step(server: &MockServer, scenario: &Scenario, run: &RunStep) -> StepResult {
    let call = serde_json::to_value(run.call)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let step = match &run.role_arn {
        Some(role) => format!("run_step {call} as {role}"),
        None => format!("run_step {call}"),
    };
    let expected = match &run.expect {
        RunExpectation::Success(_) => "success".to_owned(),
        RunExpectation::Refused(r) => r.code.clone(),
    };
    let Some(delegate) = connector::chosen_delegate(server, &scenario.connector) else {
        return StepResult {
            step,
            expected,
            actual: "no delegate: a run step runs on the connector's delegate".into(),
            passed: false,
        };
    };
    let outcome = connector::run_script(
        &delegate.env,
        sdk::ServerTime::new(server.clock()),
        run.role_arn.as_deref(),
        run.call,
    )
    .await;
    let (passed, actual) = match (&run.expect, &outcome) {
        (RunExpectation::Success(_), Ok(())) => (true, "success".to_owned()),
        (RunExpectation::Refused(r), Err((code, _))) => (
            *code == r.code,
            format!("{code}: {}", outcome_text(&outcome)),
        ),
        (_, Ok(())) => (false, "success".to_owned()),
        (_, Err((code, _))) => (false, format!("{code}: {}", outcome_text(&outcome))),
    };
    StepResult {
        step,
        expected,
        actual,
        passed,
    }
}

fn outcome_text(outcome: &Result<(), (String, String)>) -> &str {
    outcome.as_ref().err().map_or("", |(_, message)| message)
}

async fn iam(server: &MockServer, scenario: &Scenario, step: &IamStep) -> StepResult {
    let (id, secret) = auditor_key(&step.account);
    // IAM is global within a partition: sign for the account's partition.
    let region = scenario
        .world()
        .accounts
        .iter()
        .find(|a| a.id == step.account)
        .and_then(|a| Partition::from_id(&a.partition))
        .unwrap_or(Partition::Aws)
        .default_region();
    let config = sdk::sdk_config(
        &server.endpoint(),
        sdk::access_key(&id, &secret),
        region,
        server.clock(),
    );
    let client = aws_sdk_iam::Client::new(&config);
    let json = |v: &serde_json::Value| v.to_string();
    let result: Result<(), (Option<String>, String)> = match &step.change {
        IamChange::AttachUserPolicy {
            user_name,
            policy_arn,
        } => client
            .attach_user_policy()
            .user_name(user_name)
            .policy_arn(policy_arn)
            .send()
            .await
            .map(|_| ())
            .map_err(sdk_error),
        IamChange::DetachUserPolicy {
            user_name,
            policy_arn,
        } => client
            .detach_user_policy()
            .user_name(user_name)
            .policy_arn(policy_arn)
            .send()
            .await
            .map(|_| ())
            .map_err(sdk_error),
        IamChange::AttachRolePolicy {
            role_name,
            policy_arn,
        } => client
            .attach_role_policy()
            .role_name(role_name)
            .policy_arn(policy_arn)
            .send()
            .await
            .map(|_| ())
            .map_err(sdk_error),
        IamChange::DetachRolePolicy {
            role_name,
            policy_arn,
        } => client
            .detach_role_policy()
            .role_name(role_name)
            .policy_arn(policy_arn)
            .send()
            .await
            .map(|_| ())
            .map_err(sdk_error),
        IamChange::PutRolePolicy {
            role_name,
            policy_name,
            document,
        } => client
            .put_role_policy()
            .role_name(role_name)
            .policy_name(policy_name)
            .policy_document(json(document))
            .send()
            .await
            .map(|_| ())
            .map_err(sdk_error),
        IamChange::UpdateAssumeRolePolicy {
            role_name,
            document,
        } => client
            .update_assume_role_policy()
            .role_name(role_name)
            .policy_document(json(document))
            .send()
            .await
            .map(|_| ())
            .map_err(sdk_error),
        IamChange::UpdateAccessKey {
            user_name,
            access_key_id,
            status,
        } => client
            .update_access_key()
            .user_name(user_name)
            .access_key_id(access_key_id)
            .status(match status {
                mock_server::KeyStatus::Active => aws_sdk_iam::types::StatusType::Active,
                mock_server::KeyStatus::Inactive => aws_sdk_iam::types::StatusType::Inactive,
            })
            .send()
            .await
            .map(|_| ())
            .map_err(sdk_error),
        IamChange::RemoveRoleFromInstanceProfile {
            instance_profile_name,
            role_name,
        } => client
            .remove_role_from_instance_profile()
            .instance_profile_name(instance_profile_name)
            .role_name(role_name)
            .send()
            .await
            .map(|_| ())
            .map_err(sdk_error),
        IamChange::AddRoleToInstanceProfile {
            instance_profile_name,
            role_name,
        } => client
            .add_role_to_instance_profile()
            .instance_profile_name(instance_profile_name)
            .role_name(role_name)
            .send()
            .await
            .map(|_| ())
            .map_err(sdk_error),
        IamChange::CreatePolicy {
            policy_name,
            document,
        } => client
            .create_policy()
            .policy_name(policy_name)
            .policy_document(json(document))
            .send()
            .await
            .map(|_| ())
            .map_err(sdk_error),
    };
    let step_text = format!("iam {}", change_name(&step.change));
    let expected = step
        .expect_error
        .as_deref()
        .map_or_else(|| "done".to_owned(), |c| format!("error {c}"));
    let done = takes_effect(server, change_kind(&step.change));
    let (passed, actual) = match (&result, step.expect_error.as_deref()) {
        (Ok(()), None) => (true, done),
        (Ok(()), Some(_)) => (false, done),
        (Err((code, message)), want) => (
            want.is_some() && code.as_deref() == want,
            format!(
                "error {}: {message}",
                code.as_deref().unwrap_or("(no code)")
            ),
        ),
    };
    StepResult {
        step: step_text,
        expected,
        actual,
        passed,
    }
}

/// Where a change of `kind` stands: when the server's propagation settings let it take
/// effect.
fn takes_effect(server: &MockServer, kind: ChangeKind) -> String {
    let propagation = server.propagation();
    let delay = propagation
        .kinds
        .get(&kind)
        .copied()
        .unwrap_or(propagation.delay_seconds);
    if delay > 0.0 || propagation.jitter_seconds > 0.0 {
        format!(
            "done; takes effect {delay} s later (propagation of {}{})",
            serde_json::to_value(kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            if propagation.jitter_seconds > 0.0 {
                format!(", plus up to {} s jitter", propagation.jitter_seconds)
            } else {
                String::new()
            }
        )
    } else {
        "done; in effect at once (no propagation delay)".to_owned()
    }
}

/// Replaces the organizations, through the server as an Organizations administrator would
/// change them.
fn organizations(server: &MockServer, organizations: &[OrganizationSpec]) -> StepResult {
    let step = format!("organizations ({})", organizations.len());
    match server.set_organizations(organizations.to_vec()) {
        Ok(()) => StepResult {
            step,
            expected: "done".into(),
            actual: takes_effect(server, ChangeKind::Organizations),
            passed: true,
        },
        Err(e) => StepResult {
            step,
            expected: "organizations that fit the world".into(),
            actual: e.to_string(),
            passed: false,
        },
    }
}

/// The kind of IAM change, as propagation delays are set per kind.
fn change_kind(change: &IamChange) -> ChangeKind {
    match change {
        IamChange::AttachUserPolicy { .. }
        | IamChange::DetachUserPolicy { .. }
        | IamChange::AttachRolePolicy { .. }
        | IamChange::DetachRolePolicy { .. }
        | IamChange::PutRolePolicy { .. }
        | IamChange::CreatePolicy { .. } => ChangeKind::Policies,
        IamChange::UpdateAssumeRolePolicy { .. } => ChangeKind::TrustPolicies,
        IamChange::UpdateAccessKey { .. } => ChangeKind::AccessKeys,
        IamChange::RemoveRoleFromInstanceProfile { .. }
        | IamChange::AddRoleToInstanceProfile { .. } => ChangeKind::Entities,
    }
}

fn change_name(change: &IamChange) -> &'static str {
    match change {
        IamChange::AttachUserPolicy { .. } => "AttachUserPolicy",
        IamChange::DetachUserPolicy { .. } => "DetachUserPolicy",
        IamChange::AttachRolePolicy { .. } => "AttachRolePolicy",
        IamChange::DetachRolePolicy { .. } => "DetachRolePolicy",
        IamChange::PutRolePolicy { .. } => "PutRolePolicy",
        IamChange::UpdateAssumeRolePolicy { .. } => "UpdateAssumeRolePolicy",
        IamChange::UpdateAccessKey { .. } => "UpdateAccessKey",
        IamChange::RemoveRoleFromInstanceProfile { .. } => "RemoveRoleFromInstanceProfile",
        IamChange::AddRoleToInstanceProfile { .. } => "AddRoleToInstanceProfile",
        IamChange::CreatePolicy { .. } => "CreatePolicy",
    }
}

fn sdk_error<E: ProvideErrorMetadata + std::error::Error + 'static>(
    e: E,
) -> (Option<String>, String) {
    (
        e.code().map(str::to_owned),
        e.message().map_or_else(|| error_chain(&e), str::to_owned),
    )
}

impl fmt::Display for ScenarioResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = match (self.not_run(), self.passed) {
            (Some(NOT_SUPPORTED), _) => "NOT SUPPORTED",
            (Some(_), _) => "NOT APPLICABLE",
            (None, true) => "PASS",
            (None, false) => "FAIL",
        };
        write!(f, "{mark} {} ({} ms)", self.name, self.millis)
    }
}

/// Loads and runs every scenario in `files` whose name contains `filter`, `jobs` at a
/// time, calling `done` as each finishes. Scenario files that cannot be read are results
/// too (failed, with the reason).
pub async fn run_all(
    files: &[std::path::PathBuf],
    filter: Option<&str>,
    jobs: usize,
    driver: std::sync::Arc<Driver>,
    done: impl Fn(&ScenarioResult, usize, usize),
) -> Vec<ScenarioResult> {
    let mut loaded = Vec::new();
    for file in files {
        match Scenario::load(file) {
            Ok(s) if filter.is_none_or(|f| s.name.contains(f)) => loaded.push(Ok(s)),
            Ok(_) => {}
            Err(e) => loaded.push(Err((file.clone(), e.to_string()))),
        }
    }
    let total = loaded.len();
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    // What a task runs, to report it failed if it panics.
    let mut running = std::collections::HashMap::new();
    for (index, item) in loaded.into_iter().enumerate() {
        let permits = std::sync::Arc::clone(&permits);
        let driver = std::sync::Arc::clone(&driver);
        let (name, file) = match &item {
            Ok(s) => (s.name.clone(), s.path.clone()),
            Err((file, _)) => (String::new(), file.clone()),
        };
        let task = tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let result = match (item, driver.as_ref()) {
                (Ok(scenario), Driver::Reference) => {
                    let name = scenario.name.clone();
                    let file = scenario.path.clone();
                    tokio::task::spawn_blocking(move || run(&scenario))
                        .await
                        .unwrap_or_else(|e| {
                            let error = format!("the runner panicked: {e}");
                            ScenarioResult::broken(name, &file, error, REFERENCE)
                        })
                }
                (Ok(scenario), Driver::External(_)) => run_with(&scenario, &driver).await,
                (Err((file, error)), _) => {
                    let name = file
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    ScenarioResult::broken(name, &file, error, driver.label())
                }
            };
            (index, result)
        });
        running.insert(task.id(), (index, name, file));
    }
    let mut results: Vec<Option<ScenarioResult>> = (0..total).map(|_| None).collect();
    let mut finished = 0;
    while let Some(joined) = tasks.join_next().await {
        finished += 1;
        match joined {
            Ok((index, result)) => {
                done(&result, finished, total);
                if let Some(slot) = results.get_mut(index) {
                    *slot = Some(result);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "a scenario task panicked");
                if let Some((index, name, file)) = running.remove(&e.id()) {
                    let error = format!("the runner panicked: {e}");
                    let result = ScenarioResult::broken(name, &file, error, driver.label());
                    done(&result, finished, total);
                    if let Some(slot) = results.get_mut(index) {
                        *slot = Some(result);
                    }
                }
            }
        }
    }
    results.into_iter().flatten().collect()
}
