//! The built-in checks `trustbench run` plays against an embedded server until the scenario
//! catalogue takes over: each default identity resolves itself and lists its partition's
//! regions with the real STS and EC2 clients, and the partition and signature failures are
//! refused with AWS's codes.

use std::fmt;

use aws_sdk_ec2::error::ProvideErrorMetadata;
use mock_server::{DEFAULT_IDENTITIES, DefaultIdentity, MockServer, Partition};

use crate::sdk::{access_key, config_for, sdk_config};

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// What was checked.
    pub name: String,
    /// `Ok(detail)` or `Err(what differed)`.
    pub outcome: Result<String, String>,
}

impl fmt::Display for CheckResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Ok(detail) => write!(f, "PASS {}: {detail}", self.name),
            Err(why) => write!(f, "FAIL {}: {why}", self.name),
        }
    }
}

/// Runs every check against `server` (which must serve the default world).
pub async fn run_checks(server: &MockServer) -> Vec<CheckResult> {
    let mut results = Vec::new();
    for identity in &DEFAULT_IDENTITIES {
        let region = partition_of(identity).default_region();
        results.push(caller_identity(server, identity, region).await);
        results.push(describe_regions(server, identity, region).await);
    }
    let gov = &DEFAULT_IDENTITIES[2];
    let std = &DEFAULT_IDENTITIES[0];
    results.push(
        expect_sts_error(
            "GovCloud key against us-east-1 STS",
            config_for(server, gov, "us-east-1"),
            "InvalidClientTokenId",
        )
        .await,
    );
    results.push(
        expect_ec2_error(
            "standard key against us-gov-west-1 EC2",
            config_for(server, std, "us-gov-west-1"),
            "AuthFailure",
        )
        .await,
    );
    let wrong_secret = sdk_config(
        &server.endpoint(),
        access_key(std.access_key_id, "not-the-secret"),
        "us-east-1",
        server.clock(),
    );
    results.push(expect_sts_error("wrong secret", wrong_secret, "SignatureDoesNotMatch").await);
    results
}

fn partition_of(identity: &DefaultIdentity) -> Partition {
    Partition::from_id(identity.partition).unwrap_or(Partition::Aws)
}

async fn caller_identity(
    server: &MockServer,
    identity: &DefaultIdentity,
    region: &str,
) -> CheckResult {
    let name = format!("sts:GetCallerIdentity as {} in {region}", identity.arn());
    let sts = aws_sdk_sts::Client::new(&config_for(server, identity, region));
    let outcome = match sts.get_caller_identity().send().await {
        Ok(out)
            if out.arn() == Some(identity.arn().as_str())
                && out.account() == Some(identity.account) =>
        {
            Ok(format!(
                "{} {}",
                out.arn().unwrap_or_default(),
                out.user_id().unwrap_or_default()
            ))
        }
        Ok(out) => Err(format!(
            "unexpected identity {:?} / {:?}",
            out.arn(),
            out.account()
        )),
        Err(e) => Err(describe(&e)),
    };
    CheckResult { name, outcome }
}

async fn describe_regions(
    server: &MockServer,
    identity: &DefaultIdentity,
    region: &str,
) -> CheckResult {
    let name = format!("ec2:DescribeRegions as {} in {region}", identity.arn());
    let ec2 = aws_sdk_ec2::Client::new(&config_for(server, identity, region));
    let partition = partition_of(identity);
    let outcome = match ec2.describe_regions().send().await {
        Ok(out) => {
            let names: Vec<&str> = out
                .regions()
                .iter()
                .filter_map(|r| r.region_name())
                .collect();
            let foreign: Vec<&&str> = names
                .iter()
                .filter(|n| mock_server::Region::find(n).map(|r| r.partition) != Some(partition))
                .collect();
            if names.is_empty() || !foreign.is_empty() {
                Err(format!(
                    "regions {names:?} are not those of partition {partition}"
                ))
            } else {
                Ok(format!("{} regions of {partition}", names.len()))
            }
        }
        Err(e) => Err(describe(&e)),
    };
    CheckResult { name, outcome }
}

/// The AWS error code of a failed SDK call, `None` inside when it has none.
fn error_code<T, E: ProvideErrorMetadata>(result: Result<T, E>) -> Result<(), Option<String>> {
    result.map(|_| ()).map_err(|e| e.code().map(str::to_owned))
}

async fn expect_sts_error(name: &str, config: aws_config::SdkConfig, code: &str) -> CheckResult {
    let sts = aws_sdk_sts::Client::new(&config);
    expect_code(
        name,
        error_code(sts.get_caller_identity().send().await),
        code,
    )
}

async fn expect_ec2_error(name: &str, config: aws_config::SdkConfig, code: &str) -> CheckResult {
    let ec2 = aws_sdk_ec2::Client::new(&config);
    expect_code(name, error_code(ec2.describe_regions().send().await), code)
}

fn expect_code(name: &str, result: Result<(), Option<String>>, code: &str) -> CheckResult {
    let outcome = match result {
        Err(Some(c)) if c == code => Ok(format!("refused with {c}")),
        Err(other) => Err(format!("expected {code}, got {other:?}")),
        Ok(()) => Err(format!("expected {code}, but the call succeeded")),
    };
    CheckResult {
        name: name.to_owned(),
        outcome,
    }
}

fn describe<E: ProvideErrorMetadata + std::error::Error>(e: &E) -> String {
    match (e.code(), e.message()) {
        (Some(code), message) => format!("{code}: {}", message.unwrap_or_default()),
        (None, _) => {
            let mut text = e.to_string();
            let mut source = e.source();
            while let Some(s) = source {
                text.push_str(": ");
                text.push_str(&s.to_string());
                source = s.source();
            }
            text
        }
    }
}
