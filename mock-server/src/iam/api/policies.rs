//! Managed policies: customer managed ones (create, versions, delete) and AWS managed ones
//! (read-only, from the catalogue); listing, and who a policy is attached to.

use serde_json::Value;

use crate::api::Call;
use crate::error::AwsError;
use crate::iam::managed::{self, ManagedPolicy};
use crate::iam::store::unique_id;
use crate::policy::parse::parse_identity_policy;
use crate::propagation::ChangeKind;
use crate::wire::query::url_encode_document;
use crate::wire::xml::Node;
use crate::world::{AccountSpec, ManagedPolicySpec, PolicyVersionSpec};

use super::entity::{document_text, policy_size};
use super::*;

const MANAGED_POLICY_BYTES: usize = 6144;
const VERSIONS_PER_POLICY: usize = 5;

/// Parses a document as IAM does on write, with AWS's MalformedPolicyDocument texts and
/// the managed policy size quota (white space does not count).
fn checked_document(document: &str) -> Result<(), AwsError> {
    parse_identity_policy(document)
        .map_err(|e| AwsError::malformed_policy_document(e.aws_message()))?;
    if policy_size(document) > MANAGED_POLICY_BYTES {
        return Err(AwsError::limit_exceeded(format!(
            "Cannot exceed quota for PolicySize: {MANAGED_POLICY_BYTES}"
        )));
    }
    Ok(())
}

/// What GetPolicy, CreatePolicy and ListPolicies say of a managed policy.
struct PolicyView {
    name: String,
    path: String,
    arn: String,
    id: String,
    default_version: String,
    created: String,
    attachments: usize,
}

impl PolicyView {
    fn customer(call: &Call<'_>, account: &AccountSpec, p: &ManagedPolicySpec) -> Self {
        let arn = policy_arn(call, &p.path, &p.name);
        Self {
            attachments: attachments(account, call, &arn),
            name: p.name.clone(),
            path: p.path.clone(),
            id: unique_id("ANPA", &call.caller.account, &p.name),
            default_version: p.default_version_id.clone(),
            created: p.created.clone().unwrap_or_default(),
            arn,
        }
    }

    fn aws(call: &Call<'_>, account: &AccountSpec, m: &ManagedPolicy) -> Self {
        let arn = m.arn(partition(call));
        Self {
            attachments: attachments(account, call, &arn),
            name: m.policy_name.clone(),
            path: m.path.clone(),
            id: unique_id("ANPA", "aws", &m.policy_name),
            default_version: m.default_version_id.clone(),
            created: m.create_date.clone(),
            arn,
        }
    }

    fn fields(self) -> Vec<Node> {
        vec![
            Node::leaf("PolicyName", self.name),
            Node::leaf("DefaultVersionId", self.default_version),
            Node::leaf("PolicyId", self.id),
            Node::leaf("Path", self.path),
            Node::leaf("Arn", self.arn),
            Node::leaf("AttachmentCount", self.attachments.to_string()),
            Node::leaf("PermissionsBoundaryUsageCount", "0"),
            Node::leaf("IsAttachable", "true"),
            Node::leaf("CreateDate", self.created.clone()),
            Node::leaf("UpdateDate", self.created),
        ]
    }
}

/// The users, groups and roles of the account that have the policy attached: `(kind, name)`.
fn attached_to<'a>(
    account: &'a AccountSpec,
    call: &Call<'_>,
    arn: &str,
) -> Vec<(&'static str, &'a str)> {
    let names = |refs: &[String]| {
        refs.iter()
            .any(|r| super::entity::resolve(account, call, r).1 == arn)
    };
    let users = account
        .users
        .iter()
        .filter(|u| names(&u.managed_policies))
        .map(|u| ("user", u.name.as_str()));
    let groups = account
        .groups
        .iter()
        .filter(|g| names(&g.managed_policies))
        .map(|g| ("group", g.name.as_str()));
    let roles = account
        .roles
        .iter()
        .filter(|r| names(&r.managed_policies))
        .map(|r| ("role", r.name.as_str()));
    users.chain(groups).chain(roles).collect()
}

fn attachments(account: &AccountSpec, call: &Call<'_>, arn: &str) -> usize {
    attached_to(account, call, arn).len()
}

pub(super) fn create_policy(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = valid_name(call, "PolicyName", required(call, "PolicyName")?, 128)?.to_owned();
    let path = valid_path(call, call.params.get("Path").unwrap_or("/"))?.to_owned();
    let document = required(call, "PolicyDocument")?;
    checked_document(document)?;
    let spec = ManagedPolicySpec {
        name: name.clone(),
        path,
        document: Value::String(document.to_owned()),
        created: Some(now_iso(call)),
        default_version_id: "v1".into(),
        other_versions: Vec::new(),
    };
    let account = call.iam.write(ChangeKind::Policies, |world| {
        let account = account_mut(world, call)?;
        if account.policies.iter().any(|p| p.name == name) {
            return Err(AwsError::entity_already_exists(format!(
                "A policy called {name} already exists. Duplicate names are not allowed."
            )));
        }
        account.policies.push_back(spec.clone());
        Ok(account.clone())
    })?;
    Ok(vec![Node::Branch(
        "Policy",
        PolicyView::customer(call, &account, &spec).fields(),
    )])
}

/// The customer managed policy of the caller's account with this ARN.
fn find_policy<'w>(
    account: &'w AccountSpec,
    call: &Call<'_>,
    arn: &str,
) -> Option<&'w ManagedPolicySpec> {
    account
        .policies
        .iter()
        .find(|p| is_policy_arn(call, p, arn))
}

fn find_policy_mut<'w>(
    account: &'w mut AccountSpec,
    call: &Call<'_>,
    arn: &str,
) -> Result<&'w mut ManagedPolicySpec, AwsError> {
    find_mut(&mut account.policies, |p| is_policy_arn(call, p, arn)).ok_or_else(|| not_found(arn))
}

fn not_found(arn: &str) -> AwsError {
    AwsError::no_such_entity(format!("Policy {arn} was not found."))
}

pub(super) fn get_policy(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let arn = required(call, "PolicyArn")?;
    let world = call.iam.world();
    let account = account(&world, call).ok_or_else(|| not_found(arn))?;
    let view = match find_policy(account, call, arn) {
        Some(p) => PolicyView::customer(call, account, p),
        None => PolicyView::aws(
            call,
            account,
            managed::find(arn, partition(call)).ok_or_else(|| not_found(arn))?,
        ),
    };
    Ok(vec![Node::Branch("Policy", view.fields())])
}

pub(super) fn delete_policy(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let arn = required(call, "PolicyArn")?.to_owned();
    call.iam.write(ChangeKind::Policies, |world| {
        let account = account_mut(world, call)?;
        let policy = find_policy(account, call, &arn).ok_or_else(|| not_found(&arn))?;
        let name = policy.name.clone();
        if !policy.other_versions.is_empty() {
            return Err(AwsError::delete_conflict(
                "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
            ));
        }
        let boundary_of = |b: &Option<String>| b.as_deref().is_some_and(|r| super::entity::resolve(account, call, r).1 == arn);
        let is_boundary = account.users.iter().any(|u| boundary_of(&u.permissions_boundary))
            || account.roles.iter().any(|r| boundary_of(&r.permissions_boundary));
        if is_boundary || attachments(account, call, &arn) > 0 {
            return Err(AwsError::delete_conflict("Cannot delete a policy attached to entities."));
        }
        remove_where(&mut account.policies, |p| p.name == name);
        Ok(())
    })?;
    Ok(Vec::new())
}

// ---- versions ----

/// `(version id, document, created, is default)` of every version, default first.
fn versions(p: &ManagedPolicySpec) -> Vec<(String, &Value, String, bool)> {
    let mut all = vec![(
        p.default_version_id.clone(),
        &p.document,
        p.created.clone().unwrap_or_default(),
        true,
    )];
    all.extend(p.other_versions.iter().map(|v| {
        (
            v.version_id.clone(),
            &v.document,
            v.created.clone().unwrap_or_default(),
            false,
        )
    }));
    all
}

fn version_number(id: &str) -> u32 {
    id.strip_prefix('v')
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn version_node(id: String, document: Option<&Value>, created: String, default: bool) -> Vec<Node> {
    let mut nodes = Vec::new();
    if let Some(d) = document {
        nodes.push(Node::leaf(
            "Document",
            url_encode_document(&document_text(d)),
        ));
    }
    nodes.push(Node::leaf("VersionId", id));
    nodes.push(Node::leaf("IsDefaultVersion", default.to_string()));
    nodes.push(Node::leaf("CreateDate", created));
    nodes
}

pub(super) fn create_policy_version(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let arn = required(call, "PolicyArn")?.to_owned();
    let document = required(call, "PolicyDocument")?.to_owned();
    checked_document(&document)?;
    let set_default = call
        .params
        .get("SetAsDefault")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let created = now_iso(call);
    let id = call.iam.write(ChangeKind::Policies, |world| {
        let policy = find_policy_mut(account_mut(world, call)?, call, &arn)?;
        if policy.other_versions.len() + 1 >= VERSIONS_PER_POLICY {
            return Err(AwsError::limit_exceeded(
                "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.",
            ));
        }
        let next = versions(policy).iter().map(|v| version_number(&v.0)).max().unwrap_or(0) + 1;
        let id = format!("v{next}");
        let version = PolicyVersionSpec {
            version_id: id.clone(),
            document: Value::String(document.clone()),
            created: Some(created.clone()),
        };
        policy.other_versions.push(version);
        if set_default {
            make_default(policy, &id)?;
        }
        Ok(id)
    })?;
    Ok(vec![Node::Branch(
        "PolicyVersion",
        version_node(id, None, created, set_default),
    )])
}

fn no_such_version(arn: &str, id: &str) -> AwsError {
    AwsError::no_such_entity(format!(
        "Policy {arn} version {id} does not exist or is not deletable."
    ))
}

/// Makes version `id` the default; the old default becomes an ordinary version.
fn make_default(policy: &mut ManagedPolicySpec, id: &str) -> Result<(), AwsError> {
    if policy.default_version_id == id {
        return Ok(());
    }
    let at = policy
        .other_versions
        .iter()
        .position(|v| v.version_id == id)
        .ok_or_else(|| AwsError::no_such_entity(format!("Policy version {id} does not exist.")))?;
    let chosen = policy.other_versions.remove(at);
    policy.other_versions.push(PolicyVersionSpec {
        version_id: std::mem::replace(&mut policy.default_version_id, chosen.version_id),
        document: std::mem::replace(&mut policy.document, chosen.document),
        created: std::mem::replace(&mut policy.created, chosen.created),
    });
    Ok(())
}

pub(super) fn set_default_policy_version(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let arn = required(call, "PolicyArn")?.to_owned();
    let id = required(call, "VersionId")?.to_owned();
    call.iam.write(ChangeKind::Policies, |world| {
        make_default(find_policy_mut(account_mut(world, call)?, call, &arn)?, &id)
    })?;
    Ok(Vec::new())
}

pub(super) fn delete_policy_version(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let arn = required(call, "PolicyArn")?.to_owned();
    let id = required(call, "VersionId")?.to_owned();
    call.iam.write(ChangeKind::Policies, |world| {
        let policy = find_policy_mut(account_mut(world, call)?, call, &arn)?;
        if policy.default_version_id == id {
            return Err(AwsError::delete_conflict(
                "Cannot delete the default version of a policy.",
            ));
        }
        let before = policy.other_versions.len();
        policy.other_versions.retain(|v| v.version_id != id);
        if policy.other_versions.len() == before {
            return Err(no_such_version(&arn, &id));
        }
        Ok(())
    })?;
    Ok(Vec::new())
}

pub(super) fn get_policy_version(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let arn = required(call, "PolicyArn")?;
    let id = required(call, "VersionId")?;
    let missing = || AwsError::no_such_entity(format!("Policy {arn} version {id} does not exist."));
    let world = call.iam.world();
    let account = account(&world, call).ok_or_else(|| not_found(arn))?;
    if let Some(p) = find_policy(account, call, arn) {
        let (vid, doc, created, default) = versions(p)
            .into_iter()
            .find(|v| v.0 == id)
            .ok_or_else(missing)?;
        return Ok(vec![Node::Branch(
            "PolicyVersion",
            version_node(vid, Some(doc), created, default),
        )]);
    }
    let m = managed::find(arn, partition(call)).ok_or_else(|| not_found(arn))?;
    if m.default_version_id != id {
        return Err(missing());
    }
    let node = version_node(
        m.default_version_id.clone(),
        Some(&m.document),
        m.create_date.clone(),
        true,
    );
    Ok(vec![Node::Branch("PolicyVersion", node)])
}

pub(super) fn list_policy_versions(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let arn = required(call, "PolicyArn")?;
    let world = call.iam.world();
    let account = account(&world, call).ok_or_else(|| not_found(arn))?;
    let all: Vec<Vec<Node>> = match find_policy(account, call, arn) {
        Some(p) => {
            let mut all = versions(p);
            all.sort_by_key(|v| std::cmp::Reverse(version_number(&v.0)));
            all.into_iter()
                .map(|(id, _, created, default)| version_node(id, None, created, default))
                .collect()
        }
        None => {
            let m = managed::find(arn, partition(call)).ok_or_else(|| not_found(arn))?;
            vec![version_node(
                m.default_version_id.clone(),
                None,
                m.create_date.clone(),
                true,
            )]
        }
    };
    let (page_items, next) = page(call, all)?;
    let mut out = vec![Node::List("Versions", page_items)];
    out.extend(truncation(next));
    Ok(out)
}

// ---- listing ----

pub(super) fn list_policies(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let scope = call.params.get("Scope").unwrap_or("All");
    if !matches!(scope, "All" | "AWS" | "Local") {
        return Err(AwsError::invalid_parameter_value(
            call.service,
            format!(
                "1 validation error detected: Value '{scope}' at 'scope' failed to satisfy constraint: Member must satisfy enum value set: [All, AWS, Local]"
            ),
        ));
    }
    let only_attached = call
        .params
        .get("OnlyAttached")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let prefix = call.params.get("PathPrefix").unwrap_or("/");
    let world = call.iam.world();
    let Some(account) = account(&world, call) else {
        return Ok(vec![
            Node::List("Policies", Vec::new()),
            Node::leaf("IsTruncated", "false"),
        ]);
    };
    let mut views: Vec<PolicyView> = Vec::new();
    if scope != "Local" {
        views.extend(managed::all().map(|m| PolicyView::aws(call, account, m)));
    }
    if scope != "AWS" {
        views.extend(
            account
                .policies
                .iter()
                .map(|p| PolicyView::customer(call, account, p)),
        );
    }
    views.retain(|v| v.path.starts_with(prefix) && (!only_attached || v.attachments > 0));
    views.sort_by(|a, b| a.name.cmp(&b.name));
    let (views, next) = page(call, views)?;
    let mut out = vec![Node::List(
        "Policies",
        views.into_iter().map(PolicyView::fields).collect(),
    )];
    out.extend(truncation(next));
    Ok(out)
}

pub(super) fn list_entities_for_policy(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let arn = required(call, "PolicyArn")?;
    let world = call.iam.world();
    let account = account(&world, call).ok_or_else(|| not_found(arn))?;
    if find_policy(account, call, arn).is_none() && managed::find(arn, partition(call)).is_none() {
        return Err(not_found(arn));
    }
    let entities = attached_to(account, call, arn);
    let of = |kind: &str,
              name_tag: &'static str,
              id_tag: &'static str,
              prefix: &str|
     -> Vec<Vec<Node>> {
        entities
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, name)| {
                vec![
                    Node::leaf(name_tag, (*name).to_owned()),
                    Node::leaf(id_tag, unique_id(prefix, &call.caller.account, name)),
                ]
            })
            .collect()
    };
    Ok(vec![
        Node::List("PolicyGroups", of("group", "GroupName", "GroupId", "AGPA")),
        Node::List("PolicyUsers", of("user", "UserName", "UserId", "AIDA")),
        Node::List("PolicyRoles", of("role", "RoleName", "RoleId", "AROA")),
        Node::leaf("IsTruncated", "false"),
    ])
}
