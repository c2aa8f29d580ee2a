//! The world checks of delegates (unique names usable in URLs, known accounts, regions of
//! the account's partition, roles of the right account, only their kind's settings), and the
//! instance profiles `ec2` delegates get, as the console makes them.

use crate::partition::Partition;

use super::{DelegateKind, InstanceProfileSpec, World, WorldError};

/// Checks the world's delegates: unique names usable in URLs, known accounts, regions of the
/// account's partition, roles of the right account, and only the settings of their kind.
fn check(world: &World) -> Result<(), WorldError> {
    let mut names = std::collections::HashSet::new();
    for d in &world.delegates {
        let invalid = |message: String| WorldError::Invalid {
            context: format!("delegate {}", d.name),
            message,
        };
        let name_ok = (1..=64).contains(&d.name.len())
            && d.name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !name_ok {
            return Err(invalid(
                "names are 1 to 64 letters, digits, `-`, `_` or `.`".into(),
            ));
        }
        if !names.insert(d.name.as_str()) {
            return Err(invalid("delegate names must be unique".into()));
        }
        let account = world
            .accounts
            .iter()
            .find(|a| a.id == d.account)
            .ok_or_else(|| invalid(format!("account {} is not in the world", d.account)))?;
        let partition = Partition::from_id(&account.partition)
            .ok_or_else(|| invalid(format!("unknown partition {}", account.partition)))?;
        if !partition.regions().iter().any(|r| r.name == d.region) {
            return Err(invalid(format!(
                "region {} is not a region of partition {partition}",
                d.region
            )));
        }
        if let Some(role) = &d.role_arn {
            // `arn:PARTITION:iam::`, before the account.
            let empty = crate::arn::iam(partition, "", "");
            let prefix = empty.strip_suffix(':').unwrap_or(&empty);
            let in_account = role
                .strip_prefix(prefix)
                .and_then(|r| r.split_once(":role/"))
                .is_some_and(|(acct, name)| {
                    !name.is_empty() && (acct == d.account || d.kind == DelegateKind::Eks)
                });
            if !in_account {
                return Err(invalid(format!(
                    "role_arn {role} must be a role ARN of partition {partition}{}",
                    if d.kind == DelegateKind::Eks {
                        ""
                    } else {
                        " in the delegate's account"
                    }
                )));
            }
        }
        let foreign: Vec<&str> = [
            ("instance_id", d.instance_id.is_some(), DelegateKind::Ec2),
            (
                "instance_profile",
                d.instance_profile.is_some(),
                DelegateKind::Ec2,
            ),
            ("http_tokens", d.http_tokens.is_some(), DelegateKind::Ec2),
            (
                "http_protocol_ipv6",
                d.http_protocol_ipv6,
                DelegateKind::Ec2,
            ),
            (
                "http_put_response_hop_limit",
                d.http_put_response_hop_limit.is_some(),
                DelegateKind::Ec2,
            ),
            ("auth_token", d.auth_token.is_some(), DelegateKind::Ecs),
            (
                "auth_token_in_file",
                d.auth_token_in_file,
                DelegateKind::Ecs,
            ),
            ("issuer", d.issuer.is_some(), DelegateKind::Eks),
            ("namespace", d.namespace.is_some(), DelegateKind::Eks),
            (
                "service_account",
                d.service_account.is_some(),
                DelegateKind::Eks,
            ),
            ("node", d.node.is_some(), DelegateKind::Eks),
            ("unrotated_token", d.unrotated_token, DelegateKind::Eks),
        ]
        .into_iter()
        .filter(|(_, set, kind)| *set && *kind != d.kind)
        .map(|(field, _, _)| field)
        .collect();
        if !foreign.is_empty() {
            return Err(invalid(format!(
                "{} do(es) not apply to a delegate of kind {}",
                foreign.join(", "),
                kind_name(d.kind)
            )));
        }
        if d.kind == DelegateKind::Eks {
            let issuer = d.issuer.as_deref().unwrap_or_default();
            if !issuer.starts_with("https://") {
                return Err(invalid(
                    "an eks delegate needs `issuer`, the cluster's OIDC issuer URL (https://…)"
                        .into(),
                ));
            }
            if d.namespace.as_deref().is_none_or(str::is_empty)
                || d.service_account.as_deref().is_none_or(str::is_empty)
            {
                return Err(invalid(
                    "an eks delegate needs `namespace` and `service_account`".into(),
                ));
            }
        }
        if d.http_put_response_hop_limit
            .is_some_and(|hops| !(1..=64).contains(&hops))
        {
            return Err(invalid(
                "http_put_response_hop_limit is 1 to 64 (EC2's HttpPutResponseHopLimit)".into(),
            ));
        }
        if let Some(node) = &d.node
            && !world
                .delegates
                .iter()
                .any(|n| &n.name == node && n.kind == DelegateKind::Ec2)
        {
            return Err(invalid(format!(
                "node {node} is not an ec2 delegate of the world (the instance the pod runs on)"
            )));
        }
        if let Some(id) = &d.instance_id {
            let hex = id.strip_prefix("i-").unwrap_or_default();
            if !matches!(hex.len(), 8 | 17) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(invalid(format!(
                    "instance_id {id} is not an instance id (i- and 8 or 17 hex digits)"
                )));
            }
        }
    }
    Ok(())
}

/// The world with its delegates checked and their instance profiles made (see `prepare`).
pub(crate) fn prepared(mut world: World) -> Result<World, WorldError> {
    check(&world)?;
    prepare(&mut world);
    Ok(world)
}

/// Gives each `ec2` delegate with a role and no named instance profile one named after the
/// role (made in its account unless it exists), as the console does.
fn prepare(world: &mut World) {
    for d in &mut world.delegates {
        if d.kind != DelegateKind::Ec2 || d.instance_profile.is_some() {
            continue;
        }
        let Some(role) = d
            .role_arn
            .as_deref()
            .and_then(|arn| arn.rsplit('/').next())
            .map(str::to_owned)
        else {
            continue;
        };
        if let Some(account) = world.accounts.iter_mut().find(|a| a.id == d.account)
            && !account.instance_profiles.iter().any(|p| p.name == role)
        {
            account.instance_profiles.push_back(InstanceProfileSpec {
                name: role.clone(),
                path: "/".into(),
                roles: vec![role.clone()],
                created: None,
            });
        }
        d.instance_profile = Some(role);
    }
}

fn kind_name(kind: DelegateKind) -> &'static str {
    match kind {
        DelegateKind::Ec2 => "ec2",
        DelegateKind::Ecs => "ecs",
        DelegateKind::Eks => "eks",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world(delegate: &str) -> World {
        World::from_yaml(&format!(
            "accounts: [{{id: '111111111111'}}]\ndelegates: [{delegate}]\n"
        ))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn an_unrotated_token_is_an_eks_setting_only() {
        let eks = world(
            "{name: pod, kind: eks, account: '111111111111', issuer: 'https://oidc.example', namespace: ns, service_account: sa, unrotated_token: true}",
        );
        let ec2 = world("{name: box, kind: ec2, account: '111111111111', unrotated_token: true}");

        assert!(check(&eks).is_ok());
        let refused = check(&ec2).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(refused.contains("unrotated_token"), "{refused}");
    }
}
