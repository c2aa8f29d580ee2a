//! Seeding a region: what every account has (a default VPC with a default subnet per zone
//! and a default security group, Amazon's public images), plus what the world declares for
//! it (its `ec2` section, public images of other accounts, its `ec2` delegates).

use std::time::SystemTime;

use crate::partition::{Partition, Region};
use crate::wire::fingerprint;
use crate::world::{
    DelegateKind, DelegateSpec, Ec2RegionSpec, ImageSpec, KeyPairSpec, LaunchTemplateSpec, World,
};

use super::region::Resources;
use super::types::{
    INITIALIZING, Image, Instance, KeyPair, LaunchTemplate, Lifecycle, PENDING, ResourceKind,
    SecurityGroup, Subnet, Tags, Vpc, parse_cidr,
};

/// The account that owns Amazon's public images (Amazon Linux).
const AMAZON_OWNER: &str = "137112412989";

/// A time a world declares (RFC 3339); `validate` refuses worlds with one it cannot read.
pub(super) fn parse_time(text: &str) -> Option<SystemTime> {
    crate::times::parse_rfc3339(text).map(SystemTime::from)
}

/// An image's creation date, as EC2 writes it (RFC 3339, whole seconds).
fn format_time(t: SystemTime) -> String {
    crate::times::iso(t)
}

/// Amazon's public images in a region (Amazon Linux 2023, x86_64 and arm64), which every
/// account of the partition can see and launch.
fn amazon_images(region: &str, loaded: SystemTime) -> Vec<Image> {
    ["x86_64", "arm64"]
        .into_iter()
        .map(|arch| Image {
            id: format!(
                "ami-0{:016x}",
                fingerprint(&format!("al2023/{region}/{arch}"))
            ),
            owner: AMAZON_OWNER.to_owned(),
            owner_alias: Some("amazon"),
            name: format!("al2023-ami-2023.6.20241121.0-kernel-6.1-{arch}"),
            description: Some(
                "Amazon Linux 2023 AMI 2023.6.20241121.0 x86_64 HVM kernel-6.1"
                    .replace("x86_64", arch),
            ),
            architecture: arch.to_owned(),
            public: true,
            state: "available".to_owned(),
            created: format_time(loaded),
            tags: Tags::new(),
        })
        .collect()
}

/// An image of the world, owned by `owner`.
fn image_of(spec: &ImageSpec, owner: &str) -> Image {
    Image {
        id: spec.id.clone(),
        owner: owner.to_owned(),
        owner_alias: None,
        name: spec.name.clone(),
        description: spec.description.clone(),
        architecture: spec.architecture.clone(),
        public: spec.public,
        state: spec.state.clone(),
        created: spec.created.clone().unwrap_or_default(),
        tags: spec.tags.clone(),
    }
}

/// The id of a declared key pair: its own, or one derived from its name.
pub(super) fn key_pair_id(k: &KeyPairSpec) -> String {
    k.id.clone()
        .unwrap_or_else(|| format!("key-0{:016x}", fingerprint(&k.name)))
}

/// The id of a declared launch template: its own, or one derived from its name.
pub(super) fn launch_template_id(t: &LaunchTemplateSpec) -> String {
    t.id.clone()
        .unwrap_or_else(|| format!("lt-0{:016x}", fingerprint(&t.name)))
}

/// The resources of `account` in `region` as the world declares them.
pub(super) fn seed(
    world: &World,
    account: &str,
    region: &'static Region,
    now: SystemTime,
) -> Resources {
    let mut r = Resources::new(account, region);
    r.public_images = amazon_images(region.name, now)
        .into_iter()
        .map(|i| (i.id.clone(), i))
        .collect();
    for other in &world.accounts {
        if other.id == account || Partition::from_id(&other.partition) != Some(region.partition) {
            continue;
        }
        let Some(spec) = other.ec2.get(region.name) else {
            continue;
        };
        for image in spec.images.iter().filter(|i| i.public) {
            r.public_images
                .insert(image.id.clone(), image_of(image, &other.id));
        }
    }
    // The default VPC (172.31.0.0/16), a /20 default subnet per zone, its default group.
    let vpc_id = r.new_id(ResourceKind::Vpc);
    r.vpcs.insert(
        vpc_id.clone(),
        Vpc {
            id: vpc_id.clone(),
            cidr_block: "172.31.0.0/16".into(),
            is_default: true,
            tags: Tags::new(),
        },
    );
    for (i, zone) in r.zones.clone().into_iter().enumerate() {
        let id = r.new_id(ResourceKind::Subnet);
        r.subnets.insert(
            id.clone(),
            Subnet {
                id,
                vpc_id: vpc_id.clone(),
                cidr_block: format!("172.31.{}.0/20", i * 16),
                zone,
                default_for_az: true,
                tags: Tags::new(),
            },
        );
    }
    add_default_group(&mut r, &vpc_id, "default VPC security group");

    let spec = world
        .accounts
        .iter()
        .find(|a| a.id == account)
        .and_then(|a| a.ec2.get(region.name));
    if let Some(spec) = spec {
        add_declared(&mut r, spec, &vpc_id, now);
    }
    for delegate in &world.delegates {
        if delegate.kind == DelegateKind::Ec2
            && delegate.account == account
            && delegate.region == region.name
        {
            add_delegate_instance(&mut r, delegate, now);
        }
    }
    r
}

fn add_default_group(r: &mut Resources, vpc_id: &str, description: &str) {
    let id = r.new_id(ResourceKind::SecurityGroup);
    r.security_groups.insert(
        id.clone(),
        SecurityGroup {
            id,
            name: "default".into(),
            description: description.into(),
            vpc_id: vpc_id.to_owned(),
            tags: Tags::new(),
        },
    );
}

fn add_declared(r: &mut Resources, spec: &Ec2RegionSpec, default_vpc: &str, now: SystemTime) {
    for v in &spec.vpcs {
        r.vpcs.insert(
            v.id.clone(),
            Vpc {
                id: v.id.clone(),
                cidr_block: v.cidr_block.clone(),
                is_default: false,
                tags: v.tags.clone(),
            },
        );
        add_default_group(r, &v.id, "default VPC security group");
    }
    let first_zone = r.zones.first().cloned();
    for (n, s) in spec.subnets.iter().enumerate() {
        let zone = s
            .availability_zone
            .as_ref()
            .and_then(|name| r.zones.iter().find(|z| &z.name == name).cloned())
            .or_else(|| first_zone.clone());
        let Some(zone) = zone else { continue };
        r.subnets.insert(
            s.id.clone(),
            Subnet {
                id: s.id.clone(),
                vpc_id: s.vpc.clone().unwrap_or_else(|| default_vpc.to_owned()),
                cidr_block: s
                    .cidr_block
                    .clone()
                    .unwrap_or_else(|| subnet_cidr(r, s.vpc.as_deref(), n)),
                zone,
                default_for_az: false,
                tags: s.tags.clone(),
            },
        );
    }
    for g in &spec.security_groups {
        r.security_groups.insert(
            g.id.clone(),
            SecurityGroup {
                id: g.id.clone(),
                name: g.name.clone(),
                description: g.description.clone().unwrap_or_else(|| g.name.clone()),
                vpc_id: g.vpc.clone().unwrap_or_else(|| default_vpc.to_owned()),
                tags: g.tags.clone(),
            },
        );
    }
    for k in &spec.key_pairs {
        let id = key_pair_id(k);
        r.key_pairs.insert(
            k.name.clone(),
            KeyPair {
                fingerprint: key_fingerprint(&id),
                id,
                name: k.name.clone(),
                created: now,
                tags: k.tags.clone(),
            },
        );
    }
    for i in &spec.images {
        r.images.insert(i.id.clone(), image_of(i, &r.account));
    }
    for t in &spec.launch_templates {
        let id = launch_template_id(t);
        r.launch_templates.insert(
            id.clone(),
            LaunchTemplate {
                id,
                name: t.name.clone(),
                image: t.image.clone(),
                instance_type: t.instance_type.clone(),
                instance_profile: t.instance_profile.clone(),
                created: now,
                tags: t.tags.clone(),
            },
        );
    }
    for i in &spec.instances {
        let subnet = i
            .subnet
            .as_ref()
            .and_then(|s| r.subnets.get(s))
            .or_else(|| r.default_subnet())
            .cloned();
        let Some(subnet) = subnet else { continue };
        let groups = if i.security_groups.is_empty() {
            r.default_group(&subnet.vpc_id)
                .map(|g| vec![g.id.clone()])
                .unwrap_or_default()
        } else {
            i.security_groups.clone()
        };
        let profile = i.instance_profile.clone();
        let reservation_id = r.new_reservation_id();
        let private_ip = Resources::private_ip(&subnet, r.serial());
        r.instances.insert(
            i.id.clone(),
            Instance {
                id: i.id.clone(),
                reservation_id,
                image_id: i.image.clone(),
                instance_type: i.instance_type.clone(),
                key_name: i.key_name.clone(),
                subnet_id: subnet.id.clone(),
                vpc_id: subnet.vpc_id.clone(),
                zone: subnet.zone.name.clone(),
                private_ip,
                security_groups: groups,
                profile,
                // A declared instance is up, its status checks passed, when the world loads.
                launched: i.launched.as_deref().and_then(parse_time).map_or(now, |t| {
                    t.min(now.checked_sub(PENDING + INITIALIZING).unwrap_or(t))
                }),
                launch_index: 0,
                lifecycle: if i.state == "stopped" {
                    Lifecycle::Stopped
                } else {
                    Lifecycle::Started
                },
                tags: i.tags.clone(),
            },
        );
    }
}

/// The `n`th declared subnet's range when it names none: a /24 of its VPC (in the default
/// VPC, past the default subnets' /20s).
fn subnet_cidr(r: &Resources, vpc: Option<&str>, n: usize) -> String {
    let cidr = vpc
        .and_then(|v| r.vpcs.get(v))
        .or_else(|| r.default_vpc())
        .map_or("172.31.0.0/16", |v| v.cidr_block.as_str());
    let (net, bits) = parse_cidr(cidr).unwrap_or((0xac1f_0000, 16));
    let size = 1u64 << (32 - u32::from(bits));
    let start = if vpc.is_none() { size / 2 } else { 0 };
    let room = ((size - start) / 256).max(1);
    let offset = start + (n as u64 % room) * 256;
    let base = u64::from(net) + offset;
    let prefix = if bits > 24 { bits } else { 24 };
    format!(
        "{}/{prefix}",
        std::net::Ipv4Addr::from(u32::try_from(base).unwrap_or(net))
    )
}

/// An `ec2` delegate as a running instance of its region, with its instance profile.
pub(super) fn add_delegate_instance(r: &mut Resources, d: &DelegateSpec, now: SystemTime) {
    let Some(subnet) = r.default_subnet().cloned() else {
        return;
    };
    let id = d.instance_id();
    let profile = d.instance_profile.clone();
    let mut tags = Tags::from([("Name".to_owned(), d.name.clone())]);
    for tag in &d.tags {
        tags.insert(format!("trustbench:delegate-selector:{tag}"), String::new());
    }
    let reservation_id = r.new_reservation_id();
    let private_ip = Resources::private_ip(&subnet, r.serial());
    let groups = r
        .default_group(&subnet.vpc_id)
        .map(|g| vec![g.id.clone()])
        .unwrap_or_default();
    r.instances.insert(
        id.clone(),
        Instance {
            id,
            reservation_id,
            image_id: r
                .public_images
                .values()
                .find(|i| i.owner == AMAZON_OWNER && i.architecture == "x86_64")
                .map(|i| i.id.clone())
                .unwrap_or_default(),
            instance_type: "t3.medium".into(),
            key_name: None,
            subnet_id: subnet.id.clone(),
            vpc_id: subnet.vpc_id.clone(),
            zone: subnet.zone.name.clone(),
            private_ip,
            security_groups: groups,
            profile,
            // A delegate is up before anyone looks at it.
            launched: now.checked_sub(PENDING + INITIALIZING).unwrap_or(now),
            launch_index: 0,
            lifecycle: Lifecycle::Started,
            tags,
        },
    );
}

/// An MD5-style fingerprint (16 colon-separated bytes), stable per key pair.
fn key_fingerprint(id: &str) -> String {
    let a = fingerprint(id);
    let b = fingerprint(&format!("{id}/2"));
    a.to_be_bytes()
        .iter()
        .chain(b.to_be_bytes().iter())
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_without_a_range_get_one_inside_their_vpc() {
        let yaml = "accounts:\n  - id: '111111111111'\n    ec2:\n      us-east-1:\n        vpcs: [{id: vpc-0a0a0a0a0a0a0a0a0, cidr_block: 10.20.0.0/16}]\n        subnets: [{id: subnet-0b0b0b0b0b0b0b0b0, vpc: vpc-0a0a0a0a0a0a0a0a0}, {id: subnet-0b0b0b0b0b0b0b0b1}]\n";
        let world = World::from_yaml(yaml).expect("test world parses");
        let region = Region::find("us-east-1").expect("a region");
        let r = seed(&world, "111111111111", region, SystemTime::UNIX_EPOCH);
        let cidr = |id: &str| r.subnets.get(id).map(|s| s.cidr_block.clone());
        assert_eq!(
            cidr("subnet-0b0b0b0b0b0b0b0b0").as_deref(),
            Some("10.20.0.0/24")
        );
        assert_eq!(
            cidr("subnet-0b0b0b0b0b0b0b0b1").as_deref(),
            Some("172.31.129.0/24")
        );
    }
}
