//! IAM actions: users and access keys (`users`), managed policies (`policies`), the
//! policies attached to and embedded in users, groups and roles (`entity`), roles (`roles`)
//! and groups (`groups`).
//!
//! Handlers read the world snapshot and change it through `Iam::write`; every change is
//! validated by rebuilding the store, so what authentication and authorization see is always
//! consistent with what IAM answers. Error texts are AWS's, captured from real responses.

mod entity;
mod groups;
mod policies;
mod profiles;
mod roles;
mod users;

use crate::api::{ActionSpec, Authorization, Call};
use crate::error::AwsError;
use crate::iam::simulate;
use crate::iam::store::IdentityKind;
use crate::wire::xml::Node;
use crate::world::{AccountSpec, ManagedPolicySpec, UserSpec, World, find_mut, remove_where};

use entity::Entity::{self, Group, Role, User};

/// An IAM action row: the IAM action is `iam:` and the action's name, and the caller's
/// policies must allow it on the resource `$resource` names. With a fourth argument, the
/// handler is `$handler` applied to the call and that entity kind (`entity::attach, User`).
macro_rules! action {
    ($name:literal, $resource:expr, $handler:path, $entity:expr) => {
        action!($name, $resource, |c| $handler(c, $entity))
    };
    ($name:literal, $resource:expr, $handler:expr) => {
        ActionSpec {
            name: $name,
            iam_action: concat!("iam:", $name),
            authorization: Authorization::Policy($resource),
            handler: $handler,
        }
    };
}

/// The IAM actions served.
pub(crate) const ACTIONS: &[ActionSpec] = &[
    action!("CreateUser", user_resource, users::create_user),
    action!("GetUser", user_resource, users::get_user),
    action!("ListUsers", users_resource, users::list_users),
    action!("DeleteUser", user_resource, users::delete_user),
    action!("CreateAccessKey", user_resource, users::create_access_key),
    action!("ListAccessKeys", user_resource, users::list_access_keys),
    action!("UpdateAccessKey", user_resource, users::update_access_key),
    action!("DeleteAccessKey", user_resource, users::delete_access_key),
    action!("CreatePolicy", policy_resource, policies::create_policy),
    action!("GetPolicy", policy_resource, policies::get_policy),
    action!("DeletePolicy", policy_resource, policies::delete_policy),
    action!("AttachUserPolicy", user_resource, entity::attach, User),
    action!("DetachUserPolicy", user_resource, entity::detach, User),
    action!(
        "ListAttachedUserPolicies",
        user_resource,
        entity::list_attached,
        User
    ),
    action!("PutUserPolicy", user_resource, entity::put_inline, User),
    action!("GetUserPolicy", user_resource, entity::get_inline, User),
    action!(
        "DeleteUserPolicy",
        user_resource,
        entity::delete_inline,
        User
    ),
    action!("ListUserPolicies", user_resource, entity::list_inline, User),
    action!(
        "PutUserPermissionsBoundary",
        user_resource,
        entity::put_boundary,
        User
    ),
    action!(
        "DeleteUserPermissionsBoundary",
        user_resource,
        entity::delete_boundary,
        User
    ),
    action!("CreateRole", role_resource, roles::create_role),
    action!("GetRole", role_resource, roles::get_role),
    action!("ListRoles", roles_resource, roles::list_roles),
    action!("UpdateRole", role_resource, roles::update_role),
    action!(
        "UpdateAssumeRolePolicy",
        role_resource,
        roles::update_assume_role_policy
    ),
    action!("DeleteRole", role_resource, roles::delete_role),
    action!("AttachRolePolicy", role_resource, entity::attach, Role),
    action!("DetachRolePolicy", role_resource, entity::detach, Role),
    action!(
        "ListAttachedRolePolicies",
        role_resource,
        entity::list_attached,
        Role
    ),
    action!("PutRolePolicy", role_resource, entity::put_inline, Role),
    action!("GetRolePolicy", role_resource, entity::get_inline, Role),
    action!(
        "DeleteRolePolicy",
        role_resource,
        entity::delete_inline,
        Role
    ),
    action!("ListRolePolicies", role_resource, entity::list_inline, Role),
    action!(
        "PutRolePermissionsBoundary",
        role_resource,
        entity::put_boundary,
        Role
    ),
    action!(
        "DeleteRolePermissionsBoundary",
        role_resource,
        entity::delete_boundary,
        Role
    ),
    action!("CreateGroup", group_resource, groups::create_group),
    action!("GetGroup", group_resource, groups::get_group),
    action!("DeleteGroup", group_resource, groups::delete_group),
    action!("AddUserToGroup", group_resource, groups::add_user_to_group),
    action!(
        "RemoveUserFromGroup",
        group_resource,
        groups::remove_user_from_group
    ),
    action!(
        "ListGroupsForUser",
        user_resource,
        groups::list_groups_for_user
    ),
    action!("AttachGroupPolicy", group_resource, entity::attach, Group),
    action!("DetachGroupPolicy", group_resource, entity::detach, Group),
    action!(
        "ListAttachedGroupPolicies",
        group_resource,
        entity::list_attached,
        Group
    ),
    action!("PutGroupPolicy", group_resource, entity::put_inline, Group),
    action!("GetGroupPolicy", group_resource, entity::get_inline, Group),
    action!(
        "DeleteGroupPolicy",
        group_resource,
        entity::delete_inline,
        Group
    ),
    action!(
        "ListGroupPolicies",
        group_resource,
        entity::list_inline,
        Group
    ),
    action!(
        "CreatePolicyVersion",
        policy_resource,
        policies::create_policy_version
    ),
    action!(
        "GetPolicyVersion",
        policy_resource,
        policies::get_policy_version
    ),
    action!(
        "ListPolicyVersions",
        policy_resource,
        policies::list_policy_versions
    ),
    action!(
        "SetDefaultPolicyVersion",
        policy_resource,
        policies::set_default_policy_version
    ),
    action!(
        "DeletePolicyVersion",
        policy_resource,
        policies::delete_policy_version
    ),
    action!("ListPolicies", policies_resource, policies::list_policies),
    action!(
        "ListEntitiesForPolicy",
        policy_resource,
        policies::list_entities_for_policy
    ),
    action!(
        "CreateInstanceProfile",
        profile_resource,
        profiles::create_instance_profile
    ),
    action!(
        "GetInstanceProfile",
        profile_resource,
        profiles::get_instance_profile
    ),
    action!(
        "AddRoleToInstanceProfile",
        profile_resource,
        profiles::add_role_to_instance_profile
    ),
    action!(
        "RemoveRoleFromInstanceProfile",
        profile_resource,
        profiles::remove_role_from_instance_profile
    ),
    action!(
        "ListInstanceProfilesForRole",
        role_resource,
        profiles::list_instance_profiles_for_role
    ),
    action!(
        "DeleteInstanceProfile",
        profile_resource,
        profiles::delete_instance_profile
    ),
    action!(
        "CreateOpenIDConnectProvider",
        profiles::provider_resource,
        profiles::create_open_id_connect_provider
    ),
    action!(
        "GetOpenIDConnectProvider",
        profiles::provider_resource,
        profiles::get_open_id_connect_provider
    ),
    action!(
        "ListOpenIDConnectProviders",
        profiles::provider_resource,
        profiles::list_open_id_connect_providers
    ),
    action!(
        "AddClientIDToOpenIDConnectProvider",
        profiles::provider_resource,
        profiles::add_client_id
    ),
    action!(
        "RemoveClientIDFromOpenIDConnectProvider",
        profiles::provider_resource,
        profiles::remove_client_id
    ),
    action!(
        "DeleteOpenIDConnectProvider",
        profiles::provider_resource,
        profiles::delete_open_id_connect_provider
    ),
    action!("TagUser", user_resource, entity::tag, User),
    action!("UntagUser", user_resource, entity::untag, User),
    action!("ListUserTags", user_resource, entity::list_tags, User),
    action!("TagRole", role_resource, entity::tag, Role),
    action!("UntagRole", role_resource, entity::untag, Role),
    action!("ListRoleTags", role_resource, entity::list_tags, Role),
    action!(
        "GetAccessKeyLastUsed",
        key_owner_resource,
        users::get_access_key_last_used
    ),
    action!(
        "SimulatePrincipalPolicy",
        |c| c.params.get("PolicySourceArn").unwrap_or("*").to_owned(),
        simulate::simulate_principal_policy
    ),
    action!(
        "SimulateCustomPolicy",
        crate::api::any_resource,
        simulate::simulate_custom_policy
    ),
];

// ---- parameters and validation ----

/// A required parameter; AWS names the member in lower camel case in its message.
pub(super) fn required<'a>(call: &Call<'a>, name: &str) -> Result<&'a str, AwsError> {
    call.params.get(name).ok_or_else(|| {
        AwsError::invalid_parameter_value(
            call.service,
            format!(
                "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
                member(name)
            ),
        )
    })
}

pub(super) fn member(param: &str) -> String {
    let mut chars = param.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// IAM names: `[\w+=,.@-]+`, at most `max` characters.
pub(super) fn valid_name<'a>(
    call: &Call<'_>,
    param: &str,
    value: &'a str,
    max: usize,
) -> Result<&'a str, AwsError> {
    let member = member(param);
    if value.is_empty() || value.len() > max {
        return Err(AwsError::invalid_parameter_value(
            call.service,
            format!(
                "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must have length less than or equal to {max}"
            ),
        ));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
    {
        return Err(AwsError::invalid_parameter_value(
            call.service,
            format!(
                "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
            ),
        ));
    }
    Ok(value)
}

pub(super) fn valid_path<'a>(call: &Call<'_>, value: &'a str) -> Result<&'a str, AwsError> {
    let ok = value.starts_with('/')
        && value.ends_with('/')
        && value.len() <= 512
        && value.bytes().all(|b| (0x21..=0x7e).contains(&b));
    if ok {
        Ok(value)
    } else {
        Err(AwsError::invalid_parameter_value(
            call.service,
            format!(
                "1 validation error detected: Value '{value}' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)"
            ),
        ))
    }
}

/// The page `Marker`/`MaxItems` select, and the marker of the next page.
pub(crate) fn page<T>(
    call: &Call<'_>,
    items: Vec<T>,
) -> Result<(Vec<T>, Option<String>), AwsError> {
    let max = match call.params.get("MaxItems") {
        None => 100,
        Some(v) => match v.parse::<usize>() {
            Ok(n @ 1..=1000) => n,
            _ => {
                return Err(AwsError::invalid_parameter_value(
                    call.service,
                    format!(
                        "1 validation error detected: Value '{v}' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 1000"
                    ),
                ));
            }
        },
    };
    let start = match call.params.get("Marker") {
        None => 0,
        Some(m) => m
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= items.len())
            .ok_or_else(|| AwsError::invalid_input("Invalid Marker."))?,
    };
    let end = start.saturating_add(max).min(items.len());
    let next = (end < items.len()).then(|| end.to_string());
    Ok((
        items.into_iter().skip(start).take(end - start).collect(),
        next,
    ))
}

pub(crate) fn truncation(next: Option<String>) -> Vec<Node> {
    match next {
        Some(marker) => vec![
            Node::leaf("IsTruncated", "true"),
            Node::leaf("Marker", marker),
        ],
        None => vec![Node::leaf("IsTruncated", "false")],
    }
}

// ---- lookups ----

pub(super) fn account<'w>(world: &'w World, call: &Call<'_>) -> Option<&'w AccountSpec> {
    world.accounts.iter().find(|a| a.id == call.caller.account)
}

pub(super) fn account_mut<'w>(
    world: &'w mut World,
    call: &Call<'_>,
) -> Result<&'w mut AccountSpec, AwsError> {
    world
        .accounts
        .iter_mut()
        .find(|a| a.id == call.caller.account)
        .ok_or_else(|| AwsError::no_such_entity("The caller's account is not in this world."))
}

pub(super) fn no_such_user(name: &str) -> AwsError {
    AwsError::no_such_entity(format!("The user with name {name} cannot be found."))
}

pub(super) fn user_mut<'w>(
    account: &'w mut AccountSpec,
    name: &str,
) -> Result<&'w mut UserSpec, AwsError> {
    find_mut(&mut account.users, |u| u.name == name).ok_or_else(|| no_such_user(name))
}

/// The user the call is about: `UserName`, or the calling user when absent.
pub(super) fn target_user<'a>(call: &Call<'a>) -> Result<String, AwsError> {
    match call.params.get("UserName") {
        Some(name) => Ok(valid_name(call, "UserName", name, 64)?.to_owned()),
        None => match &call.caller.kind {
            IdentityKind::User { name } => Ok(name.clone()),
            IdentityKind::Root
            | IdentityKind::AssumedRole { .. }
            | IdentityKind::Anonymous
            | IdentityKind::FederatedUser { .. } => Err(AwsError::invalid_parameter_value(
                call.service,
                "Must specify userName when calling with non-User credentials",
            )),
        },
    }
}

pub(super) fn partition(call: &Call<'_>) -> crate::partition::Partition {
    call.caller.partition
}

pub(super) fn user_arn(call: &Call<'_>, path: &str, name: &str) -> String {
    crate::arn::iam_entity(partition(call), &call.caller.account, "user", path, name)
}

pub(super) fn policy_arn(call: &Call<'_>, path: &str, name: &str) -> String {
    crate::arn::iam_entity(partition(call), &call.caller.account, "policy", path, name)
}

/// Whether `arn` is the ARN of the customer managed policy `policy` (the name is compared
/// first: accounts may hold tens of thousands of policies).
pub(super) fn is_policy_arn(call: &Call<'_>, policy: &ManagedPolicySpec, arn: &str) -> bool {
    arn.ends_with(policy.name.as_str()) && policy_arn(call, &policy.path, &policy.name) == arn
}

/// The server clock's now, as IAM dates are written.
pub(super) fn now_iso(call: &Call<'_>) -> String {
    crate::times::iso(call.now)
}

// ---- resources for authorization ----

/// The ARN of an entity of the caller's account, by kind, path and name.
pub(super) fn entity_arn(call: &Call<'_>, kind: &str, path: &str, name: &str) -> String {
    crate::arn::iam_entity(partition(call), &call.caller.account, kind, path, name)
}

/// The resource of a call about one role or group: its ARN, with the path the world has
/// for it (or the request's `Path`, when creating it).
fn named_resource(call: &Call<'_>, entity: Entity) -> String {
    let name = call.params.get(entity.param()).unwrap_or_default();
    let world = call.iam.world();
    let path = account(&world, call)
        .and_then(|a| entity.path_of(a, name))
        .unwrap_or_else(|| call.params.get("Path").unwrap_or("/").to_owned());
    entity_arn(call, entity.noun(), &path, name)
}

fn role_resource(call: &Call<'_>) -> String {
    named_resource(call, Role)
}

fn group_resource(call: &Call<'_>) -> String {
    named_resource(call, Group)
}

fn profile_resource(call: &Call<'_>) -> String {
    let name = call.params.get("InstanceProfileName").unwrap_or_default();
    let world = call.iam.world();
    let path = account(&world, call)
        .and_then(|a| a.instance_profiles.iter().find(|p| p.name == name))
        .map_or_else(
            || call.params.get("Path").unwrap_or("/").to_owned(),
            |p| p.path.clone(),
        );
    entity_arn(call, "instance-profile", &path, name)
}

/// The user that owns the `AccessKeyId` of the call.
fn key_owner_resource(call: &Call<'_>) -> String {
    let id = call.params.get("AccessKeyId").unwrap_or_default();
    let world = call.iam.world();
    account(&world, call)
        .and_then(|a| {
            a.users
                .iter()
                .find(|u| u.access_keys.iter().any(|k| k.id == id))
        })
        .map_or_else(
            || users_resource(call),
            |u| user_arn(call, &u.path, &u.name),
        )
}

fn policies_resource(call: &Call<'_>) -> String {
    crate::arn::iam(partition(call), &call.caller.account, "policy/")
}

fn roles_resource(call: &Call<'_>) -> String {
    crate::arn::iam(partition(call), &call.caller.account, "role/")
}

fn user_resource(call: &Call<'_>) -> String {
    let name = match call.params.get("UserName") {
        Some(n) => n.to_owned(),
        None => match &call.caller.kind {
            IdentityKind::User { name } => name.clone(),
            IdentityKind::Root
            | IdentityKind::AssumedRole { .. }
            | IdentityKind::Anonymous
            | IdentityKind::FederatedUser { .. } => {
                return call.caller.arn.to_string();
            }
        },
    };
    let world = call.iam.world();
    let path = account(&world, call)
        .and_then(|a| a.users.iter().find(|u| u.name == name))
        .map_or_else(
            || call.params.get("Path").unwrap_or("/").to_owned(),
            |u| u.path.clone(),
        );
    user_arn(call, &path, &name)
}

pub(super) fn users_resource(call: &Call<'_>) -> String {
    crate::arn::iam(partition(call), &call.caller.account, "user/")
}

pub(super) fn policy_resource(call: &Call<'_>) -> String {
    match call.params.get("PolicyArn") {
        Some(arn) => arn.to_owned(),
        None => policy_arn(
            call,
            call.params.get("Path").unwrap_or("/"),
            call.params.get("PolicyName").unwrap_or_default(),
        ),
    }
}
