//! Images: DescribeImages, and which images an account may see and launch.

use crate::api::Call;
use crate::error::AwsError;
use crate::wire::xml::Node;

use super::api::{authorize_describe, read, resources};
use super::filters::{
    Accessor, Ctx, IMAGE, Page, Table, TagFilters, all_accept, check_exist, check_well_formed,
    dry_run, each, filters, flag, one,
};
use super::model::{Image, Resources};
use super::tags::tag_set;

/// The image `id` if the account owns it or may launch it (public ones, Amazon's).
pub(crate) fn visible_image<'r>(r: &'r Resources, id: &str) -> Option<&'r Image> {
    r.images.get(id).or_else(|| r.public_images.get(id))
}

/// DescribeImages' filters, with what each reads.
const IMAGE_FILTERS: Table<Accessor<Image>> = Table {
    fields: &[
        ("image-id", |i, _| one(&i.id)),
        ("name", |i, _| one(&i.name)),
        ("description", |i, _| each(i.description.as_deref())),
        ("owner-id", |i, _| one(&i.owner)),
        ("owner-alias", |i, _| each(i.owner_alias)),
        ("state", |i, _| one(&i.state)),
        ("architecture", |i, _| one(&i.architecture)),
        ("is-public", |i, _| flag(i.public)),
        ("image-type", |_, _| one("machine")),
        ("root-device-type", |_, _| one("ebs")),
        ("virtualization-type", |_, _| one("hvm")),
        ("creation-date", |i, _| one(&i.created)),
    ],
    tags: TagFilters::Tagged,
};

/// `DescribeImages`: the account's images and those it may launch, narrowed by
/// `ImageId.N`, `Owner.N` (`self`, `amazon`, account ids) and `Filter.N`.
pub(super) fn describe_images(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    // 1. Validate.
    let filters = filters(call.service, call.params, &IMAGE_FILTERS)?;
    let page = Page::of(call.service, call.params, (5, 1000), None)?;
    let ids = call.params.list("ImageId");
    check_well_formed(&ids, &IMAGE)?;
    let owners = call.params.list("Owner");
    let dry = dry_run(call.service, call.params)?;
    // 2. Authorize.
    authorize_describe(call, "ec2:DescribeImages", dry)?;
    // 3. Look up.
    let region = resources(call)?;
    let r = read(&region);
    check_exist(&ids, &IMAGE, |id| visible_image(&r, id).is_some())?;
    let account = r.account.as_str();
    let ctx = Ctx { call, r: &r };
    let owned_by = |i: &Image, owner: &str| match owner {
        "self" => i.owner == account,
        "amazon" => i.owner_alias == Some("amazon"),
        other => i.owner == other,
    };
    let selected: Vec<&Image> = r
        .images
        .values()
        .chain(r.public_images.values())
        .filter(|i| ids.is_empty() || ids.contains(&i.id.as_str()))
        .filter(|i| owners.is_empty() || owners.iter().any(|o| owned_by(i, o)))
        .filter(|i| all_accept(&filters, Some(&i.tags), |field| field(i, ctx)))
        .collect();
    let (selected, next) = page.cut(selected);
    let items = selected
        .into_iter()
        .map(|i| {
            let mut item = vec![
                Node::leaf("imageId", i.id.clone()),
                Node::leaf(
                    "imageLocation",
                    format!("{}/{}", i.owner_alias.unwrap_or(&i.owner), i.name),
                ),
                Node::leaf("imageState", i.state.clone()),
                Node::leaf("imageOwnerId", i.owner.clone()),
                Node::leaf("creationDate", i.created.clone()),
                Node::leaf("isPublic", if i.public { "true" } else { "false" }),
                Node::leaf("architecture", i.architecture.clone()),
                Node::leaf("imageType", "machine"),
                Node::leaf("name", i.name.clone()),
                Node::leaf("rootDeviceType", "ebs"),
                Node::leaf("rootDeviceName", "/dev/xvda"),
                Node::List(
                    "blockDeviceMapping",
                    vec![vec![
                        Node::leaf("deviceName", "/dev/xvda"),
                        Node::Branch(
                            "ebs",
                            vec![
                                Node::leaf("volumeSize", "8"),
                                Node::leaf("volumeType", "gp3"),
                                Node::leaf("deleteOnTermination", "true"),
                                Node::leaf("encrypted", "false"),
                            ],
                        ),
                    ]],
                ),
                Node::leaf("virtualizationType", "hvm"),
                Node::leaf("hypervisor", "xen"),
                Node::leaf("enaSupport", "true"),
                Node::leaf("platformDetails", "Linux/UNIX"),
                Node::leaf("usageOperation", "RunInstances"),
                tag_set(&i.tags),
            ];
            if let Some(d) = &i.description {
                item.push(Node::leaf("description", d.clone()));
            }
            if let Some(alias) = i.owner_alias {
                item.push(Node::leaf("imageOwnerAlias", alias));
            }
            item
        })
        .collect();
    let mut out = vec![Node::List("imagesSet", items)];
    if let Some(token) = next {
        out.push(Node::leaf("nextToken", token));
    }
    Ok(out)
}
