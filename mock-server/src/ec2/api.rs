//! EC2 actions.

use crate::api::{ActionSpec, Authorization, Call, any_resource};
use crate::error::AwsError;
use crate::partition::{OptIn, Region};
use crate::wire::xml::Node;

/// The EC2 actions served.
pub(crate) const ACTIONS: &[ActionSpec] = &[ActionSpec {
    name: "DescribeRegions",
    iam_action: "ec2:DescribeRegions",
    authorization: Authorization::Policy(any_resource),
    handler: describe_regions,
}];

/// A region as DescribeRegions reports it to one account.
struct RegionView {
    region: &'static Region,
    endpoint: String,
    opt_in_status: &'static str,
}

impl RegionView {
    fn field(&self, filter: &str) -> Option<&str> {
        match filter {
            "region-name" => Some(self.region.name),
            "endpoint" => Some(&self.endpoint),
            "opt-in-status" => Some(self.opt_in_status),
            _ => None,
        }
    }
}

const FILTERS: [&str; 3] = ["region-name", "endpoint", "opt-in-status"];

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
    let views: Vec<RegionView> = partition
        .regions()
        .iter()
        .map(|region| {
            let enabled = account.is_some_and(|a| a.region_enabled(region));
            let opt_in_status = match (region.opt_in, enabled) {
                (OptIn::NotRequired, _) => "opt-in-not-required",
                (OptIn::Required, true) => "opted-in",
                (OptIn::Required, false) => "not-opted-in",
            };
            RegionView {
                region,
                endpoint: region.ec2_endpoint(),
                opt_in_status,
            }
        })
        .collect();

    let names = params.list("RegionName");
    for name in &names {
        if !views.iter().any(|v| v.region.name == *name) {
            // A region of another partition is as unknown as a made-up one.
            return Err(AwsError::invalid_parameter_value(
                call.service,
                format!("Invalid region: {name}"),
            ));
        }
    }
    let filters = filters(call)?;

    let items = views
        .iter()
        .filter(|v| names.is_empty() || names.contains(&v.region.name))
        .filter(|v| all || !names.is_empty() || v.opt_in_status != "not-opted-in")
        .filter(|v| {
            filters.iter().all(|(name, values)| {
                v.field(name).is_some_and(|field| {
                    values.iter().any(|pattern| filter_matches(pattern, field))
                })
            })
        })
        .map(|v| {
            vec![
                Node::leaf("regionName", v.region.name),
                Node::leaf("regionEndpoint", v.endpoint.as_str()),
                Node::leaf("optInStatus", v.opt_in_status),
            ]
        })
        .collect();
    Ok(vec![Node::List("regionInfo", items)])
}

/// `Filter.N.Name` / `Filter.N.Value.M`, validated.
fn filters<'a>(call: &Call<'a>) -> Result<Vec<(&'a str, Vec<&'a str>)>, AwsError> {
    let params = call.params;
    params
        .indexed("Filter", ".Name")
        .into_iter()
        .map(|(n, name)| {
            if !FILTERS.contains(&name) {
                return Err(AwsError::invalid_parameter_value(
                    call.service,
                    format!("The filter '{name}' is invalid"),
                ));
            }
            let values = params.list(&format!("Filter.{n}.Value"));
            if values.is_empty() {
                return Err(AwsError::invalid_parameter_value(
                    call.service,
                    format!("The filter '{name}' requires at least one value"),
                ));
            }
            Ok((name, values))
        })
        .collect()
}

/// EC2 filter values may use `*` and `?` wildcards.
fn filter_matches(pattern: &str, value: &str) -> bool {
    crate::policy::matcher::Pattern::resource(pattern).matches(value)
}
