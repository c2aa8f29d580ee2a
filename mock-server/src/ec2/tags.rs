//! Tags: CreateTags, DeleteTags, DescribeTags, and reading and writing tag sets.

use http::StatusCode;

use crate::api::Call;
use crate::error::AwsError;
use crate::policy::context::Context;
use crate::wire::query::Params;
use crate::wire::xml::Node;

use super::api::{arn, authorize_describe, read, request_tags, resource_tags, resources, write};
use super::filters::{
    GROUP, IMAGE, INSTANCE, IdKind, KEY_PAIR, LAUNCH_TEMPLATE, Page, SUBNET, Table, TagFilters,
    VPC, Values, all_accept, check_exist, check_well_formed, dry_run, dry_run_operation, filters,
    missing_parameter, one,
};
use super::model::{ResourceKind, Resources, Tags};

/// Tags a resource may carry, as EC2 limits them.
pub(crate) const MAX_TAGS: usize = 50;
/// Resources one tagging call may name.
const MAX_RESOURCES: usize = 1000;

/// `<tagSet><item><key/><value/></item>…</tagSet>`
pub(crate) fn tag_set(tags: &Tags) -> Node {
    Node::List(
        "tagSet",
        tags.iter()
            .map(|(k, v)| vec![Node::leaf("key", k.clone()), Node::leaf("value", v.clone())])
            .collect(),
    )
}

/// The tags `{prefix}.N.Key` / `{prefix}.N.Value` of a call (a missing value is empty).
pub(crate) fn parse_tags(params: &Params, prefix: &str) -> Result<Tags, AwsError> {
    tags_from(
        params.indexed(prefix, ".Key"),
        &params.indexed(prefix, ".Value"),
    )
}

/// Tags from numbered keys and values (`N` pairs them): at most [`MAX_TAGS`], no `aws:`
/// keys, keys of 1 to 128 characters, values of at most 256.
pub(crate) fn tags_from(keys: Vec<(u32, &str)>, values: &[(u32, &str)]) -> Result<Tags, AwsError> {
    if keys.len() > MAX_TAGS {
        return Err(tag_limit());
    }
    let values: std::collections::HashMap<u32, &str> = values.iter().copied().collect();
    let mut tags = Tags::new();
    for (n, key) in keys {
        if key.starts_with("aws:") {
            return Err(AwsError::invalid_parameter_value(
                crate::service::Service::Ec2,
                "Tag keys starting with 'aws:' are reserved for internal use",
            ));
        }
        if key.is_empty() || key.chars().count() > 128 {
            return Err(AwsError::invalid_parameter_value(
                crate::service::Service::Ec2,
                format!("Tag key '{key}' must be 1 to 128 characters long"),
            ));
        }
        let value = values.get(&n).copied().unwrap_or_default();
        if value.chars().count() > 256 {
            return Err(AwsError::invalid_parameter_value(
                crate::service::Service::Ec2,
                format!("Tag value for key '{key}' must be at most 256 characters long"),
            ));
        }
        tags.insert(key.to_owned(), value.to_owned());
    }
    Ok(tags)
}

/// `TagLimitExceeded`: more than [`MAX_TAGS`] tags on one resource.
pub(crate) fn tag_limit() -> AwsError {
    AwsError::new(
        StatusCode::BAD_REQUEST,
        "TagLimitExceeded",
        format!("The maximum number of Tags for a resource has been reached. ({MAX_TAGS})"),
    )
}

/// The kind of id a tagged resource id is, for its errors (`InvalidID` when it is not of a
/// kind kept here).
fn kind_of(id: &str) -> Result<&'static IdKind, AwsError> {
    Ok(match ResourceKind::of_id(id) {
        Some(ResourceKind::Instance) => &INSTANCE,
        Some(ResourceKind::Image) => &IMAGE,
        Some(ResourceKind::Vpc) => &VPC,
        Some(ResourceKind::Subnet) => &SUBNET,
        Some(ResourceKind::SecurityGroup) => &GROUP,
        Some(ResourceKind::LaunchTemplate) => &LAUNCH_TEMPLATE,
        Some(ResourceKind::KeyPair) => &KEY_PAIR,
        Some(ResourceKind::NetworkInterface | ResourceKind::Volume) | None => {
            return Err(AwsError::new(
                StatusCode::BAD_REQUEST,
                "InvalidID",
                format!("The ID '{id}' is not valid"),
            ));
        }
    })
}

/// A resource a tagging call names: its id, and the kind of id it is.
#[derive(Debug, Clone, Copy)]
struct Named<'p> {
    id: &'p str,
    kind: &'static IdKind,
}

/// The distinct `ResourceId.N` of a tagging call (at least one, at most [`MAX_RESOURCES`]),
/// each a well-formed id of a taggable kind.
fn resource_ids(params: &Params) -> Result<Vec<Named<'_>>, AwsError> {
    let mut ids = params.list("ResourceId");
    if ids.is_empty() {
        return Err(missing_parameter("resourceIdSet"));
    }
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(*id));
    if ids.len() > MAX_RESOURCES {
        return Err(AwsError::invalid_parameter_value(
            crate::service::Service::Ec2,
            format!("The request may name at most {MAX_RESOURCES} resources"),
        ));
    }
    ids.into_iter()
        .map(|id| {
            let kind = kind_of(id)?;
            check_well_formed(&[id], kind)?;
            Ok(Named { id, kind })
        })
        .collect()
}

/// The tags of the resource `id` if it is one of the caller's here that can be tagged
/// (instances only while they are visible).
fn taggable<'r>(r: &'r Resources, id: &str, now: std::time::SystemTime) -> Option<&'r Tags> {
    r.tags(id)
        .filter(|_| r.instances.get(id).is_none_or(|i| i.visible(now)))
}

/// Checks every `ResourceId.N` (validated by [`resource_ids`]) names a taggable resource
/// here, in the order given.
fn check_resources_exist(
    r: &Resources,
    named: &[Named<'_>],
    now: std::time::SystemTime,
) -> Result<(), AwsError> {
    for n in named {
        check_exist(&[n.id], n.kind, |id| taggable(r, id, now).is_some())?;
    }
    Ok(())
}

/// The ARN a tagging call authorizes for a resource (key pairs are named by name in ARNs).
fn tagged_arn(call: &Call<'_>, r: &Resources, named: Named<'_>) -> String {
    let kind = named.kind.resource;
    let key_name = (kind == ResourceKind::KeyPair)
        .then(|| r.key_pairs.values().find(|k| k.id == named.id))
        .flatten();
    match key_name {
        Some(key) => arn(call, kind, &key.name),
        None => arn(call, kind, named.id),
    }
}

/// Authorizes `action` on each resource `named`, with its tags as
/// `ec2:ResourceTag/…` and what `extra` adds from them. The resources are read for their
/// tags, as EC2 must to evaluate tag conditions; one that does not exist is authorized
/// without tags (and refused as not found afterwards, when the caller is allowed).
fn authorize_each(
    call: &Call<'_>,
    r: &Resources,
    named: &[Named<'_>],
    action: &'static str,
    extra: impl Fn(&Tags, &mut Context),
) -> Result<(), AwsError> {
    let empty = Tags::new();
    for n in named {
        let existing = taggable(r, n.id, call.now).unwrap_or(&empty);
        call.authorize(action, &tagged_arn(call, r, *n), |ctx| {
            resource_tags(ctx, existing);
            extra(existing, ctx);
        })?;
    }
    Ok(())
}

/// `CreateTags`: adds or overwrites tags on resources. Each resource must allow
/// `ec2:CreateTags` with the tags requested (`aws:RequestTag/…`, `aws:TagKeys`) and its own.
pub(super) fn create_tags(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    // 1. Validate.
    let named = resource_ids(call.params)?;
    let tags = parse_tags(call.params, "Tag")?;
    if tags.is_empty() {
        return Err(missing_parameter("tagSet"));
    }
    let dry = dry_run(call.service, call.params)?;
    // 2. Authorize each resource with its tags (read for that), then 3. check they exist.
    // Tag conditions need the resources, so unlike a Describe call a dry run comes after
    // both: tagging what does not exist would not succeed. The limit of tags a resource
    // may carry counts its tags, so it is checked there too.
    let region = resources(call)?;
    let mut r = write(&region);
    authorize_each(call, &r, &named, "ec2:CreateTags", |_, ctx| {
        request_tags(ctx, &tags);
    })?;
    check_resources_exist(&r, &named, call.now)?;
    for n in &named {
        let total = r.tags(n.id).map_or(tags.len(), |t| {
            t.len() + tags.keys().filter(|k| !t.contains_key(*k)).count()
        });
        if total > MAX_TAGS {
            return Err(tag_limit());
        }
    }
    if dry {
        return Err(dry_run_operation());
    }
    for n in &named {
        if let Some(t) = r.tags_mut(n.id) {
            t.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    Ok(vec![Node::leaf("return", "true")])
}

/// `DeleteTags`: removes tags (all of them when no `Tag.N` is given; a tag given with a
/// value only when its value is that one).
pub(super) fn delete_tags(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    // 1. Validate.
    let resources_named = resource_ids(call.params)?;
    let keys = call.params.indexed("Tag", ".Key");
    if keys.len() > MAX_TAGS {
        return Err(tag_limit());
    }
    let values: std::collections::HashMap<u32, &str> =
        call.params.indexed("Tag", ".Value").into_iter().collect();
    let named: Vec<String> = keys.iter().map(|(_, k)| (*k).to_owned()).collect();
    let dry = dry_run(call.service, call.params)?;
    // 2. Authorize each resource with its tags (read for that: deleting all tags names the
    // existing keys in `aws:TagKeys`), then 3. check they exist, before a dry run answers,
    // as for CreateTags.
    let region = resources(call)?;
    let mut r = write(&region);
    authorize_each(
        call,
        &r,
        &resources_named,
        "ec2:DeleteTags",
        |existing, ctx| {
            let deleted = if keys.is_empty() {
                existing.keys().cloned().collect()
            } else {
                named.clone()
            };
            ctx.set_values("aws:TagKeys", deleted);
        },
    )?;
    check_resources_exist(&r, &resources_named, call.now)?;
    if dry {
        return Err(dry_run_operation());
    }
    for n in &resources_named {
        let Some(t) = r.tags_mut(n.id) else { continue };
        if keys.is_empty() {
            t.clear();
        }
        for (n, key) in &keys {
            let value = values.get(n).copied();
            if value.is_none_or(|v| t.get(*key).is_some_and(|have| have == v)) {
                t.remove(*key);
            }
        }
    }
    Ok(vec![Node::leaf("return", "true")])
}

/// A tag as DescribeTags lists it: the resource it is on, its key and value.
#[derive(Debug, Clone, Copy)]
struct Listed<'r> {
    kind: ResourceKind,
    id: &'r str,
    key: &'r str,
    value: &'r str,
}

/// The accessor of a DescribeTags filter: the values a tag listed has under it.
type TagAccessor = for<'a> fn(&'a Listed<'a>) -> Values<'a>;

/// DescribeTags' filters, with what each reads; `tag:KEY` reads the tags of the resource.
/// `tag-key` is not among AWS's documented names for this call, but has always been taken
/// here, as `key`.
const TAG_FILTERS: Table<TagAccessor> = Table {
    fields: &[
        ("key", |t| one(t.key)),
        ("value", |t| one(t.value)),
        ("resource-id", |t| one(t.id)),
        ("resource-type", |t| one(t.kind.name())),
        ("tag-key", |t| one(t.key)),
    ],
    tags: TagFilters::KeyValueOnly,
};

/// `DescribeTags`: every tag of the caller's resources here, by resource then key.
pub(super) fn describe_tags(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    // 1. Validate.
    let filters = filters(call.service, call.params, &TAG_FILTERS)?;
    let page = Page::of(call.service, call.params, (5, 1000), None)?;
    let dry = dry_run(call.service, call.params)?;
    // 2. Authorize.
    authorize_describe(call, "ec2:DescribeTags", dry)?;
    // 3. Look up.
    let region = resources(call)?;
    let r = read(&region);
    let mut rows: Vec<(String, ResourceKind, String, String)> = Vec::new();
    let mut collect = |kind: ResourceKind, id: &str, tags: &Tags| {
        for (k, v) in tags {
            let listed = Listed {
                kind,
                id,
                key: k,
                value: v,
            };
            if all_accept(&filters, Some(tags), |field| field(&listed)) {
                rows.push((id.to_owned(), kind, k.clone(), v.clone()));
            }
        }
    };
    for (kind, id, tags) in r.tagged(call.now) {
        collect(kind, id, tags);
    }
    rows.sort();
    let (rows, next) = page.cut(rows);
    let mut out = vec![Node::List(
        "tagSet",
        rows.into_iter()
            .map(|(id, kind, k, v)| {
                vec![
                    Node::leaf("resourceId", id),
                    Node::leaf("resourceType", kind.name()),
                    Node::leaf("key", k),
                    Node::leaf("value", v),
                ]
            })
            .collect(),
    )];
    if let Some(token) = next {
        out.push(Node::leaf("nextToken", token));
    }
    Ok(out)
}
