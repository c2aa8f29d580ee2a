//! Customer managed policies, and AWS managed ones as GetPolicy shows them.

use serde_json::Value;

use crate::api::Call;
use crate::error::AwsError;
use crate::iam::managed;
use crate::iam::store::unique_id;
use crate::policy::parse::parse_identity_policy;
use crate::wire::xml::Node;
use crate::world::{AccountSpec, ManagedPolicySpec};

use super::*;

const MANAGED_POLICY_BYTES: usize = 6144;

/// Parses a document as IAM does on write, with AWS's MalformedPolicyDocument texts and
/// size quota (white space does not count).
pub(super) fn checked_document(
    document: &str,
    max_bytes: usize,
    over: impl FnOnce() -> AwsError,
) -> Result<(), AwsError> {
    parse_identity_policy(document)
        .map_err(|e| AwsError::malformed_policy_document(e.aws_message()))?;
    if document.chars().filter(|c| !c.is_whitespace()).count() > max_bytes {
        return Err(over());
    }
    Ok(())
}

/// What GetPolicy and CreatePolicy say of a managed policy.
struct PolicyView {
    name: String,
    path: String,
    arn: String,
    id: String,
    created: String,
    attachments: usize,
}

impl PolicyView {
    fn customer(call: &Call<'_>, p: &ManagedPolicySpec, attachments: usize) -> Self {
        Self {
            name: p.name.clone(),
            path: p.path.clone(),
            arn: policy_arn(call, &p.path, &p.name),
            id: unique_id("ANPA", &call.caller.account, &p.name),
            created: p.created.clone().unwrap_or_default(),
            attachments,
        }
    }

    fn node(self) -> Node {
        Node::Branch(
            "Policy",
            vec![
                Node::leaf("PolicyName", self.name),
                Node::leaf("DefaultVersionId", "v1"),
                Node::leaf("PolicyId", self.id),
                Node::leaf("Path", self.path),
                Node::leaf("Arn", self.arn),
                Node::leaf("AttachmentCount", self.attachments.to_string()),
                Node::leaf("PermissionsBoundaryUsageCount", "0"),
                Node::leaf("IsAttachable", "true"),
                Node::leaf("CreateDate", self.created.clone()),
                Node::leaf("UpdateDate", self.created),
            ],
        )
    }
}

pub(super) fn attachments(account: &AccountSpec, arn: &str, name: &str) -> usize {
    account
        .users
        .iter()
        .filter(|u| u.managed_policies.iter().any(|r| r == arn || r == name))
        .count()
}

pub(super) fn create_policy(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = valid_name(call, "PolicyName", required(call, "PolicyName")?, 128)?.to_owned();
    let path = valid_path(call, call.params.get("Path").unwrap_or("/"))?.to_owned();
    let document = required(call, "PolicyDocument")?;
    checked_document(document, MANAGED_POLICY_BYTES, || {
        AwsError::limit_exceeded(format!(
            "Cannot exceed quota for PolicySize: {MANAGED_POLICY_BYTES}"
        ))
    })?;
    let spec = ManagedPolicySpec {
        name: name.clone(),
        path,
        document: Value::String(document.to_owned()),
        created: Some(now_iso(call)),
    };
    call.iam.write(|world| {
        let account = account_mut(world, call)?;
        if account.policies.iter().any(|p| p.name == name) {
            return Err(AwsError::entity_already_exists(format!(
                "A policy called {name} already exists. Duplicate names are not allowed."
            )));
        }
        account.policies.push(spec.clone());
        Ok(())
    })?;
    Ok(vec![PolicyView::customer(call, &spec, 0).node()])
}

/// The customer managed policy of the caller's account with this ARN.
pub(super) fn find_policy<'w>(
    account: &'w AccountSpec,
    call: &Call<'_>,
    arn: &str,
) -> Option<&'w ManagedPolicySpec> {
    account
        .policies
        .iter()
        .find(|p| policy_arn(call, &p.path, &p.name) == arn)
}

pub(super) fn get_policy(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let arn = required(call, "PolicyArn")?;
    let world = call.iam.world();
    let not_found = || AwsError::no_such_entity(format!("Policy {arn} was not found."));
    let account = account(&world, call).ok_or_else(not_found)?;
    if let Some(p) = find_policy(account, call, arn) {
        return Ok(vec![
            PolicyView::customer(call, p, attachments(account, arn, &p.name)).node(),
        ]);
    }
    let aws = managed::find(arn, partition(call)).ok_or_else(not_found)?;
    let view = PolicyView {
        name: aws.policy_name.clone(),
        path: aws.path.clone(),
        arn: aws.arn(partition(call)),
        id: unique_id("ANPA", "aws", &aws.policy_name),
        created: aws.create_date.clone(),
        attachments: attachments(account, arn, &aws.policy_name),
    };
    Ok(vec![view.node()])
}

pub(super) fn delete_policy(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let arn = required(call, "PolicyArn")?.to_owned();
    call.iam.write(|world| {
        let account = account_mut(world, call)?;
        let name = find_policy(account, call, &arn)
            .map(|p| p.name.clone())
            .ok_or_else(|| AwsError::no_such_entity(format!("Policy {arn} was not found.")))?;
        if attachments(account, &arn, &name) > 0 {
            return Err(AwsError::delete_conflict(
                "Cannot delete a policy attached to entities.",
            ));
        }
        account.policies.retain(|p| p.name != name);
        Ok(())
    })?;
    Ok(Vec::new())
}
