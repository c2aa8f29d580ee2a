//! Conformance mode: connector implementations in any language, driven through the
//! connector protocol (`docs/conformance-protocol.md`): one subprocess per operation, one
//! JSON request on its stdin, one JSON result on its stdout, and only the environment the
//! protocol names.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use mock_server::MockServer;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::connector::{self, ConnectorConfig, CredentialOption, Failure, Stage};
use crate::deployments::{self, DeploymentType};
use crate::scenario::{DeploymentStep, FileError, Scenario, auditor_key};

/// The protocol's identifier.
pub const PROTOCOL: &str = "trustbench-connector/2";

/// A connector under test: a command line, run with `sh -c`.
#[derive(Debug, Clone)]
pub struct External {
    /// The command.
    pub command: String,
    /// What reports call it (default: the command).
    pub label: String,
    /// How long one operation may take.
    pub timeout: Duration,
    /// Scenarios it declares it does not support, with the reason.
    pub unsupported: BTreeMap<String, String>,
}

/// A connector's manifest.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// `trustbench-connector/2`.
    pub protocol: String,
    /// The scenarios it does not support.
    #[serde(default)]
    pub unsupported: Vec<Unsupported>,
}

/// One scenario a connector does not support.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Unsupported {
    /// The scenario's name.
    pub scenario: String,
    /// Why.
    pub reason: String,
}

impl Manifest {
    /// Reads a manifest; its protocol must be this one.
    pub fn load(path: &Path) -> Result<Self, FileError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| FileError::Read {
            file: file.clone(),
            source,
        })?;
        let manifest: Manifest = serde_saphyr::from_str(&text).map_err(|e| FileError::Parse {
            file: file.clone(),
            message: e.to_string(),
        })?;
        if manifest.protocol != PROTOCOL {
            return Err(FileError::Parse {
                file,
                message: format!(
                    "protocol `{}` is not `{PROTOCOL}`, the one this runner speaks",
                    manifest.protocol
                ),
            });
        }
        Ok(manifest)
    }
}

/// Why a scenario is outside the protocol, if it is: steps that need in-process control of
/// the connector.
pub fn not_applicable(scenario: &Scenario) -> Option<String> {
    if scenario
        .steps
        .iter()
        .any(|s| matches!(s, crate::scenario::Step::PipelineStep(_)))
    {
        return Some("a pipeline step reuses in-process credentials".into());
    }
    if scenario
        .steps
        .iter()
        .any(|s| matches!(s, crate::scenario::Step::LaunchCheck(_)))
    {
        return Some("a launch check reuses in-process credentials".into());
    }
    if scenario
        .steps
        .iter()
        .any(|s| matches!(s, crate::scenario::Step::RunStep(_)))
    {
        return Some("a run step's script runs on the delegate in process".into());
    }
    if scenario.connector.clock_skew_seconds != 0 {
        return Some("a connector clock skew needs control of the connector's clock".into());
    }
    None
}

/// What the connector answered (other fields, such as `principal`, are informative).
#[derive(Debug, Deserialize)]
struct Reply {
    status: String,
    #[serde(default)]
    regions: Vec<String>,
    #[serde(default)]
    missing_actions: Option<Vec<String>>,
    #[serde(default)]
    trusted: Option<bool>,
    #[serde(default)]
    stage: Option<Stage>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// The outcome of one operation: the connector's result, or why it gave none.
pub type Outcome = Result<Result<Answer, Failure>, String>;

/// A successful operation: the regions, and the missing actions of a deployment check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The regions DescribeRegions listed.
    pub regions: Vec<String>,
    /// The actions missing, for a deployment check.
    pub missing: Option<Vec<String>>,
    /// For a deployment check of a role that must trust a service: whether it does.
    pub trusted: Option<bool>,
}

impl External {
    /// Runs one operation of `scenario` (a connection test, or the deployment check
    /// `deployment`) against `server`.
    pub async fn invoke(
        &self,
        server: &MockServer,
        scenario: &Scenario,
        deployment: Option<&DeploymentStep>,
    ) -> Outcome {
        let delegate = connector::chosen_delegate(server, &scenario.connector);
        self.invoke_on(server, scenario, deployment, delegate).await
    }

    /// [`invoke`](Self::invoke) on `delegate`, one of those the selectors match (none: on
    /// the platform, or no delegate matched): the request names it and the connector runs
    /// in its environment.
    pub async fn invoke_on(
        &self,
        server: &MockServer,
        scenario: &Scenario,
        deployment: Option<&DeploymentStep>,
        delegate: Option<mock_server::Delegate>,
    ) -> Outcome {
        let request = Request::new(
            scenario,
            delegate.as_ref().map(|d| d.name.as_str()),
            deployment,
        );
        let home = tempdir().map_err(|e| format!("cannot make a home directory: {e}"))?;
        let empty = home.join("empty-aws-config");
        std::fs::write(&empty, "").map_err(|e| e.to_string())?;
        let mut env: BTreeMap<String, String> = BTreeMap::new();
        for key in ["PATH", "LANG"] {
            if let Ok(v) = std::env::var(key) {
                env.insert(key.into(), v);
            }
        }
        env.insert("HOME".into(), home.display().to_string());
        for key in [
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_STS",
            "AWS_ENDPOINT_URL_EC2",
            "AWS_ENDPOINT_URL_IAM",
        ] {
            env.insert(key.into(), server.endpoint());
        }
        env.insert("AWS_CONFIG_FILE".into(), empty.display().to_string());
        env.insert(
            "AWS_SHARED_CREDENTIALS_FILE".into(),
            empty.display().to_string(),
        );
        let on_instance = delegate
            .as_ref()
            .is_some_and(|d| d.env.contains_key("AWS_EC2_METADATA_SERVICE_ENDPOINT"));
        if !on_instance {
            env.insert("AWS_EC2_METADATA_DISABLED".into(), "true".into());
        }
        if let Some(d) = &delegate {
            env.extend(d.env.clone());
        }
        let outcome = self.spawn(&env, &request).await;
        let _ = std::fs::remove_dir_all(&home);
        outcome
    }

    async fn spawn(&self, env: &BTreeMap<String, String>, request: &Request) -> Outcome {
        let mut child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(&self.command)
            .env_clear()
            .envs(env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start the connector: {e}"))?;
        if let Some(mut stdin) = child.stdin.take() {
            let text = serde_json::to_string(request).unwrap_or_default();
            let _ = stdin.write_all(text.as_bytes()).await;
        }
        let mut stdout = child.stdout.take();
        let mut stderr = child.stderr.take();
        let run = async {
            let mut out = Vec::new();
            let mut err = Vec::new();
            if let Some(s) = stdout.as_mut() {
                let _ = s.read_to_end(&mut out).await;
            }
            if let Some(s) = stderr.as_mut() {
                let _ = s.read_to_end(&mut err).await;
            }
            (child.wait().await, out, err)
        };
        let (status, out, err) = tokio::time::timeout(self.timeout, run)
            .await
            .map_err(|_| format!("timed out after {} s", self.timeout.as_secs()))?;
        let status = status.map_err(|e| format!("cannot wait for the connector: {e}"))?;
        let stderr_tail = tail(&String::from_utf8_lossy(&err));
        if !status.success() {
            return Err(format!("exited with {status}; stderr: {stderr_tail}"));
        }
        let text = String::from_utf8_lossy(&out);
        let reply: Reply = serde_json::from_str(text.trim()).map_err(|e| {
            format!(
                "invalid output ({e}): {:?}; stderr: {stderr_tail}",
                tail(&text)
            )
        })?;
        match reply.status.as_str() {
            "success" => Ok(Ok(Answer {
                regions: reply.regions,
                missing: reply.missing_actions,
                trusted: reply.trusted,
            })),
            "failure" => {
                let stage = reply
                    .stage
                    .ok_or_else(|| "a failure without a stage".to_owned())?;
                Ok(Err(Failure {
                    stage,
                    code: reply.code,
                    message: reply.message.unwrap_or_default(),
                    hint: String::new(),
                }))
            }
            other => Err(format!("unknown status `{other}`")),
        }
    }
}

/// A protocol request (see `docs/conformance-protocol.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// [`PROTOCOL`].
    pub protocol: String,
    /// The scenario's name.
    pub scenario: String,
    /// `connection_test` or `deployment_check`.
    pub operation: String,
    /// The connector's configuration.
    pub connector: RequestConnector,
    /// For `deployment_check`: what to check.
    pub deployment_check: Option<RequestCheck>,
}

/// The connector configuration of a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestConnector {
    /// `{"access_key": {…}}`, `"delegate_role"` or `"irsa"`, as in scenarios.
    pub credentials: CredentialOption,
    /// The cross-account role, if any.
    pub cross_account: Option<connector::CrossAccount>,
    /// The test region.
    pub test_region: String,
    /// `{"type": "platform"}` or `{"type": "delegate", "selectors", "delegate"}`.
    pub connectivity: RequestConnectivity,
}

/// The connectivity of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RequestConnectivity {
    /// Through the platform.
    Platform,
    /// Through a delegate: the selectors, and the delegate they chose (none matched: null).
    Delegate {
        /// The selector tags.
        selectors: Vec<String>,
        /// The chosen delegate.
        delegate: Option<String>,
    },
}

/// What a deployment check checks, and as whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestCheck {
    /// The deployment type.
    #[serde(rename = "type")]
    pub deployment: DeploymentType,
    /// The principal and the simulations.
    #[serde(flatten)]
    pub check: deployments::Check,
    /// Per account id, root credentials that may read its IAM.
    pub auditors: BTreeMap<String, Key>,
}

/// An access key pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    /// The key id.
    pub access_key_id: String,
    /// The secret.
    pub secret_access_key: String,
}

impl Request {
    /// The request for an operation of `scenario`.
    fn new(
        scenario: &Scenario,
        delegate: Option<&str>,
        deployment: Option<&DeploymentStep>,
    ) -> Self {
        let config = &scenario.connector;
        let test_region = config
            .test_region
            .clone()
            .unwrap_or_else(|| "us-east-1".into());
        let connectivity = match &config.connectivity {
            connector::Connectivity::Platform => RequestConnectivity::Platform,
            connector::Connectivity::Delegate { selectors } => RequestConnectivity::Delegate {
                selectors: selectors.clone(),
                delegate: delegate.map(str::to_owned),
            },
        };
        let deployment_check = deployment.map(|d| RequestCheck {
            deployment: d.deployment,
            check: d
                .deployment
                .requirement()
                .check(d.role.as_deref(), &d.resources, &test_region),
            auditors: scenario
                .world()
                .accounts
                .iter()
                .map(|a| {
                    let (access_key_id, secret_access_key) = auditor_key(&a.id);
                    (
                        a.id.clone(),
                        Key {
                            access_key_id,
                            secret_access_key,
                        },
                    )
                })
                .collect(),
        });
        Self {
            protocol: PROTOCOL.into(),
            scenario: scenario.name.clone(),
            operation: if deployment.is_some() {
                "deployment_check"
            } else {
                "connection_test"
            }
            .into(),
            connector: RequestConnector {
                credentials: config.credentials.clone(),
                cross_account: config.cross_account.clone(),
                test_region,
                connectivity,
            },
            deployment_check,
        }
    }

    /// The connector configuration it describes (for an implementation in Rust).
    pub fn connector_config(&self) -> ConnectorConfig {
        ConnectorConfig {
            credentials: self.connector.credentials.clone(),
            cross_account: self.connector.cross_account.clone(),
            test_region: Some(self.connector.test_region.clone()),
            connectivity: match &self.connector.connectivity {
                RequestConnectivity::Platform => connector::Connectivity::Platform,
                RequestConnectivity::Delegate { selectors, .. } => {
                    connector::Connectivity::Delegate {
                        selectors: selectors.clone(),
                    }
                }
            },
            clock_skew_seconds: 0,
            credentials_cache: connector::CredentialsCache::default(),
        }
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.trim().lines().collect();
    lines[lines.len().saturating_sub(5)..].join(" | ")
}

/// A fresh directory for one invocation: its home and working directory.
fn tempdir() -> std::io::Result<std::path::PathBuf> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "trustbench-connector-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
