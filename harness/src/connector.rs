//! The reference AWS connector: a model of the connector the vendor docs describe, built on
//! the real `aws-config` providers and `aws-sdk-*` clients (configured programmatically,
//! never through the process environment).
//!
//! - Credentials: an AWS access key, the delegate's role (the delegate's default chain:
//!   instance metadata, container credentials, environment), or IRSA (a web identity token
//!   file and role ARN on an EKS delegate).
//! - Optional cross-account access: an STS role ARN and external ID, around any of them.
//! - A test region (`us-east-1` unless set; GovCloud credentials need a GovCloud region).
//! - Connectivity through the platform or a delegate (chosen by selector tags); the
//!   delegate's role and IRSA need a delegate, a configuration error otherwise.
//!
//! The connection test checks the configuration, resolves credentials, assumes the
//! cross-account role if set, calls `ec2:DescribeRegions` in the test region and asks
//! `sts:GetCallerIdentity` who it is; a failure names its stage, AWS's error code and
//! message, and a hint from the docs. A later pipeline step refreshes the credentials
//! through the provider, as a long-running delegate does, or reuses a frozen copy (the
//! connector's `credentials_cache`). The deployment check asks
//! `iam:SimulatePrincipalPolicy` whether the connector's principal holds every action a
//! deployment type needs ("the connection test passes but the pipeline fails").

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use aws_config::{Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::operation::describe_regions::DescribeRegionsError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::ErrorMetadata;
use mock_server::{MockServer, Partition};
use serde::{Deserialize, Serialize};

use crate::deployments;
use crate::{errors, sdk};

/// How the connector is configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorConfig {
    /// Where credentials come from.
    pub credentials: CredentialOption,
    /// "Enable cross-account access (STS Role)".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cross_account: Option<CrossAccount>,
    /// The test region (default `us-east-1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_region: Option<String>,
    /// Through the platform (default) or through a delegate.
    #[serde(default)]
    pub connectivity: Connectivity,
    /// How far the connector's clock is ahead of the server's (negative: behind), in
    /// seconds: a delegate host with a wrong clock.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub clock_skew_seconds: i64,
    /// What a pipeline step does with the connection's credentials: `refresh` them as a
    /// long-running delegate does (default), or reuse the `frozen` ones of the connection
    /// test.
    #[serde(default, skip_serializing_if = "CredentialsCache::is_refresh")]
    pub credentials_cache: CredentialsCache,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// How a pipeline step gets its credentials after the connection test.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialsCache {
    /// Through the connection's provider and `aws-config`'s identity cache, on the
    /// connector's clock: expired (or nearly expired) credentials are resolved again: the
    /// cross-account role assumed again, the web identity token file read again.
    #[default]
    Refresh,
    /// The credentials the connection test resolved, as a step that copied them holds on to
    /// them: temporary ones stop working when their session ends.
    Frozen,
}

impl CredentialsCache {
    fn is_refresh(&self) -> bool {
        *self == Self::Refresh
    }
}

/// The three credential options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum CredentialOption {
    /// "AWS Access Key": an access key id and secret.
    AccessKey {
        /// The access key id.
        access_key_id: String,
        /// The secret access key.
        secret_access_key: String,
    },
    /// "Assume IAM Role on Delegate": whatever the delegate's default chain finds.
    DelegateRole,
    /// "Use IRSA": the delegate pod's web identity (`AWS_ROLE_ARN`,
    /// `AWS_WEB_IDENTITY_TOKEN_FILE`).
    Irsa,
}

/// Cross-account access through STS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrossAccount {
    /// The role to assume, in the target account.
    pub role_arn: String,
    /// The external ID, if the target account's administrator gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The session length asked for (default one hour).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_duration_seconds: Option<u64>,
}

/// How the connector reaches AWS.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Connectivity {
    /// "Connect through Harness Platform".
    #[default]
    Platform,
    /// "Connect through a Harness Delegate": any delegate, or one with all these tags.
    Delegate {
        /// Tags the delegate must have (none: any delegate).
        #[serde(default)]
        selectors: Vec<String>,
    },
}

/// Where a connection test (or check) failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The configuration is invalid; nothing ran.
    Configuration,
    /// The credentials could not be resolved.
    Credentials,
    /// The cross-account role could not be assumed.
    AssumeRole,
    /// `ec2:DescribeRegions` failed.
    DescribeRegions,
    /// `sts:GetCallerIdentity` (who the credentials are) failed after `DescribeRegions`.
    CallerIdentity,
    /// The deployment check could not run.
    DeploymentCheck,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Configuration => "configuration",
            Stage::Credentials => "credentials",
            Stage::AssumeRole => "assume_role",
            Stage::DescribeRegions => "describe_regions",
            Stage::CallerIdentity => "caller_identity",
            Stage::DeploymentCheck => "deployment_check",
        })
    }
}

/// A failure: its stage, AWS's error code and message, and what the docs advise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// Where it failed.
    pub stage: Stage,
    /// AWS's error code, when AWS answered with one.
    pub code: Option<String>,
    /// The error message.
    pub message: String,
    /// What to do about it.
    pub hint: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} failed ({}): {} (hint: {})",
            self.stage,
            self.code.as_deref().unwrap_or("no AWS error code"),
            self.message,
            self.hint
        )
    }
}

/// A connected connector: the credentials it ended up with and who they are.
#[derive(Debug, Clone)]
pub struct Connection {
    /// The credentials after cross-account access (the provider keeps refreshing them).
    pub provider: SharedCredentialsProvider,
    /// The credentials resolved by the connection test, frozen as a pipeline step that
    /// holds on to them would have them.
    pub resolved: Credentials,
    /// The test region.
    pub region: String,
    /// The regions `DescribeRegions` listed.
    pub regions: Vec<String>,
    /// The caller ARN of the credentials (`GetCallerIdentity`).
    pub principal: String,
    /// The SDK configuration of the connection test's final credentials: its identity
    /// cache holds them until they are due for a refresh.
    sdk: SdkConfig,
    /// The source credentials, before cross-account access.
    source: SharedCredentialsProvider,
    settings: ConnectorConfig,
    env: BTreeMap<String, String>,
    endpoint: String,
    clock: sdk::ServerTime,
}

/// What a deployment check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    /// The required actions the principal is not allowed.
    pub missing: BTreeSet<String>,
    /// For a role the docs say must trust a service: whether its trust policy does.
    pub trusted: Option<bool>,
}

/// Whether a trust policy (as IAM returns it: URL-encoded JSON) lets `service` assume the
/// role: an `Allow` statement for `sts:AssumeRole` (or a wildcard covering it) whose
/// `Service` principal names it.
pub fn trusts_service(document: &str, service: &str) -> bool {
    let text = percent_encoding::percent_decode_str(document).decode_utf8_lossy();
    let Ok(policy) = serde_json::from_str::<serde_json::Value>(&text) else {
        return false;
    };
    let statements = match &policy["Statement"] {
        serde_json::Value::Array(list) => list.clone(),
        one => vec![one.clone()],
    };
    let names = |v: &serde_json::Value, wanted: &dyn Fn(&str) -> bool| match v {
        serde_json::Value::String(s) => wanted(s),
        serde_json::Value::Array(list) => list.iter().any(|x| x.as_str().is_some_and(wanted)),
        _ => false,
    };
    let assume = mock_server::Wildcard::ignoring_case;
    statements.iter().any(|s| {
        s["Effect"] == "Allow"
            && names(&s["Principal"]["Service"], &|p| p == service)
            && names(&s["Action"], &|a| assume(a).matches("sts:AssumeRole"))
    })
}

/// Where the connector runs: the AWS endpoint it talks to, the environment of the delegate
/// its selectors chose (none: on the platform, or no delegate matched), and its clock.
#[derive(Debug, Clone)]
pub struct Place {
    /// The AWS endpoint (`http://127.0.0.1:PORT`).
    pub endpoint: String,
    /// The chosen delegate's environment.
    pub delegate: Option<BTreeMap<String, String>>,
    /// The connector host's time.
    pub time: sdk::ServerTime,
}

impl Place {
    /// Where `config` puts the connector on `server`: the first delegate with all its
    /// selector tags, on the server clock plus the configured skew.
    pub fn on(server: &MockServer, config: &ConnectorConfig) -> Self {
        Self::on_delegate(server, config, chosen_delegate(server, config))
    }

    /// The connector on `delegate` (none: on the platform, or no delegate matched).
    pub fn on_delegate(
        server: &MockServer,
        config: &ConnectorConfig,
        delegate: Option<mock_server::Delegate>,
    ) -> Self {
        Self {
            endpoint: server.endpoint(),
            delegate: delegate.map(|d| d.env),
            time: sdk::ServerTime::skewed(server.clock(), config.clock_skew_seconds),
        }
    }
}

/// Every delegate with all the connector's selector tags on `server`, in the world's order
/// (none through the platform; no selectors: every delegate, "any available delegate").
pub fn matching_delegates(
    server: &MockServer,
    config: &ConnectorConfig,
) -> Vec<mock_server::Delegate> {
    match &config.connectivity {
        Connectivity::Platform => Vec::new(),
        Connectivity::Delegate { selectors } => server
            .delegates()
            .into_iter()
            .filter(|d| selectors.iter().all(|s| d.tags.contains(s)))
            .collect(),
    }
}

/// The delegate the connector's selectors choose on `server`, when it connects through one:
/// the first that matches.
pub fn chosen_delegate(
    server: &MockServer,
    config: &ConnectorConfig,
) -> Option<mock_server::Delegate> {
    matching_delegates(server, config).into_iter().next()
}

/// The connection test: configuration, credentials, cross-account role, DescribeRegions,
/// GetCallerIdentity.
pub async fn connection_test(
    place: &Place,
    config: &ConnectorConfig,
) -> Result<Connection, Failure> {
    let region = config
        .test_region
        .clone()
        .unwrap_or_else(|| "us-east-1".into());
    let env = environment(place, config)?;
    let clock = place.time.clone();
    let base = base_config(&place.endpoint, &env, &region, &clock).await;
    // Each provider is asked once here; what it answered is the connection's `resolved`.
    let (source, source_resolved) = source_credentials(config, &base, &env).await?;
    let (provider, resolved) = match &config.cross_account {
        None => (source.clone(), source_resolved),
        Some(cross) => assume(&base, source.clone(), cross, &region).await?,
    };
    let final_config = with_credentials(&base, provider.clone());
    let regions = describe_regions(&final_config)
        .await
        .map_err(|e| describe_regions_failure(&e, &region))?;
    let principal = aws_sdk_sts::Client::new(&final_config)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| {
            let code = e.code().map(str::to_owned);
            Failure {
                stage: Stage::CallerIdentity,
                hint: caller_identity_hint(code.as_deref()),
                message: e.message().map_or_else(|| error_text(&e), str::to_owned),
                code,
            }
        })?
        .arn()
        .unwrap_or_default()
        .to_owned();
    Ok(Connection {
        provider,
        resolved,
        region,
        regions,
        principal,
        sdk: final_config,
        source,
        settings: config.clone(),
        env,
        endpoint: place.endpoint.clone(),
        clock,
    })
}

/// `ec2:DescribeRegions` with `config`: the region names it lists.
async fn describe_regions(
    config: &SdkConfig,
) -> Result<Vec<String>, SdkError<DescribeRegionsError, HttpResponse>> {
    let out = aws_sdk_ec2::Client::new(config)
        .describe_regions()
        .send()
        .await?;
    Ok(out
        .regions()
        .iter()
        .filter_map(|r| r.region_name().map(str::to_owned))
        .collect())
}

fn describe_regions_failure(
    e: &SdkError<DescribeRegionsError, HttpResponse>,
    region: &str,
) -> Failure {
    let code = e.code().map(str::to_owned);
    let message = e.message().map_or_else(|| error_text(e), str::to_owned);
    Failure {
        stage: Stage::DescribeRegions,
        hint: if unreachable(e) {
            unreachable_hint("EC2")
        } else {
            scp_hint(&message).unwrap_or_else(|| describe_regions_hint(code.as_deref(), region))
        },
        message,
        code,
    }
}

impl Connection {
    /// A pipeline step: `DescribeRegions`, now, with the connection's credentials as the
    /// connector's `credentials_cache` keeps them: refreshed through the provider when due,
    /// or the frozen ones of the connection test.
    pub async fn pipeline_step(&self) -> Result<Vec<String>, Failure> {
        let config = match self.settings.credentials_cache {
            CredentialsCache::Refresh => self.sdk.clone(),
            CredentialsCache::Frozen => sdk::sdk_config_at(
                &self.endpoint,
                self.resolved.clone(),
                &self.region,
                self.clock.clone(),
            ),
        };
        match describe_regions(&config).await {
            Ok(regions) => Ok(regions),
            Err(e) => match errors::find::<CredentialsError>(&e) {
                Some(refresh) => Err(self.refresh_failure(refresh).await),
                None => Err(describe_regions_failure(&e, &self.region)),
            },
        }
    }

    /// Why refreshing the credentials failed: at the credentials stage when the source
    /// credentials cannot be resolved again, at the cross-account role otherwise.
    async fn refresh_failure(&self, e: &CredentialsError) -> Failure {
        let source_error = match &self.settings.cross_account {
            None => None,
            Some(cross) => match self.source.provide_credentials().await {
                Err(source_error) => Some(source_error),
                Ok(_) => {
                    let (code, message) = code_and_message(e);
                    return Failure {
                        stage: Stage::AssumeRole,
                        hint: assume_role_hint(code.as_deref(), cross),
                        message,
                        code,
                    };
                }
            },
        };
        credentials_failure(
            &self.settings,
            &self.env,
            Stage::Credentials,
            source_error.as_ref().unwrap_or(e),
        )
    }

    /// The deployment check: what `check`'s principal (the connector's, or a role of its
    /// account) lacks, asked of `iam:SimulatePrincipalPolicy` by `auditor` (credentials that
    /// may read IAM in the principal's account), and, for a role that must trust a service,
    /// whether its trust policy does.
    pub async fn check_deployment(
        &self,
        check: &deployments::Check,
        auditor: Credentials,
    ) -> Result<Verdict, Failure> {
        let config = sdk::sdk_config_at(&self.endpoint, auditor, &self.region, self.clock.clone());
        let iam = aws_sdk_iam::Client::new(&config);
        let fail = |code: Option<&str>, message: String| Failure {
            stage: Stage::DeploymentCheck,
            code: code.map(str::to_owned),
            message,
            hint: "the deployment check reads IAM with the account's root credentials".into(),
        };
        let (source, trusted) = match &check.role {
            None => (
                principal_arn(&iam, &self.principal)
                    .await
                    .map_err(|(code, message)| fail(code.as_deref(), message))?,
                None,
            ),
            Some(name) => {
                let out = iam
                    .get_role()
                    .role_name(name)
                    .send()
                    .await
                    .map_err(|e| fail(e.code(), error_text(&e)))?;
                let role = out.role();
                let trusted = check.trusts.as_deref().map(|service| {
                    role.and_then(|r| r.assume_role_policy_document())
                        .is_some_and(|doc| trusts_service(doc, service))
                });
                (
                    role.map(|r| r.arn().to_owned()).unwrap_or_default(),
                    trusted,
                )
            }
        };
        let account = source.split(':').nth(4).unwrap_or_default();
        let mut missing = BTreeSet::new();
        for simulation in &check.simulations {
            let resources = (simulation.resource_arns != ["*"]).then(|| {
                simulation
                    .resource_arns
                    .iter()
                    .map(|arn| arn.replace(deployments::ACCOUNT, account))
                    .collect()
            });
            let mut results = iam
                .simulate_principal_policy()
                .policy_source_arn(&source)
                .set_action_names(Some(simulation.actions.clone()))
                .set_resource_arns(resources)
                .max_items(1000)
                .into_paginator()
                .items()
                .send();
            while let Some(result) = results.next().await {
                let result = result.map_err(|e| fail(e.code(), error_text(&e)))?;
                if result.eval_decision().as_str() != "allowed" {
                    missing.insert(result.eval_action_name().to_owned());
                }
            }
        }
        Ok(Verdict { missing, trusted })
    }

    /// Asks EC2 whether the connection's credentials may launch `instance_type` instances
    /// of `image` (with `instance_profile`'s role): `RunInstances` with `DryRun`. `Ok` when
    /// EC2 answers `DryRunOperation`; otherwise EC2's code and message.
    pub async fn launch_dry_run(
        &self,
        image: &str,
        instance_type: &str,
        instance_profile: Option<&str>,
    ) -> Result<(), (String, String)> {
        let config = sdk::sdk_config_at(
            &self.endpoint,
            self.resolved.clone(),
            &self.region,
            self.clock.clone(),
        );
        let profile = instance_profile.map(|name| {
            aws_sdk_ec2::types::IamInstanceProfileSpecification::builder()
                .name(name)
                .build()
        });
        let answer = aws_sdk_ec2::Client::new(&config)
            .run_instances()
            .image_id(image)
            .instance_type(instance_type.into())
            .min_count(1)
            .max_count(1)
            .set_iam_instance_profile(profile)
            .dry_run(true)
            .send()
            .await;
        match answer {
            Err(e) if e.code() == Some("DryRunOperation") => Ok(()),
            Err(e) => Err((
                e.code().unwrap_or("none").to_owned(),
                e.message().map_or_else(|| error_text(&e), str::to_owned),
            )),
            Ok(_) => Err((
                "none".into(),
                "EC2 launched instances despite DryRun".into(),
            )),
        }
    }

    /// The IAM action an EC2 "Encoded authorization failure message" names, decoded by
    /// `auditor` (credentials allowed `sts:DecodeAuthorizationMessage`).
    pub async fn denied_action(&self, auditor: Credentials, message: &str) -> Option<String> {
        let blob = message
            .split("Encoded authorization failure message: ")
            .nth(1)?;
        let config = sdk::sdk_config_at(&self.endpoint, auditor, &self.region, self.clock.clone());
        let decoded = aws_sdk_sts::Client::new(&config)
            .decode_authorization_message()
            .encoded_message(blob.trim())
            .send()
            .await
            .ok()?;
        let json: serde_json::Value = serde_json::from_str(decoded.decoded_message()?).ok()?;
        json["context"]["action"].as_str().map(str::to_owned)
    }
}

/// A pipeline "Run" step's script on a delegate (its environment `env`): the delegate's
/// default credentials chain, the role `role_arn` assumed with them if given, then `call`.
/// Errors are AWS's code (`none` when AWS never answered) and message.
pub async fn run_script(
    env: &BTreeMap<String, String>,
    time: sdk::ServerTime,
    role_arn: Option<&str>,
    call: crate::scenario::RunCall,
) -> Result<(), (String, String)> {
    use crate::scenario::RunCall;
    let fail = |code: Option<&str>, message: String| (code.unwrap_or("none").to_owned(), message);
    let mut config = sdk::delegate_config(env, time).await;
    if let Some(role) = role_arn {
        let provider = aws_config::sts::AssumeRoleProvider::builder(role)
            .session_name("trustbench-run-step")
            .configure(&config)
            .build()
            .await;
        config = with_credentials(&config, SharedCredentialsProvider::new(provider));
    }
    match call {
        RunCall::DescribeInstances => aws_sdk_ec2::Client::new(&config)
            .describe_instances()
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail(e.code(), error_text(&e))),
        RunCall::DescribeRegions => aws_sdk_ec2::Client::new(&config)
            .describe_regions()
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail(e.code(), error_text(&e))),
        RunCall::GetCallerIdentity => aws_sdk_sts::Client::new(&config)
            .get_caller_identity()
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail(e.code(), error_text(&e))),
    }
}

/// The IAM ARN behind a caller ARN: a user's own, or the role of an assumed-role session
/// (with its path, from `GetRole`).
async fn principal_arn(
    iam: &aws_sdk_iam::Client,
    caller: &str,
) -> Result<String, (Option<String>, String)> {
    let Some(rest) = caller.split_once(":assumed-role/").map(|(_, r)| r) else {
        return Ok(caller.to_owned());
    };
    let role = rest.split('/').next().unwrap_or_default();
    iam.get_role()
        .role_name(role)
        .send()
        .await
        .map_err(|e| (e.code().map(str::to_owned), error_text(&e)))
        .map(|out| out.role().map(|r| r.arn().to_owned()).unwrap_or_default())
}

/// The environment the connector runs in: none on the platform; the chosen delegate's
/// otherwise. Fails on the configuration errors the docs name.
fn environment(
    place: &Place,
    config: &ConnectorConfig,
) -> Result<BTreeMap<String, String>, Failure> {
    let configuration = |message: String, hint: &str| Failure {
        stage: Stage::Configuration,
        code: None,
        message,
        hint: hint.to_owned(),
    };
    let region = config.test_region.as_deref().unwrap_or("us-east-1");
    if Partition::of_region(region).is_none() {
        return Err(configuration(
            format!("unknown test region {region}"),
            "choose a region of the credentials' partition (us-east-1 by default; a GovCloud region for GovCloud credentials)",
        ));
    }
    if let Some(failure) = partition_mismatch(config, region) {
        return Err(failure);
    }
    match (&config.connectivity, &place.delegate) {
        (Connectivity::Platform, _) => match config.credentials {
            CredentialOption::AccessKey { .. } => Ok(BTreeMap::new()),
            CredentialOption::DelegateRole | CredentialOption::Irsa => Err(configuration(
                "the delegate's role and IRSA take credentials from a delegate, but the connector connects through the platform".into(),
                "choose \"Connect through a Harness Delegate\": it is required with Use IRSA and Assume IAM Role on Delegate",
            )),
        },
        (Connectivity::Delegate { .. }, Some(env)) => Ok(env.clone()),
        (Connectivity::Delegate { selectors }, None) => Err(configuration(
            format!("no delegate has all the tags {selectors:?}"),
            "install a delegate with these tags, or change the connector's delegate selectors",
        )),
    }
}

/// A cross-account Role ARN of another partition than the test region's: AWS GovCloud is
/// reached with GovCloud credentials only, and standard regions with standard ones (the
/// docs' GovCloud restrictions), so no session of that role can work there.
fn partition_mismatch(config: &ConnectorConfig, region: &str) -> Option<Failure> {
    let arn = &config.cross_account.as_ref()?.role_arn;
    let role = arn
        .strip_prefix("arn:")
        .and_then(|rest| rest.split(':').next())
        .and_then(Partition::from_id)?;
    let test = Partition::of_region(region)?;
    (role != test).then(|| Failure {
        stage: Stage::Configuration,
        code: None,
        message: format!(
            "the Role ARN {arn} is in partition {role}, the test region {region} in {test}"
        ),
        hint: "the Role ARN's partition must match the test region's: a GovCloud role (arn:aws-us-gov:) needs a GovCloud test region (Override Default Region) and GovCloud credentials, a standard role (arn:aws:) a standard region; GovCloud cannot be reached with standard AWS credentials, nor standard regions with GovCloud credentials".into(),
    })
}

/// The SDK configuration of the connector's process: the delegate's environment (or, on
/// the platform, just the server's endpoint), in the test region.
async fn base_config(
    endpoint: &str,
    env: &BTreeMap<String, String>,
    region: &str,
    time: &sdk::ServerTime,
) -> SdkConfig {
    let mut env = env.clone();
    if env.is_empty() {
        env.insert("AWS_ENDPOINT_URL".into(), endpoint.to_owned());
        env.insert("AWS_EC2_METADATA_DISABLED".into(), "true".into());
    }
    sdk::delegate_config(&env, time.clone())
        .await
        .into_builder()
        .region(Region::new(region.to_owned()))
        .build()
}

fn with_credentials(base: &SdkConfig, provider: SharedCredentialsProvider) -> SdkConfig {
    base.clone()
        .into_builder()
        .credentials_provider(provider)
        .build()
}

/// The source credentials of the chosen option, resolved once so that a failure is
/// reported at the credentials stage.
async fn source_credentials(
    config: &ConnectorConfig,
    base: &SdkConfig,
    env: &BTreeMap<String, String>,
) -> Result<(SharedCredentialsProvider, Credentials), Failure> {
    let provider = match &config.credentials {
        CredentialOption::AccessKey {
            access_key_id,
            secret_access_key,
        } => {
            let key = sdk::access_key(access_key_id, secret_access_key);
            return Ok((SharedCredentialsProvider::new(key.clone()), key));
        }
        CredentialOption::Irsa
            if !(env.contains_key("AWS_ROLE_ARN")
                && env.contains_key("AWS_WEB_IDENTITY_TOKEN_FILE")) =>
        {
            return Err(Failure {
                stage: Stage::Credentials,
                code: None,
                message: "the delegate has no web identity: AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE are not set".into(),
                hint: "the delegate still uses a service account without an IAM role (the `default` one): create a service account with the role (eksctl create iamserviceaccount), and set it in the delegate YAML's ClusterRoleBinding subject and serviceAccountName".into(),
            });
        }
        CredentialOption::DelegateRole | CredentialOption::Irsa => {
            base.credentials_provider().ok_or_else(|| Failure {
                stage: Stage::Credentials,
                code: None,
                message: "the delegate's environment offers no credentials provider".into(),
                hint: "give the delegate an IAM role".into(),
            })?
        }
    };
    let resolved = provider
        .provide_credentials()
        .await
        .map_err(|e| credentials_failure(config, env, Stage::Credentials, &e))?;
    Ok((provider, resolved))
}

/// The cross-account role's credentials, through `aws-config`'s `AssumeRoleProvider`.
async fn assume(
    base: &SdkConfig,
    source: SharedCredentialsProvider,
    cross: &CrossAccount,
    region: &str,
) -> Result<(SharedCredentialsProvider, Credentials), Failure> {
    let mut builder = aws_config::sts::AssumeRoleProvider::builder(&cross.role_arn)
        .session_name("trustbench-connector")
        .region(Region::new(region.to_owned()));
    if let Some(id) = &cross.external_id {
        builder = builder.external_id(id);
    }
    if let Some(seconds) = cross.session_duration_seconds {
        builder = builder.session_length(Duration::from_secs(seconds));
    }
    let provider = builder
        .configure(&with_credentials(base, source))
        .build()
        .await;
    let provider = SharedCredentialsProvider::new(provider);
    match provider.provide_credentials().await {
        Ok(resolved) => Ok((provider, resolved)),
        Err(e) => {
            let (code, message) = code_and_message(&e);
            Err(Failure {
                stage: Stage::AssumeRole,
                hint: if unreachable(&e) {
                    unreachable_hint("STS")
                } else {
                    assume_role_hint(code.as_deref(), cross)
                },
                message,
                code,
            })
        }
    }
}

fn credentials_failure(
    config: &ConnectorConfig,
    env: &BTreeMap<String, String>,
    stage: Stage,
    e: &CredentialsError,
) -> Failure {
    let (code, message) = code_and_message(e);
    let failure = DelegateSource::of(env).and_then(|source| source.failure(e));
    Failure {
        stage,
        hint: credentials_hint(&config.credentials, code.as_deref(), &message, failure),
        code,
        message,
    }
}

/// The provider of `aws-config`'s default chain that a delegate's environment selects. The
/// chain tries, in order, environment keys, the profile, a web identity, container
/// credentials and instance metadata (`aws-config`'s `default_provider/credentials.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DelegateSource {
    WebIdentity,
    Container,
    InstanceMetadata,
}

/// How a delegate's provider failed without an AWS error code. `aws-config` names these
/// cases only in prose, so they are read from the error's variant and types instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProviderFailure {
    /// IMDS refused the role's credentials as misconfigured: its provider reports only
    /// IMDS's `AssumeRoleUnauthorizedAccess` (the role does not trust EC2) as invalid
    /// configuration (`aws-config`'s `imds/credentials.rs`).
    InstanceRoleUntrusted,
    /// IMDS answered but offered no credentials: a 404 for the role list, as the instance
    /// has no instance profile (a connection failure leaves a `ConnectorError` in the chain).
    NoInstanceRole,
    /// IMDS answered 401 (IMDSv2 tokens required).
    ImdsUnauthorized,
    /// The container credentials endpoint answered with an error.
    ContainerEndpoint,
    /// Instance metadata did not answer in time (the client timed out), as the IMDSv2 token
    /// request from a container beyond the instance's `HttpPutResponseHopLimit`.
    ImdsTimeout,
    /// STS could not be reached for the web identity (no AWS answer: a network failure).
    StsUnreachable,
}

impl DelegateSource {
    /// The source `env` selects; `None` for the platform (an empty environment), for
    /// environment keys and for disabled instance metadata.
    fn of(env: &BTreeMap<String, String>) -> Option<Self> {
        let set = |key: &str| env.contains_key(key);
        if env.is_empty()
            || set("AWS_ACCESS_KEY_ID")
            || env.get("AWS_EC2_METADATA_DISABLED").map(String::as_str) == Some("true")
        {
            None
        } else if set("AWS_WEB_IDENTITY_TOKEN_FILE") && set("AWS_ROLE_ARN") {
            Some(Self::WebIdentity)
        } else if set("AWS_CONTAINER_CREDENTIALS_FULL_URI")
            || set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        {
            Some(Self::Container)
        } else {
            Some(Self::InstanceMetadata)
        }
    }

    /// How this source failed with `e`, when the docs have a hint for it.
    fn failure(self, e: &CredentialsError) -> Option<ProviderFailure> {
        use aws_config::imds::client::error::ImdsError;
        use aws_smithy_runtime_api::client::result::ConnectorError;
        let imds_status = match errors::find::<ImdsError>(e) {
            Some(ImdsError::ErrorResponse(r)) => Some(r.response().status().as_u16()),
            _ => None,
        };
        // `aws-config` reports a token request that timed out as the metadata request's
        // dispatch failure: a timeout is all there is to read.
        let timed_out = errors::find::<ConnectorError>(e).is_some_and(ConnectorError::is_timeout);
        match (self, e) {
            (Self::InstanceMetadata, _) if timed_out => Some(ProviderFailure::ImdsTimeout),
            (Self::WebIdentity, _) if unreachable(e) => Some(ProviderFailure::StsUnreachable),
            (Self::InstanceMetadata, _) if imds_status == Some(401) => {
                Some(ProviderFailure::ImdsUnauthorized)
            }
            (Self::InstanceMetadata, CredentialsError::InvalidConfiguration(_)) => {
                Some(ProviderFailure::InstanceRoleUntrusted)
            }
            (Self::InstanceMetadata, CredentialsError::CredentialsNotLoaded(_))
                if errors::find::<ConnectorError>(e).is_none() =>
            {
                Some(ProviderFailure::NoInstanceRole)
            }
            (Self::Container, CredentialsError::ProviderError(_)) => {
                Some(ProviderFailure::ContainerEndpoint)
            }
            _ => None,
        }
    }
}

fn credentials_hint(
    option: &CredentialOption,
    code: Option<&str>,
    message: &str,
    failure: Option<ProviderFailure>,
) -> String {
    // STS answers InvalidIdentityToken both for an unknown issuer and for a wrong audience;
    // only its message (AWS's own words, from the error metadata) tells them apart.
    let hint = match (option, code, failure) {
        (_, Some("AccessDenied"), _) => {
            "the role's trust policy does not trust this service account: check its `sub` condition (system:serviceaccount:NAMESPACE:NAME) and that the delegate runs with that service account, not `default`"
        }
        (_, Some("InvalidIdentityToken"), _) if message.contains("OpenIDConnect provider") => {
            "create the IAM OIDC identity provider for the cluster's issuer in the role's account"
        }
        (_, Some("InvalidIdentityToken"), _) if message.contains("audience") => {
            "the IAM OIDC provider's audiences must include the token's (sts.amazonaws.com)"
        }
        (_, Some("ExpiredTokenException"), _) => {
            "the service-account token expired: the kubelet must keep rotating the pod's projected token file (it rewrites it after 80 % of its lifetime); a token that is not rotated, or a copy of it, stops working"
        }
        (_, Some("InvalidIdentityToken"), _) => {
            "the service-account token is invalid: check the pod's projected token"
        }
        (_, _, Some(ProviderFailure::InstanceRoleUntrusted)) => {
            "the delegate's instance role must trust ec2.amazonaws.com (its trust policy)"
        }
        (_, _, Some(ProviderFailure::NoInstanceRole)) => {
            "the delegate's instance has no IAM role: attach an instance profile to it"
        }
        (_, _, Some(ProviderFailure::ImdsUnauthorized)) => {
            "the instance requires IMDSv2 tokens: use a client that fetches a token first"
        }
        (_, _, Some(ProviderFailure::ImdsTimeout)) => {
            "instance metadata did not answer in time: from a container (an EKS pod without IRSA, a Docker container on the instance) the token's response travels one hop more than EC2's default HttpPutResponseHopLimit of 1 allows; use IRSA for the pod, or set the instance's hop limit to 2 (ModifyInstanceMetadataOptions); otherwise instance metadata is slow or down"
        }
        (_, _, Some(ProviderFailure::StsUnreachable)) => {
            return unreachable_hint("STS");
        }
        (_, _, Some(ProviderFailure::ContainerEndpoint)) => {
            "the ECS task has no usable role: check the task role, its trust policy (ecs-tasks.amazonaws.com) and the container's authorization token"
        }
        (CredentialOption::DelegateRole, _, _) => {
            "the delegate offers no credentials: give its host (instance profile, task role or IRSA) an IAM role"
        }
        _ => "check the credentials with the AWS CLI or the IAM policy simulator",
    };
    hint.to_owned()
}

/// Whether `e` is a network failure: the request never got an answer (connection refused,
/// reset or timed out), so AWS gave no error code.
fn unreachable(e: &(dyn std::error::Error + 'static)) -> bool {
    use aws_smithy_runtime_api::client::result::ConnectorError;
    errors::aws_error(e).is_none()
        && errors::find::<ConnectorError>(e).is_some_and(|c| c.is_io() || c.is_timeout())
}

fn unreachable_hint(service: &str) -> String {
    format!(
        "the delegate could not reach the {service} endpoint (connection refused or timed out): a network failure, not an authentication failure; check the delegate's network route, firewall, proxy or VPC endpoint to {service}"
    )
}

fn assume_role_hint(code: Option<&str>, cross: &CrossAccount) -> String {
    match code {
        Some("AccessDenied") => format!(
            "the role's trust policy must trust the connector's account (or principal){}; changes can take up to 5 minutes to take effect",
            if cross.external_id.is_some() {
                ", and its sts:ExternalId condition must match the External ID exactly"
            } else {
                "; if the role's administrator gave you an External ID, enter it"
            }
        ),
        Some("ValidationError") => {
            "check the Role ARN and the session length (role chaining allows at most one hour)"
                .into()
        }
        Some("InvalidClientTokenId" | "SignatureDoesNotMatch") => {
            "the source credentials are invalid, inactive or not yet propagated (up to 5 minutes)"
                .into()
        }
        Some("ExpiredToken" | "RequestExpired") => {
            "the source credentials or the connector's clock are out of date".into()
        }
        _ => "check the Role ARN and the source credentials".into(),
    }
}

/// When AWS says a service control policy refused the call: no change to the connector's
/// own policies fixes that.
fn scp_hint(message: &str) -> Option<String> {
    message.contains("service control policy").then(|| {
        "a service control policy (SCP) of the account's AWS Organizations organization refuses this call (a region allow-list, a denied action): no policy of the connector's principal can allow it; ask the organization's administrator to change the SCP, or use a test region and actions it allows".to_owned()
    })
}

fn describe_regions_hint(code: Option<&str>, region: &str) -> String {
    let govcloud = region.starts_with("us-gov-");
    // AWS answers a call in an opt-in region the account has not enabled exactly as one with
    // unknown credentials (EC2: 401 `AuthFailure`, STS: 403 `InvalidClientTokenId`).
    let opt_in =
        mock_server::Region::find(region).is_some_and(|r| r.opt_in == mock_server::OptIn::Required);
    match code {
        Some("UnauthorizedOperation") => "add ec2:DescribeRegions to a policy of the connector's principal: it is required for all AWS connectors; policy changes can take up to 5 minutes to take effect".into(),
        Some("AuthFailure" | "InvalidClientTokenId") if govcloud => "standard AWS credentials cannot reach GovCloud regions: use GovCloud credentials, or a standard test region".into(),
        Some("AuthFailure" | "InvalidClientTokenId") if opt_in => format!("{region} is an opt-in region: if the account has not enabled it, AWS refuses the credentials there as unknown (AuthFailure); enable the region for the account, or choose a test region enabled by default such as us-east-1"),
        Some("AuthFailure" | "InvalidClientTokenId") => "the credentials are not valid in the test region: GovCloud credentials need a GovCloud test region (us-gov-west-1 or us-gov-east-1); otherwise the access key is wrong, inactive, or not yet propagated (up to 5 minutes)".into(),
        Some("RequestExpired" | "SignatureDoesNotMatch") => "the signature time is over 15 minutes from AWS's, or the temporary credentials expired: fix the delegate host's clock, or resolve the credentials again (a provider refreshes them; a copy does not)".into(),
        Some("RequestLimitExceeded" | "Throttling") => "AWS throttled DescribeRegions beyond the SDK's retries: retry later".into(),
        Some("OptInRequired") => "the test region is not enabled for the account: enable it or choose another".into(),
        Some("ExpiredToken" | "ExpiredTokenException") => "the temporary credentials expired: resolve them again (a provider refreshes them; a copy does not)".into(),
        _ => "check the credentials and the test region".into(),
    }
}

fn caller_identity_hint(code: Option<&str>) -> String {
    match code {
        Some("Throttling") => "AWS throttled sts:GetCallerIdentity beyond the SDK's retries (STS limits calls per account and region): retry later".into(),
        Some("InternalFailure" | "ServiceUnavailable") => "STS failed or was unavailable beyond the SDK's retries: retry later".into(),
        _ => "sts:GetCallerIdentity needs no permission and no policy can deny it: after DescribeRegions passed, either STS is unreachable in the test region or the credentials stopped working between the calls".into(),
    }
}

/// AWS's error code and message from an error's chain (see [`errors::aws_error`]); without
/// a message, the whole chain as text.
fn code_and_message(e: &(dyn std::error::Error + 'static)) -> (Option<String>, String) {
    let meta = errors::aws_error(e);
    (
        meta.and_then(ErrorMetadata::code).map(str::to_owned),
        meta.and_then(ErrorMetadata::message)
            .map_or_else(|| error_text(e), str::to_owned),
    )
}

/// An error and its sources, as one line.
fn error_text(e: &(dyn std::error::Error + 'static)) -> String {
    aws_smithy_types::error::display::DisplayErrorContext(e).to_string()
}

#[cfg(test)]
mod tests {
    use aws_smithy_runtime_api::client::result::ConnectorError;

    use super::*;

    fn env(keys: &[(&str, &str)]) -> BTreeMap<String, String> {
        keys.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn ec2() -> BTreeMap<String, String> {
        env(&[("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1")])
    }

    fn ecs() -> BTreeMap<String, String> {
        env(&[(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "http://127.0.0.1:2/creds",
        )])
    }

    fn failure(env: &BTreeMap<String, String>, e: &CredentialsError) -> Option<ProviderFailure> {
        DelegateSource::of(env).and_then(|source| source.failure(e))
    }

    fn with_role(role_arn: &str, test_region: Option<&str>) -> ConnectorConfig {
        ConnectorConfig {
            credentials: CredentialOption::DelegateRole,
            cross_account: Some(CrossAccount {
                role_arn: role_arn.into(),
                external_id: None,
                session_duration_seconds: None,
            }),
            test_region: test_region.map(str::to_owned),
            connectivity: Connectivity::Platform,
            clock_skew_seconds: 0,
            credentials_cache: CredentialsCache::Refresh,
        }
    }

    #[test]
    fn a_role_arn_of_another_partition_than_the_test_region_is_a_configuration_error() {
        let gov_role = with_role("arn:aws-us-gov:iam::444444444444:role/r", None);
        let standard_role = with_role("arn:aws:iam::222222222222:role/r", Some("us-gov-west-1"));

        for (config, region) in [(gov_role, "us-east-1"), (standard_role, "us-gov-west-1")] {
            let failure = partition_mismatch(&config, region);
            assert_eq!(
                failure.as_ref().map(|f| f.stage),
                Some(Stage::Configuration)
            );
            assert_eq!(failure.and_then(|f| f.code), None);
        }
    }

    #[test]
    fn a_role_arn_of_the_test_region_s_partition_or_of_no_known_partition_passes_the_check() {
        let same = with_role("arn:aws-us-gov:iam::444444444444:role/r", None);
        let malformed = with_role("deploy", None);
        let unknown = with_role("arn:aws-iso:iam::444444444444:role/r", None);

        assert_eq!(partition_mismatch(&same, "us-gov-east-1"), None);
        assert_eq!(partition_mismatch(&malformed, "us-east-1"), None);
        assert_eq!(partition_mismatch(&unknown, "us-east-1"), None);
    }

    #[test]
    fn the_credentials_cache_refreshes_unless_frozen_and_is_named_in_snake_case() {
        let config: ConnectorConfig =
            serde_json::from_str(r#"{"credentials": "irsa"}"#).unwrap_or_else(|e| panic!("{e}"));
        let frozen: ConnectorConfig =
            serde_json::from_str(r#"{"credentials": "irsa", "credentials_cache": "frozen"}"#)
                .unwrap_or_else(|e| panic!("{e}"));

        assert_eq!(config.credentials_cache, CredentialsCache::Refresh);
        assert_eq!(frozen.credentials_cache, CredentialsCache::Frozen);
        assert!(
            !serde_json::to_string(&config)
                .unwrap_or_default()
                .contains("credentials_cache")
        );
    }

    #[test]
    fn the_platform_and_disabled_metadata_select_no_delegate_source() {
        let disabled = env(&[("AWS_EC2_METADATA_DISABLED", "true")]);

        assert_eq!(DelegateSource::of(&BTreeMap::new()), None);
        assert_eq!(DelegateSource::of(&disabled), None);
        assert_eq!(
            DelegateSource::of(&ec2()),
            Some(DelegateSource::InstanceMetadata)
        );
    }

    #[test]
    fn invalid_configuration_from_instance_metadata_is_an_untrusting_role() {
        let e = CredentialsError::invalid_configuration("from IMDS");

        assert_eq!(
            failure(&ec2(), &e),
            Some(ProviderFailure::InstanceRoleUntrusted)
        );
    }

    #[test]
    fn instance_metadata_that_answered_without_credentials_means_no_instance_profile() {
        let e = CredentialsError::not_loaded("x");

        assert_eq!(failure(&ec2(), &e), Some(ProviderFailure::NoInstanceRole));
    }

    #[test]
    fn instance_metadata_that_could_not_be_reached_is_not_a_missing_profile() {
        let e = CredentialsError::not_loaded(ConnectorError::io("connection reset".into()));

        assert_eq!(failure(&ec2(), &e), None);
    }

    #[test]
    fn a_container_endpoint_error_is_the_ecs_task_s() {
        let e = CredentialsError::provider_error("503");

        assert_eq!(
            failure(&ecs(), &e),
            Some(ProviderFailure::ContainerEndpoint)
        );
        assert_eq!(failure(&ec2(), &e), None);
    }
}
