//! Roles: their trust policy (`AssumeRolePolicyDocument`), session limit, description and
//! boundary. Attached and inline role policies are `entity`'s.

use serde_json::Value;

use crate::api::Call;
use crate::error::AwsError;
use crate::iam::store::unique_id;
use crate::policy::trust::parse_trust_policy;
use crate::propagation::ChangeKind;
use crate::wire::query::url_encode_document;
use crate::wire::xml::Node;
use crate::world::RoleSpec;

use super::entity::{Entity, boundary_node, document_text, policy_size};
use super::*;

/// IAM's default quota on a trust policy's size.
const TRUST_POLICY_BYTES: usize = 2048;

/// The `Role` fields AWS returns (also inside instance profiles).
pub(super) fn role_fields(call: &Call<'_>, role: &RoleSpec) -> Vec<Node> {
    let mut nodes = vec![
        Node::leaf("Path", role.path.clone()),
        Node::leaf("RoleName", role.name.clone()),
        Node::leaf(
            "RoleId",
            unique_id("AROA", &call.caller.account, &role.name),
        ),
        Node::leaf("Arn", entity_arn(call, "role", &role.path, &role.name)),
        Node::leaf("CreateDate", role.created.clone().unwrap_or_default()),
        Node::leaf(
            "AssumeRolePolicyDocument",
            url_encode_document(&document_text(&role.trust_policy)),
        ),
    ];
    if let Some(d) = &role.description {
        nodes.push(Node::leaf("Description", d.clone()));
    }
    nodes.push(Node::leaf(
        "MaxSessionDuration",
        role.max_session_duration.to_string(),
    ));
    nodes.extend(boundary_node(role.permissions_boundary.as_ref()));
    nodes
}

fn trust_policy(call: &Call<'_>, param: &str) -> Result<String, AwsError> {
    let document = required(call, param)?;
    parse_trust_policy(document).map_err(AwsError::malformed_policy_document)?;
    if policy_size(document) > TRUST_POLICY_BYTES {
        return Err(AwsError::limit_exceeded(format!(
            "Cannot exceed quota for ACLSizePerRole: {TRUST_POLICY_BYTES}"
        )));
    }
    Ok(document.to_owned())
}

fn max_session(call: &Call<'_>) -> Result<Option<u32>, AwsError> {
    let Some(raw) = call.params.get("MaxSessionDuration") else {
        return Ok(None);
    };
    match raw.parse::<u32>() {
        Ok(n @ 3600..=43200) => Ok(Some(n)),
        Ok(n) if n < 3600 => Err(AwsError::invalid_parameter_value(
            call.service,
            format!(
                "1 validation error detected: Value '{raw}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600"
            ),
        )),
        _ => Err(AwsError::invalid_parameter_value(
            call.service,
            format!(
                "1 validation error detected: Value '{raw}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value less than or equal to 43200"
            ),
        )),
    }
}

fn role_name(call: &Call<'_>) -> Result<String, AwsError> {
    Ok(valid_name(call, "RoleName", required(call, "RoleName")?, 64)?.to_owned())
}

pub(super) fn create_role(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = role_name(call)?;
    let path = valid_path(call, call.params.get("Path").unwrap_or("/"))?.to_owned();
    let trust = trust_policy(call, "AssumeRolePolicyDocument")?;
    let role = RoleSpec {
        name: name.clone(),
        path,
        trust_policy: Value::String(trust),
        managed_policies: Vec::new(),
        inline_policies: Default::default(),
        max_session_duration: max_session(call)?.unwrap_or(3600),
        description: call.params.get("Description").map(str::to_owned),
        permissions_boundary: call.params.get("PermissionsBoundary").map(str::to_owned),
        tags: super::entity::request_tags(call)?,
        created: Some(now_iso(call)),
    };
    call.iam.write(ChangeKind::Entities, |world| {
        let account = account_mut(world, call)?;
        if account
            .roles
            .iter()
            .any(|r| r.name.eq_ignore_ascii_case(&name))
        {
            return Err(AwsError::entity_already_exists(format!(
                "Role with name {name} already exists."
            )));
        }
        if let Some(arn) = &role.permissions_boundary
            && !super::entity::attachable(account, call, arn)
        {
            return Err(AwsError::no_such_entity(format!(
                "Scope ARN: {arn} does not exist or is not attachable."
            )));
        }
        account.roles.push_back(role.clone());
        Ok(())
    })?;
    Ok(vec![Node::Branch("Role", role_fields(call, &role))])
}

fn with_role<T>(
    call: &Call<'_>,
    name: &str,
    read: impl FnOnce(&RoleSpec) -> T,
) -> Result<T, AwsError> {
    let world = call.iam.world();
    account(&world, call)
        .and_then(|a| a.roles.iter().find(|r| r.name == name))
        .map(read)
        .ok_or_else(|| Entity::Role.not_found(name))
}

pub(super) fn get_role(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = role_name(call)?;
    let nodes = with_role(call, &name, |r| role_fields(call, r))?;
    Ok(vec![Node::Branch("Role", nodes)])
}

pub(super) fn list_roles(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let prefix = call.params.get("PathPrefix").unwrap_or("/");
    let world = call.iam.world();
    let mut roles: Vec<&RoleSpec> = account(&world, call)
        .map(|a| {
            a.roles
                .iter()
                .filter(|r| r.path.starts_with(prefix))
                .collect()
        })
        .unwrap_or_default();
    roles.sort_by(|a, b| a.name.cmp(&b.name));
    let (roles, next) = page(call, roles)?;
    let mut out = vec![Node::List(
        "Roles",
        roles.into_iter().map(|r| role_fields(call, r)).collect(),
    )];
    out.extend(truncation(next));
    Ok(out)
}

fn role_mut<'w>(
    world: &'w mut crate::world::World,
    call: &Call<'_>,
    name: &str,
) -> Result<&'w mut RoleSpec, AwsError> {
    find_mut(&mut account_mut(world, call)?.roles, |r| r.name == name)
        .ok_or_else(|| Entity::Role.not_found(name))
}

pub(super) fn update_role(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = role_name(call)?;
    let max = max_session(call)?;
    let description = call.params.get("Description").map(str::to_owned);
    call.iam.write(ChangeKind::Entities, |world| {
        let role = role_mut(world, call, &name)?;
        if let Some(max) = max {
            role.max_session_duration = max;
        }
        if description.is_some() {
            role.description = description;
        }
        Ok(())
    })?;
    Ok(Vec::new())
}

pub(super) fn update_assume_role_policy(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = role_name(call)?;
    let trust = trust_policy(call, "PolicyDocument")?;
    call.iam.write(ChangeKind::TrustPolicies, |world| {
        role_mut(world, call, &name)?.trust_policy = Value::String(trust);
        Ok(())
    })?;
    Ok(Vec::new())
}

pub(super) fn delete_role(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = role_name(call)?;
    call.iam.write(ChangeKind::Entities, |world| {
        let role = role_mut(world, call, &name)?;
        if !role.inline_policies.is_empty() {
            return Err(AwsError::delete_conflict(
                "Cannot delete entity, must delete policies first.",
            ));
        }
        if !role.managed_policies.is_empty() {
            return Err(AwsError::delete_conflict(
                "Cannot delete entity, must detach all policies first.",
            ));
        }
        let account = account_mut(world, call)?;
        if account
            .instance_profiles
            .iter()
            .any(|p| p.roles.contains(&name))
        {
            return Err(AwsError::delete_conflict(
                "Cannot delete entity, must remove roles from instance profile first.",
            ));
        }
        remove_where(&mut account.roles, |r| r.name == name);
        Ok(())
    })?;
    Ok(Vec::new())
}
