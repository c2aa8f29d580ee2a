//! EC2's encoded authorization failure messages, and STS `DecodeAuthorizationMessage`.
//!
//! When EC2 refuses a call it says only "Encoded authorization failure message: …"; the
//! blob, decoded by STS for a caller allowed `sts:DecodeAuthorizationMessage`, is compact JSON
//! with the decision, the statements that decided it and the request context (shape from
//! decoded AWS messages: `allowed`, `explicitDeny`, `matchedStatements.items`,
//! `failures.items`, `context.{principal, action, resource, conditions.items}`).
//!
//! The blob is the JSON, base64url-encoded: AWS's is encrypted, but a mock has nothing to
//! hide, and carrying the state in the message keeps the server free of per-denial memory.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::iam::store::{Identity, IdentityKind};
use crate::policy::context::Context;

/// What a denial knew.
#[derive(Debug)]
pub(crate) struct Denied<'a> {
    pub(crate) caller: &'a Identity,
    pub(crate) action: &'a str,
    pub(crate) resource: &'a str,
    pub(crate) context: &'a Context,
    /// The `Sid` of the deny statement that decided, when one did.
    pub(crate) explicit_deny: Option<Option<&'a str>>,
}

/// The context keys a decoded message lists, when the request has them.
const KEYS: &[&str] = &[
    "aws:username",
    "aws:userid",
    "aws:PrincipalArn",
    "aws:PrincipalAccount",
    "aws:PrincipalType",
    "aws:PrincipalOrgID",
    "aws:PrincipalOrgPaths",
    "aws:ResourceAccount",
    "aws:RequestedRegion",
    "ec2:Region",
    "aws:SourceIp",
    "aws:SecureTransport",
    "aws:CurrentTime",
    "aws:EpochTime",
];

/// Request-specific keys a decoded message lists too: the service's own and tag keys.
const RESOURCE_KEY_PREFIXES: &[&str] = &[
    "ec2:",
    "iam:",
    "aws:RequestTag/",
    "aws:ResourceTag/",
    "aws:TagKeys",
];

const PREFIX: &str = "tb1.";

/// The blob EC2 puts after "Encoded authorization failure message: ".
pub(crate) fn encode(denied: &Denied<'_>) -> String {
    let mut principal = json!({ "id": denied.caller.user_id, "arn": &*denied.caller.arn });
    if let IdentityKind::User { name } = &denied.caller.kind {
        principal["name"] = json!(name);
    }
    let condition = |key: &str, values: &[String]| {
        let items: Vec<Value> = values.iter().map(|v| json!({ "value": v })).collect();
        json!({ "key": key, "values": { "items": items } })
    };
    let mut conditions: Vec<Value> = KEYS
        .iter()
        .filter_map(|key| {
            Some(condition(
                key,
                denied.context.get(&key.to_ascii_lowercase())?,
            ))
        })
        .collect();
    // Then the keys of this request's resource and input (`ec2:ResourceTag/…`,
    // `aws:RequestTag/…`, `ec2:InstanceType`, …), by name.
    let mut specific: Vec<(&str, &[String])> = denied
        .context
        .entries()
        .filter(|(key, _)| RESOURCE_KEY_PREFIXES.iter().any(|p| key.starts_with(p)))
        .filter(|(key, _)| !KEYS.iter().any(|k| k.eq_ignore_ascii_case(key)))
        .collect();
    specific.sort_unstable();
    conditions.extend(specific.into_iter().map(|(k, v)| condition(k, v)));
    let matched: Vec<Value> = denied
        .explicit_deny
        .iter()
        .map(|sid| json!({ "statementId": sid.unwrap_or_default(), "effect": "DENY" }))
        .collect();
    let message = json!({
        "allowed": false,
        "explicitDeny": denied.explicit_deny.is_some(),
        "matchedStatements": { "items": matched },
        "failures": { "items": [] },
        "context": {
            "principal": principal,
            "action": denied.action,
            "resource": denied.resource,
            "conditions": { "items": conditions },
        },
    });
    format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(message.to_string()))
}

/// The JSON an encoded message holds, if it is one of ours (`DecodeAuthorizationMessage`).
pub(crate) fn decode(encoded: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(encoded.strip_prefix(PREFIX)?).ok()?;
    String::from_utf8(bytes).ok()
}
