//! The places EC2 runs in: DescribeRegions, DescribeAvailabilityZones and
//! DescribeAccountAttributes.

use crate::api::Call;
use crate::error::AwsError;
use crate::partition::{OptIn, Region};
use crate::wire::xml::Node;

use super::api::authorize_describe;
use super::filters::{self, Filter, Table, TagFilters, Values, all_accept, dry_run, filters, one};
use super::model::{Zone, zones};

/// A region as DescribeRegions lists it: the region, and its opt-in status for the
/// account.
#[derive(Debug, Clone, Copy)]
struct Listed {
    region: &'static Region,
    opt_in_status: &'static str,
}

/// The accessor of a DescribeRegions filter: the values a region listed has under it.
type RegionAccessor = fn(&Listed) -> Values<'static>;

/// DescribeRegions' filters, with what each reads.
const REGION_FILTERS: Table<RegionAccessor> = Table {
    fields: &[
        ("region-name", |l| one(l.region.name)),
        ("endpoint", |l| one(l.region.ec2_endpoint)),
        ("opt-in-status", |l| one(l.opt_in_status)),
    ],
    tags: TagFilters::Untagged,
};

/// `DescribeRegions`: the regions of the caller's partition. Without `AllRegions=true`, only
/// the regions enabled for the account; `RegionName.N` and `Filter.N` narrow the list.
pub(super) fn describe_regions(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    // 1. Validate: the partition's regions are fixed, not resources of the account.
    let params = call.params;
    let all = filters::boolean(call.service, params, "AllRegions")?;
    let partition = call.caller.partition;
    let names = params.list("RegionName");
    for name in &names {
        // A region of another partition is as unknown as a made-up one.
        if !partition.regions().iter().any(|r| r.name == *name) {
            return Err(AwsError::invalid_parameter_value(
                call.service,
                format!("Invalid region: {name}"),
            ));
        }
    }
    let filters = filters(call.service, params, &REGION_FILTERS)?;
    let dry = dry_run(call.service, params)?;
    // 2. Authorize.
    authorize_describe(call, "ec2:DescribeRegions", dry)?;
    // 3. Look up the account's regions.
    let account = call.store.account(&call.caller.account);
    let plain = !all && names.is_empty() && filters.is_empty();
    if plain && let Some(account) = account {
        // The most common call (a connection test): the same answer every time.
        let rendered = account.default_regions.get_or_init(|| {
            let mut xml = String::new();
            crate::wire::xml::render(
                &mut xml,
                &region_items(partition, Some(account), all, &names, &filters),
                "item",
            );
            xml.into()
        });
        return Ok(vec![Node::Rendered(std::sync::Arc::clone(rendered))]);
    }
    Ok(region_items(partition, account, all, &names, &filters))
}

/// The `regionInfo` list: the partition's regions the account may see, narrowed by
/// `RegionName.N` and `Filter.N`.
fn region_items(
    partition: crate::partition::Partition,
    account: Option<&crate::iam::store::Account>,
    all: bool,
    names: &[&str],
    filters: &[Filter<'_, RegionAccessor>],
) -> Vec<Node> {
    let mut items = Vec::new();
    for region in partition.regions() {
        let enabled = account.is_some_and(|a| a.region_enabled(region));
        let opt_in_status = match (region.opt_in, enabled) {
            (OptIn::NotRequired, _) => "opt-in-not-required",
            (OptIn::Required, true) => "opted-in",
            (OptIn::Required, false) => "not-opted-in",
        };
        let listed = if names.is_empty() {
            all || opt_in_status != "not-opted-in"
        } else {
            names.contains(&region.name)
        };
        let row = Listed {
            region,
            opt_in_status,
        };
        let selected = listed && all_accept(filters, None, |field| field(&row));
        if selected {
            items.push(vec![
                Node::leaf("regionName", region.name),
                Node::leaf("regionEndpoint", region.ec2_endpoint),
                Node::leaf("optInStatus", opt_in_status),
            ]);
        }
    }
    vec![Node::List("regionInfo", items)]
}

/// The accessor of a DescribeAvailabilityZones filter: the values a zone has under it (the
/// name of its region is the second argument).
type ZoneAccessor = for<'a> fn(&'a Zone, &'a str) -> Values<'a>;

/// DescribeAvailabilityZones' filters, with what each reads.
const ZONE_FILTERS: Table<ZoneAccessor> = Table {
    fields: &[
        ("zone-name", |z, _| one(&z.name)),
        ("zone-id", |z, _| one(&z.id)),
        ("zone-type", |_, _| one("availability-zone")),
        ("region-name", |_, region| one(region)),
        ("state", |_, _| one("available")),
        ("opt-in-status", |_, _| one("opt-in-not-required")),
        // A zone's group is its region (local zones have groups of their own).
        ("group-name", |_, region| one(region)),
    ],
    tags: TagFilters::Untagged,
};

/// `DescribeAvailabilityZones`: the zones of the region the call was signed for, narrowed
/// by `ZoneName.N`, `ZoneId.N` and `Filter.N`.
pub(super) fn describe_availability_zones(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    // 1. Validate: a region's zones are fixed, not resources of the account.
    let params = call.params;
    filters::boolean(call.service, params, "AllAvailabilityZones")?;
    let filters = filters(call.service, params, &ZONE_FILTERS)?;
    let zones = zones(call.region);
    let names = params.list("ZoneName");
    let ids = params.list("ZoneId");
    for name in names.iter().chain(&ids) {
        if !zones.iter().any(|z| z.name == *name || z.id == *name) {
            return Err(AwsError::invalid_parameter_value(
                call.service,
                format!("Invalid availability zone: [{name}]"),
            ));
        }
    }
    let dry = dry_run(call.service, params)?;
    // 2. Authorize.
    authorize_describe(call, "ec2:DescribeAvailabilityZones", dry)?;
    // 3. List.
    let region = call.region;
    let items = zones
        .iter()
        .filter(|z| {
            (names.is_empty() && ids.is_empty())
                || names.contains(&z.name.as_str())
                || ids.contains(&z.id.as_str())
        })
        .filter(|z| all_accept(&filters, None, |field| field(z, region)))
        .map(|z| {
            vec![
                Node::leaf("zoneState", "available"),
                Node::leaf("optInStatus", "opt-in-not-required"),
                Node::List("messageSet", Vec::new()),
                Node::leaf("regionName", region.to_owned()),
                Node::leaf("zoneName", z.name.clone()),
                Node::leaf("zoneId", z.id.clone()),
                Node::leaf("groupName", region.to_owned()),
                Node::leaf("networkBorderGroup", region.to_owned()),
                Node::leaf("zoneType", "availability-zone"),
            ]
        })
        .collect();
    Ok(vec![Node::List("availabilityZoneInfo", items)])
}

/// The attributes DescribeAccountAttributes answers, in AWS's order.
const ACCOUNT_ATTRIBUTES: [&str; 6] = [
    "vpc-max-security-groups-per-interface",
    "max-instances",
    "supported-platforms",
    "default-vpc",
    "max-elastic-ips",
    "vpc-max-elastic-ips",
];

/// `DescribeAccountAttributes`: the account's EC2 limits and its default VPC in the region.
pub(super) fn describe_account_attributes(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    // 1. Validate.
    let asked = call.params.list("AttributeName");
    for name in &asked {
        if !ACCOUNT_ATTRIBUTES.contains(name) {
            return Err(AwsError::invalid_parameter_value(
                call.service,
                format!(
                    "Value ({name}) for parameter attributeName is invalid. Unknown attribute."
                ),
            ));
        }
    }
    let dry = dry_run(call.service, call.params)?;
    // 2. Authorize.
    authorize_describe(call, "ec2:DescribeAccountAttributes", dry)?;
    // 3. Look up the default VPC.
    let region = super::api::resources(call)?;
    let default_vpc = super::api::read(&region)
        .default_vpc()
        .map_or_else(|| "none".to_owned(), |v| v.id.clone());
    let items = ACCOUNT_ATTRIBUTES
        .iter()
        .filter(|name| asked.is_empty() || asked.contains(name))
        .map(|name| {
            let values: Vec<String> = match *name {
                "vpc-max-security-groups-per-interface" => vec!["5".into()],
                "max-instances" => vec!["20".into()],
                "supported-platforms" => vec!["VPC".into()],
                "default-vpc" => vec![default_vpc.clone()],
                _ => vec!["5".into()],
            };
            vec![
                Node::leaf("attributeName", *name),
                Node::List(
                    "attributeValueSet",
                    values
                        .into_iter()
                        .map(|v| vec![Node::leaf("attributeValue", v)])
                        .collect(),
                ),
            ]
        })
        .collect();
    Ok(vec![Node::List("accountAttributeSet", items)])
}
