//! EC2's resource types as this server keeps them, the ids that name them, and how an
//! instance's state moves on the server clock.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// How long a launched instance is `pending` before it is `running`.
pub(crate) const PENDING: Duration = Duration::from_secs(10);
/// How long a terminated instance is `shutting-down` before it is `terminated`.
pub(crate) const SHUTTING_DOWN: Duration = Duration::from_secs(10);
/// How long a terminated instance stays visible, as on AWS ("about an hour").
pub(crate) const TERMINATED_VISIBLE: Duration = Duration::from_secs(3600);
/// How long a running instance's status checks say `initializing`.
pub(crate) const INITIALIZING: Duration = Duration::from_secs(60);

/// Resource tags, by key.
pub(crate) type Tags = BTreeMap<String, String>;

/// An availability zone.
#[derive(Debug, Clone)]
pub(crate) struct Zone {
    /// `us-east-1a`
    pub(crate) name: String,
    /// `use1-az1`
    pub(crate) id: String,
}

/// The zones of a region: `REGIONa…`, with ids `PREFIX-azN` (`use1-az1`).
pub(crate) fn zones(region: &str) -> Vec<Zone> {
    let count = match region {
        "us-east-1" => 6,
        "us-west-2" => 4,
        _ => 3,
    };
    let prefix = zone_id_prefix(region);
    (0..count)
        .map(|i| Zone {
            name: format!("{region}{}", char::from(b'a' + i)),
            id: format!("{prefix}-az{}", i + 1),
        })
        .collect()
}

/// `us-east-1` → `use1`, `us-gov-west-1` → `usgw1`, `ap-northeast-2` → `apne2`.
fn zone_id_prefix(region: &str) -> String {
    let mut out = String::new();
    for part in region.split('-') {
        match part {
            "gov" => out.push('g'),
            "east" => out.push('e'),
            "west" => out.push('w'),
            "north" => out.push('n'),
            "south" => out.push('s'),
            "central" => out.push('c'),
            "northeast" => out.push_str("ne"),
            "northwest" => out.push_str("nw"),
            "southeast" => out.push_str("se"),
            "southwest" => out.push_str("sw"),
            other => out.push_str(other),
        }
    }
    out
}

/// A VPC.
#[derive(Debug, Clone)]
pub(crate) struct Vpc {
    pub(crate) id: String,
    pub(crate) cidr_block: String,
    pub(crate) is_default: bool,
    pub(crate) tags: Tags,
}

/// A subnet.
#[derive(Debug, Clone)]
pub(crate) struct Subnet {
    pub(crate) id: String,
    pub(crate) vpc_id: String,
    pub(crate) cidr_block: String,
    pub(crate) zone: Zone,
    pub(crate) default_for_az: bool,
    pub(crate) tags: Tags,
}

/// A security group.
#[derive(Debug, Clone)]
pub(crate) struct SecurityGroup {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) vpc_id: String,
    pub(crate) tags: Tags,
}

/// A key pair.
#[derive(Debug, Clone)]
pub(crate) struct KeyPair {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) fingerprint: String,
    pub(crate) created: SystemTime,
    pub(crate) tags: Tags,
}

/// An image (AMI).
#[derive(Debug, Clone)]
pub(crate) struct Image {
    pub(crate) id: String,
    pub(crate) owner: String,
    /// `amazon` for Amazon's images.
    pub(crate) owner_alias: Option<&'static str>,
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) architecture: String,
    pub(crate) public: bool,
    pub(crate) state: String,
    pub(crate) created: String,
    pub(crate) tags: Tags,
}

/// A launch template (its one version).
#[derive(Debug, Clone)]
pub(crate) struct LaunchTemplate {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) image: Option<String>,
    pub(crate) instance_type: Option<String>,
    pub(crate) instance_profile: Option<String>,
    pub(crate) created: SystemTime,
    pub(crate) tags: Tags,
}

/// Where an instance is in its life.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Lifecycle {
    /// Launched at `launched`: pending, then running.
    Started,
    /// Stopped (declared so in the world).
    Stopped,
    /// Terminated at this time: shutting down, then terminated, then gone.
    Terminated(SystemTime),
}

/// An instance state, as EC2 numbers and names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InstanceState {
    Pending,
    Running,
    ShuttingDown,
    Terminated,
    Stopped,
}

impl InstanceState {
    /// The state code (the low byte EC2 documents).
    pub(crate) fn code(self) -> u16 {
        match self {
            InstanceState::Pending => 0,
            InstanceState::Running => 16,
            InstanceState::ShuttingDown => 32,
            InstanceState::Terminated => 48,
            InstanceState::Stopped => 80,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            InstanceState::Pending => "pending",
            InstanceState::Running => "running",
            InstanceState::ShuttingDown => "shutting-down",
            InstanceState::Terminated => "terminated",
            InstanceState::Stopped => "stopped",
        }
    }
}

/// An instance.
#[derive(Debug, Clone)]
pub(crate) struct Instance {
    pub(crate) id: String,
    pub(crate) reservation_id: String,
    pub(crate) image_id: String,
    pub(crate) instance_type: String,
    pub(crate) key_name: Option<String>,
    pub(crate) subnet_id: String,
    pub(crate) vpc_id: String,
    pub(crate) zone: String,
    pub(crate) private_ip: String,
    /// Security group ids.
    pub(crate) security_groups: Vec<String>,
    /// The name of its instance profile (its ARN and id are IAM's, looked up when shown, so
    /// a profile still propagating appears once IAM has it).
    pub(crate) profile: Option<String>,
    pub(crate) launched: SystemTime,
    pub(crate) launch_index: u32,
    pub(crate) lifecycle: Lifecycle,
    pub(crate) tags: Tags,
}

impl Instance {
    /// Its state at `now`.
    pub(crate) fn state(&self, now: SystemTime) -> InstanceState {
        let since = |t: SystemTime| now.duration_since(t).unwrap_or_default();
        match self.lifecycle {
            Lifecycle::Started if since(self.launched) < PENDING => InstanceState::Pending,
            Lifecycle::Started => InstanceState::Running,
            Lifecycle::Stopped => InstanceState::Stopped,
            Lifecycle::Terminated(at) if since(at) < SHUTTING_DOWN => InstanceState::ShuttingDown,
            Lifecycle::Terminated(_) => InstanceState::Terminated,
        }
    }

    /// Whether Describe calls still show it (terminated instances fade after an hour).
    pub(crate) fn visible(&self, now: SystemTime) -> bool {
        match self.lifecycle {
            Lifecycle::Terminated(at) => {
                now.duration_since(at).unwrap_or_default() < TERMINATED_VISIBLE + SHUTTING_DOWN
            }
            _ => true,
        }
    }
}

/// A kind of EC2 resource. EC2 uses one word for a kind in ARNs (`…:security-group/sg-…`),
/// in DescribeTags' `resource-type` and in `TagSpecification.N.ResourceType`: [`name`].
/// Declared in the order of those names, so what is kept or authorized by kind comes in the
/// order it did when kinds were strings.
///
/// [`name`]: ResourceKind::name
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ResourceKind {
    Image,
    Instance,
    KeyPair,
    LaunchTemplate,
    /// Made by RunInstances for each instance; not kept here.
    NetworkInterface,
    SecurityGroup,
    Subnet,
    /// Made by RunInstances for each instance; not kept here.
    Volume,
    Vpc,
}

impl ResourceKind {
    const ALL: [Self; 9] = [
        Self::Image,
        Self::Instance,
        Self::KeyPair,
        Self::LaunchTemplate,
        Self::NetworkInterface,
        Self::SecurityGroup,
        Self::Subnet,
        Self::Volume,
        Self::Vpc,
    ];

    /// Its name in ARNs and as a tag `resource-type`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Instance => "instance",
            Self::KeyPair => "key-pair",
            Self::LaunchTemplate => "launch-template",
            Self::NetworkInterface => "network-interface",
            Self::SecurityGroup => "security-group",
            Self::Subnet => "subnet",
            Self::Volume => "volume",
            Self::Vpc => "vpc",
        }
    }

    /// The prefix of its ids (`sg` for `sg-0123…`).
    pub(crate) fn id_prefix(self) -> &'static str {
        match self {
            Self::Image => "ami",
            Self::Instance => "i",
            Self::KeyPair => "key",
            Self::LaunchTemplate => "lt",
            Self::NetworkInterface => "eni",
            Self::SecurityGroup => "sg",
            Self::Subnet => "subnet",
            Self::Volume => "vol",
            Self::Vpc => "vpc",
        }
    }

    /// The kind a request names (`TagSpecification.N.ResourceType`), if it is one.
    pub(crate) fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The kind of resource `id` names, by its prefix.
    pub(crate) fn of_id(id: &str) -> Option<Self> {
        let prefix = id.split_once('-')?.0;
        Self::ALL.into_iter().find(|k| k.id_prefix() == prefix)
    }
}

/// Whether `id` is an id of `kind`: its prefix, `-`, and 8 or 17 lower-case hex digits, as
/// EC2 ids are.
pub(crate) fn well_formed(id: &str, kind: ResourceKind) -> bool {
    id.strip_prefix(kind.id_prefix())
        .and_then(|r| r.strip_prefix('-'))
        .is_some_and(|hex| {
            matches!(hex.len(), 8 | 17)
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

/// `a.b.c.d/n` → (network address, prefix length).
pub(crate) fn parse_cidr(cidr: &str) -> Option<(u32, u8)> {
    let (ip, bits) = cidr.split_once('/')?;
    let ip: std::net::Ipv4Addr = ip.parse().ok()?;
    let bits: u8 = bits.parse().ok().filter(|b| (16..=28).contains(b))?;
    let mask = u32::MAX << (32 - u32::from(bits));
    Some((u32::from(ip) & mask, bits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_ids_follow_the_region_code() {
        let z = zones("us-east-1");
        assert_eq!(z.len(), 6);
        assert_eq!(
            (z[0].name.as_str(), z[0].id.as_str()),
            ("us-east-1a", "use1-az1")
        );
        assert_eq!(zones("us-gov-west-1")[2].id, "usgw1-az3");
        assert_eq!(zones("ap-northeast-2")[0].id, "apne2-az1");
        assert_eq!(zones("eu-central-1")[1].name, "eu-central-1b");
    }

    #[test]
    fn ids_are_checked_for_prefix_and_length() {
        let instance = ResourceKind::Instance;
        assert!(well_formed("i-0123456789abcdef0", instance));
        assert!(well_formed("i-12345678", instance));
        assert!(!well_formed("i-0123456789ABCDEF0", instance));
        assert!(!well_formed("i-123", instance));
        assert!(!well_formed("ami-12345678", instance));
        assert!(well_formed("ami-12345678", ResourceKind::Image));
    }

    #[test]
    fn kinds_are_named_once_and_ordered_by_name() {
        let names = ResourceKind::ALL.map(ResourceKind::name);
        assert!(names.is_sorted(), "{names:?}");
        for kind in ResourceKind::ALL {
            assert_eq!(ResourceKind::parse(kind.name()), Some(kind));
            assert_eq!(
                ResourceKind::of_id(&format!("{}-12345678", kind.id_prefix())),
                Some(kind)
            );
        }
        assert_eq!(ResourceKind::parse("dedicated-host"), None);
        assert_eq!(ResourceKind::of_id("r-12345678"), None);
    }

    #[test]
    fn an_instance_moves_through_its_states_on_the_clock() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut i = Instance {
            id: "i-12345678".into(),
            reservation_id: "r-12345678".into(),
            image_id: "ami-12345678".into(),
            instance_type: "t3.micro".into(),
            key_name: None,
            subnet_id: "subnet-12345678".into(),
            vpc_id: "vpc-12345678".into(),
            zone: "us-east-1a".into(),
            private_ip: "172.31.0.4".into(),
            security_groups: vec![],
            profile: None,
            launched: t0,
            launch_index: 0,
            lifecycle: Lifecycle::Started,
            tags: Tags::new(),
        };
        assert_eq!(i.state(t0), InstanceState::Pending);
        assert_eq!(i.state(t0 + PENDING), InstanceState::Running);
        let t1 = t0 + Duration::from_secs(100);
        i.lifecycle = Lifecycle::Terminated(t1);
        assert_eq!(i.state(t1), InstanceState::ShuttingDown);
        assert_eq!(i.state(t1 + SHUTTING_DOWN), InstanceState::Terminated);
        assert!(i.visible(t1 + SHUTTING_DOWN + Duration::from_secs(3599)));
        assert!(!i.visible(t1 + SHUTTING_DOWN + TERMINATED_VISIBLE));
    }
}
