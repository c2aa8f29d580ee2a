//! Instances: DescribeInstances, DescribeInstanceStatus, RunInstances, TerminateInstances.

use std::time::SystemTime;

use http::StatusCode;

use crate::api::Call;
use crate::error::AwsError;
use crate::wire::xml::Node;

use super::api::{
    arn, authorize_describe, authorize_existing, read, request_tags, resource_tags, resources,
    write,
};
use super::filters::{
    self, Accessor, Ctx, GROUP, IMAGE, INSTANCE, KEY_PAIR, LAUNCH_TEMPLATE, Page, SUBNET, Table,
    TagFilters, Values, all_accept, check_exist, check_well_formed, dry_run, dry_run_operation,
    each, filters, missing_parameter, one, owned,
};
use super::images::visible_image;
use super::model::{
    INITIALIZING, Instance, InstanceState, Lifecycle, PENDING, ResourceKind, Resources, Tags,
};
use super::tags::{MAX_TAGS, tag_limit, tag_set, tags_from};
use crate::iam::store::InstanceProfile;
use crate::policy::context::Context;

/// Instances one account may run (DescribeAccountAttributes' `max-instances`).
pub(crate) const MAX_INSTANCES: usize = 20;
/// Terminated instances kept for Describe calls (beyond these, the oldest are forgotten).
const MAX_TERMINATED: usize = 200;

/// DescribeInstances' filters, with what each reads.
const INSTANCE_FILTERS: Table<Accessor<Instance>> = Table {
    fields: &[
        ("instance-id", |i, _| one(&i.id)),
        ("instance-state-name", |i, c| {
            one(i.state(c.call.now).name())
        }),
        ("instance-state-code", |i, c| {
            owned(i.state(c.call.now).code().to_string())
        }),
        ("instance-type", |i, _| one(&i.instance_type)),
        ("image-id", |i, _| one(&i.image_id)),
        ("vpc-id", |i, _| one(&i.vpc_id)),
        ("subnet-id", |i, _| one(&i.subnet_id)),
        ("availability-zone", |i, _| one(&i.zone)),
        ("iam-instance-profile.arn", |i, c| {
            each(profile(i, c).map(|p| p.arn.as_str()))
        }),
        ("iam-instance-profile.id", |i, c| {
            each(profile(i, c).map(|p| p.id.as_str()))
        }),
        ("key-name", |i, _| each(i.key_name.as_deref())),
        ("reservation-id", |i, _| one(&i.reservation_id)),
        ("owner-id", |_, c| one(&c.r.account)),
        ("private-ip-address", |i, _| one(&i.private_ip)),
        ("instance.group-id", group_ids),
        ("instance.group-name", group_names),
        ("group-id", group_ids),
        ("group-name", group_names),
        ("architecture", |i, c| one(architecture(c.r, &i.image_id))),
        ("launch-time", |i, _| owned(crate::times::ec2(i.launched))),
        ("ami-launch-index", |i, _| owned(i.launch_index.to_string())),
    ],
    tags: TagFilters::Tagged,
};

/// The instance profile of an instance, as IAM has it.
fn profile<'a>(i: &'a Instance, c: Ctx<'a>) -> Option<&'a InstanceProfile> {
    let name = i.profile.as_deref()?;
    c.call.store.instance_profile(&c.r.account, name)
}

/// The ids of an instance's security groups.
fn group_ids<'a>(i: &'a Instance, _: Ctx<'a>) -> Values<'a> {
    each(i.security_groups.iter().map(String::as_str))
}

/// The names of an instance's security groups.
fn group_names<'a>(i: &'a Instance, c: Ctx<'a>) -> Values<'a> {
    each(
        i.security_groups
            .iter()
            .filter_map(|g| c.r.security_groups.get(g))
            .map(|g| g.name.as_str()),
    )
}

fn architecture<'r>(r: &'r Resources, image: &str) -> &'r str {
    visible_image(r, image).map_or("x86_64", |i| i.architecture.as_str())
}

/// The instance `id` if it is the caller's here and still in view.
fn visible_instance<'r>(r: &'r Resources, id: &str, now: SystemTime) -> Option<&'r Instance> {
    r.instances.get(id).filter(|i| i.visible(now))
}

/// Checks every id names an instance in view here (`InvalidInstanceID.NotFound`).
fn check_instances_exist(call: &Call<'_>, r: &Resources, ids: &[&str]) -> Result<(), AwsError> {
    check_exist(ids, &INSTANCE, |id| {
        visible_instance(r, id, call.now).is_some()
    })
}

/// Validates the `InstanceId.N` (well-formed), page and `DryRun` of an instance Describe
/// call. Ids and `MaxResults` do not go together whatever the ids name, so that is told
/// first, before the ids are even read.
fn instance_query<'p>(call: &'p Call<'_>) -> Result<(Vec<&'p str>, Page, bool), AwsError> {
    let ids = call.params.list("InstanceId");
    let page = Page::of(
        call.service,
        call.params,
        (5, 1000),
        (!ids.is_empty()).then_some("instancesSet"),
    )?;
    check_well_formed(&ids, &INSTANCE)?;
    let dry = dry_run(call.service, call.params)?;
    Ok((ids, page, dry))
}

/// `DescribeInstances`: the caller's instances in the region, by reservation.
pub(super) fn describe_instances(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    // 1. Validate.
    let filters = filters(call.service, call.params, &INSTANCE_FILTERS)?;
    let (ids, page, dry) = instance_query(call)?;
    // 2. Authorize.
    authorize_describe(call, "ec2:DescribeInstances", dry)?;
    // 3. Look up.
    let region = resources(call)?;
    let r = read(&region);
    check_instances_exist(call, &r, &ids)?;
    let now = call.now;
    let ctx = Ctx { call, r: &r };
    let mut selected: Vec<&Instance> = r
        .instances
        .values()
        .filter(|i| i.visible(now))
        .filter(|i| ids.is_empty() || ids.contains(&i.id.as_str()))
        .filter(|i| all_accept(&filters, Some(&i.tags), |field| field(i, ctx)))
        .collect();
    selected.sort_by(|a, b| {
        (a.launched, &a.reservation_id, a.launch_index).cmp(&(
            b.launched,
            &b.reservation_id,
            b.launch_index,
        ))
    });
    let (selected, next) = page.cut(selected);
    let mut reservations: Vec<Vec<Node>> = Vec::new();
    let mut current: Option<(&str, Vec<Vec<Node>>)> = None;
    for i in selected {
        match &mut current {
            Some((id, items)) if *id == i.reservation_id => items.push(instance_item(call, &r, i)),
            _ => {
                if let Some((id, items)) = current.take() {
                    reservations.push(reservation(&r, id, items));
                }
                current = Some((&i.reservation_id, vec![instance_item(call, &r, i)]));
            }
        }
    }
    if let Some((id, items)) = current {
        reservations.push(reservation(&r, id, items));
    }
    let mut out = vec![Node::List("reservationSet", reservations)];
    if let Some(token) = next {
        out.push(Node::leaf("nextToken", token));
    }
    Ok(out)
}

/// A reservation's elements (RunInstances answers with them at the top level).
fn reservation(r: &Resources, id: &str, instances: Vec<Vec<Node>>) -> Vec<Node> {
    vec![
        Node::leaf("reservationId", id.to_owned()),
        Node::leaf("ownerId", r.account.clone()),
        Node::List("groupSet", Vec::new()),
        Node::List("instancesSet", instances),
    ]
}

fn state_node(name: &'static str, state: InstanceState) -> Node {
    Node::Branch(
        name,
        vec![
            Node::leaf("code", state.code().to_string()),
            Node::leaf("name", state.name()),
        ],
    )
}

/// One instance, as DescribeInstances and RunInstances show it.
fn instance_item(call: &Call<'_>, r: &Resources, i: &Instance) -> Vec<Node> {
    let state = i.state(call.now);
    let dns_suffix = if r.region == "us-east-1" {
        "ec2.internal".to_owned()
    } else {
        format!("{}.compute.internal", r.region)
    };
    // A stopped instance keeps its network interface; a terminated one has none.
    let attached = !matches!(state, InstanceState::Terminated);
    let private_dns = if attached {
        format!("ip-{}.{dns_suffix}", i.private_ip.replace('.', "-"))
    } else {
        String::new()
    };
    let groups = i
        .security_groups
        .iter()
        .map(|g| {
            vec![
                Node::leaf("groupId", g.clone()),
                Node::leaf(
                    "groupName",
                    r.security_groups
                        .get(g)
                        .map(|g| g.name.clone())
                        .unwrap_or_default(),
                ),
            ]
        })
        .collect();
    let mut out = vec![
        Node::leaf("instanceId", i.id.clone()),
        Node::leaf("imageId", i.image_id.clone()),
        state_node("instanceState", state),
        Node::leaf("privateDnsName", private_dns),
        Node::leaf("dnsName", ""),
        Node::leaf("reason", ""),
    ];
    if let Some(key) = &i.key_name {
        out.push(Node::leaf("keyName", key.clone()));
    }
    out.extend([
        Node::leaf("amiLaunchIndex", i.launch_index.to_string()),
        Node::List("productCodes", Vec::new()),
        Node::leaf("instanceType", i.instance_type.clone()),
        Node::leaf("launchTime", crate::times::ec2(i.launched)),
        Node::Branch(
            "placement",
            vec![
                Node::leaf("availabilityZone", i.zone.clone()),
                Node::leaf("groupName", ""),
                Node::leaf("tenancy", "default"),
            ],
        ),
        Node::Branch("monitoring", vec![Node::leaf("state", "disabled")]),
    ]);
    if attached {
        out.extend([
            Node::leaf("subnetId", i.subnet_id.clone()),
            Node::leaf("vpcId", i.vpc_id.clone()),
            Node::leaf("privateIpAddress", i.private_ip.clone()),
        ]);
    }
    out.extend([
        Node::leaf("sourceDestCheck", "true"),
        Node::List("groupSet", groups),
        Node::leaf("architecture", architecture(r, &i.image_id).to_owned()),
        Node::leaf("rootDeviceType", "ebs"),
        Node::leaf("rootDeviceName", "/dev/xvda"),
        Node::List("blockDeviceMapping", Vec::new()),
        Node::leaf("virtualizationType", "hvm"),
        Node::leaf("clientToken", ""),
        tag_set(&i.tags),
        Node::leaf("hypervisor", "xen"),
        Node::List("networkInterfaceSet", Vec::new()),
        Node::leaf("ebsOptimized", "false"),
        Node::leaf("enaSupport", "true"),
    ]);
    if let Some(p) = profile(i, Ctx { call, r }) {
        out.push(Node::Branch(
            "iamInstanceProfile",
            vec![
                Node::leaf("arn", p.arn.clone()),
                Node::leaf("id", p.id.clone()),
            ],
        ));
    }
    if matches!(
        state,
        InstanceState::ShuttingDown | InstanceState::Terminated
    ) {
        out.push(Node::Branch(
            "stateReason",
            vec![
                Node::leaf("code", "Client.UserInitiatedShutdown"),
                Node::leaf(
                    "message",
                    "Client.UserInitiatedShutdown: User initiated shutdown",
                ),
            ],
        ));
    }
    out
}

/// DescribeInstanceStatus' filters, with what each reads.
const STATUS_FILTERS: Table<Accessor<Instance>> = Table {
    fields: &[
        ("availability-zone", |i, _| one(&i.zone)),
        ("instance-state-name", |i, c| {
            one(i.state(c.call.now).name())
        }),
        ("instance-state-code", |i, c| {
            owned(i.state(c.call.now).code().to_string())
        }),
        ("instance-status.status", |i, c| {
            one(status_checks(i, c.call.now).0)
        }),
        ("system-status.status", |i, c| {
            one(status_checks(i, c.call.now).0)
        }),
    ],
    tags: TagFilters::Untagged,
};

/// An instance's status checks at `now` (one answer for both the instance and the system):
/// the summary status, and the detail of its reachability check (empty when there is none).
fn status_checks(i: &Instance, now: SystemTime) -> (&'static str, &'static str) {
    match i.state(now) {
        InstanceState::Running
            if now.duration_since(i.launched).unwrap_or_default() < PENDING + INITIALIZING =>
        {
            ("initializing", "initializing")
        }
        InstanceState::Running => ("ok", "passed"),
        _ => ("not-applicable", ""),
    }
}

/// `DescribeInstanceStatus`: status checks of running instances (every instance with
/// `IncludeAllInstances=true`): `initializing` for the first minute, then `ok`.
pub(super) fn describe_instance_status(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    // 1. Validate.
    let filters = filters(call.service, call.params, &STATUS_FILTERS)?;
    let all = filters::boolean(call.service, call.params, "IncludeAllInstances")?;
    let (ids, page, dry) = instance_query(call)?;
    // 2. Authorize.
    authorize_describe(call, "ec2:DescribeInstanceStatus", dry)?;
    // 3. Look up.
    let region = resources(call)?;
    let r = read(&region);
    check_instances_exist(call, &r, &ids)?;
    let now = call.now;
    let check = |i: &Instance| status_checks(i, now);
    let ctx = Ctx { call, r: &r };
    let selected: Vec<&Instance> = r
        .instances
        .values()
        .filter(|i| i.visible(now))
        .filter(|i| ids.is_empty() || ids.contains(&i.id.as_str()))
        .filter(|i| all || i.state(now) == InstanceState::Running)
        .filter(|i| all_accept(&filters, None, |field| field(i, ctx)))
        .collect();
    let (selected, next) = page.cut(selected);
    let status = |name: &'static str, (summary, detail): (&'static str, &'static str)| {
        let details = if detail.is_empty() {
            Vec::new()
        } else {
            vec![vec![
                Node::leaf("name", "reachability"),
                Node::leaf("status", detail),
            ]]
        };
        Node::Branch(
            name,
            vec![
                Node::leaf("status", summary),
                Node::List("details", details),
            ],
        )
    };
    let items = selected
        .into_iter()
        .map(|i| {
            vec![
                Node::leaf("instanceId", i.id.clone()),
                Node::leaf("availabilityZone", i.zone.clone()),
                state_node("instanceState", i.state(now)),
                status("systemStatus", check(i)),
                status("instanceStatus", check(i)),
                Node::List("eventsSet", Vec::new()),
            ]
        })
        .collect();
    let mut out = vec![Node::List("instanceStatusSet", items)];
    if let Some(token) = next {
        out.push(Node::leaf("nextToken", token));
    }
    Ok(out)
}

/// A count parameter (`MinCount`, `MaxCount`).
fn count(call: &Call<'_>, name: &str) -> Result<i64, AwsError> {
    let raw = call
        .params
        .get(name)
        .ok_or_else(|| missing_parameter(name))?;
    raw.parse().map_err(|_| {
        AwsError::invalid_parameter_value(call.service, format!("Invalid value '{raw}' for {name}"))
    })
}

/// `InvalidParameterValue` unless `t` reads as an instance type.
fn check_instance_type(call: &Call<'_>, t: &str) -> Result<(), AwsError> {
    if valid_instance_type(t) {
        return Ok(());
    }
    Err(AwsError::invalid_parameter_value(
        call.service,
        format!("Invalid value '{t}' for InstanceType."),
    ))
}

/// Whether `t` reads as an instance type: `family.size` (`t3.micro`, `m7g.16xlarge`).
fn valid_instance_type(t: &str) -> bool {
    let Some((family, size)) = t.split_once('.') else {
        return false;
    };
    let family_ok = family.len() >= 2
        && family.starts_with(|c: char| c.is_ascii_lowercase())
        && family.bytes().any(|b| b.is_ascii_digit())
        && family
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let size_ok = matches!(
        size,
        "nano" | "micro" | "small" | "medium" | "large" | "xlarge" | "metal"
    ) || size
        .strip_suffix("xlarge")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        || size.starts_with("metal-");
    family_ok && size_ok
}

/// How RunInstances names its launch template.
#[derive(Debug, Clone, Copy)]
enum TemplateRef<'p> {
    Id(&'p str),
    Name(&'p str),
}

/// RunInstances' parameters, each checked without reading a resource (step 1).
struct LaunchRequest<'p> {
    template: Option<TemplateRef<'p>>,
    image: Option<&'p str>,
    instance_type: Option<&'p str>,
    min: usize,
    max: usize,
    subnet: Option<&'p str>,
    group_ids: Vec<&'p str>,
    group_names: Vec<&'p str>,
    key_name: Option<&'p str>,
    tags: TagSpecs,
    dry: bool,
}

/// Step 1 of RunInstances: every parameter, before any resource is read.
fn launch_request<'p>(call: &'p Call<'_>) -> Result<LaunchRequest<'p>, AwsError> {
    let params = call.params;
    let tags = tag_specifications(call)?;
    let (min, max) = (count(call, "MinCount")?, count(call, "MaxCount")?);
    let dry = dry_run(call.service, params)?;
    let template = match (
        params.get("LaunchTemplate.LaunchTemplateId"),
        params.get("LaunchTemplate.LaunchTemplateName"),
    ) {
        (Some(_), Some(_)) => {
            return Err(AwsError::new(
                StatusCode::BAD_REQUEST,
                "InvalidParameterCombination",
                "Only one of LaunchTemplateId or LaunchTemplateName may be specified",
            ));
        }
        (Some(id), None) => {
            check_well_formed(&[id], &LAUNCH_TEMPLATE)?;
            Some(TemplateRef::Id(id))
        }
        (None, Some(name)) => Some(TemplateRef::Name(name)),
        (None, None) => None,
    };
    let image = params.get("ImageId");
    // Without a launch template, the image must be given (a template may name it).
    if image.is_none() && template.is_none() {
        return Err(missing_parameter("ImageId"));
    }
    if max < 1 {
        return Err(AwsError::invalid_parameter_value(
            call.service,
            "Maximum instance count must be greater than zero",
        ));
    }
    if min < 1 {
        return Err(AwsError::invalid_parameter_value(
            call.service,
            "Minimum instance count must be greater than zero",
        ));
    }
    if min > max {
        // No public sample of AWS's words for this one.
        return Err(AwsError::invalid_parameter_value(
            call.service,
            "Minimum instance count must not be greater than maximum instance count",
        ));
    }
    check_well_formed(image.as_slice(), &IMAGE)?;
    let instance_type = params.get("InstanceType");
    if let Some(t) = instance_type {
        check_instance_type(call, t)?;
    }
    let subnet = params.get("SubnetId");
    check_well_formed(subnet.as_slice(), &SUBNET)?;
    let group_ids = params.list("SecurityGroupId");
    check_well_formed(&group_ids, &GROUP)?;
    Ok(LaunchRequest {
        template,
        image,
        instance_type,
        min: usize::try_from(min).unwrap_or(usize::MAX),
        max: usize::try_from(max).unwrap_or(usize::MAX),
        subnet,
        group_ids,
        group_names: params.list("SecurityGroup"),
        key_name: params.get("KeyName"),
        tags,
        dry,
    })
}

/// What RunInstances launches: the request with the resources it names looked up, as its
/// authorization needs them (their tags, the image's owner, the subnet's VPC). A resource
/// named that does not exist is `None` here (authorized by its ARN alone) and `missing`
/// holds the error for the first one, given once the launch is authorized.
struct Launch<'p> {
    /// The image named, or the launch template's.
    image: Option<String>,
    instance_type: String,
    /// The subnet named, or the default subnet: its id, and the subnet if it exists.
    subnet_id: Option<String>,
    subnet: Option<super::model::Subnet>,
    groups: Vec<String>,
    key_name: Option<&'p str>,
    profile: Option<Profile>,
    /// The launch template's id.
    template: Option<String>,
    /// Tags to apply, by resource type (`instance`, `volume`, `network-interface`).
    tags: TagSpecs,
    min: usize,
    max: usize,
    /// The first resource named that does not exist (step 3).
    missing: Option<AwsError>,
}

/// What launches once everything named exists.
struct Found<'p> {
    image: String,
    instance_type: String,
    subnet: super::model::Subnet,
    groups: Vec<String>,
    key_name: Option<&'p str>,
    profile: Option<Profile>,
    tags: TagSpecs,
    min: usize,
    max: usize,
}

impl<'p> Launch<'p> {
    /// Step 3: the error for the first resource named that does not exist, or what
    /// launches.
    fn found(self) -> Result<Found<'p>, AwsError> {
        if let Some(err) = self.missing {
            return Err(err);
        }
        // Only a missing resource leaves these unset, and `missing` tells which.
        let image = self.image.ok_or_else(|| missing_parameter("ImageId"))?;
        let subnet = self.subnet.ok_or_else(no_default_vpc)?;
        Ok(Found {
            image,
            instance_type: self.instance_type,
            subnet,
            groups: self.groups,
            key_name: self.key_name,
            profile: self.profile,
            tags: self.tags,
            min: self.min,
            max: self.max,
        })
    }
}

/// The instance profile a launch attaches.
struct Profile {
    name: String,
    arn: String,
    /// The role it passes to the instances, if it holds one.
    role: Option<String>,
}

/// `TagSpecification.N`: tags by resource type.
type TagSpecs = std::collections::BTreeMap<ResourceKind, Tags>;

/// The resource types RunInstances tags.
const TAGGABLE: [ResourceKind; 3] = [
    ResourceKind::Instance,
    ResourceKind::Volume,
    ResourceKind::NetworkInterface,
];

/// Reads every `TagSpecification.N.ResourceType` and `.Tag.M.Key/Value` in one pass.
fn tag_specifications(call: &Call<'_>) -> Result<TagSpecs, AwsError> {
    type Spec<'a> = (Option<&'a str>, Vec<(u32, &'a str)>, Vec<(u32, &'a str)>);
    let mut specs: std::collections::BTreeMap<u32, Spec<'_>> = std::collections::BTreeMap::new();
    for (key, value) in call.params.iter() {
        let Some((n, rest)) = key
            .strip_prefix("TagSpecification.")
            .and_then(|r| r.split_once('.'))
        else {
            continue;
        };
        let Some(n) = n.parse::<u32>().ok().filter(|n| *n > 0) else {
            continue;
        };
        let spec = specs.entry(n).or_default();
        if rest == "ResourceType" {
            spec.0 = Some(value);
        } else if let Some((m, field)) = rest.strip_prefix("Tag.").and_then(|r| r.split_once('.'))
            && let Some(m) = m.parse::<u32>().ok().filter(|m| *m > 0)
        {
            match field {
                "Key" => spec.1.push((m, value)),
                "Value" => spec.2.push((m, value)),
                _ => {}
            }
        }
    }
    let mut out = TagSpecs::new();
    for (_, (kind, keys, values)) in specs {
        let name = kind.unwrap_or_default();
        let Some(kind) = ResourceKind::parse(name).filter(|k| TAGGABLE.contains(k)) else {
            return Err(AwsError::invalid_parameter_value(
                call.service,
                format!("'{name}' is not a valid taggable resource type for this operation."),
            ));
        };
        let tags = out.entry(kind).or_default();
        tags.extend(tags_from(keys, &values)?);
        if tags.len() > MAX_TAGS {
            return Err(tag_limit());
        }
    }
    Ok(out)
}

/// `RunInstances`: launches `MaxCount` instances (at least `MinCount` must fit the account's
/// limit) from an image, pending for a few seconds of server time, then running. Each
/// resource involved is authorized, `ec2:CreateTags` too when tags are applied, and
/// `iam:PassRole` on the instance profile's role.
pub(super) fn run_instances(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    // 1. Validate every parameter.
    let request = launch_request(call)?;
    let dry = request.dry;
    // 2. Authorize. EC2 authorizes a launch on each resource it uses, with the resource's
    // tags, the image's owner and the subnet's VPC as condition keys, so it must read them
    // first: what is named is looked up here, and one that does not exist is authorized by
    // its ARN without them.
    let region = resources(call)?;
    let mut r = write(&region);
    let launch = resolve(call, &r, request)?;
    authorize_launch(call, &r, &launch)?;
    // 3. What was named and does not exist. Unlike a Describe call, a dry run answers after
    // this: the resources were read to authorize, and launching an unknown image would not
    // succeed (a dry-run launch of one is `InvalidAMIID.NotFound`).
    let launch = launch.found()?;
    if dry {
        return Err(dry_run_operation());
    }
    // The limit counts running instances (pending ones are on their way); a dry run asks
    // about permissions only, so it is told after.
    let now = call.now;
    let running = r
        .instances
        .values()
        .filter(|i| {
            matches!(
                i.state(now),
                InstanceState::Pending | InstanceState::Running
            )
        })
        .count();
    let room = MAX_INSTANCES.saturating_sub(running);
    if launch.min > room {
        return Err(AwsError::new(
            StatusCode::BAD_REQUEST,
            "InstanceLimitExceeded",
            format!(
                "You have requested more instances ({}) than your current instance limit of {MAX_INSTANCES} allows for the specified instance type. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.",
                launch.min
            ),
        ));
    }
    let count = launch.max.min(room);
    // Instances gone from view, and terminated ones beyond the newest few hundred (a
    // virtual clock may never move), are dropped, so memory stays flat however many launch
    // and terminate.
    r.instances.retain(|_, i| i.visible(now));
    let mut terminated: Vec<(SystemTime, String)> = r
        .instances
        .values()
        .filter_map(|i| match i.lifecycle {
            Lifecycle::Terminated(at) => Some((at, i.id.clone())),
            _ => None,
        })
        .collect();
    if terminated.len() > MAX_TERMINATED {
        terminated.sort_unstable();
        for (_, id) in &terminated[..terminated.len() - MAX_TERMINATED] {
            r.instances.remove(id);
        }
    }
    let reservation_id = r.new_reservation_id();
    let mut items = Vec::new();
    for n in 0..count {
        let id = r.new_id(ResourceKind::Instance);
        let private_ip = Resources::private_ip(&launch.subnet, r.serial());
        let instance = Instance {
            id: id.clone(),
            reservation_id: reservation_id.clone(),
            image_id: launch.image.clone(),
            instance_type: launch.instance_type.clone(),
            key_name: launch.key_name.map(str::to_owned),
            subnet_id: launch.subnet.id.clone(),
            vpc_id: launch.subnet.vpc_id.clone(),
            zone: launch.subnet.zone.name.clone(),
            private_ip,
            security_groups: launch.groups.clone(),
            profile: launch.profile.as_ref().map(|p| p.name.clone()),
            launched: call.now,
            launch_index: u32::try_from(n).unwrap_or(u32::MAX),
            lifecycle: Lifecycle::Started,
            tags: launch
                .tags
                .get(&ResourceKind::Instance)
                .cloned()
                .unwrap_or_default(),
        };
        items.push(instance_item(call, &r, &instance));
        r.instances.insert(id, instance);
    }
    Ok(reservation(&r, &reservation_id, items))
}

/// `VPCIdNotSpecified`: no subnet named and no default VPC to launch in.
fn no_default_vpc() -> AwsError {
    AwsError::new(
        StatusCode::BAD_REQUEST,
        "VPCIdNotSpecified",
        "No default VPC for this user. GroupName is only supported for EC2-Classic and default VPC.",
    )
}

/// Looks up what a launch names (step 2, for its authorization). The first that does not
/// exist is kept in `missing`, in the order EC2 checks them: launch template, image,
/// subnet, security groups, key pair, instance profile.
fn resolve<'p>(
    call: &Call<'_>,
    r: &Resources,
    request: LaunchRequest<'p>,
) -> Result<Launch<'p>, AwsError> {
    let mut missing: Option<AwsError> = None;
    let mut note = |checked: Result<(), AwsError>| {
        if let Err(err) = checked {
            missing.get_or_insert(err);
        }
    };
    let template = match request.template {
        Some(TemplateRef::Id(id)) => {
            note(check_exist(&[id], &LAUNCH_TEMPLATE, |id| {
                r.launch_templates.contains_key(id)
            }));
            r.launch_templates.get(id)
        }
        Some(TemplateRef::Name(name)) => {
            let found = r.launch_templates.values().find(|t| t.name == name);
            if found.is_none() {
                note(Err(AwsError::new(
                    StatusCode::BAD_REQUEST,
                    "InvalidLaunchTemplateName.NotFoundException",
                    format!(
                        "The specified launch template, with template name {name}, does not exist."
                    ),
                )));
            }
            found
        }
        None => None,
    };
    let template_id = match (request.template, template) {
        (_, Some(t)) => Some(t.id.clone()),
        (Some(TemplateRef::Id(id)), None) => Some(id.to_owned()),
        _ => None,
    };
    let image = request
        .image
        .map(str::to_owned)
        .or_else(|| template.and_then(|t| t.image.clone()));
    match &image {
        Some(id) => note(check_exist(&[id.as_str()], &IMAGE, |id| {
            visible_image(r, id).is_some()
        })),
        // A template found without an image: the parameter was needed after all.
        None if template.is_some() => return Err(missing_parameter("ImageId")),
        // An unknown template: `missing` already says so.
        None => {}
    }
    let instance_type = match request.instance_type {
        Some(t) => t.to_owned(),
        None => {
            let t = template
                .and_then(|t| t.instance_type.clone())
                .unwrap_or_else(|| "m1.small".to_owned());
            check_instance_type(call, &t)?;
            t
        }
    };
    let subnet = match request.subnet {
        Some(id) => {
            note(check_exist(&[id], &SUBNET, |id| r.subnets.contains_key(id)));
            r.subnets.get(id)
        }
        None => {
            let default = r.default_subnet();
            if default.is_none() {
                note(Err(no_default_vpc()));
            }
            default
        }
    }
    .cloned();
    let subnet_id = request
        .subnet
        .map(str::to_owned)
        .or_else(|| subnet.as_ref().map(|s| s.id.clone()));
    note(check_exist(&request.group_ids, &GROUP, |id| {
        r.security_groups.contains_key(id)
    }));
    let mut groups: Vec<String> = request.group_ids.iter().map(|s| (*s).to_owned()).collect();
    // Group names are looked up in the subnet's VPC (an unknown subnet is already missing).
    if let Some(subnet) = &subnet {
        for name in &request.group_names {
            match r
                .security_groups
                .values()
                .find(|g| g.name == *name && g.vpc_id == subnet.vpc_id)
            {
                Some(group) => groups.push(group.id.clone()),
                None => note(Err(AwsError::new(
                    StatusCode::BAD_REQUEST,
                    "InvalidGroup.NotFound",
                    format!(
                        "The security group '{name}' does not exist in VPC '{}'",
                        subnet.vpc_id
                    ),
                ))),
            }
        }
        if let Some(g) = groups.iter().find(|g| {
            r.security_groups
                .get(*g)
                .is_some_and(|g| g.vpc_id != subnet.vpc_id)
        }) {
            note(Err(AwsError::new(
                StatusCode::BAD_REQUEST,
                "InvalidParameter",
                format!(
                    "Security group {g} and subnet {} belong to different networks.",
                    subnet.id
                ),
            )));
        }
        if groups.is_empty() {
            groups.extend(r.default_group(&subnet.vpc_id).map(|g| g.id.clone()));
        }
    }
    note(check_exist(
        request.key_name.as_slice(),
        &KEY_PAIR,
        |name| r.key_pairs.contains_key(name),
    ));
    let profile = instance_profile(call, template.and_then(|t| t.instance_profile.as_deref()))
        .unwrap_or_else(|err| {
            note(Err(err));
            None
        });
    Ok(Launch {
        image,
        instance_type,
        subnet_id,
        subnet,
        groups,
        key_name: request.key_name,
        profile,
        template: template_id,
        tags: request.tags,
        min: request.min,
        max: request.max,
        missing,
    })
}

/// `IamInstanceProfile.Name` / `.Arn` (or the launch template's): the profile and its
/// role's ARN.
fn instance_profile(
    call: &Call<'_>,
    from_template: Option<&str>,
) -> Result<Option<Profile>, AwsError> {
    let account = &call.caller.account;
    let (name, field, given) = match (
        call.params.get("IamInstanceProfile.Name"),
        call.params.get("IamInstanceProfile.Arn"),
    ) {
        (Some(name), _) => (Some(name), "name", name),
        (None, Some(arn)) => {
            let name = arn
                .strip_prefix(&crate::arn::iam(
                    call.caller.partition,
                    account,
                    "instance-profile/",
                ))
                .and_then(|rest| rest.rsplit('/').next());
            (name, "arn", arn)
        }
        (None, None) => match from_template {
            Some(name) => (Some(name), "name", name),
            None => return Ok(None),
        },
    };
    let found = name.and_then(|n| Some((n, call.store.instance_profile(account, n)?)));
    let (name, profile) = found.filter(|(_, p)| field != "arn" || p.arn == given).ok_or_else(|| {
        let what = if field == "arn" { "ARN" } else { "name" };
        AwsError::invalid_parameter_value(
            call.service,
            format!("Value ({given}) for parameter iamInstanceProfile.{field} is invalid. Invalid IAM Instance Profile {what}"),
        )
    })?;
    Ok(Some(Profile {
        name: name.to_owned(),
        arn: profile.arn.clone(),
        role: profile.role_arn.clone(),
    }))
}

/// Authorizes every resource of a launch, as EC2 does: the image (with `ec2:Owner`,
/// `ec2:Public`, `ec2:ImageType`), subnet, security groups, key pair and launch template
/// (with their tags, and `ec2:Vpc` where they are in one; without these when they do not
/// exist), the network interface, volume and instance being made (with the tags requested
/// for each); `ec2:CreateTags` with `ec2:CreateAction` for each kind tagged; `iam:PassRole`
/// on the profile's role.
fn authorize_launch(call: &Call<'_>, r: &Resources, launch: &Launch<'_>) -> Result<(), AwsError> {
    let action = "ec2:RunInstances";
    let empty = Tags::new();
    let vpc = launch
        .subnet
        .as_ref()
        .map(|s| arn(call, ResourceKind::Vpc, &s.vpc_id));
    let in_vpc = |ctx: &mut Context| {
        if let Some(vpc) = &vpc {
            ctx.set("ec2:Vpc", vpc.clone());
        }
    };
    if let Some(id) = &launch.image {
        let image = visible_image(r, id);
        call.authorize(action, &arn(call, ResourceKind::Image, id), |ctx| {
            if let Some(image) = image {
                resource_tags(ctx, &image.tags);
                ctx.set("ec2:Owner", image.owner_alias.unwrap_or(&image.owner));
                ctx.set("ec2:Public", if image.public { "true" } else { "false" });
            }
            ctx.set("ec2:ImageType", "machine");
        })?;
    }
    if let Some(id) = &launch.subnet_id {
        let tags = launch.subnet.as_ref().map_or(&empty, |s| &s.tags);
        call.authorize(action, &arn(call, ResourceKind::Subnet, id), |ctx| {
            resource_tags(ctx, tags);
            in_vpc(ctx);
        })?;
    }
    for g in &launch.groups {
        let tags = r.security_groups.get(g).map_or(&empty, |g| &g.tags);
        call.authorize(action, &arn(call, ResourceKind::SecurityGroup, g), |ctx| {
            resource_tags(ctx, tags);
            in_vpc(ctx);
        })?;
    }
    if let Some(name) = launch.key_name {
        let tags = r.key_pairs.get(name).map_or(&empty, |k| &k.tags);
        authorize_existing(call, action, &arn(call, ResourceKind::KeyPair, name), tags)?;
    }
    if let Some(id) = &launch.template {
        let tags = r.launch_templates.get(id).map_or(&empty, |t| &t.tags);
        authorize_existing(
            call,
            action,
            &arn(call, ResourceKind::LaunchTemplate, id),
            tags,
        )?;
    }
    let requested = |kind: ResourceKind| launch.tags.get(&kind).unwrap_or(&empty);
    call.authorize(
        action,
        &arn(call, ResourceKind::NetworkInterface, "*"),
        |ctx| {
            request_tags(ctx, requested(ResourceKind::NetworkInterface));
            in_vpc(ctx);
        },
    )?;
    call.authorize(action, &arn(call, ResourceKind::Volume, "*"), |ctx| {
        request_tags(ctx, requested(ResourceKind::Volume));
    })?;
    call.authorize(action, &arn(call, ResourceKind::Instance, "*"), |ctx| {
        ctx.set("ec2:InstanceType", launch.instance_type.clone());
        if let Some(p) = &launch.profile {
            ctx.set("ec2:InstanceProfile", p.arn.clone());
        }
        request_tags(ctx, requested(ResourceKind::Instance));
    })?;
    for (kind, tags) in &launch.tags {
        if tags.is_empty() {
            continue;
        }
        call.authorize("ec2:CreateTags", &arn(call, *kind, "*"), |ctx| {
            ctx.set("ec2:CreateAction", "RunInstances");
            request_tags(ctx, tags);
        })?;
    }
    if let Some(Profile {
        role: Some(role), ..
    }) = &launch.profile
    {
        call.authorize("iam:PassRole", role, |ctx| {
            ctx.set("iam:PassedToService", "ec2.amazonaws.com");
        })?;
    }
    Ok(())
}

/// `TerminateInstances`: each instance shuts down, then is terminated, on the server clock.
pub(super) fn terminate_instances(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    // 1. Validate.
    let ids = call.params.list("InstanceId");
    if ids.is_empty() {
        return Err(missing_parameter("InstanceId"));
    }
    check_well_formed(&ids, &INSTANCE)?;
    let dry = dry_run(call.service, call.params)?;
    // 2. Authorize each instance with its tags: EC2 must read the instances to evaluate
    // `ec2:ResourceTag` conditions. One that does not exist is authorized without tags, and
    // 3. refused as not found once the caller is allowed; a dry run answers after that, as
    // terminating an unknown instance would not succeed.
    let region = resources(call)?;
    let mut r = write(&region);
    let empty = Tags::new();
    for id in &ids {
        let tags = visible_instance(&r, id, call.now).map_or(&empty, |i| &i.tags);
        authorize_existing(
            call,
            "ec2:TerminateInstances",
            &arn(call, ResourceKind::Instance, id),
            tags,
        )?;
    }
    check_instances_exist(call, &r, &ids)?;
    if dry {
        return Err(dry_run_operation());
    }
    let now = call.now;
    let mut items = Vec::new();
    for id in ids {
        let Some(i) = r.instances.get_mut(id) else {
            continue;
        };
        let previous = i.state(now);
        if !matches!(i.lifecycle, Lifecycle::Terminated(_)) {
            i.lifecycle = Lifecycle::Terminated(now);
        }
        items.push(vec![
            Node::leaf("instanceId", id.to_owned()),
            state_node("currentState", i.state(now)),
            state_node("previousState", previous),
        ]);
    }
    Ok(vec![Node::List("instancesSet", items)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_types_are_family_dot_size() {
        for ok in [
            "t3.micro",
            "m7g.16xlarge",
            "c5n.metal",
            "t2.nano",
            "u-6tb1.metal",
        ] {
            assert!(valid_instance_type(ok), "{ok}");
        }
        for bad in [
            "t3",
            "micro",
            "T3.micro",
            "t3.huge",
            "3t.micro",
            ".micro",
            "t3.xlargex",
        ] {
            assert!(!valid_instance_type(bad), "{bad}");
        }
    }
}
