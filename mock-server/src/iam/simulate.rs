//! The IAM policy simulator: `SimulatePrincipalPolicy` and `SimulateCustomPolicy`.
//!
//! It answers with the same evaluation as every real call (`policy::eval`), so "would this
//! connector role be allowed `ec2:DescribeRegions`?" gets the answer the server itself would
//! give. Context comes only from `ContextEntries`, as in AWS's simulator; keys that covering
//! statements read but the entries lack are reported as `MissingContextValues`.
//!
//! `SimulatePrincipalPolicy` also applies the service control policies in effect for the
//! principal's account (none in its organization's management account or for a
//! service-linked role) and, when that account is in an organization, answers each result's
//! `OrganizationsDecisionDetail`. `SimulateCustomPolicy` simulates only the policies given.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use crate::api::Call;
use crate::error::AwsError;
use crate::iam::managed;
use crate::iam::store::{SERVICE_LINKED_PATH, Scps};
use crate::partition::Partition;
use crate::policy::Policy;
use crate::policy::context::Context;
use crate::policy::eval::{Decision, Layer, Request, evaluate, missing_context_keys};
use crate::policy::parse::parse_identity_policy;
use crate::wire::xml::Node;
use crate::world::{AccountSpec, World};

/// A policy taking part, with the id and type the simulator reports for it.
struct Source {
    id: String,
    kind: &'static str,
    policy: Arc<Policy>,
}

impl AsRef<Policy> for Source {
    fn as_ref(&self) -> &Policy {
        &self.policy
    }
}

fn invalid(message: impl Into<String>) -> AwsError {
    AwsError::invalid_input(message)
}

fn parse_input(prefix: &str, n: usize, text: &str) -> Result<Source, AwsError> {
    let policy = parse_identity_policy(text)
        .map_err(|e| AwsError::malformed_policy_document(e.aws_message()))?;
    Ok(Source {
        id: format!("{prefix}.{n}"),
        kind: "none",
        policy: Arc::new(policy),
    })
}

fn document_policy(document: &Value) -> Option<Arc<Policy>> {
    let text = match document {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    parse_identity_policy(&text).ok().map(Arc::new)
}

/// A managed policy by reference, as the world holds it.
fn managed_source(account: &AccountSpec, partition: Partition, reference: &str) -> Option<Source> {
    if let Some(m) = managed::find(reference, partition) {
        return Some(Source {
            id: m.policy_name.clone(),
            kind: "aws-managed",
            policy: m.parsed.clone()?,
        });
    }
    let p = account.policies.iter().find(|p| {
        p.name == reference
            || crate::arn::iam_entity(partition, &account.id, "policy", &p.path, &p.name)
                == reference
    })?;
    Some(Source {
        id: p.name.clone(),
        kind: "user-managed",
        policy: document_policy(&p.document)?,
    })
}

fn inline_sources<'a>(
    kind: &'static str,
    inline: &'a BTreeMap<String, Value>,
) -> impl Iterator<Item = Source> + 'a {
    inline.iter().filter_map(move |(name, doc)| {
        Some(Source {
            id: name.clone(),
            kind,
            policy: document_policy(doc)?,
        })
    })
}

/// What a simulated principal brings: its identity policies and boundary.
struct Principal {
    identity: Vec<Source>,
    boundary: Option<Vec<Source>>,
    /// A service-linked role: service control policies do not apply to it.
    service_linked: bool,
}

/// The identity policies and boundary of the user, role or group an ARN names.
fn principal_sources(world: &World, call: &Call<'_>, arn: &str) -> Result<Principal, AwsError> {
    let partition = call.caller.partition;
    let not_found = || AwsError::no_such_entity(format!("PolicySourceArn {arn} does not exist."));
    let account = world
        .accounts
        .iter()
        .find(|a| a.id == call.caller.account)
        .ok_or_else(not_found)?;
    let prefix = crate::arn::iam(partition, &account.id, "");
    let rest = arn.strip_prefix(&prefix).ok_or_else(not_found)?;
    let name = rest.rsplit('/').next().unwrap_or_default();
    let managed = |refs: &[String]| -> Vec<Source> {
        refs.iter()
            .filter_map(|r| managed_source(account, partition, r))
            .collect()
    };
    let boundary = |arn: &Option<String>| {
        arn.as_ref()
            .map(|b| managed_source(account, partition, b).into_iter().collect())
    };
    if rest.starts_with("user/") {
        let user = account
            .users
            .iter()
            .find(|u| u.name == name)
            .ok_or_else(not_found)?;
        let mut sources: Vec<Source> = inline_sources("user", &user.inline_policies).collect();
        sources.extend(managed(&user.managed_policies));
        for group in account
            .groups
            .iter()
            .filter(|g| user.groups.contains(&g.name))
        {
            sources.extend(inline_sources("group", &group.inline_policies));
            sources.extend(managed(&group.managed_policies));
        }
        Ok(Principal {
            identity: sources,
            boundary: boundary(&user.permissions_boundary),
            service_linked: false,
        })
    } else if rest.starts_with("role/") {
        let role = account
            .roles
            .iter()
            .find(|r| r.name == name)
            .ok_or_else(not_found)?;
        let mut sources: Vec<Source> = inline_sources("role", &role.inline_policies).collect();
        sources.extend(managed(&role.managed_policies));
        Ok(Principal {
            identity: sources,
            boundary: boundary(&role.permissions_boundary),
            service_linked: role.path == SERVICE_LINKED_PATH,
        })
    } else if rest.starts_with("group/") {
        let group = account
            .groups
            .iter()
            .find(|g| g.name == name)
            .ok_or_else(not_found)?;
        let mut sources: Vec<Source> = inline_sources("group", &group.inline_policies).collect();
        sources.extend(managed(&group.managed_policies));
        Ok(Principal {
            identity: sources,
            boundary: None,
            service_linked: false,
        })
    } else {
        Err(invalid(format!(
            "Invalid PolicySourceArn {arn}: it must be a user, group or role."
        )))
    }
}

fn inputs(call: &Call<'_>, prefix: &str) -> Result<Vec<Source>, AwsError> {
    call.params
        .list(&format!("{prefix}.member"))
        .into_iter()
        .enumerate()
        .map(|(i, text)| parse_input(prefix, i + 1, text))
        .collect()
}

fn context_entries(call: &Call<'_>) -> Context {
    let mut ctx = Context::default();
    for (n, key) in call
        .params
        .indexed("ContextEntries.member", ".ContextKeyName")
    {
        let values: Vec<String> = call
            .params
            .list(&format!(
                "ContextEntries.member.{n}.ContextKeyValues.member"
            ))
            .into_iter()
            .map(str::to_owned)
            .collect();
        ctx.set_values(key, values);
    }
    ctx
}

/// The organization a simulation takes place in: `None` outside one (no
/// `OrganizationsDecisionDetail`), `Some(None)` when no service control policy applies.
type Organization<'a> = Option<Option<&'a Scps>>;

fn simulate(
    call: &Call<'_>,
    identity: Vec<Source>,
    boundary: Option<Vec<Source>>,
    organization: Organization<'_>,
) -> Result<Vec<Node>, AwsError> {
    let actions = call.params.list("ActionNames.member");
    if actions.is_empty() {
        return Err(AwsError::invalid_parameter_value(
            call.service,
            "1 validation error detected: Value null at 'actionNames' failed to satisfy constraint: Member must not be null",
        ));
    }
    let mut resources = call.params.list("ResourceArns.member");
    if resources.is_empty() {
        resources.push("*");
    }
    let context = context_entries(call);
    let scps = organization.flatten();
    let none: Option<&[Policy]> = None;
    let mut results = Vec::new();
    for action in &actions {
        for resource in &resources {
            let req = Request {
                action,
                resource,
                context: &context,
            };
            let evaluation = evaluate(
                scps.map(Scps::levels),
                Some(&identity),
                boundary.as_deref(),
                none,
                &req,
            );
            let decision = match evaluation.decision {
                Decision::Allow => "allowed",
                Decision::ExplicitDeny(_) => "explicitDeny",
                Decision::ImplicitDeny(_) => "implicitDeny",
            };
            let statements: Vec<_> = match evaluation.decision {
                Decision::ExplicitDeny(at) => vec![at],
                _ => evaluation.allowed_by.clone(),
            };
            let matched = statements
                .iter()
                .filter_map(|at| {
                    let source = match at.layer {
                        Layer::Identity => identity.get(at.policy),
                        Layer::Boundary => boundary.as_ref().and_then(|b| b.get(at.policy)),
                        Layer::Organization | Layer::Session => None,
                    }?;
                    Some(vec![
                        Node::leaf("SourcePolicyId", source.id.clone()),
                        Node::leaf("SourcePolicyType", source.kind),
                    ])
                })
                .collect();
            let all = identity
                .iter()
                .chain(boundary.iter().flatten())
                .map(|s| &*s.policy)
                .chain(
                    scps.iter()
                        .flat_map(|s| s.policies.iter().map(|p| &*p.policy)),
                );
            let missing = missing_context_keys(all, &req);
            let mut item = vec![
                Node::leaf("EvalActionName", (*action).to_owned()),
                Node::leaf("EvalResourceName", (*resource).to_owned()),
                Node::leaf("EvalDecision", decision),
                Node::List("MatchedStatements", matched),
                Node::TextList("MissingContextValues", missing),
            ];
            if organization.is_some() {
                // Whether the SCPs alone allow it, whatever the other layers say.
                let allowed = scps.is_none_or(|s| {
                    evaluate(Some(s.levels()), none, none, none, &req).decision == Decision::Allow
                });
                item.push(Node::Branch(
                    "OrganizationsDecisionDetail",
                    vec![Node::leaf("AllowedByOrganizations", allowed.to_string())],
                ));
            }
            if boundary.is_some() {
                let allowed = !matches!(
                    evaluation.decision,
                    Decision::ImplicitDeny(Layer::Boundary)
                ) && !matches!(evaluation.decision, Decision::ExplicitDeny(at) if at.layer == Layer::Boundary);
                item.push(Node::Branch(
                    "PermissionsBoundaryDecisionDetail",
                    vec![Node::leaf(
                        "AllowedByPermissionsBoundary",
                        allowed.to_string(),
                    )],
                ));
            }
            results.push(item);
        }
    }
    let (results, next) = crate::iam::api::page(call, results)?;
    let mut out = vec![Node::List("EvaluationResults", results)];
    out.extend(crate::iam::api::truncation(next));
    Ok(out)
}

/// `SimulatePrincipalPolicy`: the policies of a user (with its groups), role or group, plus
/// `PolicyInputList`, against actions and resources.
pub(crate) fn simulate_principal_policy(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let arn = call.params.get("PolicySourceArn").ok_or_else(|| {
        AwsError::invalid_parameter_value(
            call.service,
            "1 validation error detected: Value null at 'policySourceArn' failed to satisfy constraint: Member must not be null",
        )
    })?;
    let world = call.iam.world();
    let Principal {
        mut identity,
        mut boundary,
        service_linked,
    } = principal_sources(&world, call, arn)?;
    identity.extend(inputs(call, "PolicyInputList")?);
    let boundary_inputs = inputs(call, "PermissionsBoundaryPolicyInputList")?;
    if !boundary_inputs.is_empty() {
        boundary = Some(boundary_inputs);
    }
    // The principal is of the caller's account: its organization is the caller's, with the
    // SCPs in effect now.
    let organization = call
        .caller
        .organization
        .as_deref()
        .map(|m| m.scps.as_deref().filter(|_| !service_linked));
    simulate(call, identity, boundary, organization)
}

/// `SimulateCustomPolicy`: only the given policies (no service control policies).
pub(crate) fn simulate_custom_policy(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let identity = inputs(call, "PolicyInputList")?;
    if identity.is_empty() {
        return Err(AwsError::invalid_parameter_value(
            call.service,
            "1 validation error detected: Value null at 'policyInputList' failed to satisfy constraint: Member must not be null",
        ));
    }
    let boundary = inputs(call, "PermissionsBoundaryPolicyInputList")?;
    let boundary = (!boundary.is_empty()).then_some(boundary);
    simulate(call, identity, boundary, None)
}
