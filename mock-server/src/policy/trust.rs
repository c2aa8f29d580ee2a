//! Trust policies (`AssumeRolePolicyDocument`): statements with a `Principal` instead of a
//! `Resource`. Parsed when a role is stored, with IAM's `MalformedPolicyDocument` texts;
//! `sts::trust` decides with them.

use serde_json::Value;

use crate::policy::ast::{ActionPattern, Effect, Matchers};
use crate::policy::condition::Condition;
use crate::policy::parse::{conditions, matchers};
use crate::wildcard::Pattern;

const SYNTAX: &str = "Syntax errors in policy.";

/// A parsed trust policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TrustPolicy {
    pub(crate) statements: Vec<TrustStatement>,
}

impl TrustPolicy {
    /// Whether deciding with it reads the request context (a statement has a condition).
    pub(crate) fn uses_context(&self) -> bool {
        self.statements.iter().any(|s| !s.conditions.is_empty())
    }
}

/// One statement of a trust policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TrustStatement {
    pub(crate) effect: Effect,
    pub(crate) principals: Principals,
    pub(crate) actions: Matchers<ActionPattern>,
    pub(crate) conditions: Vec<Condition>,
}

/// `Principal` (or, negated, `NotPrincipal`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Principals {
    pub(crate) negated: bool,
    pub(crate) entries: Vec<Principal>,
}

/// One principal entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Principal {
    /// `"*"` or `{"AWS": "*"}`: anyone.
    Any,
    /// `{"AWS": …}`: an account id, or an ARN (root, user, role, assumed-role session).
    Aws(String),
    /// `{"Service": "ec2.amazonaws.com"}`.
    Service(String),
    /// `{"Federated": …}`: an OIDC or SAML provider ARN, or a web identity provider name.
    Federated(String),
}

/// Parses a trust policy as IAM does on CreateRole / UpdateAssumeRolePolicy.
pub(crate) fn parse_trust_policy(json: &str) -> Result<TrustPolicy, String> {
    let value: Value = serde_json::from_str(json).map_err(|_| SYNTAX.to_owned())?;
    let doc = value.as_object().ok_or(SYNTAX)?;
    if doc
        .keys()
        .any(|k| !matches!(k.as_str(), "Version" | "Id" | "Statement"))
    {
        return Err(SYNTAX.into());
    }
    let statements: Vec<&Value> = match doc.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(obj @ Value::Object(_)) => vec![obj],
        _ => return Err(SYNTAX.into()),
    };
    let variables = doc.get("Version").and_then(Value::as_str) == Some("2012-10-17");
    statements
        .into_iter()
        .map(|s| statement(s, variables))
        .collect::<Result<_, _>>()
        .map(|statements| TrustPolicy { statements })
}

fn statement(value: &Value, variables: bool) -> Result<TrustStatement, String> {
    let obj = value.as_object().ok_or(SYNTAX)?;
    if obj.contains_key("Resource") || obj.contains_key("NotResource") {
        return Err("Has prohibited field Resource".into());
    }
    let known = [
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Condition",
    ];
    if obj.keys().any(|k| !known.contains(&k.as_str())) {
        return Err(SYNTAX.into());
    }
    let effect = match obj.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        _ => return Err(SYNTAX.into()),
    };
    let principals = match (obj.get("Principal"), obj.get("NotPrincipal")) {
        (Some(p), None) => principals(p, false)?,
        (None, Some(p)) => principals(p, true)?,
        (None, None) => return Err("Missing required field Principal".into()),
        (Some(_), Some(_)) => return Err(SYNTAX.into()),
    };
    if !obj.contains_key("Action") && !obj.contains_key("NotAction") {
        return Err("Policy statement must contain actions.".into());
    }
    let actions = matchers(obj, "Action", "NotAction", |raw| {
        ActionPattern(Pattern::ignoring_case(raw))
    })
    .map_err(|_| SYNTAX.to_owned())?;
    let conditions = match obj.get("Condition") {
        Some(c) => conditions(c, variables).map_err(|_| SYNTAX.to_owned())?,
        None => Vec::new(),
    };
    Ok(TrustStatement {
        effect,
        principals,
        actions,
        conditions,
    })
}

fn principals(value: &Value, negated: bool) -> Result<Principals, String> {
    let mut entries = Vec::new();
    match value {
        Value::String(s) if s == "*" => entries.push(Principal::Any),
        Value::Object(map) => {
            for (kind, values) in map {
                let list: Vec<&str> = match values {
                    Value::String(s) => vec![s.as_str()],
                    Value::Array(items) => items
                        .iter()
                        .map(|i| i.as_str().ok_or(SYNTAX))
                        .collect::<Result<_, _>>()?,
                    _ => return Err(SYNTAX.into()),
                };
                for v in list {
                    entries.push(match kind.as_str() {
                        "AWS" if v == "*" => Principal::Any,
                        "AWS" if valid_aws_principal(v) => Principal::Aws(v.to_owned()),
                        "AWS" => {
                            return Err(format!("Invalid principal in policy: \"AWS\":\"{v}\""));
                        }
                        "Service" => Principal::Service(v.to_owned()),
                        "Federated" => Principal::Federated(v.to_owned()),
                        "CanonicalUser" => {
                            return Err(format!(
                                "Invalid principal in policy: \"CanonicalUser\":\"{v}\""
                            ));
                        }
                        _ => return Err(SYNTAX.into()),
                    });
                }
            }
        }
        _ => return Err(SYNTAX.into()),
    }
    Ok(Principals { negated, entries })
}

/// An account id or an IAM/STS ARN.
fn valid_aws_principal(v: &str) -> bool {
    (v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit()))
        || (v.starts_with("arn:")
            && v.splitn(6, ':').count() == 6
            && (v.contains(":iam::") || v.contains(":sts::")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_policies_need_a_principal_and_no_resource() {
        let ok = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x-42"}}}]}"#;
        let parsed = parse_trust_policy(ok).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            parsed.statements[0].principals.entries,
            vec![Principal::Aws("arn:aws:iam::111111111111:root".into())]
        );
        let resource = r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"*"}}"#;
        assert_eq!(
            parse_trust_policy(resource).err().as_deref(),
            Some("Has prohibited field Resource")
        );
        let no_principal = r#"{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}"#;
        assert_eq!(
            parse_trust_policy(no_principal).err().as_deref(),
            Some("Missing required field Principal")
        );
        assert_eq!(
            parse_trust_policy("{").err().as_deref(),
            Some("Syntax errors in policy.")
        );
        let bad = r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"alice"},"Action":"sts:AssumeRole"}}"#;
        assert_eq!(
            parse_trust_policy(bad).err().as_deref(),
            Some("Invalid principal in policy: \"AWS\":\"alice\"")
        );
    }
}
