//! One account's resources in one region: what exists there, the ids made there, and the
//! lookups the handlers share (defaults, tags by id, private addresses).

use std::collections::BTreeMap;
use std::time::SystemTime;

use crate::partition::{Partition, Region};
use crate::wire::fingerprint;

use super::types::{
    Image, Instance, KeyPair, LaunchTemplate, ResourceKind, SecurityGroup, Subnet, Tags, Vpc, Zone,
    parse_cidr, zones,
};

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
    /// `account`'s resources in `region` before anything is seeded: its zones, nothing else.
    pub(super) fn new(account: &str, region: &'static Region) -> Self {
        Self {
            account: account.to_owned(),
            partition: region.partition,
            region: region.name,
            zones: zones(region.name),
            vpcs: BTreeMap::new(),
            subnets: BTreeMap::new(),
            security_groups: BTreeMap::new(),
            key_pairs: BTreeMap::new(),
            images: BTreeMap::new(),
            public_images: BTreeMap::new(),
            launch_templates: BTreeMap::new(),
            instances: BTreeMap::new(),
            serial: 0,
        }
    }

    /// A new id of a resource of `kind` (17 hex digits, like today's EC2 ids), unique here.
    pub(crate) fn new_id(&mut self, kind: ResourceKind) -> String {
        self.next_id(kind.id_prefix())
    }

    /// A new reservation id (`r-…`), unique here.
    pub(crate) fn new_reservation_id(&mut self) -> String {
        self.next_id("r")
    }

    fn next_id(&mut self, prefix: &str) -> String {
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
        match ResourceKind::of_id(id)? {
            ResourceKind::Instance => self.instances.get(id).map(|r| &r.tags),
            ResourceKind::Image => self.images.get(id).map(|r| &r.tags),
            ResourceKind::Vpc => self.vpcs.get(id).map(|r| &r.tags),
            ResourceKind::Subnet => self.subnets.get(id).map(|r| &r.tags),
            ResourceKind::SecurityGroup => self.security_groups.get(id).map(|r| &r.tags),
            ResourceKind::KeyPair => self
                .key_pairs
                .values()
                .find(|k| k.id == id)
                .map(|r| &r.tags),
            ResourceKind::LaunchTemplate => self.launch_templates.get(id).map(|r| &r.tags),
            ResourceKind::NetworkInterface | ResourceKind::Volume => None,
        }
    }

    /// Every taggable resource here (instances while visible) with its kind and tags.
    pub(crate) fn tagged(
        &self,
        now: SystemTime,
    ) -> impl Iterator<Item = (ResourceKind, &str, &Tags)> {
        fn of<'r>(
            kind: ResourceKind,
            resources: impl Iterator<Item = (&'r String, &'r Tags)>,
        ) -> impl Iterator<Item = (ResourceKind, &'r str, &'r Tags)> {
            resources.map(move |(id, tags)| (kind, id.as_str(), tags))
        }
        let instances = self
            .instances
            .values()
            .filter(move |i| i.visible(now))
            .map(|x| (&x.id, &x.tags));
        let images = self.images.values().map(|x| (&x.id, &x.tags));
        let vpcs = self.vpcs.values().map(|x| (&x.id, &x.tags));
        let subnets = self.subnets.values().map(|x| (&x.id, &x.tags));
        let groups = self.security_groups.values().map(|x| (&x.id, &x.tags));
        let keys = self.key_pairs.values().map(|x| (&x.id, &x.tags));
        let templates = self.launch_templates.values().map(|x| (&x.id, &x.tags));
        of(ResourceKind::Instance, instances)
            .chain(of(ResourceKind::Image, images))
            .chain(of(ResourceKind::Vpc, vpcs))
            .chain(of(ResourceKind::Subnet, subnets))
            .chain(of(ResourceKind::SecurityGroup, groups))
            .chain(of(ResourceKind::KeyPair, keys))
            .chain(of(ResourceKind::LaunchTemplate, templates))
    }

    /// The tags of the resource `id`, to change them.
    pub(crate) fn tags_mut(&mut self, id: &str) -> Option<&mut Tags> {
        match ResourceKind::of_id(id)? {
            ResourceKind::Instance => self.instances.get_mut(id).map(|r| &mut r.tags),
            ResourceKind::Image => self.images.get_mut(id).map(|r| &mut r.tags),
            ResourceKind::Vpc => self.vpcs.get_mut(id).map(|r| &mut r.tags),
            ResourceKind::Subnet => self.subnets.get_mut(id).map(|r| &mut r.tags),
            ResourceKind::SecurityGroup => self.security_groups.get_mut(id).map(|r| &mut r.tags),
            ResourceKind::KeyPair => self
                .key_pairs
                .values_mut()
                .find(|k| k.id == id)
                .map(|r| &mut r.tags),
            ResourceKind::LaunchTemplate => self.launch_templates.get_mut(id).map(|r| &mut r.tags),
            ResourceKind::NetworkInterface | ResourceKind::Volume => None,
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

#[cfg(test)]
mod tests {
    use super::*;

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
