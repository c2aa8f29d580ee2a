//! STS actions.

use http::StatusCode;

use crate::api::{ActionSpec, Authorization, Call, any_resource};
use crate::error::AwsError;
use crate::log::{Decider, Missing};
use std::collections::BTreeMap;

use crate::arn;
use crate::authorization::denial;
use crate::iam::store::Scps;
use crate::iam::store::{Identity, IdentityKind};
use crate::policy::context::Context;
use crate::policy::eval::{Layer, Request, evaluate};
use crate::policy::parse::parse_identity_policy;
use crate::sts::session::TRANSITIVE_TAG_KEYS;
use crate::sts::session::{Minted, SessionClaims};
use crate::sts::trust::{self, TrustVerdict};
use crate::sts::{authorization_message, oidc};
use crate::wire::xml::Node;

/// An STS action row: the IAM action is `sts:` and the action's name; `$kind` names the
/// [`Authorization`] variant, with its resource function for `Policy`.
macro_rules! action {
    ($name:literal, $kind:ident $(($resource:expr))?, $handler:expr) => {
        ActionSpec {
            name: $name,
            iam_action: concat!("sts:", $name),
            authorization: Authorization::$kind $(($resource))?,
            handler: $handler,
        }
    };
}

/// The STS actions served.
pub(crate) const ACTIONS: &[ActionSpec] = &[
    // "No permissions are required to perform this operation" (STS API reference): even
    // an explicit deny does not stop it.
    action!("GetCallerIdentity", Always, get_caller_identity),
    // The trust policy and the caller's own policies decide together: `sts::trust`.
    action!("AssumeRole", Always, assume_role),
    // Unsigned, as on AWS: the web identity token is the credential.
    action!(
        "AssumeRoleWithWebIdentity",
        Unsigned,
        assume_role_with_web_identity
    ),
    action!("GetSessionToken", Always, get_session_token),
    action!(
        "GetFederationToken",
        Policy(federated_user_resource),
        get_federation_token
    ),
    action!(
        "GetAccessKeyInfo",
        Policy(any_resource),
        get_access_key_info
    ),
    action!(
        "DecodeAuthorizationMessage",
        Policy(any_resource),
        decode_authorization_message
    ),
];

fn get_caller_identity(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let who = call.caller;
    Ok(vec![
        Node::leaf("Arn", who.arn.to_string()),
        Node::leaf("UserId", who.user_id.clone()),
        Node::leaf("Account", who.account.clone()),
    ])
}

fn validation(call: &Call<'_>, message: String) -> AwsError {
    AwsError::invalid_parameter_value(
        call.service,
        format!("1 validation error detected: {message}"),
    )
}

fn required<'a>(call: &Call<'a>, param: &str, member: &str) -> Result<&'a str, AwsError> {
    call.params.get(param).ok_or_else(|| {
        validation(
            call,
            format!(
                "Value null at '{member}' failed to satisfy constraint: Member must not be null"
            ),
        )
    })
}

/// A string parameter within length bounds and of AWS's character class.
fn checked<'a>(
    call: &Call<'a>,
    value: &'a str,
    member: &str,
    min: usize,
    max: usize,
    extra: &[u8],
) -> Result<&'a str, AwsError> {
    let len = value.chars().count();
    if len < min {
        return Err(validation(
            call,
            format!(
                "Value '{value}' at '{member}' failed to satisfy constraint: Member must have length greater than or equal to {min}"
            ),
        ));
    }
    if len > max {
        return Err(validation(
            call,
            format!(
                "Value '{value}' at '{member}' failed to satisfy constraint: Member must have length less than or equal to {max}"
            ),
        ));
    }
    if !value.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(b, b'_' | b'+' | b'=' | b',' | b'.' | b'@' | b'-')
            || extra.contains(&b)
    }) {
        let class = if extra.is_empty() {
            "[\\w+=,.@-]*"
        } else {
            "[\\w+=,.@:\\/-]*"
        };
        return Err(validation(
            call,
            format!(
                "Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: {class}"
            ),
        ));
    }
    Ok(value)
}

/// `<Credentials>` of minted temporary credentials.
fn credentials_node(minted: Minted, expires: i64) -> Node {
    let expiration = crate::times::iso_unix(expires);
    Node::Branch(
        "Credentials",
        vec![
            Node::leaf("AccessKeyId", minted.access_key_id),
            Node::leaf("SecretAccessKey", minted.secret_access_key),
            Node::leaf("SessionToken", minted.session_token),
            Node::leaf("Expiration", expiration),
        ],
    )
}

/// `AssumeRoleWithWebIdentity`: an OIDC ID token (an EKS service account's, for IRSA)
/// for a role session. The token must come from an issuer with an IAM OIDC provider in the
/// role's account, be signed by it, name one of the provider's audiences and be unexpired on
/// the server clock; then the role's trust policy must trust the provider, with its
/// conditions on the token's claims.
fn assume_role_with_web_identity(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let (role_arn, session) = role_and_session(call)?;
    let token = required(call, "WebIdentityToken", "webIdentityToken")?;
    if token.len() < 4 || token.len() > 20_000 {
        return Err(validation(call, "Value at 'webIdentityToken' failed to satisfy constraint: Member must have length less than or equal to 20000".into()));
    }
    let duration = duration_param(call, 3600, 43_200)?;
    let invalid_token =
        |message: String| AwsError::new(StatusCode::BAD_REQUEST, "InvalidIdentityToken", message);
    let not_authorized = || {
        AwsError::new(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Not authorized to perform sts:AssumeRoleWithWebIdentity",
        )
    };
    let role = call.store.role(role_arn).ok_or_else(not_authorized)?;
    let claims = oidc::unverified_claims(token)
        .ok_or_else(|| invalid_token("The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)".into()))?;
    let issuer = claims
        .get("iss")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned();
    let host_path = oidc::host_path(&issuer).to_owned();
    let provider_arn = arn::oidc_provider(role.partition, &role.account, &host_path);
    let audiences = call.store.oidc_provider(&provider_arn).ok_or_else(|| {
        invalid_token(format!(
            "No OpenIDConnect provider found in your account for {issuer}"
        ))
    })?;
    match call.issuers.signature_valid(&issuer, token) {
        None => {
            return Err(AwsError::new(
                StatusCode::BAD_REQUEST,
                "IDPCommunicationError",
                "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements",
            ));
        }
        Some(false) => {
            return Err(invalid_token(
                "Failed to verify the signature of the web identity token".into(),
            ));
        }
        Some(true) => {}
    }
    let token_audiences: Vec<String> = match claims.get("aud") {
        Some(serde_json::Value::String(a)) => vec![a.clone()],
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect(),
        _ => return Err(invalid_token("Missing a required claim: aud".into())),
    };
    let Some(audience) = token_audiences
        .iter()
        .find(|a| audiences.contains(a))
        .cloned()
    else {
        return Err(invalid_token("Incorrect token audience".into()));
    };
    let now = time::OffsetDateTime::from(call.now).unix_timestamp();
    let expires_at = claims
        .get("exp")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(0);
    if now >= expires_at {
        return Err(AwsError::new(
            StatusCode::BAD_REQUEST,
            "ExpiredTokenException",
            format!(
                "Token expired: current date/time {now} must be before the expiration date/time{expires_at}"
            ),
        ));
    }
    let subject = claims
        .get("sub")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned();
    let mut context = call.request_context();
    context.set("sts:RoleSessionName", session);
    context.set(&format!("{host_path}:sub"), subject.clone());
    context.set_values(&format!("{host_path}:aud"), token_audiences.clone());
    context.set(&format!("{host_path}:oaud"), audience.clone());
    if let Some(amr) = claims.get("amr").and_then(|v| v.as_array()) {
        context.set_values(
            &format!("{host_path}:amr"),
            amr.iter()
                .filter_map(|a| a.as_str().map(str::to_owned))
                .collect(),
        );
    }
    if !trust::trusts_web_identity(role, &provider_arn, &context) {
        return Err(not_authorized());
    }
    if duration > role.max_session_duration {
        return Err(AwsError::invalid_parameter_value(
            call.service,
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }
    let expires = now + i64::from(duration);
    let minted = call.sessions.mint(SessionClaims {
        policy: session_policy(call)?,
        ..SessionClaims::role_session(&role.arn, session, now, expires)
    });
    Ok(vec![
        credentials_node(minted, expires),
        Node::leaf("SubjectFromWebIdentityToken", subject),
        Node::Branch(
            "AssumedRoleUser",
            vec![
                Node::leaf("AssumedRoleId", role.session_id(session)),
                Node::leaf("Arn", role.session_arn(session)),
            ],
        ),
        Node::leaf("Provider", issuer),
        Node::leaf("Audience", audience),
    ])
}

/// `DurationSeconds` between 900 and `upper` (`default` when absent); a role's own limit is
/// checked later.
fn duration_param(call: &Call<'_>, default: u32, upper: u32) -> Result<u32, AwsError> {
    let Some(raw) = call.params.get("DurationSeconds") else {
        return Ok(default);
    };
    let bound = |relation: &str, limit: u32| {
        validation(
            call,
            format!(
                "Value '{raw}' at 'durationSeconds' failed to satisfy constraint: Member must have value {relation} {limit}"
            ),
        )
    };
    match raw.trim_start_matches('+').parse::<u32>() {
        Ok(n) if n < 900 => Err(bound("greater than or equal to", 900)),
        Ok(n) if n > upper => Err(bound("less than or equal to", upper)),
        Ok(n) => Ok(n),
        Err(_) => Err(AwsError::new(StatusCode::BAD_REQUEST, "MalformedInput", "")),
    }
}

/// `GetSessionToken`: temporary credentials for an IAM user (or root) acting as itself,
/// 900 s to 36 hours (root: at most an hour); not callable with session credentials.
fn get_session_token(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let caller = call.caller;
    if call.temporary_credentials {
        return Err(AwsError::new(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Cannot call GetSessionToken with session credentials",
        ));
    }
    let max = match caller.kind {
        IdentityKind::User { .. } => 129_600,
        IdentityKind::Root => 3600,
        IdentityKind::AssumedRole { .. }
        | IdentityKind::Anonymous
        | IdentityKind::FederatedUser { .. } => {
            return Err(AwsError::new(
                StatusCode::FORBIDDEN,
                "AccessDenied",
                "Cannot call GetSessionToken with session credentials",
            ));
        }
    };
    let duration = duration_param(call, 43_200, 129_600)?.min(max);
    let issued = time::OffsetDateTime::from(call.now).unix_timestamp();
    let expires = issued + i64::from(duration);
    let minted = call.sessions.mint(SessionClaims {
        user_session: true,
        ..SessionClaims::role_session(&caller.arn, "", issued, expires)
    });
    Ok(vec![credentials_node(minted, expires)])
}

fn federated_user_resource(call: &Call<'_>) -> String {
    arn::federated_user(
        call.caller.partition,
        &call.caller.account,
        call.params.get("Name").unwrap_or_default(),
    )
}

/// `GetFederationToken`: credentials for a federated user of an IAM user (or root), whose
/// permissions are the user's narrowed by the session policies passed (none: no
/// permissions). Not callable with session credentials.
fn get_federation_token(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let caller = call.caller;
    let refused = || {
        AwsError::new(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Cannot call GetFederationToken with session credentials",
        )
    };
    if call.temporary_credentials {
        return Err(refused());
    }
    let max = match caller.kind {
        IdentityKind::User { .. } => 129_600,
        IdentityKind::Root => 3600,
        _ => return Err(refused()),
    };
    let name = checked(call, required(call, "Name", "name")?, "name", 2, 32, b"")?.to_owned();
    let duration = duration_param(call, 43_200, 129_600)?.min(max);
    let policy = session_policy(call)?;
    let issued = time::OffsetDateTime::from(call.now).unix_timestamp();
    let expires = issued + i64::from(duration);
    let minted = call.sessions.mint(SessionClaims {
        policy: policy.clone(),
        policy_arns: policy_arns(call),
        user_session: true,
        federated: Some(name.clone()),
        ..SessionClaims::role_session(&caller.arn, "", issued, expires)
    });
    let partition = caller.partition;
    let mut out = vec![
        credentials_node(minted, expires),
        Node::Branch(
            "FederatedUser",
            vec![
                Node::leaf("FederatedUserId", format!("{}:{name}", caller.account)),
                Node::leaf(
                    "Arn",
                    arn::federated_user(partition, &caller.account, &name),
                ),
            ],
        ),
    ];
    if let Some(text) = &policy {
        out.push(Node::leaf(
            "PackedPolicySize",
            packed_size(text).to_string(),
        ));
    }
    Ok(out)
}

/// The session `Policy`, checked: valid, and small enough to pack.
fn session_policy(call: &Call<'_>) -> Result<Option<String>, AwsError> {
    let Some(text) = call.params.get("Policy") else {
        return Ok(None);
    };
    let parsed = parse_identity_policy(text)
        .map_err(|e| AwsError::malformed_policy_document(e.aws_message()))?;
    let percent = packed_size(text);
    if percent > 100 {
        return Err(AwsError::new(
            StatusCode::BAD_REQUEST,
            "PackedPolicyTooLarge",
            format!(
                "Packed policy consumes {percent}% of allotted space, please use smaller policy."
            ),
        ));
    }
    // Parsed once, here: requests made with the session's credentials find it parsed.
    call.sessions
        .keep_policy(text, &std::sync::Arc::new(parsed));
    Ok(Some(text.to_owned()))
}

/// How much of the packed space a session policy takes, in percent (white space free).
fn packed_size(text: &str) -> usize {
    text.chars().filter(|c| !c.is_whitespace()).count() * 100 / PACKED_POLICY_BYTES
}

/// The session tags of an AssumeRole call (`Tags.member.N.Key`/`.Value`,
/// `TransitiveTagKeys.member.N`), with the transitive tags a chained caller carries.
fn session_tags(
    call: &Call<'_>,
    caller: &Identity,
) -> Result<(BTreeMap<String, String>, Vec<String>), AwsError> {
    let mut tags = BTreeMap::new();
    let mut transitive: Vec<String> = Vec::new();
    if let Some(keys) = caller.context.get(TRANSITIVE_TAG_KEYS) {
        for key in keys {
            if let Some(v) = caller
                .context
                .get(&format!("aws:PrincipalTag/{key}"))
                .and_then(|v| v.first())
            {
                tags.insert(key.clone(), v.clone());
                transitive.push(key.clone());
            }
        }
    }
    for (n, key) in call.params.indexed("Tags.member", ".Key") {
        let value = call
            .params
            .get(&format!("Tags.member.{n}.Value"))
            .unwrap_or_default();
        checked_tag(call, key, value, n)?;
        if transitive.iter().any(|t| t.eq_ignore_ascii_case(key)) {
            return Err(AwsError::invalid_parameter_value(
                call.service,
                format!(
                    "One or more of the specified transitive tag keys can't be set because it conflicts with a transitive tag key from the calling session: {key}"
                ),
            ));
        }
        tags.insert(key.to_owned(), value.to_owned());
    }
    if tags.len() > 50 {
        return Err(validation(call, "Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50".into()));
    }
    for key in call.params.list("TransitiveTagKeys.member") {
        if !tags.contains_key(key) {
            return Err(AwsError::invalid_parameter_value(
                call.service,
                "The specified transitive tag key must be included in the requested tags.",
            ));
        }
        transitive.push(key.to_owned());
    }
    Ok((tags, transitive))
}

/// The `RoleArn` and `RoleSessionName` every AssumeRole* action takes, validated.
fn role_and_session<'a>(call: &Call<'a>) -> Result<(&'a str, &'a str), AwsError> {
    let role_arn = required(call, "RoleArn", "roleArn")?;
    checked(call, role_arn, "roleArn", 20, 2048, b":/")?;
    let session = checked(
        call,
        required(call, "RoleSessionName", "roleSessionName")?,
        "roleSessionName",
        2,
        64,
        b"",
    )?;
    Ok((role_arn, session))
}

fn checked_tag(call: &Call<'_>, key: &str, value: &str, n: u32) -> Result<(), AwsError> {
    if key.is_empty() || key.chars().count() > 128 {
        return Err(validation(
            call,
            format!(
                "Value '{key}' at 'tags.{n}.member.key' failed to satisfy constraint: Member must have length less than or equal to 128"
            ),
        ));
    }
    if value.chars().count() > 256 {
        return Err(validation(
            call,
            format!(
                "Value '{value}' at 'tags.{n}.member.value' failed to satisfy constraint: Member must have length less than or equal to 256"
            ),
        ));
    }
    Ok(())
}

/// `PolicyArns.member.N.arn`.
fn policy_arns(call: &Call<'_>) -> Vec<String> {
    call.params
        .indexed("PolicyArns.member", ".arn")
        .into_iter()
        .map(|(_, v)| v.to_owned())
        .collect()
}

/// `GetAccessKeyInfo`: the account an access key belongs to.
fn get_access_key_info(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let id = required(call, "AccessKeyId", "accessKeyId")?;
    checked(call, id, "accessKeyId", 16, 128, b"")?;
    let key = call.store.access_key(id).ok_or_else(|| {
        AwsError::new(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValue",
            format!("The access key id {id} is not valid"),
        )
    })?;
    Ok(vec![Node::leaf("Account", key.identity.account.clone())])
}

/// The session policy limit STS reports as a share of the packed space.
const PACKED_POLICY_BYTES: usize = 2048;

fn assume_role(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let (role_arn, session) = role_and_session(call)?;
    let duration = duration_param(call, 3600, 43_200)?;
    let external_id = match call.params.get("ExternalId") {
        Some(e) => Some(checked(call, e, "externalId", 2, 1224, b":/")?),
        None => None,
    };
    let source_identity = match call.params.get("SourceIdentity") {
        Some(s) => Some(checked(call, s, "sourceIdentity", 2, 64, b"")?.to_owned()),
        None => None,
    };
    let policy = session_policy(call)?;
    let policy_arns = policy_arns(call);

    let caller = call.caller;
    let chained = matches!(caller.kind, IdentityKind::AssumedRole { .. });
    let denied = || {
        call.audit.record(
            role_arn,
            true,
            Some(Decider::Missing(Missing::Role(role_arn.into()))),
        );
        // AWS does not say which check failed: missing role, trust or identity policy.
        AwsError::new(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            format!(
                "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
                caller.arn
            ),
        )
    };
    let role = call.store.role(role_arn).ok_or_else(denied)?;

    // Session tags: the request's, plus the transitive ones of a session assuming onwards.
    let (tags, transitive) = session_tags(call, caller)?;
    // Only conditions read the context, and most trust and identity policies have none.
    let mut context = Context::default();
    if role.trust.uses_context() || caller.policies_use_context {
        context = call.request_context();
        context.set("sts:RoleSessionName", session);
        context.set("aws:ResourceAccount", role.account.clone());
        if let Some(e) = external_id {
            context.set("sts:ExternalId", e);
        }
        if let Some(s) = &source_identity {
            context.set("sts:SourceIdentity", s.clone());
        }
        if !tags.is_empty() {
            for (k, v) in &tags {
                context.set(&format!("aws:RequestTag/{k}"), v.clone());
            }
            context.set_values("aws:TagKeys", tags.keys().cloned().collect());
        }
    }
    // Passing tags needs sts:TagSession too, from the trust policy and, where needed, the
    // caller's own policies.
    let actions: &[&str] = if tags.is_empty() {
        &["sts:AssumeRole"]
    } else {
        &["sts:AssumeRole", "sts:TagSession"]
    };
    let mut decider = None;
    for &action in actions {
        let refused = |decider| {
            call.audit.record(role_arn, true, decider);
            AwsError::new(
                StatusCode::FORBIDDEN,
                "AccessDenied",
                format!(
                    "User: {} is not authorized to perform: {action} on resource: {role_arn}",
                    caller.arn
                ),
            )
        };
        let identity_policy_needed = match trust::decide(role, caller, action, &context) {
            TrustVerdict::Refused => {
                return Err(refused(Some(Decider::Missing(Missing::Trust(
                    role_arn.into(),
                )))));
            }
            TrustVerdict::Trusted {
                identity_policy_needed,
            } => identity_policy_needed,
        };
        // The caller's SCPs always apply; its own policies only where the trust policy
        // does not name it itself.
        let identity = (identity_policy_needed && caller.kind != IdentityKind::Root)
            .then_some(caller.policies.as_slice());
        let organization = caller.scps.as_deref().map(Scps::levels);
        if identity.is_some() || organization.is_some() {
            let req = Request {
                action,
                resource: &role.arn,
                context: &context,
            };
            let (boundary, session) = match identity {
                Some(_) => (
                    caller.boundary.as_deref(),
                    caller.session_policies.as_deref(),
                ),
                None => (None, None),
            };
            let evaluation = evaluate(organization, identity, boundary, session, &req);
            let decided = Decider::of(&evaluation, caller);
            if let Some((why, _)) = denial(&evaluation, caller) {
                if evaluation.denied_by(Layer::Organization) {
                    // AWS names a service control policy's denial.
                    call.audit.record(role_arn, true, decided);
                    return Err(AwsError::access_denied(
                        call.service,
                        &caller.arn,
                        action,
                        role_arn,
                        why,
                        "",
                    ));
                }
                return Err(refused(decided));
            }
            // The log names what allowed sts:AssumeRole, not sts:TagSession.
            decider = decider.or(decided);
        }
    }
    call.audit.record(role_arn, false, decider);

    // Duration limits, checked once the role is known to be assumable.
    if chained && duration > 3600 {
        return Err(AwsError::invalid_parameter_value(
            call.service,
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
        ));
    }
    if duration > role.max_session_duration {
        return Err(AwsError::invalid_parameter_value(
            call.service,
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }

    let issued = time::OffsetDateTime::from(call.now).unix_timestamp();
    let expires = issued + i64::from(duration);
    let minted = call.sessions.mint(SessionClaims {
        chained,
        policy: policy.clone(),
        policy_arns: policy_arns.clone(),
        // A source identity, once set, stays with chained sessions.
        source_identity: source_identity.clone().or_else(|| {
            caller
                .context
                .get("aws:SourceIdentity")
                .and_then(|v| v.first().cloned())
        }),
        tags,
        transitive_tags: transitive,
        ..SessionClaims::role_session(&role.arn, session, issued, expires)
    });
    let mut out = vec![
        credentials_node(minted, expires),
        Node::Branch(
            "AssumedRoleUser",
            vec![
                Node::leaf("AssumedRoleId", role.session_id(session)),
                Node::leaf("Arn", role.session_arn(session)),
            ],
        ),
    ];
    if let Some(text) = &policy {
        out.push(Node::leaf(
            "PackedPolicySize",
            packed_size(text).to_string(),
        ));
    }
    if let Some(s) = source_identity {
        out.push(Node::leaf("SourceIdentity", s));
    }
    Ok(out)
}

/// `DecodeAuthorizationMessage`: the JSON inside an EC2 `UnauthorizedOperation` message.
fn decode_authorization_message(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let encoded = call.params.get("EncodedMessage").ok_or_else(|| {
        AwsError::invalid_parameter_value(
            call.service,
            "1 validation error detected: Value null at 'encodedMessage' failed to satisfy constraint: Member must not be null",
        )
    })?;
    let decoded = authorization_message::decode(encoded).ok_or_else(|| {
        AwsError::new(
            StatusCode::BAD_REQUEST,
            "InvalidAuthorizationMessageException",
            "The message is invalid or has expired.",
        )
    })?;
    Ok(vec![Node::leaf("DecodedMessage", decoded)])
}
