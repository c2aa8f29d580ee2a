//! What users, groups and roles share: attached managed policies, inline policies and (for
//! users and roles) a permissions boundary. One implementation, parameterised by [`Entity`].

use std::collections::BTreeMap;

use serde_json::Value;

use crate::api::Call;
use crate::error::AwsError;
use crate::iam::managed;
use crate::policy::parse::parse_identity_policy;
use crate::propagation::ChangeKind;
use crate::wire::query::url_encode_document;
use crate::wire::xml::Node;
use crate::world::AccountSpec;

use super::*;

/// An IAM entity that holds policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Entity {
    User,
    Role,
    Group,
}

/// The policies (and tags) an entity holds, borrowed from the world.
struct Holdings<'w> {
    managed: &'w mut Vec<String>,
    inline: &'w mut BTreeMap<String, Value>,
    boundary: Option<&'w mut Option<String>>,
    tags: Option<&'w mut BTreeMap<String, String>>,
}

impl Entity {
    /// The request parameter naming it (`UserName`, …).
    pub(super) fn param(self) -> &'static str {
        match self {
            Entity::User => "UserName",
            Entity::Role => "RoleName",
            Entity::Group => "GroupName",
        }
    }

    /// The noun in ARNs and messages.
    pub(super) fn noun(self) -> &'static str {
        match self {
            Entity::User => "user",
            Entity::Role => "role",
            Entity::Group => "group",
        }
    }

    fn max_name(self) -> usize {
        match self {
            Entity::User | Entity::Role => 64,
            Entity::Group => 128,
        }
    }

    /// IAM's quota on the total size of the entity's inline policies.
    fn inline_quota(self) -> usize {
        match self {
            Entity::User => 2048,
            Entity::Role => 10240,
            Entity::Group => 5120,
        }
    }

    fn managed_quota(self) -> &'static str {
        match self {
            Entity::User => "PoliciesPerUser",
            Entity::Role => "PoliciesPerRole",
            Entity::Group => "PoliciesPerGroup",
        }
    }

    /// `The user with name X cannot be found.`
    pub(super) fn not_found(self, name: &str) -> AwsError {
        AwsError::no_such_entity(format!(
            "The {} with name {name} cannot be found.",
            self.noun()
        ))
    }

    /// The path of the named entity, if the account has it.
    pub(super) fn path_of(self, account: &AccountSpec, name: &str) -> Option<String> {
        match self {
            Entity::User => account
                .users
                .iter()
                .find(|u| u.name == name)
                .map(|u| u.path.clone()),
            Entity::Role => account
                .roles
                .iter()
                .find(|r| r.name == name)
                .map(|r| r.path.clone()),
            Entity::Group => account
                .groups
                .iter()
                .find(|g| g.name == name)
                .map(|g| g.path.clone()),
        }
    }

    fn holdings<'w>(
        self,
        account: &'w mut AccountSpec,
        name: &str,
    ) -> Result<Holdings<'w>, AwsError> {
        let found = match self {
            Entity::User => find_mut(&mut account.users, |u| u.name == name).map(|u| Holdings {
                managed: &mut u.managed_policies,
                inline: &mut u.inline_policies,
                boundary: Some(&mut u.permissions_boundary),
                tags: Some(&mut u.tags),
            }),
            Entity::Role => find_mut(&mut account.roles, |r| r.name == name).map(|r| Holdings {
                managed: &mut r.managed_policies,
                inline: &mut r.inline_policies,
                boundary: Some(&mut r.permissions_boundary),
                tags: Some(&mut r.tags),
            }),
            Entity::Group => find_mut(&mut account.groups, |g| g.name == name).map(|g| Holdings {
                managed: &mut g.managed_policies,
                inline: &mut g.inline_policies,
                boundary: None,
                tags: None,
            }),
        };
        found.ok_or_else(|| self.not_found(name))
    }

    /// The entity named by the call's parameter, validated.
    fn name(self, call: &Call<'_>) -> Result<String, AwsError> {
        let raw = required(call, self.param())?;
        Ok(valid_name(call, self.param(), raw, self.max_name())?.to_owned())
    }
}

/// Whether `arn` names a managed policy the caller may attach: one of its account's, or an
/// AWS managed policy of its partition.
pub(super) fn attachable(account: &AccountSpec, call: &Call<'_>, arn: &str) -> bool {
    arn.starts_with("arn:")
        && (managed::find(arn, partition(call)).is_some()
            || account.policies.iter().any(|p| is_policy_arn(call, p, arn)))
}

fn not_attachable(arn: &str) -> AwsError {
    AwsError::no_such_entity(format!("Policy {arn} does not exist or is not attachable."))
}

/// The name and ARN a stored reference (a name or an ARN) stands for.
pub(super) fn resolve(account: &AccountSpec, call: &Call<'_>, reference: &str) -> (String, String) {
    if let Some(m) = managed::find(reference, partition(call)) {
        return (m.policy_name.clone(), m.arn(partition(call)));
    }
    match account
        .policies
        .iter()
        .find(|p| p.name == reference || is_policy_arn(call, p, reference))
    {
        Some(p) => (p.name.clone(), policy_arn(call, &p.path, &p.name)),
        None => (reference.to_owned(), reference.to_owned()),
    }
}

pub(super) fn attach(call: &Call<'_>, entity: Entity) -> Result<Vec<Node>, AwsError> {
    let name = entity.name(call)?;
    let arn = required(call, "PolicyArn")?.to_owned();
    call.iam.write(ChangeKind::Policies, |world| {
        let account = account_mut(world, call)?;
        if !attachable(account, call, &arn) {
            return Err(not_attachable(&arn));
        }
        let resolved: Vec<String> = {
            let snapshot = account.clone();
            let holdings = entity.holdings(account, &name)?;
            holdings
                .managed
                .iter()
                .map(|r| resolve(&snapshot, call, r).1)
                .collect()
        };
        let holdings = entity.holdings(account, &name)?;
        if !resolved.contains(&arn) {
            if holdings.managed.len() >= 10 {
                return Err(AwsError::limit_exceeded(format!(
                    "Cannot exceed quota for {}: 10",
                    entity.managed_quota()
                )));
            }
            holdings.managed.push(arn.clone());
        }
        Ok(())
    })?;
    Ok(Vec::new())
}

pub(super) fn detach(call: &Call<'_>, entity: Entity) -> Result<Vec<Node>, AwsError> {
    let name = entity.name(call)?;
    let arn = required(call, "PolicyArn")?.to_owned();
    call.iam.write(ChangeKind::Policies, |world| {
        let account = account_mut(world, call)?;
        let snapshot = account.clone();
        let holdings = entity.holdings(account, &name)?;
        let before = holdings.managed.len();
        // A world may attach by name; detaching names the ARN.
        holdings
            .managed
            .retain(|r| resolve(&snapshot, call, r).1 != arn);
        if holdings.managed.len() == before {
            return Err(AwsError::no_such_entity(format!(
                "Policy {arn} was not found."
            )));
        }
        Ok(())
    })?;
    Ok(Vec::new())
}

pub(super) fn list_attached(call: &Call<'_>, entity: Entity) -> Result<Vec<Node>, AwsError> {
    let name = entity.name(call)?;
    let mut account = account(&call.iam.world(), call)
        .cloned()
        .ok_or_else(|| entity.not_found(&name))?;
    let snapshot = account.clone();
    let holdings = entity.holdings(&mut account, &name)?;
    let attached: Vec<(String, String)> = holdings
        .managed
        .iter()
        .map(|r| resolve(&snapshot, call, r))
        .collect();
    let (attached, next) = page(call, attached)?;
    let items = attached
        .into_iter()
        .map(|(n, a)| vec![Node::leaf("PolicyName", n), Node::leaf("PolicyArn", a)])
        .collect();
    let mut out = vec![Node::List("AttachedPolicies", items)];
    out.extend(truncation(next));
    Ok(out)
}

fn no_such_inline(entity: Entity, policy: &str) -> AwsError {
    AwsError::no_such_entity(format!(
        "The {} policy with name {policy} cannot be found.",
        entity.noun()
    ))
}

/// Policy size as IAM counts it: white space does not count.
pub(super) fn policy_size(document: &str) -> usize {
    document.chars().filter(|c| !c.is_whitespace()).count()
}

pub(super) fn put_inline(call: &Call<'_>, entity: Entity) -> Result<Vec<Node>, AwsError> {
    let name = entity.name(call)?;
    let policy = valid_name(call, "PolicyName", required(call, "PolicyName")?, 128)?.to_owned();
    let document = required(call, "PolicyDocument")?.to_owned();
    parse_identity_policy(&document)
        .map_err(|e| AwsError::malformed_policy_document(e.aws_message()))?;
    call.iam.write(ChangeKind::Policies, |world| {
        let holdings = entity.holdings(account_mut(world, call)?, &name)?;
        let mut inline = holdings.inline.clone();
        inline.insert(policy.clone(), Value::String(document.clone()));
        // The quota is the total of the entity's inline policies.
        let size: usize = inline
            .values()
            .map(|d| policy_size(&document_text(d)))
            .sum();
        if size > entity.inline_quota() {
            return Err(AwsError::limit_exceeded(format!(
                "Maximum policy size of {} bytes exceeded for {} {name}",
                entity.inline_quota(),
                entity.noun()
            )));
        }
        *holdings.inline = inline;
        Ok(())
    })?;
    Ok(Vec::new())
}

/// A stored document as text (worlds may hold structures; API writes hold text).
pub(super) fn document_text(document: &Value) -> String {
    match document {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(super) fn get_inline(call: &Call<'_>, entity: Entity) -> Result<Vec<Node>, AwsError> {
    let name = entity.name(call)?;
    let policy = required(call, "PolicyName")?.to_owned();
    let mut account = account(&call.iam.world(), call)
        .cloned()
        .ok_or_else(|| entity.not_found(&name))?;
    let holdings = entity.holdings(&mut account, &name)?;
    let document = holdings
        .inline
        .get(&policy)
        .ok_or_else(|| no_such_inline(entity, &policy))?;
    Ok(vec![
        Node::leaf(entity.param(), name.clone()),
        Node::leaf("PolicyName", policy),
        Node::leaf(
            "PolicyDocument",
            url_encode_document(&document_text(document)),
        ),
    ])
}

pub(super) fn delete_inline(call: &Call<'_>, entity: Entity) -> Result<Vec<Node>, AwsError> {
    let name = entity.name(call)?;
    let policy = required(call, "PolicyName")?.to_owned();
    call.iam.write(ChangeKind::Policies, |world| {
        let holdings = entity.holdings(account_mut(world, call)?, &name)?;
        holdings
            .inline
            .remove(&policy)
            .ok_or_else(|| no_such_inline(entity, &policy))?;
        Ok(())
    })?;
    Ok(Vec::new())
}

pub(super) fn list_inline(call: &Call<'_>, entity: Entity) -> Result<Vec<Node>, AwsError> {
    let name = entity.name(call)?;
    let mut account = account(&call.iam.world(), call)
        .cloned()
        .ok_or_else(|| entity.not_found(&name))?;
    let holdings = entity.holdings(&mut account, &name)?;
    let (names, next) = page(call, holdings.inline.keys().cloned().collect())?;
    let mut out = vec![Node::TextList("PolicyNames", names)];
    out.extend(truncation(next));
    Ok(out)
}

pub(super) fn put_boundary(call: &Call<'_>, entity: Entity) -> Result<Vec<Node>, AwsError> {
    let name = entity.name(call)?;
    let arn = required(call, "PermissionsBoundary")?.to_owned();
    call.iam.write(ChangeKind::Boundaries, |world| {
        let account = account_mut(world, call)?;
        if !attachable(account, call, &arn) {
            return Err(not_attachable(&arn));
        }
        if let Some(boundary) = entity.holdings(account, &name)?.boundary {
            *boundary = Some(arn.clone());
        }
        Ok(())
    })?;
    Ok(Vec::new())
}

pub(super) fn delete_boundary(call: &Call<'_>, entity: Entity) -> Result<Vec<Node>, AwsError> {
    let name = entity.name(call)?;
    call.iam.write(ChangeKind::Boundaries, |world| {
        if let Some(boundary) = entity.holdings(account_mut(world, call)?, &name)?.boundary {
            *boundary = None;
        }
        Ok(())
    })?;
    Ok(Vec::new())
}

/// `<PermissionsBoundary>` of a user or role, when it has one.
pub(super) fn boundary_node(boundary: Option<&String>) -> Option<Node> {
    boundary.map(|arn| {
        Node::Branch(
            "PermissionsBoundary",
            vec![
                Node::leaf("PermissionsBoundaryType", "PermissionsBoundaryPolicy"),
                Node::leaf("PermissionsBoundaryArn", arn.clone()),
            ],
        )
    })
}

// ---- tags (users and roles) ----

const TAGS_PER_ENTITY: usize = 50;

/// `Tags.member.N.Key` / `.Value`, validated as IAM does (keys up to 128 characters, values
/// up to 256, at most 50).
pub(super) fn request_tags(call: &Call<'_>) -> Result<BTreeMap<String, String>, AwsError> {
    let mut tags = BTreeMap::new();
    for (n, key) in call.params.indexed("Tags.member", ".Key") {
        let value = call
            .params
            .get(&format!("Tags.member.{n}.Value"))
            .unwrap_or_default();
        if key.is_empty() || key.len() > 128 || value.len() > 256 || key.starts_with("aws:") {
            return Err(AwsError::invalid_parameter_value(
                call.service,
                format!(
                    "1 validation error detected: Value '{key}' at 'tags.{n}.member.key' failed to satisfy constraint: Member must have length less than or equal to 128"
                ),
            ));
        }
        tags.insert(key.to_owned(), value.to_owned());
    }
    if tags.len() > TAGS_PER_ENTITY {
        return Err(AwsError::limit_exceeded(format!(
            "Cannot exceed quota for TagsPerEntity: {TAGS_PER_ENTITY}"
        )));
    }
    Ok(tags)
}

pub(super) fn tag(call: &Call<'_>, entity: Entity) -> Result<Vec<Node>, AwsError> {
    let name = entity.name(call)?;
    let new = request_tags(call)?;
    call.iam.write(ChangeKind::Entities, |world| {
        let holdings = entity.holdings(account_mut(world, call)?, &name)?;
        if let Some(tags) = holdings.tags {
            tags.extend(new.clone());
            if tags.len() > TAGS_PER_ENTITY {
                return Err(AwsError::limit_exceeded(format!(
                    "Cannot exceed quota for TagsPerEntity: {TAGS_PER_ENTITY}"
                )));
            }
        }
        Ok(())
    })?;
    Ok(Vec::new())
}

pub(super) fn untag(call: &Call<'_>, entity: Entity) -> Result<Vec<Node>, AwsError> {
    let name = entity.name(call)?;
    let keys: Vec<String> = call
        .params
        .list("TagKeys.member")
        .into_iter()
        .map(str::to_owned)
        .collect();
    call.iam.write(ChangeKind::Entities, |world| {
        if let Some(tags) = entity.holdings(account_mut(world, call)?, &name)?.tags {
            tags.retain(|k, _| !keys.contains(k));
        }
        Ok(())
    })?;
    Ok(Vec::new())
}

/// `<Tags>` members.
pub(super) fn tag_nodes(tags: &BTreeMap<String, String>) -> Vec<Vec<Node>> {
    tags.iter()
        .map(|(k, v)| vec![Node::leaf("Key", k.clone()), Node::leaf("Value", v.clone())])
        .collect()
}

pub(super) fn list_tags(call: &Call<'_>, entity: Entity) -> Result<Vec<Node>, AwsError> {
    let name = entity.name(call)?;
    let mut account = account(&call.iam.world(), call)
        .cloned()
        .ok_or_else(|| entity.not_found(&name))?;
    let tags = entity
        .holdings(&mut account, &name)?
        .tags
        .map(|t| tag_nodes(t))
        .unwrap_or_default();
    Ok(vec![
        Node::List("Tags", tags),
        Node::leaf("IsTruncated", "false"),
    ])
}
