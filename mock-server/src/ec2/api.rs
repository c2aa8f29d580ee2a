//! EC2 actions.

use std::collections::BTreeMap;

use crate::api::{ActionSpec, Authorization, Call, any_resource};
use crate::error::AwsError;
use crate::partition::{OptIn, Region};
use crate::service::Service;
use crate::wildcard::Pattern;
use crate::wire::query::Params;
use crate::wire::xml::Node;

/// The EC2 actions served.
pub(crate) const ACTIONS: &[ActionSpec] = &[ActionSpec {
    name: "DescribeRegions",
    iam_action: "ec2:DescribeRegions",
    authorization: Authorization::Policy(any_resource),
    handler: describe_regions,
}];

/// EC2 refuses calls with more filter values than this (`FilterLimitExceeded`).
const MAX_FILTER_VALUES: usize = 200;

/// A `Filter.N`: its name and compiled value patterns (EC2 values take `*` and `?`).
struct Filter<'a> {
    name: &'a str,
    values: Vec<Pattern>,
}

/// The filter names DescribeRegions knows.
const REGION_FILTERS: [&str; 3] = ["region-name", "endpoint", "opt-in-status"];

/// The field of a region a DescribeRegions filter reads.
fn region_field<'r>(
    filter: &str,
    region: &'r Region,
    opt_in_status: &'static str,
) -> Option<&'r str> {
    match filter {
        "region-name" => Some(region.name),
        "endpoint" => Some(region.ec2_endpoint),
        "opt-in-status" => Some(opt_in_status),
        _ => None,
    }
}

/// `DescribeRegions`: the regions of the caller's partition. Without `AllRegions=true`, only
/// the regions enabled for the account; `RegionName.N` and `Filter.N` narrow the list.
fn describe_regions(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let params = call.params;
    let all = match params.get("AllRegions") {
        None => false,
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(v) => {
            return Err(AwsError::invalid_parameter_value(
                call.service,
                format!("Invalid value '{v}' for AllRegions. Valid values are true and false."),
            ));
        }
    };
    let partition = call.caller.partition;
    let account = call.store.account(&call.caller.account);
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
    filters: &[Filter<'_>],
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
        let selected = listed
            && filters.iter().all(|f| {
                region_field(f.name, region, opt_in_status)
                    .is_some_and(|field| f.values.iter().any(|p| p.matches(field)))
            });
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

/// Reads `Filter.N.Name` / `Filter.N.Value.M` in one pass over the parameters and compiles
/// each value once. `known` lists the filter names the action supports.
fn filters<'a>(
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
            http::StatusCode::BAD_REQUEST,
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
            if !known.contains(&name) {
                return Err(AwsError::invalid_parameter_value(
                    service,
                    format!("The filter '{name}' is invalid"),
                ));
            }
            if values.is_empty() {
                return Err(AwsError::invalid_parameter_value(
                    service,
                    format!("The filter '{name}' requires at least one value"),
                ));
            }
            Ok(Filter {
                name,
                values: values.into_iter().map(Pattern::exact_case).collect(),
            })
        })
        .collect()
}
