//! The EC2 actions served, and what their handlers share: the caller's resources in the
//! region the call was signed for, resource ARNs, and the authorization of each resource.

use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::api::{ActionSpec, Authorization, Call};
use crate::error::AwsError;
use crate::partition::Region;
use crate::policy::context::Context;

use super::filters::dry_run_operation;
use super::model::{ResourceKind, Resources, Tags};
use super::{images, instances, network, regions, tags};

/// An EC2 action named `$name`: its IAM action is `ec2:$name`, and its handler authorizes
/// the call itself.
macro_rules! action {
    ($name:literal, $handler:path) => {
        ActionSpec {
            name: $name,
            iam_action: concat!("ec2:", $name),
            authorization: Authorization::Handler,
            handler: $handler,
        }
    };
}

/// The EC2 actions served. Every handler authorizes the call itself, between validating its
/// parameters and reading resources (see `filters`): Describe calls on `*` (they cannot be
/// limited to resources, see [`authorize_describe`]), actions that change resources on each
/// one.
pub(crate) const ACTIONS: &[ActionSpec] = &[
    action!("DescribeRegions", regions::describe_regions),
    action!(
        "DescribeAvailabilityZones",
        regions::describe_availability_zones
    ),
    action!(
        "DescribeAccountAttributes",
        regions::describe_account_attributes
    ),
    action!("DescribeInstances", instances::describe_instances),
    action!(
        "DescribeInstanceStatus",
        instances::describe_instance_status
    ),
    action!("RunInstances", instances::run_instances),
    action!("TerminateInstances", instances::terminate_instances),
    action!("DescribeImages", images::describe_images),
    action!("CreateTags", tags::create_tags),
    action!("DeleteTags", tags::delete_tags),
    action!("DescribeTags", tags::describe_tags),
    action!("DescribeVpcs", network::describe_vpcs),
    action!("DescribeSubnets", network::describe_subnets),
    action!("DescribeSecurityGroups", network::describe_security_groups),
    action!("DescribeKeyPairs", network::describe_key_pairs),
    action!(
        "DescribeLaunchTemplates",
        network::describe_launch_templates
    ),
];

/// Step 2 of a Describe call, once its parameters are valid: authorizes `iam_action` on `*`
/// (Describe calls have no resource-level permissions; the request log records it as when
/// the pipeline authorized it), then answers an allowed `DryRun` before any resource is
/// read: a dry run asks about permissions only.
pub(crate) fn authorize_describe(
    call: &Call<'_>,
    iam_action: &'static str,
    dry_run: bool,
) -> Result<(), AwsError> {
    debug_assert_eq!(
        iam_action.strip_prefix("ec2:"),
        call.params.get("Action"),
        "a handler authorizes its own action"
    );
    call.authorize(iam_action, "*", |_| {})?;
    if dry_run {
        return Err(dry_run_operation());
    }
    Ok(())
}

/// The caller's resources in the region the call was signed for (a region of the caller's
/// partition: authentication refused any other).
pub(crate) fn resources(call: &Call<'_>) -> Result<Arc<RwLock<Resources>>, AwsError> {
    let region = Region::find(call.region).ok_or_else(|| {
        AwsError::invalid_parameter_value(call.service, format!("Invalid region: {}", call.region))
    })?;
    let generation = call.ec2.generation();
    let world = call.iam.world();
    Ok(call
        .ec2
        .region(&world, generation, &call.caller.account, region, call.now))
}

/// Reads the resources.
pub(crate) fn read(r: &RwLock<Resources>) -> RwLockReadGuard<'_, Resources> {
    r.read().unwrap_or_else(PoisonError::into_inner)
}

/// Changes the resources.
pub(crate) fn write(r: &RwLock<Resources>) -> RwLockWriteGuard<'_, Resources> {
    r.write().unwrap_or_else(PoisonError::into_inner)
}

/// `arn:PARTITION:ec2:REGION:ACCOUNT:KIND/ID` (images have no account: they can be public).
pub(crate) fn arn(call: &Call<'_>, kind: ResourceKind, id: &str) -> String {
    let account = if kind == ResourceKind::Image {
        ""
    } else {
        call.caller.account.as_str()
    };
    crate::arn::arn(
        call.caller.partition,
        "ec2",
        call.region,
        account,
        &[kind.name(), "/", id],
    )
}

/// Authorizes `action` on a resource that exists, with its tags as `ec2:ResourceTag/…`.
pub(crate) fn authorize_existing(
    call: &Call<'_>,
    action: &'static str,
    resource: &str,
    tags: &Tags,
) -> Result<(), AwsError> {
    call.authorize(action, resource, |ctx| resource_tags(ctx, tags))
}

/// `ec2:ResourceTag/KEY` (and `aws:ResourceTag/KEY`) for each tag of the resource.
pub(crate) fn resource_tags(ctx: &mut Context, tags: &Tags) {
    for (k, v) in tags {
        ctx.set(&format!("ec2:ResourceTag/{k}"), v.clone());
        ctx.set(&format!("aws:ResourceTag/{k}"), v.clone());
    }
}

/// `aws:RequestTag/KEY` for each tag a call applies, and `aws:TagKeys`.
pub(crate) fn request_tags(ctx: &mut Context, tags: &Tags) {
    if tags.is_empty() {
        return;
    }
    for (k, v) in tags {
        ctx.set(&format!("aws:RequestTag/{k}"), v.clone());
    }
    ctx.set_values("aws:TagKeys", tags.keys().cloned().collect());
}
