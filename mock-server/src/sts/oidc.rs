//! The built-in OpenID Connect issuers (EKS clusters and other identity providers), for
//! IRSA and any web identity.
//!
//! Any issuer URL a test names gets its own RSA key on first use. An issuer URL stands for
//! one identity provider (one EKS cluster), whose key is its own whichever STS checks it, so
//! the key is generated once per process and shared by every server that uses the issuer:
//! RSA key generation costs up to a second, and a catalogue starts a server per scenario.
//! Each server still knows only the issuers used on it. The control API mints ID tokens
//! (RS256) with the key, and serves each issuer's discovery document and JWKS, so outside
//! verifiers can check the tokens too. `AssumeRoleWithWebIdentity` verifies tokens here.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use arc_swap::ArcSwap;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rsa::RsaPrivateKey;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Map, Value, json};

/// One issuer's signing key.
struct IssuerKey {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    n: String,
    e: String,
}

/// The issuers of one server.
pub(crate) struct Issuers {
    keys: ArcSwap<HashMap<String, Arc<IssuerKey>>>,
    writers: Mutex<()>,
}

impl fmt::Debug for Issuers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issuers")
            .field("issuers", &self.keys.load().keys().collect::<Vec<_>>())
            .finish()
    }
}

/// An ID token for a test to mint ([`MockServer::mint_oidc_token`], `POST
/// /_mock/oidc/token`): signed with the issuer's key, with `iss`, `iat`, `nbf` and `exp`
/// from the server clock unless `claims` sets them.
///
/// [`MockServer::mint_oidc_token`]: crate::MockServer::mint_oidc_token
#[derive(Debug, Clone, serde::Deserialize)]
pub struct OidcToken {
    /// The issuer URL (`https://oidc.eks.REGION.amazonaws.com/id/ID`).
    pub issuer: String,
    /// The `sub` claim (`system:serviceaccount:NAMESPACE:NAME` for a pod), if any.
    #[serde(default)]
    pub sub: Option<Value>,
    /// The `aud` claim (`sts.amazonaws.com` for IRSA), if any.
    #[serde(default)]
    pub aud: Option<Value>,
    /// Seconds until it expires (default one hour; negative: already expired; at most a week).
    #[serde(default = "default_ttl")]
    pub ttl_seconds: i64,
    /// Any other claims.
    #[serde(default)]
    pub claims: Map<String, Value>,
}

fn default_ttl() -> i64 {
    3600
}

impl OidcToken {
    /// A token of `issuer` for `sub` and `aud`, valid for an hour.
    pub fn new(issuer: impl Into<String>, sub: impl Into<String>, aud: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            sub: Some(Value::String(sub.into())),
            aud: Some(Value::String(aud.into())),
            ttl_seconds: default_ttl(),
            claims: Map::new(),
        }
    }

    /// The claims it asks for, once checked.
    fn claims(&self) -> Result<Map<String, Value>, OidcError> {
        if !self.issuer.starts_with("https://") {
            return Err(OidcError::Issuer(self.issuer.clone()));
        }
        if !(-86_400 < self.ttl_seconds && self.ttl_seconds <= 86_400 * 7) {
            return Err(OidcError::Ttl(self.ttl_seconds));
        }
        let mut claims = self.claims.clone();
        for (name, value) in [("sub", &self.sub), ("aud", &self.aud)] {
            if let Some(v) = value {
                claims.insert(name.into(), v.clone());
            }
        }
        Ok(claims)
    }
}

/// Why a token could not be minted.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The issuer is not an https URL.
    #[error("`issuer` must be an https URL, got {0}")]
    Issuer(String),
    /// The lifetime is out of range.
    #[error("`ttl_seconds` must be a number of seconds up to a week, got {0}")]
    Ttl(i64),
    /// The key could not be made or used.
    #[error("cannot sign the token: {0}")]
    Signing(String),
}

/// Every issuer's key, by issuer (without scheme), for all the servers of the process.
static SHARED_KEYS: LazyLock<Mutex<HashMap<String, Arc<IssuerKey>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The process's key for `issuer`, generated on first use.
fn shared_key(issuer: &str) -> Result<Arc<IssuerKey>, OidcError> {
    let mut keys = SHARED_KEYS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(key) = keys.get(issuer) {
        return Ok(Arc::clone(key));
    }
    let private = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)
        .map_err(|e| OidcError::Signing(e.to_string()))?;
    let der = private
        .to_pkcs1_der()
        .map_err(|e| OidcError::Signing(e.to_string()))?;
    let (n, e) = (private.n().to_bytes_be(), private.e().to_bytes_be());
    let key = Arc::new(IssuerKey {
        kid: format!("{:016x}", crate::wire::fingerprint(issuer)),
        encoding: EncodingKey::from_rsa_der(der.as_bytes()),
        decoding: DecodingKey::from_rsa_raw_components(&n, &e),
        n: URL_SAFE_NO_PAD.encode(&n),
        e: URL_SAFE_NO_PAD.encode(&e),
    });
    keys.insert(issuer.to_owned(), Arc::clone(&key));
    Ok(key)
}

/// The issuer URL without its scheme: the prefix of the provider's condition keys
/// (`oidc.eks.us-east-1.amazonaws.com/id/X:sub`) and of its provider ARN.
pub(crate) fn host_path(issuer: &str) -> &str {
    issuer.trim_start_matches("https://").trim_end_matches('/')
}

impl Issuers {
    pub(crate) fn new() -> Self {
        Self {
            keys: ArcSwap::from_pointee(HashMap::new()),
            writers: Mutex::new(()),
        }
    }

    fn key(&self, issuer: &str) -> Result<Arc<IssuerKey>, OidcError> {
        let issuer = host_path(issuer);
        if let Some(k) = self.keys.load().get(issuer) {
            return Ok(Arc::clone(k));
        }
        let _writer = self.writers.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(k) = self.keys.load().get(issuer) {
            return Ok(Arc::clone(k));
        }
        let key = shared_key(issuer)?;
        let mut next = HashMap::clone(&self.keys.load());
        next.insert(issuer.to_owned(), Arc::clone(&key));
        self.keys.store(Arc::new(next));
        Ok(key)
    }

    /// An RS256 ID token from `issuer` with these claims (`iss` set, `iat`/`exp` from `now`
    /// and `ttl`).
    /// Mints the token `request` describes, at `now` (Unix seconds).
    pub(crate) fn mint_token(&self, request: &OidcToken, now: i64) -> Result<String, OidcError> {
        self.mint(&request.issuer, now, request.ttl_seconds, request.claims()?)
    }

    pub(crate) fn mint(
        &self,
        issuer: &str,
        now: i64,
        ttl: i64,
        mut claims: Map<String, Value>,
    ) -> Result<String, OidcError> {
        let key = self.key(issuer)?;
        claims.insert(
            "iss".into(),
            json!(format!("https://{}", host_path(issuer))),
        );
        claims.entry("iat").or_insert(json!(now));
        claims.entry("nbf").or_insert(json!(now));
        claims.entry("exp").or_insert(json!(now + ttl));
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, &claims, &key.encoding)
            .map_err(|e| OidcError::Signing(e.to_string()))
    }

    /// The issuer's JWKS, if it has a key.
    pub(crate) fn jwks(&self, issuer: &str) -> Option<Value> {
        let keys = self.keys.load();
        let k = keys.get(host_path(issuer))?;
        Some(
            json!({ "keys": [{ "kty": "RSA", "alg": "RS256", "use": "sig", "kid": k.kid, "n": k.n, "e": k.e }] }),
        )
    }

    /// Whether the token's signature is the issuer's (claims are checked by the caller, on
    /// the server clock).
    pub(crate) fn signature_valid(&self, issuer: &str, token: &str) -> Option<bool> {
        let keys = self.keys.load();
        let key = keys.get(host_path(issuer))?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        Some(jsonwebtoken::decode::<Value>(token, &key.decoding, &validation).is_ok())
    }
}

/// The claims of a JWT, unverified (to find its issuer).
pub(crate) fn unverified_claims(token: &str) -> Option<Map<String, Value>> {
    let mut parts = token.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_verify_with_their_issuer_only() {
        let issuers = Issuers::new();
        let mut claims = Map::new();
        claims.insert(
            "sub".into(),
            json!("system:serviceaccount:default:cdp-admin"),
        );
        claims.insert("aud".into(), json!("sts.amazonaws.com"));
        let token = issuers
            .mint("https://oidc.example/id/A", 1_800_000_000, 3600, claims)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            issuers.signature_valid("https://oidc.example/id/A", &token),
            Some(true)
        );
        issuers
            .mint("https://oidc.example/id/B", 1, 1, Map::new())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            issuers.signature_valid("https://oidc.example/id/B", &token),
            Some(false)
        );
        let claims = unverified_claims(&token).unwrap_or_default();
        assert_eq!(claims["iss"], "https://oidc.example/id/A");
        assert_eq!(claims["exp"], 1_800_003_600);
        assert!(issuers.jwks("oidc.example/id/A").is_some());
    }
}
