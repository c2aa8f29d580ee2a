//! EC2's resources: what exists in each account and region, how it is named, and how an
//! instance's state moves on the server clock.
//!
//! Each (account, region) has its own [`Resources`] behind its own lock, built on first use
//! from the world (its `ec2` section, its `ec2` delegates) plus what every new account has:
//! a default VPC with a default subnet per zone and a default security group. Calls in one
//! region never wait for another's. Loading or resetting the world starts EC2 over.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use crate::partition::{Partition, Region};
use crate::wire::fingerprint;
use crate::world::{DelegateKind, DelegateSpec, Ec2RegionSpec, ImageSpec, World, WorldError};

/// How long a launched instance is `pending` before it is `running`.
pub(crate) const PENDING: Duration = Duration::from_secs(10);
/// How long a terminated instance is `shutting-down` before it is `terminated`.
pub(crate) const SHUTTING_DOWN: Duration = Duration::from_secs(10);
/// How long a terminated instance stays visible, as on AWS ("about an hour").
pub(crate) const TERMINATED_VISIBLE: Duration = Duration::from_secs(3600);
/// How long a running instance's status checks say `initializing`.
pub(crate) const INITIALIZING: Duration = Duration::from_secs(60);
/// The account that owns Amazon's public images (Amazon Linux).
pub(crate) const AMAZON_OWNER: &str = "137112412989";

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

/// The kinds of resource that carry tags, by id prefix (DescribeTags' `resource-type`).
pub(crate) fn resource_type(id: &str) -> Option<&'static str> {
    let prefix = id.split_once('-')?.0;
    Some(match prefix {
        "i" => "instance",
        "ami" => "image",
        "vpc" => "vpc",
        "subnet" => "subnet",
        "sg" => "security-group",
        "key" => "key-pair",
        "lt" => "launch-template",
        _ => return None,
    })
}

/// Whether `id` is `prefix-` and 8 or 17 lower-case hex digits, as EC2 ids are.
pub(crate) fn well_formed(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('-'))
        .is_some_and(|hex| {
            matches!(hex.len(), 8 | 17)
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

/// Everything of one account in one region.
#[derive(Debug)]
pub(crate) struct Resources {
    pub(crate) account: String,
    pub(crate) partition: Partition,
    pub(crate) region: &'static str,
    pub(crate) zones: Vec<Zone>,
    pub(crate) vpcs: BTreeMap<String, Vpc>,
    pub(crate) subnets: BTreeMap<String, Subnet>,
    pub(crate) security_groups: BTreeMap<String, SecurityGroup>,
    /// By name (key pairs are named in calls).
    pub(crate) key_pairs: BTreeMap<String, KeyPair>,
    pub(crate) images: BTreeMap<String, Image>,
    /// Images of others the account may launch: Amazon's, and public ones of other
    /// accounts of the partition in this region.
    pub(crate) public_images: BTreeMap<String, Image>,
    pub(crate) launch_templates: BTreeMap<String, LaunchTemplate>,
    pub(crate) instances: BTreeMap<String, Instance>,
    /// Counts every id made here, so ids never repeat.
    serial: u64,
}

impl Resources {
    /// A new id with `prefix` (17 hex digits, like today's EC2 ids), unique here.
    pub(crate) fn new_id(&mut self, prefix: &str) -> String {
        self.serial += 1;
        let seed = format!("{}/{}/{prefix}/{}", self.account, self.region, self.serial);
        format!("{prefix}-0{:016x}", fingerprint(&seed))
    }

    /// How many ids were made here (a fresh number for every instance placed).
    pub(crate) fn serial(&self) -> u64 {
        self.serial
    }

    /// The default VPC.
    pub(crate) fn default_vpc(&self) -> Option<&Vpc> {
        self.vpcs.values().find(|v| v.is_default)
    }

    /// The default subnet of the region's first zone.
    pub(crate) fn default_subnet(&self) -> Option<&Subnet> {
        self.subnets
            .values()
            .filter(|s| s.default_for_az)
            .min_by(|a, b| a.zone.name.cmp(&b.zone.name))
    }

    /// The `default` security group of a VPC.
    pub(crate) fn default_group(&self, vpc_id: &str) -> Option<&SecurityGroup> {
        self.security_groups
            .values()
            .find(|g| g.vpc_id == vpc_id && g.name == "default")
    }

    /// The tags of the resource `id`, if it exists here.
    pub(crate) fn tags(&self, id: &str) -> Option<&Tags> {
        match resource_type(id)? {
            "instance" => self.instances.get(id).map(|r| &r.tags),
            "image" => self.images.get(id).map(|r| &r.tags),
            "vpc" => self.vpcs.get(id).map(|r| &r.tags),
            "subnet" => self.subnets.get(id).map(|r| &r.tags),
            "security-group" => self.security_groups.get(id).map(|r| &r.tags),
            "key-pair" => self
                .key_pairs
                .values()
                .find(|k| k.id == id)
                .map(|r| &r.tags),
            "launch-template" => self.launch_templates.get(id).map(|r| &r.tags),
            _ => None,
        }
    }

    /// Every taggable resource here (instances while visible) with its tags.
    pub(crate) fn tagged(&self, now: SystemTime) -> impl Iterator<Item = (&str, &Tags)> {
        let instances = self
            .instances
            .values()
            .filter(move |i| i.visible(now))
            .map(|i| (i.id.as_str(), &i.tags));
        let images = self.images.values().map(|x| (x.id.as_str(), &x.tags));
        let vpcs = self.vpcs.values().map(|x| (x.id.as_str(), &x.tags));
        let subnets = self.subnets.values().map(|x| (x.id.as_str(), &x.tags));
        let groups = self
            .security_groups
            .values()
            .map(|x| (x.id.as_str(), &x.tags));
        let keys = self.key_pairs.values().map(|x| (x.id.as_str(), &x.tags));
        let templates = self
            .launch_templates
            .values()
            .map(|x| (x.id.as_str(), &x.tags));
        instances
            .chain(images)
            .chain(vpcs)
            .chain(subnets)
            .chain(groups)
            .chain(keys)
            .chain(templates)
    }

    /// The tags of the resource `id`, to change them.
    pub(crate) fn tags_mut(&mut self, id: &str) -> Option<&mut Tags> {
        match resource_type(id)? {
            "instance" => self.instances.get_mut(id).map(|r| &mut r.tags),
            "image" => self.images.get_mut(id).map(|r| &mut r.tags),
            "vpc" => self.vpcs.get_mut(id).map(|r| &mut r.tags),
            "subnet" => self.subnets.get_mut(id).map(|r| &mut r.tags),
            "security-group" => self.security_groups.get_mut(id).map(|r| &mut r.tags),
            "key-pair" => self
                .key_pairs
                .values_mut()
                .find(|k| k.id == id)
                .map(|r| &mut r.tags),
            "launch-template" => self.launch_templates.get_mut(id).map(|r| &mut r.tags),
            _ => None,
        }
    }

    /// A private address in `subnet` for the `n`th instance placed there.
    pub(crate) fn private_ip(subnet: &Subnet, n: u64) -> String {
        let (base, bits) = parse_cidr(&subnet.cidr_block).unwrap_or((0x0a00_0000, 24));
        let size = 1u64 << (32 - u32::from(bits.clamp(16, 28)));
        // The first four and the last address of a subnet are AWS's.
        let host = 4 + n % (size - 5);
        let ip = base.wrapping_add(host as u32);
        std::net::Ipv4Addr::from(ip).to_string()
    }
}

/// `a.b.c.d/n` → (network address, prefix length).
pub(crate) fn parse_cidr(cidr: &str) -> Option<(u32, u8)> {
    let (ip, bits) = cidr.split_once('/')?;
    let ip: std::net::Ipv4Addr = ip.parse().ok()?;
    let bits: u8 = bits.parse().ok().filter(|b| (16..=28).contains(b))?;
    let mask = u32::MAX << (32 - u32::from(bits));
    Some((u32::from(ip) & mask, bits))
}

fn parse_time(text: &str) -> Option<SystemTime> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(SystemTime::from)
}

fn format_time(t: SystemTime) -> String {
    let t = time::OffsetDateTime::from(t);
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Amazon's public images in a region (Amazon Linux 2023, x86_64 and arm64), which every
/// account of the partition can see and launch.
pub(crate) fn amazon_images(region: &str, loaded: SystemTime) -> Vec<Image> {
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
pub(crate) fn image_of(spec: &ImageSpec, owner: &str) -> Image {
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

/// Each account's regions in use, by region code.
type Regions = HashMap<String, HashMap<&'static str, Arc<RwLock<Resources>>>>;

/// EC2 across accounts and regions.
#[derive(Debug, Default)]
pub(crate) struct Ec2 {
    regions: RwLock<Regions>,
    /// Counts world loads and resets: a region seeded from a world read before one is not
    /// kept.
    generation: AtomicU64,
}

impl Ec2 {
    /// The current generation, to read before the world a region is seeded from.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The resources of `account` in `region`, built from `world` (read at `generation`)
    /// on first use.
    pub(crate) fn region(
        &self,
        world: &World,
        generation: u64,
        account: &str,
        region: &'static Region,
        now: SystemTime,
    ) -> Arc<RwLock<Resources>> {
        if let Some(r) = self.existing(account, region.name) {
            return r;
        }
        let seeded = Arc::new(RwLock::new(seed(world, account, region, now)));
        let mut regions = self.regions.write().unwrap_or_else(PoisonError::into_inner);
        if self.generation() != generation {
            // The world changed meanwhile: answer from this one, keep nothing of it.
            return seeded;
        }
        Arc::clone(
            regions
                .entry(account.to_owned())
                .or_default()
                .entry(region.name)
                .or_insert(seeded),
        )
    }

    /// The resources of `account` in `region`, if they are in use.
    fn existing(&self, account: &str, region: &str) -> Option<Arc<RwLock<Resources>>> {
        self.regions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(account)?
            .get(region)
            .cloned()
    }

    /// Starts over (a world was loaded or reset).
    pub(crate) fn clear(&self) {
        let mut regions = self.regions.write().unwrap_or_else(PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::AcqRel);
        regions.clear();
    }

    /// Makes an `ec2` delegate added at run time an instance of its region, if that region
    /// is already in use (otherwise it is found when the region is first used).
    pub(crate) fn add_delegate(&self, delegate: &DelegateSpec, now: SystemTime) {
        if let Some(resources) = self.existing(&delegate.account, &delegate.region) {
            let mut r = resources.write().unwrap_or_else(PoisonError::into_inner);
            add_delegate_instance(&mut r, delegate, now);
        }
    }
}

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
    let mut check = |id: &str, prefix: &str| {
        if !well_formed(id, prefix) {
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
        check(&v.id, "vpc")?;
        parse_cidr(&v.cidr_block)
            .ok_or_else(|| format!("vpc {}: {} is not a /16–/28 CIDR", v.id, v.cidr_block))?;
    }
    for s in &spec.subnets {
        check(&s.id, "subnet")?;
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
        check(&g.id, "sg")?;
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
        let derived = format!("key-0{:016x}", fingerprint(&k.name));
        check(k.id.as_deref().unwrap_or(&derived), "key")
            .map_err(|e| format!("key pair {}: {e}", k.name))?;
    }
    for i in &spec.images {
        check(&i.id, "ami")?;
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
        let derived = format!("lt-0{:016x}", fingerprint(&t.name));
        check(t.id.as_deref().unwrap_or(&derived), "lt")
            .map_err(|e| format!("launch template {}: {e}", t.name))?;
    }
    for i in &spec.instances {
        check(&i.id, "i")?;
        if let Some(launched) = &i.launched
            && parse_time(launched).is_none()
        {
            return Err(format!(
                "instance {}: launched {launched} is not an RFC 3339 time",
                i.id
            ));
        }
        if !well_formed(&i.image, "ami") {
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

/// The resources of `account` in `region` as the world declares them.
fn seed(world: &World, account: &str, region: &'static Region, now: SystemTime) -> Resources {
    let mut r = Resources {
        account: account.to_owned(),
        partition: region.partition,
        region: region.name,
        zones: zones(region.name),
        vpcs: BTreeMap::new(),
        subnets: BTreeMap::new(),
        security_groups: BTreeMap::new(),
        key_pairs: BTreeMap::new(),
        images: BTreeMap::new(),
        public_images: amazon_images(region.name, now)
            .into_iter()
            .map(|i| (i.id.clone(), i))
            .collect(),
        launch_templates: BTreeMap::new(),
        instances: BTreeMap::new(),
        serial: 0,
    };
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
    let vpc_id = r.new_id("vpc");
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
        let id = r.new_id("subnet");
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
    let id = r.new_id("sg");
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
        let id =
            k.id.clone()
                .unwrap_or_else(|| format!("key-0{:016x}", fingerprint(&k.name)));
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
        let id =
            t.id.clone()
                .unwrap_or_else(|| format!("lt-0{:016x}", fingerprint(&t.name)));
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
        let reservation_id = r.new_id("r");
        let private_ip = Resources::private_ip(&subnet, r.serial);
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
fn add_delegate_instance(r: &mut Resources, d: &DelegateSpec, now: SystemTime) {
    let Some(subnet) = r.default_subnet().cloned() else {
        return;
    };
    let id = d.instance_id();
    let profile = d.instance_profile.clone();
    let mut tags = Tags::from([("Name".to_owned(), d.name.clone())]);
    for tag in &d.tags {
        tags.insert(format!("trustbench:delegate-selector:{tag}"), String::new());
    }
    let reservation_id = r.new_id("r");
    let private_ip = Resources::private_ip(&subnet, r.serial);
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
        assert!(well_formed("i-0123456789abcdef0", "i"));
        assert!(well_formed("i-12345678", "i"));
        assert!(!well_formed("i-0123456789ABCDEF0", "i"));
        assert!(!well_formed("i-123", "i"));
        assert!(!well_formed("ami-12345678", "i"));
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
                format!("key pair a: key-0{:016x} is declared twice", fingerprint("a")),
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

    #[test]
    fn private_addresses_stay_inside_the_subnet() {
        let subnet = Subnet {
            id: "subnet-12345678".into(),
            vpc_id: "vpc-12345678".into(),
            cidr_block: "10.1.2.0/28".into(),
            zone: zones("us-east-1")[0].clone(),
            default_for_az: false,
            tags: Tags::new(),
        };
        for n in 0..100 {
            let ip: std::net::Ipv4Addr = Resources::private_ip(&subnet, n)
                .parse()
                .expect("an IPv4 address");
            let last = ip.octets()[3];
            assert!((4..15).contains(&last), "{ip}");
            assert_eq!(&ip.octets()[..3], &[10, 1, 2]);
        }
    }
}
