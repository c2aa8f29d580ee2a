//! The inputs every EC2 Describe call shares: `Filter.N` (names, wildcard values, tag
//! filters), `MaxResults`/`NextToken` pagination, `DryRun` and id lists.
//!
//! Every EC2 handler works in three steps, as EC2 does: (1) validate every parameter
//! without reading a resource (everything here but [`check_exist`]); (2) authorize, then
//! answer `DryRun`; (3) look the resources up ([`check_exist`], `…NotFound`). A caller not
//! allowed a call thus gets `UnauthorizedOperation` whatever its ids name, and a malformed
//! call gets its validation error whoever sends it. Actions authorized per resource
//! (RunInstances, TerminateInstances, CreateTags, DeleteTags) read the resources named to
//! authorize them (tags, an image's owner); what is missing is authorized by its ARN alone
//! and refused as not found right after, before the `DryRun` answer.

use std::borrow::Cow;
use std::collections::BTreeMap;

use http::StatusCode;

use crate::error::AwsError;
use crate::service::Service;
use crate::wildcard::Pattern;
use crate::wire::fingerprint;
use crate::wire::query::Params;

use super::model::{ResourceKind, Tags, well_formed};

/// EC2 refuses calls with more filter values than this (`FilterLimitExceeded`).
const MAX_FILTER_VALUES: usize = 200;
/// … and filter values longer than this (ansible-collections/amazon.aws#2393).
const MAX_FILTER_VALUE_CHARS: usize = 255;

/// A `Filter.N`: its name and compiled value patterns (EC2 values take `*` and `?`).
#[derive(Debug)]
pub(crate) struct Filter<'a> {
    pub(crate) name: &'a str,
    pub(crate) values: Vec<Pattern>,
}

impl Filter<'_> {
    /// Whether any of `fields` (the values the filtered item has for this filter) matches
    /// any of the filter's values.
    pub(crate) fn accepts<'v>(&self, fields: impl IntoIterator<Item = Cow<'v, str>>) -> bool {
        fields
            .into_iter()
            .any(|f| self.values.iter().any(|p| p.matches(&f)))
    }

    /// For the tag filters (`tag:KEY`, `tag-key`, `tag-value`), whether `tags` pass;
    /// `None` when this is not a tag filter.
    pub(crate) fn accepts_tags(&self, tags: &Tags) -> Option<bool> {
        let fields: Vec<Cow<'_, str>> = if let Some(key) = self.name.strip_prefix("tag:") {
            tags.get(key)
                .map(|v| Cow::Borrowed(v.as_str()))
                .into_iter()
                .collect()
        } else if self.name == "tag-key" {
            tags.keys().map(|k| Cow::Borrowed(k.as_str())).collect()
        } else if self.name == "tag-value" {
            tags.values().map(|v| Cow::Borrowed(v.as_str())).collect()
        } else {
            return None;
        };
        Some(self.accepts(fields))
    }
}

/// Whether every filter accepts the item: tag filters read `tags`, the others ask `field`
/// for the item's values under that filter name.
pub(crate) fn all_accept<'v>(
    filters: &[Filter<'_>],
    tags: &Tags,
    field: impl Fn(&str) -> Vec<Cow<'v, str>>,
) -> bool {
    filters.iter().all(|f| match f.accepts_tags(tags) {
        Some(pass) => pass,
        None => f.accepts(field(f.name)),
    })
}

/// Reads `Filter.N.Name` / `Filter.N.Value.M` in one pass over the parameters and compiles
/// each value once. `known` lists the filter names the action supports; `tag:KEY` is known
/// when `tag-key` is.
pub(crate) fn filters<'a>(
    service: Service,
    params: &'a Params,
    known: &[&str],
) -> Result<Vec<Filter<'a>>, AwsError> {
    let mut by_index: BTreeMap<u32, (Option<&'a str>, Vec<&'a str>)> = BTreeMap::new();
    let mut value_count = 0;
    for (key, value) in params.iter() {
        let Some((n, field)) = key.strip_prefix("Filter.").and_then(|r| r.split_once('.')) else {
            continue;
        };
        let Ok(n) = n.parse::<u32>() else { continue };
        let entry = by_index.entry(n).or_default();
        if field == "Name" {
            entry.0 = Some(value);
        } else if field
            .strip_prefix("Value.")
            .is_some_and(|m| m.parse::<u32>().is_ok())
        {
            entry.1.push(value);
            value_count += 1;
        }
    }
    if value_count > MAX_FILTER_VALUES {
        return Err(AwsError::new(
            StatusCode::BAD_REQUEST,
            "FilterLimitExceeded",
            format!(
                "The maximum number of filter values specified on a single call is {MAX_FILTER_VALUES}"
            ),
        ));
    }
    let tags_known = known.contains(&"tag-key");
    by_index
        .into_iter()
        .map(|(n, (name, values))| {
            let Some(name) = name else {
                return Err(AwsError::invalid_parameter_value(
                    service,
                    format!("The filter Filter.{n} has values but no Name"),
                ));
            };
            let tag_key = name.strip_prefix("tag:").filter(|_| tags_known);
            if !known.contains(&name) && tag_key.is_none_or(str::is_empty) {
                return Err(AwsError::invalid_parameter_value(
                    service,
                    format!("The filter '{name}' is invalid"),
                ));
            }
            // A filter without values matches nothing (`describe-subnets --filters
            // Name=vpc-id` lists no subnet: moto#8570); too long a value is refused.
            if values.iter().any(|v| v.chars().count() > MAX_FILTER_VALUE_CHARS) {
                return Err(AwsError::new(
                    StatusCode::BAD_REQUEST,
                    "FilterLimitExceeded",
                    format!(
                        "The maximum length for a filter value is {MAX_FILTER_VALUE_CHARS} characters"
                    ),
                ));
            }
            Ok(Filter {
                name,
                values: values.into_iter().map(Pattern::exact_case).collect(),
            })
        })
        .collect()
}

/// `DryRun`: whether the caller only asks if the call would be allowed.
pub(crate) fn dry_run(service: Service, params: &Params) -> Result<bool, AwsError> {
    boolean(service, params, "DryRun")
}

/// A boolean parameter (absent: false).
pub(crate) fn boolean(service: Service, params: &Params, name: &str) -> Result<bool, AwsError> {
    match params.get(name) {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(AwsError::invalid_parameter_value(
            service,
            format!("Invalid value '{v}' for {name}. Valid values are true and false."),
        )),
    }
}

/// The answer to an allowed `DryRun=true` call.
pub(crate) fn dry_run_operation() -> AwsError {
    AwsError::new(
        StatusCode::PRECONDITION_FAILED,
        "DryRunOperation",
        "Request would have succeeded, but DryRun flag is set.",
    )
}

/// The page a Describe call asks for: where to start and how many at most.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Page {
    start: usize,
    size: Option<usize>,
    /// Ties a token to the call that made it (the same action and filters).
    query: u64,
}

impl Page {
    /// Reads `MaxResults` (within `min..=max`) and `NextToken`. `ids_given`: the call named
    /// resources by id, which cannot be combined with `MaxResults` (`ids_param` names them in
    /// the error, e.g. `instancesSet`).
    pub(crate) fn of(
        service: Service,
        params: &Params,
        (min, max): (usize, usize),
        ids_given: Option<&str>,
    ) -> Result<Self, AwsError> {
        // Only a paged call needs its fingerprint.
        let paged = params.get("MaxResults").is_some() || params.get("NextToken").is_some();
        let query = if paged {
            let mut text = String::new();
            for (k, v) in params.iter() {
                if !matches!(k, "NextToken" | "MaxResults" | "DryRun") {
                    text.extend([k, "=", v, "&"]);
                }
            }
            fingerprint(&text)
        } else {
            0
        };
        let size = match params.get("MaxResults") {
            None => None,
            Some(raw) => {
                if let Some(ids) = ids_given {
                    return Err(AwsError::new(
                        StatusCode::BAD_REQUEST,
                        "InvalidParameterCombination",
                        format!("The parameter {ids} cannot be used with the parameter maxResults"),
                    ));
                }
                let n: i64 = raw.parse().map_err(|_| {
                    AwsError::invalid_parameter_value(
                        service,
                        format!("Invalid value '{raw}' for maxResults"),
                    )
                })?;
                // AWS's words for too small (aws-sdk-ruby#2575); too large is worded as
                // other EC2 APIs word it (no DescribeInstances sample is public).
                let expecting = if n < min as i64 {
                    format!("greater than {min}")
                } else if n > max as i64 {
                    format!("smaller than or equal to {max}")
                } else {
                    String::new()
                };
                if !expecting.is_empty() {
                    return Err(AwsError::invalid_parameter_value(
                        service,
                        format!(
                            "Value ( {n} ) for parameter maxResults is invalid. Expecting a value {expecting}."
                        ),
                    ));
                }
                usize::try_from(n).ok()
            }
        };
        let start = match params.get("NextToken") {
            None => 0,
            // An empty token is refused too (boto3#2673).
            Some(token) => decode_token(token, query).ok_or_else(|| {
                AwsError::invalid_parameter_value(
                    service,
                    format!("Value ( {token} ) for parameter NextToken is invalid. The token is invalid."),
                )
            })?,
        };
        Ok(Self { start, size, query })
    }

    /// This page of `items`, and the token for the next one if there is more.
    pub(crate) fn cut<T>(&self, items: Vec<T>) -> (Vec<T>, Option<String>) {
        let total = items.len();
        let end = self
            .size
            .map_or(total, |s| self.start.saturating_add(s).min(total));
        let page = items
            .into_iter()
            .skip(self.start)
            .take(end.saturating_sub(self.start))
            .collect();
        let next = (end < total).then(|| encode_token(end, self.query));
        (page, next)
    }
}

/// An opaque token: the next offset, bound to the call's query so it is not replayed on
/// another one.
fn encode_token(offset: usize, query: u64) -> String {
    let check = fingerprint(&format!("{query:x}/{offset}"));
    format!("{offset:08x}{check:016x}")
}

fn decode_token(token: &str, query: u64) -> Option<usize> {
    if token.len() != 24 || !token.is_ascii() {
        return None;
    }
    let offset = usize::from_str_radix(&token[..8], 16).ok()?;
    (encode_token(offset, query) == token).then_some(offset)
}

/// A kind of EC2 id, and how EC2 words a malformed or unknown one.
#[derive(Debug)]
pub(crate) struct IdKind {
    /// The kind of resource these ids name (and their prefix, `i`, `ami`, …).
    pub(crate) resource: ResourceKind,
    /// The code of a malformed id (`InvalidInstanceID.Malformed`).
    pub(crate) malformed: &'static str,
    /// The code of an unknown id (`InvalidInstanceID.NotFound`).
    pub(crate) unknown: &'static str,
    /// The not-found message for these ids (one or several).
    pub(crate) not_found: fn(&[&str]) -> String,
}

pub(crate) const INSTANCE: IdKind = IdKind {
    resource: ResourceKind::Instance,
    malformed: "InvalidInstanceID.Malformed",
    unknown: "InvalidInstanceID.NotFound",
    not_found: |ids| match ids {
        [one] => format!("The instance ID '{one}' does not exist"),
        many => format!("The instance IDs '{}' do not exist", many.join(", ")),
    },
};

pub(crate) const IMAGE: IdKind = IdKind {
    resource: ResourceKind::Image,
    malformed: "InvalidAMIID.Malformed",
    unknown: "InvalidAMIID.NotFound",
    not_found: |ids| match ids {
        [one] => format!("The image id '[{one}]' does not exist"),
        many => format!("The image ids '[{}]' do not exist", many.join(", ")),
    },
};

pub(crate) const VPC: IdKind = IdKind {
    resource: ResourceKind::Vpc,
    malformed: "InvalidVpcID.Malformed",
    unknown: "InvalidVpcID.NotFound",
    not_found: |ids| match ids {
        [one] => format!("The vpc ID '{one}' does not exist"),
        many => format!("The vpc IDs '{}' do not exist", many.join(", ")),
    },
};

pub(crate) const SUBNET: IdKind = IdKind {
    resource: ResourceKind::Subnet,
    malformed: "InvalidSubnetID.Malformed",
    unknown: "InvalidSubnetID.NotFound",
    not_found: |ids| match ids {
        [one] => format!("The subnet ID '{one}' does not exist"),
        many => format!("The subnet IDs '{}' do not exist", many.join(", ")),
    },
};

pub(crate) const GROUP: IdKind = IdKind {
    resource: ResourceKind::SecurityGroup,
    malformed: "InvalidGroupId.Malformed",
    unknown: "InvalidGroup.NotFound",
    not_found: |ids| match ids {
        [one] => format!("The security group '{one}' does not exist"),
        many => format!("The security groups '{}' do not exist", many.join(", ")),
    },
};

pub(crate) const KEY_PAIR: IdKind = IdKind {
    resource: ResourceKind::KeyPair,
    malformed: "InvalidKeyPair.Malformed",
    unknown: "InvalidKeyPair.NotFound",
    not_found: |ids| match ids {
        [one] => format!("The key pair '{one}' does not exist"),
        many => format!("The key pairs '{}' do not exist", many.join(", ")),
    },
};

pub(crate) const LAUNCH_TEMPLATE: IdKind = IdKind {
    resource: ResourceKind::LaunchTemplate,
    malformed: "InvalidLaunchTemplateId.Malformed",
    unknown: "InvalidLaunchTemplateId.NotFound",
    not_found: |ids| match ids {
        [one] => format!("The specified launch template, with template ID {one}, does not exist."),
        _ => "At least one of the launch templates specified in the request does not exist."
            .to_owned(),
    },
};

/// Validation: each id given to a call is well-formed (`CODE.Malformed`, `Invalid id:
/// "…"`). Reads no resource, so it comes before authorization.
pub(crate) fn check_well_formed(ids: &[&str], kind: &IdKind) -> Result<(), AwsError> {
    match ids.iter().find(|id| !well_formed(id, kind.resource)) {
        Some(bad) => Err(AwsError::new(
            StatusCode::BAD_REQUEST,
            kind.malformed,
            format!(
                "Invalid id: \"{bad}\" (expecting \"{}-...\")",
                kind.resource.id_prefix()
            ),
        )),
        None => Ok(()),
    }
}

/// Lookup: each id given to a call names a resource here (`CODE.NotFound`, naming every
/// unknown one). Comes after authorization: a caller not allowed the call learns nothing of
/// what exists.
pub(crate) fn check_exist(
    ids: &[&str],
    kind: &IdKind,
    exists: impl Fn(&str) -> bool,
) -> Result<(), AwsError> {
    let missing: Vec<&str> = ids.iter().copied().filter(|id| !exists(id)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(not_found(kind, &missing))
}

/// `CODE.NotFound` naming every unknown id (or key pair name) of this kind.
fn not_found(kind: &IdKind, missing: &[&str]) -> AwsError {
    AwsError::new(
        StatusCode::BAD_REQUEST,
        kind.unknown,
        (kind.not_found)(missing),
    )
}

/// `MissingParameter`, as EC2 words it.
pub(crate) fn missing_parameter(name: &str) -> AwsError {
    AwsError::new(
        StatusCode::BAD_REQUEST,
        "MissingParameter",
        format!("The request must contain the parameter {name}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn params(q: &str) -> Params {
        Params::parse(Some(q), None).expect("test input parses")
    }

    #[test]
    fn pages_cover_everything_once_and_tokens_are_bound_to_the_query() {
        let p = params("Action=DescribeInstances&MaxResults=5");
        let page = Page::of(Service::Ec2, &p, (5, 1000), None).expect("valid");
        let (first, next) = page.cut((0..12).collect::<Vec<_>>());
        assert_eq!(first, vec![0, 1, 2, 3, 4]);
        let next = next.expect("more");
        let p2 = params(&format!(
            "Action=DescribeInstances&MaxResults=5&NextToken={next}"
        ));
        let page = Page::of(Service::Ec2, &p2, (5, 1000), None).expect("valid");
        assert_eq!(page.cut((0..12).collect::<Vec<_>>()).0, vec![5, 6, 7, 8, 9]);
        let other = params(&format!(
            "Action=DescribeInstances&Filter.1.Name=instance-type&Filter.1.Value.1=x&NextToken={next}"
        ));
        assert!(Page::of(Service::Ec2, &other, (5, 1000), None).is_err());
    }

    #[test]
    fn a_filter_without_values_matches_nothing_and_long_values_are_refused() {
        let p = params("Filter.1.Name=vpc-id");
        let f = filters(Service::Ec2, &p, &["vpc-id"]).expect("valid");
        assert!(!f[0].accepts([Cow::Borrowed("vpc-12345678")]));
        let long = "x".repeat(256);
        let p = params(&format!("Filter.1.Name=vpc-id&Filter.1.Value.1={long}"));
        let err = filters(Service::Ec2, &p, &["vpc-id"]).err();
        assert_eq!(err.map(|e| e.code).as_deref(), Some("FilterLimitExceeded"));
    }

    #[test]
    fn max_results_is_checked() {
        for bad in ["4", "1001", "x"] {
            let p = params(&format!("MaxResults={bad}"));
            let err = Page::of(Service::Ec2, &p, (5, 1000), None).err();
            assert_eq!(
                err.map(|e| e.code).as_deref(),
                Some("InvalidParameterValue")
            );
        }
        let p = params("MaxResults=5");
        let err = Page::of(Service::Ec2, &p, (5, 1000), Some("instancesSet")).err();
        assert_eq!(
            err.map(|e| e.code).as_deref(),
            Some("InvalidParameterCombination")
        );
    }

    proptest! {
        #[test]
        fn paging_returns_each_item_exactly_once(total in 0usize..60, size in 5usize..20) {
            let mut seen = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let q = match &token {
                    Some(t) => format!("Action=X&MaxResults={size}&NextToken={t}"),
                    None => format!("Action=X&MaxResults={size}"),
                };
                let page = Page::of(Service::Ec2, &params(&q), (5, 1000), None).expect("valid");
                let (items, next) = page.cut((0..total).collect::<Vec<_>>());
                prop_assert!(items.len() <= size);
                seen.extend(items);
                match next {
                    Some(t) => token = Some(t),
                    None => break,
                }
            }
            prop_assert_eq!(seen, (0..total).collect::<Vec<_>>());
        }

        #[test]
        fn arbitrary_tokens_are_refused_not_trusted(token in "[0-9a-f]{24}") {
            let q = format!("Action=X&NextToken={token}");
            prop_assert!(Page::of(Service::Ec2, &params(&q), (5, 1000), None).is_err());
        }
    }
}
