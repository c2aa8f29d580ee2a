//! Network and launch reads: DescribeVpcs, DescribeSubnets, DescribeSecurityGroups,
//! DescribeKeyPairs, DescribeLaunchTemplates.

use std::borrow::Cow;

use http::StatusCode;

use crate::api::Call;
use crate::error::AwsError;
use crate::wire::xml::Node;

use super::api::{arn, authorize_describe, read, resources};
use super::filters::{
    GROUP, KEY_PAIR, LAUNCH_TEMPLATE, Page, SUBNET, VPC, all_accept, check_exist,
    check_well_formed, dry_run, filters,
};
use super::instances::timestamp;
use super::model::ResourceKind;
use super::tags::tag_set;

/// The items after filtering and paging, with `nextToken` when there is more.
fn listed(name: &'static str, items: Vec<Vec<Node>>, next: Option<String>) -> Vec<Node> {
    let mut out = vec![Node::List(name, items)];
    if let Some(token) = next {
        out.push(Node::leaf("nextToken", token));
    }
    out
}

fn one(s: &str) -> Vec<Cow<'_, str>> {
    vec![Cow::Borrowed(s)]
}

const VPC_FILTERS: [&str; 8] = [
    "vpc-id",
    "state",
    "cidr",
    "cidr-block-association.cidr-block",
    "is-default",
    "owner-id",
    "tag-key",
    "tag-value",
];

/// `DescribeVpcs`
pub(super) fn describe_vpcs(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    // 1. Validate.
    let filters = filters(call.service, call.params, &VPC_FILTERS)?;
    let page = Page::of(call.service, call.params, (5, 1000), None)?;
    let ids = call.params.list("VpcId");
    check_well_formed(&ids, &VPC)?;
    let dry = dry_run(call.service, call.params)?;
    // 2. Authorize.
    authorize_describe(call, "ec2:DescribeVpcs", dry)?;
    // 3. Look up.
    let region = resources(call)?;
    let r = read(&region);
    check_exist(&ids, &VPC, |id| r.vpcs.contains_key(id))?;
    let selected: Vec<_> = r
        .vpcs
        .values()
        .filter(|v| ids.is_empty() || ids.contains(&v.id.as_str()))
        .filter(|v| {
            all_accept(&filters, &v.tags, |name| match name {
                "vpc-id" => one(&v.id),
                "state" => one("available"),
                "cidr" | "cidr-block-association.cidr-block" => one(&v.cidr_block),
                "is-default" => one(if v.is_default { "true" } else { "false" }),
                _ => one(&r.account),
            })
        })
        .collect();
    let (selected, next) = page.cut(selected);
    let items = selected
        .into_iter()
        .map(|v| {
            vec![
                Node::leaf("vpcId", v.id.clone()),
                Node::leaf("ownerId", r.account.clone()),
                Node::leaf("state", "available"),
                Node::leaf("cidrBlock", v.cidr_block.clone()),
                Node::List(
                    "cidrBlockAssociationSet",
                    vec![vec![
                        Node::leaf("cidrBlock", v.cidr_block.clone()),
                        Node::leaf("associationId", v.id.replacen("vpc-", "vpc-cidr-assoc-", 1)),
                        Node::Branch("cidrBlockState", vec![Node::leaf("state", "associated")]),
                    ]],
                ),
                Node::leaf("dhcpOptionsId", "default"),
                Node::leaf("instanceTenancy", "default"),
                Node::leaf("isDefault", if v.is_default { "true" } else { "false" }),
                tag_set(&v.tags),
            ]
        })
        .collect();
    Ok(listed("vpcSet", items, next))
}

const SUBNET_FILTERS: [&str; 11] = [
    "subnet-id",
    "vpc-id",
    "availability-zone",
    "availability-zone-id",
    "cidr-block",
    "default-for-az",
    "state",
    "owner-id",
    "subnet-arn",
    "tag-key",
    "tag-value",
];

/// `DescribeSubnets`
pub(super) fn describe_subnets(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    // 1. Validate.
    let filters = filters(call.service, call.params, &SUBNET_FILTERS)?;
    let page = Page::of(call.service, call.params, (5, 1000), None)?;
    let ids = call.params.list("SubnetId");
    check_well_formed(&ids, &SUBNET)?;
    let dry = dry_run(call.service, call.params)?;
    // 2. Authorize.
    authorize_describe(call, "ec2:DescribeSubnets", dry)?;
    // 3. Look up.
    let region = resources(call)?;
    let r = read(&region);
    check_exist(&ids, &SUBNET, |id| r.subnets.contains_key(id))?;
    let selected: Vec<_> = r
        .subnets
        .values()
        .filter(|s| ids.is_empty() || ids.contains(&s.id.as_str()))
        .map(|s| (s, arn(call, ResourceKind::Subnet, &s.id)))
        .filter(|(s, subnet_arn)| {
            all_accept(&filters, &s.tags, |name| match name {
                "subnet-id" => one(&s.id),
                "vpc-id" => one(&s.vpc_id),
                "availability-zone" => one(&s.zone.name),
                "availability-zone-id" => one(&s.zone.id),
                "cidr-block" => one(&s.cidr_block),
                "default-for-az" => one(if s.default_for_az { "true" } else { "false" }),
                "state" => one("available"),
                "subnet-arn" => one(subnet_arn),
                _ => one(&r.account),
            })
        })
        .collect();
    let (selected, next) = page.cut(selected);
    let items = selected
        .into_iter()
        .map(|(s, subnet_arn)| {
            let size = super::model::parse_cidr(&s.cidr_block)
                .map_or(256, |(_, bits)| 1u64 << (32 - u32::from(bits)));
            let instances = r
                .instances
                .values()
                .filter(|i| {
                    i.subnet_id == s.id
                        && i.state(call.now) != super::model::InstanceState::Terminated
                })
                .count() as u64;
            vec![
                Node::leaf("subnetId", s.id.clone()),
                Node::leaf("subnetArn", subnet_arn),
                Node::leaf("state", "available"),
                Node::leaf("ownerId", r.account.clone()),
                Node::leaf("vpcId", s.vpc_id.clone()),
                Node::leaf("cidrBlock", s.cidr_block.clone()),
                Node::leaf(
                    "availableIpAddressCount",
                    size.saturating_sub(5 + instances).to_string(),
                ),
                Node::leaf("availabilityZone", s.zone.name.clone()),
                Node::leaf("availabilityZoneId", s.zone.id.clone()),
                Node::leaf(
                    "defaultForAz",
                    if s.default_for_az { "true" } else { "false" },
                ),
                Node::leaf(
                    "mapPublicIpOnLaunch",
                    if s.default_for_az { "true" } else { "false" },
                ),
                Node::leaf("assignIpv6AddressOnCreation", "false"),
                tag_set(&s.tags),
            ]
        })
        .collect();
    Ok(listed("subnetSet", items, next))
}

const GROUP_FILTERS: [&str; 7] = [
    "group-id",
    "group-name",
    "vpc-id",
    "owner-id",
    "description",
    "tag-key",
    "tag-value",
];

/// `DescribeSecurityGroups`
pub(super) fn describe_security_groups(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    // 1. Validate.
    let filters = filters(call.service, call.params, &GROUP_FILTERS)?;
    let page = Page::of(call.service, call.params, (5, 1000), None)?;
    let ids = call.params.list("GroupId");
    check_well_formed(&ids, &GROUP)?;
    let names = call.params.list("GroupName");
    let dry = dry_run(call.service, call.params)?;
    // 2. Authorize.
    authorize_describe(call, "ec2:DescribeSecurityGroups", dry)?;
    // 3. Look up.
    let region = resources(call)?;
    let r = read(&region);
    check_exist(&ids, &GROUP, |id| r.security_groups.contains_key(id))?;
    // Names are looked up in the default VPC, as EC2 does.
    let default_vpc = r.default_vpc().map(|v| v.id.clone()).unwrap_or_default();
    for name in &names {
        if !r
            .security_groups
            .values()
            .any(|g| g.name == *name && g.vpc_id == default_vpc)
        {
            return Err(AwsError::new(
                StatusCode::BAD_REQUEST,
                "InvalidGroup.NotFound",
                format!(
                    "The security group '{name}' does not exist in default VPC '{default_vpc}'"
                ),
            ));
        }
    }
    let selected: Vec<_> = r
        .security_groups
        .values()
        .filter(|g| ids.is_empty() || ids.contains(&g.id.as_str()))
        .filter(|g| {
            names.is_empty() || (g.vpc_id == default_vpc && names.contains(&g.name.as_str()))
        })
        .filter(|g| {
            all_accept(&filters, &g.tags, |name| match name {
                "group-id" => one(&g.id),
                "group-name" => one(&g.name),
                "vpc-id" => one(&g.vpc_id),
                "description" => one(&g.description),
                _ => one(&r.account),
            })
        })
        .collect();
    let (selected, next) = page.cut(selected);
    let items = selected
        .into_iter()
        .map(|g| {
            // Every group lets all traffic out; a default group lets its members in.
            let egress = vec![vec![
                Node::leaf("ipProtocol", "-1"),
                Node::List("groups", Vec::new()),
                Node::List("ipRanges", vec![vec![Node::leaf("cidrIp", "0.0.0.0/0")]]),
                Node::List("ipv6Ranges", Vec::new()),
                Node::List("prefixListIds", Vec::new()),
            ]];
            let ingress = if g.name == "default" {
                vec![vec![
                    Node::leaf("ipProtocol", "-1"),
                    Node::List(
                        "groups",
                        vec![vec![
                            Node::leaf("userId", r.account.clone()),
                            Node::leaf("groupId", g.id.clone()),
                        ]],
                    ),
                    Node::List("ipRanges", Vec::new()),
                    Node::List("ipv6Ranges", Vec::new()),
                    Node::List("prefixListIds", Vec::new()),
                ]]
            } else {
                Vec::new()
            };
            vec![
                Node::leaf("ownerId", r.account.clone()),
                Node::leaf("groupId", g.id.clone()),
                Node::leaf("groupName", g.name.clone()),
                Node::leaf("groupDescription", g.description.clone()),
                Node::leaf("vpcId", g.vpc_id.clone()),
                Node::leaf(
                    "securityGroupArn",
                    arn(call, ResourceKind::SecurityGroup, &g.id),
                ),
                Node::List("ipPermissions", ingress),
                Node::List("ipPermissionsEgress", egress),
                tag_set(&g.tags),
            ]
        })
        .collect();
    Ok(listed("securityGroupInfo", items, next))
}

const KEY_PAIR_FILTERS: [&str; 5] = [
    "key-name",
    "key-pair-id",
    "fingerprint",
    "tag-key",
    "tag-value",
];

/// `DescribeKeyPairs` (not paginated).
pub(super) fn describe_key_pairs(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    // 1. Validate.
    let filters = filters(call.service, call.params, &KEY_PAIR_FILTERS)?;
    let names = call.params.list("KeyName");
    let ids = call.params.list("KeyPairId");
    check_well_formed(&ids, &KEY_PAIR)?;
    let dry = dry_run(call.service, call.params)?;
    // 2. Authorize.
    authorize_describe(call, "ec2:DescribeKeyPairs", dry)?;
    // 3. Look up: key pairs by name, then by id.
    let region = resources(call)?;
    let r = read(&region);
    check_exist(&names, &KEY_PAIR, |name| r.key_pairs.contains_key(name))?;
    check_exist(&ids, &KEY_PAIR, |id| {
        r.key_pairs.values().any(|k| k.id == id)
    })?;
    let items = r
        .key_pairs
        .values()
        .filter(|k| names.is_empty() || names.contains(&k.name.as_str()))
        .filter(|k| ids.is_empty() || ids.contains(&k.id.as_str()))
        .filter(|k| {
            all_accept(&filters, &k.tags, |name| match name {
                "key-name" => one(&k.name),
                "key-pair-id" => one(&k.id),
                _ => one(&k.fingerprint),
            })
        })
        .map(|k| {
            vec![
                Node::leaf("keyPairId", k.id.clone()),
                Node::leaf("keyName", k.name.clone()),
                Node::leaf("keyFingerprint", k.fingerprint.clone()),
                Node::leaf("keyType", "rsa"),
                Node::leaf("createTime", timestamp(k.created)),
                tag_set(&k.tags),
            ]
        })
        .collect();
    Ok(vec![Node::List("keySet", items)])
}

const TEMPLATE_FILTERS: [&str; 4] = [
    "launch-template-name",
    "create-time",
    "tag-key",
    "tag-value",
];

/// `DescribeLaunchTemplates`
pub(super) fn describe_launch_templates(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    // 1. Validate.
    let filters = filters(call.service, call.params, &TEMPLATE_FILTERS)?;
    let page = Page::of(call.service, call.params, (1, 200), None)?;
    let ids = call.params.list("LaunchTemplateId");
    check_well_formed(&ids, &LAUNCH_TEMPLATE)?;
    let names = call.params.list("LaunchTemplateName");
    let dry = dry_run(call.service, call.params)?;
    // 2. Authorize.
    authorize_describe(call, "ec2:DescribeLaunchTemplates", dry)?;
    // 3. Look up: templates by id, then by name.
    let region = resources(call)?;
    let r = read(&region);
    check_exist(&ids, &LAUNCH_TEMPLATE, |id| {
        r.launch_templates.contains_key(id)
    })?;
    if names
        .iter()
        .any(|n| !r.launch_templates.values().any(|t| t.name == *n))
    {
        return Err(AwsError::new(
            StatusCode::BAD_REQUEST,
            "InvalidLaunchTemplateName.NotFoundException",
            "At least one of the launch templates specified in the request does not exist.",
        ));
    }
    let selected: Vec<_> = r
        .launch_templates
        .values()
        .filter(|t| ids.is_empty() || ids.contains(&t.id.as_str()))
        .filter(|t| names.is_empty() || names.contains(&t.name.as_str()))
        .filter(|t| {
            all_accept(&filters, &t.tags, |name| match name {
                "launch-template-name" => one(&t.name),
                _ => vec![Cow::Owned(timestamp(t.created))],
            })
        })
        .collect();
    let (selected, next) = page.cut(selected);
    let created_by = format!("arn:{}:iam::{}:root", r.partition.id(), r.account);
    let items = selected
        .into_iter()
        .map(|t| {
            vec![
                Node::leaf("launchTemplateId", t.id.clone()),
                Node::leaf("launchTemplateName", t.name.clone()),
                Node::leaf("createTime", timestamp(t.created)),
                Node::leaf("createdBy", created_by.clone()),
                Node::leaf("defaultVersionNumber", "1"),
                Node::leaf("latestVersionNumber", "1"),
                tag_set(&t.tags),
            ]
        })
        .collect();
    Ok(listed("launchTemplates", items, next))
}
