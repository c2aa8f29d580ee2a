//! Condition operators and their evaluation, as IAM documents them:
//!
//! - operators in a block, and keys under an operator, are ANDed; the values of one key are
//!   ORed (NORed for negated operators such as `StringNotEquals`);
//! - a key missing from the request makes a condition false, except for negated operators
//!   (true), `…IfExists` (true), `ForAllValues:` (true) and `Null`;
//! - `ForAnyValue:` needs one request value to match, `ForAllValues:` every one;
//! - policy variables work in string and ARN operators only.

use std::net::IpAddr;

use crate::policy::context::Context;
use crate::policy::variables;
use crate::wildcard::Pattern;

/// One `"Operator": {"key": [values]}` entry, for one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Condition {
    pub(crate) operator: Operator,
    /// The key, lower-cased (condition keys are case-insensitive).
    pub(crate) key: String,
    /// The key as the policy writes it, for reports.
    pub(crate) name: String,
    pub(crate) values: Vec<String>,
    /// Whether `${…}` in values are policy variables (version 2012-10-17) or literal text.
    pub(crate) variables: bool,
}

/// A parsed operator name such as `ForAnyValue:StringNotLikeIfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Operator {
    kind: Kind,
    negated: bool,
    set: SetQualifier,
    if_exists: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    StringIgnoreCase,
    StringLike,
    Numeric(Cmp),
    Date(Cmp),
    Bool,
    Binary,
    Ip,
    Arn,
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetQualifier {
    Single,
    ForAnyValue,
    ForAllValues,
}

impl Operator {
    /// Parses an operator name; `None` for a name IAM does not know.
    pub(crate) fn parse(name: &str) -> Option<Self> {
        let (set, rest) = if let Some(r) = name.strip_prefix("ForAnyValue:") {
            (SetQualifier::ForAnyValue, r)
        } else if let Some(r) = name.strip_prefix("ForAllValues:") {
            (SetQualifier::ForAllValues, r)
        } else {
            (SetQualifier::Single, name)
        };
        let (if_exists, base) = match rest.strip_suffix("IfExists") {
            Some(b) => (true, b),
            None => (false, rest),
        };
        use Cmp::*;
        let (kind, negated) = match base {
            "StringEquals" => (Kind::String, false),
            "StringNotEquals" => (Kind::String, true),
            "StringEqualsIgnoreCase" => (Kind::StringIgnoreCase, false),
            "StringNotEqualsIgnoreCase" => (Kind::StringIgnoreCase, true),
            "StringLike" => (Kind::StringLike, false),
            "StringNotLike" => (Kind::StringLike, true),
            "NumericEquals" => (Kind::Numeric(Eq), false),
            "NumericNotEquals" => (Kind::Numeric(Eq), true),
            "NumericLessThan" => (Kind::Numeric(Lt), false),
            "NumericLessThanEquals" => (Kind::Numeric(Le), false),
            "NumericGreaterThan" => (Kind::Numeric(Gt), false),
            "NumericGreaterThanEquals" => (Kind::Numeric(Ge), false),
            "DateEquals" => (Kind::Date(Eq), false),
            "DateNotEquals" => (Kind::Date(Eq), true),
            "DateLessThan" => (Kind::Date(Lt), false),
            "DateLessThanEquals" => (Kind::Date(Le), false),
            "DateGreaterThan" => (Kind::Date(Gt), false),
            "DateGreaterThanEquals" => (Kind::Date(Ge), false),
            "Bool" => (Kind::Bool, false),
            "BinaryEquals" => (Kind::Binary, false),
            "IpAddress" => (Kind::Ip, false),
            "NotIpAddress" => (Kind::Ip, true),
            "ArnEquals" | "ArnLike" => (Kind::Arn, false),
            "ArnNotEquals" | "ArnNotLike" => (Kind::Arn, true),
            "Null" if !if_exists && set == SetQualifier::Single => (Kind::Null, false),
            _ => return None,
        };
        Some(Self {
            kind,
            negated,
            set,
            if_exists,
        })
    }

    /// Whether policy variables in values are completed (string and ARN operators only).
    fn takes_variables(self) -> bool {
        matches!(
            self.kind,
            Kind::String | Kind::StringIgnoreCase | Kind::StringLike | Kind::Arn
        )
    }
}

impl Condition {
    /// Evaluates the condition against the request context.
    pub(crate) fn holds(&self, ctx: &Context) -> bool {
        let op = self.operator;
        let present = ctx.get(&self.key).filter(|v| !v.is_empty());
        if op.kind == Kind::Null {
            // "true": the key must be absent; "false": present. Values are ORed.
            return self
                .values
                .iter()
                .any(|v| v.eq_ignore_ascii_case("true") == present.is_none());
        }
        let Some(request_values) = present else {
            return op.if_exists || op.negated || op.set == SetQualifier::ForAllValues;
        };
        // Values whose variables cannot be completed match nothing.
        let policy_values: Vec<String> = if self.variables && op.takes_variables() {
            self.values
                .iter()
                .filter_map(|v| variables::substitute(v, ctx))
                .collect()
        } else {
            self.values.clone()
        };
        let any_policy_value = |request: &str| {
            policy_values
                .iter()
                .any(|p| base_match(op.kind, request, p))
        };
        let one = |request: &String| any_policy_value(request) != op.negated;
        match op.set {
            SetQualifier::Single => {
                let matched = request_values.iter().any(|r| any_policy_value(r));
                matched != op.negated
            }
            SetQualifier::ForAnyValue => request_values.iter().any(one),
            SetQualifier::ForAllValues => request_values.iter().all(one),
        }
    }
}

/// The positive form of an operator on one request value and one policy value.
fn base_match(kind: Kind, request: &str, policy: &str) -> bool {
    match kind {
        Kind::String => request == policy,
        Kind::StringIgnoreCase => request.eq_ignore_ascii_case(policy),
        Kind::StringLike => Pattern::exact_case(policy).matches(request),
        Kind::Numeric(cmp) => match (request.trim().parse::<f64>(), policy.trim().parse::<f64>()) {
            (Ok(r), Ok(p)) => compare(cmp, r.partial_cmp(&p)),
            _ => false,
        },
        Kind::Date(cmp) => match (parse_date(request), parse_date(policy)) {
            (Some(r), Some(p)) => compare(cmp, Some(r.cmp(&p))),
            _ => false,
        },
        Kind::Bool => request.eq_ignore_ascii_case(policy),
        Kind::Binary => request == policy,
        Kind::Ip => ip_in(request, policy),
        Kind::Arn => arn_like(policy, request),
        Kind::Null => false,
    }
}

fn compare(cmp: Cmp, ordering: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::*;
    matches!(
        (cmp, ordering),
        (Cmp::Eq, Some(Equal))
            | (Cmp::Lt, Some(Less))
            | (Cmp::Le, Some(Less | Equal))
            | (Cmp::Gt, Some(Greater))
            | (Cmp::Ge, Some(Greater | Equal))
    )
}

/// Dates are ISO 8601 (`2026-11-24T12:00:00Z`, or a bare date) or epoch seconds; compared as
/// Unix seconds.
fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<i64>() {
        return Some(secs);
    }
    if let Some(t) = crate::times::parse_rfc3339(s) {
        return Some(t.unix_timestamp());
    }
    let date =
        time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp())
}

/// Whether the request IP is in the policy's CIDR block (or equals its address).
fn ip_in(request: &str, cidr: &str) -> bool {
    let Ok(ip) = request.trim().parse::<IpAddr>() else {
        return false;
    };
    let (net, bits) = match cidr.trim().split_once('/') {
        Some((n, b)) => (n, b.parse::<u32>().ok()),
        None => (cidr.trim(), None),
    };
    match (ip, net.parse::<IpAddr>()) {
        (IpAddr::V4(ip), Ok(IpAddr::V4(net))) => {
            let bits = bits.unwrap_or(32).min(32);
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), Ok(IpAddr::V6(net))) => {
            let bits = bits.unwrap_or(128).min(128);
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

/// `ArnLike`/`ArnEquals`: each of the six colon-separated parts matches on its own.
fn arn_like(pattern: &str, value: &str) -> bool {
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let v: Vec<&str> = value.splitn(6, ':').collect();
    if p.len() == 1 && p[0] == "*" {
        return true;
    }
    p.len() == 6
        && v.len() == 6
        && p.iter()
            .zip(&v)
            .all(|(p, v)| Pattern::exact_case(p).matches(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(op: &str, key: &str, values: &[&str]) -> Condition {
        Condition {
            operator: Operator::parse(op).unwrap_or_else(|| panic!("operator {op}")),
            key: key.to_ascii_lowercase(),
            name: key.to_owned(),
            values: values.iter().map(|v| (*v).to_owned()).collect(),
            variables: true,
        }
    }

    #[test]
    fn unknown_operators_are_refused() {
        for bad in [
            "StringEqualz",
            "NullIfExists",
            "ForAnyValue:Null",
            "stringequals",
        ] {
            assert!(Operator::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn ip_ranges_of_both_families() {
        assert!(ip_in("10.1.2.3", "10.0.0.0/8"));
        assert!(!ip_in("11.1.2.3", "10.0.0.0/8"));
        assert!(ip_in("203.0.113.7", "203.0.113.7"));
        assert!(ip_in("2001:db8::1", "2001:db8::/32"));
        assert!(!ip_in("2001:db8::1", "10.0.0.0/8"));
        assert!(ip_in("1.2.3.4", "0.0.0.0/0"));
    }

    #[test]
    fn arn_like_checks_each_part() {
        assert!(arn_like(
            "arn:aws:iam::*:role/*",
            "arn:aws:iam::111111111111:role/x"
        ));
        assert!(!arn_like("arn:aws:*:role/x", "arn:aws:iam::1:role/x"));
        assert!(!arn_like("arn:aws:iam::1:role/x", "not-an-arn"));
    }

    #[test]
    fn dates_in_either_form() {
        let mut ctx = Context::default();
        ctx.set("aws:CurrentTime", "2026-11-24T12:00:00Z");
        assert!(
            cond(
                "DateGreaterThan",
                "aws:CurrentTime",
                &["2026-01-01T00:00:00Z"]
            )
            .holds(&ctx)
        );
        assert!(cond("DateLessThan", "aws:CurrentTime", &["2027-01-01"]).holds(&ctx));
        assert!(cond("DateGreaterThanEquals", "aws:CurrentTime", &["1700000000"]).holds(&ctx));
    }
}
