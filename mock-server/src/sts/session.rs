//! Temporary credentials: minted by AssumeRole, checked on every request signed with them.
//!
//! A session token carries its own state, as AWS's do: the role, session name, expiry and
//! session policies, authenticated with a key only this server knows. The secret access key
//! is derived from the access key id with the same key. So a session costs the server no
//! memory, however many are issued, and expired ones need no clean-up.
//!
//! An inline session policy is parsed once, when its session is issued, and kept by its text
//! in a bounded cache that requests read without a lock: requests made with the session's
//! credentials find it parsed (and parse it again only if the cache has dropped it), while
//! the memory it takes stays flat however many sessions are issued.

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::iam::store::{Identity, IdentityKind, IdentityPolicy, Role, Store};
use crate::partition::Partition;
use crate::policy::Policy;
use crate::policy::parse::parse_identity_policy;

type HmacSha256 = Hmac<Sha256>;

/// What a session token says. Its fields have one- or two-letter names in the token: the
/// token is opaque to clients, and shorter is less to hash and encode on every AssumeRole.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SessionClaims<'a> {
    /// The access key id (`ASIA…`) the token belongs to.
    #[serde(rename = "k")]
    pub(crate) key: Cow<'a, str>,
    /// The assumed role's ARN (borrowed from the request while a session is minted).
    #[serde(rename = "r")]
    pub(crate) role: Cow<'a, str>,
    /// The role session name.
    #[serde(rename = "s")]
    pub(crate) session: Cow<'a, str>,
    /// Issue time and expiry, Unix seconds.
    #[serde(rename = "i")]
    pub(crate) issued: i64,
    #[serde(rename = "e")]
    pub(crate) expires: i64,
    /// Whether the session came from another role session (role chaining).
    #[serde(rename = "c", default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) chained: bool,
    /// The inline session policy (`Policy`), as given.
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub(crate) policy: Option<String>,
    /// Managed session policies (`PolicyArns`).
    #[serde(rename = "pa", default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) policy_arns: Vec<String>,
    /// `SourceIdentity`, which stays with the session and its chained sessions.
    #[serde(rename = "si", default, skip_serializing_if = "Option::is_none")]
    pub(crate) source_identity: Option<String>,
    /// A GetSessionToken session: `role` is then the IAM user's (or root's) ARN, and the
    /// session acts as that principal.
    #[serde(rename = "u", default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) user_session: bool,
    /// A GetFederationToken session: the federated user's name (`role` is the IAM user's ARN).
    #[serde(rename = "f", default, skip_serializing_if = "Option::is_none")]
    pub(crate) federated: Option<String>,
    /// Session tags (`aws:PrincipalTag/*` in the session, over the role's own tags).
    #[serde(
        rename = "t",
        default,
        skip_serializing_if = "std::collections::BTreeMap::is_empty"
    )]
    pub(crate) tags: std::collections::BTreeMap<String, String>,
    /// The session tags that pass on to sessions this one assumes.
    #[serde(rename = "tt", default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) transitive_tags: Vec<String>,
}

impl<'a> SessionClaims<'a> {
    /// A plain role session: no session policies, tags or source identity.
    pub(crate) fn role_session(role: &'a str, session: &'a str, issued: i64, expires: i64) -> Self {
        Self {
            key: Cow::Borrowed(""),
            role: Cow::Borrowed(role),
            session: Cow::Borrowed(session),
            issued,
            expires,
            chained: false,
            policy: None,
            policy_arns: Vec::new(),
            source_identity: None,
            user_session: false,
            federated: None,
            tags: std::collections::BTreeMap::new(),
            transitive_tags: Vec::new(),
        }
    }
}

impl fmt::Debug for SessionClaims<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionClaims")
            .field("key", &self.key)
            .field("role", &self.role)
            .field("session", &self.session)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

/// New temporary credentials.
pub(crate) struct Minted {
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: String,
    pub(crate) session_token: String,
}

impl fmt::Debug for Minted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Minted")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &crate::redact::REDACTED)
            .field("session_token", &crate::redact::REDACTED)
            .finish()
    }
}

/// The server's session key, and the inline session policies of the sessions it issued,
/// parsed.
pub(crate) struct SessionKeys {
    /// HMAC-SHA256 keyed with the server's random key: cloned for each MAC, so the key's
    /// padding blocks are hashed once, not per token.
    keyed: HmacSha256,
    policies: ArcSwap<Parsed>,
}

/// How many parsed session policies a generation of the cache holds: two generations are
/// kept (a full one becomes the older, dropping the one before).
const SESSION_POLICIES_KEPT: usize = 1024;

/// Parsed session policies by text: the current generation and the one before it.
#[derive(Clone, Default)]
struct Parsed {
    current: imbl::HashMap<String, Arc<Policy>>,
    previous: imbl::HashMap<String, Arc<Policy>>,
}

impl fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKeys(<redacted>)")
    }
}

/// Looks like AWS's tokens at a glance (they start with this too).
const TOKEN_PREFIX: &str = "IQoJb3JpZ2luX2Vj";

impl SessionKeys {
    /// A fresh random key.
    pub(crate) fn new() -> Self {
        let mut key = [0u8; 32];
        rand::fill(&mut key[..]);
        Self {
            keyed: HmacSha256::new_from_slice(&key)
                .unwrap_or_else(|_| unreachable!("HMAC takes any key length")),
            policies: ArcSwap::default(),
        }
    }

    /// Keeps the parsed inline policy of a session being issued.
    pub(crate) fn keep_policy(&self, text: &str, policy: &Arc<Policy>) {
        self.policies.rcu(|parsed| {
            let mut parsed = Parsed::clone(parsed);
            if parsed.current.len() >= SESSION_POLICIES_KEPT {
                parsed.previous = std::mem::take(&mut parsed.current);
            }
            parsed.current.insert(text.to_owned(), Arc::clone(policy));
            parsed
        });
    }

    /// The parsed inline session policy with this text: the one kept when its session was
    /// issued, or (dropped from the cache since) parsed again and kept.
    pub(crate) fn session_policy(&self, text: &str) -> Option<Arc<Policy>> {
        let parsed = self.policies.load();
        if let Some(policy) = (parsed.current.get(text)).or_else(|| parsed.previous.get(text)) {
            return Some(Arc::clone(policy));
        }
        let policy = Arc::new(parse_identity_policy(text).ok()?);
        self.keep_policy(text, &policy);
        Some(policy)
    }

    fn mac(&self, parts: &[&[u8]]) -> HmacSha256 {
        let mut mac = self.keyed.clone();
        for part in parts {
            mac.update(part);
        }
        mac
    }

    /// The secret access key of a temporary access key id.
    pub(crate) fn secret_for(&self, access_key_id: &str) -> String {
        let digest = self
            .mac(&[b"secret/", access_key_id.as_bytes()])
            .finalize()
            .into_bytes();
        // 30 bytes are 40 base64 characters, the length of AWS's secret keys.
        STANDARD_NO_PAD.encode(&digest[..30])
    }

    /// Mints credentials for `claims` (whose `key` is replaced with a new `ASIA…` id).
    pub(crate) fn mint(&self, claims: SessionClaims<'_>) -> Minted {
        let mut random = [0u8; 16];
        rand::fill(&mut random[..]);
        self.mint_with(claims, &random)
    }

    /// Mints the same credentials for the same `claims` and `seed` every time: what a
    /// credential source that hands out one set per rotation period (IMDS, ECS) serves.
    pub(crate) fn mint_stable(&self, claims: SessionClaims<'_>, seed: &str) -> Minted {
        let digest = self
            .mac(&[b"stable/", seed.as_bytes()])
            .finalize()
            .into_bytes();
        self.mint_with(claims, &digest[..16])
    }

    fn mint_with(&self, mut claims: SessionClaims<'_>, id_bytes: &[u8]) -> Minted {
        const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let mut id = String::with_capacity(4 + id_bytes.len());
        id.push_str("ASIA");
        id.extend(
            id_bytes
                .iter()
                .map(|b| char::from(BASE32[usize::from(b % 32)])),
        );
        claims.key = Cow::Owned(id);
        let mut payload = Vec::with_capacity(256);
        // Claims are strings, numbers and maps of strings: always serialisable.
        let _ = serde_json::to_writer(&mut payload, &claims);
        let id = claims.key.into_owned();
        let tag = self.mac(&[b"token/", &payload]).finalize().into_bytes();
        let mut session_token =
            String::with_capacity(TOKEN_PREFIX.len() + payload.len() * 4 / 3 + 48);
        session_token.push_str(TOKEN_PREFIX);
        URL_SAFE_NO_PAD.encode_string(&payload, &mut session_token);
        session_token.push('.');
        URL_SAFE_NO_PAD.encode_string(tag, &mut session_token);
        Minted {
            secret_access_key: self.secret_for(&id),
            session_token,
            access_key_id: id,
        }
    }

    /// An opaque token vouching for `payload` in `domain` (IMDS session tokens): only this
    /// server can make one, and `unseal` gives the payload back.
    pub(crate) fn seal(&self, domain: &str, payload: &str) -> String {
        let tag = self
            .mac(&[b"seal/", domain.as_bytes(), b"/", payload.as_bytes()])
            .finalize()
            .into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// The payload of a token `seal` made for `domain`, or `None` for anything else.
    pub(crate) fn unseal(&self, domain: &str, token: &str) -> Option<String> {
        let (payload, tag) = token.split_once('.')?;
        let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        self.mac(&[b"seal/", domain.as_bytes(), b"/", payload.as_bytes()])
            .verify_slice(&tag)
            .ok()?;
        Some(payload)
    }

    /// The claims of a token this server minted, or `None` for anything else.
    pub(crate) fn open(&self, token: &str) -> Option<SessionClaims<'static>> {
        let (payload, tag) = token.strip_prefix(TOKEN_PREFIX)?.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        self.mac(&[b"token/", &payload]).verify_slice(&tag).ok()?;
        serde_json::from_slice(&payload).ok()
    }
}

// Who a session is, built from its claims on every request (so IAM changes to the role reach
// live sessions): the identity builders of `auth::keys`.

/// A GetFederationToken session: the user's permissions, narrowed by the session policies
/// (none passed: no permissions at all, as on AWS).
pub(crate) fn federated_identity(
    store: &Store,
    sessions: &SessionKeys,
    user: &Identity,
    name: &str,
    claims: &SessionClaims<'_>,
) -> Identity {
    let partition = user.partition;
    Identity::new(
        user.account.clone(),
        partition,
        crate::arn::federated_user(partition, &user.account, name),
        format!("{}:{name}", user.account),
        IdentityKind::FederatedUser {
            user_arn: user.arn.to_string(),
        },
        user.policies.clone(),
    )
    .with_boundary(user.boundary.clone())
    .with_session_policies(Some(session_policies(store, sessions, partition, claims)))
    .with_organization(user.organization.as_ref(), false)
}

fn session_policies(
    store: &Store,
    sessions: &SessionKeys,
    partition: Partition,
    claims: &SessionClaims<'_>,
) -> Vec<IdentityPolicy> {
    let mut policies = Vec::new();
    if let Some(policy) = claims
        .policy
        .as_deref()
        .and_then(|t| sessions.session_policy(t))
    {
        policies.push(IdentityPolicy::unnamed(
            "the session policy".to_owned(),
            policy,
        ));
    }
    policies.extend(
        claims
            .policy_arns
            .iter()
            .filter_map(|arn| store.managed_policy(arn, partition)),
    );
    policies
}

/// Where a session keeps the keys of its transitive tags (not an AWS condition key).
pub(crate) const TRANSITIVE_TAG_KEYS: &str = "trustbench:TransitiveTagKeys";

/// Who a role session is: the role's permissions, narrowed by its session policies, under
/// the assumed-role ARN. Built per request, so IAM changes to the role reach live sessions.
pub(crate) fn session_identity(
    store: &Store,
    sessions: &SessionKeys,
    role: &Role,
    claims: &SessionClaims<'_>,
) -> Identity {
    let partition = role.partition;
    let session_policies = session_policies(store, sessions, partition, claims);
    let has_session_policies = claims.policy.is_some() || !claims.policy_arns.is_empty();
    let mut identity = Identity::new(
        role.account.clone(),
        partition,
        role.session_arn(&claims.session),
        role.session_id(&claims.session),
        IdentityKind::AssumedRole {
            role_arn: role.arn.clone(),
            chained: claims.chained,
        },
        role.policies.clone(),
    )
    .with_boundary(role.boundary.clone())
    .with_tags(&role.tags)
    // Session tags win over the role's tags of the same key.
    .with_tags(&claims.tags)
    .with_session_policies(has_session_policies.then_some(session_policies))
    .with_organization(role.organization.as_ref(), role.service_linked);
    if !claims.transitive_tags.is_empty() {
        identity = identity.with_values(TRANSITIVE_TAG_KEYS, claims.transitive_tags.clone());
    }
    if let Some(source) = &claims.source_identity {
        identity = identity.with_key("aws:SourceIdentity", source.clone());
    }
    identity.with_key("aws:TokenIssueTime", crate::times::iso_unix(claims.issued))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> SessionClaims<'static> {
        SessionClaims::role_session(
            "arn:aws:iam::111111111111:role/deploy",
            "ci",
            1_800_000_000,
            1_800_003_600,
        )
    }

    #[test]
    fn tokens_open_only_unchanged_and_only_here() {
        let keys = SessionKeys::new();
        let minted = keys.mint(claims());
        assert!(minted.access_key_id.starts_with("ASIA") && minted.access_key_id.len() == 20);
        assert_eq!(minted.secret_access_key.len(), 40);
        let opened = keys
            .open(&minted.session_token)
            .unwrap_or_else(|| panic!("own token refused"));
        assert_eq!(opened.key, minted.access_key_id);
        assert_eq!(keys.secret_for(&opened.key), minted.secret_access_key);
        let mut tampered = minted.session_token.clone();
        tampered.insert(TOKEN_PREFIX.len() + 3, 'x');
        assert!(keys.open(&tampered).is_none());
        assert!(
            SessionKeys::new().open(&minted.session_token).is_none(),
            "another server's token"
        );
        assert!(!format!("{minted:?}").contains(&minted.secret_access_key));
    }

    #[test]
    fn every_claim_comes_back_from_the_token() {
        let keys = SessionKeys::new();
        let full = SessionClaims {
            chained: true,
            policy: Some(r#"{"Version":"2012-10-17","Statement":[]}"#.to_owned()),
            policy_arns: vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".to_owned()],
            source_identity: Some("alice".to_owned()),
            user_session: true,
            federated: Some("bob".to_owned()),
            tags: [("team".to_owned(), "ci \"quoted\" €".to_owned())].into(),
            transitive_tags: vec!["team".to_owned()],
            ..claims()
        };
        for sent in [claims(), full] {
            let minted = keys.mint(sent.clone());
            let opened = keys
                .open(&minted.session_token)
                .unwrap_or_else(|| panic!("own token refused"));
            assert_eq!(opened.key, minted.access_key_id);
            assert!(
                opened
                    == SessionClaims {
                        key: opened.key.clone(),
                        ..sent
                    },
                "{opened:?}"
            );
        }
    }

    #[test]
    fn session_policies_are_parsed_once_and_kept_within_bounds() {
        let keys = SessionKeys::new();
        let text = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
        let issued = Arc::new(parse_identity_policy(text).unwrap_or_else(|e| panic!("{e}")));
        keys.keep_policy(text, &issued);
        let found = keys.session_policy(text);
        assert!(
            found.is_some_and(|p| Arc::ptr_eq(&p, &issued)),
            "parsed again"
        );
        // A policy the cache no longer holds is parsed again, then kept.
        let other = text.replace("s3:*", "ec2:*");
        let first = keys
            .session_policy(&other)
            .unwrap_or_else(|| panic!("valid"));
        let again = keys
            .session_policy(&other)
            .unwrap_or_else(|| panic!("valid"));
        assert!(Arc::ptr_eq(&first, &again));
        assert!(keys.session_policy("{not a policy").is_none());
        for i in 0..3 * SESSION_POLICIES_KEPT {
            keys.keep_policy(&format!("{text}{i}"), &issued);
        }
        let parsed = keys.policies.load();
        assert!(parsed.current.len() + parsed.previous.len() <= 2 * SESSION_POLICIES_KEPT);
    }
}
