//! Network and launch reads: DescribeVpcs, DescribeSubnets, DescribeSecurityGroups,
//! DescribeKeyPairs, DescribeLaunchTemplates.

use http::StatusCode;

use crate::api::Call;
use crate::error::AwsError;
use crate::wire::xml::Node;

use super::api::{arn, authorize_describe, read, resources};
use super::filters::{
    Accessor, Ctx, GROUP, KEY_PAIR, LAUNCH_TEMPLATE, Page, SUBNET, Table, TagFilters, VPC,
    all_accept, check_exist, check_well_formed, dry_run, filters, flag, one, owned,
};
use super::model::{
    InstanceState, KeyPair, LaunchTemplate, ResourceKind, SecurityGroup, Subnet, Vpc, parse_cidr,
};
use super::tags::tag_set;

/// The items after filtering and paging, with `nextToken` when there is more.
fn listed(name: &'static str, items: Vec<Vec<Node>>, next: Option<String>) -> Vec<Node> {
    let mut out = vec![Node::List(name, items)];
    if let Some(token) = next {
        out.push(Node::leaf("nextToken", token));
    }
    out
}

/// DescribeVpcs' filters, with what each reads.
const VPC_FILTERS: Table<Accessor<Vpc>> = Table {
    fields: &[
        ("vpc-id", |v, _| one(&v.id)),
        ("state", |_, _| one("available")),
        ("cidr", |v, _| one(&v.cidr_block)),
        ("cidr-block-association.cidr-block", |v, _| {
            one(&v.cidr_block)
        }),
        ("is-default", |v, _| flag(v.is_default)),
        ("owner-id", |_, c| one(&c.r.account)),
    ],
    tags: TagFilters::Tagged,
};

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
    let ctx = Ctx { call, r: &r };
    let selected: Vec<_> = r
        .vpcs
        .values()
        .filter(|v| ids.is_empty() || ids.contains(&v.id.as_str()))
        .filter(|v| all_accept(&filters, Some(&v.tags), |field| field(v, ctx)))
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

/// DescribeSubnets' filters, with what each reads.
const SUBNET_FILTERS: Table<Accessor<Subnet>> = Table {
    fields: &[
        ("subnet-id", |s, _| one(&s.id)),
        ("vpc-id", |s, _| one(&s.vpc_id)),
        ("availability-zone", |s, _| one(&s.zone.name)),
        ("availability-zone-id", |s, _| one(&s.zone.id)),
        ("cidr-block", |s, _| one(&s.cidr_block)),
        ("default-for-az", |s, _| flag(s.default_for_az)),
        ("state", |_, _| one("available")),
        ("owner-id", |_, c| one(&c.r.account)),
        ("subnet-arn", |s, c| {
            owned(arn(c.call, ResourceKind::Subnet, &s.id))
        }),
    ],
    tags: TagFilters::Tagged,
};

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
    let ctx = Ctx { call, r: &r };
    let selected: Vec<_> = r
        .subnets
        .values()
        .filter(|s| ids.is_empty() || ids.contains(&s.id.as_str()))
        .filter(|s| all_accept(&filters, Some(&s.tags), |field| field(s, ctx)))
        .collect();
    let (selected, next) = page.cut(selected);
    let items = selected
        .into_iter()
        .map(|s| {
            let size =
                parse_cidr(&s.cidr_block).map_or(256, |(_, bits)| 1u64 << (32 - u32::from(bits)));
            let instances = r
                .instances
                .values()
                .filter(|i| i.subnet_id == s.id && i.state(call.now) != InstanceState::Terminated)
                .count() as u64;
            vec![
                Node::leaf("subnetId", s.id.clone()),
                Node::leaf("subnetArn", arn(call, ResourceKind::Subnet, &s.id)),
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

/// DescribeSecurityGroups' filters, with what each reads.
const GROUP_FILTERS: Table<Accessor<SecurityGroup>> = Table {
    fields: &[
        ("group-id", |g, _| one(&g.id)),
        ("group-name", |g, _| one(&g.name)),
        ("vpc-id", |g, _| one(&g.vpc_id)),
        ("owner-id", |_, c| one(&c.r.account)),
        ("description", |g, _| one(&g.description)),
    ],
    tags: TagFilters::Tagged,
};

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
    let ctx = Ctx { call, r: &r };
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
        .filter(|g| all_accept(&filters, Some(&g.tags), |field| field(g, ctx)))
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

/// DescribeKeyPairs' filters, with what each reads.
const KEY_PAIR_FILTERS: Table<Accessor<KeyPair>> = Table {
    fields: &[
        ("key-name", |k, _| one(&k.name)),
        ("key-pair-id", |k, _| one(&k.id)),
        ("fingerprint", |k, _| one(&k.fingerprint)),
    ],
    tags: TagFilters::Tagged,
};

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
    let ctx = Ctx { call, r: &r };
    check_exist(&names, &KEY_PAIR, |name| r.key_pairs.contains_key(name))?;
    check_exist(&ids, &KEY_PAIR, |id| {
        r.key_pairs.values().any(|k| k.id == id)
    })?;
    let items = r
        .key_pairs
        .values()
        .filter(|k| names.is_empty() || names.contains(&k.name.as_str()))
        .filter(|k| ids.is_empty() || ids.contains(&k.id.as_str()))
        .filter(|k| all_accept(&filters, Some(&k.tags), |field| field(k, ctx)))
        .map(|k| {
            vec![
                Node::leaf("keyPairId", k.id.clone()),
                Node::leaf("keyName", k.name.clone()),
                Node::leaf("keyFingerprint", k.fingerprint.clone()),
                Node::leaf("keyType", "rsa"),
                Node::leaf("createTime", crate::times::ec2(k.created)),
                tag_set(&k.tags),
            ]
        })
        .collect();
    Ok(vec![Node::List("keySet", items)])
}

/// DescribeLaunchTemplates' filters, with what each reads.
const TEMPLATE_FILTERS: Table<Accessor<LaunchTemplate>> = Table {
    fields: &[
        ("launch-template-name", |t, _| one(&t.name)),
        ("create-time", |t, _| owned(crate::times::ec2(t.created))),
    ],
    tags: TagFilters::Tagged,
};

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
    let ctx = Ctx { call, r: &r };
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
        .filter(|t| all_accept(&filters, Some(&t.tags), |field| field(t, ctx)))
        .collect();
    let (selected, next) = page.cut(selected);
    let created_by = crate::arn::root(r.partition, &r.account);
    let items = selected
        .into_iter()
        .map(|t| {
            vec![
                Node::leaf("launchTemplateId", t.id.clone()),
                Node::leaf("launchTemplateName", t.name.clone()),
                Node::leaf("createTime", crate::times::ec2(t.created)),
                Node::leaf("createdBy", created_by.clone()),
                Node::leaf("defaultVersionNumber", "1"),
                Node::leaf("latestVersionNumber", "1"),
                tag_set(&t.tags),
            ]
        })
        .collect();
    Ok(listed("launchTemplates", items, next))
}
