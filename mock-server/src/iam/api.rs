//! IAM actions: users, access keys, managed and inline user policies.
//!
//! Handlers read the world snapshot and change it through [`Iam::write`]; every change is
//! validated by rebuilding the store, so what authentication and authorization see is always
//! consistent with what IAM answers. Error texts are AWS's, captured from real responses.

use serde_json::Value;

use crate::api::{ActionSpec, Authorization, Call};
use crate::error::AwsError;
use crate::iam::managed;
use crate::iam::store::{IdentityKind, unique_id};
use crate::policy::parse::parse_identity_policy;
use crate::wire::query::url_encode_document;
use crate::wire::xml::Node;
use crate::world::{AccessKeySpec, AccountSpec, KeyStatus, ManagedPolicySpec, UserSpec, World};

/// The IAM actions served.
pub(crate) const ACTIONS: &[ActionSpec] = &[
    action("CreateUser", "iam:CreateUser", user_resource, create_user),
    action("GetUser", "iam:GetUser", user_resource, get_user),
    action("ListUsers", "iam:ListUsers", users_resource, list_users),
    action("DeleteUser", "iam:DeleteUser", user_resource, delete_user),
    action(
        "CreateAccessKey",
        "iam:CreateAccessKey",
        user_resource,
        create_access_key,
    ),
    action(
        "ListAccessKeys",
        "iam:ListAccessKeys",
        user_resource,
        list_access_keys,
    ),
    action(
        "UpdateAccessKey",
        "iam:UpdateAccessKey",
        user_resource,
        update_access_key,
    ),
    action(
        "DeleteAccessKey",
        "iam:DeleteAccessKey",
        user_resource,
        delete_access_key,
    ),
    action(
        "CreatePolicy",
        "iam:CreatePolicy",
        policy_resource,
        create_policy,
    ),
    action("GetPolicy", "iam:GetPolicy", policy_resource, get_policy),
    action(
        "DeletePolicy",
        "iam:DeletePolicy",
        policy_resource,
        delete_policy,
    ),
    action(
        "AttachUserPolicy",
        "iam:AttachUserPolicy",
        user_resource,
        attach_user_policy,
    ),
    action(
        "DetachUserPolicy",
        "iam:DetachUserPolicy",
        user_resource,
        detach_user_policy,
    ),
    action(
        "ListAttachedUserPolicies",
        "iam:ListAttachedUserPolicies",
        user_resource,
        list_attached_user_policies,
    ),
    action(
        "PutUserPolicy",
        "iam:PutUserPolicy",
        user_resource,
        put_user_policy,
    ),
    action(
        "GetUserPolicy",
        "iam:GetUserPolicy",
        user_resource,
        get_user_policy,
    ),
    action(
        "DeleteUserPolicy",
        "iam:DeleteUserPolicy",
        user_resource,
        delete_user_policy,
    ),
    action(
        "ListUserPolicies",
        "iam:ListUserPolicies",
        user_resource,
        list_user_policies,
    ),
];

const fn action(
    name: &'static str,
    iam_action: &'static str,
    resource: fn(&Call<'_>) -> String,
    handler: crate::api::Handler,
) -> ActionSpec {
    ActionSpec {
        name,
        iam_action,
        authorization: Authorization::Policy(resource),
        handler,
    }
}

// Quotas (IAM defaults, as the connector docs warn about the managed-policy one).
const ACCESS_KEYS_PER_USER: usize = 2;
const MANAGED_POLICIES_PER_USER: usize = 10;
const USER_INLINE_POLICY_BYTES: usize = 2048;
const MANAGED_POLICY_BYTES: usize = 6144;

// ---- parameters and validation ----

/// A required parameter; AWS names the member in lower camel case in its message.
fn required<'a>(call: &Call<'a>, name: &str) -> Result<&'a str, AwsError> {
    call.params.get(name).ok_or_else(|| {
        AwsError::invalid_parameter_value(
            call.service,
            format!(
                "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
                member(name)
            ),
        )
    })
}

fn member(param: &str) -> String {
    let mut chars = param.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// IAM names: `[\w+=,.@-]+`, at most `max` characters.
fn valid_name<'a>(
    call: &Call<'_>,
    param: &str,
    value: &'a str,
    max: usize,
) -> Result<&'a str, AwsError> {
    let member = member(param);
    if value.is_empty() || value.len() > max {
        return Err(AwsError::invalid_parameter_value(
            call.service,
            format!(
                "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must have length less than or equal to {max}"
            ),
        ));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
    {
        return Err(AwsError::invalid_parameter_value(
            call.service,
            format!(
                "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
            ),
        ));
    }
    Ok(value)
}

fn valid_path<'a>(call: &Call<'_>, value: &'a str) -> Result<&'a str, AwsError> {
    let ok = value.starts_with('/')
        && value.ends_with('/')
        && value.len() <= 512
        && value.bytes().all(|b| (0x21..=0x7e).contains(&b));
    if ok {
        Ok(value)
    } else {
        Err(AwsError::invalid_parameter_value(
            call.service,
            format!(
                "1 validation error detected: Value '{value}' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)"
            ),
        ))
    }
}

/// The page `Marker`/`MaxItems` select, and the marker of the next page.
fn page<T>(call: &Call<'_>, items: Vec<T>) -> Result<(Vec<T>, Option<String>), AwsError> {
    let max = match call.params.get("MaxItems") {
        None => 100,
        Some(v) => match v.parse::<usize>() {
            Ok(n @ 1..=1000) => n,
            _ => {
                return Err(AwsError::invalid_parameter_value(
                    call.service,
                    format!(
                        "1 validation error detected: Value '{v}' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 1000"
                    ),
                ));
            }
        },
    };
    let start = match call.params.get("Marker") {
        None => 0,
        Some(m) => m
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= items.len())
            .ok_or_else(|| AwsError::invalid_input("Invalid Marker."))?,
    };
    let end = start.saturating_add(max).min(items.len());
    let next = (end < items.len()).then(|| end.to_string());
    Ok((
        items.into_iter().skip(start).take(end - start).collect(),
        next,
    ))
}

fn truncation(next: Option<String>) -> Vec<Node> {
    match next {
        Some(marker) => vec![
            Node::leaf("IsTruncated", "true"),
            Node::leaf("Marker", marker),
        ],
        None => vec![Node::leaf("IsTruncated", "false")],
    }
}

// ---- lookups ----

fn account<'w>(world: &'w World, call: &Call<'_>) -> Option<&'w AccountSpec> {
    world.accounts.iter().find(|a| a.id == call.caller.account)
}

fn account_mut<'w>(world: &'w mut World, call: &Call<'_>) -> Result<&'w mut AccountSpec, AwsError> {
    world
        .accounts
        .iter_mut()
        .find(|a| a.id == call.caller.account)
        .ok_or_else(|| AwsError::no_such_entity("The caller's account is not in this world."))
}

fn no_such_user(name: &str) -> AwsError {
    AwsError::no_such_entity(format!("The user with name {name} cannot be found."))
}

fn user_mut<'w>(account: &'w mut AccountSpec, name: &str) -> Result<&'w mut UserSpec, AwsError> {
    account
        .users
        .iter_mut()
        .find(|u| u.name == name)
        .ok_or_else(|| no_such_user(name))
}

/// The user the call is about: `UserName`, or the calling user when absent.
fn target_user<'a>(call: &Call<'a>) -> Result<String, AwsError> {
    match call.params.get("UserName") {
        Some(name) => Ok(valid_name(call, "UserName", name, 64)?.to_owned()),
        None => match &call.caller.kind {
            IdentityKind::User { name } => Ok(name.clone()),
            IdentityKind::Root => Err(AwsError::invalid_parameter_value(
                call.service,
                "Must specify userName when calling with non-User credentials",
            )),
        },
    }
}

fn partition(call: &Call<'_>) -> crate::partition::Partition {
    call.caller.partition
}

fn user_arn(call: &Call<'_>, path: &str, name: &str) -> String {
    format!(
        "arn:{}:iam::{}:user{path}{name}",
        partition(call),
        call.caller.account
    )
}

fn policy_arn(call: &Call<'_>, path: &str, name: &str) -> String {
    format!(
        "arn:{}:iam::{}:policy{path}{name}",
        partition(call),
        call.caller.account
    )
}

// ---- resources for authorization ----

fn user_resource(call: &Call<'_>) -> String {
    let name = match call.params.get("UserName") {
        Some(n) => n.to_owned(),
        None => match &call.caller.kind {
            IdentityKind::User { name } => name.clone(),
            IdentityKind::Root => {
                return format!("arn:{}:iam::{}:root", partition(call), call.caller.account);
            }
        },
    };
    let world = call.iam.world();
    let path = account(&world, call)
        .and_then(|a| a.users.iter().find(|u| u.name == name))
        .map_or_else(
            || call.params.get("Path").unwrap_or("/").to_owned(),
            |u| u.path.clone(),
        );
    user_arn(call, &path, &name)
}

fn users_resource(call: &Call<'_>) -> String {
    format!("arn:{}:iam::{}:user/", partition(call), call.caller.account)
}

fn policy_resource(call: &Call<'_>) -> String {
    match call.params.get("PolicyArn") {
        Some(arn) => arn.to_owned(),
        None => policy_arn(
            call,
            call.params.get("Path").unwrap_or("/"),
            call.params.get("PolicyName").unwrap_or_default(),
        ),
    }
}

// ---- users ----

fn user_node(call: &Call<'_>, user: &UserSpec) -> Node {
    Node::Branch(
        "User",
        vec![
            Node::leaf("Path", user.path.clone()),
            Node::leaf("UserName", user.name.clone()),
            Node::leaf(
                "UserId",
                unique_id("AIDA", &call.caller.account, &user.name),
            ),
            Node::leaf("Arn", user_arn(call, &user.path, &user.name)),
            Node::leaf("CreateDate", user.created.clone().unwrap_or_default()),
        ],
    )
}

fn now_iso(call: &Call<'_>) -> String {
    time::OffsetDateTime::from(call.now)
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn create_user(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = valid_name(call, "UserName", required(call, "UserName")?, 64)?.to_owned();
    let path = valid_path(call, call.params.get("Path").unwrap_or("/"))?.to_owned();
    let user = UserSpec {
        name: name.clone(),
        path,
        managed_policies: Vec::new(),
        inline_policies: Default::default(),
        access_keys: Vec::new(),
        created: Some(now_iso(call)),
    };
    let created = call.iam.write(|world| {
        let account = account_mut(world, call)?;
        // IAM user names are unique regardless of case.
        if account
            .users
            .iter()
            .any(|u| u.name.eq_ignore_ascii_case(&name))
        {
            return Err(AwsError::entity_already_exists(format!(
                "User with name {name} already exists."
            )));
        }
        account.users.push(user.clone());
        Ok(user)
    })?;
    Ok(vec![user_node(call, &created)])
}

fn get_user(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = target_user(call)?;
    let world = call.iam.world();
    let user = account(&world, call)
        .and_then(|a| a.users.iter().find(|u| u.name == name))
        .ok_or_else(|| no_such_user(&name))?;
    Ok(vec![user_node(call, user)])
}

fn list_users(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let prefix = call.params.get("PathPrefix").unwrap_or("/");
    let world = call.iam.world();
    let mut users: Vec<&UserSpec> = account(&world, call)
        .map(|a| {
            a.users
                .iter()
                .filter(|u| u.path.starts_with(prefix))
                .collect()
        })
        .unwrap_or_default();
    users.sort_by(|a, b| a.name.cmp(&b.name));
    let (users, next) = page(call, users)?;
    let items = users
        .into_iter()
        .map(|u| match user_node(call, u) {
            Node::Branch(_, children) => children,
            other => vec![other],
        })
        .collect();
    let mut out = vec![Node::List("Users", items)];
    out.extend(truncation(next));
    Ok(out)
}

fn delete_user(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = valid_name(call, "UserName", required(call, "UserName")?, 64)?.to_owned();
    call.iam.write(|world| {
        let account = account_mut(world, call)?;
        let user = user_mut(account, &name)?;
        let conflict = if !user.access_keys.is_empty() {
            Some("Cannot delete entity, must delete access keys first.")
        } else if !user.inline_policies.is_empty() {
            Some("Cannot delete entity, must delete policies first.")
        } else if !user.managed_policies.is_empty() {
            Some("Cannot delete entity, must detach all policies first.")
        } else {
            None
        };
        if let Some(message) = conflict {
            return Err(AwsError::delete_conflict(message));
        }
        account.users.retain(|u| u.name != name);
        Ok(())
    })?;
    Ok(Vec::new())
}

// ---- access keys ----

fn random_string(alphabet: &[u8], len: usize) -> String {
    let mut bytes = vec![0u8; len];
    rand::fill(&mut bytes[..]);
    bytes
        .iter()
        .map(|b| alphabet[usize::from(*b) % alphabet.len()] as char)
        .collect()
}

fn create_access_key(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = target_user(call)?;
    let key = AccessKeySpec {
        id: format!(
            "AKIA{}",
            random_string(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
        ),
        secret: random_string(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
            40,
        ),
        status: KeyStatus::Active,
        created: Some(now_iso(call)),
    };
    call.iam.write(|world| {
        let user = user_mut(account_mut(world, call)?, &name)?;
        // Inactive keys count too.
        if user.access_keys.len() >= ACCESS_KEYS_PER_USER {
            return Err(AwsError::limit_exceeded(format!(
                "Cannot exceed quota for AccessKeysPerUser: {ACCESS_KEYS_PER_USER}"
            )));
        }
        user.access_keys.push(key.clone());
        Ok(())
    })?;
    Ok(vec![Node::Branch(
        "AccessKey",
        vec![
            Node::leaf("UserName", name),
            Node::leaf("AccessKeyId", key.id.clone()),
            Node::leaf("Status", "Active"),
            Node::leaf("SecretAccessKey", key.secret.clone()),
            Node::leaf("CreateDate", key.created.clone().unwrap_or_default()),
        ],
    )])
}

fn status_text(status: KeyStatus) -> &'static str {
    match status {
        KeyStatus::Active => "Active",
        KeyStatus::Inactive => "Inactive",
    }
}

fn list_access_keys(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = target_user(call)?;
    let world = call.iam.world();
    let user = account(&world, call)
        .and_then(|a| a.users.iter().find(|u| u.name == name))
        .ok_or_else(|| no_such_user(&name))?;
    let (keys, next) = page(call, user.access_keys.iter().collect())?;
    let items = keys
        .into_iter()
        .map(|k| {
            vec![
                Node::leaf("UserName", name.clone()),
                Node::leaf("AccessKeyId", k.id.clone()),
                Node::leaf("Status", status_text(k.status)),
                Node::leaf("CreateDate", k.created.clone().unwrap_or_default()),
            ]
        })
        .collect();
    let mut out = vec![Node::List("AccessKeyMetadata", items)];
    out.extend(truncation(next));
    Ok(out)
}

fn key_mut<'w>(user: &'w mut UserSpec, id: &str) -> Result<&'w mut AccessKeySpec, AwsError> {
    user.access_keys
        .iter_mut()
        .find(|k| k.id == id)
        .ok_or_else(|| {
            AwsError::no_such_entity(format!("The Access Key with id {id} cannot be found."))
        })
}

fn update_access_key(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = target_user(call)?;
    let id = required(call, "AccessKeyId")?.to_owned();
    let status = match required(call, "Status")? {
        "Active" => KeyStatus::Active,
        "Inactive" => KeyStatus::Inactive,
        other => {
            return Err(AwsError::invalid_parameter_value(
                call.service,
                format!(
                    "1 validation error detected: Value '{other}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive, Expired]"
                ),
            ));
        }
    };
    call.iam.write(|world| {
        let user = user_mut(account_mut(world, call)?, &name)?;
        key_mut(user, &id)?.status = status;
        Ok(())
    })?;
    Ok(Vec::new())
}

fn delete_access_key(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = target_user(call)?;
    let id = required(call, "AccessKeyId")?.to_owned();
    call.iam.write(|world| {
        let user = user_mut(account_mut(world, call)?, &name)?;
        key_mut(user, &id)?;
        user.access_keys.retain(|k| k.id != id);
        Ok(())
    })?;
    Ok(Vec::new())
}

// ---- managed policies ----

/// Parses a document as IAM does on write, with AWS's MalformedPolicyDocument texts and
/// size quota (white space does not count).
fn checked_document(
    document: &str,
    max_bytes: usize,
    over: impl FnOnce() -> AwsError,
) -> Result<(), AwsError> {
    parse_identity_policy(document)
        .map_err(|e| AwsError::malformed_policy_document(e.aws_message()))?;
    if document.chars().filter(|c| !c.is_whitespace()).count() > max_bytes {
        return Err(over());
    }
    Ok(())
}

/// What GetPolicy and CreatePolicy say of a managed policy.
struct PolicyView {
    name: String,
    path: String,
    arn: String,
    id: String,
    created: String,
    attachments: usize,
}

impl PolicyView {
    fn customer(call: &Call<'_>, p: &ManagedPolicySpec, attachments: usize) -> Self {
        Self {
            name: p.name.clone(),
            path: p.path.clone(),
            arn: policy_arn(call, &p.path, &p.name),
            id: unique_id("ANPA", &call.caller.account, &p.name),
            created: p.created.clone().unwrap_or_default(),
            attachments,
        }
    }

    fn node(self) -> Node {
        Node::Branch(
            "Policy",
            vec![
                Node::leaf("PolicyName", self.name),
                Node::leaf("DefaultVersionId", "v1"),
                Node::leaf("PolicyId", self.id),
                Node::leaf("Path", self.path),
                Node::leaf("Arn", self.arn),
                Node::leaf("AttachmentCount", self.attachments.to_string()),
                Node::leaf("PermissionsBoundaryUsageCount", "0"),
                Node::leaf("IsAttachable", "true"),
                Node::leaf("CreateDate", self.created.clone()),
                Node::leaf("UpdateDate", self.created),
            ],
        )
    }
}

fn attachments(account: &AccountSpec, arn: &str, name: &str) -> usize {
    account
        .users
        .iter()
        .filter(|u| u.managed_policies.iter().any(|r| r == arn || r == name))
        .count()
}

fn create_policy(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = valid_name(call, "PolicyName", required(call, "PolicyName")?, 128)?.to_owned();
    let path = valid_path(call, call.params.get("Path").unwrap_or("/"))?.to_owned();
    let document = required(call, "PolicyDocument")?;
    checked_document(document, MANAGED_POLICY_BYTES, || {
        AwsError::limit_exceeded(format!(
            "Cannot exceed quota for PolicySize: {MANAGED_POLICY_BYTES}"
        ))
    })?;
    let spec = ManagedPolicySpec {
        name: name.clone(),
        path,
        document: Value::String(document.to_owned()),
        created: Some(now_iso(call)),
    };
    call.iam.write(|world| {
        let account = account_mut(world, call)?;
        if account.policies.iter().any(|p| p.name == name) {
            return Err(AwsError::entity_already_exists(format!(
                "A policy called {name} already exists. Duplicate names are not allowed."
            )));
        }
        account.policies.push(spec.clone());
        Ok(())
    })?;
    Ok(vec![PolicyView::customer(call, &spec, 0).node()])
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
        .find(|p| policy_arn(call, &p.path, &p.name) == arn)
}

fn get_policy(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let arn = required(call, "PolicyArn")?;
    let world = call.iam.world();
    let not_found = || AwsError::no_such_entity(format!("Policy {arn} was not found."));
    let account = account(&world, call).ok_or_else(not_found)?;
    if let Some(p) = find_policy(account, call, arn) {
        return Ok(vec![
            PolicyView::customer(call, p, attachments(account, arn, &p.name)).node(),
        ]);
    }
    let aws = managed::find(arn, partition(call)).ok_or_else(not_found)?;
    let view = PolicyView {
        name: aws.policy_name.clone(),
        path: aws.path.clone(),
        arn: aws.arn(partition(call)),
        id: unique_id("ANPA", "aws", &aws.policy_name),
        created: aws.create_date.clone(),
        attachments: attachments(account, arn, &aws.policy_name),
    };
    Ok(vec![view.node()])
}

fn delete_policy(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let arn = required(call, "PolicyArn")?.to_owned();
    call.iam.write(|world| {
        let account = account_mut(world, call)?;
        let name = find_policy(account, call, &arn)
            .map(|p| p.name.clone())
            .ok_or_else(|| AwsError::no_such_entity(format!("Policy {arn} was not found.")))?;
        if attachments(account, &arn, &name) > 0 {
            return Err(AwsError::delete_conflict(
                "Cannot delete a policy attached to entities.",
            ));
        }
        account.policies.retain(|p| p.name != name);
        Ok(())
    })?;
    Ok(Vec::new())
}

fn attach_user_policy(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = valid_name(call, "UserName", required(call, "UserName")?, 64)?.to_owned();
    let arn = required(call, "PolicyArn")?.to_owned();
    call.iam.write(|world| {
        let account = account_mut(world, call)?;
        let exists = find_policy(account, call, &arn).is_some()
            || managed::find(&arn, partition(call)).is_some();
        if !arn.starts_with("arn:") || !exists {
            return Err(AwsError::no_such_entity(format!(
                "Policy {arn} does not exist or is not attachable."
            )));
        }
        let user = user_mut(account, &name)?;
        if !user.managed_policies.contains(&arn) {
            if user.managed_policies.len() >= MANAGED_POLICIES_PER_USER {
                return Err(AwsError::limit_exceeded(format!(
                    "Cannot exceed quota for PoliciesPerUser: {MANAGED_POLICIES_PER_USER}"
                )));
            }
            user.managed_policies.push(arn.clone());
        }
        Ok(())
    })?;
    Ok(Vec::new())
}

fn detach_user_policy(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = valid_name(call, "UserName", required(call, "UserName")?, 64)?.to_owned();
    let arn = required(call, "PolicyArn")?.to_owned();
    call.iam.write(|world| {
        let partition = partition(call);
        let user = user_mut(account_mut(world, call)?, &name)?;
        let before = user.managed_policies.len();
        // A world may attach by name; detaching names the ARN.
        user.managed_policies.retain(|r| {
            r != &arn && managed::find(r, partition).is_none_or(|m| m.arn(partition) != arn)
        });
        if user.managed_policies.len() == before {
            return Err(AwsError::no_such_entity(format!(
                "Policy {arn} was not found."
            )));
        }
        Ok(())
    })?;
    Ok(Vec::new())
}

fn list_attached_user_policies(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = valid_name(call, "UserName", required(call, "UserName")?, 64)?.to_owned();
    let world = call.iam.world();
    let account = account(&world, call).ok_or_else(|| no_such_user(&name))?;
    let user = account
        .users
        .iter()
        .find(|u| u.name == name)
        .ok_or_else(|| no_such_user(&name))?;
    let attached: Vec<(String, String)> = user
        .managed_policies
        .iter()
        .map(|r| match managed::find(r, partition(call)) {
            Some(m) => (m.policy_name.clone(), m.arn(partition(call))),
            None => {
                let p = account
                    .policies
                    .iter()
                    .find(|p| &p.name == r || policy_arn(call, &p.path, &p.name) == *r);
                match p {
                    Some(p) => (p.name.clone(), policy_arn(call, &p.path, &p.name)),
                    None => (r.clone(), r.clone()),
                }
            }
        })
        .collect();
    let (attached, next) = page(call, attached)?;
    let items = attached
        .into_iter()
        .map(|(n, a)| vec![Node::leaf("PolicyName", n), Node::leaf("PolicyArn", a)])
        .collect();
    let mut out = vec![Node::List("AttachedPolicies", items)];
    out.extend(truncation(next));
    Ok(out)
}

// ---- inline user policies ----

fn put_user_policy(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = valid_name(call, "UserName", required(call, "UserName")?, 64)?.to_owned();
    let policy = valid_name(call, "PolicyName", required(call, "PolicyName")?, 128)?.to_owned();
    let document = required(call, "PolicyDocument")?.to_owned();
    parse_identity_policy(&document)
        .map_err(|e| AwsError::malformed_policy_document(e.aws_message()))?;
    call.iam.write(|world| {
        let user = user_mut(account_mut(world, call)?, &name)?;
        let mut inline = user.inline_policies.clone();
        inline.insert(policy.clone(), Value::String(document.clone()));
        // The quota is the total of the user's inline policies, white space not counted.
        let size: usize = inline
            .values()
            .filter_map(Value::as_str)
            .map(|d| d.chars().filter(|c| !c.is_whitespace()).count())
            .sum();
        if size > USER_INLINE_POLICY_BYTES {
            return Err(AwsError::limit_exceeded(format!(
                "Maximum policy size of {USER_INLINE_POLICY_BYTES} bytes exceeded for user {name}"
            )));
        }
        user.inline_policies = inline;
        Ok(())
    })?;
    Ok(Vec::new())
}

fn no_such_user_policy(name: &str) -> AwsError {
    AwsError::no_such_entity(format!("The user policy with name {name} cannot be found."))
}

fn get_user_policy(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = valid_name(call, "UserName", required(call, "UserName")?, 64)?.to_owned();
    let policy = required(call, "PolicyName")?.to_owned();
    let world = call.iam.world();
    let user = account(&world, call)
        .and_then(|a| a.users.iter().find(|u| u.name == name))
        .ok_or_else(|| no_such_user(&name))?;
    let document = user
        .inline_policies
        .get(&policy)
        .ok_or_else(|| no_such_user_policy(&policy))?;
    let text = match document {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Ok(vec![
        Node::leaf("UserName", name),
        Node::leaf("PolicyName", policy),
        Node::leaf("PolicyDocument", url_encode_document(&text)),
    ])
}

fn delete_user_policy(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = valid_name(call, "UserName", required(call, "UserName")?, 64)?.to_owned();
    let policy = required(call, "PolicyName")?.to_owned();
    call.iam.write(|world| {
        let user = user_mut(account_mut(world, call)?, &name)?;
        user.inline_policies
            .remove(&policy)
            .ok_or_else(|| no_such_user_policy(&policy))?;
        Ok(())
    })?;
    Ok(Vec::new())
}

fn list_user_policies(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let name = valid_name(call, "UserName", required(call, "UserName")?, 64)?.to_owned();
    let world = call.iam.world();
    let user = account(&world, call)
        .and_then(|a| a.users.iter().find(|u| u.name == name))
        .ok_or_else(|| no_such_user(&name))?;
    let (names, next) = page(call, user.inline_policies.keys().cloned().collect())?;
    let mut out = vec![Node::TextList("PolicyNames", names)];
    out.extend(truncation(next));
    Ok(out)
}
