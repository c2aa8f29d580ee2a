//! Groups and their members. A member's identity policies include its groups' policies
//! (attached and inline policies of groups are `entity`'s).

use crate::api::Call;
use crate::error::AwsError;
use crate::iam::store::unique_id;
use crate::propagation::ChangeKind;
use crate::wire::xml::Node;
use crate::world::{GroupSpec, World};

use super::entity::Entity;
use super::*;

const GROUPS_PER_USER: usize = 10;

fn group_node(call: &Call<'_>, group: &GroupSpec) -> Vec<Node> {
    vec![
        Node::leaf("Path", group.path.clone()),
        Node::leaf("GroupName", group.name.clone()),
        Node::leaf(
            "GroupId",
            unique_id("AGPA", &call.caller.account, &group.name),
        ),
        Node::leaf("Arn", entity_arn(call, "group", &group.path, &group.name)),
        Node::leaf("CreateDate", group.created.clone().unwrap_or_default()),
    ]
}

fn group_name(call: &Call<'_>) -> Result<String, AwsError> {
    Ok(valid_name(call, "GroupName", required(call, "GroupName")?, 128)?.to_owned())
}

pub(super) fn create_group(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = group_name(call)?;
    let path = valid_path(call, call.params.get("Path").unwrap_or("/"))?.to_owned();
    let group = GroupSpec {
        name: name.clone(),
        path,
        managed_policies: Vec::new(),
        inline_policies: Default::default(),
        created: Some(now_iso(call)),
    };
    call.iam.write(ChangeKind::Entities, |world| {
        let account = account_mut(world, call)?;
        if account
            .groups
            .iter()
            .any(|g| g.name.eq_ignore_ascii_case(&name))
        {
            return Err(AwsError::entity_already_exists(format!(
                "Group with name {name} already exists."
            )));
        }
        account.groups.push_back(group.clone());
        Ok(())
    })?;
    Ok(vec![Node::Branch("Group", group_node(call, &group))])
}

pub(super) fn get_group(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = group_name(call)?;
    let world = call.iam.world();
    let account = account(&world, call).ok_or_else(|| Entity::Group.not_found(&name))?;
    let group = account
        .groups
        .iter()
        .find(|g| g.name == name)
        .ok_or_else(|| Entity::Group.not_found(&name))?;
    let members: Vec<_> = account
        .users
        .iter()
        .filter(|u| u.groups.contains(&name))
        .collect();
    let (members, next) = page(call, members)?;
    let users = members
        .into_iter()
        .map(|u| super::users::user_fields(call, u))
        .collect();
    let mut out = vec![
        Node::Branch("Group", group_node(call, group)),
        Node::List("Users", users),
    ];
    out.extend(truncation(next));
    Ok(out)
}

fn check_group(world: &World, call: &Call<'_>, name: &str) -> Result<(), AwsError> {
    let exists = account(world, call).is_some_and(|a| a.groups.iter().any(|g| g.name == name));
    if exists {
        Ok(())
    } else {
        Err(Entity::Group.not_found(name))
    }
}

pub(super) fn delete_group(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = group_name(call)?;
    call.iam.write(ChangeKind::Entities, |world| {
        check_group(world, call, &name)?;
        let account = account_mut(world, call)?;
        if account.users.iter().any(|u| u.groups.contains(&name)) {
            return Err(AwsError::delete_conflict(
                "Cannot delete entity, must remove users from group first.",
            ));
        }
        let group = account
            .groups
            .iter()
            .find(|g| g.name == name)
            .ok_or_else(|| Entity::Group.not_found(&name))?;
        if !group.inline_policies.is_empty() {
            return Err(AwsError::delete_conflict(
                "Cannot delete entity, must delete policies first.",
            ));
        }
        if !group.managed_policies.is_empty() {
            return Err(AwsError::delete_conflict(
                "Cannot delete entity, must detach all policies first.",
            ));
        }
        remove_where(&mut account.groups, |g| g.name == name);
        Ok(())
    })?;
    Ok(Vec::new())
}

pub(super) fn add_user_to_group(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = group_name(call)?;
    let user = valid_name(call, "UserName", required(call, "UserName")?, 64)?.to_owned();
    call.iam.write(ChangeKind::GroupMembership, |world| {
        check_group(world, call, &name)?;
        let member = user_mut(account_mut(world, call)?, &user)?;
        if !member.groups.contains(&name) {
            if member.groups.len() >= GROUPS_PER_USER {
                return Err(AwsError::limit_exceeded(format!(
                    "Cannot exceed quota for GroupsPerUser: {GROUPS_PER_USER}"
                )));
            }
            member.groups.push(name.clone());
        }
        Ok(())
    })?;
    Ok(Vec::new())
}

pub(super) fn remove_user_from_group(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = group_name(call)?;
    let user = valid_name(call, "UserName", required(call, "UserName")?, 64)?.to_owned();
    call.iam.write(ChangeKind::GroupMembership, |world| {
        check_group(world, call, &name)?;
        let member = user_mut(account_mut(world, call)?, &user)?;
        member.groups.retain(|g| g != &name);
        Ok(())
    })?;
    Ok(Vec::new())
}

pub(super) fn list_groups_for_user(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let user = valid_name(call, "UserName", required(call, "UserName")?, 64)?.to_owned();
    let world = call.iam.world();
    let account = account(&world, call).ok_or_else(|| no_such_user(&user))?;
    let member = account
        .users
        .iter()
        .find(|u| u.name == user)
        .ok_or_else(|| no_such_user(&user))?;
    let groups: Vec<&GroupSpec> = account
        .groups
        .iter()
        .filter(|g| member.groups.contains(&g.name))
        .collect();
    let (groups, next) = page(call, groups)?;
    let mut out = vec![Node::List(
        "Groups",
        groups.into_iter().map(|g| group_node(call, g)).collect(),
    )];
    out.extend(truncation(next));
    Ok(out)
}
