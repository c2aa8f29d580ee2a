//! The scenario format: a world, a connector configuration, and steps with their expected
//! outcomes. Scenarios are YAML files (`scenarios/*.yaml`); the schema is documented in
//! `docs/scenarios.md`.
//!
//! ```yaml
//! description: the connector's user lacks ec2:DescribeRegions
//! world:                      # merged into the default world (base: empty for none)
//!   accounts:
//!     - id: "444444444444"
//!       users: [{name: ci, access_keys: [{id: AKIACI44444444444444, secret: s}]}]
//! connector:
//!   credentials: {access_key: {access_key_id: AKIACI44444444444444, secret_access_key: s}}
//! steps:
//!   - connection_test: {expect: {stage: describe_regions, code: UnauthorizedOperation}}
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mock_server::{
    AccessKeySpec, AccountSpec, FaultRule, KeyStatus, OrganizationSpec, World, WorldError,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::connector::{ConnectorConfig, Stage};
use crate::deployments::{DeploymentType, Resources};

/// One scenario.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The file's stem: what the scenario shows.
    #[serde(skip)]
    pub name: String,
    /// Where it was read from.
    #[serde(skip)]
    pub path: PathBuf,
    /// The base world, read.
    #[serde(skip)]
    pub base_world: World,
    /// One sentence: the situation and what should happen.
    pub description: String,
    /// The world the changes apply to (default: the default world).
    #[serde(default)]
    pub base: Base,
    /// Changes to the base world: accounts (merged by id; their users, roles, policies, …
    /// merged by name), delegates, propagation, faults.
    #[serde(default)]
    pub world: Option<World>,
    /// The connector under test.
    pub connector: ConnectorConfig,
    /// What happens, in order.
    pub steps: Vec<Step>,
}

/// The world a scenario starts from: `default` (three admin users in `aws` and
/// `aws-us-gov`), `empty`, or a world file's path relative to the scenario.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Base {
    /// `default` or `empty`.
    Named(Named),
    /// A world file.
    File(PathBuf),
}

impl Default for Base {
    fn default() -> Self {
        Base::Named(Named::Default)
    }
}

/// The built-in bases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Named {
    /// The default world.
    Default,
    /// No accounts at all.
    Empty,
}

/// One step.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Run the connection test.
    ConnectionTest(Check),
    /// A pipeline step reusing the credentials the last connection test resolved.
    PipelineStep(Check),
    /// Check a deployment type's actions on the last connected principal.
    DeploymentCheck(DeploymentStep),
    /// Ask EC2 whether the last connection's credentials may launch an instance
    /// (`RunInstances` with `DryRun`), as a deployment's launch step and permission
    /// checkers do.
    LaunchCheck(LaunchStep),
    /// A pipeline "Run" step: a script on the connector's delegate making one AWS call with
    /// the delegate's own credentials (or a role it assumes), not the connector's.
    RunStep(RunStep),
    /// Change IAM through the real IAM API, as the account's root user.
    Iam(IamStep),
    /// Replace the organizations (their trees and service control policies), as an
    /// administrator in AWS Organizations would: in effect after the `organizations`
    /// propagation delay.
    Organizations(Vec<OrganizationSpec>),
    /// Move the server clock forward this many seconds.
    Advance(u64),
    /// Add fault rules.
    Faults(Vec<FaultRule>),
    /// Remove every fault rule.
    ClearFaults,
}

/// What a connection test (or pipeline step) must give.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// `success`, or the failure expected.
    pub expect: Expectation,
    /// On success, regions the answer must list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    /// A connection test whose selectors match several delegates runs on each: what a
    /// delegate must give when it differs from `expect`, by delegate name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub delegates: BTreeMap<String, Expectation>,
}

/// `success` or an expected failure.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Expectation {
    /// `success`.
    Success(Success),
    /// A failure at a stage.
    Failure(ExpectedFailure),
}

/// The word `success`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Success {
    /// It works.
    Success,
}

/// An expected failure: its stage, and optionally AWS's code and words of the hint.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedFailure {
    /// Where it fails.
    pub stage: Stage,
    /// AWS's error code (`none` when AWS must not have answered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Words the hint must contain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// A deployment check and what it must find: the actions missing (none: the principal
/// holds all) and, for a role the docs say must trust a service, whether it does.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentStep {
    /// The deployment type.
    #[serde(rename = "type")]
    pub deployment: DeploymentType,
    /// For the types checked on a role of the account (the ECS instance and service
    /// roles): the role, instead of the one the docs name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The deployment's resources, to simulate scoped grants on.
    #[serde(default, skip_serializing_if = "is_unscoped")]
    pub resources: Resources,
    /// The actions expected missing, in any order: actions or IAM wildcards naming required
    /// actions (`autoscaling:*` for all of that statement's).
    #[serde(default)]
    pub missing: Vec<String>,
    /// The role is expected not to trust the service the docs say it must.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub untrusted: bool,
}

fn is_unscoped(resources: &Resources) -> bool {
    *resources == Resources::default()
}

/// A dry-run launch: the image, type and instance profile an EC2 deployment would launch.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LaunchStep {
    /// The image (`ami-…`).
    pub image: String,
    /// The instance type (default `t3.micro`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    /// The instance profile's name, when the instances get a role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_profile: Option<String>,
    /// `success` (EC2 answers `DryRunOperation`), or the refusal expected.
    pub expect: LaunchExpectation,
}

/// What a dry-run launch must give.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum LaunchExpectation {
    /// `success`.
    Success(Success),
    /// A refusal.
    Refused(LaunchRefusal),
}

/// An expected refusal of a dry-run launch.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LaunchRefusal {
    /// EC2's error code (`UnauthorizedOperation`, `InvalidAMIID.NotFound`, …).
    pub code: String,
    /// For `UnauthorizedOperation`: the IAM action the decoded message names
    /// (`ec2:RunInstances`, `iam:PassRole`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
}

/// A "Run" step's script: one call with the delegate's default credentials chain, after
/// assuming `role_arn` if given.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RunStep {
    /// A role the script assumes first (none: the delegate's own credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// The call the script makes.
    pub call: RunCall,
    /// `success`, or the refusal expected.
    pub expect: RunExpectation,
}

/// The calls a "Run" step's script can make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum RunCall {
    /// `aws ec2 describe-instances`.
    #[serde(rename = "ec2:DescribeInstances")]
    DescribeInstances,
    /// `aws ec2 describe-regions`.
    #[serde(rename = "ec2:DescribeRegions")]
    DescribeRegions,
    /// `aws sts get-caller-identity`.
    #[serde(rename = "sts:GetCallerIdentity")]
    GetCallerIdentity,
}

/// What a "Run" step's call must give.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum RunExpectation {
    /// `success`.
    Success(Success),
    /// A refusal.
    Refused(RunRefusal),
}

/// An expected refusal of a "Run" step's call.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RunRefusal {
    /// AWS's error code (`UnauthorizedOperation`, `AccessDenied`, …; `none`: the
    /// credentials could not be resolved, so AWS never answered).
    pub code: String,
}

/// An IAM change, made with the real IAM client as the root user of `account`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct IamStep {
    /// The account to change.
    pub account: String,
    /// The AWS error code the change must fail with (none: it must succeed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_error: Option<String>,
    /// The change.
    #[serde(flatten)]
    pub change: IamChange,
}

/// The IAM changes a scenario can make.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum IamChange {
    /// `AttachUserPolicy`.
    AttachUserPolicy {
        /// The user.
        user_name: String,
        /// The policy ARN.
        policy_arn: String,
    },
    /// `DetachUserPolicy`.
    DetachUserPolicy {
        /// The user.
        user_name: String,
        /// The policy ARN.
        policy_arn: String,
    },
    /// `AttachRolePolicy`.
    AttachRolePolicy {
        /// The role.
        role_name: String,
        /// The policy ARN.
        policy_arn: String,
    },
    /// `DetachRolePolicy`.
    DetachRolePolicy {
        /// The role.
        role_name: String,
        /// The policy ARN.
        policy_arn: String,
    },
    /// `PutRolePolicy`: an inline policy.
    PutRolePolicy {
        /// The role.
        role_name: String,
        /// The inline policy's name.
        policy_name: String,
        /// The document.
        document: Value,
    },
    /// `UpdateAssumeRolePolicy`: a new trust policy.
    UpdateAssumeRolePolicy {
        /// The role.
        role_name: String,
        /// The trust policy.
        document: Value,
    },
    /// `UpdateAccessKey`: activate or deactivate a key.
    UpdateAccessKey {
        /// The key's user.
        user_name: String,
        /// The key.
        access_key_id: String,
        /// `Active` or `Inactive`.
        status: KeyStatus,
    },
    /// `RemoveRoleFromInstanceProfile`: an instance loses the profile's role.
    RemoveRoleFromInstanceProfile {
        /// The instance profile.
        instance_profile_name: String,
        /// The role.
        role_name: String,
    },
    /// `AddRoleToInstanceProfile`: the profile's instances get the role.
    AddRoleToInstanceProfile {
        /// The instance profile.
        instance_profile_name: String,
        /// The role.
        role_name: String,
    },
    /// `CreatePolicy`: a customer managed policy.
    CreatePolicy {
        /// The policy name.
        policy_name: String,
        /// The document.
        document: Value,
    },
}

/// Why a scenario (or a connector manifest) could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        source: std::io::Error,
    },
    /// The YAML is malformed or does not fit the schema (with line and column).
    #[error("{file}: {message}")]
    Parse {
        /// The file.
        file: String,
        /// What is wrong, where.
        message: String,
    },
    /// The scenario's world is inconsistent.
    #[error("{file}: world: {source}")]
    World {
        /// The file.
        file: String,
        /// Why.
        source: WorldError,
    },
}

impl Scenario {
    /// Reads a scenario file; its name is the file's stem.
    pub fn load(path: &Path) -> Result<Self, FileError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| FileError::Read {
            file: file.clone(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses scenario YAML read from `path`.
    pub fn parse(text: &str, path: &Path) -> Result<Self, FileError> {
        let file = path.display().to_string();
        let mut scenario: Scenario =
            serde_saphyr::from_str(text).map_err(|e| FileError::Parse {
                file: file.clone(),
                message: e.to_string(),
            })?;
        if scenario.steps.is_empty() {
            return Err(FileError::Parse {
                file,
                message: "a scenario needs at least one step".into(),
            });
        }
        scenario.name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        scenario.path = path.to_owned();
        let base = match &scenario.base {
            Base::Named(Named::Default) => World::default_world(),
            Base::Named(Named::Empty) => World::default(),
            Base::File(relative) => {
                let at = path.parent().unwrap_or(Path::new(".")).join(relative);
                World::load(&at).map_err(|source| FileError::World { file, source })?
            }
        };
        scenario.base_world = base;
        Ok(scenario)
    }

    /// The world the scenario runs in: the base with the scenario's changes, and a root
    /// access key in every account (see [`auditor_key`]) for IAM steps and deployment checks.
    pub fn world(&self) -> World {
        let mut world = self.base_world.clone();
        if let Some(changes) = &self.world {
            merge(&mut world, changes.clone());
        }
        for account in &mut world.accounts {
            let (id, secret) = auditor_key(&account.id);
            if !account.root_access_keys.iter().any(|k| k.id == id) {
                account.root_access_keys.push(AccessKeySpec {
                    id,
                    secret,
                    status: KeyStatus::Active,
                    created: None,
                });
            }
        }
        world
    }
}

/// The root access key the runner adds to each account of a scenario's world: the identity
/// of IAM steps and of the deployment check's policy simulation.
pub fn auditor_key(account: &str) -> (String, String) {
    (
        format!("AKIATBROOT{account}"),
        format!("trustbench-root-secret-{account}"),
    )
}

/// Merges `changes` into `world`: accounts by id (their entities by name), delegates by
/// name; propagation, faults and organizations replace the base's when given.
fn merge(world: &mut World, changes: World) {
    for account in changes.accounts {
        match world.accounts.iter_mut().find(|a| a.id == account.id) {
            Some(existing) => merge_account(existing, account),
            None => world.accounts.push(account),
        }
    }
    for delegate in changes.delegates {
        world.delegates.retain(|d| d.name != delegate.name);
        world.delegates.push(delegate);
    }
    if changes.propagation.is_some() {
        world.propagation = changes.propagation;
    }
    if !changes.faults.is_empty() {
        world.faults = changes.faults;
    }
    if !changes.organizations.is_empty() {
        world.organizations = changes.organizations;
    }
}

fn merge_account(into: &mut AccountSpec, from: AccountSpec) {
    fn by<C, T>(into: &mut C, from: C, key: impl Fn(&T) -> &str)
    where
        C: Default + IntoIterator<Item = T> + FromIterator<T> + Extend<T>,
    {
        for item in from {
            let kept = std::mem::take(into).into_iter();
            *into = kept.filter(|i| key(i) != key(&item)).collect();
            into.extend([item]);
        }
    }
    into.partition = from.partition;
    by(&mut into.opted_in_regions, from.opted_in_regions, |r| {
        r.as_str()
    });
    by(&mut into.root_access_keys, from.root_access_keys, |k| {
        k.id.as_str()
    });
    by(&mut into.users, from.users, |u| u.name.as_str());
    by(&mut into.groups, from.groups, |g| g.name.as_str());
    by(&mut into.roles, from.roles, |r| r.name.as_str());
    by(&mut into.policies, from.policies, |p| p.name.as_str());
    by(&mut into.instance_profiles, from.instance_profiles, |p| {
        p.name.as_str()
    });
    by(
        &mut into.open_id_connect_providers,
        from.open_id_connect_providers,
        |p| p.url.as_str(),
    );
    // EC2 resources: a scenario's region replaces the base's.
    into.ec2.extend(from.ec2);
}

/// The scenario files under `paths` (files as given, directories searched for `*.yaml`,
/// except in `worlds/` directories, which hold base worlds), sorted.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, FileError> {
    let mut found = Vec::new();
    for path in paths {
        if path.is_dir() {
            collect(path, &mut found)?;
        } else {
            found.push(path.clone());
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}

fn collect(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), FileError> {
    let entries = std::fs::read_dir(dir).map_err(|source| FileError::Read {
        file: dir.display().to_string(),
        source,
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            // `worlds/` holds base worlds that scenarios name, not scenarios.
            if entry.file_name() != "worlds" {
                collect(&path, found)?;
            }
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            found.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_merge_into_the_base_by_id_and_name() {
        let yaml = r#"
description: "merge"
world:
  propagation: {delay_seconds: 60}
  accounts:
    - id: "111111111111"
      users:
        - name: admin
          managed_policies: [AmazonEC2ReadOnlyAccess]
        - name: extra
    - id: "999999999999"
connector:
  credentials: delegate_role
steps:
  - advance: 1
"#;
        let scenario = Scenario::parse(yaml, Path::new("scenarios/merge.yaml"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(scenario.name, "merge");
        let world = scenario.world();
        let first = &world.accounts[0];
        let admin = first.users.iter().find(|u| u.name == "admin");
        // The scenario's admin replaces the default world's (no keys of its own now).
        assert_eq!(
            admin.map(|u| (u.managed_policies.clone(), u.access_keys.len())),
            Some((vec!["AmazonEC2ReadOnlyAccess".to_owned()], 0))
        );
        assert!(first.users.iter().any(|u| u.name == "extra"));
        assert!(world.accounts.iter().any(|a| a.id == "999999999999"));
        assert_eq!(world.propagation.map(|p| p.delay_seconds), Some(60.0));
        // Every account has the runner's root key.
        for account in &world.accounts {
            let (id, _) = auditor_key(&account.id);
            assert!(account.root_access_keys.iter().any(|k| k.id == id));
        }
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let yaml =
            "description: \"x\"\nconnector:\n  credentials: irsa\nsteps:\n  - advance: soon\n";
        let e = Scenario::parse(yaml, Path::new("scenarios/bad.yaml"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("scenarios/bad.yaml"), "{e}");
        assert!(e.contains("line 5"), "{e}");
        let empty = "description: \"x\"\nconnector:\n  credentials: irsa\nsteps: []\n";
        assert!(Scenario::parse(empty, Path::new("e.yaml")).is_err());
    }
}
