//! Instance profiles (what an EC2 instance's role comes through) and OpenID Connect
//! providers (what IRSA web identities are checked against).

use crate::api::Call;
use crate::error::AwsError;
use crate::iam::store::unique_id;
use crate::propagation::ChangeKind;
use crate::wire::xml::Node;
use crate::world::{AccountSpec, InstanceProfileSpec, OidcProviderSpec};

use super::entity::Entity;
use super::*;

// ---- instance profiles ----

fn profile_fields(call: &Call<'_>, account: &AccountSpec, p: &InstanceProfileSpec) -> Vec<Node> {
    let roles = account
        .roles
        .iter()
        .filter(|r| p.roles.contains(&r.name))
        .map(|r| super::roles::role_fields(call, r))
        .collect();
    vec![
        Node::leaf("Path", p.path.clone()),
        Node::leaf("InstanceProfileName", p.name.clone()),
        Node::leaf(
            "InstanceProfileId",
            unique_id("AIPA", &call.caller.account, &p.name),
        ),
        Node::leaf(
            "Arn",
            entity_arn(call, "instance-profile", &p.path, &p.name),
        ),
        Node::leaf("CreateDate", p.created.clone().unwrap_or_default()),
        Node::List("Roles", roles),
    ]
}

fn profile_name(call: &Call<'_>) -> Result<String, AwsError> {
    Ok(valid_name(
        call,
        "InstanceProfileName",
        required(call, "InstanceProfileName")?,
        128,
    )?
    .to_owned())
}

fn no_such_profile(name: &str) -> AwsError {
    AwsError::no_such_entity(format!("Instance Profile {name} cannot be found."))
}

fn profile_mut<'w>(
    account: &'w mut AccountSpec,
    name: &str,
) -> Result<&'w mut InstanceProfileSpec, AwsError> {
    find_mut(&mut account.instance_profiles, |p| p.name == name)
        .ok_or_else(|| no_such_profile(name))
}

pub(super) fn create_instance_profile(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = profile_name(call)?;
    let path = valid_path(call, call.params.get("Path").unwrap_or("/"))?.to_owned();
    let profile = InstanceProfileSpec {
        name: name.clone(),
        path,
        roles: Vec::new(),
        created: Some(now_iso(call)),
    };
    let account = call.iam.write(ChangeKind::Entities, |world| {
        let account = account_mut(world, call)?;
        if account
            .instance_profiles
            .iter()
            .any(|p| p.name.eq_ignore_ascii_case(&name))
        {
            return Err(AwsError::entity_already_exists(format!(
                "Instance Profile {name} already exists."
            )));
        }
        account.instance_profiles.push_back(profile.clone());
        Ok(account.clone())
    })?;
    Ok(vec![Node::Branch(
        "InstanceProfile",
        profile_fields(call, &account, &profile),
    )])
}

pub(super) fn get_instance_profile(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = profile_name(call)?;
    let world = call.iam.world();
    let account = account(&world, call).ok_or_else(|| no_such_profile(&name))?;
    let profile = account
        .instance_profiles
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| no_such_profile(&name))?;
    Ok(vec![Node::Branch(
        "InstanceProfile",
        profile_fields(call, account, profile),
    )])
}

pub(super) fn add_role_to_instance_profile(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = profile_name(call)?;
    let role = valid_name(call, "RoleName", required(call, "RoleName")?, 64)?.to_owned();
    call.iam.write(ChangeKind::Entities, |world| {
        let account = account_mut(world, call)?;
        if !account.roles.iter().any(|r| r.name == role) {
            return Err(Entity::Role.not_found(&role));
        }
        let profile = profile_mut(account, &name)?;
        if profile.roles.contains(&role) {
            return Err(AwsError::entity_already_exists(format!(
                "Role {role} is already associated with instance profile {name}."
            )));
        }
        if !profile.roles.is_empty() {
            return Err(AwsError::limit_exceeded(
                "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1",
            ));
        }
        profile.roles.push(role.clone());
        Ok(())
    })?;
    Ok(Vec::new())
}

pub(super) fn remove_role_from_instance_profile(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = profile_name(call)?;
    let role = valid_name(call, "RoleName", required(call, "RoleName")?, 64)?.to_owned();
    call.iam.write(ChangeKind::Entities, |world| {
        let profile = profile_mut(account_mut(world, call)?, &name)?;
        if !profile.roles.contains(&role) {
            return Err(Entity::Role.not_found(&role));
        }
        profile.roles.retain(|r| r != &role);
        Ok(())
    })?;
    Ok(Vec::new())
}

pub(super) fn list_instance_profiles_for_role(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let role = valid_name(call, "RoleName", required(call, "RoleName")?, 64)?.to_owned();
    let world = call.iam.world();
    let account = account(&world, call).ok_or_else(|| Entity::Role.not_found(&role))?;
    if !account.roles.iter().any(|r| r.name == role) {
        return Err(Entity::Role.not_found(&role));
    }
    let profiles: Vec<_> = account
        .instance_profiles
        .iter()
        .filter(|p| p.roles.contains(&role))
        .collect();
    let (profiles, next) = page(call, profiles)?;
    let items = profiles
        .into_iter()
        .map(|p| profile_fields(call, account, p))
        .collect();
    let mut out = vec![Node::List("InstanceProfiles", items)];
    out.extend(truncation(next));
    Ok(out)
}

pub(super) fn delete_instance_profile(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = profile_name(call)?;
    call.iam.write(ChangeKind::Entities, |world| {
        let account = account_mut(world, call)?;
        if !profile_mut(account, &name)?.roles.is_empty() {
            return Err(AwsError::delete_conflict(
                "Cannot delete entity, must remove roles from instance profile first.",
            ));
        }
        remove_where(&mut account.instance_profiles, |p| p.name == name);
        Ok(())
    })?;
    Ok(Vec::new())
}

// ---- OpenID Connect providers ----

/// The provider ARN: `arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH` (the URL without scheme).
fn provider_arn(call: &Call<'_>, url: &str) -> String {
    crate::arn::oidc_provider(
        partition(call),
        &call.caller.account,
        url.trim_start_matches("https://"),
    )
}

fn no_such_provider(arn: &str) -> AwsError {
    AwsError::no_such_entity(format!("OpenIDConnect Provider not found for arn {arn}"))
}

fn provider_arn_param(call: &Call<'_>) -> Result<String, AwsError> {
    Ok(required(call, "OpenIDConnectProviderArn")?.to_owned())
}

fn provider_mut<'w>(
    account: &'w mut AccountSpec,
    call: &Call<'_>,
    arn: &str,
) -> Result<&'w mut OidcProviderSpec, AwsError> {
    find_mut(&mut account.open_id_connect_providers, |p| {
        provider_arn(call, &p.url) == arn
    })
    .ok_or_else(|| no_such_provider(arn))
}

pub(super) fn create_open_id_connect_provider(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let url = required(call, "Url")?.to_owned();
    if !url.starts_with("https://") || url.len() > 255 {
        return Err(AwsError::invalid_input(format!(
            "Invalid provider URL {url}: it must begin with https://"
        )));
    }
    let thumbprints: Vec<String> = call
        .params
        .list("ThumbprintList.member")
        .into_iter()
        .map(str::to_owned)
        .collect();
    if let Some(bad) = thumbprints
        .iter()
        .find(|t| t.len() != 40 || !t.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(AwsError::invalid_parameter_value(
            call.service,
            format!(
                "1 validation error detected: Value '{bad}' at 'thumbprintList' failed to satisfy constraint: Member must have length 40"
            ),
        ));
    }
    if thumbprints.len() > 5 {
        return Err(AwsError::limit_exceeded(
            "Cannot exceed quota for ThumbprintsPerOpenIdConnectProvider: 5",
        ));
    }
    let provider = OidcProviderSpec {
        url: url.clone(),
        client_ids: call
            .params
            .list("ClientIDList.member")
            .into_iter()
            .map(str::to_owned)
            .collect(),
        thumbprints,
        created: Some(now_iso(call)),
    };
    call.iam.write(ChangeKind::Entities, |world| {
        let account = account_mut(world, call)?;
        if account
            .open_id_connect_providers
            .iter()
            .any(|p| p.url == url)
        {
            return Err(AwsError::entity_already_exists(format!(
                "Provider with url {url} already exists."
            )));
        }
        account.open_id_connect_providers.push_back(provider);
        Ok(())
    })?;
    Ok(vec![Node::leaf(
        "OpenIDConnectProviderArn",
        provider_arn(call, &url),
    )])
}

pub(super) fn get_open_id_connect_provider(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let arn = provider_arn_param(call)?;
    let world = call.iam.world();
    let provider = account(&world, call)
        .and_then(|a| {
            a.open_id_connect_providers
                .iter()
                .find(|p| provider_arn(call, &p.url) == arn)
        })
        .ok_or_else(|| no_such_provider(&arn))?;
    Ok(vec![
        // IAM reports the URL without its scheme.
        Node::leaf(
            "Url",
            provider.url.trim_start_matches("https://").to_owned(),
        ),
        Node::TextList("ClientIDList", provider.client_ids.clone()),
        Node::TextList("ThumbprintList", provider.thumbprints.clone()),
        Node::leaf("CreateDate", provider.created.clone().unwrap_or_default()),
    ])
}

pub(super) fn list_open_id_connect_providers(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let world = call.iam.world();
    let items = account(&world, call)
        .map(|a| {
            a.open_id_connect_providers
                .iter()
                .map(|p| vec![Node::leaf("Arn", provider_arn(call, &p.url))])
                .collect()
        })
        .unwrap_or_default();
    Ok(vec![Node::List("OpenIDConnectProviderList", items)])
}

pub(super) fn add_client_id(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let arn = provider_arn_param(call)?;
    let client = required(call, "ClientID")?.to_owned();
    call.iam.write(ChangeKind::Entities, |world| {
        let provider = provider_mut(account_mut(world, call)?, call, &arn)?;
        if !provider.client_ids.contains(&client) {
            if provider.client_ids.len() >= 100 {
                return Err(AwsError::limit_exceeded(
                    "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100",
                ));
            }
            provider.client_ids.push(client.clone());
        }
        Ok(())
    })?;
    Ok(Vec::new())
}

pub(super) fn remove_client_id(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let arn = provider_arn_param(call)?;
    let client = required(call, "ClientID")?.to_owned();
    call.iam.write(ChangeKind::Entities, |world| {
        provider_mut(account_mut(world, call)?, call, &arn)?
            .client_ids
            .retain(|c| c != &client);
        Ok(())
    })?;
    Ok(Vec::new())
}

pub(super) fn delete_open_id_connect_provider(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let arn = provider_arn_param(call)?;
    call.iam.write(ChangeKind::Entities, |world| {
        let account = account_mut(world, call)?;
        provider_mut(account, call, &arn)?;
        remove_where(&mut account.open_id_connect_providers, |p| {
            provider_arn(call, &p.url) == arn
        });
        Ok(())
    })?;
    Ok(Vec::new())
}

/// The resource of an OIDC provider call.
pub(super) fn provider_resource(call: &Call<'_>) -> String {
    match (
        call.params.get("OpenIDConnectProviderArn"),
        call.params.get("Url"),
    ) {
        (Some(arn), _) => arn.to_owned(),
        (None, Some(url)) => provider_arn(call, url),
        (None, None) => crate::arn::oidc_provider(partition(call), &call.caller.account, ""),
    }
}
