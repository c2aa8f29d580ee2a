//! Runs scenarios: each on its own in-process server with a virtual clock, steps in order,
//! each outcome compared with what the scenario expects.

use std::fmt;
use std::time::{Duration, SystemTime};

use aws_sdk_iam::error::ProvideErrorMetadata;
use mock_server::{Clock, LoggedRequest, MockServer, Partition};
use serde::Serialize;

use crate::connector::{self, Connection, Failure};
use crate::scenario::{
    Check, DeploymentStep, Expectation, IamChange, IamStep, Scenario, Step, auditor_key,
};
use crate::sdk;

/// Where every scenario's clock starts: a fixed instant, so runs repeat.
const START: Duration = Duration::from_secs(1_893_456_000); // 2030-01-01T00:00:00Z

/// The outcome of one step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    /// The scenario's name.
    pub name: String,
    /// Its file.
    pub file: String,
    /// What it shows.
    pub description: String,
    /// Each step run (a scenario stops at its first mismatch).
    pub steps: Vec<StepResult>,
    /// Whether every step agreed.
    pub passed: bool,
    /// Why it could not run at all, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The server's request log, kept when the scenario did not pass.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub requests: Vec<LoggedRequest>,
    /// Wall time, in milliseconds.
    pub millis: u128,
}

impl ScenarioResult {
    fn broken(scenario: &Scenario, error: String) -> Self {
        Self {
            name: scenario.name.clone(),
            file: scenario.path.display().to_string(),
            description: scenario.description.clone(),
            steps: Vec::new(),
            passed: false,
            error: Some(error),
            requests: Vec::new(),
            millis: 0,
        }
    }
}

/// Runs one scenario.
pub async fn run(scenario: &Scenario) -> ScenarioResult {
    let started = std::time::Instant::now();
    let server = MockServer::builder()
        .world(scenario.world())
        .clock(Clock::virtual_at(SystemTime::UNIX_EPOCH + START))
        .start()
        .await;
    let server = match server {
        Ok(s) => s,
        Err(e) => return ScenarioResult::broken(scenario, error_chain(&e)),
    };
    let mut connection: Option<Connection> = None;
    let mut steps = Vec::new();
    for step in &scenario.steps {
        let result = play(&server, scenario, step, &mut connection).await;
        let passed = result.passed;
        steps.push(result);
        if !passed {
            break;
        }
    }
    let passed = steps.iter().all(|s| s.passed);
    ScenarioResult {
        name: scenario.name.clone(),
        file: scenario.path.display().to_string(),
        description: scenario.description.clone(),
        requests: if passed {
            Vec::new()
        } else {
            server.requests()
        },
        steps,
        passed,
        error: None,
        millis: started.elapsed().as_millis(),
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
) -> StepResult {
    match step {
        Step::ConnectionTest(check) => {
            let outcome = connector::connection_test(server, &scenario.connector).await;
            let actual = outcome
                .as_ref()
                .map(|c| c.regions.clone())
                .map_err(Clone::clone);
            let result = judge("connection_test", check, &actual);
            if let Ok(c) = outcome {
                *connection = Some(c);
            }
            result
        }
        Step::PipelineStep(check) => match connection {
            Some(c) => judge("pipeline_step", check, &c.pipeline_step().await),
            None => no_connection("pipeline_step"),
        },
        Step::DeploymentCheck(check) => match connection {
            Some(c) => deployment(c, check).await,
            None => no_connection("deployment_check"),
        },
        Step::Iam(change) => iam(server, scenario, change).await,
        Step::Advance(seconds) => {
            server.clock().advance(Duration::from_secs(*seconds));
            done(format!("advance {seconds}"))
        }
        Step::Faults(rules) => {
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
        Step::ClearFaults => {
            server.clear_faults();
            done("clear_faults".into())
        }
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

/// Compares a connection test's (or pipeline step's) outcome with the expectation.
fn judge(step: &str, check: &Check, actual: &Result<Vec<String>, Failure>) -> StepResult {
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
            let hint_ok = want
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
    let step = format!("deployment_check {:?}", check.deployment);
    let expected = if check.missing.is_empty() {
        "every action held".to_owned()
    } else {
        format!("missing {}", sorted(&check.missing).join(" "))
    };
    match c
        .missing_actions(check.deployment, sdk::access_key(&id, &secret))
        .await
    {
        Ok(missing) => {
            let actual = if missing.is_empty() {
                "every action held".to_owned()
            } else {
                format!("missing {}", sorted(&missing).join(" "))
            };
            StepResult {
                step,
                passed: sorted(&missing) == sorted(&check.missing),
                expected,
                actual,
            }
        }
        Err(e) => StepResult {
            step,
            expected,
            actual: e.to_string(),
            passed: false,
        },
    }
}

fn sorted(items: &[String]) -> Vec<String> {
    let mut v = items.to_vec();
    v.sort();
    v
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
    let (passed, actual) = match (&result, step.expect_error.as_deref()) {
        (Ok(()), None) => (true, "done".to_owned()),
        (Ok(()), Some(_)) => (false, "done".to_owned()),
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

fn change_name(change: &IamChange) -> &'static str {
    match change {
        IamChange::AttachUserPolicy { .. } => "AttachUserPolicy",
        IamChange::DetachUserPolicy { .. } => "DetachUserPolicy",
        IamChange::AttachRolePolicy { .. } => "AttachRolePolicy",
        IamChange::DetachRolePolicy { .. } => "DetachRolePolicy",
        IamChange::PutRolePolicy { .. } => "PutRolePolicy",
        IamChange::UpdateAssumeRolePolicy { .. } => "UpdateAssumeRolePolicy",
        IamChange::UpdateAccessKey { .. } => "UpdateAccessKey",
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
        let mark = if self.passed { "PASS" } else { "FAIL" };
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
    for (index, item) in loaded.into_iter().enumerate() {
        let permits = std::sync::Arc::clone(&permits);
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let result = match item {
                Ok(scenario) => run(&scenario).await,
                Err((file, error)) => ScenarioResult {
                    name: file
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    file: file.display().to_string(),
                    description: String::new(),
                    steps: Vec::new(),
                    passed: false,
                    error: Some(error),
                    requests: Vec::new(),
                    millis: 0,
                },
            };
            (index, result)
        });
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
            Err(e) => tracing::error!(error = %e, "a scenario task panicked"),
        }
    }
    results.into_iter().flatten().collect()
}
