//! From a parsed signature to an identity: region and partition checks, key lookup, the
//! time window, the signature itself, session tokens.
//!
//! The order of checks follows AWS: the scope must name a real region; the key must exist
//! in that region's partition (a GovCloud key is unknown in `us-east-1`, and the reverse);
//! the request time must be within 15 minutes of the server clock; the signature must match;
//! the account must have enabled the region.

use std::sync::Arc;
use std::time::SystemTime;

use crate::auth::sigv4::{self, SigV4Error, Signature, SignedRequest};
use crate::error::AwsError;
use crate::iam::store::{AccessKey, CachedSigningKey, Identity, Store};
use crate::partition::{Partition, Region};
use crate::service::Service;
use crate::sts::session::{SessionKeys, federated_identity, session_identity};

/// Verifies a signed request and returns who sent it.
///
/// Fails with the service's own error for each AWS authentication failure.
pub(crate) fn authenticate(
    store: &Store,
    sessions: &SessionKeys,
    req: &SignedRequest<'_>,
    sig: &Signature<'_>,
    service: Service,
    now: SystemTime,
) -> Result<Arc<Identity>, AwsError> {
    let region_name = sig.scope.region();
    let region = Region::find(region_name);
    let partition = match (region, service.is_global()) {
        (Some(r), _) => r.partition,
        (None, true) => {
            Partition::of_region(region_name).ok_or_else(|| invalid_region(service, region_name))?
        }
        (None, false) => return Err(invalid_region(service, region_name)),
    };
    if sig.access_key_id.starts_with("ASIA") {
        return authenticate_session(store, sessions, req, sig, service, now, partition);
    }
    let key = store
        .access_key(&sig.access_key_id)
        .filter(|k| k.identity.partition == partition)
        .ok_or_else(|| AwsError::invalid_client_token_id(service))?;
    // Long-term keys carry no session token; sending one makes the request invalid.
    if !key.active || sig.security_token.is_some() {
        return Err(AwsError::invalid_client_token_id(service));
    }
    check_time(sig, service, now)?;
    let signing_key = cached_signing_key(key, sig, service);
    if !sigv4::verify(req, sig, &signing_key) {
        return Err(AwsError::signature_does_not_match(service));
    }
    if let Some(r) = region
        && !service.is_global()
        && !store
            .account(&key.identity.account)
            .is_some_and(|a| a.region_enabled(r))
    {
        // A region the account has not opted in to does not know its keys.
        return Err(AwsError::invalid_client_token_id(service));
    }
    let minute = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs() / 60).unwrap_or(i64::MAX));
    key.record_use(minute, region_name, service.signing_name());
    Ok(Arc::clone(&key.identity))
}

/// A request signed with temporary credentials: the token must be one this server minted
/// for this key, unexpired, for a role that still exists in the scope's partition.
fn authenticate_session(
    store: &Store,
    sessions: &SessionKeys,
    req: &SignedRequest<'_>,
    sig: &Signature<'_>,
    service: Service,
    now: SystemTime,
    partition: Partition,
) -> Result<Arc<Identity>, AwsError> {
    let invalid = || AwsError::invalid_client_token_id(service);
    let claims = sig
        .security_token
        .as_deref()
        .and_then(|t| sessions.open(t))
        .filter(|c| c.key == sig.access_key_id)
        .ok_or_else(invalid)?;
    let now_secs = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    if now_secs >= claims.expires {
        return Err(AwsError::expired_token(service));
    }
    check_time(sig, service, now)?;
    let secret = sessions.secret_for(&sig.access_key_id);
    let signing_key = sigv4::keyed(&sigv4::signing_key(&secret, &sig.scope));
    if !sigv4::verify(req, sig, &signing_key) {
        return Err(AwsError::signature_does_not_match(service));
    }
    if claims.user_session {
        // GetSessionToken: the session is the user itself (deleted users end it).
        let user = store
            .principal(&claims.role)
            .filter(|p| p.partition == partition)
            .ok_or_else(invalid)?;
        return Ok(match &claims.federated {
            None => Arc::clone(user),
            Some(name) => Arc::new(federated_identity(store, sessions, user, name, &claims)),
        });
    }
    let role = store
        .role(&claims.role)
        .filter(|r| r.partition == partition)
        .ok_or_else(invalid)?;
    Ok(Arc::new(session_identity(store, sessions, role, &claims)))
}

/// The service's error for a SigV4 parse failure.
pub(crate) fn sigv4_error(service: Service, err: SigV4Error) -> AwsError {
    match err {
        SigV4Error::Incomplete(m) => match service {
            Service::Ec2 => AwsError::signature_problem(service, m),
            Service::Sts | Service::Iam => AwsError::incomplete_signature(m),
        },
        SigV4Error::Problem(m) => AwsError::signature_problem(service, m),
        SigV4Error::UnsupportedQueryAlgorithm => AwsError::missing_authentication_token(service),
    }
}

fn invalid_region(service: Service, region: &str) -> AwsError {
    AwsError::signature_problem(
        service,
        format!("Credential should be scoped to a valid region, not '{region}'. "),
    )
}

fn check_time(sig: &Signature<'_>, service: Service, now: SystemTime) -> Result<(), AwsError> {
    // The same ±15 minutes for header and presigned signatures: these services ignore
    // `X-Amz-Expires` (see `Location::Query`).
    let fmt = crate::times::format_amz_date;
    let window = sigv4::MAX_SKEW;
    if let Ok(age) = now.duration_since(sig.time)
        && age > window
    {
        let limit = now.checked_sub(window).unwrap_or(now);
        return Err(AwsError::request_expired(
            service,
            format!(
                "Signature expired: {} is now earlier than {} ({} - 15 min.)",
                sig.amz_date,
                fmt(limit),
                fmt(now)
            ),
        ));
    }
    if let Ok(ahead) = sig.time.duration_since(now)
        && ahead > window
    {
        return Err(AwsError::request_expired(
            service,
            format!(
                "Signature not yet current: {} is still later than {} ({} + 15 min.)",
                sig.amz_date,
                fmt(now + window),
                fmt(now)
            ),
        ));
    }
    Ok(())
}

/// The signing key for the signature's scope, from the key's per-service cache.
fn cached_signing_key(key: &AccessKey, sig: &Signature<'_>, service: Service) -> sigv4::HmacSha256 {
    let slot = &key.signing_cache[service.index()];
    if let Some(hit) = slot.load().as_ref()
        && hit.date == sig.scope.date()
        && hit.region == sig.scope.region()
    {
        return hit.key.clone();
    }
    let derived = sigv4::keyed(&sigv4::signing_key(&key.secret, &sig.scope));
    slot.store(Some(Arc::new(CachedSigningKey {
        date: sig.scope.date().to_owned(),
        region: sig.scope.region().to_owned(),
        key: derived.clone(),
    })));
    derived
}
