//! Users and their access keys.

use crate::api::Call;
use crate::error::AwsError;
use crate::iam::store::unique_id;
use crate::propagation::ChangeKind;
use crate::wire::xml::Node;
use crate::world::{AccessKeySpec, KeyStatus, UserSpec};

use super::*;

const ACCESS_KEYS_PER_USER: usize = 2;

/// The `User` fields AWS returns (also the members of ListUsers and GetGroup).
pub(super) fn user_fields(call: &Call<'_>, user: &UserSpec) -> Vec<Node> {
    let mut nodes = vec![
        Node::leaf("Path", user.path.clone()),
        Node::leaf("UserName", user.name.clone()),
        Node::leaf(
            "UserId",
            unique_id("AIDA", &call.caller.account, &user.name),
        ),
        Node::leaf("Arn", user_arn(call, &user.path, &user.name)),
        Node::leaf("CreateDate", user.created.clone().unwrap_or_default()),
    ];
    nodes.extend(super::entity::boundary_node(
        user.permissions_boundary.as_ref(),
    ));
    if !user.tags.is_empty() {
        nodes.push(Node::List("Tags", super::entity::tag_nodes(&user.tags)));
    }
    nodes
}

pub(super) fn create_user(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = valid_name(call, "UserName", required(call, "UserName")?, 64)?.to_owned();
    let path = valid_path(call, call.params.get("Path").unwrap_or("/"))?.to_owned();
    let user = UserSpec {
        name: name.clone(),
        path,
        managed_policies: Vec::new(),
        inline_policies: Default::default(),
        access_keys: Vec::new(),
        created: Some(now_iso(call)),
        groups: Vec::new(),
        permissions_boundary: None,
        tags: super::entity::request_tags(call)?,
    };
    let created = call.iam.write(ChangeKind::Entities, |world| {
        let account = account_mut(world, call)?;
        // IAM user names are unique regardless of case.
        if account
            .users
            .iter()
            .any(|u| u.name.eq_ignore_ascii_case(&name))
        {
            return Err(AwsError::entity_already_exists(format!(
                "User with name {name} already exists."
            )));
        }
        account.users.push_back(user.clone());
        Ok(user)
    })?;
    Ok(vec![Node::Branch("User", user_fields(call, &created))])
}

pub(super) fn get_user(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = target_user(call)?;
    let world = call.iam.world();
    let user = account(&world, call)
        .and_then(|a| a.users.iter().find(|u| u.name == name))
        .ok_or_else(|| no_such_user(&name))?;
    Ok(vec![Node::Branch("User", user_fields(call, user))])
}

pub(super) fn list_users(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let prefix = call.params.get("PathPrefix").unwrap_or("/");
    let world = call.iam.world();
    let mut users: Vec<&UserSpec> = account(&world, call)
        .map(|a| {
            a.users
                .iter()
                .filter(|u| u.path.starts_with(prefix))
                .collect()
        })
        .unwrap_or_default();
    users.sort_by(|a, b| a.name.cmp(&b.name));
    let (users, next) = page(call, users)?;
    let items = users.into_iter().map(|u| user_fields(call, u)).collect();
    let mut out = vec![Node::List("Users", items)];
    out.extend(truncation(next));
    Ok(out)
}

pub(super) fn delete_user(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = valid_name(call, "UserName", required(call, "UserName")?, 64)?.to_owned();
    call.iam.write(ChangeKind::Entities, |world| {
        let account = account_mut(world, call)?;
        let user = user_mut(account, &name)?;
        let conflict = if !user.access_keys.is_empty() {
            Some("Cannot delete entity, must delete access keys first.")
        } else if !user.inline_policies.is_empty() {
            Some("Cannot delete entity, must delete policies first.")
        } else if !user.managed_policies.is_empty() {
            Some("Cannot delete entity, must detach all policies first.")
        } else if !user.groups.is_empty() {
            Some("Cannot delete entity, must remove referenced objects first.")
        } else {
            None
        };
        if let Some(message) = conflict {
            return Err(AwsError::delete_conflict(message));
        }
        remove_where(&mut account.users, |u| u.name == name);
        Ok(())
    })?;
    Ok(Vec::new())
}

// ---- access keys ----

pub(super) fn random_string(alphabet: &[u8], len: usize) -> String {
    let mut bytes = vec![0u8; len];
    rand::fill(&mut bytes[..]);
    bytes
        .iter()
        .map(|b| alphabet[usize::from(*b) % alphabet.len()] as char)
        .collect()
}

pub(super) fn create_access_key(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = target_user(call)?;
    let key = AccessKeySpec {
        id: format!(
            "AKIA{}",
            random_string(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
        ),
        secret: random_string(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
            40,
        ),
        status: KeyStatus::Active,
        created: Some(now_iso(call)),
    };
    call.iam.write(ChangeKind::AccessKeys, |world| {
        let user = user_mut(account_mut(world, call)?, &name)?;
        // Inactive keys count too.
        if user.access_keys.len() >= ACCESS_KEYS_PER_USER {
            return Err(AwsError::limit_exceeded(format!(
                "Cannot exceed quota for AccessKeysPerUser: {ACCESS_KEYS_PER_USER}"
            )));
        }
        user.access_keys.push(key.clone());
        Ok(())
    })?;
    Ok(vec![Node::Branch(
        "AccessKey",
        vec![
            Node::leaf("UserName", name),
            Node::leaf("AccessKeyId", key.id.clone()),
            Node::leaf("Status", "Active"),
            Node::leaf("SecretAccessKey", key.secret.clone()),
            Node::leaf("CreateDate", key.created.clone().unwrap_or_default()),
        ],
    )])
}

pub(super) fn status_text(status: KeyStatus) -> &'static str {
    match status {
        KeyStatus::Active => "Active",
        KeyStatus::Inactive => "Inactive",
    }
}

pub(super) fn list_access_keys(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = target_user(call)?;
    let world = call.iam.world();
    let user = account(&world, call)
        .and_then(|a| a.users.iter().find(|u| u.name == name))
        .ok_or_else(|| no_such_user(&name))?;
    let (keys, next) = page(call, user.access_keys.iter().collect())?;
    let items = keys
        .into_iter()
        .map(|k| {
            vec![
                Node::leaf("UserName", name.clone()),
                Node::leaf("AccessKeyId", k.id.clone()),
                Node::leaf("Status", status_text(k.status)),
                Node::leaf("CreateDate", k.created.clone().unwrap_or_default()),
            ]
        })
        .collect();
    let mut out = vec![Node::List("AccessKeyMetadata", items)];
    out.extend(truncation(next));
    Ok(out)
}

pub(super) fn key_mut<'w>(
    user: &'w mut UserSpec,
    id: &str,
) -> Result<&'w mut AccessKeySpec, AwsError> {
    user.access_keys
        .iter_mut()
        .find(|k| k.id == id)
        .ok_or_else(|| {
            AwsError::no_such_entity(format!("The Access Key with id {id} cannot be found."))
        })
}

pub(super) fn update_access_key(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = target_user(call)?;
    let id = required(call, "AccessKeyId")?.to_owned();
    let status = match required(call, "Status")? {
        "Active" => KeyStatus::Active,
        "Inactive" => KeyStatus::Inactive,
        other => {
            return Err(AwsError::invalid_parameter_value(
                call.service,
                format!(
                    "1 validation error detected: Value '{other}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive, Expired]"
                ),
            ));
        }
    };
    call.iam.write(ChangeKind::AccessKeys, |world| {
        let user = user_mut(account_mut(world, call)?, &name)?;
        key_mut(user, &id)?.status = status;
        Ok(())
    })?;
    Ok(Vec::new())
}

pub(super) fn delete_access_key(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = target_user(call)?;
    let id = required(call, "AccessKeyId")?.to_owned();
    call.iam.write(ChangeKind::AccessKeys, |world| {
        let user = user_mut(account_mut(world, call)?, &name)?;
        key_mut(user, &id)?;
        user.access_keys.retain(|k| k.id != id);
        Ok(())
    })?;
    Ok(Vec::new())
}

pub(super) fn get_access_key_last_used(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let id = required(call, "AccessKeyId")?;
    let not_found =
        || AwsError::no_such_entity(format!("The Access Key with id {id} cannot be found."));
    let world = call.iam.world();
    let user = account(&world, call)
        .and_then(|a| {
            a.users
                .iter()
                .find(|u| u.access_keys.iter().any(|k| k.id == id))
        })
        .ok_or_else(not_found)?;
    let last = call
        .store
        .access_key(id)
        .and_then(|k| k.last_used.load_full());
    let details = match last {
        Some(u) => {
            let date = crate::times::iso_unix(u.minute.saturating_mul(60));
            vec![
                Node::leaf("LastUsedDate", date),
                Node::leaf("ServiceName", u.service),
                Node::leaf("Region", u.region.clone()),
            ]
        }
        // AWS's words for a key never used.
        None => vec![
            Node::leaf("ServiceName", "N/A"),
            Node::leaf("Region", "N/A"),
        ],
    };
    Ok(vec![
        Node::leaf("UserName", user.name.clone()),
        Node::Branch("AccessKeyLastUsed", details),
    ])
}
