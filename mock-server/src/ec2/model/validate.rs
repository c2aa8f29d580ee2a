//! Checks the `ec2` sections of a world before it is loaded, so seeding a region never
//! meets an id it cannot read or a reference that does not resolve.

use crate::partition::{Partition, Region};
use crate::world::{Ec2RegionSpec, World, WorldError};

use super::seed::{key_pair_id, launch_template_id, parse_time};
use super::types::{ResourceKind, parse_cidr, well_formed, zones};

/// Checks the `ec2` sections of a world: regions of the account's partition, well-formed
/// and unique ids, references that resolve.
pub(crate) fn validate(world: &World) -> Result<(), WorldError> {
    for account in &world.accounts {
        let partition = Partition::from_id(&account.partition);
        for (region_name, spec) in &account.ec2 {
            let context = format!("account {}, ec2 region {region_name}", account.id);
            let invalid = |message: String| WorldError::Invalid {
                context: context.clone(),
                message,
            };
            let region = Region::find(region_name)
                .ok_or_else(|| invalid(format!("{region_name} is not a region")))?;
            if Some(region.partition) != partition {
                return Err(invalid(format!(
                    "{region_name} is not a region of partition {}",
                    account.partition
                )));
            }
            validate_region(spec, region_name).map_err(invalid)?;
            for instance in &spec.instances {
                if let Some(profile) = &instance.instance_profile
                    && !account.instance_profiles.iter().any(|p| &p.name == profile)
                {
                    return Err(invalid(format!(
                        "instance {}: no instance profile {profile} in the account",
                        instance.id
                    )));
                }
            }
        }
    }
    Ok(())
}

fn validate_region(spec: &Ec2RegionSpec, region: &str) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    let mut check = |id: &str, kind: ResourceKind| {
        if !well_formed(id, kind) {
            let prefix = kind.id_prefix();
            return Err(format!(
                "{id} is not a {prefix} id ({prefix}- and 8 or 17 hex digits)"
            ));
        }
        if !seen.insert(id.to_owned()) {
            return Err(format!("{id} is declared twice"));
        }
        Ok(())
    };
    for v in &spec.vpcs {
        check(&v.id, ResourceKind::Vpc)?;
        parse_cidr(&v.cidr_block)
            .ok_or_else(|| format!("vpc {}: {} is not a /16–/28 CIDR", v.id, v.cidr_block))?;
    }
    for s in &spec.subnets {
        check(&s.id, ResourceKind::Subnet)?;
        if let Some(cidr) = &s.cidr_block {
            parse_cidr(cidr)
                .ok_or_else(|| format!("subnet {}: {cidr} is not a /16–/28 CIDR", s.id))?;
        }
        let vpc_cidr = match &s.vpc {
            Some(vpc) => match spec.vpcs.iter().find(|v| &v.id == vpc) {
                Some(v) => v.cidr_block.as_str(),
                None => return Err(format!("subnet {}: no vpc {vpc} in the region", s.id)),
            },
            None => "172.31.0.0/16",
        };
        if let (Some(cidr), Some((net, bits)), Some((vpc_net, vpc_bits))) = (
            &s.cidr_block,
            s.cidr_block.as_deref().and_then(parse_cidr),
            parse_cidr(vpc_cidr),
        ) {
            let mask = u32::MAX << (32 - u32::from(vpc_bits));
            if bits < vpc_bits || net & mask != vpc_net {
                return Err(format!(
                    "subnet {}: {cidr} is not inside its VPC's {vpc_cidr}",
                    s.id
                ));
            }
        }
        if let Some(zone) = &s.availability_zone
            && !zones(region).iter().any(|z| &z.name == zone)
        {
            return Err(format!("subnet {}: no zone {zone} in {region}", s.id));
        }
    }
    let mut group_names = std::collections::HashSet::new();
    for g in &spec.security_groups {
        check(&g.id, ResourceKind::SecurityGroup)?;
        if g.name == "default" {
            return Err(format!(
                "security group {}: every VPC has its own `default` group already",
                g.id
            ));
        }
        if !group_names.insert((g.vpc.as_deref(), g.name.as_str())) {
            return Err(format!(
                "security group {}: another group in its VPC is named {}",
                g.id, g.name
            ));
        }
        if let Some(vpc) = &g.vpc
            && !spec.vpcs.iter().any(|v| &v.id == vpc)
        {
            return Err(format!(
                "security group {}: no vpc {vpc} in the region",
                g.id
            ));
        }
    }
    for k in &spec.key_pairs {
        check(&key_pair_id(k), ResourceKind::KeyPair)
            .map_err(|e| format!("key pair {}: {e}", k.name))?;
    }
    for i in &spec.images {
        check(&i.id, ResourceKind::Image)?;
        if let Some(created) = &i.created
            && parse_time(created).is_none()
        {
            return Err(format!(
                "image {}: created {created} is not an RFC 3339 time",
                i.id
            ));
        }
    }
    for t in &spec.launch_templates {
        check(&launch_template_id(t), ResourceKind::LaunchTemplate)
            .map_err(|e| format!("launch template {}: {e}", t.name))?;
    }
    for i in &spec.instances {
        check(&i.id, ResourceKind::Instance)?;
        if let Some(launched) = &i.launched
            && parse_time(launched).is_none()
        {
            return Err(format!(
                "instance {}: launched {launched} is not an RFC 3339 time",
                i.id
            ));
        }
        if !well_formed(&i.image, ResourceKind::Image) {
            return Err(format!("instance {}: {} is not an image id", i.id, i.image));
        }
        if !matches!(i.state.as_str(), "running" | "stopped") {
            return Err(format!(
                "instance {}: state {} is not running or stopped",
                i.id, i.state
            ));
        }
        if let Some(subnet) = &i.subnet
            && !spec.subnets.iter().any(|s| &s.id == subnet)
        {
            return Err(format!(
                "instance {}: no subnet {subnet} in the region",
                i.id
            ));
        }
        for group in &i.security_groups {
            if !spec.security_groups.iter().any(|g| &g.id == group) {
                return Err(format!(
                    "instance {}: no security group {group} in the region",
                    i.id
                ));
            }
        }
        if let Some(key) = &i.key_name
            && !spec.key_pairs.iter().any(|k| &k.name == key)
        {
            return Err(format!(
                "instance {}: no key pair {key} in the region",
                i.id
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world(ec2: &str) -> Result<(), WorldError> {
        let yaml = format!("accounts:\n  - id: '111111111111'\n    ec2:\n      us-east-1:\n{ec2}");
        validate(&World::from_yaml(&yaml).expect("test world parses"))
    }

    #[test]
    fn worlds_with_inconsistent_ec2_resources_are_refused() {
        let refused = [
            (
                "        vpcs: [{id: vpc-0a0a0a0a0a0a0a0a0, cidr_block: 10.20.0.0/16}]\n        subnets: [{id: subnet-0b0b0b0b0b0b0b0b0, vpc: vpc-0a0a0a0a0a0a0a0a0, cidr_block: 10.21.1.0/24}]\n",
                "subnet subnet-0b0b0b0b0b0b0b0b0: 10.21.1.0/24 is not inside its VPC's 10.20.0.0/16".to_owned(),
            ),
            (
                "        security_groups: [{id: sg-0c0c0c0c0c0c0c0c0, name: default}]\n",
                "security group sg-0c0c0c0c0c0c0c0c0: every VPC has its own `default` group already".to_owned(),
            ),
            (
                "        security_groups: [{id: sg-0c0c0c0c0c0c0c0c1, name: web}, {id: sg-0c0c0c0c0c0c0c0c2, name: web}]\n",
                "security group sg-0c0c0c0c0c0c0c0c2: another group in its VPC is named web".to_owned(),
            ),
            (
                "        instances: [{id: i-0aaaaaaaaaaaaaaa1, image: ami-12345678, launched: yesterday}]\n",
                "instance i-0aaaaaaaaaaaaaaa1: launched yesterday is not an RFC 3339 time".to_owned(),
            ),
            (
                "        key_pairs: [{name: a}, {name: a}]\n",
                format!("key pair a: key-0{:016x} is declared twice", crate::wire::fingerprint("a")),
            ),
            (
                "        images: [{id: ami-1234567, name: short}]\n",
                "ami-1234567 is not a ami id (ami- and 8 or 17 hex digits)".to_owned(),
            ),
        ];
        for (ec2, expected) in refused {
            match world(ec2) {
                Err(WorldError::Invalid { context, message }) => assert_eq!(
                    (context.as_str(), message),
                    ("account 111111111111, ec2 region us-east-1", expected)
                ),
                other => panic!("{ec2}: expected a refusal, got {other:?}"),
            }
        }
        let accepted = "        vpcs: [{id: vpc-0a0a0a0a0a0a0a0a0, cidr_block: 10.20.0.0/16}]\n        subnets: [{id: subnet-0b0b0b0b0b0b0b0b0, vpc: vpc-0a0a0a0a0a0a0a0a0}, {id: subnet-0b0b0b0b0b0b0b0b1}]\n";
        world(accepted).expect("a consistent world is accepted");
    }
}
