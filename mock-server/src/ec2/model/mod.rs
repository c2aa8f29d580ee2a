//! EC2's resources: what exists in each account and region, how it is named, and how an
//! instance's state moves on the server clock.
//!
//! Each (account, region) has its own [`Resources`] behind its own lock ([`Ec2`]), built on
//! first use from the world (its `ec2` section, its `ec2` delegates) plus what every new
//! account has: a default VPC with a default subnet per zone and a default security group.
//! The resource types are in `types`, one region's resources in `region`, the locks in
//! `store`, seeding a region in `seed`, and the checks of a world's `ec2` sections in
//! `validate`.

mod region;
mod seed;
mod store;
mod types;
mod validate;

pub(crate) use region::Resources;
pub(crate) use store::Ec2;
pub(crate) use types::{
    INITIALIZING, Image, Instance, InstanceState, KeyPair, LaunchTemplate, Lifecycle, PENDING,
    ResourceKind, SecurityGroup, Subnet, Tags, Vpc, Zone, parse_cidr, well_formed, zones,
};
pub(crate) use validate::validate;
