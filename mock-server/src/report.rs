//! The least-privilege report: from a request log, the smallest identity policy per principal
//! that would have allowed what it did (actions and the resources they were used on), and
//! what was denied, and whether a service control policy denied it (then no policy change on
//! the principal fixes it). What a connector author needs for the "policies required" section of
//! their docs.
//!
//! Only requests that IAM authorizes count: calls that need no permission
//! (`sts:GetCallerIdentity`, `sts:AssumeRoleWithWebIdentity`) and requests refused before
//! authorization (bad signature, unknown action) are left out. A call that passed
//! authorization and then failed (an invalid parameter, say) still needed the permission.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::log::{Decision, LoggedRequest};

/// The report over a whole log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// One entry per principal that made an authorized call, by ARN.
    pub principals: Vec<PrincipalReport>,
}

/// What one principal needed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrincipalReport {
    /// The caller's ARN, as logged.
    pub principal: String,
    /// An identity policy allowing exactly what it used, statements grouped by resource set.
    pub policy: PolicyDocument,
    /// Action and resource pairs it was denied.
    pub denied: Vec<Denied>,
}

/// An IAM policy document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDocument {
    /// Always `2012-10-17`.
    #[serde(rename = "Version")]
    pub version: String,
    /// Allow statements.
    #[serde(rename = "Statement")]
    pub statement: Vec<Statement>,
}

/// One `Allow` statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// Always `Allow`.
    #[serde(rename = "Effect")]
    pub effect: String,
    /// The IAM actions, sorted.
    #[serde(rename = "Action")]
    pub action: Vec<String>,
    /// The resources they were used on, sorted.
    #[serde(rename = "Resource")]
    pub resource: Vec<String>,
}

/// A denied call.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Denied {
    /// The IAM action, such as `sts:AssumeRole`.
    pub action: String,
    /// The resource it was asked for.
    pub resource: String,
    /// A service control policy of the principal's organization refused it: no policy
    /// change on the principal fixes it (the organization's administrator must change the
    /// SCP).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub service_control_policy: bool,
}

#[derive(Default)]
struct Usage {
    allowed: BTreeMap<String, BTreeSet<String>>,
    denied: BTreeSet<Denied>,
}

/// Builds the report from log entries.
pub fn least_privilege(log: &[LoggedRequest]) -> Report {
    let mut by_principal: BTreeMap<&str, Usage> = BTreeMap::new();
    for entry in log {
        if entry.principal.is_empty() || entry.iam_action.is_empty() || entry.resource.is_empty() {
            continue;
        }
        let usage = by_principal.entry(&entry.principal).or_default();
        // What a call was allowed before it was refused is needed as well.
        for also in &entry.also_allowed {
            usage
                .allowed
                .entry(also.action.clone())
                .or_default()
                .insert(also.resource.clone());
        }
        if entry.decision == Decision::Denied {
            usage.denied.insert(Denied {
                action: entry.iam_action.clone(),
                resource: entry.resource.clone(),
                service_control_policy: entry.service_control_policy,
            });
        } else {
            usage
                .allowed
                .entry(entry.iam_action.clone())
                .or_default()
                .insert(entry.resource.clone());
        }
    }
    let principals = by_principal
        .into_iter()
        .map(|(principal, usage)| PrincipalReport {
            principal: principal.to_owned(),
            policy: policy(usage.allowed),
            denied: usage.denied.into_iter().collect(),
        })
        .collect();
    Report { principals }
}

/// Actions used on the same set of resources share a statement.
fn policy(allowed: BTreeMap<String, BTreeSet<String>>) -> PolicyDocument {
    let mut by_resources: BTreeMap<BTreeSet<String>, Vec<String>> = BTreeMap::new();
    for (action, resources) in allowed {
        by_resources.entry(resources).or_default().push(action);
    }
    PolicyDocument {
        version: "2012-10-17".to_owned(),
        statement: by_resources
            .into_iter()
            .map(|(resources, action)| Statement {
                effect: "Allow".to_owned(),
                action,
                resource: resources.into_iter().collect(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(principal: &str, action: &str, resource: &str, decision: Decision) -> LoggedRequest {
        LoggedRequest {
            seq: 0,
            time: String::new(),
            service: String::new(),
            action: String::new(),
            iam_action: action.to_owned(),
            resource: resource.to_owned(),
            region: String::new(),
            principal: principal.to_owned(),
            decision,
            statement: String::new(),
            service_control_policy: false,
            error_code: String::new(),
            status: 200,
            also_allowed: Vec::new(),
        }
    }

    #[test]
    fn groups_actions_by_resource_set_and_lists_denials() {
        let user = "arn:aws:iam::111111111111:user/ci";
        let role = "arn:aws:iam::222222222222:role/deploy";
        let log = [
            entry(user, "ec2:DescribeRegions", "*", Decision::Allowed),
            entry(user, "sts:AssumeRole", role, Decision::Allowed),
            entry(user, "sts:AssumeRole", role, Decision::Allowed),
            entry(user, "iam:ListRoles", "*", Decision::Error),
            entry(
                user,
                "iam:CreateUser",
                "arn:aws:iam::111111111111:user/x",
                Decision::Denied,
            ),
            entry(user, "sts:GetCallerIdentity", "", Decision::Allowed),
            entry("", "ec2:DescribeRegions", "*", Decision::Error),
        ];
        let report = least_privilege(&log);
        assert_eq!(report.principals.len(), 1);
        let p = &report.principals[0];
        assert_eq!(p.principal, user);
        assert_eq!(
            p.policy.statement,
            vec![
                Statement {
                    effect: "Allow".into(),
                    action: vec!["ec2:DescribeRegions".into(), "iam:ListRoles".into()],
                    resource: vec!["*".into()],
                },
                Statement {
                    effect: "Allow".into(),
                    action: vec!["sts:AssumeRole".into()],
                    resource: vec![role.into()],
                },
            ]
        );
        assert_eq!(
            p.denied,
            vec![Denied {
                action: "iam:CreateUser".into(),
                resource: "arn:aws:iam::111111111111:user/x".into(),
                service_control_policy: false,
            }]
        );
    }
}
