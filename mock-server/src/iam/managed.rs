//! AWS managed policies: present in every account of every partition, addressable by name or
//! by `arn:PARTITION:iam::aws:policy/PATH/NAME`. The catalogue is data
//! (`data/aws-managed-policies.json`: name, path, default version, dates, document as AWS
//! publishes them), parsed once on first use.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use serde::Deserialize;
use serde_json::Value;

use crate::partition::Partition;
use crate::policy::Policy;
use crate::policy::parse::parse_identity_value;

/// One AWS managed policy.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ManagedPolicy {
    pub(crate) policy_name: String,
    pub(crate) path: String,
    pub(crate) create_date: String,
    pub(crate) default_version_id: String,
    pub(crate) document: Value,
    #[serde(skip)]
    pub(crate) parsed: Option<Arc<Policy>>,
}

impl ManagedPolicy {
    /// The policy's ARN in `partition`.
    pub(crate) fn arn(&self, partition: Partition) -> String {
        crate::arn::iam_entity(partition, "aws", "policy", &self.path, &self.policy_name)
    }
}

static CATALOGUE: LazyLock<HashMap<String, ManagedPolicy>> = LazyLock::new(|| {
    let raw: Vec<ManagedPolicy> = serde_json::from_str(include_str!(
        "../../data/aws-managed-policies.json"
    ))
    .unwrap_or_else(|e| unreachable!("data/aws-managed-policies.json is checked by a test: {e}"));
    raw.into_iter()
        .map(|mut p| {
            // Checked by `every_catalogue_policy_parses`: a document that does not parse is
            // left out rather than taking the server down.
            p.parsed = parse_identity_value(&p.document).ok().map(Arc::new);
            (p.policy_name.clone(), p)
        })
        .collect()
});

/// Every AWS managed policy.
pub(crate) fn all() -> impl Iterator<Item = &'static ManagedPolicy> {
    CATALOGUE.values()
}

/// The AWS managed policy a reference names: a bare name, or an ARN of `partition`.
pub(crate) fn find(reference: &str, partition: Partition) -> Option<&'static ManagedPolicy> {
    let name = match reference.strip_prefix("arn:") {
        Some(rest) => {
            let path_and_name = rest
                .strip_prefix(partition.id())?
                .strip_prefix(":iam::aws:policy")?;
            let policy = CATALOGUE.get(path_and_name.rsplit('/').next()?)?;
            return (format!("{}{}", policy.path, policy.policy_name) == path_and_name)
                .then_some(policy);
        }
        None => reference,
    };
    CATALOGUE.get(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_policy_parses() {
        let raw: Vec<ManagedPolicy> =
            serde_json::from_str(include_str!("../../data/aws-managed-policies.json"))
                .unwrap_or_else(|e| panic!("{e}"));
        assert!(raw.len() >= 14);
        for p in &raw {
            parse_identity_value(&p.document).unwrap_or_else(|e| panic!("{}: {e}", p.policy_name));
        }
    }

    #[test]
    fn the_connector_docs_policies_resolve_by_name_and_arn() {
        for name in [
            "AmazonEC2ContainerRegistryReadOnly",
            "AmazonS3ReadOnlyAccess",
            "AmazonEC2ContainerServiceforEC2Role",
            "AmazonEC2ContainerServiceRole",
            "AWSApplicationAutoscalingECSServicePolicy",
            "AmazonEC2FullAccess",
            "AWSCodeDeployRole",
            "AWSCodeDeployDeployerAccess",
            "AWSLambdaRole",
            "AdministratorAccess",
            "PowerUserAccess",
            "IAMFullAccess",
            "IAMReadOnlyAccess",
            "AmazonEC2ReadOnlyAccess",
        ] {
            let p = find(name, Partition::Aws).unwrap_or_else(|| panic!("{name}"));
            assert!(p.parsed.is_some(), "{name} did not parse");
            let gov_arn = p.arn(Partition::AwsUsGov);
            assert_eq!(
                find(&gov_arn, Partition::AwsUsGov).map(|p| &p.policy_name),
                Some(&p.policy_name)
            );
            assert!(
                find(&gov_arn, Partition::Aws).is_none(),
                "{gov_arn} resolved in aws"
            );
        }
        let role = find(
            "arn:aws:iam::aws:policy/service-role/AWSCodeDeployRole",
            Partition::Aws,
        );
        assert!(role.is_some());
        assert!(
            find("arn:aws:iam::aws:policy/AWSCodeDeployRole", Partition::Aws).is_none(),
            "the path is part of the ARN"
        );
    }
}
