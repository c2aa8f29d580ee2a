//! The inputs every EC2 Describe call shares: `Filter.N` (read against the call's [`Table`]
//! of filter names and accessors; wildcard values; tag filters, handled here once for every
//! taggable resource), `MaxResults`/`NextToken` pagination, `DryRun` and id lists.
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

use crate::api::Call;
use crate::error::AwsError;
use crate::service::Service;
use crate::wildcard::Pattern;
use crate::wire::fingerprint;
use crate::wire::query::Params;

use super::model::{ResourceKind, Resources, Tags, well_formed};

/// EC2 refuses calls with more filter values than this (`FilterLimitExceeded`).
const MAX_FILTER_VALUES: usize = 200;
/// … and filter values longer than this (ansible-collections/amazon.aws#2393).
const MAX_FILTER_VALUE_CHARS: usize = 255;

/// The values an item has under one filter (none: no value of the filter matches it).
pub(crate) type Values<'a> = Vec<Cow<'a, str>>;

/// The filters one Describe call takes: each name AWS documents for the call (that this
/// server keeps) paired with the accessor `A` that reads an item's values under it, and the
/// tag filters the call takes. The one list of what a call accepts and of what it reads: a
/// name not here is refused, so no filter is accepted that the items lack.
#[derive(Debug)]
pub(crate) struct Table<A: 'static> {
    pub(crate) fields: &'static [(&'static str, A)],
    pub(crate) tags: TagFilters,
}

/// The tag filters a Describe call takes, read from the tags of each item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TagFilters {
    /// None: the call's items carry no tags.
    Untagged,
    /// `tag:KEY`, `tag-key` and `tag-value`, as every taggable resource takes them.
    Tagged,
    /// `tag:KEY` alone: DescribeTags, whose items are the tags themselves (their `key` and
    /// `value` are fields).
    KeyValueOnly,
}

/// What a resource's accessor reads besides the resource: the call (its time, IAM's
/// store, ARNs) and the caller's resources in the region (the owner, related resources).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub(crate) call: &'a Call<'a>,
    pub(crate) r: &'a Resources,
}

/// The accessor of a resource filter: the values a resource `T` has under it.
pub(crate) type Accessor<T> = for<'a> fn(&'a T, Ctx<'a>) -> Values<'a>;

/// One value.
pub(crate) fn one(s: &str) -> Values<'_> {
    vec![Cow::Borrowed(s)]
}

/// One value made for the filter (a number, a time, an ARN).
pub(crate) fn owned(s: String) -> Values<'static> {
    vec![Cow::Owned(s)]
}

/// A yes/no field, as EC2 writes it.
pub(crate) fn flag(b: bool) -> Values<'static> {
    one(if b { "true" } else { "false" })
}

/// Each of several values (none, one or many).
pub(crate) fn each<'a>(values: impl IntoIterator<Item = &'a str>) -> Values<'a> {
    values.into_iter().map(Cow::Borrowed).collect()
}

/// A `Filter.N` of a call: what it tests, and its compiled value patterns (EC2 values take
/// `*` and `?`).
#[derive(Debug)]
pub(crate) struct Filter<'p, A> {
    test: Test<'p, A>,
    values: Vec<Pattern>,
}

/// What a filter tests.
#[derive(Debug)]
enum Test<'p, A> {
    /// A field of the item, through the table's accessor.
    Field(A),
    /// `tag:KEY`: the value of the item's tag `KEY`.
    Tag(&'p str),
    /// `tag-key`: the keys of the item's tags.
    TagKey,
    /// `tag-value`: the values of the item's tags.
    TagValue,
}

impl<A: Copy> Table<A> {
    /// What the filter `name` tests, if the call takes it (`tag:` with a key).
    fn test<'p>(&self, name: &'p str) -> Option<Test<'p, A>> {
        if let Some((_, read)) = self.fields.iter().find(|(field, _)| *field == name) {
            return Some(Test::Field(*read));
        }
        let tag = name.strip_prefix("tag:").filter(|key| !key.is_empty());
        match (self.tags, name, tag) {
            (TagFilters::Untagged, ..) => None,
            (_, _, Some(key)) => Some(Test::Tag(key)),
            (TagFilters::Tagged, "tag-key", None) => Some(Test::TagKey),
            (TagFilters::Tagged, "tag-value", None) => Some(Test::TagValue),
            _ => None,
        }
    }
}

impl<A: Copy> Filter<'_, A> {
    /// Whether the item passes: a tag filter reads its `tags`, a field filter its values
    /// under the filter (`read` applies the accessor to it); any value of the item matching
    /// any of the filter's values.
    fn accepts<'v>(&self, tags: Option<&Tags>, read: impl Fn(A) -> Values<'v>) -> bool {
        let matches = |field: &str| self.values.iter().any(|p| p.matches(field));
        match self.test {
            Test::Field(accessor) => read(accessor).iter().any(|v| matches(v)),
            Test::Tag(key) => tags.and_then(|t| t.get(key)).is_some_and(|v| matches(v)),
            Test::TagKey => tags.is_some_and(|t| t.keys().any(|k| matches(k))),
            Test::TagValue => tags.is_some_and(|t| t.values().any(|v| matches(v))),
        }
    }
}

/// Whether every filter accepts an item: tag filters read its `tags` (`None` for an item
/// without tags), field filters its values through their accessor, which `read` applies to
/// the item.
pub(crate) fn all_accept<'v, A: Copy>(
    filters: &[Filter<'_, A>],
    tags: Option<&Tags>,
    read: impl Fn(A) -> Values<'v>,
) -> bool {
    filters.iter().all(|f| f.accepts(tags, &read))
}

/// Reads `Filter.N.Name` / `Filter.N.Value.M` in one pass over the parameters and compiles
/// each value once. `table` holds the filters the action takes (`The filter 'X' is
/// invalid` for any other).
pub(crate) fn filters<'p, A: Copy>(
    service: Service,
    params: &'p Params,
    table: &Table<A>,
) -> Result<Vec<Filter<'p, A>>, AwsError> {
    let mut by_index: BTreeMap<u32, (Option<&'p str>, Vec<&'p str>)> = BTreeMap::new();
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
    by_index
        .into_iter()
        .map(|(n, (name, values))| {
            let Some(name) = name else {
                return Err(AwsError::invalid_parameter_value(
                    service,
                    format!("The filter Filter.{n} has values but no Name"),
                ));
            };
            let Some(test) = table.test(name) else {
                return Err(AwsError::invalid_parameter_value(
                    service,
                    format!("The filter '{name}' is invalid"),
                ));
            };
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
                test,
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

    /// The accessor of the test table: its item is a word.
    type Word = fn(&str) -> Values<'_>;

    const WORDS: Table<Word> = Table {
        fields: &[("word", one)],
        tags: TagFilters::Tagged,
    };

    #[test]
    fn a_filter_without_values_matches_nothing_and_long_values_are_refused() {
        let p = params("Filter.1.Name=word");
        let f = filters(Service::Ec2, &p, &WORDS).expect("valid");
        assert!(!all_accept(&f, None, |field| field("vpc-12345678")));
        let long = "x".repeat(256);
        let p = params(&format!("Filter.1.Name=word&Filter.1.Value.1={long}"));
        let err = filters(Service::Ec2, &p, &WORDS).err();
        assert_eq!(err.map(|e| e.code).as_deref(), Some("FilterLimitExceeded"));
    }

    #[test]
    fn a_call_takes_the_names_of_its_table_and_its_tag_filters_only() {
        let tags = Tags::from([("env".to_owned(), "prod".to_owned())]);
        let pass = |table: &Table<Word>, name: &str, value: &str| {
            let p = params(&format!("Filter.1.Name={name}&Filter.1.Value.1={value}"));
            let f = filters(Service::Ec2, &p, table).map_err(|e| e.message)?;
            Ok::<_, String>(all_accept(&f, Some(&tags), |field| field("a-word")))
        };
        assert_eq!(pass(&WORDS, "word", "a-*"), Ok(true));
        assert_eq!(pass(&WORDS, "word", "b*"), Ok(false));
        assert_eq!(pass(&WORDS, "tag:env", "prod"), Ok(true));
        assert_eq!(pass(&WORDS, "tag:env", "dev"), Ok(false));
        assert_eq!(pass(&WORDS, "tag:team", "*"), Ok(false));
        assert_eq!(pass(&WORDS, "tag-key", "env"), Ok(true));
        assert_eq!(pass(&WORDS, "tag-value", "p?od"), Ok(true));
        for unknown in ["other", "tag:", "Word"] {
            let refused = format!("The filter '{unknown}' is invalid");
            assert_eq!(pass(&WORDS, unknown, "x"), Err(refused));
        }
        let untagged = Table {
            fields: WORDS.fields,
            tags: TagFilters::Untagged,
        };
        for name in ["tag:env", "tag-key", "tag-value"] {
            assert!(pass(&untagged, name, "x").is_err(), "{name}");
        }
        let key_value = Table {
            fields: WORDS.fields,
            tags: TagFilters::KeyValueOnly,
        };
        assert_eq!(pass(&key_value, "tag:env", "prod"), Ok(true));
        assert!(pass(&key_value, "tag-key", "env").is_err());
        assert!(pass(&key_value, "tag-value", "prod").is_err());
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
